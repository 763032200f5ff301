//! The real `cloud-sim serve` binary: help text, ready line, serving, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_cloud-sim");

#[test]
fn serve_help_documents_every_knob() {
    let output = Command::new(BINARY)
        .args(["serve", "--help"])
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--port",
        "--ca-cert",
        "--profile",
        "--graph-replication-lag",
        "--role-propagation",
        "--password-propagation",
        "--aiven-pending-peer-delay",
        "--aiven-grant-lag",
        "--aiven-active-delay",
        "--aiven-delete-delay",
        "--lro-duration",
        "--token-lifetime",
        "--latency",
        "--rate-429",
        "--rate-500",
        "--rate-503",
        "--rate-drop",
        "--fail-nth-write",
        "--fail-mode",
        "--seed",
    ] {
        assert!(
            help.contains(flag),
            "serve --help does not mention {flag}:\n{help}"
        );
    }
}

#[tokio::test]
async fn serve_prints_the_ready_line_and_stops_on_sigterm() {
    let directory = std::env::temp_dir().join(format!("cloud-sim-binary-{}", uuid::Uuid::new_v4()));
    let ca_path = directory.join("ca.pem");
    let started = Instant::now();
    let mut child = Command::new(BINARY)
        .args([
            "serve",
            "--profile",
            "fast",
            "--lro-duration",
            "250ms",
            "--ca-cert",
        ])
        .arg(&ca_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("the ready line arrives");
    let startup = started.elapsed();
    assert!(startup < Duration::from_secs(1), "startup took {startup:?}");

    let ready: Value =
        serde_json::from_str(line.trim()).expect("the ready line is one json object");
    let text_fields = [
        "ca_cert",
        "authority_host",
        "resource_manager",
        "graph",
        "aiven",
        "github",
        "control",
        "user_tenant_id",
        "admin_client_id",
        "admin_client_secret",
        "subscription_id",
        "resource_group",
        "vnet_name",
        "vnet_id",
        "vnet_location",
        "aiven_token",
        "aiven_project",
        "project_vpc_id",
        "aiven_tenant_id",
        "aiven_app_id",
        "github_repository",
        "github_token",
        "github_readonly_token",
        "github_oidc_request_url",
        "github_oidc_request_token",
    ];
    for field in text_fields {
        let value = ready[field]
            .as_str()
            .unwrap_or_else(|| panic!("ready line lacks {field}: {line}"));
        assert!(!value.is_empty(), "{field} is empty");
    }
    for field in [
        "authority_host",
        "resource_manager",
        "graph",
        "aiven",
        "github",
        "control",
    ] {
        assert!(
            ready[field]
                .as_str()
                .unwrap()
                .starts_with("https://127.0.0.1:"),
            "{field}"
        );
    }
    for field in [
        "user_tenant_id",
        "admin_client_id",
        "subscription_id",
        "project_vpc_id",
        "aiven_tenant_id",
    ] {
        assert!(
            uuid::Uuid::parse_str(ready[field].as_str().unwrap()).is_ok(),
            "{field} is not a guid"
        );
    }
    assert_eq!(
        ready["ca_cert"].as_str().unwrap(),
        ca_path.to_str().unwrap()
    );
    assert_eq!(ready["resource_group"], "Peering-RG");
    assert_eq!(ready["vnet_name"], "Client-VNet");
    assert_eq!(ready["vnet_location"], "westeurope");
    assert_eq!(ready["aiven_project"], "acme-prod");
    assert_eq!(ready["aiven_app_id"], cloud_sim::AIVEN_APP_ID);
    assert_eq!(ready["github_repository"], "acme/infra");
    assert_eq!(
        ready["vnet_id"],
        format!(
            "/subscriptions/{}/resourceGroups/Peering-RG/providers/Microsoft.Network/virtualNetworks/Client-VNet",
            ready["subscription_id"].as_str().unwrap()
        )
    );
    assert!(
        ready["github_oidc_request_url"]
            .as_str()
            .unwrap()
            .starts_with(ready["github"].as_str().unwrap())
    );

    let client = crate::support::client_trusting(&ca_path);
    let state = client
        .get(format!("{}/_sim/state", ready["control"].as_str().unwrap()))
        .send()
        .await
        .expect("the control listener answers over https");
    assert_eq!(state.status(), reqwest::StatusCode::OK);

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "cloud-sim did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "cloud-sim exited with {status}");
    let mut rest = String::new();
    reader.read_line(&mut rest).expect("stdout closes");
    assert!(rest.is_empty(), "only one line on stdout, got {rest:?}");
    let _ = std::fs::remove_dir_all(directory);
}
