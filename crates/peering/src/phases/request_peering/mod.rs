//! Seed steps 11–12, with the Aiven token: ask Aiven for the peering connection (once) and wait
//! until Aiven's side is done (PENDING_PEER), keeping the Aiven tenant and VNet ids. `vpc` finds
//! the project VPC of the VNet's region.

mod vpc;

use crate::catalog::Code;
use crate::error::PhaseError;
use crate::phases::{describe_failure, failure_code};
use crate::report::{Change, Report};
use crate::state::{Outputs, ResourceKind};
use aiven_api::{Aiven, ConnectionState, CreatePeering, PeerTarget, PeeringConnection};
use api_core::retry::{self, Step, Wait};
use azure_api::VnetRef;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct RequestPeering {
    pub project: String,
    /// `None`: the single VPC of the project in the VNet's region.
    pub project_vpc_id: Option<String>,
    pub vnet: VnetRef,
    pub vnet_location: Option<String>,
    pub app_id: String,
    pub tenant_id: String,
    pub user_peer_network_cidrs: Vec<String>,
    /// The VNet's address prefixes (prepare-tenant's user_vnet_cidrs), for the overlap check.
    pub vnet_cidrs: Vec<String>,
    pub recreate: bool,
    /// When prepare-tenant created the Aiven app's role assignment on the VNet, if known.
    pub aiven_role_assigned_at: Option<SystemTime>,
    /// How long after that assignment an INVALID_SPECIFICATION of a young connection is taken
    /// for role propagation, and the connection re-created.
    pub grant_grace: Duration,
    pub timeout: Duration,
    pub poll_interval: Duration,
}

impl RequestPeering {
    /// The VNet as Aiven keys it (lower case).
    fn target(&self) -> PeerTarget {
        PeerTarget::new(
            &self.vnet.subscription_id,
            &self.vnet.resource_group,
            &self.vnet.name,
        )
    }
}

/// The user tenant's clients of an identity that may read role assignments (the admin's), when
/// one is configured: request-peering then checks Aiven's grant on the VNet before asking.
pub struct GrantReader<'a> {
    pub arm: &'a azure_api::Arm,
    pub graph: &'a azure_api::Graph,
}

pub async fn request_peering(
    aiven: &Aiven,
    grant_reader: Option<GrantReader<'_>>,
    request: &RequestPeering,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let vpc_id = vpc::resolve_vpc(aiven, request).await?;
    let vpc = aiven
        .vpc(&request.project, &vpc_id)
        .await
        .map_err(|error| match error.status() {
            Some(403) => PhaseError::input(
                "--project",
                format!(
                    "project {} does not exist or the Aiven token has no access to it: {error}",
                    request.project
                ),
            )
            .with_code(Code::AivenProjectNotFound),
            Some(404) => PhaseError::input(
                "--project-vpc-id",
                format!(
                    "project VPC {vpc_id} not found in project {}: {error}",
                    request.project
                ),
            )
            .with_code(Code::AivenVpcNotFound),
            _ => error.into(),
        })?;
    report.resource(
        "project VPC",
        &format!(
            "{} ({})",
            vpc.cloud_name,
            vpc.network_cidr.clone().unwrap_or_default()
        ),
        &vpc_id,
        Change::AlreadyPresent,
    );
    crate::phases::preflight::request_peering(&vpc, request)?;
    match grant_reader {
        Some(reader) => {
            crate::phases::preflight::aiven_grant(reader.arm, reader.graph, &request.vnet.id())
                .await?
        }
        None => tracing::info!(
            "no admin identity configured: Aiven's peer/action grant on the VNet is not checked before the request"
        ),
    }
    report.outputs.merge(&Outputs {
        aiven_project: Some(request.project.clone()),
        aiven_project_vpc_id: Some(vpc_id.clone()),
        aiven_cloud: Some(vpc.cloud_name.clone()),
        ..Default::default()
    });

    let target = request.target();
    let existing = vpc.azure_connection(&target);
    let label = target.to_string();

    let mut created_here = match existing {
        Some(connection)
            if connection.state.is_failure() || wrong_identity(&connection, request) =>
        {
            let reason = if connection.state.is_failure() {
                describe_failure(&connection)
            } else {
                format!(
                    "the existing connection names app {} in tenant {}, not app {} in tenant {}",
                    connection.peer_azure_app_id.as_deref().unwrap_or("?"),
                    connection.peer_azure_tenant_id.as_deref().unwrap_or("?"),
                    request.app_id,
                    request.tenant_id
                )
            };
            let young_grant_failure = may_be_grant_propagation(&connection, request)
                && recently_created(&connection, request.grant_grace);
            if !request.recreate && !young_grant_failure {
                let error = PhaseError::failed(format!(
                    "the peering connection to {label} cannot proceed: {reason}. Fix the cause, then re-run with --recreate to delete and re-create it"
                ));
                return Err(if connection.state.is_failure() {
                    error.with_code(failure_code(&connection.state))
                } else {
                    error
                });
            }
            tracing::warn!("re-creating the peering connection to {label}: {reason}");
            recreate(aiven, request, &vpc_id, report, &label).await?;
            true
        }
        Some(connection) => {
            report.resource(
                "peering connection",
                &label,
                &format!("state {}", connection.state),
                Change::AlreadyPresent,
            );
            false
        }
        None => {
            // Deleted connections stay listed for a while; one still being deleted must go
            // before a new one can be made.
            if let Some(deleting) = vpc.deleting_azure_connection(&target) {
                tracing::info!(
                    "the previous peering connection to {label} is {}; waiting for it to go",
                    deleting.state
                );
                if !report.planning() {
                    wait_until_gone(aiven, request, &vpc_id).await?;
                }
            }
            create(aiven, request, &vpc_id, report, &label).await?;
            true
        }
    };

    if report.planning() {
        // A plan stops before the wait: the rest reads what the writes above would start.
        return Ok(());
    }
    let started = std::time::Instant::now();
    let ready = loop {
        match wait_for_pending_peer(aiven, request, &vpc_id, &label).await? {
            Ok(ready) => break ready,
            Err(failed)
                if (created_here || recently_created(&failed, request.grant_grace))
                    && may_be_grant_propagation(&failed, request)
                    && started.elapsed() < request.grant_grace =>
            {
                // Aiven checked the grant before Azure applied the role assignment that
                // prepare-tenant made moments ago; a new connection is checked anew. Aiven's
                // wording is not documented, so the state and the timing decide, not the text.
                tracing::warn!(
                    "Aiven answered INVALID_SPECIFICATION ({}) within {} of the Aiven app's role assignment, which takes minutes to apply: re-creating the connection",
                    failed.message().unwrap_or_default(),
                    humantime::format_duration(request.grant_grace)
                );
                recreate(aiven, request, &vpc_id, report, &label).await?;
                created_here = true;
            }
            Err(failed) => {
                return Err(PhaseError::failed(format!(
                    "the peering connection to {label} is {}: {}. Fix the cause, then re-run request-peering with --recreate",
                    failed.state,
                    describe_failure(&failed)
                ))
                .with_code(failure_code(&failed.state)));
            }
        }
    };

    let (aiven_tenant_id, aiven_vnet_id) = match (ready.to_tenant_id(), ready.to_network_id()) {
        (Some(tenant), Some(network)) => (Some(tenant), Some(network)),
        // ACTIVE connections may no longer carry them: the state file of an earlier run does.
        _ => (None, None),
    };
    report.resource(
        "peering connection",
        &label,
        &format!("state {}", ready.state),
        Change::Waited,
    );
    report.outputs.merge(&Outputs {
        aiven_tenant_id,
        aiven_vnet_id,
        peering_state: Some(ready.state.to_string()),
        ..Default::default()
    });
    Ok(())
}

/// Whether an INVALID_SPECIFICATION may just be Azure not having applied the Aiven app's role
/// assignment yet: it arrived within the grace period after that assignment was created.
fn may_be_grant_propagation(connection: &PeeringConnection, request: &RequestPeering) -> bool {
    connection.state == ConnectionState::InvalidSpecification
        && request.aiven_role_assigned_at.is_some_and(|assigned| {
            SystemTime::now()
                .duration_since(assigned)
                .map_or(true, |age| age < request.grant_grace)
        })
}

/// Whether Aiven created the connection less than `grace` ago (by its `create_time`).
fn recently_created(connection: &PeeringConnection, grace: Duration) -> bool {
    connection
        .create_time
        .as_deref()
        .and_then(|time| humantime::parse_rfc3339_weak(time).ok())
        .and_then(|created| std::time::SystemTime::now().duration_since(created).ok())
        .is_some_and(|age| age < grace)
}

/// Waits for PENDING_PEER (or ACTIVE); a failure state is returned as `Ok(Err(connection))`.
async fn wait_for_pending_peer(
    aiven: &Aiven,
    request: &RequestPeering,
    vpc_id: &str,
    label: &str,
) -> Result<Result<PeeringConnection, PeeringConnection>, PhaseError> {
    let wait = Wait::new(
        "Aiven to set up its side of the peering (PENDING_PEER)",
        request.timeout,
        request.poll_interval,
    );
    retry::until(&wait, |attempt| async move {
        let found = aiven
            .azure_connection(&request.project, vpc_id, &request.target())
            .await;
        match found {
            Ok(Some(connection))
                if connection.state == ConnectionState::PendingPeer
                    && connection.to_network_id().is_some() =>
            {
                Step::Done(Ok(connection))
            }
            Ok(Some(connection)) if connection.state == ConnectionState::Active => {
                Step::Done(Ok(connection))
            }
            Ok(Some(connection)) if connection.state.is_failure() => Step::Done(Err(connection)),
            Ok(Some(connection)) => {
                tracing::info!(
                    "peering connection is {} after {}s",
                    connection.state,
                    attempt.elapsed.as_secs()
                );
                Step::retry(PhaseError::failed(format!(
                    "the peering connection is still {}",
                    connection.state
                )))
            }
            Ok(None) => Step::Fail(
                PhaseError::failed(format!(
                    "the peering connection to {label} disappeared; re-run request-peering"
                ))
                .with_code(Code::ConnectionMissing),
            ),
            Err(error) => Step::retry(PhaseError::from(error)),
        }
    })
    .await
    .map_err(PhaseError::from)
}

async fn recreate(
    aiven: &Aiven,
    request: &RequestPeering,
    vpc_id: &str,
    report: &mut Report,
    label: &str,
) -> Result<(), PhaseError> {
    if report.planning() {
        would(report, request, vpc_id, label, Change::Removed);
        return create(aiven, request, vpc_id, report, label).await;
    }
    aiven
        .delete_azure_peering(&request.project, vpc_id, &request.target())
        .await?;
    wait_until_gone(aiven, request, vpc_id).await?;
    report.resource("peering connection", label, vpc_id, Change::Removed);
    create(aiven, request, vpc_id, report, label).await?;
    Ok(())
}

fn wrong_identity(connection: &PeeringConnection, request: &RequestPeering) -> bool {
    let differs = |value: &Option<String>, wanted: &str| {
        value
            .as_deref()
            .is_some_and(|value| !value.eq_ignore_ascii_case(wanted))
    };
    differs(&connection.peer_azure_app_id, &request.app_id)
        || differs(&connection.peer_azure_tenant_id, &request.tenant_id)
}

async fn create(
    aiven: &Aiven,
    request: &RequestPeering,
    vpc_id: &str,
    report: &mut Report,
    label: &str,
) -> Result<(), PhaseError> {
    if report.planning() {
        would(report, request, vpc_id, label, Change::Created);
        return Ok(());
    }
    let body = CreatePeering::new(
        request.target(),
        &request.app_id,
        &request.tenant_id,
        request.user_peer_network_cidrs.clone(),
    );
    let state = match aiven.create_peering(&request.project, vpc_id, &body).await {
        Ok(created) => created.state,
        // The create may have happened although its answer was lost: look before failing.
        Err(error) if error.may_have_acted() => {
            match aiven
                .azure_connection(&request.project, vpc_id, &request.target())
                .await
            {
                Ok(Some(found)) => {
                    tracing::info!("the connection was created although the answer was lost");
                    found.state
                }
                _ => return Err(error.into()),
            }
        }
        Err(error) => return Err(error.into()),
    };
    report.resource(
        "peering connection",
        label,
        &format!("state {state}"),
        Change::Created,
    );
    report.created(
        ResourceKind::PeeringConnection,
        &format!("{}/{vpc_id}", request.project),
        label,
        None,
    );
    Ok(())
}

/// `--plan`: the change the real run would make to the connection, instead of making it.
fn would(report: &mut Report, request: &RequestPeering, vpc: &str, label: &str, change: Change) {
    let scope = format!("Aiven project {} VPC {vpc}", request.project);
    report.would("peering connection", label, &scope, change);
}

async fn wait_until_gone(
    aiven: &Aiven,
    request: &RequestPeering,
    vpc_id: &str,
) -> Result<(), PhaseError> {
    let wait = Wait::new(
        "the old peering connection to be deleted",
        request.timeout,
        request.poll_interval,
    )
    .steady();
    let target = request.target();
    retry::until(&wait, |_| async {
        match aiven.vpc(&request.project, vpc_id).await {
            Ok(vpc) => match vpc
                .azure_connection(&target)
                .or_else(|| vpc.deleting_azure_connection(&target))
            {
                None => Step::Done(()),
                Some(connection) => Step::retry(PhaseError::failed(format!(
                    "the old connection is still {}",
                    connection.state
                ))),
            },
            Err(error) => Step::retry(PhaseError::from(error)),
        }
    })
    .await?;
    Ok(())
}
