//! Several pipelines at once in one tenant: VNets whose pipelines share one app registration
//! and one pair of custom roles, started together (a CI matrix) or overlapping (a re-run while
//! the first still runs).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cloud_sim::SimConfig;
use tests::Harness;

/// Names the app registration every pipeline of a test shares.
const SHARED_APP: [&str; 2] = ["--app-name", "shared-peering-app"];

/// Adds VNets named `<prefix>-NN` to the given subscriptions in turn; returns their
/// (subscription, resource group, name).
fn add_vnets(
    harness: &Harness,
    subscriptions: &[String],
    prefix: &str,
    count: usize,
) -> Vec<(String, String, String)> {
    (1..=count)
        .map(|number| {
            let subscription = subscriptions[number % subscriptions.len()].clone();
            let name = format!("{prefix}-{number:02}");
            let cidr = format!("10.60.{number}.0/24");
            harness.sim.with_world(|world| {
                world.add_virtual_network(&subscription, "Matrix-RG", &name, "westeurope", &cidr)
            });
            (subscription, "Matrix-RG".to_string(), name)
        })
        .collect()
}

/// The password key ids on an app that the phases minted.
fn minted_passwords(harness: &Harness, app_id: &str) -> Vec<String> {
    let app_id = app_id.to_string();
    harness.sim.with_world(|world| {
        world
            .application_by_app_id(&app_id)
            .map(|app| {
                app.password_credentials
                    .iter()
                    .filter(|password| {
                        password.display_name.as_deref().is_some_and(|name| {
                            name.starts_with(
                                peering::phases::accept_peering::EPHEMERAL_PASSWORD_PREFIX,
                            )
                        })
                    })
                    .map(|password| password.key_id.clone())
                    .collect()
            })
            .unwrap_or_default()
    })
}

// Regression: four VNets sharing one app, their accept-peering jobs started 0.7 s apart: each
// run removed the previous run's fresh password as a leftover, and all but the last hung.
#[tokio::test(flavor = "multi_thread")]
async fn two_accept_peering_runs_for_one_app_keep_each_others_password() {
    let mut config = SimConfig::fast().busy();
    // Aiven grants the app in its tenant late, so the first run still needs its password
    // when the second starts.
    config.delays.aiven_grant_lag = Duration::from_secs(3);
    let harness = Arc::new(Harness::start_with(config).await);
    let main = harness.ready().subscription_id.clone();
    let vnets = add_vnets(&harness, &[main], "Overlap-VNet", 2);
    let pipelines: Vec<_> = vnets
        .iter()
        .enumerate()
        .map(|(index, (subscription, group, name))| {
            harness.pipeline(
                subscription,
                group,
                name,
                harness.path(&format!("overlap-{index}.json")),
            )
        })
        .collect();
    for pipeline in &pipelines {
        pipeline
            .prepare_tenant()
            .args(SHARED_APP)
            .run()
            .await
            .assert_success();
    }
    for pipeline in &pipelines {
        pipeline.request_peering().run().await.assert_success();
    }
    let app_id = pipelines[0].state()["user_app_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        pipelines[1].state()["user_app_id"],
        app_id.as_str(),
        "one shared app"
    );

    let first = {
        let harness = harness.clone();
        let state = pipelines[0].state_file.clone();
        tokio::spawn(async move {
            harness
                .phase("accept-peering")
                .args(["--state".to_string(), state.display().to_string()])
                .args(["--timeout", "20s"])
                .run()
                .await
        })
    };
    // The second starts once the first has minted its password.
    let started = std::time::Instant::now();
    while minted_passwords(&harness, &app_id).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the first run mints"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = pipelines[1]
        .accept_peering()
        .args(["--timeout", "20s"])
        .run()
        .await;
    let first = first.await.unwrap();
    first.assert_success();
    second.assert_success();
    assert_eq!(minted_passwords(&harness, &app_id), Vec::<String>::new());
    for pipeline in &pipelines {
        pipeline.await_active().run().await.assert_success();
    }
    harness.assert_no_secret_leaked();
}

// Ten VNets in one tenant, over two subscriptions, prepared and peered concurrently with one
// shared app: no failure, no twin of any object, no password left.
#[tokio::test(flavor = "multi_thread")]
async fn ten_vnets_prepared_and_peered_at_once_share_one_app_without_twins() {
    let harness = Arc::new(Harness::start().await);
    let staging = harness.sim.with_world(|world| {
        world
            .subscriptions
            .iter()
            .find(|subscription| subscription.display_name == "Acme Staging")
            .map(|subscription| subscription.id.clone())
            .unwrap()
    });
    let subscriptions = [harness.ready().subscription_id.clone(), staging];
    let vnets = add_vnets(&harness, &subscriptions, "Matrix-VNet", 10);
    let mut runs = tokio::task::JoinSet::new();
    for (index, (subscription, group, name)) in vnets.iter().cloned().enumerate() {
        let harness = harness.clone();
        runs.spawn(async move {
            let pipeline = harness.pipeline(
                &subscription,
                &group,
                &name,
                harness.path(&format!("matrix-{index}.json")),
            );
            let prepared = pipeline.prepare_tenant().args(SHARED_APP).run().await;
            let mut results = vec![prepared];
            for phase in [
                pipeline.request_peering(),
                pipeline.accept_peering(),
                pipeline.await_active(),
            ] {
                if results.iter().any(|run| run.code != 0) {
                    break;
                }
                results.push(phase.run().await);
            }
            (name, results)
        });
    }
    while let Some(finished) = runs.join_next().await {
        let (name, results) = finished.unwrap();
        for run in results {
            assert_eq!(run.code, 0, "{name}: exit {}\n{}", run.code, run.stderr);
        }
    }

    let baseline = harness.baseline.clone();
    let tenant = harness.ready().user_tenant_id.clone();
    let aiven_app = harness.ready().aiven_app_id.clone();
    harness.sim.with_world(|world| {
        let apps: Vec<_> = world
            .applications
            .iter()
            .filter(|app| {
                app.tenant_id == tenant && !baseline.applications.contains(&app.object_id)
            })
            .collect();
        assert_eq!(apps.len(), 1, "one shared app: {apps:#?}");
        let app = apps[0];
        assert!(
            app.password_credentials.is_empty(),
            "{:?}",
            app.password_credentials
        );
        let principals_of = |app_id: &str| {
            world
                .service_principals
                .iter()
                .filter(|principal| principal.tenant_id == tenant && principal.app_id == app_id)
                .count()
        };
        assert_eq!(principals_of(&app.app_id), 1);
        assert_eq!(principals_of(&aiven_app), 1);
        let roles: Vec<_> = world
            .role_definitions
            .iter()
            .filter(|role| {
                role.tenant_id.as_deref() == Some(tenant.as_str())
                    && !baseline.role_definitions.contains(&role.name)
            })
            .collect();
        assert_eq!(roles.len(), 2, "one role per purpose: {roles:#?}");
        for role in &roles {
            for subscription in &subscriptions {
                assert!(
                    role.assignable_scopes.iter().any(|scope| scope
                        .eq_ignore_ascii_case(&format!("/subscriptions/{subscription}"))),
                    "{} assignable in {subscription}: {:?}",
                    role.role_name,
                    role.assignable_scopes
                );
            }
        }
        let assignments: Vec<_> = world
            .role_assignments
            .iter()
            .filter(|assignment| {
                assignment.tenant_id == tenant
                    && !baseline.role_assignments.contains(&assignment.name)
            })
            .map(|assignment| {
                (
                    assignment.scope.to_ascii_lowercase(),
                    assignment.role_definition_guid().to_string(),
                    assignment.principal_id.clone(),
                )
            })
            .collect();
        let distinct: HashSet<_> = assignments.iter().cloned().collect();
        assert_eq!(assignments.len(), 20, "two per VNet: {assignments:#?}");
        assert_eq!(distinct.len(), 20, "no twin assignment");
        let connections: Vec<_> = world
            .aiven_projects
            .iter()
            .flat_map(|project| project.vpcs.iter())
            .flat_map(|vpc| vpc.peering_connections.iter())
            .filter(|connection| !baseline.connections.contains(&connection.id))
            .map(|connection| connection.state.clone())
            .collect();
        assert_eq!(connections, vec!["ACTIVE".to_string(); 10]);
    });
    harness.assert_no_secret_leaked();
}
