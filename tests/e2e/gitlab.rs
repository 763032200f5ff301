//! The GitLab example pipeline, which includes the `peering` component (`templates/peering.yml`),
//! runs end to end with `gitlab-ci-local` (shell executor, the locally built binaries on PATH in
//! place of the release image) against the simulator: values travel between jobs only through
//! dotenv reports, and accept-peering signs the app in with the job's id_token (federated mode).

use crate::procedure::assert_final_state_named;
use api_core::env_vars;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use tests::Harness;

/// A dotenv report a job left: `KEY=value` lines, as GitLab reads them.
fn dotenv_report(directory: &Path, job: &str, file: &str) -> BTreeMap<String, String> {
    let candidates = [
        directory.join(file),
        directory
            .join(".gitlab-ci-local/artifacts")
            .join(job)
            .join(file),
    ];
    let text = candidates
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_else(|| panic!("the {job} job left its dotenv report {file} ({candidates:?})"));
    text.lines()
        .map(|line| {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{file}: not KEY=value: {line}"));
            (key.to_string(), value.to_string())
        })
        .collect()
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
    let Some(runner) = tests::tools::GITLAB_CI_LOCAL.for_test() else {
        return;
    };
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let repository = tempfile::tempdir().unwrap();
    let directory = repository.path();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // The example as a user copies it, except that the component comes from this project at
    // this commit (gitlab-ci-local then reads templates/ locally instead of fetching a release).
    let example =
        std::fs::read_to_string(root.join("examples/gitlab/peering.gitlab-ci.yml")).unwrap();
    let component_line = example
        .lines()
        .find(|line| line.contains("- component: "))
        .expect("the example includes the component");
    let pipeline = example.replace(
        component_line,
        "  - component: $CI_SERVER_FQDN/acme/infra/peering@$CI_COMMIT_SHA",
    );
    assert!(component_line.contains("/peering@v"), "{component_line}");
    std::fs::write(directory.join(".gitlab-ci.yml"), pipeline).unwrap();
    std::fs::create_dir_all(directory.join("templates")).unwrap();
    std::fs::copy(
        root.join("templates/peering.yml"),
        directory.join("templates/peering.yml"),
    )
    .unwrap();
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
    git(
        directory,
        &["add", ".gitlab-ci.yml", "templates/peering.yml"],
    );
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
        // The five values the example asks its user to set.
        ("VNET_SUBSCRIPTION_ID".into(), ready.subscription_id.clone()),
        ("VNET_RESOURCE_GROUP".into(), ready.resource_group.clone()),
        ("VNET_NAME".into(), ready.vnet_name.clone()),
        ("VPC_PROJECT".into(), ready.aiven_project.clone()),
        ("VPC_ID".into(), ready.project_vpc_id.clone()),
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
        .arg("--force-shell-executor")
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
    // The dotenv reports exist and carry what the next jobs read (and nothing secret: the
    // leak scan reads them).
    let prepared = dotenv_report(directory, "prepare-tenant", "prepare.env");
    let requested = dotenv_report(directory, "request-peering", "request.env");
    harness.record_printed(format!("{prepared:?}\n{requested:?}"));
    let app_id = harness.with_the_new_app(|app| app.app_id.clone());
    let aiven_vnet_id = harness.sim.with_world(|world| {
        world
            .aiven_projects
            .iter()
            .flat_map(|project| &project.vpcs)
            .find(|vpc| vpc.id == ready.project_vpc_id)
            .map(|vpc| vpc.azure_virtual_network_id.clone())
            .expect("the project VPC")
    });
    let expected_from_prepare = [
        (env_vars::PEERING_USER_APP_ID, app_id.as_str()),
        (
            env_vars::PEERING_USER_TENANT_ID,
            ready.user_tenant_id.as_str(),
        ),
        (
            env_vars::PEERING_USER_SUBSCRIPTION_ID,
            ready.subscription_id.as_str(),
        ),
        (
            env_vars::PEERING_USER_RESOURCE_GROUP,
            ready.resource_group.as_str(),
        ),
        (env_vars::PEERING_USER_VNET_NAME, ready.vnet_name.as_str()),
        (
            env_vars::PEERING_USER_VNET_LOCATION,
            ready.vnet_location.as_str(),
        ),
    ];
    for (key, value) in expected_from_prepare {
        assert_eq!(
            prepared.get(key).map(String::as_str),
            Some(value),
            "prepare.env carries {key}: {prepared:?}"
        );
    }
    let expected_from_request = [
        (
            env_vars::PEERING_AIVEN_TENANT_ID,
            ready.aiven_tenant_id.as_str(),
        ),
        (env_vars::PEERING_AIVEN_VNET_ID, aiven_vnet_id.as_str()),
        (
            env_vars::PEERING_AIVEN_PROJECT_VPC_ID,
            ready.project_vpc_id.as_str(),
        ),
    ];
    for (key, value) in expected_from_request {
        assert_eq!(
            requested.get(key).map(String::as_str),
            Some(value),
            "request.env carries {key}: {requested:?}"
        );
    }
    assert!(printed.contains("peering_state=ACTIVE"), "{printed}");
    assert_final_state_named(&harness, "final_state_gitlab");
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
