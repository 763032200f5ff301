//! Which failures are waited out and which are not: busy VNets, writes whose answer was lost at
//! a gateway, the first look of an app that is not allowed in yet, a wrong stored secret, and
//! Aiven checking the grant before Azure applied it.

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

/// The Aiven VNet id and tenant, for runs of accept-peering that skip request-peering's state.
fn stored_mode_inputs(harness: &Harness) -> Vec<String> {
    let aiven_vnet = harness
        .sim
        .with_world(|world| world.fixtures.aiven_virtual_network_id.clone());
    vec![
        "--credential".into(),
        "stored".into(),
        "--aiven-tenant-id".into(),
        harness.ready().aiven_tenant_id.clone(),
        "--aiven-vnet-id".into(),
        aiven_vnet,
    ]
}

/// Runs prepare-tenant in stored mode and request-peering; returns the stored password.
async fn prepared_with_a_stored_secret(harness: &Harness) -> String {
    let ready = harness.ready().clone();
    harness
        .prepare_tenant()
        .args(["--store-secret-in", &ready.github_repository])
        .env(env_vars::GITHUB_TOKEN, ready.github_token.clone())
        .run()
        .await
        .assert_success();
    harness.request_peering().run().await.assert_success();
    harness
        .sim
        .github_secret(
            &ready.github_repository,
            None,
            env_vars::AIVEN_PEERING_APP_SECRET,
        )
        .expect("the stored secret")
}

// Regression: in stored and federated modes the first look (the app reading its VNet's
// peerings) failed at once while the app's role assignment was still propagating.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_look_waits_for_the_apps_role_to_apply() {
    let harness = Harness::start().await;
    let secret = prepared_with_a_stored_secret(&harness).await;
    let user_sp = harness.seeded().state()["user_sp_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Azure takes its time to apply the app's role on the VNet.
    harness.sim.with_world(|world| {
        for assignment in &mut world.role_assignments {
            if assignment.principal_id == user_sp {
                assignment.effective_at = std::time::Instant::now() + Duration::from_secs(2);
            }
        }
    });
    let mut accept = harness.accept_peering().args(stored_mode_inputs(&harness));
    for variable in [
        env_vars::AZURE_CLIENT_ID,
        env_vars::AZURE_CLIENT_SECRET,
        env_vars::AZURE_TENANT_ID,
    ] {
        accept = accept.env_remove(variable);
    }
    let run = accept
        .env(env_vars::PEERING_USER_APP_SECRET, secret)
        .run()
        .await;
    run.assert_success();
    assert!(run.stderr.contains("AuthorizationFailed"), "{}", run.stderr);
    harness.await_active().run().await.assert_success();
}

// Regression: a wrong stored secret was taken for a fresh one still replicating and retried
// until the phase's timeout (exit 3, twenty minutes by default).
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_stored_secret_fails_with_exit_1() {
    let harness = Harness::start().await;
    prepared_with_a_stored_secret(&harness).await;
    let run = harness
        .accept_peering()
        .args(stored_mode_inputs(&harness))
        .args(["--timeout", "8s"])
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
