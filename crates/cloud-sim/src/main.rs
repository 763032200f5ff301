//! `cloud-sim serve`: runs the simulator, prints the ready line on stdout and serves until
//! SIGTERM or SIGINT.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use cloud_sim::{Delays, FailMode, Faults, Sim, SimConfig, TenantPreset};

#[derive(Parser)]
#[command(
    name = "cloud-sim",
    version,
    about = "HTTPS simulator of Microsoft identity, Graph, ARM, the Aiven API and a GitHub subset"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the six HTTPS listeners, print one JSON ready line on stdout and serve until SIGTERM/SIGINT.
    Serve(ServeArguments),
}

#[derive(Clone, Copy, ValueEnum)]
enum Profile {
    /// Delays of 0.1–0.5 s (tests).
    Fast,
    /// Delays of 1–5 s (demos).
    Realistic,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailModeArgument {
    /// Answer 500 without applying the write.
    Before,
    /// Apply the write, then close the connection without answering.
    After,
    /// Apply the write, then answer 504 Gateway Timeout.
    GatewayTimeout,
}

#[derive(Clone, Copy, ValueEnum)]
enum TenantArgument {
    /// Only the seeded objects the procedure needs.
    Quiet,
    /// A real company's tenant: hundreds of other people's objects, several subscriptions,
    /// other VPCs and connections, the GitHub API under /api/v3.
    Busy,
}

#[derive(clap::Args)]
struct ServeArguments {
    /// First port: identity, arm, graph, aiven, github and control listen on PORT..PORT+5; 0 picks ephemeral ports.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the generated CA certificate (PEM); default: ca.pem in a fresh temporary directory.
    #[arg(long, value_name = "PATH")]
    ca_cert: Option<PathBuf>,
    /// What the tenants hold besides the procedure's own objects.
    #[arg(long, value_enum, default_value = "quiet")]
    tenant: TenantArgument,
    /// Items per page of every ARM (nextLink) and Graph (@odata.nextLink) list.
    #[arg(long, default_value_t = cloud_sim::DEFAULT_PAGE_SIZE, value_parser = clap::value_parser!(usize))]
    page_size: usize,
    /// Base set of delays; the delay flags below override single values.
    #[arg(long, value_enum, default_value = "realistic")]
    profile: Profile,
    /// How long new applications and service principals stay invisible to Graph reads (e.g. 250ms, 2s).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    graph_replication_lag: Option<Duration>,
    /// How long a new role assignment takes to grant anything (and only to tokens issued after that).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    role_propagation: Option<Duration>,
    /// How long the token endpoint refuses a password after addPassword (AADSTS7000215).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    password_propagation: Option<Duration>,
    /// Aiven APPROVED → PENDING_PEER (or INVALID_SPECIFICATION).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    aiven_pending_peer_delay: Option<Duration>,
    /// After PENDING_PEER, until Aiven has created the user app's service principal and peer/action grant in its tenant.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    aiven_grant_lag: Option<Duration>,
    /// Aiven PENDING_PEER → ACTIVE once the user-side peering exists.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    aiven_active_delay: Option<Duration>,
    /// Aiven DELETING → DELETED, and DELETED → gone.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    aiven_delete_delay: Option<Duration>,
    /// How long an ARM peering PUT or DELETE stays InProgress.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    lro_duration: Option<Duration>,
    /// Lifetime of issued access tokens (default 3599s).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    token_lifetime: Option<Duration>,
    /// How long a new custom role definition is unknown to role assignments (RoleDefinitionDoesNotExist).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    role_definition_replication: Option<Duration>,
    /// How long a new service principal is unknown to role assignments even with principalType (PrincipalNotFound).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    assignment_principal_lag: Option<Duration>,
    /// Lifetime of the OIDC tokens issued for GitHub Actions and GitLab (whole seconds; default 600s).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    oidc_token_lifetime: Option<Duration>,
    /// Draw each delay per object from delay × (1 ± PERCENT/100) (default 50; 0 = exact).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    delay_spread: Option<u8>,
    /// Latency added to every Graph, ARM, Aiven and GitHub request (never token requests).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION", default_value = "0s")]
    latency: Duration,
    /// Probability (0–1) of a 429 with Retry-After: 1.
    #[arg(long, default_value_t = 0.0)]
    rate_429: f64,
    /// Probability (0–1) of a 500.
    #[arg(long, default_value_t = 0.0)]
    rate_500: f64,
    /// Probability (0–1) of a 503.
    #[arg(long, default_value_t = 0.0)]
    rate_503: f64,
    /// Probability (0–1) of closing the connection without an answer.
    #[arg(long, default_value_t = 0.0)]
    rate_drop: f64,
    /// Make the Nth write request (counted across services, 1 = the first) fail once.
    #[arg(long, value_name = "N")]
    fail_nth_write: Option<u64>,
    /// How the selected write fails.
    #[arg(long, value_enum, default_value = "before")]
    fail_mode: FailModeArgument,
    /// The next N peering PUT/DELETE requests find the VNet busy (ReferencedResourceNotProvisioned, AnotherOperationInProgress).
    #[arg(long, default_value_t = 0)]
    peering_write_conflicts: u32,
    /// The random faults also hit the token endpoint and the Actions OIDC endpoint.
    #[arg(long)]
    token_faults: bool,
    /// Seed of the fault randomness.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl ServeArguments {
    fn into_config(self) -> SimConfig {
        let mut delays = match self.profile {
            Profile::Fast => Delays::fast(),
            Profile::Realistic => Delays::realistic(),
        };
        let overrides = [
            (
                self.graph_replication_lag,
                &mut delays.graph_replication_lag,
            ),
            (self.role_propagation, &mut delays.role_propagation),
            (self.password_propagation, &mut delays.password_propagation),
            (
                self.aiven_pending_peer_delay,
                &mut delays.aiven_pending_peer_delay,
            ),
            (self.aiven_grant_lag, &mut delays.aiven_grant_lag),
            (self.aiven_active_delay, &mut delays.aiven_active_delay),
            (self.aiven_delete_delay, &mut delays.aiven_delete_delay),
            (self.lro_duration, &mut delays.lro_duration),
            (self.token_lifetime, &mut delays.token_lifetime),
            (
                self.role_definition_replication,
                &mut delays.role_definition_replication,
            ),
            (
                self.assignment_principal_lag,
                &mut delays.assignment_principal_lag,
            ),
            (self.oidc_token_lifetime, &mut delays.oidc_token_lifetime),
        ];
        for (value, slot) in overrides {
            if let Some(value) = value {
                *slot = value;
            }
        }
        if let Some(spread) = self.delay_spread {
            delays.spread_percent = spread;
        }
        SimConfig {
            delays,
            faults: Faults {
                latency: self.latency,
                rate_429: self.rate_429,
                rate_500: self.rate_500,
                rate_503: self.rate_503,
                rate_drop: self.rate_drop,
                fail_nth_write: self.fail_nth_write,
                fail_mode: match self.fail_mode {
                    FailModeArgument::Before => FailMode::Before,
                    FailModeArgument::After => FailMode::After,
                    FailModeArgument::GatewayTimeout => FailMode::GatewayTimeout,
                },
                peering_write_conflicts: self.peering_write_conflicts,
                hold_write: None,
                token_faults: self.token_faults,
                max_faults: None,
                seed: self.seed,
            },
            port: self.port,
            ca_cert_path: self.ca_cert,
            tenant: match self.tenant {
                TenantArgument::Quiet => TenantPreset::Quiet,
                TenantArgument::Busy => TenantPreset::Busy,
            },
            page_size: self.page_size.max(1),
        }
    }
}

async fn serve(arguments: ServeArguments) -> anyhow::Result<()> {
    let sim = Sim::start(arguments.into_config())
        .await
        .context("cannot start the simulator")?;
    let ready_line = serde_json::to_string(sim.ready()).context("cannot encode the ready line")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready_line}").context("cannot write the ready line")?;
    stdout.flush().context("cannot flush stdout")?;
    drop(stdout);
    tracing::info!(control = %sim.ready().control, "cloud-sim ready");

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("cloud-sim shutting down");
    sim.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(arguments) => runtime.block_on(serve(arguments)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
