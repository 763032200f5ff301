//! The four binaries run the way GitHub Actions runs them: each job with fresh
//! `GITHUB_OUTPUT`/`GITHUB_ENV`/`GITHUB_STEP_SUMMARY` files, the next job's inputs taken only
//! from the previous jobs' outputs, in each credential mode.

use api_core::env_vars;
use std::collections::BTreeMap;
use tests::{Harness, Phase, parse_github_output};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Ephemeral,
    Federated,
    Stored,
}

/// A job: the phase with the runner's files, returning its outputs.
async fn job(
    harness: &Harness,
    name: &str,
    phase: Phase<'_>,
    inputs: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let output = harness.path(&format!("{name}.output"));
    let summary = harness.path(&format!("{name}.summary.md"));
    let environment = harness.path(&format!("{name}.env"));
    for file in [&output, &summary, &environment] {
        std::fs::write(file, "").unwrap();
    }
    let mut phase = phase
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", output.display().to_string())
        .env("GITHUB_STEP_SUMMARY", summary.display().to_string())
        .env("GITHUB_ENV", environment.display().to_string());
    // What the generated action does: every non-empty input becomes PEERING_<NAME>.
    for (name, value) in inputs {
        phase = phase.env(env_vars::for_output(name), value.clone());
    }
    let run = phase.run().await;
    run.assert_success();
    assert!(
        run.stdout.contains(&format!("::group::{name}")),
        "{}",
        run.stdout
    );
    let summary_text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary_text.contains("| resource | name | result | id |"),
        "{summary_text}"
    );
    parse_github_output(&std::fs::read_to_string(&output).unwrap())
}

async fn workflow(mode: Mode) {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let admin = [
        env_vars::AZURE_TENANT_ID,
        env_vars::AZURE_CLIENT_ID,
        env_vars::AZURE_CLIENT_SECRET,
    ];

    // Job 1: prepare-tenant, with the admin identity (environment-protected secrets).
    let mut prepare = harness
        .phase("prepare-tenant")
        .env(env_vars::AIVEN_AUTH_TOKEN, "");
    match mode {
        Mode::Ephemeral => {}
        Mode::Federated => {
            prepare = prepare
                .arg("--federate-this-job")
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    ready.github_oidc_request_url.clone(),
                )
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    ready.github_oidc_request_token.clone(),
                );
        }
        Mode::Stored => {
            prepare = prepare
                .args([
                    "--store-secret-in",
                    &format!("{}:production", ready.github_repository),
                ])
                .env("GITHUB_TOKEN", ready.github_token.clone());
        }
    }
    let inputs = BTreeMap::from([
        (
            "user_subscription_id".to_string(),
            ready.subscription_id.clone(),
        ),
        (
            "user_resource_group".to_string(),
            ready.resource_group.clone(),
        ),
        ("user_vnet_name".to_string(), ready.vnet_name.clone()),
    ]);
    let prepared = job(&harness, "prepare-tenant", prepare, &inputs).await;
    // Exactly the outputs the generated action declares.
    assert_eq!(
        prepared
            .keys()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>(),
        peering::Phase::PrepareTenant
            .outputs()
            .map(|output| output.name)
            .collect()
    );

    // Job 2: request-peering, with the Aiven token only.
    let mut inputs = prepared.clone();
    inputs.insert("aiven_project".into(), ready.aiven_project.clone());
    inputs.insert("aiven_project_vpc_id".into(), ready.project_vpc_id.clone());
    inputs.insert("poll_interval".into(), "100ms".into());
    let mut request = harness.phase("request-peering");
    for variable in admin {
        request = request.env_remove(variable);
    }
    let requested = job(&harness, "request-peering", request, &inputs).await;
    assert_eq!(requested["peering_state"], "PENDING_PEER");

    // Job 3: accept-peering, with the credential of the mode and nothing else.
    let mut inputs = prepared.clone();
    inputs.extend(requested.clone());
    let mut accept = harness
        .phase("accept-peering")
        .env_remove(env_vars::AIVEN_AUTH_TOKEN);
    match mode {
        Mode::Ephemeral => {}
        Mode::Federated => {
            for variable in admin {
                accept = accept.env_remove(variable);
            }
            accept = accept
                .args(["--credential", "federated"])
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    ready.github_oidc_request_url.clone(),
                )
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    ready.github_oidc_request_token.clone(),
                );
        }
        Mode::Stored => {
            for variable in admin {
                accept = accept.env_remove(variable);
            }
            let secret = harness
                .sim
                .github_secret(
                    &ready.github_repository,
                    Some("production"),
                    env_vars::AIVEN_PEERING_APP_SECRET,
                )
                .expect("prepare-tenant stored the app password in the environment secret");
            accept = accept
                .args(["--credential", "stored"])
                .env(env_vars::PEERING_USER_APP_SECRET, secret);
        }
    }
    let accepted = job(&harness, "accept-peering", accept, &inputs).await;
    assert_eq!(accepted["user_peering_state"], "Connected");

    // Job 4: await-active.
    let mut inputs = prepared.clone();
    inputs.extend(requested);
    inputs.insert("poll_interval".into(), "100ms".into());
    let mut wait = harness.phase("await-active");
    for variable in admin {
        wait = wait.env_remove(variable);
    }
    let active = job(&harness, "await-active", wait, &inputs).await;
    assert_eq!(active["peering_state"], "ACTIVE");

    harness.sim.with_world(|world| {
        let app = world
            .applications
            .iter()
            .find(|app| app.app_id == prepared["user_app_id"])
            .unwrap();
        match mode {
            Mode::Federated => {
                assert_eq!(app.federated_identity_credentials.len(), 1);
                assert_eq!(
                    app.federated_identity_credentials[0].issuer,
                    "https://token.actions.githubusercontent.com"
                );
                assert!(app.password_credentials.is_empty());
            }
            Mode::Stored => assert_eq!(
                app.password_credentials.len(),
                1,
                "the stored password only"
            ),
            Mode::Ephemeral => assert!(app.password_credentials.is_empty()),
        }
    });
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_chained_by_outputs_with_an_ephemeral_password() {
    workflow(Mode::Ephemeral).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_chained_by_outputs_with_federated_oidc() {
    workflow(Mode::Federated).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_chained_by_outputs_with_a_stored_github_secret() {
    workflow(Mode::Stored).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn storing_a_secret_with_the_default_github_token_names_the_permission() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let run = harness
        .prepare_tenant()
        .args(["--store-secret-in", &ready.github_repository])
        .env("GITHUB_TOKEN", ready.github_readonly_token.clone())
        .run()
        .await;
    run.assert_code(1);
    assert!(run.stderr.contains("secrets: write"), "{}", run.stderr);
    harness.sim.with_world(|world| {
        for app in world.applications.iter().filter(|app| {
            app.tenant_id == ready.user_tenant_id
                && !harness.baseline.applications.contains(&app.object_id)
        }) {
            assert!(
                app.password_credentials.is_empty(),
                "no orphan password on {}",
                app.display_name
            );
        }
    });
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_dotenv_reports_feed_the_next_job() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let dotenv = harness.path("peering.env");
    let run = harness
        .prepare_tenant()
        .env("GITLAB_CI", "true")
        .run()
        .await;
    run.assert_success();
    let text = std::fs::read_to_string(&dotenv).unwrap();
    assert!(text.len() < 5 * 1024, "GitLab's 5 KB limit");
    let mut next = harness
        .phase("request-peering")
        .args(["--poll-interval", "100ms"]);
    for line in text.lines() {
        assert!(
            !line.contains('"') && !line.contains('\''),
            "no quotes: {line}"
        );
        let (key, value) = line.split_once('=').unwrap();
        assert!(
            key.starts_with(env_vars::PEERING_PREFIX)
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{key}"
        );
        next = next.env(key, value);
    }
    let run = next
        .env(env_vars::PEERING_AIVEN_PROJECT, ready.aiven_project.clone())
        .env(
            env_vars::PEERING_AIVEN_PROJECT_VPC_ID,
            ready.project_vpc_id.clone(),
        )
        .run()
        .await;
    run.assert_success();
    harness.assert_no_secret_leaked();
}
