//! The GitLab example pipeline runs end to end with `gitlab-ci-local` (shell executor) against
//! the simulator: values travel between jobs only through dotenv reports, and accept-peering
//! signs the app in with the job's id_token (federated mode).

use crate::procedure::assert_final_state_without_state_file;
use api_core::env_vars;
use std::path::{Path, PathBuf};
use std::process::Command;
use tests::Harness;

fn gitlab_ci_local() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let tools = std::env::var(env_vars::PEERING_CI_TOOLS)
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/ci-tools"));
    let path = tools.join("node_modules/.bin/gitlab-ci-local");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: .ci/run installs it",
        path.display()
    );
    eprintln!(
        "skipping: {} is not installed (run .ci/run)",
        path.display()
    );
    None
}

fn git(directory: &Path, arguments: &[&str]) {
    let status = Command::new("git")
        .args(arguments)
        .current_dir(directory)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {arguments:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gitlab_example_pipeline_reaches_active() {
    let Some(runner) = gitlab_ci_local() else {
        return;
    };
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let repository = tempfile::tempdir().unwrap();
    let directory = repository.path();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gitlab/peering.gitlab-ci.yml");
    std::fs::copy(example, directory.join(".gitlab-ci.yml")).unwrap();
    git(directory, &["init", "--quiet", "--initial-branch", "main"]);
    git(
        directory,
        &[
            "remote",
            "add",
            "origin",
            "git@gitlab.example.com:acme/infra.git",
        ],
    );
    git(directory, &["add", ".gitlab-ci.yml"]);
    git(
        directory,
        &[
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "--quiet",
            "-m",
            "pipeline",
        ],
    );

    // What GitLab would give the accept-peering job for `id_tokens: PEERING_OIDC_TOKEN`.
    let id_token = harness.sim.gitlab_id_token(
        "project_path:acme/infra:ref_type:branch:ref:main",
        "api://AzureADTokenExchange",
    );
    let issuer = format!("{}/gitlab", ready.control);
    let mut variables: Vec<(String, String)> = tests::client_env(&ready);
    variables.extend([
        (
            env_vars::PEERING_USER_SUBSCRIPTION_ID.into(),
            ready.subscription_id.clone(),
        ),
        (
            env_vars::PEERING_USER_RESOURCE_GROUP.into(),
            ready.resource_group.clone(),
        ),
        (
            env_vars::PEERING_USER_VNET_NAME.into(),
            ready.vnet_name.clone(),
        ),
        (
            env_vars::PEERING_AIVEN_PROJECT.into(),
            ready.aiven_project.clone(),
        ),
        (
            env_vars::PEERING_AIVEN_PROJECT_VPC_ID.into(),
            ready.project_vpc_id.clone(),
        ),
        (env_vars::PEERING_RETRY_INTERVAL.into(), "100ms".into()),
        (env_vars::PEERING_POLL_INTERVAL.into(), "100ms".into()),
        (env_vars::PEERING_FEDERATED_ISSUER.into(), issuer.clone()),
        (env_vars::PEERING_OIDC_TOKEN.into(), id_token),
    ]);
    let path = format!(
        "{}:{}",
        tests::binary_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = tokio::process::Command::new(&runner);
    command
        .arg("--shell-executor-no-image")
        .current_dir(directory)
        .env("PATH", path)
        .env("HOME", directory);
    for (name, value) in &variables {
        command.arg("--variable").arg(format!("{name}={value}"));
    }
    let output = command.output().await.expect("gitlab-ci-local starts");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    harness.record_printed(printed.clone());
    assert!(output.status.success(), "the pipeline failed:\n{printed}");
    for job in [
        "prepare-tenant",
        "request-peering",
        "accept-peering",
        "await-active",
    ] {
        assert!(
            printed.contains(&format!("PASS  {job}")),
            "{job} passed:\n{printed}"
        );
    }
    // The dotenv reports carried the values, and nothing secret.
    for report in ["prepare.env", "request.env"] {
        let text = std::fs::read_to_string(directory.join(report))
            .or_else(|_| {
                std::fs::read_to_string(
                    directory
                        .join(".gitlab-ci-local/artifacts")
                        .join(report.trim_end_matches(".env"))
                        .join(report),
                )
            })
            .unwrap_or_default();
        harness.record_printed(text);
    }
    assert!(printed.contains("peering_state=ACTIVE"), "{printed}");
    assert_final_state_without_state_file(&harness);
    harness.sim.with_world(|world| {
        let app = world
            .applications
            .iter()
            .find(|app| {
                app.tenant_id == ready.user_tenant_id
                    && !harness.baseline.applications.contains(&app.object_id)
            })
            .unwrap();
        assert_eq!(app.federated_identity_credentials.len(), 1);
        assert_eq!(app.federated_identity_credentials[0].issuer, issuer);
        assert_eq!(
            app.federated_identity_credentials[0].subject,
            "project_path:acme/infra:ref_type:branch:ref:main"
        );
    });
    harness.assert_no_secret_leaked();
}
