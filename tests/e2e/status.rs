//! `status` at every point of the procedure: it names the right next step, exits 0 only when
//! the peering is ACTIVE and the user side Connected and in sync, and writes nothing.

use api_core::env_vars;
use tests::{Harness, Run};

/// Runs status, checks that it wrote nothing (no remote write, the state file untouched) and
/// returns its run.
async fn status(harness: &Harness) -> Run {
    let writes = harness.write_count();
    let state_before = std::fs::read(harness.state_file()).ok();
    let run = harness.status().run().await;
    assert_eq!(
        harness.writes_since(writes),
        Vec::<String>::new(),
        "status wrote"
    );
    assert_eq!(
        std::fs::read(harness.state_file()).ok(),
        state_before,
        "status changed the state file"
    );
    run
}

#[track_caller]
fn assert_next(run: &Run, code: i32, next: &str) {
    run.assert_code(code);
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("next: "))
        .unwrap_or_else(|| panic!("no next line in:\n{}\n{}", run.stdout, run.stderr));
    assert!(
        line.starts_with(next),
        "expected {next:?}, got {line:?}\n{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_names_the_next_step_at_every_point_of_the_procedure() {
    let harness = Harness::start().await;
    assert_next(
        &status(&harness).await,
        1,
        "next: run prepare-tenant (missing: app registration",
    );

    harness.prepare_tenant().run().await.assert_success();
    // What prepare-tenant made must first replicate to be seen (the simulator's clock).
    tokio::time::sleep(harness.sim.delays().graph_replication_lag).await;
    assert_next(
        &status(&harness).await,
        1,
        "next: run request-peering (Aiven has no connection",
    );

    harness.request_peering().run().await.assert_success();
    let run = status(&harness).await;
    assert_next(
        &run,
        1,
        "next: run accept-peering (Aiven has been PENDING_PEER for ",
    );
    assert!(run.stdout.contains("PENDING_PEER"), "{}", run.stdout);

    harness.accept_peering().run().await.assert_success();
    // Aiven may see the user side and turn ACTIVE before status looks (its clock runs on).
    let run = status(&harness).await;
    if run.code == 0 {
        assert_next(&run, 0, "next: nothing, the peering is ACTIVE");
    } else {
        assert_next(&run, 1, "next: run await-active");
    }

    harness.await_active().run().await.assert_success();
    let run = status(&harness).await;
    assert_next(&run, 0, "next: nothing, the peering is ACTIVE");
    assert!(
        run.stdout.contains("Connected, FullyInSync"),
        "{}",
        run.stdout
    );

    // Machines read the same with --json.
    let json = harness.status().arg("--json").run().await;
    json.assert_success();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["ready"], true);
    assert_eq!(value["aiven_state"], "ACTIVE");

    // Someone deletes the user-side peering by hand.
    let vnet_id = harness.ready().vnet_id.clone();
    harness.sim.with_world(|world| {
        let vnet = world
            .virtual_networks
            .iter_mut()
            .find(|vnet| vnet.id().eq_ignore_ascii_case(&vnet_id))
            .unwrap();
        vnet.peerings.clear();
    });
    assert_next(&status(&harness).await, 1, "next: run accept-peering");
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    assert_next(&status(&harness).await, 0, "next: nothing");

    // Someone deletes the Aiven connection.
    harness.sim.with_world(|world| {
        for project in &mut world.aiven_projects {
            for vpc in &mut project.vpcs {
                vpc.peering_connections.clear();
            }
        }
    });
    assert_next(
        &status(&harness).await,
        1,
        "next: run request-peering (Aiven has no connection",
    );
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn status_names_the_rotation_of_an_expired_stored_password() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let stored = || {
        harness
            .prepare_tenant()
            .args(["--store-secret-in", &ready.github_repository])
            .env("GITHUB_TOKEN", ready.github_token.clone())
    };
    stored().run().await.assert_success();
    harness.request_peering().run().await.assert_success();
    // The password reaches its end date.
    harness.sim.with_world(|world| {
        for application in &mut world.applications {
            for password in application
                .password_credentials
                .iter_mut()
                .filter(|password| {
                    password
                        .display_name
                        .as_deref()
                        .is_some_and(|name| name.starts_with("aiven-peering stored"))
                })
            {
                password.end_time =
                    std::time::SystemTime::now() - std::time::Duration::from_secs(60);
            }
        }
    });
    let run = status(&harness).await;
    assert_next(
        &run,
        1,
        "next: run prepare-tenant --store-secret-in … (the stored app password ",
    );
    assert!(run.stdout.contains("expired"), "{}", run.stdout);
    stored().run().await.assert_success();
    assert_next(&status(&harness).await, 1, "next: run accept-peering");
    let secret = harness
        .sim
        .github_secret(
            &ready.github_repository,
            None,
            env_vars::AIVEN_PEERING_APP_SECRET,
        )
        .expect("the secret");
    harness
        .accept_peering()
        .args(["--credential", "stored"])
        .env(env_vars::PEERING_USER_APP_SECRET, secret)
        .run()
        .await
        .assert_success();
    harness.await_active().run().await.assert_success();
    assert_next(&status(&harness).await, 0, "next: nothing");
}
