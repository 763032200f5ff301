//! The generated composite actions run the way GitHub Actions runs them (`tests::github_runner`
//! executes each `actions/<phase>/action.yml` from the YAML itself), in workflows shaped like
//! the example, in each credential mode: jobs chained only by job outputs, secret-bearing
//! outputs dropped by the runner, every secret a phase handles masked.

use crate::procedure::{Mode, assert_final_state_named};
use api_core::env_vars;
use cloud_sim::SecretKind;
use std::collections::BTreeMap;
use tests::Harness;
use tests::github_runner::{JobResult, WorkflowContext, run_workflow};

fn workflow_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e/workflows")
        .join(format!("{name}.yml"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The repository's settings: dispatch inputs, secrets and variables, as the example asks.
fn context(harness: &Harness) -> WorkflowContext {
    let ready = harness.ready().clone();
    let mut machine_env = tests::client_env(&ready);
    // A runner has no credentials of its own: they come from the workflow's secrets.
    machine_env.retain(|(name, _)| {
        ![
            env_vars::AZURE_TENANT_ID,
            env_vars::AZURE_CLIENT_ID,
            env_vars::AZURE_CLIENT_SECRET,
            env_vars::AIVEN_AUTH_TOKEN,
        ]
        .contains(&name.as_str())
    });
    machine_env.push((env_vars::PEERING_LOG.to_string(), "info".to_string()));
    WorkflowContext {
        inputs: BTreeMap::from([
            ("subscription-id".into(), ready.subscription_id.clone()),
            ("resource-group".into(), ready.resource_group.clone()),
            ("vnet-name".into(), ready.vnet_name.clone()),
            ("aiven-project".into(), ready.aiven_project.clone()),
            ("aiven-project-vpc-id".into(), ready.project_vpc_id.clone()),
        ]),
        secrets: BTreeMap::from([
            (
                env_vars::AZURE_TENANT_ID.into(),
                ready.user_tenant_id.clone(),
            ),
            (
                env_vars::AZURE_CLIENT_ID.into(),
                ready.admin_client_id.clone(),
            ),
            (
                env_vars::AZURE_CLIENT_SECRET.into(),
                ready.admin_client_secret.clone(),
            ),
            (env_vars::AIVEN_TOKEN.into(), ready.aiven_token.clone()),
            ("SECRETS_WRITER_TOKEN".into(), ready.github_token.clone()),
        ]),
        vars: BTreeMap::from([(
            env_vars::AZURE_TENANT_ID.into(),
            ready.user_tenant_id.clone(),
        )]),
        repository: ready.github_repository.clone(),
        machine_env,
    }
}

#[track_caller]
fn assert_succeeded(jobs: &BTreeMap<String, JobResult>, job: &str) {
    let result = &jobs[job];
    assert!(result.succeeded, "job {job} failed:\n{}", result.log);
    assert!(
        result.log.contains(&format!("::group::{job}")),
        "{job} groups its log:\n{}",
        result.log
    );
    assert!(
        result.summary.contains("| resource | name | result | id |"),
        "{job} wrote its step summary:\n{}",
        result.summary
    );
}

/// Every secret of `kind` the simulator issued during `job` was masked by the phase itself.
#[track_caller]
fn assert_masked(jobs: &BTreeMap<String, JobResult>, job: &str, kind: SecretKind) {
    let result = &jobs[job];
    let handled: Vec<&String> = result
        .issued
        .iter()
        .filter(|(issued_kind, _)| *issued_kind == kind)
        .map(|(_, secret)| secret)
        .collect();
    assert!(!handled.is_empty(), "job {job} handled a {kind:?}");
    for secret in handled {
        assert!(
            result.masked.contains(secret),
            "job {job} did not ::add-mask:: a {kind:?} it handled"
        );
    }
}

async fn run_example_shaped(mode: Mode) -> (Harness, BTreeMap<String, JobResult>) {
    let harness = Harness::start().await;
    let mut context = context(&harness);
    let name = match mode {
        Mode::Ephemeral => "ephemeral",
        Mode::Federated => "federated",
        Mode::Stored => "stored",
    };
    let workflow = workflow_file(name);
    let mut jobs = run_workflow(&harness, &workflow, &context).await;
    if mode == Mode::Stored {
        // The secret prepare-tenant wrote is not there for this run's later jobs...
        let accept = &jobs["accept-peering"];
        assert!(!accept.succeeded, "accept-peering had no stored secret yet");
        assert!(
            accept.log.contains(env_vars::PEERING_USER_APP_SECRET),
            "{}",
            accept.log
        );
        assert_masked(&jobs, "prepare-tenant", SecretKind::Password);
        // ...but for the next run's.
        let ready = harness.ready().clone();
        let stored = harness
            .sim
            .github_secret(
                &ready.github_repository,
                Some("production"),
                env_vars::AIVEN_PEERING_APP_SECRET,
            )
            .expect("prepare-tenant stored the app password in the environment secret");
        context
            .secrets
            .insert(env_vars::AIVEN_PEERING_APP_SECRET.to_string(), stored);
        jobs = run_workflow(&harness, &workflow, &context).await;
    }
    for job in [
        "prepare-tenant",
        "request-peering",
        "accept-peering",
        "await-active",
    ] {
        assert_succeeded(&jobs, job);
    }
    // The tenant id equals the AZURE_TENANT_ID secret: the runner drops that output.
    assert_eq!(
        jobs["prepare-tenant"].dropped_outputs,
        ["user_tenant_id"],
        "{}",
        jobs["prepare-tenant"].log
    );
    assert!(
        jobs["prepare-tenant"]
            .log
            .contains("Skip output 'user_tenant_id' since it may contain secret")
    );
    assert_eq!(
        jobs["accept-peering"].outputs["user_peering_state"],
        "Connected"
    );
    assert_eq!(jobs["await-active"].outputs["peering_state"], "ACTIVE");
    assert!(jobs["await-active"].log.contains("peering is ACTIVE"));
    assert_final_state_named(&harness, mode.snapshot());
    harness.assert_no_secret_leaked();
    (harness, jobs)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actions_chained_by_job_outputs_with_an_ephemeral_password() {
    let (_harness, jobs) = run_example_shaped(Mode::Ephemeral).await;
    assert_masked(&jobs, "accept-peering", SecretKind::Password);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actions_chained_by_job_outputs_with_federated_oidc() {
    let (harness, jobs) = run_example_shaped(Mode::Federated).await;
    assert_masked(&jobs, "accept-peering", SecretKind::OidcToken);
    harness.with_the_new_app(|app| {
        assert_eq!(
            app.federated_identity_credentials[0].subject,
            "repo:acme/infra:environment:peering"
        );
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actions_chained_by_job_outputs_with_a_stored_github_secret() {
    let (harness, jobs) = run_example_shaped(Mode::Stored).await;
    let stored = harness
        .sim
        .github_secret(
            &harness.ready().github_repository,
            Some("production"),
            env_vars::AIVEN_PEERING_APP_SECRET,
        )
        .unwrap();
    assert!(
        jobs["accept-peering"].masked.contains(&stored),
        "accept-peering masks the stored secret it was given"
    );
}

/// The runner's masking and output rule, on a workflow of plain steps.
#[tokio::test(flavor = "multi_thread")]
async fn the_runner_imitation_masks_and_drops_outputs_holding_a_secret() {
    let harness = Harness::start().await;
    let mut context = context(&harness);
    context
        .secrets
        .insert("TOKEN".into(), "s3cr3t-value".into());
    let workflow = r#"
on: workflow_dispatch
jobs:
  first:
    outputs:
      plain: ${{ steps.step.outputs.plain }}
      masked: ${{ steps.step.outputs.masked }}
      from-secret: ${{ steps.step.outputs.from-secret }}
    steps:
      - id: step
        env:
          TOKEN: ${{ secrets.TOKEN }}
        run: |
          echo "::add-mask::hidden-word"
          echo "plain=visible" >> "$GITHUB_OUTPUT"
          echo "masked=a hidden-word here" >> "$GITHUB_OUTPUT"
          echo "from-secret=x${TOKEN}x" >> "$GITHUB_OUTPUT"
          echo "log shows hidden-word and $TOKEN"
  second:
    needs: first
    steps:
      - run: test "${{ needs.first.outputs.plain }}" = visible && test -z "${{ needs.first.outputs.masked }}"
"#;
    let jobs = run_workflow(&harness, workflow, &context).await;
    let first = &jobs["first"];
    assert!(first.succeeded, "{}", first.log);
    assert_eq!(first.outputs.keys().collect::<Vec<_>>(), ["plain"]);
    assert_eq!(first.dropped_outputs, ["masked", "from-secret"]);
    assert!(first.log.contains("log shows *** and ***"), "{}", first.log);
    assert!(jobs["second"].succeeded, "{}", jobs["second"].log);
}

/// A token that may read Actions secrets but not write them: prepare-tenant has minted the
/// password when the PUT is refused, and removes it before failing.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_secret_write_removes_the_password_just_minted() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let run = harness
        .prepare_tenant()
        .args([
            "--store-secret-in",
            &format!("{}:production", ready.github_repository),
        ])
        .env(
            env_vars::GITHUB_TOKEN,
            ready.github_secrets_read_token.clone(),
        )
        .run()
        .await;
    run.assert_code(1);
    assert!(run.stderr.contains("secrets: write"), "{}", run.stderr);
    let graph_writes: Vec<(String, u16)> = harness
        .sim
        .requests()
        .into_iter()
        .filter(|record| record.service == "graph" && record.write)
        .map(|record| {
            (
                record.route.rsplit('/').next().unwrap_or("").to_string(),
                record.status,
            )
        })
        .collect();
    let minted = graph_writes
        .iter()
        .position(|(action, status)| action == "addPassword" && *status == 200)
        .expect("the password was minted before the secret write");
    assert!(
        graph_writes[minted..]
            .iter()
            .any(|(action, status)| action == "removePassword" && *status == 204),
        "and removed after the refused write: {graph_writes:?}"
    );
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
async fn storing_a_secret_with_the_default_github_token_names_the_permission() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let run = harness
        .prepare_tenant()
        .args(["--store-secret-in", &ready.github_repository])
        .env(env_vars::GITHUB_TOKEN, ready.github_readonly_token.clone())
        .run()
        .await;
    run.assert_code(1);
    assert!(run.stderr.contains("secrets: write"), "{}", run.stderr);
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_dotenv_reports_feed_the_next_job() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let dotenv = harness.path("peering.env");
    let run = harness
        .prepare_tenant()
        .env(env_vars::GITLAB_CI, "true")
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
