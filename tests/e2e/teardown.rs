//! `teardown` after the procedure leaves the user tenant and the Aiven project as they were
//! before prepare-tenant, object by object; also when a write of it fails and it is re-run;
//! and it never removes an object the tool did not create.

use cloud_sim::{FailMode, Faults};
use std::collections::BTreeSet;
use tests::Harness;

/// Everything of the user tenant and the Aiven project that the procedure may touch, as
/// comparable lines.
fn tenant_and_project(harness: &Harness) -> BTreeSet<String> {
    let ready = harness.ready().clone();
    harness.sim.with_world(|world| {
        let tenant = &ready.user_tenant_id;
        let mut lines = BTreeSet::new();
        for app in world
            .applications
            .iter()
            .filter(|app| &app.tenant_id == tenant)
        {
            lines.insert(format!(
                "app {} {} passwords {} federated {}",
                app.app_id,
                app.display_name,
                app.password_credentials.len(),
                app.federated_identity_credentials.len()
            ));
        }
        for principal in world
            .service_principals
            .iter()
            .filter(|sp| &sp.tenant_id == tenant)
        {
            lines.insert(format!("sp {} {}", principal.app_id, principal.object_id));
        }
        for role in world
            .role_definitions
            .iter()
            .filter(|role| role.tenant_id.as_deref() == Some(tenant.as_str()))
        {
            lines.insert(format!(
                "role {} {} {:?}",
                role.name, role.role_name, role.assignable_scopes
            ));
        }
        for assignment in world
            .role_assignments
            .iter()
            .filter(|assignment| &assignment.tenant_id == tenant)
        {
            lines.insert(format!(
                "assignment {} {} {}",
                assignment.scope, assignment.principal_id, assignment.role_definition_id
            ));
        }
        for vnet in world
            .virtual_networks
            .iter()
            .filter(|vnet| vnet.subscription_id == ready.subscription_id)
        {
            for peering in &vnet.peerings {
                lines.insert(format!("peering {} {}", vnet.name, peering.name));
            }
        }
        for project in world
            .aiven_projects
            .iter()
            .filter(|project| project.name == ready.aiven_project)
        {
            for vpc in &project.vpcs {
                for connection in &vpc.peering_connections {
                    lines.insert(format!(
                        "connection {} {} {}",
                        vpc.id, connection.peer_vpc, connection.state
                    ));
                }
            }
        }
        lines
    })
}

/// Waits for Aiven to forget DELETED connections (the simulator's clock).
async fn until_deleted_connections_are_gone(harness: &Harness) {
    tokio::time::sleep(harness.sim.delays().aiven_delete_delay * 2).await;
}

/// `--plan` reads each recorded object: one deleted by hand is said to be gone (its record
/// would only be dropped), the rest would be removed; and the run then does just that.
#[tokio::test(flavor = "multi_thread")]
async fn teardown_plan_tells_what_is_gone_already() {
    let harness = Harness::start().await;
    let before = tenant_and_project(&harness);
    harness.run_procedure().await;
    let vnet_id = harness.ready().vnet_id.clone();
    harness.sim.with_world(|world| {
        // Ours only: other teams' peerings on the VNet stay.
        let aiven_vnet = world.fixtures.aiven_virtual_network_id.clone();
        let vnet = world
            .virtual_networks
            .iter_mut()
            .find(|vnet| vnet.id().eq_ignore_ascii_case(&vnet_id))
            .unwrap();
        vnet.peerings.retain(|peering| {
            !peering
                .remote_virtual_network_id
                .eq_ignore_ascii_case(&aiven_vnet)
        });
    });
    let writes = harness.write_count();
    let plan = harness.teardown().arg("--plan").run().await;
    plan.assert_success();
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
    let lines = |needle: &str| -> Vec<String> {
        plan.stderr
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_string)
            .collect()
    };
    let gone = lines("is gone already");
    assert_eq!(gone.len(), 1, "{}", plan.stderr);
    assert!(gone[0].contains("INFO VNet peering "), "{}", gone[0]);
    assert_eq!(lines("would remove").len(), 8, "{}", plan.stderr);
    assert!(
        !lines("would remove")
            .iter()
            .any(|line| line.contains("would remove VNet peering")),
        "{}",
        plan.stderr
    );
    assert!(plan.stdout.contains("missing"), "{}", plan.stdout);

    harness.teardown().run().await.assert_success();
    until_deleted_connections_are_gone(&harness).await;
    assert_eq!(tenant_and_project(&harness), before);
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn teardown_leaves_the_tenant_and_the_project_as_they_were() {
    let harness = Harness::start().await;
    let before = tenant_and_project(&harness);
    harness.run_procedure().await;
    assert_ne!(tenant_and_project(&harness), before);

    // --plan lists every removal and changes nothing.
    let writes = harness.write_count();
    let plan = harness.teardown().arg("--plan").run().await;
    plan.assert_success();
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
    let planned: Vec<&str> = plan
        .stderr
        .lines()
        .filter(|line| line.contains("would remove"))
        .collect();
    assert_eq!(planned.len(), 9, "{}", plan.stderr);

    let run = harness.teardown().run().await;
    run.assert_success();
    let removed = run
        .stderr
        .lines()
        .filter(|line| line.contains(" removed "))
        .count();
    assert_eq!(removed, planned.len(), "{}", run.stderr);
    until_deleted_connections_are_gone(&harness).await;
    assert_eq!(tenant_and_project(&harness), before);

    // A second run has nothing left to do.
    let writes = harness.write_count();
    harness.teardown().run().await.assert_success();
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
    // And the procedure can start again from the emptied state file.
    harness.run_procedure().await;
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn teardown_never_removes_what_the_tool_did_not_create() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    harness.prepare_tenant().run().await.assert_success();
    // The Aiven app's service principal is taken for one made by hand (seed step 7): the state
    // file does not record it.
    let aiven_sp = harness.sim.with_world(|world| {
        world
            .service_principals
            .iter()
            .find(|sp| sp.tenant_id == ready.user_tenant_id && sp.app_id == ready.aiven_app_id)
            .map(|sp| sp.object_id.clone())
            .expect("the Aiven SP")
    });
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.state_file()).unwrap()).unwrap();
    let created = state["created"].as_array_mut().unwrap();
    let recorded = created.len();
    created.retain(|record| record["kind"] != "aiven-service-principal");
    assert_eq!(
        created.len(),
        recorded - 1,
        "prepare-tenant recorded the SP it made"
    );
    std::fs::write(
        harness.state_file(),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();

    harness.request_peering().run().await.assert_success();
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    harness.teardown().run().await.assert_success();
    let kept = harness.sim.with_world(|world| {
        world
            .service_principals
            .iter()
            .any(|sp| sp.object_id == aiven_sp)
    });
    assert!(
        kept,
        "the Aiven SP the state file does not record was removed"
    );

    // --force with its id removes it.
    harness
        .teardown()
        .args(["--force", &format!("aiven-sp={aiven_sp}")])
        .run()
        .await
        .assert_success();
    let kept = harness.sim.with_world(|world| {
        world
            .service_principals
            .iter()
            .any(|sp| sp.object_id == aiven_sp)
    });
    assert!(!kept);
}

#[tokio::test(flavor = "multi_thread")]
async fn teardown_keep_app_keeps_the_app_for_a_later_peering() {
    let harness = Harness::start().await;
    harness.run_procedure().await;
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.state_file()).unwrap()).unwrap();
    let app_id = state["user_app_id"].as_str().unwrap().to_string();
    harness
        .teardown()
        .arg("--keep-app")
        .run()
        .await
        .assert_success();
    let (apps, assignments) = harness.sim.with_world(|world| {
        (
            world
                .applications
                .iter()
                .filter(|app| app.app_id == app_id)
                .count(),
            world
                .role_assignments
                .iter()
                .filter(|assignment| {
                    // Not the busy tenant's own assignments at the VNet: teardown leaves them.
                    !harness.baseline.role_assignments.contains(&assignment.name)
                        && assignment
                            .scope
                            .eq_ignore_ascii_case(&harness.ready().vnet_id)
                })
                .count(),
        )
    });
    assert_eq!(apps, 1, "the app is kept");
    assert_eq!(assignments, 0, "its rights on the VNet are not");
}

#[tokio::test(flavor = "multi_thread")]
async fn teardown_interrupted_at_any_write_finishes_when_re_run() {
    let count_writes = Harness::start().await;
    count_writes.run_procedure().await;
    let before = count_writes.write_count();
    count_writes.teardown().run().await.assert_success();
    let writes = count_writes.write_count() - before;
    assert!(
        writes >= 9,
        "teardown writes each of the nine objects: {writes}"
    );
    drop(count_writes);
    for number in 1..=writes as u64 {
        for mode in [FailMode::Before, FailMode::After] {
            let harness = Harness::start().await;
            let before = tenant_and_project(&harness);
            harness.run_procedure().await;
            harness.sim.set_faults(Faults {
                fail_nth_write: Some(number),
                fail_mode: mode,
                ..Faults::default()
            });
            let interrupted = harness.teardown().run().await;
            harness.sim.set_faults(Faults::default());
            let fired = harness.sim.requests().iter().any(|record| {
                record
                    .fault
                    .as_deref()
                    .is_some_and(|fault| fault.starts_with("fail-write"))
            });
            assert!(fired, "write {number} {mode:?} was not interrupted");
            assert!(
                [0, 1, 3].contains(&interrupted.code),
                "{}",
                interrupted.stderr
            );
            let again = harness.teardown().run().await;
            assert_eq!(
                again.code, 0,
                "re-run after write {number} {mode:?}:\n{}",
                again.stderr
            );
            until_deleted_connections_are_gone(&harness).await;
            assert_eq!(
                tenant_and_project(&harness),
                before,
                "after write {number} {mode:?}"
            );
        }
    }
}

/// The GitHub secret `prepare-tenant --store-secret-in` wrote, if it is there.
fn stored_secret(harness: &Harness) -> Option<String> {
    let ready = harness.ready();
    harness.sim.github_secret(
        &ready.github_repository,
        Some("production"),
        api_core::env_vars::AIVEN_PEERING_APP_SECRET,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn teardown_deletes_the_github_secret_only_when_the_tool_created_it() {
    let harness = Harness::start().await;
    let github_token = harness.ready().github_token.clone();
    crate::procedure::Mode::Stored.run_procedure(&harness).await;
    assert!(stored_secret(&harness).is_some());
    let plan = harness.teardown().arg("--plan").run().await;
    plan.assert_success();
    assert!(plan.stdout.contains("GitHub secret"), "{}", plan.stdout);
    // Without a GitHub token the secret cannot go: teardown says which token it needs.
    let writes = harness.write_count();
    let run = harness.teardown().run().await;
    run.assert_code(2);
    assert!(run.stderr.contains("GITHUB_TOKEN"), "{}", run.stderr);
    assert_eq!(
        harness.writes_since(writes),
        Vec::<String>::new(),
        "bad input changes nothing"
    );
    assert!(stored_secret(&harness).is_some());
    harness
        .teardown()
        .env(api_core::env_vars::GITHUB_TOKEN, github_token.clone())
        .run()
        .await
        .assert_success();
    assert_eq!(
        stored_secret(&harness),
        None,
        "teardown deleted the secret it made"
    );

    // A secret that existed before prepare-tenant ran is not the tool's: a procedure with a
    // new state file finds the secret (made by the first one) and teardown leaves it.
    crate::procedure::Mode::Stored.run_procedure(&harness).await;
    std::fs::rename(harness.state_file(), harness.path("first-state.json")).unwrap();
    crate::procedure::Mode::Stored
        .prepare(&harness)
        .run()
        .await
        .assert_success();
    let state = std::fs::read_to_string(harness.state_file()).unwrap();
    assert!(
        !state.contains("github-secret"),
        "the new state file does not claim the secret: {state}"
    );
    harness
        .teardown()
        .env(api_core::env_vars::GITHUB_TOKEN, github_token)
        .run()
        .await
        .assert_success();
    assert!(
        stored_secret(&harness).is_some(),
        "a secret the run found stays"
    );
    harness.assert_no_secret_leaked();
}
