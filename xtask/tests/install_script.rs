//! `actions/install.sh` against a local HTTP server serving a release: an archive packaged by
//! `cargo xtask dist` (from the debug build, with the release packaging code) and a
//! `release.env` written by `cargo xtask pin`. The script installs a verified archive once,
//! downloads nothing when the right version is installed, refuses a checksum mismatch, uses
//! `shasum` where `sha256sum` is missing, and says what to do when it can do nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

const REPOSITORY: &str = "acme/peering";
const TARGET: &str = "x86_64-unknown-linux-musl";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn xtask(arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(arguments)
        .output()
        .expect("xtask runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "xtask {arguments:?}:\n{printed}");
    printed
}

/// The crate version, as `--version` prints it.
fn version() -> String {
    let manifest = std::fs::read_to_string(root().join("crates/peering/Cargo.toml")).unwrap();
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap()
        .to_string()
}

/// A release directory laid out as GitHub serves it, built once per test process.
struct Release {
    _directory: tempfile::TempDir,
    /// Served as the web root: `acme/peering/releases/download/vX.Y.Z/<files>`.
    server_root: PathBuf,
    /// The debug build of the shipped executable.
    executable: PathBuf,
    /// release.env as `cargo xtask pin` wrote it.
    release_env: String,
}

fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        // The shipped executable's debug build (the e2e tests use the same).
        let binary = std::fs::read_to_string(root().join("xtask/src/phases.rs"))
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("pub const BUILT_BINARY: &str = \""))
            .and_then(|rest| rest.strip_suffix("\";"))
            .expect("phases.rs names BUILT_BINARY")
            .to_string();
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--package", "peering", "--bin", &binary])
            .current_dir(root())
            // As the harness does: ring's build script reruns when cargo's own
            // CARGO_MANIFEST_DIR changes, which would rebuild everything above it.
            .env_remove("CARGO_MANIFEST_DIR")
            .status()
            .unwrap();
        assert!(status.success(), "building {binary} failed");
        let built = Path::new(env!("CARGO_BIN_EXE_xtask"))
            .parent()
            .unwrap()
            .join(&binary);
        let directory = tempfile::tempdir().unwrap();
        // Without its debug information the debug build is a tenth of its size, so packaging,
        // serving and unpacking it take seconds, not minutes; it runs all the same.
        let executable = directory.path().join(&binary);
        let stripped = Command::new("strip")
            .args(["--strip-debug", "-o"])
            .arg(&executable)
            .arg(&built)
            .status()
            .is_ok_and(|status| status.success());
        if !stripped {
            std::fs::copy(&built, &executable).unwrap();
        }
        let server_root = directory.path().join("server");
        let downloads = server_root.join(format!("{REPOSITORY}/releases/download/v{}", version()));
        xtask(&[
            "dist",
            "--target",
            TARGET,
            "--binary",
            executable.to_str().unwrap(),
            "--out",
            downloads.to_str().unwrap(),
        ]);
        let release_env = directory.path().join("release.env");
        xtask(&[
            "pin",
            "--from",
            downloads.to_str().unwrap(),
            "--repository",
            REPOSITORY,
            "--output",
            release_env.to_str().unwrap(),
        ]);
        let release_env = std::fs::read_to_string(release_env).unwrap();
        Release {
            _directory: directory,
            server_root,
            executable,
            release_env,
        }
    })
}

/// A one-thread HTTP/1.1 server of a directory on loopback that records the paths asked for.
struct Server {
    address: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(web_root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let web_root = web_root.to_path_buf();
        let thread = {
            let requests = requests.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &web_root, &requests);
                    }
                }
            })
        };
        Server {
            address,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, web_root: &Path, requests: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    requests.lock().unwrap().push(path.clone());
    let file = web_root.join(path.trim_start_matches('/'));
    let mut stream = reader.into_inner();
    let response = match std::fs::File::open(&file) {
        Ok(mut file) if !path.contains("..") => {
            let mut body = Vec::new();
            file.read_to_end(&mut body).unwrap();
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            response.extend(body);
            response
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&response);
}

/// A directory of links to the tools install.sh may use, so that a test decides which exist
/// (and no aiven-azure-peering installed on this machine is found on PATH).
fn tools(without: &[&str]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    for tool in [
        "bash",
        "uname",
        "dirname",
        "sed",
        "head",
        "mkdir",
        "mktemp",
        "mv",
        "rm",
        "tar",
        "gzip",
        "curl",
        "sha256sum",
        "shasum",
        "tee",
        "env",
    ] {
        if without.contains(&tool) {
            continue;
        }
        let output = Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let found = String::from_utf8_lossy(&output.stdout).trim().to_string();
        assert!(
            !found.is_empty(),
            "{tool} is needed by this test (and by install.sh)"
        );
        std::os::unix::fs::symlink(&found, directory.path().join(tool)).unwrap();
    }
    directory
}

/// One runner: a checkout of the actions with a release.env, a tool cache, a GITHUB_PATH.
struct Runner {
    directory: tempfile::TempDir,
}

struct Installed {
    success: bool,
    printed: String,
}

impl Runner {
    fn new(release_env: &str) -> Runner {
        let directory = tempfile::tempdir().unwrap();
        let actions = directory.path().join("checkout/actions");
        std::fs::create_dir_all(&actions).unwrap();
        std::fs::copy(
            root().join("actions/install.sh"),
            actions.join("install.sh"),
        )
        .unwrap();
        std::fs::write(actions.join("release.env"), release_env).unwrap();
        let peering = directory.path().join("checkout/crates/peering");
        std::fs::create_dir_all(&peering).unwrap();
        std::fs::copy(
            root().join("crates/peering/Cargo.toml"),
            peering.join("Cargo.toml"),
        )
        .unwrap();
        std::fs::write(directory.path().join("github_path"), "").unwrap();
        Runner { directory }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.directory.path().join(relative)
    }

    fn bin_dir(&self) -> PathBuf {
        self.path(&format!(
            "cache/aiven-azure-peering/{}/{TARGET}/bin",
            version()
        ))
    }

    fn install(&self, server: &Server, path: &Path, arguments: &[&str]) -> Installed {
        let output = Command::new(path.join("bash"))
            .arg(self.path("checkout/actions/install.sh"))
            .args(arguments)
            .env_clear()
            .env("PATH", path)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", self.path("cache"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("GITHUB_SERVER_URL", &server.address)
            .env("GITHUB_PATH", self.path("github_path"))
            .env("GITHUB_OUTPUT", self.path("github_output"))
            .output()
            .unwrap();
        Installed {
            success: output.status.success(),
            printed: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    fn github_path(&self) -> String {
        std::fs::read_to_string(self.path("github_path")).unwrap()
    }
}

fn archive_downloads(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|path| path.ends_with(".tar.gz"))
        .count()
}

fn version_of(executable: &Path) -> String {
    let output = Command::new(executable).arg("--version").output().unwrap();
    assert!(output.status.success(), "{}", executable.display());
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn a_pinned_archive_is_verified_installed_once_and_then_reused() {
    let release = release();
    let server = Server::start(&release.server_root);
    let runner = Runner::new(&release.release_env);
    let tools = tools(&[]);

    let first = runner.install(&server, tools.path(), &[]);
    assert!(first.success, "{}", first.printed);
    assert!(
        first.printed.contains("verified with sha256sum"),
        "{}",
        first.printed
    );
    assert_eq!(archive_downloads(&server), 1, "{:?}", server.requests());
    let bin_dir = runner.bin_dir();
    assert_eq!(runner.github_path().trim(), bin_dir.display().to_string());
    for name in ["aiven-azure-peering", "prepare-tenant", "await-active"] {
        assert!(
            version_of(&bin_dir.join(name)).ends_with(&format!(" {}", version())),
            "{name}"
        );
    }
    assert!(
        std::fs::symlink_metadata(bin_dir.join("await-active"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "phase names are links to the one executable"
    );

    let second = runner.install(&server, tools.path(), &[]);
    assert!(second.success, "{}", second.printed);
    assert!(
        second.printed.contains("already installed in"),
        "{}",
        second.printed
    );
    assert_eq!(archive_downloads(&server), 1, "no second download");
}

#[test]
fn an_archive_whose_sha256_is_not_the_pinned_one_is_refused() {
    let release = release();
    let server = Server::start(&release.server_root);
    let tampered: String = release
        .release_env
        .lines()
        .map(|line| match line.split_once('=') {
            Some((name, _)) if name.starts_with("SHA256_") => {
                format!("{name}={}\n", "ab".repeat(32))
            }
            _ => format!("{line}\n"),
        })
        .collect();
    let runner = Runner::new(&tampered);
    let installed = runner.install(&server, tools(&[]).path(), &[]);
    assert!(!installed.success, "{}", installed.printed);
    assert!(
        installed.printed.contains("refusing"),
        "{}",
        installed.printed
    );
    assert!(!runner.bin_dir().exists(), "nothing installed");
    assert_eq!(runner.github_path(), "");
}

#[test]
fn shasum_verifies_where_sha256sum_is_missing() {
    let release = release();
    let server = Server::start(&release.server_root);
    let runner = Runner::new(&release.release_env);
    let installed = runner.install(&server, tools(&["sha256sum"]).path(), &[]);
    assert!(installed.success, "{}", installed.printed);
    assert!(
        installed.printed.contains("verified with shasum -a 256"),
        "{}",
        installed.printed
    );
    assert!(runner.bin_dir().join("prepare-tenant").exists());
}

#[test]
fn an_installed_binary_of_another_version_is_replaced() {
    let release = release();
    let server = Server::start(&release.server_root);
    let runner = Runner::new(&release.release_env);
    let bin_dir = runner.bin_dir();
    std::fs::create_dir_all(&bin_dir).unwrap();
    let stale = bin_dir.join("prepare-tenant");
    std::fs::write(&stale, "#!/bin/sh\necho prepare-tenant 0.0.1\n").unwrap();
    std::fs::set_permissions(&stale, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let installed = runner.install(&server, tools(&[]).path(), &[]);
    assert!(installed.success, "{}", installed.printed);
    assert_eq!(archive_downloads(&server), 1);
    assert!(version_of(&stale).ends_with(&version()));
}

#[test]
fn the_right_version_on_path_is_used_as_it_is() {
    let release = release();
    let server = Server::start(&release.server_root);
    let runner = Runner::new(&release.release_env);
    let tools = tools(&[]);
    std::os::unix::fs::symlink(&release.executable, tools.path().join("prepare-tenant")).unwrap();
    let installed = runner.install(&server, tools.path(), &[]);
    assert!(installed.success, "{}", installed.printed);
    assert!(
        installed.printed.contains("already installed on PATH"),
        "{}",
        installed.printed
    );
    assert!(server.requests().is_empty());
    assert_eq!(runner.github_path(), "");
}

#[test]
fn the_plan_asks_for_a_source_build_only_without_a_pinned_archive() {
    let release = release();
    let server = Server::start(&release.server_root);
    let plan = |release_env: &str| -> BTreeMap<String, String> {
        let runner = Runner::new(release_env);
        let planned = runner.install(&server, tools(&[]).path(), &["--plan"]);
        assert!(planned.success, "{}", planned.printed);
        std::fs::read_to_string(runner.path("github_output"))
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    };
    let pinned = plan(&release.release_env);
    assert_eq!(pinned["source-build"], "false");
    let unpinned = plan(&format!("REPOSITORY={REPOSITORY}\nVERSION=\n"));
    assert_eq!(unpinned["source-build"], "true");
    assert_eq!(
        unpinned["cache-key"],
        format!("aiven-azure-peering-{}-{TARGET}-cargo", version())
    );
    assert!(unpinned["directory"].ends_with(&format!("/{}/{TARGET}", version())));
    assert!(server.requests().is_empty(), "a plan downloads nothing");
}

#[test]
fn without_an_archive_or_cargo_it_says_what_to_do() {
    let release = release();
    let server = Server::start(&release.server_root);
    let runner = Runner::new(&format!("REPOSITORY={REPOSITORY}\nVERSION=\n"));
    let installed = runner.install(&server, tools(&[]).path(), &[]);
    assert!(!installed.success, "{}", installed.printed);
    assert!(
        installed
            .printed
            .contains("no release archive is pinned for x86_64-unknown-linux-musl")
            && installed.printed.contains("cargo is not installed"),
        "{}",
        installed.printed
    );
}
