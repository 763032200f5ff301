//! `teardown --plan`: whether each recorded object is still there, read object by object, so
//! the plan says what the run would really remove and which records it would only drop (an
//! object deleted by hand, or by an earlier teardown killed before it dropped the record).

use super::{Clients, Teardown, connection_of, parent_of, peering_of, secret_target_of};
use crate::error::PhaseError;
use crate::state::{CreatedResource, ResourceKind};

/// `Some(true)` when the object exists, `Some(false)` when it is gone, `None` when this run
/// cannot tell (no Aiven or GitHub client, or a read the identity may not make).
pub(super) async fn still_there(
    clients: &Clients<'_>,
    request: &Teardown,
    record: &CreatedResource,
) -> Option<bool> {
    match look(clients, request, record).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(
                "cannot tell whether {} {} still exists: {error}",
                record.kind.label(),
                record.name
            );
            None
        }
    }
}

async fn look(
    clients: &Clients<'_>,
    request: &Teardown,
    record: &CreatedResource,
) -> Result<Option<bool>, PhaseError> {
    let (arm, graph) = (clients.arm, clients.graph);
    let found = match record.kind {
        ResourceKind::Application => graph.application(&record.id).await?.is_some(),
        ResourceKind::ServicePrincipal | ResourceKind::AivenServicePrincipal => {
            graph.service_principal(&record.id).await?.is_some()
        }
        ResourceKind::CustomRole => arm.role_definition_by_id(&record.id).await?.is_some(),
        ResourceKind::RoleAssignment => arm.role_assignment_by_id(&record.id).await?.is_some(),
        ResourceKind::VnetPeering => {
            let (vnet_id, name) = peering_of(record)?;
            arm.peering(vnet_id, name).await?.is_some()
        }
        ResourceKind::AppPassword => {
            graph
                .application(parent_of(record)?)
                .await?
                .is_some_and(|application| {
                    application
                        .password_credentials
                        .iter()
                        .any(|password| password.key_id.eq_ignore_ascii_case(&record.id))
                })
        }
        ResourceKind::FederatedCredential => {
            match graph.federated_credentials(parent_of(record)?).await {
                Ok(credentials) => credentials
                    .iter()
                    .any(|credential| credential.id.eq_ignore_ascii_case(&record.id)),
                Err(error) if error.is_not_found() => false,
                Err(error) => return Err(error.into()),
            }
        }
        ResourceKind::PeeringConnection => {
            let Some(aiven) = clients.aiven else {
                return Ok(None);
            };
            let (project, vpc_id, target) = connection_of(request, record)?;
            aiven
                .azure_connection(project, vpc_id, &target)
                .await?
                .is_some()
        }
        ResourceKind::GitHubSecret => {
            let Some(github) = clients.github else {
                return Ok(None);
            };
            // A record naming no app is an error as for the other kinds; one naming no
            // repository has nothing to look at (the run says so).
            parent_of(record)?;
            let Ok(target) = secret_target_of(record) else {
                return Ok(None);
            };
            github.secret(&target, &record.id).await?.is_some()
        }
    };
    Ok(Some(found))
}
