//! The seed document's own commands with the real CLIs against the simulator
//! (`tests::seed_replay`): the `avn` steps in every run (a small install), the whole document
//! with `az` too when `PEERING_TEST_AZ_REPLAY=1` (`.ci/run` runs it as `cargo xtask
//! seed-replay`). `avn` comes from the tools' environment (`.ci/install-tools`), the opt-in
//! replay's CLIs from `target/seed-replay/venv`; outside CI a missing one skips its test with
//! a notice, under CI it is a failure.

use crate::procedure::assert_final_state;
use api_core::env_vars;
use cloud_sim::SimConfig;
use std::time::Duration;
use tests::Harness;
use tests::seed_replay::{self, Clis, ReplayOptions, SeedValues, Session};

/// The seed-replay virtual environment's CLIs for the opt-in `az` replay, or `None` (with a
/// notice) when they are missing outside CI.
fn replay_clis() -> Option<Clis> {
    let clis = Clis::in_venv(Clis::default_venv());
    if clis.has_avn() && clis.has_az() {
        return Some(clis);
    }
    assert!(
        std::env::var_os(env_vars::CI).is_none(),
        "az and avn are missing from {}: `cargo xtask seed-replay --install-only` installs them",
        clis.venv.display()
    );
    eprintln!(
        "skipping: az and avn are not installed in {} (`cargo xtask seed-replay --install-only`)",
        clis.venv.display()
    );
    None
}

/// Fails if a secret the simulator issued appears in the replay's table.
fn assert_table_shows_no_secret(harness: &Harness, table: &str) {
    for secret in harness.sim.issued_secrets() {
        assert!(
            secret.len() < 8 || !table.contains(&secret),
            "a secret is shown in:\n{table}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn avn_runs_the_seeds_aiven_steps_and_recreates_an_invalid_connection_when_installed() {
    // avn from the tools' environment (`.ci/install-tools`): a small install.
    let Some(avn) = tests::tools::AVN.for_test() else {
        return;
    };
    let venv = avn
        .parent()
        .and_then(|bin| bin.parent())
        .expect("avn lives in a virtual environment's bin/");
    let clis = Clis::in_venv(venv);
    // The seed's CLIs against the simulator's own world: avn shows the first listed connection
    // of a VNet, and the busy tenant lists a DELETED one first (request-peering skips it).
    let harness = Harness::start_with(SimConfig::fast()).await;
    let ready = harness.ready().clone();
    let prepared = harness.prepare_tenant().run().await;
    prepared.assert_success();
    // Aiven's app loses its `peer/action` grant: Aiven answers INVALID_SPECIFICATION.
    let aiven_sp_id = prepared.output("aiven_sp_id");
    harness.sim.with_world(|world| {
        world
            .role_assignments
            .retain(|assignment| assignment.principal_id != aiven_sp_id)
    });

    let poll = Duration::from_millis(100);
    let options = ReplayOptions::for_sim(&harness.sim, poll);
    let mut session = Session::new(&harness.sim, &clis, &options);
    session.values = SeedValues {
        user_app_id: prepared.output("user_app_id"),
        user_tenant_id: prepared.output("user_tenant_id"),
        user_subscription_id: prepared.output("user_subscription_id"),
        user_resource_group: prepared.output("user_resource_group"),
        user_vnet_name: prepared.output("user_vnet_name"),
        ..SeedValues::default()
    };
    session.request_peering().await.unwrap();
    let invalid = session.wait_for_state("12", "PENDING_PEER", poll).await;
    assert!(invalid.is_err(), "{invalid:?}");
    assert_eq!(session.values.peering_state, "INVALID_SPECIFICATION");

    // "Check your configuration and recreate the peering connection": prepare-tenant restores
    // the grant, the session deletes the connection, waits until it is gone and creates it.
    harness.prepare_tenant().run().await.assert_success();
    session.wait_for_pending_peer().await.unwrap();
    assert!(
        session.commands.iter().any(|command| command
            .shown
            .starts_with("avn vpc peering-connection delete")),
        "the connection was recreated"
    );
    assert_eq!(session.values.aiven_tenant_id, ready.aiven_tenant_id);
    assert!(
        session.values.aiven_vnet_id.contains("/virtualNetworks/"),
        "{}",
        session.values.aiven_vnet_id
    );

    // The values avn printed (TO-TENANT-ID, TO-NETWORK-ID) are what accept-peering needs.
    harness
        .accept_peering()
        .args(["--aiven-tenant-id", &session.values.aiven_tenant_id])
        .args(["--aiven-vnet-id", &session.values.aiven_vnet_id])
        .run()
        .await
        .assert_success();
    session.wait_for_state("14", "ACTIVE", poll).await.unwrap();
    let replay = seed_replay::Replay {
        commands: session.commands.clone(),
        values: session.values.clone(),
        wall: Duration::ZERO,
        seed_started: Duration::ZERO,
        seed_log: 0..0,
        outcome: Ok(()),
    };
    assert_final_state(&harness);
    assert_table_shows_no_secret(&harness, &seed_replay::table(&replay));
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_az_and_avn_replay_the_seed_to_active_when_peering_test_az_replay_is_1() {
    if std::env::var(env_vars::PEERING_TEST_AZ_REPLAY).as_deref() != Ok("1") {
        eprintln!(
            "skipping: set {}=1 to replay the seed with the real az here (.ci/run runs `cargo xtask seed-replay`)",
            env_vars::PEERING_TEST_AZ_REPLAY
        );
        return;
    }
    let Some(clis) = replay_clis() else {
        return;
    };
    // The seed's CLIs against the simulator's own world: avn shows the first listed connection
    // of a VNet, and the busy tenant lists a DELETED one first (request-peering skips it).
    let harness = Harness::start_with(SimConfig::fast()).await;
    let options = ReplayOptions::for_sim(&harness.sim, Duration::from_millis(200));
    let replay = seed_replay::replay(&harness.sim, &clis, &options).await;
    let table = seed_replay::table(&replay);
    if let Err(error) = &replay.outcome {
        panic!("the replay stopped before ACTIVE: {error}\n{table}");
    }
    assert_eq!(replay.values.peering_state, "ACTIVE");
    let problems = seed_replay::check_world(&harness.sim, &replay.values);
    assert!(problems.is_empty(), "{}\n{table}", problems.join("\n"));
    assert_table_shows_no_secret(&harness, &table);
}
