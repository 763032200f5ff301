//! The seed document's own procedure, run with the real `az` (Azure CLI 2.91) and `avn` (Aiven
//! CLI 4.18) against `cloud-sim`: the commands in the document's order, verbatim where the
//! document is verbatim, with values flowing between them the way the document says (`appId`,
//! `id`, `password`, `to-tenant-id`, `to-network-id`). The CLIs were written by the services'
//! owners against the real APIs, so where they succeed the simulator speaks the real protocols.
//!
//! Used by `cargo xtask seed-replay` (the per-command table), `cargo xtask bench` (the baseline)
//! and the end-to-end tests. The CLIs live in a Python virtual environment ([`Clis`]); a
//! [`Session`] runs the commands (`session`), `avn_output` reads what `avn` prints and
//! `world_check` checks the simulator afterwards.

mod avn_output;
mod session;
mod world_check;

pub use avn_output::ConnectionDetails;
pub use session::Session;
pub use world_check::check_world;

use cloud_sim::{RequestRecord, Sim};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The Azure CLI release the replay pins (pip requirement).
pub const AZURE_CLI_REQUIREMENT: &str = "azure-cli==2.91.*";
/// The Aiven CLI release the replay pins (pip requirement).
pub const AIVEN_CLIENT_REQUIREMENT: &str = "aiven-client==4.18.*";
/// The Azure AD application id of Aiven's platform app (seed step 7, "a fix id").
pub use cloud_sim::AIVEN_APP_ID;

/// The two command-line tools, in a Python virtual environment.
#[derive(Debug, Clone)]
pub struct Clis {
    pub venv: PathBuf,
}

impl Clis {
    /// `target/seed-replay/venv` of this workspace, where `cargo xtask seed-replay
    /// --install-only` (which `.ci/run` runs) puts it.
    pub fn default_venv() -> PathBuf {
        let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
        tests
            .parent()
            .unwrap_or(tests)
            .join("target/seed-replay/venv")
    }

    pub fn in_venv(venv: impl Into<PathBuf>) -> Clis {
        Clis { venv: venv.into() }
    }

    fn bin(&self) -> PathBuf {
        self.venv.join("bin")
    }

    pub fn az(&self) -> PathBuf {
        self.bin().join("az")
    }

    pub fn avn(&self) -> PathBuf {
        self.bin().join("avn")
    }

    pub fn has_az(&self) -> bool {
        self.az().is_file()
    }

    pub fn has_avn(&self) -> bool {
        self.avn().is_file()
    }

    /// Bytes the virtual environment takes on disk (the CLIs' install size).
    pub fn install_size_bytes(&self) -> u64 {
        directory_size(&self.venv)
    }
}

/// Which CLIs to install.
pub fn requirements(with_azure_cli: bool) -> Vec<&'static str> {
    let mut requirements = vec![AIVEN_CLIENT_REQUIREMENT];
    if with_azure_cli {
        requirements.push(AZURE_CLI_REQUIREMENT);
    }
    requirements
}

/// Creates the virtual environment (with `python3 -m venv`) and pip-installs `requirements`,
/// unless a previous install of the same requirements is recorded there. Prints pip's progress
/// to stderr. Returns whether anything was installed.
pub fn install(venv: &Path, requirements: &[&str]) -> Result<bool, String> {
    let marker = venv.join(".seed-replay-requirements");
    let wanted = requirements.join("\n");
    let recorded = std::fs::read_to_string(&marker).unwrap_or_default();
    let covered = requirements
        .iter()
        .all(|requirement| recorded.lines().any(|line| line == *requirement));
    if covered && venv.join("bin/pip").is_file() {
        return Ok(false);
    }
    if !venv.join("bin/pip").is_file() {
        run_tool(
            Command::new("python3").arg("-m").arg("venv").arg(venv),
            "python3 -m venv (install Python 3.9 or newer with its venv module)",
        )?;
    }
    run_tool(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(requirements),
        "pip install (PyPI must be reachable)",
    )?;
    let mut lines: Vec<&str> = recorded.lines().chain(wanted.lines()).collect();
    lines.sort_unstable();
    lines.dedup();
    std::fs::write(&marker, lines.join("\n"))
        .map_err(|error| format!("cannot write {}: {error}", marker.display()))?;
    Ok(true)
}

fn run_tool(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|error| format!("cannot run {what}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed with {status}"))
    }
}

fn directory_size(path: &Path) -> u64 {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !metadata.is_dir() {
        return metadata.len();
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| directory_size(&entry.path()))
                .sum()
        })
        .unwrap_or(0)
}

/// How the replay paces itself and names what it creates.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// `--display-name` of the app registration (seed step 2, "of your choosing").
    pub app_display_name: String,
    /// `Name` of the custom role (seed step 8, "of your choosing").
    pub aiven_role_name: String,
    /// `--name` of the VNet peering (seed step 13, "of your choosing").
    pub peering_name: String,
    /// The VNet to peer, picked by name from `az network vnet list` (seed step 5).
    pub vnet_name: String,
    /// The Aiven project, as the user's `avn` default project (`AIVEN_PROJECT`).
    pub aiven_project: String,
    /// `$aiven_project_vpc_id` (the document finds it with `avn vpc list`).
    pub aiven_project_vpc_id: String,
    /// Pause between runs of `avn vpc peering-connection get -v` (steps 12 and 14).
    pub pending_poll_interval: Duration,
    pub active_poll_interval: Duration,
    /// Pause before repeating step 13 after an authorization error, as the document says.
    pub retry_interval: Duration,
    /// How long any one wait may take.
    pub wait_limit: Duration,
}

impl ReplayOptions {
    /// The names the replay uses and the fixtures of `sim`, polling every `poll_interval`.
    pub fn for_sim(sim: &Sim, poll_interval: Duration) -> ReplayOptions {
        let ready = sim.ready();
        ReplayOptions {
            app_display_name: "aiven-peering-seed-replay".to_string(),
            aiven_role_name: "Aiven VNet peer (seed replay)".to_string(),
            peering_name: "aiven-project-vpc".to_string(),
            vnet_name: ready.vnet_name.clone(),
            aiven_project: ready.aiven_project.clone(),
            aiven_project_vpc_id: ready.project_vpc_id.clone(),
            pending_poll_interval: poll_interval,
            active_poll_interval: poll_interval,
            retry_interval: poll_interval,
            wait_limit: Duration::from_secs(300),
        }
    }
}

/// The values the document has the user save, under its own names (no secret among them).
#[derive(Debug, Clone, Default)]
pub struct SeedValues {
    pub user_app_id: String,
    pub user_sp_id: String,
    pub user_vnet_id: String,
    pub user_subscription_id: String,
    pub user_resource_group: String,
    pub user_vnet_name: String,
    pub network_contributor_role_id: String,
    pub aiven_sp_id: String,
    pub aiven_role_id: String,
    pub user_tenant_id: String,
    pub aiven_project_vpc_id: String,
    pub aiven_tenant_id: String,
    pub aiven_vnet_id: String,
    /// The last state `avn vpc peering-connection get -v` showed.
    pub peering_state: String,
}

/// What a group of requests was made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub reads: usize,
    pub writes: usize,
    /// `POST …/oauth2/v2.0/token` on the identity listener.
    pub tokens: usize,
}

impl RequestCounts {
    pub fn of(records: &[RequestRecord]) -> RequestCounts {
        let mut counts = RequestCounts::default();
        for record in records {
            if is_token_request(record) {
                counts.tokens += 1;
            } else if record.write {
                counts.writes += 1;
            } else {
                counts.reads += 1;
            }
        }
        counts
    }

    pub fn total(&self) -> usize {
        self.reads + self.writes + self.tokens
    }

    pub fn add(&mut self, other: RequestCounts) {
        self.reads += other.reads;
        self.writes += other.writes;
        self.tokens += other.tokens;
    }
}

/// A token request: the identity listener's token endpoint (discovery documents are reads).
pub fn is_token_request(record: &RequestRecord) -> bool {
    record.service == "identity" && record.method == "POST" && record.path.ends_with("/token")
}

/// One command the replay ran.
#[derive(Debug, Clone)]
pub struct CommandRun {
    /// The seed step it belongs to ("1"–"14"), or "setup" for pointing `az` at the simulator.
    pub step: &'static str,
    /// The command line as the document writes it: saved values as `$name`, secrets as `***`.
    pub shown: String,
    pub code: i32,
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub requests: RequestCounts,
    /// The simulator's log of this command's requests.
    pub records: Vec<RequestRecord>,
}

/// A finished (or failed) replay.
#[derive(Debug, Clone)]
pub struct Replay {
    pub commands: Vec<CommandRun>,
    pub values: SeedValues,
    /// Wall time of the seed's commands and waits (setup excluded).
    pub wall: Duration,
    /// The simulator's uptime when step 1 began, and the seed's part of its request log.
    pub seed_started: Duration,
    pub seed_log: std::ops::Range<usize>,
    /// `Err` with what went wrong when the replay stopped before ACTIVE.
    pub outcome: Result<(), String>,
}

impl Replay {
    /// The commands of the seed itself (without the setup).
    pub fn seed_commands(&self) -> impl Iterator<Item = &CommandRun> {
        self.commands.iter().filter(|command| command.step != SETUP)
    }

    /// Requests of the seed's commands.
    pub fn seed_requests(&self) -> RequestCounts {
        let mut counts = RequestCounts::default();
        for command in self.seed_commands() {
            counts.add(command.requests);
        }
        counts
    }

    /// Processes the seed's commands started.
    pub fn process_starts(&self) -> usize {
        self.seed_commands().count()
    }
}

/// The step of the commands that point `az` at the simulator (not part of the seed).
pub(crate) const SETUP: &str = "setup";

/// Runs the seed's procedure against `sim` with the CLIs of `clis`.
pub async fn replay(sim: &Sim, clis: &Clis, options: &ReplayOptions) -> Replay {
    let mut session = Session::new(sim, clis, options);
    let mut wall = Duration::ZERO;
    let mut seed_started = sim.uptime();
    let mut seed_log = 0..0;
    let outcome = match session.point_azure_cli_at_the_simulator().await {
        Ok(()) => {
            let started = Instant::now();
            seed_started = sim.uptime();
            let first_record = sim.requests().len();
            let outcome = session.seed_procedure().await;
            wall = started.elapsed();
            seed_log = first_record..sim.requests().len();
            outcome
        }
        Err(error) => Err(error),
    };
    Replay {
        commands: session.commands,
        values: session.values,
        wall,
        seed_started,
        seed_log,
        outcome,
    }
}

/// The per-command table: step, wall time, requests (reads/writes/tokens), peak RSS, command.
pub fn table(replay: &Replay) -> String {
    let mut lines = vec![format!(
        "{:>5}  {:>8}  {:>4} {:>3} {:>3} {:>3}  {:>6}  command",
        "step", "wall", "req", "r", "w", "tok", "RSS"
    )];
    for command in &replay.commands {
        lines.push(format!(
            "{:>5}  {:>6}ms  {:>4} {:>3} {:>3} {:>3}  {:>4}MB  {}{}",
            command.step,
            command.wall.as_millis(),
            command.requests.total(),
            command.requests.reads,
            command.requests.writes,
            command.requests.tokens,
            command.peak_rss_kib / 1024,
            command.shown,
            if command.code == 0 {
                String::new()
            } else {
                format!("  (exit {})", command.code)
            }
        ));
    }
    let requests = replay.seed_requests();
    lines.push(format!(
        "seed total: {} commands (process starts), {}ms wall, {} requests ({} reads, {} writes, {} token requests)",
        replay.process_starts(),
        replay.wall.as_millis(),
        requests.total(),
        requests.reads,
        requests.writes,
        requests.tokens
    ));
    lines.join("\n")
}
