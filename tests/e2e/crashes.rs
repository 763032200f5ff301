//! Interrupting a phase after each of its writes, then re-running it, converges to the same
//! final state without duplicates.

use crate::procedure::assert_final_state;
use cloud_sim::{FailMode, Faults, SimConfig};
use std::time::Duration;
use tests::Harness;

fn fail_write(number: u64, mode: FailMode) -> Faults {
    Faults {
        fail_nth_write: Some(number),
        fail_mode: mode,
        ..Faults::default()
    }
}

/// Counts the writes a clean run of the procedure's phases makes, per phase.
async fn writes_per_phase() -> Vec<usize> {
    let harness = Harness::start_with(quick()).await;
    let mut counts = Vec::new();
    let mut before = 0;
    for phase in ["prepare-tenant", "request-peering", "accept-peering"] {
        let run = match phase {
            "prepare-tenant" => harness.prepare_tenant().run().await,
            "request-peering" => harness.request_peering().run().await,
            _ => harness.accept_peering().run().await,
        };
        run.assert_success();
        let now = harness.write_count();
        counts.push(now - before);
        before = now;
    }
    counts
}

/// The simulator with short delays: these tests run the procedure dozens of times.
fn quick() -> SimConfig {
    let mut config = SimConfig::fast().busy();
    let delays = &mut config.delays;
    for delay in [
        &mut delays.graph_replication_lag,
        &mut delays.role_propagation,
        &mut delays.password_propagation,
        &mut delays.aiven_pending_peer_delay,
        &mut delays.aiven_grant_lag,
        &mut delays.aiven_active_delay,
        &mut delays.aiven_delete_delay,
        &mut delays.lro_duration,
    ] {
        *delay = Duration::from_millis(60);
    }
    config
}

const PHASES: [&str; 3] = ["prepare-tenant", "request-peering", "accept-peering"];

/// Fails each write of one phase in turn, before and after it is applied, and re-runs.
async fn crash_every_write_of(index: usize) {
    let counts = writes_per_phase().await;
    assert!(
        counts[0] >= 7,
        "prepare-tenant writes app, two SPs, two roles, two assignments: {counts:?}"
    );
    let phase = PHASES[index];
    for number in 1..=counts[index] as u64 {
        for mode in [FailMode::Before, FailMode::After] {
            let harness = Harness::start_with(quick()).await;
            for earlier in &PHASES[..index] {
                run_phase(&harness, earlier).await.assert_success();
            }
            harness.sim.set_faults(fail_write(number, mode));
            let interrupted = run_phase(&harness, phase).await;
            harness.sim.set_faults(Faults::default());
            assert!(
                [0, 1, 3].contains(&interrupted.code),
                "{phase} write {number} {mode:?}: exit {}\n{}",
                interrupted.code,
                interrupted.stderr
            );
            for rest in &PHASES[index..] {
                let run = run_phase(&harness, rest).await;
                assert_eq!(
                    run.code, 0,
                    "re-running {rest} after {phase} write {number} failed {mode:?}:\n{}",
                    run.stderr
                );
            }
            harness.await_active().run().await.assert_success();
            assert_final_state(&harness);
            harness.assert_no_secret_leaked();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prepare_tenant_converges_after_any_failed_write() {
    crash_every_write_of(0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_peering_converges_after_any_failed_write() {
    crash_every_write_of(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_peering_converges_after_any_failed_write() {
    crash_every_write_of(2).await;
}

async fn run_phase(harness: &Harness, phase: &str) -> tests::Run {
    match phase {
        "prepare-tenant" => harness.prepare_tenant().run().await,
        "request-peering" => harness.request_peering().run().await,
        "accept-peering" => harness.accept_peering().run().await,
        _ => harness.await_active().run().await,
    }
}
