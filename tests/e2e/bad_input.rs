//! Bad input exits 2, names the input, and changes nothing remotely.

use api_core::env_vars;
use tests::Harness;

/// Runs `phase` with `command_line` (words split on spaces; `{sub}`, `{rg}`, `{vnet}`,
/// `{tenant}`, `{aiven_tenant}`, `{project}`, `{vpc}` stand for the seeded values and `''` for an
/// empty argument) and expects exit 2, a message naming `named`, and no write.
async fn check(harness: &Harness, phase: &str, command_line: &str, named: &str) {
    let ready = harness.ready();
    let args: Vec<String> = command_line
        .split_whitespace()
        .map(|word| {
            word.replace("{sub}", &ready.subscription_id)
                .replace("{rg}", &ready.resource_group)
                .replace("{vnet}", &ready.vnet_name)
                .replace("{tenant}", &ready.user_tenant_id)
                .replace("{aiven_tenant}", &ready.aiven_tenant_id)
                .replace("{project}", &ready.aiven_project)
                .replace("{vpc}", &ready.project_vpc_id)
                .replace("''", "")
        })
        .collect();
    let before = harness.write_count();
    let run = harness.phase(phase).args(args.iter().cloned()).run().await;
    run.assert_code(2);
    assert!(
        run.stderr.contains(named),
        "{phase} {args:?}: the message names {named}:\n{}",
        run.stderr
    );
    assert_eq!(
        harness.writes_since(before),
        Vec::<String>::new(),
        "{phase} {args:?} changed nothing"
    );
}

const VNET: &str = "--subscription-id {sub} --resource-group {rg} --vnet-name {vnet}";
const APP: &str = "--user-app-id 0b1c6a52-7f0e-4c4a-9d57-0e2b5a4c1f3e --user-tenant-id {tenant}";

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_before_any_write() {
    let harness = Harness::start().await;
    let h = &harness;
    check(
        h,
        "prepare-tenant",
        "--subscription-id not-a-guid --resource-group {rg} --vnet-name {vnet}",
        "--subscription-id",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        "--subscription-id {sub} --resource-group ../etc --vnet-name {vnet}",
        "--resource-group",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        "--subscription-id {sub} --resource-group a/b --vnet-name {vnet}",
        "--resource-group",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        "--subscription-id {sub} --resource-group {rg} --vnet-name ''",
        "--vnet-name",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        "--subscription-id {sub} --resource-group {rg} --vnet-name no-such-vnet",
        "--vnet-name",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        "--vnet-id /subscriptions/x/resourceGroups/y",
        "--vnet-id",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        "--vnet-id /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vnet}",
        "--vnet-id",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        &format!("{VNET} --app-name a/../b"),
        "--app-name",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        &format!("{VNET} --aiven-app-id 55f300d4"),
        "--aiven-app-id",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        &format!("{VNET} --federated-issuer http://example.com"),
        "--federated-issuer",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        &format!("{VNET} --store-secret-in not-a-repo"),
        "--store-secret-in",
    )
    .await;

    let unknown_vpc = "7d7c1b9e-3c1f-4f57-8d3a-1f2e3d4c5b6a";
    check(
        h,
        "request-peering",
        &format!("{VNET} {APP} --project no-such-project --project-vpc-id {unknown_vpc}"),
        "--project",
    )
    .await;
    check(
        h,
        "request-peering",
        &format!("{VNET} {APP} --project {{project}} --project-vpc-id {unknown_vpc}"),
        "--project-vpc-id",
    )
    .await;
    check(
        h,
        "request-peering",
        &format!("{VNET} {APP} --project {{project}} --project-vpc-id zzz"),
        "--project-vpc-id",
    )
    .await;
    check(h, "request-peering", &format!("{VNET} {APP}"), "--project").await;

    check(
        h,
        "accept-peering",
        &format!("{VNET} {APP} --aiven-tenant-id {{aiven_tenant}} --aiven-vnet-id vnet-1"),
        "--aiven-vnet-id",
    )
    .await;
    check(
        h,
        "await-active",
        &format!("{VNET} --project-vpc-id {{vpc}}"),
        "--project",
    )
    .await;
    check(
        h,
        "await-active",
        &format!("{VNET} --project {{project}} --project-vpc-id {{vpc}} --poll-interval 1ms"),
        "--poll-interval",
    )
    .await;
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_aiven_token_is_invalid_input() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    let before = harness.write_count();
    let run = harness
        .request_peering()
        .env_remove(env_vars::AIVEN_AUTH_TOKEN)
        .run()
        .await;
    run.assert_code(2);
    assert!(
        run.stderr.contains(env_vars::AIVEN_AUTH_TOKEN),
        "{}",
        run.stderr
    );
    assert_eq!(harness.writes_since(before), Vec::<String>::new());
    harness.assert_no_secret_leaked();
}

// Regression: an 81-character peering name minted a password, then hung on Azure's refusal; a
// second VNet merged into the first one's state file; a zero retry interval busy-looped.
#[tokio::test(flavor = "multi_thread")]
async fn names_azure_refuses_and_state_files_of_another_vnet_exit_2_before_any_write() {
    let harness = Harness::start().await;
    let h = &harness;
    let aiven_vnet =
        "/subscriptions/{sub}/resourceGroups/a/providers/Microsoft.Network/virtualNetworks/b";
    check(
        h,
        "accept-peering",
        &format!(
            "{VNET} {APP} --aiven-tenant-id {{aiven_tenant}} --aiven-vnet-id {aiven_vnet} --peering-name {}",
            "p".repeat(81)
        ),
        "--peering-name",
    )
    .await;
    check(
        h,
        "prepare-tenant",
        &format!("{VNET} --retry-interval 0s"),
        "--retry-interval",
    )
    .await;
    harness.prepare_tenant().run().await.assert_success();
    let state = harness.state_file().display().to_string();
    let before = harness.write_count();
    let other = harness
        .phase("prepare-tenant")
        .args([
            "--subscription-id",
            &harness.ready().subscription_id.clone(),
        ])
        .args(["--resource-group", "Hub-RG", "--vnet-name", "Hub-VNet"])
        .args(["--state", &state])
        .run()
        .await;
    other.assert_code(2);
    assert!(
        other.stderr.contains("virtualNetworks/Hub-VNet"),
        "{}",
        other.stderr
    );
    assert!(
        other
            .stderr
            .contains(&format!("virtualNetworks/{}", harness.ready().vnet_name)),
        "{}",
        other.stderr
    );
    assert_eq!(harness.writes_since(before), Vec::<String>::new());
}
