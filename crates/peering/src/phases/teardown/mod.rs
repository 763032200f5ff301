//! `teardown`: undoes the procedure in the safe order — the Aiven connection (waiting until it
//! is gone), the user-side peering, the two role assignments, the custom roles once nothing
//! else is assigned them, the credentials the tool added, the app and its service principal,
//! and the Aiven app's service principal — each only when the state file records that this
//! tool created it (or `--force` names it). After each removal the record is dropped from the
//! state file at once, so a run killed at any write is finished by the next one; removing what
//! is already gone is not an error.

mod exists;

use crate::error::PhaseError;
use crate::report::{Change, Report};
use crate::state::{CreatedResource, ResourceKind, StateFile};
use aiven_api::{Aiven, PeerTarget};
use api_core::retry::{self, Step, Wait};
use azure_api::{Arm, Graph, VnetRef};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Teardown {
    pub vnet: VnetRef,
    /// What to remove: the state file's records, and what `--force` named.
    pub records: Vec<CreatedResource>,
    /// Keep the app registration and its service principal for a later re-peering.
    pub keep_app: bool,
    /// Only say what would be removed.
    pub plan: bool,
    /// The state file, to drop each record as soon as its object is gone.
    pub state_file: Option<PathBuf>,
    pub timeout: Duration,
    pub poll_interval: Duration,
}

/// The order of removal: dependents before what they depend on.
const ORDER: &[ResourceKind] = &[
    ResourceKind::PeeringConnection,
    ResourceKind::VnetPeering,
    ResourceKind::RoleAssignment,
    ResourceKind::CustomRole,
    ResourceKind::GitHubSecret,
    ResourceKind::AppPassword,
    ResourceKind::FederatedCredential,
    ResourceKind::ServicePrincipal,
    ResourceKind::Application,
    ResourceKind::AivenServicePrincipal,
];

/// The clients teardown needs; the Aiven one only when a connection is to be removed.
pub struct Clients<'a> {
    pub arm: &'a Arm,
    pub graph: &'a Graph,
    pub aiven: Option<&'a Aiven>,
    /// Only when a GitHub secret is to be deleted.
    pub github: Option<&'a github_api::GitHub>,
}

/// What became of one record.
enum Outcome {
    Removed,
    /// Left in place, for the reason given; the record is dropped all the same when the
    /// object is not this VNet's to remove (a role still used elsewhere).
    Kept(String),
}

pub async fn teardown(
    clients: &Clients<'_>,
    request: &Teardown,
    report: &mut Report,
) -> Result<(), PhaseError> {
    for kind in ORDER {
        let app_kinds = [ResourceKind::Application, ResourceKind::ServicePrincipal];
        for record in request.records.iter().filter(|record| record.kind == *kind) {
            if request.keep_app && app_kinds.contains(kind) {
                report.resource(
                    kind.label(),
                    &record.name,
                    &record.id,
                    Change::AlreadyPresent,
                );
                continue;
            }
            // A create a killed run sent but never saw answered: the object is looked up.
            let resolved = match record.pending {
                true => resolve_pending(clients, record).await?,
                false => Some(record.clone()),
            };
            let Some(resolved) = resolved else {
                tracing::info!(
                    "{} {} was never made (a killed run's create did not land)",
                    kind.label(),
                    record.name
                );
                if request.plan {
                    report.would(kind.label(), &record.name, &record.id, Change::Missing);
                } else {
                    report.resource(kind.label(), &record.name, &record.id, Change::Missing);
                    forget(request, record)?;
                }
                continue;
            };
            if request.plan {
                // An object already gone only has its record dropped; one this run cannot
                // look at is planned for removal.
                if exists::still_there(clients, request, &resolved).await == Some(false) {
                    tracing::info!(
                        "{} {} is gone already ({}): its record would be dropped",
                        kind.label(),
                        resolved.name,
                        resolved.id
                    );
                    report.would(kind.label(), &resolved.name, &resolved.id, Change::Missing);
                    continue;
                }
                tracing::info!(
                    "would remove {} {} ({})",
                    kind.label(),
                    resolved.name,
                    resolved.id
                );
                report.would(kind.label(), &resolved.name, &resolved.id, Change::Removed);
                continue;
            }
            match remove(clients, request, &resolved).await? {
                Outcome::Removed => {
                    report.resource(kind.label(), &record.name, &record.id, Change::Removed)
                }
                Outcome::Kept(reason) => {
                    tracing::info!("kept {} {}: {reason}", kind.label(), record.name);
                    report.resource(kind.label(), &record.name, &reason, Change::AlreadyPresent);
                }
            }
            forget(request, record)?;
        }
    }
    Ok(())
}

/// Drops a record (and the outputs that named its object) from the state file.
fn forget(request: &Teardown, record: &CreatedResource) -> Result<(), PhaseError> {
    let Some(path) = &request.state_file else {
        return Ok(());
    };
    let mut state = StateFile::load(path)?;
    state.forget(record);
    state.outputs.clear(outputs_of(record.kind));
    state.save(path).map_err(|error| {
        PhaseError::because(
            format!("cannot write the state file {}", path.display()),
            error,
        )
    })
}

/// The outputs that name an object of this kind.
fn outputs_of(kind: ResourceKind) -> &'static [&'static str] {
    match kind {
        ResourceKind::PeeringConnection => &["aiven_tenant_id", "aiven_vnet_id", "peering_state"],
        ResourceKind::VnetPeering => &["peering_name", "user_peering_state"],
        ResourceKind::ServicePrincipal => &["user_sp_id"],
        ResourceKind::Application => &["user_app_name", "user_app_id", "user_app_object_id"],
        ResourceKind::AivenServicePrincipal => &["aiven_sp_id"],
        _ => &[],
    }
}

async fn remove(
    clients: &Clients<'_>,
    request: &Teardown,
    record: &CreatedResource,
) -> Result<Outcome, PhaseError> {
    let (arm, graph) = (clients.arm, clients.graph);
    match record.kind {
        ResourceKind::PeeringConnection => remove_connection(clients.aiven, request, record).await,
        ResourceKind::VnetPeering => {
            let (vnet_id, name) = peering_of(record)?;
            arm.delete_peering(vnet_id, name).await?;
            Ok(Outcome::Removed)
        }
        ResourceKind::RoleAssignment => {
            arm.delete_authorization_object(&record.id).await?;
            Ok(Outcome::Removed)
        }
        ResourceKind::CustomRole => remove_role(arm, record).await,
        ResourceKind::AppPassword => {
            let parent = parent_of(record)?;
            match graph.remove_password(parent, &record.id).await {
                Ok(()) => Ok(Outcome::Removed),
                // The password, or the whole app, is gone already.
                Err(error) if error.is_not_found() => Ok(Outcome::Removed),
                Err(error) => Err(error.into()),
            }
        }
        ResourceKind::FederatedCredential => {
            graph
                .delete_federated_credential(parent_of(record)?, &record.id)
                .await?;
            Ok(Outcome::Removed)
        }
        ResourceKind::ServicePrincipal | ResourceKind::AivenServicePrincipal => {
            graph.delete_service_principal(&record.id).await?;
            Ok(Outcome::Removed)
        }
        ResourceKind::Application => {
            graph.delete_application(&record.id).await?;
            Ok(Outcome::Removed)
        }
        ResourceKind::GitHubSecret => {
            let github = clients.github.ok_or_else(|| {
                PhaseError::input(
                    api_core::env_vars::GITHUB_TOKEN,
                    "deleting the GitHub secret this tool created needs a GitHub token with secrets write permission in PEERING_GITHUB_TOKEN or GITHUB_TOKEN",
                )
            })?;
            let target = secret_target_of(record)?;
            github.delete_secret(&target, &record.id).await?;
            Ok(Outcome::Removed)
        }
    }
}

/// The object a pending record was about to create, when it exists (see
/// [`CreatedResource::pending`] for the keys). Its create may have landed moments ago: Graph's
/// replication can hide it for a few seconds from a teardown run right after the killed run.
async fn resolve_pending(
    clients: &Clients<'_>,
    record: &CreatedResource,
) -> Result<Option<CreatedResource>, PhaseError> {
    let graph = clients.graph;
    let found = match record.kind {
        ResourceKind::Application => graph
            .application_by_unique_name(&record.id)
            .await?
            .map(|application| application.id),
        ResourceKind::ServicePrincipal | ResourceKind::AivenServicePrincipal => graph
            .service_principal_for(&record.id)
            .await?
            .map(|principal| principal.id),
        ResourceKind::FederatedCredential => {
            match graph.federated_credentials(parent_of(record)?).await {
                Ok(credentials) => credentials
                    .into_iter()
                    .find(|credential| credential.name == record.id)
                    .map(|credential| credential.id),
                // The app, and its credentials with it, is gone.
                Err(error) if error.is_not_found() => None,
                Err(error) => return Err(error.into()),
            }
        }
        ResourceKind::CustomRole => clients
            .arm
            .role_definition_by_id(&record.id)
            .await?
            .map(|role| role.id),
        // Their ids were chosen before the create: removing a missing one is not an error.
        _ => Some(record.id.clone()),
    };
    Ok(found.map(|id| CreatedResource {
        id,
        pending: false,
        ..record.clone()
    }))
}

/// A VNet peering record's VNet id and peering name.
fn peering_of(record: &CreatedResource) -> Result<(&str, &str), PhaseError> {
    record
        .id
        .rsplit_once("/virtualNetworkPeerings/")
        .ok_or_else(|| PhaseError::failed(format!("{} is not a peering id", record.id)))
}

/// A peering connection record's project, project VPC id and peer target (the VNet's).
fn connection_of<'a>(
    request: &Teardown,
    record: &'a CreatedResource,
) -> Result<(&'a str, &'a str, PeerTarget), PhaseError> {
    let (project, vpc_id) = record.id.split_once('/').ok_or_else(|| {
        PhaseError::failed(format!("{} is not project/project_vpc_id", record.id))
    })?;
    let target = PeerTarget::new(
        &request.vnet.subscription_id,
        &request.vnet.resource_group,
        &request.vnet.name,
    );
    Ok((project, vpc_id, target))
}

/// Where a GitHub secret record's secret lives.
fn secret_target_of(record: &CreatedResource) -> Result<github_api::SecretTarget, PhaseError> {
    github_api::SecretTarget::parse(parent_of(record)?).ok_or_else(|| {
        PhaseError::failed(format!(
            "the state file's record of GitHub secret {} names no repository",
            record.id
        ))
    })
}

fn parent_of(record: &CreatedResource) -> Result<&str, PhaseError> {
    record.parent.as_deref().ok_or_else(|| {
        PhaseError::failed(format!(
            "the state file's record of {} {} names no app",
            record.kind.label(),
            record.id
        ))
    })
}

/// A custom role goes only when no assignment anywhere in its assignable scopes uses it.
async fn remove_role(arm: &Arm, record: &CreatedResource) -> Result<Outcome, PhaseError> {
    let Some(role) = arm.role_definition_by_id(&record.id).await? else {
        return Ok(Outcome::Removed);
    };
    let guid = role.name.to_ascii_lowercase();
    let mut users = 0;
    for scope in &role.properties.assignable_scopes {
        users += arm
            .role_assignments_at(scope)
            .await?
            .iter()
            .filter(|assignment| {
                assignment
                    .properties
                    .role_definition_id
                    .to_ascii_lowercase()
                    .ends_with(&guid)
            })
            .count();
    }
    if users > 0 {
        return Ok(Outcome::Kept(format!("still assigned {users} time(s)")));
    }
    match arm.delete_authorization_object(&record.id).await {
        Ok(()) => Ok(Outcome::Removed),
        // Assigned meanwhile, or somewhere this identity cannot list: not ours to break.
        Err(error) if error.is(409, "RoleDefinitionHasAssignments") => {
            Ok(Outcome::Kept("still assigned".to_string()))
        }
        Err(error) => Err(error.into()),
    }
}

async fn remove_connection(
    aiven: Option<&Aiven>,
    request: &Teardown,
    record: &CreatedResource,
) -> Result<Outcome, PhaseError> {
    let aiven = aiven.ok_or_else(|| {
        PhaseError::input(
            api_core::env_vars::AIVEN_AUTH_TOKEN,
            "removing the Aiven peering connection needs the Aiven token",
        )
    })?;
    let (project, vpc_id, target) = connection_of(request, record)?;
    // Aiven keeps deleted connections listed for a while (and may list them before the live
    // one): only the live one is deleted, and only one on its way out is waited for.
    if aiven
        .azure_connection(project, vpc_id, &target)
        .await?
        .is_some()
    {
        match aiven.delete_azure_peering(project, vpc_id, &target).await {
            Ok(()) => {}
            Err(error) if error.status() == Some(404) => return Ok(Outcome::Removed),
            Err(error) => return Err(error.into()),
        }
    }
    let wait = Wait::new(
        "Aiven to delete the peering connection",
        request.timeout,
        request.poll_interval,
    )
    .steady();
    retry::until(&wait, |_| async {
        let vpc = match aiven.vpc(project, vpc_id).await {
            Ok(vpc) => vpc,
            Err(error) => return Step::retry(PhaseError::from(error)),
        };
        match vpc
            .azure_connection(&target)
            .or_else(|| vpc.deleting_azure_connection(&target))
        {
            None => Step::Done(()),
            Some(connection) => Step::retry(PhaseError::failed(format!(
                "the connection is still {}",
                connection.state
            ))),
        }
    })
    .await?;
    Ok(Outcome::Removed)
}
