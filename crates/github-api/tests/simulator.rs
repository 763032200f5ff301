//! The GitHub client against `cloud-sim`: an API that lives under a path (GitHub Enterprise
//! Server), environment names that need encoding, and no retry of its own.

use api_core::Secret;
use api_core::env_vars;
use cloud_sim::{FailMode, Faults, Sim, SimConfig};
use github_api::{GitHub, GitHubError, SecretTarget};

/// Each simulator has its own CA and `SSL_CERT_FILE` is one per process: the tests of this
/// binary take turns, or one would build its client with another's CA.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn busy_sim() -> Sim {
    let sim = Sim::start(SimConfig::fast().busy())
        .await
        .expect("the simulator starts");
    // octocrab's TLS reads extra CAs from SSL_CERT_FILE. Every test of this binary sets the
    // same kind of value, and nothing reads it concurrently in a way that matters.
    // SAFETY: tests set it before they build a client; the value is a valid path.
    unsafe { std::env::set_var(env_vars::SSL_CERT_FILE, &sim.ready().ca_cert) };
    sim
}

fn client(sim: &Sim) -> GitHub {
    let base = api_core::endpoints::parse_api_base(env_vars::GITHUB_API_URL, &sim.ready().github)
        .expect("the simulator's API base parses");
    GitHub::new(&base, &Secret::new(sim.ready().github_token.clone())).expect("a client")
}

// Regression: a GitHub Enterprise Server API base (with /api/v3) and an environment name with a
// space.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_written_under_the_api_path_to_encoded_environments() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sim = busy_sim().await;
    assert!(sim.ready().github.ends_with("/api/v3"));
    let target = SecretTarget::parse("acme/infra:production eu").expect("a target");
    client(&sim)
        .put_secret(&target, "TEST_SECRET", &Secret::new("value".to_string()))
        .await
        .expect("written");
    assert_eq!(
        sim.github_secret("acme/infra", Some("production eu"), "TEST_SECRET")
            .as_deref(),
        Some("value")
    );
    let paths: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|record| record.service == "github")
        .map(|record| record.path)
        .collect();
    assert!(
        paths.iter().all(|path| path.starts_with("/api/v3/")),
        "{paths:?}"
    );
}

// Regression: octocrab's own retry layer sent a failed write again, out of sight of the one
// place that decides retries.
#[tokio::test(flavor = "multi_thread")]
async fn the_client_does_not_retry_on_its_own() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sim = busy_sim().await;
    let target = SecretTarget::parse("acme/infra").expect("a target");
    let github = client(&sim);
    // Reads happen first (the public key); the first write is the secret PUT.
    sim.set_faults(Faults {
        fail_nth_write: Some(1),
        fail_mode: FailMode::Before,
        ..Faults::default()
    });
    let result = github
        .put_secret(&target, "TEST_SECRET", &Secret::new("value".to_string()))
        .await;
    assert!(
        matches!(result, Err(GitHubError::Unconfirmed { .. })),
        "a 500 on a write is reported, not retried: {result:?}"
    );
    let puts = sim
        .requests()
        .into_iter()
        .filter(|record| record.service == "github" && record.method == "PUT")
        .count();
    assert_eq!(puts, 1);
}
