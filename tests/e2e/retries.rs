//! Which failures are waited out and which are not: busy VNets, writes whose answer was lost at
//! a gateway, a wrong stored secret, and Aiven checking the grant before Azure applied it.

use crate::procedure::Mode;
use api_core::env_vars;
use cloud_sim::{FailMode, Faults, SimConfig};
use std::time::Duration;
use tests::Harness;

// Regression: the peering PUT failed at once on a VNet that someone else was updating
// (ReferencedResourceNotProvisioned) or on another running operation.
#[tokio::test(flavor = "multi_thread")]
async fn peering_writes_on_a_busy_vnet_are_retried() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    harness.request_peering().run().await.assert_success();
    harness.sim.set_faults(Faults {
        peering_write_conflicts: 2,
        ..Faults::default()
    });
    harness.accept_peering().run().await.assert_success();
    let conflicts = harness
        .sim
        .requests()
        .iter()
        .filter(|record| record.fault.as_deref() == Some("peering-conflict"))
        .count();
    assert_eq!(conflicts, 2, "both conflicts were met");
    harness.await_active().run().await.assert_success();
    crate::procedure::assert_final_state(&harness);
}

// Regression: a POST answered 504 by a gateway was sent again, though the service had acted:
// addPassword minted a second password and the first stayed on the app.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_whose_answer_timed_out_at_a_gateway_is_not_minted_twice() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    harness.request_peering().run().await.assert_success();
    // accept-peering's first write is addPassword.
    harness.sim.set_faults(Faults {
        fail_nth_write: Some(1),
        fail_mode: FailMode::GatewayTimeout,
        ..Faults::default()
    });
    let writes = harness.write_count();
    harness.accept_peering().run().await.assert_success();
    let faulted = harness
        .sim
        .requests()
        .iter()
        .any(|record| record.fault.as_deref() == Some("fail-write-gateway-timeout"));
    assert!(faulted, "the gateway timeout fired");
    let mints = harness
        .writes_since(writes)
        .iter()
        .filter(|write| write.contains("/addPassword"))
        .count();
    assert!(mints <= 2, "at most one more mint, after a look: {mints}");
    harness.await_active().run().await.assert_success();
    crate::procedure::assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

// Regression: a wrong stored secret was taken for a fresh one still replicating and retried
// until the phase's timeout (exit 3, twenty minutes by default).
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_stored_secret_fails_with_exit_1() {
    let harness = Harness::start().await;
    Mode::Stored.prepare(&harness).run().await.assert_success();
    harness.request_peering().run().await.assert_success();
    // With the admin identity at hand the first look passes; the app's own sign-in does not.
    let run = harness
        .accept_peering()
        .args(["--credential", "stored", "--timeout", "8s"])
        .env(env_vars::PEERING_USER_APP_SECRET, "not-the-stored-secret")
        .run()
        .await;
    run.assert_code(1);
    assert!(run.stderr.contains("AADSTS7000215"), "{}", run.stderr);
    assert!(
        run.stderr.contains(env_vars::PEERING_USER_APP_SECRET),
        "{}",
        run.stderr
    );
}

// Regression: Aiven checked the grant before Azure applied the role assignment and said
// INVALID_SPECIFICATION in words that name no action; the connection was re-created only when
// the words contained "peer/action".
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_checked_before_the_grant_applied_is_recreated_whatever_aiven_says() {
    let mut config = SimConfig::fast().busy();
    config.delays.role_propagation = Duration::from_secs(2);
    config.delays.aiven_pending_peer_delay = Duration::from_millis(100);
    let harness = Harness::start_with(config).await;
    harness.prepare_tenant().run().await.assert_success();
    let run = harness.request_peering().run().await;
    run.assert_success();
    assert!(
        run.stderr.contains("INVALID_SPECIFICATION"),
        "{}",
        run.stderr
    );
    assert_eq!(run.output("peering_state"), "PENDING_PEER");
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    crate::procedure::assert_final_state(&harness);
}
