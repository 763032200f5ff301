//! What a real, busy tenant does to a first run: other people's apps with the name we would
//! pick, custom roles of the same name in other subscriptions, Aiven clouds that are not
//! `azure-` + the location, deleted connections listed first, long federated subjects, and
//! tenant ids that the CI runner redacted from job outputs.

use api_core::env_vars;
use tests::Harness;

/// The id of a user-tenant subscription of the busy preset, by display name.
fn subscription_named(harness: &Harness, name: &str) -> String {
    let name = name.to_string();
    harness.sim.with_world(|world| {
        world
            .subscriptions
            .iter()
            .find(|subscription| subscription.display_name == name)
            .map(|subscription| subscription.id.clone())
            .expect("the busy preset has this subscription")
    })
}

/// The custom roles of the user tenant with this name, as (guid, assignable scopes).
fn roles_named(harness: &Harness, role_name: &str) -> Vec<(String, Vec<String>)> {
    let (tenant, role_name) = (
        harness.ready().user_tenant_id.clone(),
        role_name.to_string(),
    );
    harness.sim.with_world(|world| {
        world
            .role_definitions
            .iter()
            .filter(|role| role.tenant_id.as_deref() == Some(tenant.as_str()))
            .filter(|role| role.role_name == role_name)
            .map(|role| (role.name.clone(), role.assignable_scopes.clone()))
            .collect()
    })
}

// Regression: prepare-tenant adopted any app whose display name matched, whoever owned it, and
// gave it peering rights on the VNet.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_registered_by_another_member_is_not_adopted_unless_named() {
    let harness = Harness::start().await;
    let foreign = harness.sim.with_world(|world| {
        let object_id =
            world.register_application_as_member("aiven-peering-client-vnet", "Mallory Member");
        let app = world
            .applications
            .iter_mut()
            .find(|app| app.object_id == object_id)
            .unwrap();
        // Even the uniqueName the tool would use is no proof of origin.
        app.unique_name = Some("aiven-peering.aiven-peering-client-vnet".to_string());
        app.app_id.clone()
    });
    let refused = harness.prepare_tenant().run().await;
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("Mallory Member"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--app-id"), "{}", refused.stderr);
    let tenant = harness.ready().user_tenant_id.clone();
    let foreign_for_check = foreign.clone();
    harness.sim.with_world(|world| {
        assert!(
            world
                .service_principal_for_app(&tenant, &foreign_for_check)
                .is_none(),
            "nothing was done for the other member's app"
        );
    });

    // Named explicitly, it is adopted, with a warning about credentials the tool did not add.
    let adopted = harness
        .prepare_tenant()
        .args(["--app-id", &foreign])
        .run()
        .await;
    adopted.assert_success();
    assert_eq!(adopted.output("user_app_id"), foreign);
    assert!(
        adopted.stderr.contains("credential") && adopted.stderr.contains("not added by"),
        "{}",
        adopted.stderr
    );
}

// Regression: prepare-tenant for a VNet in subscription A, after one in subscription B with the
// same role names, PUT the same role guid with assignableScopes [A], rewriting B's role.
#[tokio::test(flavor = "multi_thread")]
async fn a_custom_role_made_for_another_subscription_is_found_and_extended() {
    let harness = Harness::start().await;
    let staging = subscription_named(&harness, "Acme Staging");
    let main = harness.ready().subscription_id.clone();
    let first = harness.pipeline(
        &staging,
        "Staging-RG",
        "Staging-VNet",
        harness.path("staging.json"),
    );
    first.prepare_tenant().run().await.assert_success();
    harness.prepare_tenant().run().await.assert_success();
    for role_name in ["Aiven VNet peering target", "Aiven VNet peering initiator"] {
        let roles = roles_named(&harness, role_name);
        assert_eq!(roles.len(), 1, "one role {role_name}: {roles:?}");
        for subscription in [&staging, &main] {
            assert!(
                roles[0]
                    .1
                    .iter()
                    .any(|scope| scope
                        .eq_ignore_ascii_case(&format!("/subscriptions/{subscription}"))),
                "{role_name} stays assignable in {subscription}: {:?}",
                roles[0].1
            );
        }
    }
    assert_eq!(
        first.state()["aiven_role_id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next(),
        harness.seeded().state()["aiven_role_id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
    );
    // A second run for each VNet changes nothing, once the directory has replicated what the
    // first ones made (until then a lookup may miss a fresh service principal).
    tokio::time::sleep(harness.sim.delays().graph_replication_lag).await;
    let writes = harness.write_count();
    first.prepare_tenant().run().await.assert_success();
    harness.prepare_tenant().run().await.assert_success();
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
}

// Regression: a role name used by a custom role assignable only where the admin cannot look
// gave a bare 409 from Azure.
#[tokio::test(flavor = "multi_thread")]
async fn a_role_name_taken_where_the_admin_cannot_look_is_explained() {
    let harness = Harness::start().await;
    let run = harness
        .prepare_tenant()
        .args(["--aiven-role-name", cloud_sim::BUSY_HIDDEN_ROLE_NAME])
        .run()
        .await;
    run.assert_code(1);
    assert!(run.stderr.contains("--aiven-role-name"), "{}", run.stderr);
    assert!(run.stderr.contains("cannot see"), "{}", run.stderr);
    assert_eq!(
        roles_named(&harness, cloud_sim::BUSY_HIDDEN_ROLE_NAME).len(),
        1
    );
}

// Regression: a same-named role granting more than peer/action was reused with a log line.
#[tokio::test(flavor = "multi_thread")]
async fn a_same_named_role_that_grants_more_needs_accept_wider_role() {
    let harness = Harness::start().await;
    let scope = format!("/subscriptions/{}", harness.ready().subscription_id);
    let tenant = harness.ready().user_tenant_id.clone();
    harness.sim.with_world(|world| {
        let wider =
            |name: &str, actions: &[&str], data_actions: &[&str]| cloud_sim::RoleDefinition {
                name: uuid_like(name),
                tenant_id: Some(tenant.clone()),
                role_name: name.to_string(),
                description: "another team's".to_string(),
                permissions: vec![cloud_sim::Permission {
                    actions: actions.iter().map(|action| action.to_string()).collect(),
                    data_actions: data_actions
                        .iter()
                        .map(|action| action.to_string())
                        .collect(),
                    ..Default::default()
                }],
                assignable_scopes: vec![scope.clone()],
                created_time: std::time::SystemTime::now(),
                updated_time: std::time::SystemTime::now(),
            };
        world.role_definitions.push(wider(
            "Aiven VNet peering target",
            &[
                "Microsoft.Network/virtualNetworks/peer/action",
                "Microsoft.Network/virtualNetworks/write",
            ],
            &[],
        ));
    });
    let refused = harness.prepare_tenant().run().await;
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("--accept-wider-role"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("Microsoft.Network/virtualNetworks/write"),
        "{}",
        refused.stderr
    );
    harness
        .prepare_tenant()
        .arg("--accept-wider-role")
        .run()
        .await
        .assert_success();
    let roles = roles_named(&harness, "Aiven VNet peering target");
    assert_eq!(
        roles.len(),
        1,
        "the other team's role was reused, not twinned"
    );
}

/// A fixed guid per name, for roles other teams made.
fn uuid_like(name: &str) -> String {
    let digest: u128 = name.bytes().fold(0x9e37_79b9_7f4a_7c15_u128, |hash, byte| {
        hash.wrapping_mul(0x0100_0000_01b3)
            .wrapping_add(byte as u128)
    });
    let text = format!("{digest:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &text[..8],
        &text[8..12],
        &text[13..16],
        &text[17..20],
        &text[20..32]
    )
}

// Regression: Aiven keeps a DELETED connection for the same VNet listed before the live one;
// the phases took it for the live one.
#[tokio::test(flavor = "multi_thread")]
async fn the_live_connection_wins_over_a_deleted_one_listed_first() {
    let harness = Harness::start().await;
    harness.run_procedure().await;
    let (vnet_name, vpc_id) = (
        harness.ready().vnet_name.to_lowercase(),
        harness.ready().project_vpc_id.clone(),
    );
    let states: Vec<String> = harness.sim.with_world(|world| {
        world.aiven_projects[0]
            .vpcs
            .iter()
            .find(|vpc| vpc.id == vpc_id)
            .unwrap()
            .peering_connections
            .iter()
            .filter(|connection| connection.peer_vpc == vnet_name)
            .map(|connection| connection.state.clone())
            .collect()
    });
    assert_eq!(
        states,
        ["DELETED", "ACTIVE"],
        "the deleted one is listed first"
    );
    let writes = harness.write_count();
    harness.request_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
    crate::procedure::assert_final_state(&harness);
}

// Regression: the project VPC was looked for in "azure-" + the Azure location; Aiven names
// Germany West Central's cloud azure-germany-westcentral.
#[tokio::test(flavor = "multi_thread")]
async fn the_aiven_cloud_of_a_region_comes_from_the_projects_vpcs() {
    let harness = Harness::start().await;
    let data = subscription_named(&harness, "Acme Data");
    let pipeline = harness.pipeline(&data, "Data-RG", "Data-VNet", harness.path("data.json"));
    pipeline.prepare_tenant().run().await.assert_success();
    let requested = harness
        .phase("request-peering")
        .args(["--project", &harness.ready().aiven_project.clone()])
        .args(["--poll-interval", "100ms"])
        .args([
            "--state".to_string(),
            pipeline.state_file.display().to_string(),
        ])
        .run()
        .await;
    requested.assert_success();
    assert_eq!(requested.output("aiven_cloud"), "azure-germany-westcentral");
    pipeline.accept_peering().run().await.assert_success();
    pipeline.await_active().run().await.assert_success();
}

// Regression: federated credential names were "aiven-peering-" + 110 characters of the subject:
// 124 characters (Graph allows 120), and subjects differing after that, or only in their
// issuer, got the same name.
#[tokio::test(flavor = "multi_thread")]
async fn federated_credential_names_fit_graph_and_never_collide() {
    let harness = Harness::start().await;
    let long = format!("repo:acme/{}", "x".repeat(120));
    let subjects = [
        format!("{long}:environment:blue"),
        format!("{long}:environment:green"),
        "repo:acme/infra:environment:production".to_string(),
    ];
    let prepare = || {
        harness
            .prepare_tenant()
            .args(["--federated-subject", &subjects.join(",")])
    };
    prepare().run().await.assert_success();
    // The same subject from another issuer (a GitLab instance) is another credential.
    harness
        .prepare_tenant()
        .args(["--federated-subject", &subjects[2]])
        .args(["--federated-issuer", "https://gitlab.example.com"])
        .run()
        .await
        .assert_success();
    let app_id = harness.seeded().state()["user_app_id"]
        .as_str()
        .unwrap()
        .to_string();
    let names: Vec<String> = harness.sim.with_world(|world| {
        world
            .application_by_app_id(&app_id)
            .unwrap()
            .federated_identity_credentials
            .iter()
            .map(|credential| credential.name.clone())
            .collect()
    });
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names.iter().all(|name| name.chars().count() <= 120),
        "{names:?}"
    );
    // Four credentials span two pages: a re-run finds them all and writes nothing.
    let writes = harness.write_count();
    prepare().run().await.assert_success();
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
}

// Regression: GitHub drops a job output that contains a secret of the job; user_tenant_id equals
// secrets.AZURE_TENANT_ID, so the next jobs got an empty tenant and exited 2.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_id_redacted_from_job_outputs_comes_from_the_jobs_azure_tenant_id() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    let state_file = harness.state_file();
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    state
        .as_object_mut()
        .unwrap()
        .remove("user_tenant_id")
        .expect("prepare-tenant recorded the tenant");
    std::fs::write(&state_file, state.to_string()).unwrap();
    let tenant = harness.ready().user_tenant_id.clone();
    for phase in [harness.request_peering(), harness.accept_peering()] {
        // What the composite action passes for an input whose job output was dropped.
        let run = phase
            .env(env_vars::PEERING_USER_TENANT_ID, "")
            .env(env_vars::AZURE_TENANT_ID, tenant.clone())
            .run()
            .await;
        run.assert_success();
    }
    harness.await_active().run().await.assert_success();
    crate::procedure::assert_final_state(&harness);
}
