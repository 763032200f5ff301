//! Preflight: each phase's checks stop a run that would fail before its first write, so the
//! failed run leaves nothing half-made (the simulator's request log shows no write from it).

use tests::{Harness, Phase, Run};

/// Runs `phase`, expecting exit 1 with `code`, and no write request from it.
async fn fails_before_writing(harness: &Harness, phase: Phase<'_>, code: &str) -> Run {
    let writes_before = harness.write_count();
    let run = phase.run().await;
    run.assert_code(1);
    assert!(
        run.stderr.contains(&format!("error[{code}]")),
        "{}",
        run.stderr
    );
    assert_eq!(
        harness.writes_since(writes_before),
        Vec::<String>::new(),
        "{code}: the preflight stops the run before its first write"
    );
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn prepare_tenant_checks_the_admins_role_rights_at_the_vnet_first() {
    let harness = Harness::start().await;
    let tenant = harness.ready().user_tenant_id.clone();
    harness.sim.with_world(|world| {
        for assignment in world
            .role_assignments
            .iter_mut()
            .filter(|assignment| assignment.tenant_id == tenant)
        {
            assignment.role_definition_id = assignment
                .role_definition_id
                .replace(cloud_sim::OWNER_ROLE_ID, cloud_sim::READER_ROLE_ID);
        }
    });
    let run = fails_before_writing(
        &harness,
        harness.prepare_tenant(),
        "AZP-ARM-ROLE-WRITE-DENIED",
    )
    .await;
    assert!(
        run.stderr
            .contains("Microsoft.Authorization/roleAssignments/write"),
        "{}",
        run.stderr
    );
    // The plan knows it too.
    fails_before_writing(
        &harness,
        harness.prepare_tenant().arg("--plan"),
        "AZP-ARM-ROLE-WRITE-DENIED",
    )
    .await;
}

/// Replaces the admin identity's directory roles and Microsoft Graph application permissions.
pub(crate) fn admin_rights(harness: &Harness, roles: &[&str], graph_permissions: &[&str]) {
    let admin_app = harness.ready().admin_client_id.clone();
    harness.sim.with_world(|world| {
        for principal in world
            .service_principals
            .iter_mut()
            .filter(|principal| principal.app_id == admin_app)
        {
            principal.directory_roles = roles.iter().map(|role| role.to_string()).collect();
            principal.graph_app_roles = graph_permissions
                .iter()
                .map(|permission| permission.to_string())
                .collect();
        }
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn prepare_tenant_checks_the_admins_right_to_create_aivens_service_principal_first() {
    let harness = Harness::start().await;
    // The admin may read the directory, and can see that it may not create a service
    // principal for another tenant's app.
    admin_rights(
        &harness,
        &[cloud_sim::DIRECTORY_READERS],
        &["Directory.Read.All"],
    );
    let run = fails_before_writing(
        &harness,
        harness.prepare_tenant(),
        "AZP-GRAPH-APP-ADMIN-REQUIRED",
    )
    .await;
    for named in [
        "Application Administrator",
        "Cloud Application Administrator",
        "Application.ReadWrite.All",
        "its active directory roles: Directory Readers",
        "nothing was changed",
    ] {
        assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
    }
    // The plan knows it too.
    fails_before_writing(
        &harness,
        harness.prepare_tenant().arg("--plan"),
        "AZP-GRAPH-APP-ADMIN-REQUIRED",
    )
    .await;
    // Once Aiven's service principal exists there is nothing to create: no check, no failure
    // from it (the role writes are still the admin's, and the run goes through).
    admin_rights(&harness, &[cloud_sim::APPLICATION_ADMINISTRATOR], &[]);
    harness.prepare_tenant().run().await.assert_success();
    admin_rights(
        &harness,
        &[cloud_sim::DIRECTORY_READERS],
        &["Directory.Read.All"],
    );
    harness.prepare_tenant().run().await.assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloud_application_administrator_passes_the_check_and_prepares_the_tenant() {
    let harness = Harness::start().await;
    admin_rights(&harness, &[cloud_sim::CLOUD_APPLICATION_ADMINISTRATOR], &[]);
    let run = harness.prepare_tenant().run().await;
    run.assert_success();
    assert!(!run.stderr.contains("cannot check"), "{}", run.stderr);
    assert!(!run.output("aiven_sp_id").is_empty(), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_principal_with_application_read_write_all_passes_the_check() {
    let harness = Harness::start().await;
    admin_rights(&harness, &[], &[cloud_sim::APPLICATION_READ_WRITE_ALL]);
    let run = harness.prepare_tenant().run().await;
    run.assert_success();
    assert!(!run.stderr.contains("cannot check"), "{}", run.stderr);
    assert!(!run.output("aiven_sp_id").is_empty(), "{}", run.stderr);
}

/// Puts the admin identity in a group (role-assignable or not) that is assigned a custom
/// directory role allowing the creation of service principals.
fn admin_in_group_with_custom_role(harness: &Harness, role_assignable: bool) {
    let tenant = harness.ready().user_tenant_id.clone();
    let admin_app = harness.ready().admin_client_id.clone();
    harness.sim.with_world(|world| {
        let admin = (world.service_principal_for_app(&tenant, &admin_app))
            .map(|principal| principal.object_id.clone())
            .expect("the admin's service principal");
        world.custom_directory_roles = vec![cloud_sim::CustomDirectoryRole {
            id: "5d0c6a0e-2b7e-4f3a-9c61-0a4f1f0e7a11".to_string(),
            tenant_id: tenant.clone(),
            display_name: "Enterprise App Onboarder".to_string(),
            allowed_resource_actions: vec![cloud_sim::CREATE_SERVICE_PRINCIPALS_ACTION.to_string()],
        }];
        world.directory_groups = vec![
            cloud_sim::DirectoryGroup {
                object_id: "0c7e1c55-8a0b-4b8e-9d7f-3c2a1b0e9f01".to_string(),
                tenant_id: tenant.clone(),
                display_name: "All platform identities".to_string(),
                is_assignable_to_role: false,
                member_ids: vec![admin.clone()],
                directory_roles: Vec::new(),
            },
            cloud_sim::DirectoryGroup {
                object_id: "9a3f5e27-64d1-4c0b-b2a8-7e6d5c4b3a02".to_string(),
                tenant_id: tenant.clone(),
                display_name: "platform-app-onboarders".to_string(),
                is_assignable_to_role: role_assignable,
                member_ids: vec![admin],
                directory_roles: vec!["Enterprise App Onboarder".to_string()],
            },
        ];
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_with_a_custom_role_through_a_role_assignable_group_is_not_stopped() {
    let harness = Harness::start().await;
    // The admin holds no directory role of its own; it may read the directory.
    admin_rights(&harness, &[], &["Directory.Read.All"]);
    // A group that is not role-assignable can hold no directory role: the admin may not
    // create the service principal, and the preflight knows it.
    admin_in_group_with_custom_role(&harness, false);
    fails_before_writing(
        &harness,
        harness.prepare_tenant(),
        "AZP-GRAPH-APP-ADMIN-REQUIRED",
    )
    .await;
    // Through a role-assignable group the custom role is the admin's: the preflight cannot
    // tell what the role allows, so it warns naming it, and the write goes through.
    admin_in_group_with_custom_role(&harness, true);
    let run = harness.prepare_tenant().run().await;
    run.assert_success();
    for named in [
        "cannot check whether the admin identity may create the service principal",
        "Enterprise App Onboarder",
        "platform-app-onboarders",
    ] {
        assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
    }
    assert!(!run.output("aiven_sp_id").is_empty(), "{}", run.stderr);
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn request_peering_checks_aivens_grant_and_the_ranges_first() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    fails_before_writing(
        &harness,
        harness
            .request_peering()
            .args(["--user-peer-network-cidrs", "0.0.0.0/1"]),
        "AZP-AIVEN-CIDR-OVERLAP",
    )
    .await;
    crate::errors::take_aivens_grant(&harness);
    let run = fails_before_writing(
        &harness,
        harness.request_peering(),
        "AZP-ARM-AIVEN-GRANT-MISSING",
    )
    .await;
    assert!(
        run.stderr.contains("run prepare-tenant first"),
        "{}",
        run.stderr
    );
    // prepare-tenant puts the grant back, and the request goes through.
    harness.prepare_tenant().run().await.assert_success();
    harness.request_peering().run().await.assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_peering_checks_aivens_side_and_names_the_phase_to_run_first() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    // Without request-peering's outputs the input is missing, and the message says who makes it.
    let run = harness.accept_peering().run().await;
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("request-peering writes it: run request-peering first"),
        "{}",
        run.stderr
    );
    harness.request_peering().run().await.assert_success();
    let connection_state = |state: &'static str| {
        harness.with_live_connections(|connection| connection.state = state.to_string())
    };
    connection_state("APPROVED");
    let run = fails_before_writing(
        &harness,
        harness.accept_peering(),
        "AZP-AIVEN-CONNECTION-NOT-READY",
    )
    .await;
    assert!(
        run.stderr.contains("run request-peering first"),
        "{}",
        run.stderr
    );
    connection_state("REJECTED_BY_PEER");
    fails_before_writing(
        &harness,
        harness.accept_peering(),
        "AZP-AIVEN-CONNECTION-FAILED",
    )
    .await;
    connection_state("PENDING_PEER");
    harness.accept_peering().run().await.assert_success();
}
