//! The failure modes users meet, each with a clear message and the right exit code.

use tests::Harness;

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_without_application_administrator_is_told_so() {
    let harness = Harness::start().await;
    let admin_app = harness.ready().admin_client_id.clone();
    harness.sim.with_world(|world| {
        for principal in world
            .service_principals
            .iter_mut()
            .filter(|sp| sp.app_id == admin_app)
        {
            principal.directory_roles.clear();
        }
    });
    let run = harness.prepare_tenant().run().await;
    run.assert_code(1);
    assert!(
        run.stderr.contains("Application administrator"),
        "{}",
        run.stderr
    );
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
    // A short grace: the grant was removed for good, not merely slow to propagate.
    let run = harness
        .request_peering()
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
    harness
        .request_peering()
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
    crate::procedure::assert_final_state(&harness);
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
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disconnected_peering_is_deleted_and_recreated() {
    let harness = Harness::start().await;
    harness.run_procedure().await;
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
    let run = harness.accept_peering().run().await;
    run.assert_success();
    assert!(run.stderr.contains("Disconnected"), "{}", run.stderr);
    assert_eq!(run.output("user_peering_state"), "Connected");
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
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_faults_are_retried() {
    let harness = Harness::start().await;
    harness.sim.set_faults(cloud_sim::Faults {
        rate_429: 0.1,
        rate_503: 0.1,
        seed: 7,
        ..Default::default()
    });
    harness.run_procedure().await;
    harness.sim.set_faults(cloud_sim::Faults::default());
    crate::procedure::assert_final_state(&harness);
}
