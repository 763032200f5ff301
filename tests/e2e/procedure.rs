//! The whole procedure in each credential mode, re-running each phase, and finding the
//! project VPC by the VNet's region.

use api_core::env_vars;
use cloud_sim::ProjectVpc;
use tests::{Harness, Phase, WorldSummary};

/// The Actions OIDC subject of accept-peering's job, as in the example workflow.
pub const GITHUB_SUBJECT: &str = "repo:acme/infra:environment:peering";

/// How accept-peering's app signs in, with what prepare-tenant sets up for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A password minted for minutes by accept-peering.
    Ephemeral,
    /// A federated credential for the Actions job's OIDC subject.
    Federated,
    /// A long-lived password kept in a GitHub environment secret.
    Stored,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Ephemeral, Mode::Federated, Mode::Stored];

    /// The name of the end state's snapshot.
    pub fn snapshot(self) -> &'static str {
        match self {
            Mode::Ephemeral => "final_state",
            Mode::Federated => "final_state_federated",
            Mode::Stored => "final_state_stored",
        }
    }

    /// prepare-tenant with what this mode needs.
    pub fn prepare(self, harness: &Harness) -> Phase<'_> {
        let ready = harness.ready();
        let phase = harness.prepare_tenant();
        match self {
            Mode::Ephemeral => phase,
            Mode::Federated => phase.args(["--federated-subject", GITHUB_SUBJECT]),
            Mode::Stored => phase
                .args([
                    "--store-secret-in".to_string(),
                    format!("{}:production", ready.github_repository),
                ])
                .env(env_vars::GITHUB_TOKEN, ready.github_token.clone()),
        }
    }

    /// accept-peering signing the app in this mode's way (and without the admin identity,
    /// where the mode does not need it).
    pub fn accept(self, harness: &Harness) -> Phase<'_> {
        let ready = harness.ready();
        let phase = harness.accept_peering();
        match self {
            Mode::Ephemeral => phase,
            Mode::Federated => {
                harness
                    .sim
                    .with_world(|world| world.set_github_oidc_subject(GITHUB_SUBJECT));
                without_admin(phase)
                    .args(["--credential", "federated"])
                    .env(
                        env_vars::ACTIONS_ID_TOKEN_REQUEST_URL,
                        ready.github_oidc_request_url.clone(),
                    )
                    .env(
                        env_vars::ACTIONS_ID_TOKEN_REQUEST_TOKEN,
                        ready.github_oidc_request_token.clone(),
                    )
            }
            Mode::Stored => {
                let secret = harness
                    .sim
                    .github_secret(
                        &ready.github_repository,
                        Some("production"),
                        env_vars::AIVEN_PEERING_APP_SECRET,
                    )
                    .expect("prepare-tenant stored the app password");
                without_admin(phase)
                    .args(["--credential", "stored"])
                    .env(env_vars::PEERING_USER_APP_SECRET, secret)
            }
        }
    }

    /// The four phases in this mode, each required to succeed.
    pub async fn run_procedure(self, harness: &Harness) -> Vec<tests::Run> {
        let mut runs = vec![self.prepare(harness).run().await];
        runs[0].assert_success();
        runs.push(harness.request_peering().run().await);
        runs[1].assert_success();
        runs.push(self.accept(harness).run().await);
        runs[2].assert_success();
        runs.push(harness.await_active().run().await);
        runs[3].assert_success();
        runs
    }
}

/// The phase without the admin identity in its environment.
/// A phase run without the admin identity in its environment.
pub fn without_admin(phase: Phase<'_>) -> Phase<'_> {
    phase
        .env_remove(env_vars::AZURE_TENANT_ID)
        .env_remove(env_vars::AZURE_CLIENT_ID)
        .env_remove(env_vars::AZURE_CLIENT_SECRET)
}

/// The simulated world holds exactly what the default procedure leaves behind: one app
/// without passwords, its service principal and Aiven's, the two least-privilege roles
/// assigned at the VNet, both sides of the peering Connected, one ACTIVE connection.
#[track_caller]
pub fn assert_final_state(harness: &Harness) {
    assert_final_state_named(harness, Mode::Ephemeral.snapshot());
}

/// The world matches the named end-state snapshot (`tests/e2e/snapshots`).
#[track_caller]
pub fn assert_final_state_named(harness: &Harness, snapshot: &str) {
    let summary: WorldSummary = harness.summary();
    insta::assert_yaml_snapshot!(snapshot, summary);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_four_phases_reach_an_active_peering() {
    let harness = Harness::start().await;
    let prepared = harness.prepare_tenant().run().await;
    prepared.assert_success();
    for name in [
        "user_tenant_id",
        "user_subscription_id",
        "user_resource_group",
        "user_vnet_name",
        "user_vnet_id",
        "user_app_id",
        "user_sp_id",
        "aiven_sp_id",
        "aiven_role_id",
    ] {
        assert!(!prepared.output(name).is_empty(), "{name}");
    }
    assert_eq!(
        prepared.output("user_tenant_id"),
        harness.ready().user_tenant_id
    );
    let requested = harness.request_peering().run().await;
    requested.assert_success();
    assert_eq!(requested.output("peering_state"), "PENDING_PEER");
    assert_eq!(
        requested.output("aiven_tenant_id"),
        harness.ready().aiven_tenant_id
    );
    harness.accept_peering().run().await.assert_success();
    let active = harness.await_active().run().await;
    active.assert_success();
    assert_eq!(active.output("peering_state"), "ACTIVE");
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

/// Runs the procedure in `mode` twice: the second run writes nothing and says the same.
async fn run_again_writes_nothing(mode: Mode) {
    let harness = Harness::start().await;
    let first = mode.run_procedure(&harness).await;
    let writes = harness.write_count();
    let again = mode.run_procedure(&harness).await;
    for (index, (first, again)) in first.iter().zip(&again).enumerate() {
        if index != 1 {
            // request-peering ends at PENDING_PEER the first time and sees ACTIVE now.
            assert_eq!(
                again.outputs(),
                first.outputs(),
                "{mode:?}: phase {index} gives the same outputs"
            );
        }
    }
    assert_eq!(
        harness.writes_since(writes),
        Vec::<String>::new(),
        "{mode:?}: the second runs made no write request"
    );
    assert_final_state_named(&harness, mode.snapshot());
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_phase_run_again_writes_nothing_and_gives_the_same_outputs() {
    run_again_writes_nothing(Mode::Ephemeral).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn run_again_with_a_federated_credential_writes_nothing() {
    run_again_writes_nothing(Mode::Federated).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn run_again_with_a_stored_secret_writes_nothing() {
    run_again_writes_nothing(Mode::Stored).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_network_contributor_role_is_available() {
    let harness = Harness::start().await;
    harness
        .prepare_tenant()
        .args(["--user-role", "network-contributor"])
        .run()
        .await
        .assert_success();
    harness.request_peering().run().await.assert_success();
    harness.accept_peering().run().await.assert_success();
    harness.await_active().run().await.assert_success();
    // The world, not the binary's own output: the app's service principal holds the built-in
    // role at the VNet and no custom role was made for it.
    let ready = harness.ready().clone();
    let baseline = &harness.baseline;
    harness.sim.with_world(|world| {
        let user_assignments: Vec<_> = world
            .role_assignments
            .iter()
            // Those the run made: the busy tenant's other apps have assignments of their own.
            .filter(|assignment| !baseline.role_assignments.contains(&assignment.name))
            .filter(|assignment| {
                world
                    .service_principals
                    .iter()
                    .find(|sp| sp.object_id == assignment.principal_id)
                    .is_some_and(|sp| {
                        sp.tenant_id == ready.user_tenant_id
                            && sp.app_id != ready.admin_client_id
                            && sp.app_id != ready.aiven_app_id
                    })
            })
            .collect();
        assert_eq!(user_assignments.len(), 1, "{user_assignments:#?}");
        assert_eq!(
            user_assignments[0].role_definition_guid(),
            cloud_sim::NETWORK_CONTRIBUTOR_ROLE_ID
        );
        assert!(
            user_assignments[0]
                .scope
                .eq_ignore_ascii_case(&ready.vnet_id)
        );
    });
    assert_final_state_named(&harness, "final_state_network_contributor");
}

/// A project VPC in another cloud or region.
fn project_vpc(cloud: &str, cidr: &str) -> ProjectVpc {
    let now = std::time::SystemTime::now();
    ProjectVpc {
        id: uuid_like(cloud),
        cloud_name: cloud.to_string(),
        network_cidr: cidr.to_string(),
        state: "ACTIVE".to_string(),
        create_time: now,
        update_time: now,
        azure_virtual_network_id: String::new(),
        peering_connections: Vec::new(),
    }
}

/// A stable GUID-shaped id for a seeded VPC, different per cloud name.
fn uuid_like(seed: &str) -> String {
    let mut digits: u128 = 0x5eed;
    for byte in seed.bytes() {
        digits = digits.wrapping_mul(131).wrapping_add(u128::from(byte));
    }
    let hex = format!("{digits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Adds VPCs to the seeded project.
fn add_project_vpcs(harness: &Harness, vpcs: Vec<ProjectVpc>) {
    let project = harness.ready().aiven_project.clone();
    harness.sim.with_world(|world| {
        let project = world
            .aiven_projects
            .iter_mut()
            .find(|candidate| candidate.name == project)
            .expect("the seeded project");
        project.vpcs.extend(vpcs);
    });
}

/// request-peering without `--project-vpc-id`.
fn request_peering_by_region(harness: &Harness) -> Phase<'_> {
    harness
        .phase("request-peering")
        .args([
            "--project",
            &harness.ready().aiven_project.clone(),
            "--poll-interval",
            "100ms",
        ])
        .args([
            "--state".to_string(),
            harness.state_file().display().to_string(),
        ])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_project_vpc_is_found_by_the_vnets_region() {
    let harness = Harness::start().await;
    // Other clouds and other Azure regions hold VPCs too; only one is in the VNet's region.
    add_project_vpcs(
        &harness,
        vec![
            project_vpc("azure-northeurope", "10.50.0.0/24"),
            project_vpc("aws-eu-west-1", "10.51.0.0/24"),
            project_vpc("google-europe-west1", "10.52.0.0/24"),
        ],
    );
    harness.prepare_tenant().run().await.assert_success();
    let run = request_peering_by_region(&harness).run().await;
    run.assert_success();
    assert_eq!(
        run.output("aiven_project_vpc_id"),
        harness.ready().project_vpc_id
    );
    assert_eq!(
        run.output("aiven_cloud"),
        format!("azure-{}", harness.ready().vnet_location)
    );
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_or_several_project_vpcs_in_the_vnets_region_are_bad_input() {
    let harness = Harness::start().await;
    add_project_vpcs(
        &harness,
        vec![project_vpc("azure-northeurope", "10.50.0.0/24")],
    );
    harness.prepare_tenant().run().await.assert_success();

    // None in the region: the VNet is elsewhere now.
    let location = harness.ready().vnet_location.clone();
    let state_text = std::fs::read_to_string(harness.state_file()).unwrap();
    let elsewhere = state_text.replace(&format!("\"{location}\""), "\"swedencentral\"");
    assert_ne!(elsewhere, state_text, "the state file records the location");
    std::fs::write(harness.state_file(), &elsewhere).unwrap();
    let before = harness.write_count();
    let run = request_peering_by_region(&harness).run().await;
    run.assert_code(2);
    assert!(run.stderr.contains("\"swedencentral\""), "{}", run.stderr);
    assert!(run.stderr.contains("--project-vpc-id"), "{}", run.stderr);
    std::fs::write(harness.state_file(), &state_text).unwrap();

    // Two in the region: the phase names both and asks which.
    let second = project_vpc(&format!("azure-{location}"), "10.53.0.0/24");
    let second_id = second.id.clone();
    add_project_vpcs(&harness, vec![second]);
    let run = request_peering_by_region(&harness).run().await;
    run.assert_code(2);
    for id in [&harness.ready().project_vpc_id, &second_id] {
        assert!(run.stderr.contains(id.as_str()), "{}", run.stderr);
    }
    assert_eq!(harness.writes_since(before), Vec::<String>::new());
    harness.assert_no_secret_leaked();
}
