//! Our procedure under the bench's latency and delays: each phase's first run and its re-run
//! (wall time, requests, floor, peak RSS), with the phases' default pacing; and await-active
//! against a simulated 15-minute wait, time-compressed.

use super::floor::{
    Awaited, Floor, FloorModel, floor, longest_pause, refused, sequential_rounds, token_latency,
};
use anyhow::{Context, Result, bail};
use api_core::env_vars;
use cloud_sim::{RequestRecord, SimConfig};
use std::path::Path;
use std::time::{Duration, Instant};
use tests::Harness;
use tests::seed_replay::RequestCounts;

/// One run of one phase.
#[derive(Debug, Clone)]
pub struct PhaseRun {
    pub wall: Duration,
    pub requests: RequestCounts,
    pub floor: Floor,
    pub sequential_rounds: usize,
    /// Requests answered "not yet" (and retried).
    pub refused: usize,
    /// The longest time without a request on the wire (a retry or poll pause).
    pub longest_pause: Duration,
    pub peak_rss_kib: u64,
}

/// A phase's first run and its re-run once the procedure is done.
#[derive(Debug, Clone)]
pub struct PhaseMeasurement {
    pub phase: peering::Phase,
    pub first: PhaseRun,
    pub rerun: PhaseRun,
}

/// One whole procedure.
#[derive(Debug, Clone)]
pub struct ProcedureMeasurement {
    pub phases: Vec<PhaseMeasurement>,
    /// From the first phase's start to the last phase's exit.
    pub wall: Duration,
    pub requests: RequestCounts,
    /// The floor of the four first runs together, from the first phase's start.
    pub critical_path: Floor,
}

/// await-active against a long wait, with time compressed by `compression`.
#[derive(Debug, Clone)]
pub struct AwaitMeasurement {
    pub compression: u32,
    pub default_poll_interval: Duration,
    /// The compressed `--poll-interval` it ran with.
    pub poll_interval: Duration,
    /// The simulated wait (Aiven's PENDING_PEER → ACTIVE), before compression.
    pub simulated_wait: Duration,
    pub polls: usize,
    /// From the simulator's switch to ACTIVE until await-active exited, compressed time.
    pub noticed_after_switch: Duration,
    /// The request latency, compressed.
    pub latency: Duration,
}

/// The default value of a phase's flag, from its clap definition.
pub fn default_flag(phase: peering::Phase, flag: &str) -> Option<String> {
    let command = (phase.spec().command)();
    command
        .get_arguments()
        .find(|argument| argument.get_long() == Some(flag))
        .and_then(|argument| argument.get_default_values().first().cloned())
        .map(|value| value.to_string_lossy().into_owned())
}

fn default_duration(phase: peering::Phase, flag: &str) -> Option<Duration> {
    default_flag(phase, flag).and_then(|text| humantime::parse_duration(&text).ok())
}

/// The pacing a user gets: each phase's default `--poll-interval`, the default retry interval
/// (the harness's fast test pace is removed).
fn paced<'a>(harness: &'a mut Harness, phase: peering::Phase) -> tests::Phase<'a> {
    if let Some(interval) = default_flag(phase, "poll-interval") {
        harness.poll_interval = interval;
    }
    harness
        .procedure_phase(phase)
        .env_remove(env_vars::PEERING_RETRY_INTERVAL)
}

/// Runs one phase measured; `awaited` is what its last Aiven read waited for.
async fn measure_phase(
    harness: &mut Harness,
    phase: peering::Phase,
    awaited: Awaited,
    model: &FloorModel,
) -> Result<PhaseRun> {
    let before = harness.sim.requests().len();
    let start = harness.sim.uptime();
    let (run, measured) = paced(harness, phase).run_measured().await;
    if run.code != 0 {
        bail!(
            "{phase} failed with exit code {}:\n{}",
            run.code,
            run.stderr
        );
    }
    let records = harness.sim.requests();
    Ok(PhaseRun {
        wall: measured.wall,
        requests: RequestCounts::of(&records[before..]),
        floor: floor(&records, before..records.len(), start, awaited, model),
        sequential_rounds: sequential_rounds(&records[before..], model),
        refused: refused(&records[before..]),
        longest_pause: longest_pause(&records[before..], start, model),
        peak_rss_kib: measured.peak_rss_kib,
    })
}

fn awaited_by(phase: peering::Phase) -> Awaited {
    match phase {
        peering::Phase::RequestPeering => Awaited::PendingPeer,
        peering::Phase::AwaitActive => Awaited::Active,
        _ => Awaited::Nothing,
    }
}

pub fn floor_model(config: &SimConfig, harness: &Harness) -> FloorModel {
    FloorModel {
        delays: config.delays.clone(),
        latency: config.faults.latency,
        token_latency: token_latency(config),
        admin_app_id: harness.ready().admin_client_id.clone(),
        aiven_tenant_id: harness.ready().aiven_tenant_id.clone(),
    }
}

/// The four phases in order (first runs), then each again.
pub async fn measure_procedure(
    config: &SimConfig,
    binaries: &Path,
) -> Result<ProcedureMeasurement> {
    let mut harness = Harness::start_with(config.clone()).await;
    harness.use_binaries_from(binaries.to_path_buf());
    let model = floor_model(config, &harness);
    let started = Instant::now();
    let start_uptime = harness.sim.uptime();
    let first_record = harness.sim.requests().len();
    let mut first_runs = Vec::new();
    for phase in peering::Phase::procedure() {
        let run = measure_phase(&mut harness, phase, awaited_by(phase), &model).await?;
        first_runs.push((phase, run));
    }
    let wall = started.elapsed();
    let records: Vec<RequestRecord> = harness.sim.requests();
    let last_record = records.len();
    let critical_path = floor(
        &records,
        first_record..last_record,
        start_uptime,
        Awaited::Active,
        &model,
    );
    let requests = RequestCounts::of(&records[first_record..last_record]);
    let mut phases = Vec::new();
    for (phase, first) in first_runs {
        let rerun = measure_phase(&mut harness, phase, Awaited::Nothing, &model).await?;
        phases.push(PhaseMeasurement {
            phase,
            first,
            rerun,
        });
    }
    Ok(ProcedureMeasurement {
        phases,
        wall,
        requests,
        critical_path,
    })
}

/// await-active at its default cadence with time compressed by `compression` (its default
/// `--poll-interval` and every delay divided by it): first against Aiven taking longer than
/// the 15-minute `--timeout` (the polls of a whole 15-minute wait), then against Aiven turning
/// ACTIVE midway (how long after the switch it exits).
pub async fn measure_await_active(config: &SimConfig, binaries: &Path) -> Result<AwaitMeasurement> {
    let simulated_wait = Duration::from_secs(15 * 60);
    let default_poll_interval = default_duration(peering::Phase::AwaitActive, "poll-interval")
        .context("await-active has a default --poll-interval")?;
    // The phase refuses intervals under 100 ms.
    let compression = 60u32.min((default_poll_interval.as_millis() / 100).max(1) as u32);
    let poll_interval = default_poll_interval / compression;

    // Every time is compressed, the request latency too, so polls keep their real spacing.
    let mut config = config.clone();
    config.faults.latency /= compression;
    let config = &config;
    let never = Duration::from_secs(24 * 3600);
    let waited = await_active_run(
        config,
        binaries,
        never,
        poll_interval,
        simulated_wait / compression,
    )
    .await?;
    if waited.code != 3 {
        bail!(
            "await-active should time out (exit 3) when Aiven takes longer than --timeout, got {}:\n{}",
            waited.code,
            waited.stderr
        );
    }
    let midway = simulated_wait / compression / 2;
    let noticed = await_active_run(
        config,
        binaries,
        midway,
        poll_interval,
        simulated_wait / compression,
    )
    .await?;
    if noticed.code != 0 {
        bail!("await-active failed:\n{}", noticed.stderr);
    }
    Ok(AwaitMeasurement {
        compression,
        default_poll_interval,
        poll_interval,
        simulated_wait,
        polls: waited.polls,
        noticed_after_switch: noticed.exited_after_switch.unwrap_or(Duration::MAX),
        latency: config.faults.latency,
    })
}

/// One await-active run after prepare, request and accept (at the test pace), with Aiven
/// turning ACTIVE `active_delay` after it sees the user side.
struct AwaitRun {
    code: i32,
    stderr: String,
    polls: usize,
    exited_after_switch: Option<Duration>,
}

async fn await_active_run(
    config: &SimConfig,
    binaries: &Path,
    active_delay: Duration,
    poll_interval: Duration,
    timeout: Duration,
) -> Result<AwaitRun> {
    let mut config = config.clone();
    config.delays.aiven_active_delay = active_delay;
    let mut harness = Harness::start_with(config).await;
    harness.use_binaries_from(binaries.to_path_buf());
    for phase in [
        peering::Phase::PrepareTenant,
        peering::Phase::RequestPeering,
        peering::Phase::AcceptPeering,
    ] {
        harness.procedure_phase(phase).run().await.assert_success();
    }
    harness.poll_interval = humantime::format_duration(poll_interval).to_string();
    let before = harness.sim.requests().len();
    let (run, _) = harness
        .procedure_phase(peering::Phase::AwaitActive)
        .args([
            "--timeout".to_string(),
            humantime::format_duration(timeout).to_string(),
        ])
        .run_measured()
        .await;
    let exited = Instant::now();
    let polls = harness.sim.requests().len() - before;
    let switched = harness.sim.with_world(|world| {
        world
            .aiven_projects
            .iter()
            .flat_map(|project| project.vpcs.iter())
            .flat_map(|vpc| vpc.peering_connections.iter())
            .find(|connection| connection.state == "ACTIVE")
            .map(|connection| connection.state_since)
    });
    Ok(AwaitRun {
        code: run.code,
        stderr: run.stderr,
        polls,
        exited_after_switch: switched.map(|switched| exited.saturating_duration_since(switched)),
    })
}
