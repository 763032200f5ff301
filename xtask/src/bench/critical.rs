//! Time to ACTIVE ÷ the critical path of the whole procedure, for `up` and for the four phases
//! back to back, in the realistic profile and in a slow one.
//!
//! The critical path is the floor (`floor.rs`) of every request from the first process start
//! to ACTIVE: the longest chain of dependent requests × latency plus the simulator's configured
//! delays that chain must wait for (replication, principal lag, propagation, Aiven's
//! PENDING_PEER, grant and ACTIVE, the ARM operation's `Retry-After`).
//!
//! The slow profile has minutes-long delays (the realistic ones × [`SLOW_FACTOR`]: role
//! propagation 100 s, PENDING_PEER 60 s…). The simulator's clock cannot be scaled, so the
//! bench scales time itself: every delay, the latency and the phases' intervals are divided by
//! [`COMPRESSION`] (the default 1 s intervals become 100 ms, the shortest the phases accept).
//! Ratios are unchanged by the compression but for process start-up, which does not shrink.

use super::floor::{Awaited, Floor, floor};
use super::procedure::{aiven_assignments, aiven_principal_created_ms, floor_model};
use anyhow::{Result, bail};
use api_core::env_vars;
use cloud_sim::{Delays, SimConfig};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};
use tests::Harness;

/// The slow profile's delays are the realistic ones times this.
pub const SLOW_FACTOR: u32 = 20;
/// How much the bench compresses the slow profile's time.
pub const COMPRESSION: u32 = 10;

/// A profile to measure the critical path under.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    pub config: SimConfig,
    /// The phases' intervals: `None` for their defaults, else both `--retry-interval` and
    /// `--poll-interval` (compressed defaults).
    pub interval: Option<&'static str>,
    pub compression: u32,
}

/// The realistic profile (1–5 s delays) and the slow one (minutes, compressed).
pub fn profiles(base: &SimConfig) -> Vec<Profile> {
    let mut realistic = base.clone();
    realistic.delays = Delays {
        spread_percent: 0,
        ..Delays::realistic()
    };
    let mut slow = base.clone();
    slow.delays = scaled(&Delays::realistic(), SLOW_FACTOR, COMPRESSION);
    slow.faults.latency /= COMPRESSION;
    vec![
        Profile {
            name: "realistic",
            config: realistic,
            interval: None,
            compression: 1,
        },
        Profile {
            name: "slow",
            config: slow,
            interval: Some("100ms"),
            compression: COMPRESSION,
        },
    ]
}

/// Every delay × `factor` ÷ `compression` (token lifetimes stay), with no spread.
fn scaled(delays: &Delays, factor: u32, compression: u32) -> Delays {
    let scale = |delay: Duration| delay * factor / compression;
    Delays {
        graph_replication_lag: scale(delays.graph_replication_lag),
        role_propagation: scale(delays.role_propagation),
        password_propagation: scale(delays.password_propagation),
        aiven_pending_peer_delay: scale(delays.aiven_pending_peer_delay),
        aiven_grant_lag: scale(delays.aiven_grant_lag),
        aiven_active_delay: scale(delays.aiven_active_delay),
        aiven_delete_delay: scale(delays.aiven_delete_delay),
        lro_duration: scale(delays.lro_duration),
        role_definition_replication: scale(delays.role_definition_replication),
        assignment_principal_lag: scale(delays.assignment_principal_lag),
        spread_percent: 0,
        ..delays.clone()
    }
}

/// One procedure run against its critical path.
#[derive(Debug, Clone, Serialize)]
pub struct CriticalPathRun {
    pub profile: String,
    /// `up` or `four phases`.
    pub how: String,
    /// From the first process start to the exit of the one that saw ACTIVE (compressed).
    pub to_active_ms: u64,
    pub critical_path_ms: u64,
    /// Requests on the critical path.
    pub chain: usize,
    /// The clouds' delays on it.
    pub delays_ms: u64,
    pub ratio: f64,
    pub compression: u32,
}

async fn measure(profile: &Profile, binaries: &Path, one_process: bool) -> Result<CriticalPathRun> {
    let mut harness = Harness::start_with(profile.config.clone()).await;
    harness.use_binaries_from(binaries.to_path_buf());
    harness.poll_interval = profile.interval.unwrap_or("1s").to_string();
    let model = floor_model(&profile.config, &harness);
    let first = harness.sim.requests().len();
    let start = harness.sim.uptime();
    let started = Instant::now();
    let phases: Vec<peering::Phase> = if one_process {
        vec![peering::Phase::Up]
    } else {
        peering::Phase::procedure().collect()
    };
    for phase in phases {
        let command = harness.procedure_phase(phase);
        let command = match profile.interval {
            None => command.env_remove(env_vars::PEERING_RETRY_INTERVAL),
            Some(interval) => command.env(env_vars::PEERING_RETRY_INTERVAL, interval),
        };
        let run = command.run().await;
        if run.code != 0 {
            bail!(
                "{phase} failed with exit code {}:\n{}",
                run.code,
                run.stderr
            );
        }
    }
    let to_active = started.elapsed();
    let model = super::floor::FloorModel {
        aiven_assignments: aiven_assignments(&harness),
        aiven_principal_created_ms: aiven_principal_created_ms(&harness),
        ..model
    };
    let records = harness.sim.requests();
    let critical: Floor = floor(
        &records,
        first..records.len(),
        start,
        Awaited::Active,
        &model,
    );
    Ok(CriticalPathRun {
        profile: profile.name.to_string(),
        how: if one_process { "up" } else { "four phases" }.to_string(),
        to_active_ms: to_active.as_millis() as u64,
        critical_path_ms: critical.time.as_millis() as u64,
        chain: critical.chain,
        delays_ms: critical.waiting.as_millis() as u64,
        ratio: (to_active.as_secs_f64() / critical.time.as_secs_f64().max(0.001) * 100.0).round()
            / 100.0,
        compression: profile.compression,
    })
}

/// `up` and the four phases in each profile, `runs` times each (the median ratio is kept).
pub async fn measure_all(
    base: &SimConfig,
    binaries: &Path,
    runs: usize,
) -> Result<Vec<CriticalPathRun>> {
    let mut kept = Vec::new();
    for profile in profiles(base) {
        for one_process in [true, false] {
            let mut measured = Vec::new();
            for round in 1..=runs.max(1) {
                eprintln!(
                    "critical path: {} profile, {}, run {round}",
                    profile.name,
                    if one_process { "up" } else { "four phases" }
                );
                measured.push(measure(&profile, binaries, one_process).await?);
            }
            measured.sort_by(|first, second| first.ratio.total_cmp(&second.ratio));
            kept.push(measured[measured.len() / 2].clone());
        }
    }
    Ok(kept)
}

/// The Markdown table of the runs, with the targets.
pub fn table(runs: &[CriticalPathRun]) -> String {
    let mut text = String::from(
        "| profile | how | time to ACTIVE | critical path (chain, delays) | ratio | target |\n|---|---|---|---|---|---|\n",
    );
    for run in runs {
        let target = if run.how == "up" { 1.1 } else { 1.25 };
        let scale = if run.compression > 1 {
            format!(" (×{} compressed)", run.compression)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "| {}{scale} | {} | {:.1} s | {:.1} s ({}, {:.1} s) | {:.2} | ≤ {target} {} |\n",
            run.profile,
            run.how,
            run.to_active_ms as f64 / 1000.0,
            run.critical_path_ms as f64 / 1000.0,
            run.chain,
            run.delays_ms as f64 / 1000.0,
            run.ratio,
            if run.ratio <= target {
                "met"
            } else {
                "not met"
            }
        ));
    }
    text
}
