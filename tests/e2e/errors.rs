//! Every entry of the error catalog, provoked in `cloud-sim`: the failing binary prints the
//! entry's code, cause and fix, and the message is snapshotted (volatile parts redacted). The
//! `match` in `provoke` is exhaustive over `Code`, so a new entry does not compile without its
//! provoking case.

use api_core::env_vars;
use peering::catalog::{CATALOG, Code};
use std::time::{Duration, SystemTime};
use tests::{Harness, Run};

/// The lines from `error[CODE]` on: what the user reads at the end of a failed run.
fn failure_text(run: &Run) -> String {
    let start = run
        .stderr
        .find("error[")
        .unwrap_or_else(|| panic!("no coded error in:\n{}", run.stderr));
    run.stderr[start..].to_string()
}

/// Waits until Aiven has created your app's principal in its tenant (the simulator's clock,
/// not a guess at its drawn delay; a machine under load makes any fixed sleep too short).
async fn wait_for_aiven_grant(harness: &Harness) {
    for _ in 0..600 {
        let granted = std::sync::atomic::AtomicBool::new(false);
        harness.with_live_connections(|connection| {
            if connection.grant_done {
                granted.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
        if granted.into_inner() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("Aiven never granted the app in its tenant within 30 s");
}

fn state(harness: &Harness) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(harness.state_file()).unwrap()).unwrap()
}

/// prepare-tenant for a VNet named by these flags, with the state file.
fn vnet_flags<'a>(harness: &'a Harness, subscription: &str, vnet: &str) -> tests::Phase<'a> {
    with_state(harness, "prepare-tenant").args([
        "--subscription-id",
        subscription,
        "--resource-group",
        &harness.ready().resource_group,
        "--vnet-name",
        vnet,
    ])
}

/// A phase with only the state file as its flags.
fn with_state<'a>(harness: &'a Harness, phase: &str) -> tests::Phase<'a> {
    harness.phase(phase).args([
        "--state".to_string(),
        harness.state_file().display().to_string(),
    ])
}

/// A custom role with the name prepare-tenant wants for Aiven's app, granting only `action`,
/// made by someone else in the VNet's subscription.
fn a_target_role_granting(harness: &Harness, action: &str) {
    let ready = harness.ready().clone();
    let action = action.to_string();
    harness.sim.with_world(|world| {
        world.role_definitions.push(cloud_sim::RoleDefinition {
            name: "4f0e0d0c-0b0a-4908-8706-050403020100".into(),
            tenant_id: Some(ready.user_tenant_id.clone()),
            role_name: "Aiven VNet peering target".into(),
            description: "not made by this tool".into(),
            permissions: vec![cloud_sim::Permission {
                actions: vec![action],
                ..Default::default()
            }],
            assignable_scopes: vec![format!("/subscriptions/{}", ready.subscription_id)],
            created_time: SystemTime::now(),
            updated_time: SystemTime::now(),
        });
    });
}

/// Runs the case that makes `code` happen and returns the failed run and its exit code.
async fn provoke(harness: &Harness, code: Code) -> (Run, i32) {
    let ready = harness.ready().clone();
    let random_guid = "0f0e0d0c-0b0a-4908-8706-050403020100";
    match code {
        Code::InputInvalid => (
            harness
                .prepare_tenant()
                .args(["--aiven-app-id", "nope"])
                .run()
                .await,
            2,
        ),
        Code::StateFileOtherVnet => {
            harness.prepare_tenant().run().await.assert_success();
            (
                vnet_flags(harness, &ready.subscription_id, "Other-VNet")
                    .run()
                    .await,
                2,
            )
        }
        Code::WaitTimedOut => {
            harness.prepare_tenant().run().await.assert_success();
            harness.request_peering().run().await.assert_success();
            (
                harness
                    .await_active()
                    .args(["--timeout", "500ms"])
                    .run()
                    .await,
                3,
            )
        }
        Code::SubscriptionNotFound => (
            vnet_flags(harness, random_guid, &ready.vnet_name)
                .run()
                .await,
            2,
        ),
        Code::VnetNotFound => (
            harness
                .phase("prepare-tenant")
                .args([
                    "--subscription-id",
                    &ready.subscription_id,
                    "--resource-group",
                    &ready.resource_group,
                    "--vnet-name",
                    "No-Such-VNet",
                ])
                .run()
                .await,
            2,
        ),
        Code::ApplicationAdministratorRequired => {
            // The admin may read the directory but holds no role that may create a service
            // principal for another tenant's app: the preflight knows before the first write.
            crate::preflight::admin_rights(harness, &[cloud_sim::DIRECTORY_READERS], &[]);
            (harness.prepare_tenant().run().await, 1)
        }
        Code::AppNameAmbiguous => {
            let name = format!("aiven-peering-{}", ready.vnet_name.to_lowercase());
            harness.sim.with_world(|world| {
                let template = world
                    .applications
                    .iter()
                    .find(|app| app.tenant_id == ready.user_tenant_id)
                    .unwrap()
                    .clone();
                for index in 0..2 {
                    let mut twin = template.clone();
                    twin.object_id = format!("1f0e0d0c-0b0a-4908-8706-05040302010{index}");
                    twin.app_id = format!("2f0e0d0c-0b0a-4908-8706-05040302010{index}");
                    twin.display_name = name.clone();
                    twin.unique_name = None;
                    world.applications.push(twin);
                }
            });
            (harness.prepare_tenant().run().await, 1)
        }
        Code::AppOwnedByOthers => {
            // Another member registered an app with the name the tool would pick.
            let name = format!("aiven-peering-{}", ready.vnet_name.to_lowercase());
            harness.sim.with_world(|world| {
                world.register_application_as_member(&name, "Mallory Member");
            });
            (harness.prepare_tenant().run().await, 1)
        }
        Code::FederatedCredentialLimit => {
            harness.prepare_tenant().run().await.assert_success();
            let app_id = state(harness)["user_app_id"].as_str().unwrap().to_string();
            harness.sim.with_world(|world| {
                let app = world
                    .applications
                    .iter_mut()
                    .find(|app| app.app_id == app_id)
                    .unwrap();
                for index in 0..20 {
                    app.federated_identity_credentials.push(
                        cloud_sim::FederatedIdentityCredential {
                            id: format!("3f0e0d0c-0b0a-4908-8706-0504030201{index:02}"),
                            name: format!("other-{index}"),
                            issuer: "https://token.actions.githubusercontent.com".into(),
                            subject: format!("repo:other/repo{index}:ref:refs/heads/main"),
                            audiences: vec!["api://AzureADTokenExchange".into()],
                            description: None,
                        },
                    );
                }
            });
            (
                harness
                    .prepare_tenant()
                    .args([
                        "--federated-subject",
                        "repo:acme/infra:environment:production",
                    ])
                    .run()
                    .await,
                1,
            )
        }
        Code::RoleWriteDenied => {
            // The admin may read the subscription but not write roles.
            harness.sim.with_world(|world| {
                for assignment in world
                    .role_assignments
                    .iter_mut()
                    .filter(|a| a.tenant_id == ready.user_tenant_id)
                {
                    assignment.role_definition_id = assignment
                        .role_definition_id
                        .replace(cloud_sim::OWNER_ROLE_ID, cloud_sim::READER_ROLE_ID);
                }
            });
            (harness.prepare_tenant().run().await, 1)
        }
        Code::RoleLacksActions => {
            // Made by hand: it cannot peer.
            a_target_role_granting(harness, "Microsoft.Network/virtualNetworks/read");
            (harness.prepare_tenant().run().await, 1)
        }
        Code::RoleWider => {
            // Another team's: it can do much more than peer.
            a_target_role_granting(harness, "Microsoft.Network/*");
            (harness.prepare_tenant().run().await, 1)
        }
        Code::RoleNotVisible => (
            harness
                .prepare_tenant()
                .args(["--aiven-role-name", cloud_sim::BUSY_HIDDEN_ROLE_NAME])
                .run()
                .await,
            1,
        ),
        Code::RoleNotEffective => {
            harness.prepare_tenant().run().await.assert_success();
            harness.request_peering().run().await.assert_success();
            let user_sp = state(harness)["user_sp_id"].as_str().unwrap().to_string();
            // Aiven's grant (your app's principal in its tenant) done, so the one thing missing
            // is your side's role.
            wait_for_aiven_grant(harness).await;
            harness
                .sim
                .with_world(|world| world.role_assignments.retain(|a| a.principal_id != user_sp));
            (
                harness
                    .accept_peering()
                    .args(["--timeout", "3s"])
                    .run()
                    .await,
                3,
            )
        }
        Code::LinkedAuthorizationFailed => {
            harness.prepare_tenant().run().await.assert_success();
            harness.request_peering().run().await.assert_success();
            wait_for_aiven_grant(harness).await;
            // Aiven never grants your app peer/action on its VNet.
            harness.with_live_connections(|connection| connection.grant_done = true);
            harness.sim.with_world(|world| {
                world.role_assignments.retain(|a| {
                    a.tenant_id != ready.aiven_tenant_id || !a.scope.contains("/virtualNetworks/")
                });
            });
            (
                harness
                    .accept_peering()
                    .args(["--timeout", "3s"])
                    .run()
                    .await,
                3,
            )
        }
        Code::RemoteDisconnected => {
            harness.run_procedure().await;
            // Your side went away and Aiven's stayed Disconnected, its connection still waiting.
            let vnet_id = ready.vnet_id.clone();
            harness.with_live_connections(|connection| connection.state = "PENDING_PEER".into());
            harness.sim.with_world(|world| {
                for vnet in world.virtual_networks.iter_mut() {
                    if vnet.id().eq_ignore_ascii_case(&vnet_id) {
                        vnet.peerings.clear();
                    } else {
                        for peering in &mut vnet.peerings {
                            peering.peering_state = "Disconnected".into();
                        }
                    }
                }
            });
            (harness.accept_peering().run().await, 1)
        }
        Code::SecretExpired => {
            let stored = || {
                harness
                    .prepare_tenant()
                    .args(["--store-secret-in", &ready.github_repository])
                    .env("GITHUB_TOKEN", ready.github_token.clone())
            };
            stored().run().await.assert_success();
            harness.request_peering().run().await.assert_success();
            harness.sim.with_world(|world| {
                for app in world.applications.iter_mut() {
                    for password in app.password_credentials.iter_mut().filter(|p| {
                        p.display_name
                            .as_deref()
                            .is_some_and(|name| name.starts_with("aiven-peering stored"))
                    }) {
                        password.end_time = SystemTime::now() - Duration::from_secs(60);
                    }
                }
            });
            let secret = harness
                .sim
                .github_secret(
                    &ready.github_repository,
                    None,
                    env_vars::AIVEN_PEERING_APP_SECRET,
                )
                .unwrap();
            (
                harness
                    .accept_peering()
                    .args(["--credential", "stored"])
                    .env(env_vars::PEERING_USER_APP_SECRET, secret)
                    .run()
                    .await,
                1,
            )
        }
        Code::GitHubSecretsDenied => (
            harness
                .prepare_tenant()
                .args(["--store-secret-in", &ready.github_repository])
                .env("GITHUB_TOKEN", ready.github_readonly_token.clone())
                .run()
                .await,
            1,
        ),
        Code::AivenProjectNotFound => {
            harness.prepare_tenant().run().await.assert_success();
            (
                with_state(harness, "request-peering")
                    .args(["--project", "no-such-project"])
                    .run()
                    .await,
                2,
            )
        }
        Code::AivenVpcNotFound => {
            harness.prepare_tenant().run().await.assert_success();
            (
                with_state(harness, "request-peering")
                    .args([
                        "--project",
                        &ready.aiven_project,
                        "--project-vpc-id",
                        random_guid,
                    ])
                    .run()
                    .await,
                2,
            )
        }
        Code::AivenVpcNotUsable => {
            harness.prepare_tenant().run().await.assert_success();
            harness.sim.with_world(|world| {
                for vpc in world
                    .aiven_projects
                    .iter_mut()
                    .flat_map(|project| project.vpcs.iter_mut())
                {
                    vpc.state = "APPROVED".into();
                }
            });
            (harness.request_peering().run().await, 1)
        }
        Code::CidrOverlap => {
            harness.prepare_tenant().run().await.assert_success();
            (
                harness
                    .request_peering()
                    .args(["--user-peer-network-cidrs", "0.0.0.0/1,128.0.0.0/1"])
                    .run()
                    .await,
                1,
            )
        }
        Code::InvalidSpecification => {
            harness.prepare_tenant().run().await.assert_success();
            let app_id = state(harness)["user_app_id"].as_str().unwrap().to_string();
            harness.sim.with_world(|world| {
                for app in world
                    .applications
                    .iter_mut()
                    .filter(|app| app.app_id == app_id)
                {
                    app.sign_in_audience = "AzureADMyOrg".into();
                }
            });
            (harness.request_peering().run().await, 1)
        }
        Code::ConnectionFailed => {
            harness.run_procedure().await;
            harness
                .with_live_connections(|connection| connection.state = "REJECTED_BY_PEER".into());
            (harness.await_active().run().await, 1)
        }
        Code::AivenGrantMissing => {
            harness.prepare_tenant().run().await.assert_success();
            take_aivens_grant(harness);
            (harness.request_peering().run().await, 1)
        }
        Code::ConnectionNotReady => {
            harness.prepare_tenant().run().await.assert_success();
            harness.request_peering().run().await.assert_success();
            harness.with_live_connections(|connection| connection.state = "APPROVED".into());
            (harness.accept_peering().run().await, 1)
        }
        Code::ConnectionMissing => {
            harness.prepare_tenant().run().await.assert_success();
            (
                harness
                    .await_active()
                    .args([
                        "--project",
                        &ready.aiven_project,
                        "--project-vpc-id",
                        &ready.project_vpc_id,
                    ])
                    .run()
                    .await,
                2,
            )
        }
    }
}

/// Removes the role assignment prepare-tenant gave Aiven's service principal on the VNet.
pub fn take_aivens_grant(harness: &Harness) {
    let aiven_sp = state(harness)["aiven_sp_id"].as_str().unwrap().to_string();
    harness.sim.with_world(|world| {
        world
            .role_assignments
            .retain(|assignment| !assignment.principal_id.eq_ignore_ascii_case(&aiven_sp));
    });
}

/// Provokes each code, checks the exit code and the printed entry, and snapshots the message.
async fn check(codes: &[Code]) {
    for code in codes {
        let harness = Harness::start().await;
        let (run, exit) = provoke(&harness, *code).await;
        run.assert_code(exit);
        let text = failure_text(&run);
        let entry = code.entry();
        assert!(text.starts_with(&format!("error[{}]", entry.id)), "{text}");
        assert!(
            text.contains(entry.cause) && text.contains(entry.fix),
            "{text}"
        );
        insta::with_settings!({
            filters => vec![
                (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "[GUID]"),
                (r"127\.0\.0\.1:\d+", "[HOST]"),
                (r"vnet-[0-9a-f]{8}\b", "vnet-[ID]"),
                (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}Z?", "[TIME]"),
                (r"\b\d+(\.\d+)?(ms|s|m)\b", "[DURATION]"),
                (r"\(\d+ attempts\)", "([N] attempts)"),
                (r"(Trace|Correlation) ID: \S+", "$1 ID: [ID]"),
            ],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(entry.id, text);
        });
        harness.assert_no_secret_leaked();
    }
}

const INPUT: &[Code] = &[
    Code::InputInvalid,
    Code::StateFileOtherVnet,
    Code::WaitTimedOut,
];
const AZURE: &[Code] = &[
    Code::SubscriptionNotFound,
    Code::VnetNotFound,
    Code::ApplicationAdministratorRequired,
    Code::AppNameAmbiguous,
    Code::AppOwnedByOthers,
    Code::FederatedCredentialLimit,
    Code::RoleWriteDenied,
    Code::RoleLacksActions,
    Code::AivenGrantMissing,
    Code::RoleWider,
    Code::RoleNotVisible,
];
const PEERING: &[Code] = &[
    Code::RoleNotEffective,
    Code::LinkedAuthorizationFailed,
    Code::RemoteDisconnected,
    Code::SecretExpired,
    Code::GitHubSecretsDenied,
];
const AIVEN: &[Code] = &[
    Code::AivenProjectNotFound,
    Code::AivenVpcNotFound,
    Code::AivenVpcNotUsable,
    Code::CidrOverlap,
    Code::InvalidSpecification,
    Code::ConnectionFailed,
    Code::ConnectionMissing,
    Code::ConnectionNotReady,
];

#[test]
fn every_catalog_entry_has_a_provoking_case_below() {
    let mut covered: Vec<Code> = [INPUT, AZURE, PEERING, AIVEN].concat();
    for entry in CATALOG {
        let position = covered.iter().position(|code| *code == entry.code);
        assert!(position.is_some(), "{} is provoked by no test", entry.id);
        covered.remove(position.unwrap());
    }
    assert!(covered.is_empty(), "listed twice: {covered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn input_and_wait_errors_are_explained() {
    check(INPUT).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_preparation_errors_are_explained() {
    check(AZURE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn peering_errors_are_explained() {
    check(PEERING).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aiven_errors_are_explained() {
    check(AIVEN).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_prints_each_entry_on_every_binary() {
    let harness = Harness::start().await;
    for spec in peering::PHASES {
        let run = harness
            .phase(spec.name)
            .args(["--explain", "azp-aiven-cidr-overlap"])
            .run()
            .await;
        run.assert_success();
        assert!(
            run.stdout.starts_with("AZP-AIVEN-CIDR-OVERLAP: "),
            "{}: {}",
            spec.name,
            run.stdout
        );
    }
    let multicall = harness
        .phase("aiven-azure-peering")
        .args(["--explain", "AZP-NOPE"])
        .run()
        .await;
    multicall.assert_code(2);
    assert!(
        multicall.stderr.contains("AZP-WAIT-TIMED-OUT"),
        "{}",
        multicall.stderr
    );
}
