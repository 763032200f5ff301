//! The baseline: the seed document replayed with the real `az` and `avn` (`tests::seed_replay`)
//! under the same latency and delays as our procedure, polling at our phases' default cadence.

use super::floor::{Awaited, Floor, FloorModel, floor, token_latency};
use super::procedure::default_flag;
use anyhow::{Result, bail};
use cloud_sim::{Sim, SimConfig};
use std::time::Duration;
use tests::seed_replay::{self, Clis, CommandRun, ReplayOptions, RequestCounts};

/// The replay's figures.
#[derive(Debug, Clone)]
pub struct BaselineMeasurement {
    pub commands: Vec<CommandRun>,
    pub wall: Duration,
    pub requests: RequestCounts,
    pub process_starts: usize,
    pub critical_path: Floor,
    pub install_bytes: u64,
    pub peak_rss_kib: u64,
    /// Median wall time of `az --version` and `avn --version`.
    pub az_version: Duration,
    pub avn_version: Duration,
}

fn default_interval(phase: peering::Phase, flag: &str, fallback: Duration) -> Duration {
    default_flag(phase, flag)
        .and_then(|text| humantime::parse_duration(&text).ok())
        .unwrap_or(fallback)
}

pub async fn measure_baseline(config: &SimConfig, clis: &Clis) -> Result<BaselineMeasurement> {
    let sim = Sim::start(config.clone()).await?;
    let mut options = ReplayOptions::for_sim(&sim, Duration::from_secs(10));
    options.pending_poll_interval = default_interval(
        peering::Phase::RequestPeering,
        "poll-interval",
        Duration::from_secs(10),
    );
    options.active_poll_interval = default_interval(
        peering::Phase::AwaitActive,
        "poll-interval",
        Duration::from_secs(15),
    );
    options.retry_interval = default_interval(
        peering::Phase::AcceptPeering,
        "retry-interval",
        Duration::from_secs(5),
    );
    let replay = seed_replay::replay(&sim, clis, &options).await;
    if let Err(error) = &replay.outcome {
        bail!(
            "the seed replay (the baseline) stopped before ACTIVE: {error}\n{}",
            seed_replay::table(&replay)
        );
    }
    let model = FloorModel {
        delays: config.delays.clone(),
        latency: config.faults.latency,
        token_latency: token_latency(config),
        admin_app_id: sim.ready().admin_client_id.clone(),
        aiven_tenant_id: sim.ready().aiven_tenant_id.clone(),
    };
    let records = sim.requests();
    let critical_path = floor(
        &records,
        replay.seed_log.clone(),
        replay.seed_started,
        Awaited::Active,
        &model,
    );
    let az_version = median_version(clis.az(), 5)?;
    let avn_version = median_version(clis.avn(), 5)?;
    Ok(BaselineMeasurement {
        wall: replay.wall,
        requests: replay.seed_requests(),
        process_starts: replay.process_starts(),
        critical_path,
        install_bytes: clis.install_size_bytes(),
        peak_rss_kib: replay
            .seed_commands()
            .map(|command| command.peak_rss_kib)
            .max()
            .unwrap_or(0),
        commands: replay.commands,
        az_version,
        avn_version,
    })
}

fn median_version(program: std::path::PathBuf, samples: usize) -> Result<Duration> {
    let (median, _) = super::footprint::median_run(&program, &["--version"], samples)?;
    Ok(median)
}
