//! The seed's stored secret (`--store-secret-in`): kept alive before it expires, never broken by
//! a lost answer, and written to environments whose names need encoding, through a GitHub API
//! that lives under a path (GitHub Enterprise Server).

use api_core::env_vars;
use cloud_sim::{FailMode, Faults};
use tests::Harness;

/// prepare-tenant storing the app password in `scope`.
fn store_in<'a>(harness: &'a Harness, scope: &str) -> tests::Phase<'a> {
    harness
        .prepare_tenant()
        .args(["--store-secret-in", scope])
        .env(env_vars::GITHUB_TOKEN, harness.ready().github_token.clone())
}

/// Whether the app accepts `secret` as one of its live passwords (compared by hash, as the
/// simulator keeps them).
fn app_accepts(harness: &Harness, secret: &str) -> bool {
    let app_id = harness.seeded().state()["user_app_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = secret.to_string();
    harness
        .sim
        .with_world(|world| world.application_accepts_secret(&app_id, &secret))
}

fn stored_passwords(harness: &Harness) -> usize {
    let app_id = harness.seeded().state()["user_app_id"]
        .as_str()
        .unwrap()
        .to_string();
    harness.sim.with_world(|world| {
        world
            .application_by_app_id(&app_id)
            .map(|app| app.password_credentials.len())
            .unwrap_or_default()
    })
}

// Regression: "the secret exists and a password with this name exists" counted as done forever,
// so the stored password expired in place.
#[tokio::test(flavor = "multi_thread")]
async fn a_stored_password_near_its_expiry_is_rotated() {
    let harness = Harness::start().await;
    let repository = harness.ready().github_repository.clone();
    let read = || {
        harness
            .sim
            .github_secret(&repository, None, env_vars::AIVEN_PEERING_APP_SECRET)
    };
    // Ten days to live: inside the default rotation window of thirty.
    let short = ["--stored-secret-lifetime", "10days"];
    store_in(&harness, &repository)
        .args(short)
        .run()
        .await
        .assert_success();
    let first = read().expect("stored");
    let again = store_in(&harness, &repository).args(short).run().await;
    again.assert_success();
    let second = read().expect("still stored");
    assert_ne!(first, second, "rotated");
    assert!(app_accepts(&harness, &second));
    assert!(
        !app_accepts(&harness, &first),
        "the old password was removed"
    );
    assert_eq!(stored_passwords(&harness), 1);
    // A password inside a --rotate-before window is rotated into a long-lived one, which a
    // later run leaves alone.
    store_in(&harness, &repository)
        .args([
            "--stored-secret-lifetime",
            "180days",
            "--rotate-before",
            "30days",
        ])
        .run()
        .await
        .assert_success();
    let third = read().unwrap();
    assert_ne!(third, second);
    let writes = harness.write_count();
    store_in(&harness, &repository).run().await.assert_success();
    assert_eq!(read().unwrap(), third);
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
    harness.assert_no_secret_leaked();
}

// Regression: when the answer to the secret write was lost, the phase removed the password it had
// just minted, which the secret might now hold.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_write_whose_answer_was_lost_keeps_the_password_it_may_hold() {
    let harness = Harness::start().await;
    let repository = harness.ready().github_repository.clone();
    harness.prepare_tenant().run().await.assert_success();
    // This run's writes: addPassword, then the secret PUT, whose answer is lost.
    harness.sim.set_faults(Faults {
        fail_nth_write: Some(2),
        fail_mode: FailMode::After,
        ..Faults::default()
    });
    let run = store_in(&harness, &repository).run().await;
    harness.sim.set_faults(Faults::default());
    let lost = harness.sim.requests().iter().any(|record| {
        record.fault.as_deref() == Some("fail-write-after") && record.service == "github"
    });
    assert!(lost, "the secret write's answer was lost");
    // Whatever the run concluded, the password the secret holds now must still be valid.
    let held = harness
        .sim
        .github_secret(&repository, None, env_vars::AIVEN_PEERING_APP_SECRET)
        .expect("the secret was written");
    assert!(
        app_accepts(&harness, &held),
        "the password the secret holds is alive (exit {}):\n{}",
        run.code,
        run.stderr
    );
    run.assert_success();
    assert_eq!(stored_passwords(&harness), 1, "and it is the only one");
    harness.assert_no_secret_leaked();
}

// Regression: environment names went into the API path unencoded; a space broke the request.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_an_environment_whose_name_needs_encoding() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    assert!(
        ready.github.ends_with("/api/v3"),
        "GitHub Enterprise Server's API base"
    );
    store_in(
        &harness,
        &format!("{}:production eu", ready.github_repository),
    )
    .run()
    .await
    .assert_success();
    let stored = harness
        .sim
        .github_secret(
            &ready.github_repository,
            Some("production eu"),
            env_vars::AIVEN_PEERING_APP_SECRET,
        )
        .expect("stored in the environment");
    assert!(app_accepts(&harness, &stored));
}
