//! `target/bench/report.json` and the printed table: every figure of the bench, the ratios to
//! the seed replay, and each target with whether it is met and, if not, why.

use super::baseline::BaselineMeasurement;
use super::floor::Floor;
use super::procedure::{AwaitMeasurement, PhaseRun, ProcedureMeasurement};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;
use tests::seed_replay::RequestCounts;

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| (numerator / denominator * 100.0).round() / 100.0)
}

#[derive(Debug, Clone, Serialize)]
pub struct Requests {
    pub reads: usize,
    pub writes: usize,
    pub tokens: usize,
    pub total: usize,
}

impl From<RequestCounts> for Requests {
    fn from(counts: RequestCounts) -> Requests {
        Requests {
            reads: counts.reads,
            writes: counts.writes,
            tokens: counts.tokens,
            total: counts.total(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FloorReport {
    pub floor_ms: f64,
    /// Dependent requests on the longest chain.
    pub chain: usize,
    /// The part of the floor that is the simulator's delays.
    pub waiting_ms: f64,
}

impl From<Floor> for FloorReport {
    fn from(floor: Floor) -> FloorReport {
        FloorReport {
            floor_ms: ms(floor.time),
            chain: floor.chain,
            waiting_ms: ms(floor.waiting),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub wall_ms: f64,
    pub requests: Requests,
    pub floor: FloorReport,
    pub wall_over_floor: Option<f64>,
    /// Rounds of requests made one after another (overlapping requests count once).
    pub sequential_rounds: usize,
    /// Requests answered "not yet" (replication, propagation, throttling) and retried.
    pub refused: usize,
    /// The longest time without a request on the wire (a retry or poll pause).
    pub longest_pause_ms: f64,
    pub peak_rss_kib: u64,
}

impl From<&PhaseRun> for RunReport {
    fn from(run: &PhaseRun) -> RunReport {
        RunReport {
            wall_ms: ms(run.wall),
            requests: run.requests.into(),
            floor: run.floor.into(),
            wall_over_floor: ratio(ms(run.wall), ms(run.floor.time)),
            sequential_rounds: run.sequential_rounds,
            refused: run.refused,
            longest_pause_ms: ms(run.longest_pause),
            peak_rss_kib: run.peak_rss_kib,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub phase: String,
    /// The run with the median first-run wall time.
    pub first_run: RunReport,
    pub rerun: RunReport,
    /// First-run wall times of every run.
    pub first_run_wall_ms_samples: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcedureReport {
    pub wall_ms: f64,
    pub requests: Requests,
    pub process_starts: usize,
    /// The floor of the whole procedure (from the first phase's start to ACTIVE).
    pub critical_path: FloorReport,
    /// Wall time minus the simulator's delays on the critical path.
    pub wall_excluding_cloud_delays_ms: f64,
    pub peak_rss_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AwaitReport {
    pub time_compression: u32,
    pub default_poll_interval_ms: f64,
    pub compressed_poll_interval_ms: f64,
    pub simulated_wait_s: u64,
    pub polls: usize,
    /// From the simulator's switch to ACTIVE until await-active exited (compressed time).
    pub noticed_after_switch_ms: f64,
    /// One (compressed) poll interval plus one request's (compressed) latency.
    pub noticed_target_ms: f64,
    /// The two above at real time (× the compression).
    pub noticed_after_switch_real_ms: f64,
    pub noticed_target_real_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StartupReport {
    pub version_median_ms: f64,
    pub samples: usize,
    pub version_peak_rss_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FootprintReport {
    /// The shipped executable (every phase name is a link to it).
    pub executable_bytes: u64,
    /// The newest archive in dist/ (`cargo xtask dist`); null when none was built.
    pub archive: Option<String>,
    pub archive_bytes: Option<u64>,
    /// Seconds of `cargo build --release` from an empty target directory (`--cold-build`).
    pub cold_release_build_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineCommand {
    pub step: String,
    pub command: String,
    pub wall_ms: f64,
    pub requests: Requests,
    pub peak_rss_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    pub wall_ms: f64,
    pub wall_excluding_cloud_delays_ms: f64,
    pub critical_path: FloorReport,
    pub process_starts: usize,
    pub requests: Requests,
    pub install_bytes: u64,
    pub peak_rss_kib: u64,
    pub az_version_median_ms: f64,
    pub avn_version_median_ms: f64,
    pub commands: Vec<BaselineCommand>,
}

/// Ours ÷ theirs.
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub wall: Option<f64>,
    pub wall_excluding_cloud_delays: Option<f64>,
    pub requests: Option<f64>,
    pub process_starts: Option<f64>,
    pub install_size: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub target: String,
    pub value: String,
    pub met: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub latency_ms: f64,
    pub profile: String,
    pub delays: cloud_sim::Delays,
    pub runs: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub rustc: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub machine: Machine,
    pub settings: Settings,
    pub phases: Vec<PhaseReport>,
    pub procedure: ProcedureReport,
    pub await_active: AwaitReport,
    pub startup: StartupReport,
    pub footprint: FootprintReport,
    pub baseline: Option<BaselineReport>,
    pub ratios: Option<Ratios>,
    pub targets: Vec<Target>,
}

/// The phase reports, each from the run with its median first-run wall time.
pub fn phase_reports(runs: &[ProcedureMeasurement]) -> Vec<PhaseReport> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    (0..first.phases.len())
        .map(|index| {
            let mut samples: Vec<&super::procedure::PhaseMeasurement> =
                runs.iter().map(|run| &run.phases[index]).collect();
            let walls = samples.iter().map(|sample| ms(sample.first.wall)).collect();
            samples.sort_by_key(|sample| sample.first.wall);
            let median = samples[samples.len() / 2];
            PhaseReport {
                phase: median.phase.name().to_string(),
                first_run: (&median.first).into(),
                rerun: (&median.rerun).into(),
                first_run_wall_ms_samples: walls,
            }
        })
        .collect()
}

/// The procedure report of the run with the median wall time.
pub fn procedure_report(runs: &[ProcedureMeasurement]) -> Option<ProcedureReport> {
    let mut sorted: Vec<&ProcedureMeasurement> = runs.iter().collect();
    sorted.sort_by_key(|run| run.wall);
    let median = sorted.get(sorted.len() / 2)?;
    Some(ProcedureReport {
        wall_ms: ms(median.wall),
        requests: median.requests.into(),
        process_starts: median.phases.len(),
        critical_path: median.critical_path.into(),
        wall_excluding_cloud_delays_ms: ms(median
            .wall
            .saturating_sub(median.critical_path.waiting)),
        peak_rss_kib: median
            .phases
            .iter()
            .map(|phase| phase.first.peak_rss_kib)
            .max()
            .unwrap_or(0),
    })
}

pub fn await_report(measurement: &AwaitMeasurement) -> AwaitReport {
    AwaitReport {
        time_compression: measurement.compression,
        default_poll_interval_ms: ms(measurement.default_poll_interval),
        compressed_poll_interval_ms: ms(measurement.poll_interval),
        simulated_wait_s: measurement.simulated_wait.as_secs(),
        polls: measurement.polls,
        noticed_after_switch_ms: ms(measurement.noticed_after_switch),
        noticed_target_ms: ms(measurement.poll_interval + measurement.latency),
        noticed_after_switch_real_ms: ms(measurement
            .noticed_after_switch
            .saturating_mul(measurement.compression)),
        noticed_target_real_ms: ms(
            (measurement.poll_interval + measurement.latency) * measurement.compression
        ),
    }
}

pub fn baseline_report(baseline: &BaselineMeasurement) -> BaselineReport {
    BaselineReport {
        wall_ms: ms(baseline.wall),
        wall_excluding_cloud_delays_ms: ms(baseline
            .wall
            .saturating_sub(baseline.critical_path.waiting)),
        critical_path: baseline.critical_path.into(),
        process_starts: baseline.process_starts,
        requests: baseline.requests.into(),
        install_bytes: baseline.install_bytes,
        peak_rss_kib: baseline.peak_rss_kib,
        az_version_median_ms: ms(baseline.az_version),
        avn_version_median_ms: ms(baseline.avn_version),
        commands: baseline
            .commands
            .iter()
            .map(|command| BaselineCommand {
                step: command.step.to_string(),
                command: command.shown.clone(),
                wall_ms: ms(command.wall),
                requests: command.requests.into(),
                peak_rss_kib: command.peak_rss_kib,
            })
            .collect(),
    }
}

pub fn ratios(
    ours: &ProcedureReport,
    footprint: &FootprintReport,
    theirs: &BaselineReport,
) -> Ratios {
    Ratios {
        wall: ratio(ours.wall_ms, theirs.wall_ms),
        wall_excluding_cloud_delays: ratio(
            ours.wall_excluding_cloud_delays_ms,
            theirs.wall_excluding_cloud_delays_ms,
        ),
        requests: ratio(ours.requests.total as f64, theirs.requests.total as f64),
        process_starts: ratio(ours.process_starts as f64, theirs.process_starts as f64),
        install_size: ratio(
            footprint.executable_bytes as f64,
            theirs.install_bytes as f64,
        ),
    }
}

fn target(name: &str, value: String, met: bool, reason: impl FnOnce() -> String) -> Target {
    Target {
        target: name.to_string(),
        value,
        met,
        reason: (!met).then(reason),
    }
}

/// The targets for this design, each met or not with the reason.
pub fn targets(report: &Report) -> Vec<Target> {
    let mut targets = Vec::new();
    for phase in &report.phases {
        let run = &phase.first_run;
        let over = run.wall_over_floor.unwrap_or(f64::INFINITY);
        targets.push(target(
            &format!("{}: wall ÷ floor ≤ 1.2", phase.phase),
            format!("{over:.2}"),
            over <= 1.2,
            || {
                format!(
                    "{:.0} ms against a floor of {:.0} ms ({} dependent requests, {:.0} ms of simulator delays); it made {} requests in {} sequential rounds, {} refused as not yet, and paused up to {:.0} ms between requests",
                    run.wall_ms,
                    run.floor.floor_ms,
                    run.floor.chain,
                    run.floor.waiting_ms,
                    run.requests.total,
                    run.sequential_rounds,
                    run.refused,
                    run.longest_pause_ms
                )
            },
        ));
    }
    for phase in &report.phases {
        let rerun = &phase.rerun;
        let met = rerun.requests.writes == 0 && rerun.requests.total <= 6;
        targets.push(target(
            &format!("{}: a re-run makes 0 writes and ≤ 6 requests", phase.phase),
            format!(
                "{} writes, {} requests",
                rerun.requests.writes, rerun.requests.total
            ),
            met,
            || {
                format!(
                    "{} reads, {} writes, {} token requests on a completed phase",
                    rerun.requests.reads, rerun.requests.writes, rerun.requests.tokens
                )
            },
        ));
    }
    let waiting = &report.await_active;
    targets.push(target(
        "await-active notices ACTIVE within one poll interval + 1 request",
        format!(
            "{:.1} s (limit {:.1} s; measured {}× compressed)",
            waiting.noticed_after_switch_real_ms / 1000.0,
            waiting.noticed_target_real_ms / 1000.0,
            waiting.time_compression
        ),
        waiting.noticed_after_switch_ms <= waiting.noticed_target_ms,
        || "the exit came later than the next poll after the switch".to_string(),
    ));
    targets.push(target(
        "await-active makes ≤ 60 polls per 15 minutes",
        format!("{} polls", waiting.polls),
        waiting.polls <= 60,
        || {
            format!(
                "a steady {:.0} s cadence polls at 0 s and every interval up to 15 min: {} polls",
                waiting.default_poll_interval_ms / 1000.0,
                waiting.polls
            )
        },
    ));
    let startup = &report.startup;
    targets.push(target(
        "--version < 5 ms",
        format!("{:.2} ms", startup.version_median_ms),
        startup.version_median_ms < 5.0,
        || "median of the process start-up".to_string(),
    ));
    let peak = report
        .phases
        .iter()
        .map(|phase| phase.first_run.peak_rss_kib)
        .max()
        .unwrap_or(0);
    targets.push(target(
        "peak RSS < 30 MB",
        format!("{:.1} MB", peak as f64 / 1024.0),
        peak < 30 * 1024,
        || "the largest phase's peak resident set".to_string(),
    ));
    if let (Some(baseline), Some(ratios)) = (&report.baseline, &report.ratios) {
        let speed_up = ratio(
            baseline.wall_excluding_cloud_delays_ms,
            report.procedure.wall_excluding_cloud_delays_ms,
        )
        .unwrap_or(0.0);
        targets.push(target(
            "the procedure ≥ 20× faster than the seed replay, excluding cloud delays",
            format!("{speed_up:.1}×"),
            speed_up >= 20.0,
            || {
                format!(
                    "{:.0} ms against the replay's {:.0} ms (simulator delays on each critical path taken out)",
                    report.procedure.wall_excluding_cloud_delays_ms,
                    baseline.wall_excluding_cloud_delays_ms
                )
            },
        ));
        let share = ratios.requests.unwrap_or(f64::INFINITY);
        targets.push(target(
            "< ½ the seed replay's requests",
            format!(
                "{} vs {} ({share:.2})",
                report.procedure.requests.total, baseline.requests.total
            ),
            share < 0.5,
            || {
                format!(
                    "ours: {} reads, {} writes, {} token requests; the replay's: {} reads, {} writes, {} token requests",
                    report.procedure.requests.reads,
                    report.procedure.requests.writes,
                    report.procedure.requests.tokens,
                    baseline.requests.reads,
                    baseline.requests.writes,
                    baseline.requests.tokens
                )
            },
        ));
    }
    targets
}

/// The table printed at the end of `cargo xtask bench` (and pasted into README.md).
pub fn table(report: &Report) -> String {
    let mut text = String::new();
    let settings = &report.settings;
    let _ = writeln!(
        text,
        "latency {:.0} ms per request (tokens too), {} delays, {} runs; {} ({} CPUs, {} {})",
        settings.latency_ms,
        settings.profile,
        settings.runs,
        report.machine.cpu_model.as_deref().unwrap_or("unknown CPU"),
        report.machine.cpus,
        report.machine.os,
        report.machine.arch
    );
    let _ = writeln!(
        text,
        "\n| phase | wall | requests (r/w/t) | floor (chain, delays) | wall ÷ floor | rounds | longest pause | peak RSS | re-run: requests (r/w/t), wall |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|---|---|");
    for phase in &report.phases {
        let (first, rerun) = (&phase.first_run, &phase.rerun);
        let _ = writeln!(
            text,
            "| {} | {:.0} ms | {} ({}/{}/{}) | {:.0} ms ({}, {:.0} ms) | {} | {} | {:.0} ms | {:.1} MB | {} ({}/{}/{}), {:.0} ms |",
            phase.phase,
            first.wall_ms,
            first.requests.total,
            first.requests.reads,
            first.requests.writes,
            first.requests.tokens,
            first.floor.floor_ms,
            first.floor.chain,
            first.floor.waiting_ms,
            first
                .wall_over_floor
                .map_or("-".to_string(), |value| format!("{value:.2}")),
            first.sequential_rounds,
            first.longest_pause_ms,
            first.peak_rss_kib as f64 / 1024.0,
            rerun.requests.total,
            rerun.requests.reads,
            rerun.requests.writes,
            rerun.requests.tokens,
            rerun.wall_ms
        );
    }
    let procedure = &report.procedure;
    let waiting = &report.await_active;
    let footprint = &report.footprint;
    let _ = writeln!(
        text,
        "\nawait-active (measured {}× compressed): {} polls over a {} min wait; ACTIVE noticed {:.1} s after the switch (one poll interval + 1 request = {:.1} s)",
        waiting.time_compression,
        waiting.polls,
        waiting.simulated_wait_s / 60,
        waiting.noticed_after_switch_real_ms / 1000.0,
        waiting.noticed_target_real_ms / 1000.0
    );
    let _ = writeln!(
        text,
        "start-up (--version, median of {}): {:.2} ms; executable {:.1} MB; archive {}; cold release build {}",
        report.startup.samples,
        report.startup.version_median_ms,
        footprint.executable_bytes as f64 / 1e6,
        footprint.archive_bytes.map_or(
            "not measured (run cargo xtask dist)".to_string(),
            |bytes| format!("{:.1} MB", bytes as f64 / 1e6)
        ),
        footprint.cold_release_build_s.map_or(
            "not measured (--cold-build)".to_string(),
            |seconds| format!("{seconds:.0} s")
        )
    );
    let _ = writeln!(
        text,
        "\n| whole procedure | wall | excluding cloud delays | requests (r/w/t) | process starts | install size | peak RSS |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        text,
        "| ours | {:.1} s | {:.1} s | {} ({}/{}/{}) | {} | {:.1} MB | {:.1} MB |",
        procedure.wall_ms / 1000.0,
        procedure.wall_excluding_cloud_delays_ms / 1000.0,
        procedure.requests.total,
        procedure.requests.reads,
        procedure.requests.writes,
        procedure.requests.tokens,
        procedure.process_starts,
        footprint.executable_bytes as f64 / 1e6,
        procedure.peak_rss_kib as f64 / 1024.0
    );
    if let (Some(baseline), Some(ratios)) = (&report.baseline, &report.ratios) {
        let _ = writeln!(
            text,
            "| seed replay (az + avn) | {:.1} s | {:.1} s | {} ({}/{}/{}) | {} | {:.0} MB | {:.1} MB |",
            baseline.wall_ms / 1000.0,
            baseline.wall_excluding_cloud_delays_ms / 1000.0,
            baseline.requests.total,
            baseline.requests.reads,
            baseline.requests.writes,
            baseline.requests.tokens,
            baseline.process_starts,
            baseline.install_bytes as f64 / 1e6,
            baseline.peak_rss_kib as f64 / 1024.0
        );
        let show =
            |value: Option<f64>| value.map_or("-".to_string(), |value| format!("{value:.3}"));
        let _ = writeln!(
            text,
            "| ours ÷ theirs | {} | {} | {} | {} | {} | |",
            show(ratios.wall),
            show(ratios.wall_excluding_cloud_delays),
            show(ratios.requests),
            show(ratios.process_starts),
            show(ratios.install_size)
        );
    } else {
        let _ = writeln!(
            text,
            "| seed replay | not run (--skip-baseline) | | | | | |"
        );
    }
    let _ = writeln!(text, "\ntargets:");
    for target in &report.targets {
        let _ = writeln!(
            text,
            "  [{}] {}: {}{}",
            if target.met { "met" } else { "NOT MET" },
            target.target,
            target.value,
            target
                .reason
                .as_ref()
                .map_or(String::new(), |reason| format!(" ({reason})"))
        );
    }
    text
}
