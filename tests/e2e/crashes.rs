//! Interrupting a phase after each of its writes, then re-running it, converges to the same
//! final state without duplicates.

use crate::procedure::assert_final_state;
use cloud_sim::{FailMode, Faults};
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
    let harness = Harness::start().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn every_write_of_every_phase_can_fail_and_a_rerun_converges() {
    let counts = writes_per_phase().await;
    assert!(
        counts[0] >= 7,
        "prepare-tenant writes app, two SPs, two roles, two assignments: {counts:?}"
    );
    let phases = ["prepare-tenant", "request-peering", "accept-peering"];
    for (index, phase) in phases.iter().enumerate() {
        for number in 1..=counts[index] as u64 {
            for mode in [FailMode::Before, FailMode::After] {
                let harness = Harness::start().await;
                // Run the phases before this one cleanly.
                for earlier in &phases[..index] {
                    run_phase(&harness, earlier).await.assert_success();
                }
                harness.sim.set_faults(fail_write(number, mode));
                let interrupted = run_phase(&harness, phase).await;
                harness.sim.set_faults(Faults::default());
                assert!(
                    interrupted.code == 0 || interrupted.code == 1 || interrupted.code == 3,
                    "{phase} write {number} {mode:?}: exit {}\n{}",
                    interrupted.code,
                    interrupted.stderr
                );
                for rest in &phases[index..] {
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
}

async fn run_phase(harness: &Harness, phase: &str) -> tests::Run {
    match phase {
        "prepare-tenant" => harness.prepare_tenant().run().await,
        "request-peering" => harness.request_peering().run().await,
        "accept-peering" => harness.accept_peering().run().await,
        _ => harness.await_active().run().await,
    }
}
