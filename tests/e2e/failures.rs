//! The failure modes users meet, each with a clear message and the right exit code, and the
//! slow or unreliable behaviours of the real services that the phases must ride out.

use crate::procedure::{Mode, assert_final_state};
use api_core::env_vars;
use cloud_sim::{Faults, PasswordCredential, SimConfig};
use std::time::{Duration, SystemTime};
use tests::{Harness, Run};

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_that_may_not_read_its_roles_is_warned_and_the_write_decides() {
    let harness = Harness::start().await;
    // No directory role and no Graph permission: the preflight's reads are refused (403), so
    // it cannot know; it warns and lets the write answer, which Graph refuses too.
    crate::preflight::admin_rights(&harness, &[], &[]);
    let writes_before = harness.write_count();
    let run = harness.prepare_tenant().run().await;
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "cannot check whether the admin identity may create the service principal of Aiven's app"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error[AZP-GRAPH-APP-ADMIN-REQUIRED]"),
        "{}",
        run.stderr
    );
    let writes = harness.writes_since(writes_before);
    assert!(
        writes
            .iter()
            .any(|write| write.contains("POST /v1.0/servicePrincipals -> 403")),
        "the run went on to the write: {writes:?}"
    );
    // Given the role, the same run goes through.
    crate::preflight::admin_rights(&harness, &[cloud_sim::APPLICATION_ADMINISTRATOR], &[]);
    harness.prepare_tenant().run().await.assert_success();
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_specification_is_explained_and_recreate_fixes_it() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.state_file()).unwrap()).unwrap();
    let aiven_sp = state["aiven_sp_id"].as_str().unwrap().to_string();
    // Someone removed the Aiven app's grant on the VNet.
    harness.sim.with_world(|world| {
        world
            .role_assignments
            .retain(|assignment| assignment.principal_id != aiven_sp)
    });
    // A short grace: the grant was removed for good, not merely slow to propagate. Without
    // the admin identity request-peering cannot check the grant first, so Aiven's own answer
    // is what it meets.
    let run = crate::procedure::without_admin(harness.request_peering())
        .args(["--grant-grace", "300ms"])
        .run()
        .await;
    run.assert_code(1);
    assert!(
        run.stderr.contains("INVALID_SPECIFICATION"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--recreate"), "{}", run.stderr);
    // Re-running without --recreate refuses to touch the failed connection.
    crate::procedure::without_admin(harness.request_peering())
        .args(["--grant-grace", "300ms"])
        .run()
        .await
        .assert_code(1);
    harness.prepare_tenant().run().await.assert_success();
    harness
        .request_peering()
        .arg("--recreate")
        .run()
        .await
        .assert_success();
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

/// Aiven checks its `peer/action` grant before Azure applies the role assignment that
/// prepare-tenant made moments ago: the first connection fails, and request-peering
/// re-creates it (within its grant grace); the second is checked after the grant applies.
#[tokio::test(flavor = "multi_thread")]
async fn aivens_grant_check_before_role_propagation_is_ridden_out_by_recreating() {
    let mut config = SimConfig::fast();
    config.delays.spread_percent = 0;
    config.delays.role_propagation = Duration::from_millis(800);
    config.delays.aiven_pending_peer_delay = Duration::from_millis(50);
    // Deleting the first connection outlasts the propagation, so one re-creation suffices.
    config.delays.aiven_delete_delay = Duration::from_millis(1500);
    let harness = Harness::start_with(config).await;
    harness.prepare_tenant().run().await.assert_success();
    let before = harness.sim.requests().len();
    let run = harness.request_peering().run().await;
    run.assert_success();
    assert_eq!(run.output("peering_state"), "PENDING_PEER");
    let aiven_writes: Vec<String> = harness.sim.requests()[before..]
        .iter()
        .filter(|record| record.service == "aiven" && record.write)
        .map(|record| record.method.clone())
        .collect();
    assert!(
        aiven_writes
            .iter()
            .filter(|method| *method == "DELETE")
            .count()
            >= 1
            && aiven_writes
                .iter()
                .filter(|method| *method == "POST")
                .count()
                >= 2,
        "the connection was re-created after Aiven's early check: {aiven_writes:?}"
    );
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

/// The statuses `service` answered to writes on routes ending in `route_end`, in order.
fn write_statuses(harness: &Harness, service: &str, route_end: &str) -> Vec<u16> {
    harness
        .sim
        .requests()
        .into_iter()
        .filter(|record| {
            record.service == service && record.write && record.route.ends_with(route_end)
        })
        .map(|record| record.status)
        .collect()
}

/// A service principal created moments ago is unknown to Azure RBAC for a while even when the
/// assignment names `principalType`: prepare-tenant retries the assignment.
#[tokio::test(flavor = "multi_thread")]
async fn a_brand_new_principal_unknown_to_rbac_is_waited_for() {
    let mut config = SimConfig::fast();
    config.delays.spread_percent = 0;
    config.delays.assignment_principal_lag = Duration::from_millis(1200);
    config.delays.role_definition_replication = Duration::ZERO;
    let harness = Harness::start_with(config).await;
    harness.prepare_tenant().run().await.assert_success();
    let statuses = write_statuses(&harness, "arm", "/roleAssignments/{id}");
    assert!(
        statuses.contains(&400) && statuses.last().is_some_and(|status| *status < 300),
        "the assignment was refused (PrincipalNotFound), then made: {statuses:?}"
    );
    harness.request_peering().run().await.assert_success();
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    assert_final_state(&harness);
}

/// A custom role is not assignable right after its PUT (RoleDefinitionDoesNotExist):
/// prepare-tenant retries the assignment.
#[tokio::test(flavor = "multi_thread")]
async fn a_custom_role_not_assignable_yet_is_waited_for() {
    let mut config = SimConfig::fast();
    config.delays.spread_percent = 0;
    config.delays.role_definition_replication = Duration::from_millis(1200);
    config.delays.assignment_principal_lag = Duration::ZERO;
    let harness = Harness::start_with(config).await;
    let run = harness.prepare_tenant().run().await;
    run.assert_success();
    let statuses = write_statuses(&harness, "arm", "/roleAssignments/{id}");
    assert!(
        statuses.contains(&400) && statuses.last().is_some_and(|status| *status < 300),
        "the assignment was refused (RoleDefinitionDoesNotExist), then made: {statuses:?}"
    );
    harness.request_peering().run().await.assert_success();
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    assert_final_state(&harness);
}

#[tokio::test(flavor = "multi_thread")]
async fn await_active_times_out_with_exit_3_and_can_be_rerun() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    harness.request_peering().run().await.assert_success();
    let run = harness
        .await_active()
        .args(["--timeout", "600ms"])
        .run()
        .await;
    run.assert_code(3);
    assert!(run.stderr.contains("PENDING_PEER"), "{}", run.stderr);
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    harness.assert_no_secret_leaked();
}

/// Aiven deleted and re-created its side: ours is Disconnected, theirs Initiated. A plain
/// PUT would leave ours Disconnected, as real Azure does.
pub fn disconnect_the_user_side(harness: &Harness) {
    let vnet_id = harness.ready().vnet_id.clone();
    let aiven_vnet_id = harness
        .sim
        .with_world(|world| world.fixtures.aiven_virtual_network_id.clone());
    let between = |from: &str, to: &str, vnet: &cloud_sim::VirtualNetwork, remote: &str| {
        vnet.id().eq_ignore_ascii_case(from) && remote.eq_ignore_ascii_case(to)
    };
    // Aiven deleted and re-created its side: ours is Disconnected, theirs Initiated.
    harness.sim.with_world(|world| {
        for vnet in world.virtual_networks.iter_mut() {
            let snapshot = vnet.clone();
            for peering in &mut vnet.peerings {
                let remote = peering.remote_virtual_network_id.clone();
                if between(&vnet_id, &aiven_vnet_id, &snapshot, &remote) {
                    peering.peering_state = "Disconnected".to_string();
                } else if between(&aiven_vnet_id, &vnet_id, &snapshot, &remote) {
                    peering.peering_state = "Initiated".to_string();
                }
            }
        }
    });
}

/// A short-lived password an accept-peering run minted before it was killed, long expired.
pub fn leave_an_ephemeral_password(harness: &Harness) {
    harness.with_the_new_app(|app| {
        let now = SystemTime::now();
        app.password_credentials.push(PasswordCredential {
            key_id: uuid_of_time(now),
            display_name: Some(format!(
                "{} 2020-01-01T00:00:00Z",
                peering::phases::accept_peering::EPHEMERAL_PASSWORD_PREFIX
            )),
            hint: "lef".to_string(),
            start_time: now - Duration::from_secs(7200),
            end_time: now - Duration::from_secs(3600),
            usable_at: std::time::Instant::now(),
            secret_sha256: vec![0; 32],
        });
    });
}

fn uuid_of_time(time: SystemTime) -> String {
    let nanos = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let hex = format!("{nanos:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disconnected_peering_is_deleted_and_recreated() {
    let harness = Harness::start().await;
    harness.run_procedure().await;
    let vnet_id = harness.ready().vnet_id.clone();
    let aiven_vnet_id = harness
        .sim
        .with_world(|world| world.fixtures.aiven_virtual_network_id.clone());
    disconnect_the_user_side(&harness);
    let before = harness.sim.requests().len();
    let run = harness.accept_peering().run().await;
    run.assert_success();
    assert!(run.stderr.contains("Disconnected"), "{}", run.stderr);
    assert_eq!(run.output("user_peering_state"), "Connected");
    let deleted = harness.sim.requests()[before..].iter().any(|record| {
        record.service == "arm"
            && record.method == "DELETE"
            && record.route.contains("/virtualNetworkPeerings/")
            && record.status < 300
    });
    assert!(
        deleted,
        "the Disconnected peering was deleted before it was re-created"
    );
    harness.sim.with_world(|world| {
        let vnet = world
            .virtual_networks
            .iter()
            .find(|vnet| vnet.id().eq_ignore_ascii_case(&vnet_id))
            .unwrap();
        let to_aiven: Vec<_> = vnet
            .peerings
            .iter()
            .filter(|peering| {
                peering
                    .remote_virtual_network_id
                    .eq_ignore_ascii_case(&aiven_vnet_id)
            })
            .collect();
        assert_eq!(to_aiven.len(), 1);
        assert_eq!(to_aiven[0].peering_state, "Connected");
    });
    harness.assert_no_secret_leaked();
}

/// Runs one phase until it succeeds: a 500 or a dropped connection on a POST is not retried
/// inside the process (the write may have happened), so the phase fails and its re-run, which
/// looks before it writes, recovers. Any other failure fails the test.
async fn until_it_succeeds<'a>(harness: &'a Harness, phase: impl Fn() -> tests::Phase<'a>) -> Run {
    for _ in 0..8 {
        let before = harness.sim.requests().len();
        let run = phase().run().await;
        if run.code == 0 {
            return run;
        }
        let lost_post = harness.sim.requests()[before..].iter().any(|record| {
            record.write
                && record.method == "POST"
                && matches!(record.fault.as_deref(), Some("500" | "drop"))
        });
        assert!(
            run.code == 1 && lost_post,
            "a failure that is not a POST's lost answer (those the phase must ride out) (exit {}):\n{}",
            run.code,
            run.stderr
        );
    }
    panic!("the phase did not get through the faults in 8 runs");
}

async fn procedure_through_faults(faults: Faults) -> Harness {
    let harness = Harness::start().await;
    harness.sim.set_faults(faults);
    until_it_succeeds(&harness, || harness.prepare_tenant()).await;
    until_it_succeeds(&harness, || harness.request_peering()).await;
    until_it_succeeds(&harness, || harness.accept_peering()).await;
    until_it_succeeds(&harness, || harness.await_active()).await;
    harness.sim.set_faults(Faults::default());
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
    harness
}

/// The faults a run met, by service.
fn faults_met(harness: &Harness, service: &str) -> Vec<String> {
    let mut faults: Vec<String> = harness
        .sim
        .requests()
        .into_iter()
        .filter(|record| record.service == service)
        .filter_map(|record| record.fault)
        .collect();
    faults.sort();
    faults.dedup();
    faults
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_server_errors_and_dropped_connections_are_ridden_out() {
    let harness = procedure_through_faults(Faults {
        rate_429: 0.06,
        rate_500: 0.06,
        rate_503: 0.06,
        rate_drop: 0.06,
        seed: 7,
        ..Faults::default()
    })
    .await;
    let mut met: Vec<String> = ["arm", "graph", "aiven"]
        .iter()
        .flat_map(|service| faults_met(&harness, service))
        .collect();
    met.sort();
    met.dedup();
    assert_eq!(
        met,
        ["429", "500", "503", "drop"],
        "every kind of fault fired"
    );
}

/// A burst of `count` faults of one kind on the next faultable requests, token requests
/// included.
fn burst(kind: &str, count: u64) -> Faults {
    let mut faults = Faults {
        token_faults: true,
        max_faults: Some(count),
        ..Faults::default()
    };
    match kind {
        "drop" => faults.rate_drop = 1.0,
        "429" => faults.rate_429 = 1.0,
        _ => faults.rate_503 = 1.0,
    }
    faults
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoint_and_the_actions_oidc_endpoint_may_fail_too() {
    let harness = Harness::start().await;
    let mode = Mode::Federated;
    // prepare-tenant's first requests are the admin's token requests: their connections drop.
    harness.sim.set_faults(burst("drop", 2));
    mode.prepare(&harness).run().await.assert_success();
    harness.sim.set_faults(burst("429", 2));
    harness.request_peering().run().await.assert_success();
    // accept-peering's first request asks the Actions OIDC endpoint for the job's token (in a
    // job without the Aiven token, which would have it check Aiven's side first).
    harness.sim.set_faults(burst("503", 2));
    mode.accept(&harness)
        .env_remove(env_vars::AIVEN_AUTH_TOKEN)
        .env_remove(env_vars::AIVEN_TOKEN)
        .run()
        .await
        .assert_success();
    harness.sim.set_faults(Faults::default());
    harness.await_active().run().await.assert_success();
    let met = |service: &str, path_start: &str| -> Vec<String> {
        harness
            .sim
            .requests()
            .into_iter()
            .filter(|record| record.service == service && record.path.starts_with(path_start))
            .filter_map(|record| record.fault)
            .collect()
    };
    assert_eq!(
        met("identity", "/"),
        ["drop", "drop"],
        "the token endpoint failed"
    );
    assert_eq!(
        met("github", "/_oidc/"),
        ["503", "503"],
        "the OIDC endpoint failed"
    );
    crate::procedure::assert_final_state_named(&harness, Mode::Federated.snapshot());
    harness.assert_no_secret_leaked();
}

/// CI OIDC tokens live minutes, a wait may take longer: accept-peering fetches a fresh one
/// for every sign-in. Here each lives one second and Aiven's grant takes longer than that.
#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_token_is_fetched_afresh_for_every_sign_in() {
    let mut config = SimConfig::fast();
    config.delays.spread_percent = 0;
    config.delays.oidc_token_lifetime = Duration::from_secs(1);
    config.delays.aiven_grant_lag = Duration::from_millis(2500);
    let harness = Harness::start_with(config).await;
    Mode::Federated.run_procedure(&harness).await;
    let fetched: Vec<u64> = harness
        .sim
        .requests()
        .into_iter()
        .filter(|record| record.path.starts_with("/_oidc/") && record.status == 200)
        .map(|record| record.at_millis)
        .collect();
    let span = fetched.last().unwrap_or(&0) - fetched.first().unwrap_or(&0);
    assert!(
        fetched.len() >= 3 && span > 1000,
        "the phase kept signing in for longer than one token lives ({} tokens over {span} ms)",
        fetched.len()
    );
    crate::procedure::assert_final_state_named(&harness, Mode::Federated.snapshot());
    harness.assert_no_secret_leaked();
}

/// In federated and stored modes accept-peering's first look at the VNet's peerings uses the
/// app's own identity, whose role prepare-tenant granted moments ago: it waits for the role to
/// apply instead of failing.
#[tokio::test(flavor = "multi_thread")]
async fn the_apps_first_look_waits_for_its_role_to_apply() {
    let harness = Harness::start().await;
    let mode = Mode::Stored;
    mode.prepare(&harness).run().await.assert_success();
    harness.request_peering().run().await.assert_success();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.state_file()).unwrap()).unwrap();
    let user_sp = state["user_sp_id"].as_str().unwrap().to_string();
    // The app's role on the VNet was (re)granted just now: it applies in a second.
    harness.sim.with_world(|world| {
        for assignment in world
            .role_assignments
            .iter_mut()
            .filter(|assignment| assignment.principal_id == user_sp)
        {
            assignment.effective_at = std::time::Instant::now() + Duration::from_secs(1);
        }
    });
    let before = harness.sim.requests().len();
    mode.accept(&harness).run().await.assert_success();
    let refused_reads = harness.sim.requests()[before..]
        .iter()
        .filter(|record| {
            record.method == "GET"
                && record.route.ends_with("/virtualNetworkPeerings")
                && record.status == 403
        })
        .count();
    assert!(
        refused_reads > 0,
        "the first look was refused before the role applied"
    );
    harness.await_active().run().await.assert_success();
    crate::procedure::assert_final_state_named(&harness, mode.snapshot());
    harness.assert_no_secret_leaked();
}
