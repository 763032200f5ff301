//! `cargo xtask dist`: the release archive of one target, reproducibly: the executable, each
//! phase name as a link to it (copies on Windows), the licences and README, plus its sha256
//! (`<archive>.sha256`) and the combined `sha256.sum` of every archive in the output directory.

use crate::archive::{self, Member};
use crate::phases::{BUILT_BINARY, EXECUTABLE, phase_names};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The targets a release publishes, one archive each (the release workflow builds this list).
pub const RELEASE_TARGETS: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// The combined checksum file, `sha256sum` format, one line per archive.
pub const COMBINED_CHECKSUMS: &str = "sha256.sum";

/// Files shipped next to the executable, from the workspace root.
const DOCUMENTS: &[&str] = &["LICENSE-APACHE", "LICENSE-MIT", "README.md"];

pub struct DistRequest {
    /// Rust target triple; the host's when absent.
    pub target: Option<String>,
    /// An already-built executable to package instead of building a release one.
    pub binary: Option<PathBuf>,
    /// Where the archives go; `dist/` when absent.
    pub out: Option<PathBuf>,
    /// Fail unless this is `v` + the crate version (the release workflow passes its tag).
    pub release_tag: Option<String>,
}

pub fn run(request: DistRequest) -> Result<()> {
    let root = crate::root();
    let version = version()?;
    if let Some(tag) = &request.release_tag
        && *tag != format!("v{version}")
    {
        bail!(
            "the tag {tag} does not match the version {version} of crates/peering/Cargo.toml: \
             bump the version and tag v{version}"
        );
    }
    let target = match request.target {
        Some(target) => target,
        None => host_target()?,
    };
    // A given executable is packaged as it is (the tests package debug builds); a built one
    // is checked: a Linux musl executable must need no libc.
    let executable = match request.binary {
        Some(binary) => binary,
        None => {
            let built = build_release(&target)?;
            if target.ends_with("-linux-musl") {
                check_static(&built, &target)?;
            }
            built
        }
    };
    let out = request.out.unwrap_or_else(|| root.join("dist"));
    let packaged = package(&executable, &target, &out)?;
    println!(
        "{}  {} ({} bytes, version {version})",
        packaged.sha256,
        packaged.path.display(),
        packaged.size
    );
    Ok(())
}

/// The version every name prints with `--version`: `crates/peering/Cargo.toml`'s.
pub fn version() -> Result<String> {
    let manifest = crate::root().join("crates/peering/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    text.lines()
        .take_while(|line| !line.starts_with('[') || line.trim() == "[package]")
        .find_map(|line| {
            line.strip_prefix("version = \"")
                .and_then(|rest| rest.strip_suffix('"'))
        })
        .map(str::to_string)
        .with_context(|| format!("{} has no [package] version line", manifest.display()))
}

pub fn is_windows(target: &str) -> bool {
    target.contains("-windows-")
}

/// `aiven-azure-peering-<target>.tar.gz`, or `.zip` for Windows.
pub fn archive_file_name(target: &str) -> String {
    let extension = if is_windows(target) { "zip" } else { "tar.gz" };
    format!("{EXECUTABLE}-{target}.{extension}")
}

/// The target of an archive file name, if it is one of ours.
pub fn target_of_archive(file_name: &str) -> Option<&str> {
    let rest = file_name.strip_prefix(EXECUTABLE)?.strip_prefix('-')?;
    rest.strip_suffix(".tar.gz")
        .or_else(|| rest.strip_suffix(".zip"))
}

pub struct Packaged {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// In a Windows archive, the phase names install.sh copies the executable to, one per line.
pub const WINDOWS_NAMES_FILE: &str = "phase-names.txt";

/// Packages `executable` as the archive of `target` in `out`, writes its `.sha256` and rewrites
/// the combined checksum file. The same code serves release builds and the tests' debug builds.
pub fn package(executable: &Path, target: &str, out: &Path) -> Result<Packaged> {
    let contents = std::fs::read(executable)
        .with_context(|| format!("cannot read the executable {}", executable.display()))?;
    let root = crate::root();
    let mut documents = Vec::new();
    for name in DOCUMENTS {
        let path = root.join(name);
        let text =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        documents.push((*name, text));
    }
    let top = format!("{EXECUTABLE}-{target}");
    let suffix = if is_windows(target) { ".exe" } else { "" };
    let mut members = vec![
        Member::Directory { path: top.clone() },
        Member::File {
            path: format!("{top}/{EXECUTABLE}{suffix}"),
            executable: true,
            contents: &contents,
        },
    ];
    // A zip cannot hold links, and a copy per name would make the Windows archive several
    // times the 5 MB budget: it holds the list of names instead, and install.sh makes the
    // copies on the runner.
    let names_list: String = phase_names()
        .iter()
        .map(|name| format!("{name}\n"))
        .collect();
    if is_windows(target) {
        members.push(Member::File {
            path: format!("{top}/{WINDOWS_NAMES_FILE}"),
            executable: false,
            contents: names_list.as_bytes(),
        });
    } else {
        for name in phase_names() {
            members.push(Member::Symlink {
                path: format!("{top}/{name}{suffix}"),
                target: EXECUTABLE.to_string(),
            });
        }
    }
    for (name, text) in &documents {
        members.push(Member::File {
            path: format!("{top}/{name}"),
            executable: false,
            contents: text,
        });
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let file_name = archive_file_name(target);
    let path = out.join(&file_name);
    if is_windows(target) {
        archive::write_zip(&members, &path)?;
    } else {
        archive::write_tar_gz(&members, &path)?;
    }
    let sha256 = sha256_of_file(&path)?;
    std::fs::write(
        out.join(format!("{file_name}.sha256")),
        format!("{sha256}  {file_name}\n"),
    )?;
    write_combined_checksums(out)?;
    let size = std::fs::metadata(&path)?.len();
    Ok(Packaged { path, sha256, size })
}

/// Rewrites `out/sha256.sum` from the archives present in `out`, sorted by name.
pub fn write_combined_checksums(out: &Path) -> Result<()> {
    let mut lines = Vec::new();
    for (file_name, path) in archives_in(out)? {
        lines.push(format!("{}  {file_name}\n", sha256_of_file(&path)?));
    }
    std::fs::write(out.join(COMBINED_CHECKSUMS), lines.concat())?;
    Ok(())
}

/// Our archives in a directory, by file name.
pub fn archives_in(directory: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(directory)
        .with_context(|| format!("cannot list {}", directory.display()))?
    {
        let entry = entry?;
        let file_name = entry.file_name().to_string_lossy().to_string();
        if target_of_archive(&file_name).is_some() {
            found.push((file_name, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

pub fn sha256_of_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Builds the shipped binary for `target` with the release profile and returns its path.
fn build_release(target: &str) -> Result<PathBuf> {
    if which("rustup") {
        crate::cargo_like("rustup", &["target", "add", target], &[])?;
    }
    let mut environment = Vec::new();
    // ring compiles C: for musl, cc-rs looks for `<arch>-linux-musl-gcc`, which Debian's and
    // Ubuntu's musl-tools name `musl-gcc` (native architecture only).
    let compiler_variable = format!("CC_{}", target.replace('-', "_"));
    if target.ends_with("-linux-musl")
        && std::env::var_os(&compiler_variable).is_none()
        && which("musl-gcc")
    {
        environment.push((compiler_variable, "musl-gcc".to_string()));
    }
    let environment: Vec<(&str, &str)> = environment
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    crate::cargo_like(
        &cargo,
        &[
            "build",
            "--release",
            "--locked",
            "--package",
            "peering",
            "--bin",
            BUILT_BINARY,
            "--target",
            target,
        ],
        &environment,
    )?;
    let suffix = if is_windows(target) { ".exe" } else { "" };
    Ok(crate::root()
        .join("target")
        .join(target)
        .join("release")
        .join(format!("{BUILT_BINARY}{suffix}")))
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// The ELF program interpreter (dynamic loader) an executable asks for, if any: a static
/// executable has none, so it needs no libc on the machine.
pub fn elf_interpreter(bytes: &[u8]) -> Result<Option<String>> {
    const PT_INTERP: u32 = 3;
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        bail!("not an ELF executable");
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        bail!("only 64-bit little-endian ELF is checked");
    }
    let read_u16 = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let read_u32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let read_u64 = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let program_headers = read_u64(0x20);
    let entry_size = read_u16(0x36);
    let count = read_u16(0x38);
    for index in 0..count {
        let header = program_headers + index * entry_size;
        if header + 0x30 > bytes.len() {
            bail!("truncated ELF program header table");
        }
        if read_u32(header) == PT_INTERP {
            let offset = read_u64(header + 0x08);
            let size = read_u64(header + 0x20);
            let text = bytes
                .get(offset..offset + size)
                .context("truncated ELF interpreter")?;
            return Ok(Some(
                String::from_utf8_lossy(text)
                    .trim_end_matches('\0')
                    .to_string(),
            ));
        }
    }
    Ok(None)
}

/// A Linux musl executable must be static, and (where the host can run it) run from an empty
/// directory with an empty environment.
fn check_static(executable: &Path, target: &str) -> Result<()> {
    let bytes = std::fs::read(executable)
        .with_context(|| format!("cannot read {}", executable.display()))?;
    if let Some(interpreter) = elf_interpreter(&bytes)? {
        bail!(
            "{} is dynamically linked (interpreter {interpreter}): build for {target} with a musl C compiler (CC_{}=musl-gcc)",
            executable.display(),
            target.replace('-', "_")
        );
    }
    if host_target()? == target.replace("-musl", "-gnu") || host_target()? == target {
        let empty = std::env::temp_dir().join(format!("{EXECUTABLE}-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty)?;
        let copy = empty.join(EXECUTABLE);
        std::fs::copy(executable, &copy)?;
        let output = Command::new(&copy)
            .arg("--version")
            .current_dir(&empty)
            .env_clear()
            .output();
        let _ = std::fs::remove_dir_all(&empty);
        let output = output.with_context(|| format!("cannot run {}", executable.display()))?;
        if !output.status.success() {
            bail!(
                "{} --version failed in an empty directory: {}",
                executable.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    Ok(())
}

pub fn host_target() -> Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("run rustc -vV")?;
    let text = String::from_utf8(output.stdout)?;
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV names no host")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_round_trip_to_their_target() {
        for target in RELEASE_TARGETS {
            assert_eq!(target_of_archive(&archive_file_name(target)), Some(*target));
        }
        assert_eq!(
            archive_file_name("x86_64-pc-windows-msvc"),
            "aiven-azure-peering-x86_64-pc-windows-msvc.zip"
        );
        assert_eq!(target_of_archive("sha256.sum"), None);
    }

    #[test]
    fn the_version_is_the_crate_version() {
        let version = version().unwrap();
        assert!(
            version.split('.').count() == 3
                && version.split('.').all(|part| part.parse::<u32>().is_ok()),
            "{version}"
        );
    }

    // The check must be able to fail: a glibc-linked executable (this test itself) has a loader.
    #[test]
    fn a_dynamically_linked_executable_names_its_loader() {
        if !cfg!(all(
            target_os = "linux",
            target_env = "gnu",
            target_pointer_width = "64"
        )) {
            return;
        }
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let interpreter = elf_interpreter(&bytes).unwrap().expect("a loader");
        assert!(interpreter.contains("ld-linux"), "{interpreter}");
        assert!(elf_interpreter(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn a_package_holds_the_executable_every_phase_name_and_the_licences() {
        let directory = tempfile::tempdir().unwrap();
        let executable = directory.path().join("tool");
        std::fs::write(&executable, b"\x7fELF stand-in").unwrap();
        let out = directory.path().join("out");
        let target = "x86_64-unknown-linux-musl";
        let packaged = package(&executable, target, &out).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&packaged.path).unwrap(),
        ));
        let mut names: Vec<(String, Option<String>)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    entry.path().unwrap().display().to_string(),
                    entry
                        .link_name()
                        .unwrap()
                        .map(|link| link.display().to_string()),
                )
            })
            .collect();
        names.sort();
        let top = format!("{EXECUTABLE}-{target}");
        let mut expected = vec![
            (format!("{top}/"), None),
            (format!("{top}/{EXECUTABLE}"), None),
            (format!("{top}/LICENSE-APACHE"), None),
            (format!("{top}/LICENSE-MIT"), None),
            (format!("{top}/README.md"), None),
        ];
        for name in phase_names() {
            expected.push((format!("{top}/{name}"), Some(EXECUTABLE.to_string())));
        }
        expected.sort();
        assert_eq!(names, expected);
        let combined = std::fs::read_to_string(out.join(COMBINED_CHECKSUMS)).unwrap();
        assert_eq!(
            combined,
            format!("{}  {}\n", packaged.sha256, archive_file_name(target))
        );
        assert_eq!(
            std::fs::read_to_string(out.join(format!("{}.sha256", archive_file_name(target))))
                .unwrap(),
            combined
        );
    }

    #[test]
    fn a_windows_package_holds_one_executable_and_the_names_install_sh_copies_it_to() {
        let directory = tempfile::tempdir().unwrap();
        let executable = directory.path().join("tool.exe");
        std::fs::write(&executable, b"MZ stand-in").unwrap();
        let target = "x86_64-pc-windows-msvc";
        let packaged = package(&executable, target, directory.path()).unwrap();
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(&packaged.path).unwrap()).unwrap();
        let top = format!("{EXECUTABLE}-{target}");
        let mut read = |name: &str| {
            let mut member = archive.by_name(&format!("{top}/{name}")).unwrap();
            let mut contents = Vec::new();
            std::io::Read::read_to_end(&mut member, &mut contents).unwrap();
            contents
        };
        assert_eq!(read(&format!("{EXECUTABLE}.exe")), b"MZ stand-in");
        let names = String::from_utf8(read(WINDOWS_NAMES_FILE)).unwrap();
        assert_eq!(names.lines().collect::<Vec<_>>(), phase_names());
        let executables = archive
            .file_names()
            .filter(|name| name.ends_with(".exe"))
            .count();
        assert_eq!(executables, 1, "one executable, not a copy per name");
        let install = std::fs::read_to_string(crate::root().join("actions/install.sh")).unwrap();
        assert!(
            install.contains(WINDOWS_NAMES_FILE),
            "install.sh makes the copies from {WINDOWS_NAMES_FILE}"
        );
    }
}

/// The Dockerfile packs the image from the archives `dist` writes: its unpack step, run here on
/// a freshly packaged archive, must leave exactly the executable and every phase name.
#[cfg(test)]
mod image_tests {
    use super::*;

    fn dockerfile() -> String {
        std::fs::read_to_string(crate::root().join("Dockerfile")).unwrap()
    }

    /// The shell script of the Dockerfile's `RUN` instruction, its absolute paths moved under
    /// `$ROOT`.
    fn unpack_script() -> String {
        let text = dockerfile();
        let mut lines = text.lines().skip_while(|line| !line.starts_with("RUN "));
        let mut script = String::new();
        for line in lines.by_ref() {
            let line = line.strip_prefix("RUN ").unwrap_or(line);
            match line.strip_suffix('\\') {
                Some(continued) => script.push_str(continued),
                None => {
                    script.push_str(line);
                    break;
                }
            }
            script.push('\n');
        }
        let mut moved = script;
        for directory in ["/dist", "/unpacked", "/release", "/documents"] {
            moved = moved.replace(&format!(" {directory}"), &format!(" $ROOT{directory}"));
            moved = moved.replace(&format!("\"{directory}"), &format!("\"$ROOT{directory}"));
        }
        moved
    }

    #[test]
    fn the_dockerfile_unpack_step_leaves_the_executable_and_every_phase_name() {
        if !cfg!(unix) {
            return;
        }
        let directory = tempfile::tempdir().unwrap();
        let executable = directory.path().join("tool");
        std::fs::write(&executable, b"stand-in").unwrap();
        for (architecture, target) in [
            ("amd64", "x86_64-unknown-linux-musl"),
            ("arm64", "aarch64-unknown-linux-musl"),
        ] {
            assert!(RELEASE_TARGETS.contains(&target));
            let root = directory.path().join(architecture);
            package(&executable, target, &root.join("dist")).unwrap();
            let output = Command::new("sh")
                .arg("-c")
                .arg(unpack_script())
                .env("ROOT", &root)
                .env("TARGETARCH", architecture)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}\n{}",
                unpack_script(),
                String::from_utf8_lossy(&output.stderr)
            );
            let mut found: Vec<String> = std::fs::read_dir(root.join("release"))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
                .collect();
            found.sort();
            let mut expected: Vec<String> = phase_names()
                .into_iter()
                .chain([EXECUTABLE])
                .map(str::to_string)
                .collect();
            expected.sort();
            assert_eq!(found, expected, "{architecture}");
            let mut documents: Vec<String> = std::fs::read_dir(root.join("documents"))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
                .collect();
            documents.sort();
            assert_eq!(documents, DOCUMENTS);
        }
    }

    #[test]
    fn the_image_copies_the_unpacked_release_whole_and_has_no_entrypoint() {
        let text = dockerfile();
        assert!(text.contains("\nCOPY --from=unpack /release/ /usr/local/bin/\n"));
        assert!(!text.contains("\nENTRYPOINT"));
        assert!(!text.contains("\nCMD"));
    }
}

/// The release workflow builds every release target and starts only for release tags.
#[cfg(test)]
mod release_workflow_tests {
    use super::*;

    fn workflow() -> String {
        std::fs::read_to_string(crate::root().join(".github/workflows/release.yml")).unwrap()
    }

    /// GitHub's filter patterns, the part tags use: literals, `[…]` classes with ranges, and `+`
    /// (one or more), `?` (zero or one) and `*` (any run without `/`) after an item.
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        if pattern.is_empty() {
            return text.is_empty();
        }
        if pattern[0] == b'*' {
            return (0..=text.len())
                .take_while(|&length| !text[..length].contains(&b'/'))
                .any(|length| matches(&pattern[1..], &text[length..]));
        }
        let (class, rest): (Vec<u8>, &[u8]) = if pattern[0] == b'[' {
            let end = pattern.iter().position(|&byte| byte == b']').unwrap();
            let inside = &pattern[1..end];
            let mut class = Vec::new();
            let mut index = 0;
            while index < inside.len() {
                if index + 2 < inside.len() && inside[index + 1] == b'-' {
                    class.extend(inside[index]..=inside[index + 2]);
                    index += 3;
                } else {
                    class.push(inside[index]);
                    index += 1;
                }
            }
            (class, &pattern[end + 1..])
        } else {
            (vec![pattern[0]], &pattern[1..])
        };
        let item = |byte: Option<&u8>| byte.is_some_and(|byte| class.contains(byte));
        match rest.first() {
            Some(b'+') => {
                let mut length = 0;
                while item(text.get(length)) {
                    length += 1;
                    if matches(&rest[1..], &text[length..]) {
                        return true;
                    }
                }
                false
            }
            Some(b'?') => {
                matches(&rest[1..], text) || (item(text.first()) && matches(&rest[1..], &text[1..]))
            }
            _ => item(text.first()) && matches(rest, &text[1..]),
        }
    }

    #[test]
    fn only_major_minor_patch_tags_start_a_release() {
        let text = workflow();
        let on = text.split("\njobs:").next().unwrap();
        let patterns: Vec<&str> = on
            .lines()
            .skip_while(|line| line.trim() != "tags:")
            .skip(1)
            .map_while(|line| line.trim().strip_prefix("- "))
            .map(|pattern| pattern.trim_matches('"'))
            .collect();
        assert!(!patterns.is_empty(), "release.yml filters tags");
        assert!(!on.contains("branches") && !on.contains("workflow_dispatch"));
        let starts = |tag: &str| {
            patterns
                .iter()
                .any(|pattern| matches(pattern.as_bytes(), tag.as_bytes()))
        };
        for tag in ["v0.1.0", "v1.20.300", "v10.0.0"] {
            assert!(starts(tag), "{tag}");
            crate::pin::check_release_version(tag).unwrap();
        }
        for tag in [
            "v0",
            "v1",
            "v0.1",
            "v1.2.3-rc1",
            "v1.2.3.4",
            "1.2.3",
            "actions-v0.1.0",
            "va.b.c",
        ] {
            assert!(!starts(tag), "{tag} must not start a release");
        }
    }

    #[test]
    fn the_release_builds_every_release_target() {
        let text = workflow();
        let mut built: Vec<&str> = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("target: "))
            .collect();
        built.sort_unstable();
        let mut wanted = RELEASE_TARGETS.to_vec();
        wanted.sort_unstable();
        assert_eq!(built, wanted);
    }

    #[test]
    fn install_sh_knows_every_release_target() {
        let script = std::fs::read_to_string(crate::root().join("actions/install.sh")).unwrap();
        for target in RELEASE_TARGETS {
            assert!(script.contains(&format!("target={target} ;;")), "{target}");
        }
    }
}
