//! The harness of the end-to-end tests (also used by `cargo xtask demo`): starts `cloud-sim`
//! in-process, runs the real step binaries against it as child processes with the client
//! environment contract, and keeps every byte they print for leak scans.

pub mod github_runner;
pub mod process;
pub mod seed_replay;
pub mod summary;
pub mod tools;

use api_core::env_vars;
use cloud_sim::{Ready, RequestRecord, SecretKind, Sim, SimConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
pub use summary::{Baseline, WorldSummary};

/// Parses a `$GITHUB_OUTPUT` file: `name=value` lines and `name<<DELIMITER` blocks.
pub fn parse_github_output(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for next in lines.by_ref() {
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            outputs.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}

/// The environment a client process needs to use the simulator (the endpoint contract).
pub fn client_env(ready: &Ready) -> Vec<(String, String)> {
    let pairs = [
        (env_vars::AZURE_AUTHORITY_HOST, ready.authority_host.clone()),
        (
            env_vars::AZURE_RESOURCE_MANAGER_ENDPOINT,
            ready.resource_manager.clone(),
        ),
        (env_vars::AZURE_GRAPH_ENDPOINT, ready.graph.clone()),
        (env_vars::AIVEN_WEB_URL, ready.aiven.clone()),
        ("GITHUB_API_URL", ready.github.clone()),
        ("SSL_CERT_FILE", ready.ca_cert.display().to_string()),
        (env_vars::AZURE_TENANT_ID, ready.user_tenant_id.clone()),
        (env_vars::AZURE_CLIENT_ID, ready.admin_client_id.clone()),
        (
            env_vars::AZURE_CLIENT_SECRET,
            ready.admin_client_secret.clone(),
        ),
        (env_vars::AIVEN_AUTH_TOKEN, ready.aiven_token.clone()),
    ];
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// Builds the step binaries once per test process, so a `cargo test -p tests` never runs stale
/// ones (cargo builds other packages' binaries only for `--workspace` runs).
fn ensure_binaries_built() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut command = std::process::Command::new(cargo);
        command
            .args([
                "build",
                "--quiet",
                "--package",
                "peering",
                "--bins",
                "--manifest-path",
            ])
            .arg(&manifest)
            // ring's build script reruns when cargo's own CARGO_MANIFEST_DIR changes; inherited
            // from this test it would differ from a shell's, and rebuild ring and all above it.
            .env_remove("CARGO_MANIFEST_DIR");
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        // Cargo gives a test process its package's variables; passed on, they would differ
        // from a shell's (ring's build script reruns when CARGO_MANIFEST_DIR changes) and make
        // this build and the next `cargo test` rebuild half the dependency tree each time.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let per_package = [
                "CARGO_MANIFEST_",
                "CARGO_PKG_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ];
            if per_package.iter().any(|prefix| name.starts_with(prefix)) {
                command.env_remove(name.as_ref());
            }
        }
        let status = command.status().expect("cargo runs");
        assert!(status.success(), "building the step binaries failed");
    });
}

/// Where cargo put the step binaries: next to the running test or xtask executable's profile dir.
pub fn binary_dir() -> PathBuf {
    let executable = std::env::current_exe().expect("the current executable has a path");
    let mut directory = executable
        .parent()
        .expect("executables live in a directory")
        .to_path_buf();
    if directory.ends_with("deps") {
        directory.pop();
    }
    directory
}

/// A running simulator, a scratch directory and everything the binaries printed.
pub struct Harness {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    binaries: PathBuf,
    printed: Mutex<Vec<String>>,
    /// What the simulator held before the test, left out of [`Harness::summary`].
    pub baseline: Baseline,
    /// `--poll-interval` of the Aiven waits (tests poll fast; the demo at a human pace).
    pub poll_interval: String,
}

/// One finished run of a step binary.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `name=value` lines of stdout.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        self.stdout
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    pub fn output(&self, name: &str) -> String {
        self.outputs()
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no output {name} in:\n{}", self.stdout))
    }

    #[track_caller]
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code {} (expected {expected})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }
}

/// A step binary about to run.
pub struct Phase<'a> {
    harness: &'a Harness,
    name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    removed: Vec<String>,
}

impl<'a> Phase<'a> {
    pub fn arg(mut self, value: impl Into<String>) -> Self {
        self.args.push(value.into());
        self
    }

    pub fn args<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(values.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn env_remove(mut self, name: impl Into<String>) -> Self {
        self.removed.push(name.into());
        self
    }

    /// Runs with a clean environment: the client contract, a fast retry pace, and the extras.
    pub async fn run(self) -> Run {
        let mut command = self.command();
        let output = command.output().await.expect("the step binary starts");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.harness.keep_printed(&self.name, &self.args, &run);
        run
    }

    /// Starts the binary and returns at once; the test decides when it ends.
    pub fn spawn(self) -> Running<'a> {
        let mut command = self.command();
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = command.spawn().expect("the step binary starts");
        Running {
            harness: self.harness,
            name: self.name,
            args: self.args,
            child,
        }
    }

    /// Runs the binary measured (wall time and peak RSS, see [`process::run_measured`]); keeps
    /// what it printed like [`Phase::run`].
    pub async fn run_measured(self) -> (Run, process::Measured) {
        let mut command = self.std_command();
        let measured = tokio::task::spawn_blocking(move || process::run_measured(&mut command))
            .await
            .expect("the measuring thread runs")
            .expect("the step binary starts");
        let run = Run {
            code: measured.code,
            stdout: measured.stdout.clone(),
            stderr: measured.stderr.clone(),
        };
        self.harness.keep_printed(&self.name, &self.args, &run);
        (run, measured)
    }

    /// [`Phase::std_command`] as a tokio command that is killed when dropped.
    fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::from(self.std_command());
        command.kill_on_drop(true);
        command
    }

    /// The command line of the binary, with `HOME` and `TMPDIR` inside the scratch directory so
    /// the leak scan sees everything it writes.
    fn std_command(&self) -> std::process::Command {
        let program =
            self.harness
                .binaries
                .join(format!("{}{}", self.name, std::env::consts::EXE_SUFFIX));
        assert!(
            program.exists(),
            "{} is not built: run the tests with `cargo test --workspace` (or `cargo build -p peering --bins` first)",
            program.display()
        );
        let mut command = std::process::Command::new(&program);
        command.env_clear();
        if let Ok(value) = std::env::var("PATH") {
            command.env("PATH", value);
        }
        let (home, temporary) = self.harness.home_and_tmp();
        command.env("HOME", home).env("TMPDIR", temporary);
        command.env(env_vars::PEERING_RETRY_INTERVAL, "100ms");
        command.env(env_vars::PEERING_LOG, "info");
        for (name, value) in client_env(self.harness.sim.ready()) {
            command.env(name, value);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        for name in &self.removed {
            command.env_remove(name);
        }
        command
            .args(&self.args)
            .current_dir(self.harness.dir.path());
        command
    }
}

/// A step binary started by [`Phase::spawn`].
pub struct Running<'a> {
    harness: &'a Harness,
    name: String,
    args: Vec<String>,
    child: tokio::process::Child,
}

impl Running<'_> {
    /// Waits for the binary to finish by itself.
    pub async fn finish(self) -> Run {
        let output = self
            .child
            .wait_with_output()
            .await
            .expect("the step binary runs");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.harness.keep_printed(&self.name, &self.args, &run);
        run
    }

    /// Kills the binary with SIGKILL, as a runner's timeout ends a job that ignores SIGTERM: no
    /// clean-up code runs. Returns what it printed; `code` is -1.
    pub async fn kill(mut self) -> Run {
        self.child
            .start_kill()
            .expect("the step binary can be killed");
        self.finish().await
    }

    /// The binary's exit, if it has exited, without waiting.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits until the binary exits, without collecting its output.
    pub async fn exited(&mut self) {
        let _ = self.child.wait().await;
    }
}

impl Harness {
    /// A simulator with the fast test delays and the busy tenant: other people's objects
    /// everywhere, small pages, the GitHub API under a path.
    pub async fn start() -> Harness {
        Harness::start_with(SimConfig::fast().busy()).await
    }

    pub async fn start_with(config: SimConfig) -> Harness {
        tokio::task::spawn_blocking(ensure_binaries_built)
            .await
            .expect("the build task runs");
        let sim = Sim::start(config).await.expect("the simulator starts");
        let baseline = sim.with_world(|world| Baseline::of(world));
        Harness {
            sim,
            dir: tempfile::tempdir().expect("a scratch directory"),
            binaries: binary_dir(),
            printed: Mutex::new(Vec::new()),
            baseline,
            poll_interval: "100ms".to_string(),
        }
    }

    pub fn ready(&self) -> &Ready {
        self.sim.ready()
    }

    /// What the test has added to the simulated world so far, by name.
    pub fn summary(&self) -> WorldSummary {
        let ready = self.ready().clone();
        self.sim
            .with_world(|world| WorldSummary::of(world, &ready, &self.baseline))
    }

    /// `HOME` and `TMPDIR` for the binaries: inside the scratch directory.
    pub fn home_and_tmp(&self) -> (PathBuf, PathBuf) {
        let home = self.path("home");
        let temporary = self.path("tmp");
        for directory in [&home, &temporary] {
            std::fs::create_dir_all(directory).expect("a scratch subdirectory");
        }
        (home, temporary)
    }

    fn keep_printed(&self, name: &str, args: &[String], run: &Run) {
        let mut printed = self.printed.lock().unwrap();
        printed.push(format!("$ {name} {}", args.join(" ")));
        printed.push(run.stdout.clone());
        printed.push(run.stderr.clone());
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The shared state file of a procedure.
    pub fn state_file(&self) -> PathBuf {
        self.path("state.json")
    }

    pub fn phase(&self, name: &str) -> Phase<'_> {
        Phase {
            harness: self,
            name: name.to_string(),
            args: Vec::new(),
            env: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// The procedure for the seeded VNet, with the shared state file.
    pub fn seeded(&self) -> Pipeline<'_> {
        let ready = self.ready();
        self.pipeline(
            &ready.subscription_id,
            &ready.resource_group,
            &ready.vnet_name,
            self.state_file(),
        )
    }

    /// The procedure for another VNet of the tenant, with its own state file (a matrix entry,
    /// a VNet in another subscription).
    pub fn pipeline(
        &self,
        subscription_id: &str,
        resource_group: &str,
        vnet_name: &str,
        state_file: PathBuf,
    ) -> Pipeline<'_> {
        Pipeline {
            harness: self,
            vnet: [
                subscription_id.to_string(),
                resource_group.to_string(),
                vnet_name.to_string(),
            ],
            state_file,
        }
    }

    /// A phase with the arguments the standard procedure gives it (the seeded VNet, project
    /// and VPC, the state file, the harness's poll interval).
    pub fn procedure_phase(&self, phase: peering::Phase) -> Phase<'_> {
        let ready = self.ready();
        let state = [
            "--state".to_string(),
            self.state_file().display().to_string(),
        ];
        let poll = ["--poll-interval".to_string(), self.poll_interval.clone()];
        let step = self.phase(phase.name()).args(state);
        match phase {
            peering::Phase::PrepareTenant => step.args([
                "--subscription-id".to_string(),
                ready.subscription_id.clone(),
                "--resource-group".to_string(),
                ready.resource_group.clone(),
                "--vnet-name".to_string(),
                ready.vnet_name.clone(),
            ]),
            peering::Phase::RequestPeering => step
                .args([
                    "--project".to_string(),
                    ready.aiven_project.clone(),
                    "--project-vpc-id".to_string(),
                    ready.project_vpc_id.clone(),
                ])
                .args(poll),
            peering::Phase::AwaitActive => step.args(poll),
            // Every other phase finds what it needs in the state file.
            _ => step,
        }
    }

    /// `prepare-tenant` for the seeded VNet with the state file.
    pub fn prepare_tenant(&self) -> Phase<'_> {
        self.procedure_phase(peering::Phase::PrepareTenant)
    }

    pub fn request_peering(&self) -> Phase<'_> {
        self.procedure_phase(peering::Phase::RequestPeering)
    }

    pub fn accept_peering(&self) -> Phase<'_> {
        self.procedure_phase(peering::Phase::AcceptPeering)
    }

    pub fn await_active(&self) -> Phase<'_> {
        self.procedure_phase(peering::Phase::AwaitActive)
    }

    /// `status` for the seeded VNet and Aiven project, with the state file.
    pub fn status(&self) -> Phase<'_> {
        let ready = self.ready();
        self.phase("status").args([
            "--subscription-id".to_string(),
            ready.subscription_id.clone(),
            "--resource-group".to_string(),
            ready.resource_group.clone(),
            "--vnet-name".to_string(),
            ready.vnet_name.clone(),
            "--project".to_string(),
            ready.aiven_project.clone(),
            "--state".to_string(),
            self.state_file().display().to_string(),
        ])
    }

    /// `teardown` with the state file.
    pub fn teardown(&self) -> Phase<'_> {
        self.phase("teardown").args([
            "--poll-interval".to_string(),
            self.poll_interval.clone(),
            "--state".to_string(),
            self.state_file().display().to_string(),
        ])
    }

    /// Runs the procedure's phases in order, each required to succeed.
    pub async fn run_procedure(&self) {
        for phase in peering::Phase::procedure() {
            self.procedure_phase(phase).run().await.assert_success();
        }
    }

    /// Runs the step binaries from `directory` instead (the bench measures release builds).
    pub fn use_binaries_from(&mut self, directory: PathBuf) {
        self.binaries = directory;
    }

    /// Runs `look` on the one app registration the runs made (the busy tenant holds hundreds
    /// of other people's); panics when there is none or several.
    pub fn with_the_new_app<T>(&self, look: impl FnOnce(&mut cloud_sim::Application) -> T) -> T {
        let baseline = &self.baseline;
        self.sim.with_world(|world| {
            let mut made: Vec<&mut cloud_sim::Application> = world
                .applications
                .iter_mut()
                .filter(|app| !baseline.applications.contains(&app.object_id))
                .collect();
            assert_eq!(made.len(), 1, "the runs made one app registration");
            look(made.remove(0))
        })
    }

    /// Changes the Aiven connections of the seeded VNet that are not `DELETED` (the busy tenant
    /// lists a `DELETED` one for the same VNet first, and other VNets' connections beside it).
    pub fn with_live_connections(&self, change: impl Fn(&mut cloud_sim::PeeringConnection)) {
        let ready = self.ready().clone();
        self.sim.with_world(|world| {
            for connection in world
                .aiven_projects
                .iter_mut()
                .flat_map(|project| project.vpcs.iter_mut())
                .flat_map(|vpc| vpc.peering_connections.iter_mut())
                .filter(|connection| {
                    connection
                        .peer_cloud_account
                        .eq_ignore_ascii_case(&ready.subscription_id)
                        && connection.peer_vpc.eq_ignore_ascii_case(&ready.vnet_name)
                        && connection.state != "DELETED"
                })
            {
                change(connection);
            }
        });
    }

    /// Keeps text printed by something else (a CI runner running the binaries) for the leak scan.
    pub fn record_printed(&self, text: impl Into<String>) {
        self.printed.lock().unwrap().push(text.into());
    }

    /// How many write requests the simulator has handled so far.
    pub fn write_count(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|record| record.write)
            .count()
    }

    /// The write requests handled after the first `since` of them.
    pub fn writes_since(&self, since: usize) -> Vec<String> {
        self.sim
            .requests()
            .into_iter()
            .filter(|record| record.write)
            .skip(since)
            .map(|record| {
                format!(
                    "{} {} {} -> {}",
                    record.service, record.method, record.path, record.status
                )
            })
            .collect()
    }

    /// Fails if any secret the simulator ever issued appears in anything a binary printed or
    /// wrote into the scratch directory (state file, CI output files).
    #[track_caller]
    pub fn assert_no_secret_leaked(&self) {
        // The GitHub runner consumes `::add-mask::` lines: they never reach a log.
        let mut texts: Vec<String> = self
            .printed
            .lock()
            .unwrap()
            .iter()
            .map(|text| {
                text.lines()
                    .filter(|line| !line.starts_with("::add-mask::"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        texts.extend(
            files_below(self.dir.path())
                .into_iter()
                .map(|path| std::fs::read_to_string(path).unwrap_or_default()),
        );
        self.assert_the_scan_knows_every_issued_secret();
        let secrets = self.sim.issued_secrets();
        for secret in secrets.iter().filter(|secret| secret.len() >= 8) {
            for text in &texts {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret leaked into:\n{text}"
                );
            }
        }
    }
}

impl Harness {
    /// The leak scan's own check: every access token, password and OIDC token the request log
    /// shows the simulator handing out, and the GitHub token when it was used, is in the set of
    /// secrets the scan looks for.
    #[track_caller]
    fn assert_the_scan_knows_every_issued_secret(&self) {
        let log = self.sim.requests();
        let answered = |service: &str, method: &str, path_end: &str| {
            log.iter()
                .filter(|record| {
                    record.service == service
                        && record.method == method
                        && record.path.ends_with(path_end)
                        && (200..300).contains(&record.status)
                })
                .count()
        };
        let expectations = [
            (
                SecretKind::AccessToken,
                answered("identity", "POST", "/oauth2/v2.0/token"),
                "access tokens",
            ),
            (
                SecretKind::Password,
                answered("graph", "POST", "/addPassword"),
                "app passwords",
            ),
            (
                SecretKind::OidcToken,
                answered("github", "GET", "/_oidc/token"),
                "Actions OIDC tokens",
            ),
        ];
        for (kind, handed_out, what) in expectations {
            let known = self.sim.issued_secrets_of(kind).len();
            assert!(
                known >= handed_out,
                "the leak scan knows {known} {what}, the request log shows {handed_out} handed out"
            );
        }
        let github_used = log
            .iter()
            .any(|record: &RequestRecord| record.identity.as_deref() == Some("github-token"));
        if github_used {
            assert!(
                self.sim
                    .issued_secrets_of(SecretKind::Seeded)
                    .contains(&self.ready().github_token),
                "the leak scan knows the GitHub token the binaries used"
            );
        }
    }
}

fn files_below(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(directory) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            // Links point at the built binaries (the runner imitation's install directory),
            // which the binaries never write.
            if kind.is_symlink() {
                continue;
            }
            if kind.is_dir() {
                files.extend(files_below(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// The four phases for one VNet and its state file.
pub struct Pipeline<'a> {
    harness: &'a Harness,
    /// Subscription, resource group and name.
    vnet: [String; 3],
    pub state_file: PathBuf,
}

impl<'a> Pipeline<'a> {
    fn state_argument(&self) -> [String; 2] {
        ["--state".to_string(), self.state_file.display().to_string()]
    }

    /// `prepare-tenant` naming the VNet.
    pub fn prepare_tenant(&self) -> Phase<'a> {
        let [subscription, group, name] = self.vnet.clone();
        self.harness
            .phase("prepare-tenant")
            .args([
                "--subscription-id".to_string(),
                subscription,
                "--resource-group".to_string(),
                group,
                "--vnet-name".to_string(),
                name,
            ])
            .args(self.state_argument())
    }

    /// `request-peering` to the seeded project VPC.
    pub fn request_peering(&self) -> Phase<'a> {
        let ready = self.harness.ready();
        self.harness
            .phase("request-peering")
            .args([
                "--project".to_string(),
                ready.aiven_project.clone(),
                "--project-vpc-id".to_string(),
                ready.project_vpc_id.clone(),
                "--poll-interval".to_string(),
                self.harness.poll_interval.clone(),
            ])
            .args(self.state_argument())
    }

    pub fn accept_peering(&self) -> Phase<'a> {
        self.harness
            .phase("accept-peering")
            .args(self.state_argument())
    }

    pub fn await_active(&self) -> Phase<'a> {
        self.harness
            .phase("await-active")
            .args([
                "--poll-interval".to_string(),
                self.harness.poll_interval.clone(),
            ])
            .args(self.state_argument())
    }

    /// Runs the four phases in order, each required to succeed.
    pub async fn run_all(&self) {
        self.prepare_tenant().run().await.assert_success();
        self.request_peering().run().await.assert_success();
        self.accept_peering().run().await.assert_success();
        self.await_active().run().await.assert_success();
    }

    /// The state file's outputs.
    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state_file).unwrap_or_default())
            .unwrap_or_default()
    }
}
