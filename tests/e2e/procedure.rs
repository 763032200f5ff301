//! The whole procedure, and re-running each phase.

use tests::Harness;

/// Asserts the simulator holds exactly what the procedure should leave behind.
pub fn assert_final_state(harness: &Harness) {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.state_file()).unwrap()).unwrap();
    let app_id = state["user_app_id"].as_str().unwrap().to_string();
    let user_sp_id = state["user_sp_id"].as_str().unwrap().to_string();
    let aiven_sp_id = state["aiven_sp_id"].as_str().unwrap().to_string();
    check_world(harness, &app_id, &user_sp_id, &aiven_sp_id);
}

/// The same, for runs that kept no state file (CI jobs): the ids come from the simulator.
pub fn assert_final_state_without_state_file(harness: &Harness) {
    let ready = harness.ready().clone();
    let baseline = &harness.baseline;
    let (app_id, user_sp_id, aiven_sp_id) = harness.sim.with_world(|world| {
        let app = world
            .applications
            .iter()
            .find(|app| {
                app.tenant_id == ready.user_tenant_id
                    && !baseline.applications.contains(&app.object_id)
            })
            .expect("an app registration");
        let sp_of = |app_id: &str| {
            world
                .service_principals
                .iter()
                .find(|sp| sp.tenant_id == ready.user_tenant_id && sp.app_id == app_id)
                .map(|sp| sp.object_id.clone())
                .expect("a service principal")
        };
        (
            app.app_id.clone(),
            sp_of(&app.app_id),
            sp_of(&ready.aiven_app_id),
        )
    });
    check_world(harness, &app_id, &user_sp_id, &aiven_sp_id);
}

fn check_world(harness: &Harness, app_id: &str, user_sp_id: &str, aiven_sp_id: &str) {
    let ready = harness.ready().clone();
    let baseline = &harness.baseline;
    let (app_id, user_sp_id, aiven_sp_id) = (
        app_id.to_string(),
        user_sp_id.to_string(),
        aiven_sp_id.to_string(),
    );
    // Other people's objects (the busy tenant's) are left out: only what the procedure made.
    harness.sim.with_world(|world| {
        let tenant = &ready.user_tenant_id;
        let apps: Vec<_> = world
            .applications
            .iter()
            .filter(|app| {
                &app.tenant_id == tenant && !baseline.applications.contains(&app.object_id)
            })
            .collect();
        assert_eq!(apps.len(), 1, "exactly one app registration: {apps:#?}");
        let app = apps[0];
        assert_eq!(app.app_id, app_id);
        assert_eq!(app.sign_in_audience, "AzureADMultipleOrgs");
        assert!(
            app.password_credentials.is_empty(),
            "no password left on the app: {:?}",
            app.password_credentials
        );

        let principals: Vec<_> = world
            .service_principals
            .iter()
            .filter(|sp| &sp.tenant_id == tenant)
            .collect();
        assert_eq!(
            principals.iter().filter(|sp| sp.app_id == app_id).count(),
            1,
            "one SP for the app"
        );
        assert_eq!(
            principals
                .iter()
                .filter(|sp| sp.app_id == ready.aiven_app_id)
                .count(),
            1,
            "one SP for Aiven's app"
        );

        let custom: Vec<_> = world
            .role_definitions
            .iter()
            .filter(|role| {
                role.tenant_id.as_deref() == Some(tenant.as_str())
                    && !baseline.role_definitions.contains(&role.name)
            })
            .collect();
        assert_eq!(custom.len(), 2, "one custom role per purpose: {custom:#?}");
        let aiven_role = custom
            .iter()
            .find(|role| {
                role.permissions
                    .iter()
                    .flat_map(|p| p.actions.iter())
                    .any(|a| a == "Microsoft.Network/virtualNetworks/peer/action")
            })
            .expect("the Aiven role");
        let actions: Vec<&String> = aiven_role
            .permissions
            .iter()
            .flat_map(|p| p.actions.iter())
            .collect();
        assert_eq!(
            actions,
            ["Microsoft.Network/virtualNetworks/peer/action"],
            "only peer/action"
        );
        assert!(aiven_role.assignable_scopes.iter().any(|scope| {
            scope.eq_ignore_ascii_case(&format!("/subscriptions/{}", ready.subscription_id))
        }));

        for principal in [&user_sp_id, &aiven_sp_id] {
            let assignments: Vec<_> = world
                .role_assignments
                .iter()
                .filter(|a| &a.principal_id == principal)
                .collect();
            assert_eq!(
                assignments.len(),
                1,
                "one assignment for {principal}: {assignments:#?}"
            );
            assert!(
                assignments[0].scope.eq_ignore_ascii_case(&ready.vnet_id),
                "at VNet scope, nothing wider: {}",
                assignments[0].scope
            );
            assert_eq!(
                assignments[0].principal_type.as_deref(),
                Some("ServicePrincipal")
            );
        }

        let user_vnet = world
            .virtual_networks
            .iter()
            .find(|vnet| vnet.id().eq_ignore_ascii_case(&ready.vnet_id))
            .unwrap();
        let new_peerings =
            |vnet: &cloud_sim::VirtualNetwork| -> Vec<cloud_sim::VirtualNetworkPeering> {
                vnet.peerings
                    .iter()
                    .filter(|peering| {
                        !baseline
                            .peerings
                            .contains(&tests::Baseline::peering_key(&vnet.id(), &peering.name))
                    })
                    .cloned()
                    .collect()
            };
        let user_peerings = new_peerings(user_vnet);
        assert_eq!(user_peerings.len(), 1, "one peering on the user VNet");
        let peering = &user_peerings[0];
        assert!(peering.allow_virtual_network_access);
        assert_eq!(peering.peering_state, "Connected");
        let aiven_vnet = world
            .virtual_networks
            .iter()
            .find(|vnet| {
                vnet.id()
                    .eq_ignore_ascii_case(&peering.remote_virtual_network_id)
            })
            .expect("the remote is Aiven's VNet");
        let aiven_peerings = new_peerings(aiven_vnet);
        assert_eq!(aiven_peerings.len(), 1);
        assert_eq!(aiven_peerings[0].peering_state, "Connected");
        assert!(
            aiven_peerings[0]
                .remote_virtual_network_id
                .eq_ignore_ascii_case(&ready.vnet_id)
        );

        let connections: Vec<_> = world
            .aiven_projects
            .iter()
            .flat_map(|project| project.vpcs.iter())
            .flat_map(|vpc| vpc.peering_connections.iter())
            .filter(|connection| !baseline.connections.contains(&connection.id))
            .collect();
        assert_eq!(connections.len(), 1, "one Aiven peering connection");
        assert_eq!(connections[0].state, "ACTIVE");
        assert_eq!(
            connections[0].peer_resource_group,
            ready.resource_group.to_lowercase()
        );
        assert_eq!(connections[0].peer_vpc, ready.vnet_name.to_lowercase());
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_four_phases_reach_an_active_peering() {
    let harness = Harness::start().await;
    let prepared = harness.prepare_tenant().run().await;
    prepared.assert_success();
    for name in [
        "user_tenant_id",
        "user_subscription_id",
        "user_resource_group",
        "user_vnet_name",
        "user_vnet_id",
        "user_app_id",
        "user_sp_id",
        "aiven_sp_id",
        "aiven_role_id",
    ] {
        assert!(!prepared.output(name).is_empty(), "{name}");
    }
    assert_eq!(
        prepared.output("user_tenant_id"),
        harness.ready().user_tenant_id
    );
    let requested = harness.request_peering().run().await;
    requested.assert_success();
    assert_eq!(requested.output("peering_state"), "PENDING_PEER");
    assert_eq!(
        requested.output("aiven_tenant_id"),
        harness.ready().aiven_tenant_id
    );
    harness.accept_peering().run().await.assert_success();
    let active = harness.await_active().run().await;
    active.assert_success();
    assert_eq!(active.output("peering_state"), "ACTIVE");
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_phase_run_again_writes_nothing_and_gives_the_same_outputs() {
    let harness = Harness::start().await;
    let mut first = Vec::new();
    first.push(harness.prepare_tenant().run().await);
    first.push(harness.request_peering().run().await);
    first.push(harness.accept_peering().run().await);
    first.push(harness.await_active().run().await);
    for run in &first {
        run.assert_success();
    }
    let writes = harness.write_count();
    let again = [
        harness.prepare_tenant().run().await,
        harness.request_peering().run().await,
        harness.accept_peering().run().await,
        harness.await_active().run().await,
    ];
    for (index, run) in again.iter().enumerate() {
        run.assert_success();
        if index != 1 {
            // request-peering ends at PENDING_PEER the first time and sees ACTIVE now.
            assert_eq!(
                run.outputs(),
                first[index].outputs(),
                "phase {index} gives the same outputs"
            );
        }
    }
    assert_eq!(
        harness.writes_since(writes),
        Vec::<String>::new(),
        "the second runs made no write request"
    );
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_network_contributor_role_is_available() {
    let harness = Harness::start().await;
    harness
        .prepare_tenant()
        .args(["--user-role", "network-contributor"])
        .run()
        .await
        .assert_success();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.state_file()).unwrap()).unwrap();
    assert!(
        state["user_role_id"]
            .as_str()
            .unwrap()
            .ends_with("4d97b98b-1d4f-4787-a291-c67834d212e7")
    );
    harness.request_peering().run().await.assert_success();
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_project_vpc_is_found_by_the_vnets_region() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    let run = harness
        .phase("request-peering")
        .args([
            "--project",
            &harness.ready().aiven_project.clone(),
            "--poll-interval",
            "100ms",
        ])
        .args([
            "--state".to_string(),
            harness.state_file().display().to_string(),
        ])
        .run()
        .await;
    run.assert_success();
    assert_eq!(
        run.output("aiven_project_vpc_id"),
        harness.ready().project_vpc_id
    );
    assert_eq!(
        run.output("aiven_cloud"),
        format!("azure-{}", harness.ready().vnet_location)
    );
}
