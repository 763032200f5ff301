//! `status`: reads both sides of the procedure (Azure: the VNet, the app, the two service
//! principals, the roles and their assignments, the user-side peering; Aiven: the connection)
//! with read rights only, writes nothing, and names the one next step (`next`).

mod next;
mod table;

pub use next::{Next, next_step};
pub use table::rows;

use crate::error::PhaseError;
use crate::phases::prepare_tenant::{STORED_PASSWORD_PREFIX, unique_name_for};
use aiven_api::{Aiven, ConnectionState, PeerTarget};
use azure_api::{Arm, Graph, VnetRef};
use std::time::{Duration, SystemTime};

/// What to look at: the VNet, and whatever the state file or the flags know of the rest.
#[derive(Debug, Clone)]
pub struct Status {
    pub vnet: VnetRef,
    /// The app's client id, when known; else it is looked up by `app_name`.
    pub app_id: Option<String>,
    pub app_name: String,
    pub aiven_app_id: String,
    pub user_role_name: String,
    pub aiven_role_name: String,
    pub project: Option<String>,
    pub project_vpc_id: Option<String>,
    /// Aiven's VNet, when request-peering has recorded it.
    pub aiven_vnet_id: Option<String>,
}

/// A password of the app this tool keeps for stored mode, and whether it has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPassword {
    pub key_id: String,
    pub display_name: String,
    pub end: String,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppFacts {
    pub app_id: String,
    pub object_id: String,
    pub stored_passwords: Vec<StoredPassword>,
}

/// The Aiven side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AivenSide {
    /// No project was given or recorded: the Aiven side was not read.
    NotAsked,
    /// No live connection to the VNet.
    NoConnection,
    Connection {
        state: ConnectionState,
        message: Option<String>,
        /// How long it has been in this state (from `update_time`), when Aiven says.
        since: Option<Duration>,
        aiven_vnet_id: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeeringFacts {
    pub name: String,
    pub state: String,
    pub sync_level: Option<String>,
    pub vnet_access: bool,
}

/// Everything status found. `None` means "looked, and it is not there".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub vnet_id: String,
    pub vnet_found: bool,
    pub app: Option<AppFacts>,
    pub user_sp: Option<String>,
    pub aiven_sp: Option<String>,
    pub user_role: Option<String>,
    pub aiven_role: Option<String>,
    pub user_assignment: Option<String>,
    pub aiven_assignment: Option<String>,
    pub aiven: AivenSide,
    pub user_peering: Option<PeeringFacts>,
}

/// Reads both sides. Only GET requests are made.
pub async fn read_status(
    arm: &Arm,
    graph: &Graph,
    aiven: Option<&Aiven>,
    request: &Status,
) -> Result<Observation, PhaseError> {
    let vnet_id = request.vnet.id();
    let vnet = arm.virtual_network(&vnet_id).await?;
    let mut observation = Observation {
        vnet_id: vnet.as_ref().map(|vnet| vnet.id.clone()).unwrap_or(vnet_id),
        vnet_found: vnet.is_some(),
        app: None,
        user_sp: None,
        aiven_sp: None,
        user_role: None,
        aiven_role: None,
        user_assignment: None,
        aiven_assignment: None,
        aiven: AivenSide::NotAsked,
        user_peering: None,
    };
    let application = match &request.app_id {
        Some(app_id) => graph.application_by_app_id(app_id).await?,
        None => match graph
            .application_by_unique_name(&unique_name_for(&request.app_name))
            .await?
        {
            Some(found) => Some(found),
            None => {
                let named = graph.applications_named(&request.app_name).await?;
                (named.len() == 1).then(|| named[0].clone())
            }
        },
    };
    if let Some(application) = &application {
        observation.app = Some(app_facts(application));
        observation.user_sp = graph
            .service_principal_for(&application.app_id)
            .await?
            .map(|principal| principal.id);
    }
    observation.aiven_sp = graph
        .service_principal_for(&request.aiven_app_id)
        .await?
        .map(|principal| principal.id);
    let scope = request.vnet.subscription_scope();
    observation.user_role = role_named(arm, &scope, &request.user_role_name).await?;
    observation.aiven_role = role_named(arm, &scope, &request.aiven_role_name).await?;
    if observation.vnet_found {
        let vnet_id = observation.vnet_id.clone();
        if let Some(principal) = &observation.user_sp {
            observation.user_assignment = assignment_at(arm, &vnet_id, principal).await?;
        }
        if let Some(principal) = &observation.aiven_sp {
            observation.aiven_assignment = assignment_at(arm, &vnet_id, principal).await?;
        }
    }
    if let (Some(aiven), Some(project)) = (aiven, &request.project) {
        observation.aiven = read_aiven(aiven, request, project).await?;
    }
    let aiven_vnet_id = match &observation.aiven {
        AivenSide::Connection {
            aiven_vnet_id: Some(id),
            ..
        } => Some(id.clone()),
        _ => request.aiven_vnet_id.clone(),
    };
    if let (true, Some(remote)) = (observation.vnet_found, aiven_vnet_id) {
        observation.user_peering = user_peering(arm, &observation.vnet_id, &remote).await?;
    }
    Ok(observation)
}

fn app_facts(application: &azure_api::graph::Application) -> AppFacts {
    let now = SystemTime::now();
    AppFacts {
        app_id: application.app_id.clone(),
        object_id: application.id.clone(),
        stored_passwords: application
            .password_credentials
            .iter()
            .filter_map(|credential| {
                let name = credential.display_name.clone()?;
                if !name.starts_with(STORED_PASSWORD_PREFIX) {
                    return None;
                }
                let end = credential.end_date_time.clone().unwrap_or_default();
                let expired = humantime::parse_rfc3339_weak(end.trim_end_matches('Z'))
                    .is_ok_and(|end| end <= now);
                Some(StoredPassword {
                    key_id: credential.key_id.clone(),
                    display_name: name,
                    end,
                    expired,
                })
            })
            .collect(),
    }
}

async fn role_named(arm: &Arm, scope: &str, name: &str) -> Result<Option<String>, PhaseError> {
    Ok(arm
        .role_definitions_named(scope, name)
        .await?
        .into_iter()
        .find(|role| role.properties.role_name.eq_ignore_ascii_case(name))
        .map(|role| role.id))
}

async fn assignment_at(
    arm: &Arm,
    vnet_id: &str,
    principal: &str,
) -> Result<Option<String>, PhaseError> {
    Ok(arm
        .role_assignments_for(vnet_id, principal)
        .await?
        .into_iter()
        .find(|assignment| {
            assignment
                .properties
                .scope
                .as_deref()
                .is_some_and(|scope| scope.eq_ignore_ascii_case(vnet_id))
        })
        .map(|assignment| assignment.id))
}

async fn read_aiven(
    aiven: &Aiven,
    request: &Status,
    project: &str,
) -> Result<AivenSide, PhaseError> {
    let target = PeerTarget::new(
        &request.vnet.subscription_id,
        &request.vnet.resource_group,
        &request.vnet.name,
    );
    let vpcs = match &request.project_vpc_id {
        Some(id) => vec![aiven.vpc(project, id).await?],
        None => {
            let mut full = Vec::new();
            for vpc in aiven.vpcs(project).await? {
                full.push(aiven.vpc(project, &vpc.project_vpc_id).await?);
            }
            full
        }
    };
    let connection = vpcs.iter().find_map(|vpc| vpc.azure_connection(&target));
    Ok(match connection {
        Some(connection) if !connection.state.is_deleted() => AivenSide::Connection {
            message: connection.message(),
            since: connection
                .update_time
                .as_deref()
                .and_then(|time| humantime::parse_rfc3339_weak(time.trim_end_matches('Z')).ok())
                .and_then(|time| SystemTime::now().duration_since(time).ok()),
            aiven_vnet_id: connection.to_network_id(),
            state: connection.state,
        },
        _ => AivenSide::NoConnection,
    })
}

async fn user_peering(
    arm: &Arm,
    vnet_id: &str,
    remote: &str,
) -> Result<Option<PeeringFacts>, PhaseError> {
    let remote = VnetRef::parse(remote).ok();
    Ok(arm
        .peerings(vnet_id)
        .await?
        .into_iter()
        .find(|peering| {
            let target = peering.remote_id().and_then(|id| VnetRef::parse(id).ok());
            matches!((&target, &remote), (Some(target), Some(remote)) if target.same_as(remote))
        })
        .map(|peering| PeeringFacts {
            state: peering.state().to_string(),
            sync_level: peering.properties.peering_sync_level.clone(),
            vnet_access: peering.properties.allow_virtual_network_access == Some(true),
            name: peering.name,
        }))
}
