//! Bad input exits 2, names the input, and changes nothing remotely.

use tests::Harness;

async fn check(harness: &Harness, phase: &str, args: &[&str], named: &str) {
    let before = harness.write_count();
    let run = harness.phase(phase).args(args.iter().copied()).run().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_before_any_write() {
    let harness = Harness::start().await;
    let ready = harness.ready().clone();
    let subscription = ready.subscription_id.as_str();
    let group = ready.resource_group.as_str();
    let vnet = ready.vnet_name.as_str();
    check(
        &harness,
        "prepare-tenant",
        &[
            "--subscription-id",
            "not-a-guid",
            "--resource-group",
            group,
            "--vnet-name",
            vnet,
        ],
        "--subscription-id",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            "../etc",
            "--vnet-name",
            vnet,
        ],
        "--resource-group",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            "a/b",
            "--vnet-name",
            vnet,
        ],
        "--resource-group",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            group,
            "--vnet-name",
            "",
        ],
        "--vnet-name",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            group,
            "--vnet-name",
            "no-such-vnet",
        ],
        "--vnet-name",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &["--vnet-id", "/subscriptions/x/resourceGroups/y"],
        "--vnet-id",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &["--vnet-id", &format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{vnet}")],
        "--vnet-id",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            group,
            "--vnet-name",
            vnet,
            "--app-name",
            "a/../b",
        ],
        "--app-name",
    )
    .await;
    check(
        &harness,
        "prepare-tenant",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            group,
            "--vnet-name",
            vnet,
            "--aiven-app-id",
            "55f300d4",
        ],
        "--aiven-app-id",
    )
    .await;

    let common = [
        "--subscription-id",
        subscription,
        "--resource-group",
        group,
        "--vnet-name",
        vnet,
        "--user-app-id",
        "0b1c6a52-7f0e-4c4a-9d57-0e2b5a4c1f3e",
        "--user-tenant-id",
        ready.user_tenant_id.as_str(),
    ];
    let with = |extra: &[&'static str]| -> Vec<String> {
        common
            .iter()
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let args = with(&[
        "--project",
        "no-such-project",
        "--project-vpc-id",
        "7d7c1b9e-3c1f-4f57-8d3a-1f2e3d4c5b6a",
    ]);
    check(
        &harness,
        "request-peering",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "--project",
    )
    .await;
    let args = with(&["--project-vpc-id", "7d7c1b9e-3c1f-4f57-8d3a-1f2e3d4c5b6a"]);
    let mut args: Vec<String> = args;
    args.extend(["--project".to_string(), ready.aiven_project.clone()]);
    check(
        &harness,
        "request-peering",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "--project-vpc-id",
    )
    .await;
    let mut args = with(&["--project-vpc-id", "zzz"]);
    args.extend(["--project".to_string(), ready.aiven_project.clone()]);
    check(
        &harness,
        "request-peering",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "--project-vpc-id",
    )
    .await;
    let args = with(&[]);
    check(
        &harness,
        "request-peering",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "--project",
    )
    .await;

    check(
        &harness,
        "accept-peering",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            group,
            "--vnet-name",
            vnet,
            "--user-app-id",
            "0b1c6a52-7f0e-4c4a-9d57-0e2b5a4c1f3e",
            "--user-tenant-id",
            &ready.user_tenant_id,
            "--aiven-tenant-id",
            &ready.aiven_tenant_id,
            "--aiven-vnet-id",
            "vnet-1",
        ],
        "--aiven-vnet-id",
    )
    .await;
    check(
        &harness,
        "await-active",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            group,
            "--vnet-name",
            vnet,
            "--project-vpc-id",
            &ready.project_vpc_id,
        ],
        "--project",
    )
    .await;
    check(
        &harness,
        "await-active",
        &[
            "--subscription-id",
            subscription,
            "--resource-group",
            group,
            "--vnet-name",
            vnet,
            "--project",
            &ready.aiven_project,
            "--project-vpc-id",
            &ready.project_vpc_id,
            "--poll-interval",
            "1ms",
        ],
        "--poll-interval",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_aiven_token_is_invalid_input() {
    let harness = Harness::start().await;
    harness.prepare_tenant().run().await.assert_success();
    let before = harness.write_count();
    let run = harness
        .request_peering()
        .env_remove("AIVEN_AUTH_TOKEN")
        .run()
        .await;
    run.assert_code(2);
    assert!(run.stderr.contains("AIVEN_AUTH_TOKEN"), "{}", run.stderr);
    assert_eq!(harness.writes_since(before), Vec::<String>::new());
}
