//! Seed step 14: poll the Aiven connection until ACTIVE, at pauses that follow the time waited
//! (`api_core::retry`: ACTIVE is noticed within a tenth of the wait, at most 60 polls in 15
//! minutes), reporting progress; failure states end the wait at once.

use crate::catalog::Code;
use crate::error::PhaseError;
use crate::phases::{describe_failure, failure_code};
use crate::report::{Change, Report};
use aiven_api::{Aiven, ConnectionState, PeerTarget};
use api_core::retry::{self, Step, Wait};
use azure_api::VnetRef;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AwaitActive {
    pub project: String,
    pub project_vpc_id: String,
    pub vnet: VnetRef,
    pub timeout: Duration,
    pub poll_interval: Duration,
}

pub async fn await_active(
    aiven: &Aiven,
    request: &AwaitActive,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let target = PeerTarget::new(
        &request.vnet.subscription_id,
        &request.vnet.resource_group,
        &request.vnet.name,
    );
    let label = target.to_string();
    // A plan looks once: a wait writes nothing, so the plan only says whether there is one.
    let timeout = match report.planning() {
        true => Duration::ZERO,
        false => request.timeout,
    };
    let wait = Wait::new(
        "the peering connection to become ACTIVE",
        timeout,
        request.poll_interval,
    );
    let last_state = std::cell::RefCell::new(None);
    let connection = retry::until(&wait, |_| {
        let (label, target, last_state) = (&label, &target, &last_state);
        async move {
            let found = aiven
                .azure_connection(&request.project, &request.project_vpc_id, target)
                .await;
            match found {
                Ok(Some(connection)) if connection.state == ConnectionState::Active => {
                    Step::Done(connection)
                }
                Ok(Some(connection))
                    if connection.state.is_failure() || connection.state.is_deleted() =>
                {
                    let error = PhaseError::failed(format!(
                        "the peering connection to {label} is {}: {}",
                        connection.state,
                        describe_failure(&connection)
                    ));
                    Step::Fail(if connection.state.is_failure() {
                        error.with_code(failure_code(&connection.state))
                    } else {
                        error.with_code(Code::ConnectionMissing)
                    })
                }
                Ok(Some(connection)) => {
                    // The retry loop reports the waiting; the state is worth a line when it moves.
                    if last_state.replace(Some(connection.state.clone())).as_ref() != Some(&connection.state) {
                        tracing::info!("the peering connection is {}", connection.state);
                    }
                    Step::retry(PhaseError::failed(format!("the peering connection is still {}", connection.state)))
                }
                Ok(None) => Step::Fail(PhaseError::input(
                    "peering connection",
                    format!("no peering connection to {label} in project VPC {}; run request-peering first", request.project_vpc_id),
                ).with_code(Code::ConnectionMissing)),
                Err(error) if error.status() == Some(404) => Step::Fail(PhaseError::input(
                    "--aiven-project-vpc-id",
                    format!("project VPC {} of project {} not found: {error}", request.project_vpc_id, request.project),
                ).with_code(Code::AivenVpcNotFound)),
                Err(error) => Step::retry(PhaseError::from(error)),
            }
        }
    })
    .await;
    let connection = match connection {
        Err(retry::WaitError::TimedOut { last, .. }) if report.planning() => {
            let now = last.to_string();
            report.would(
                "peering connection",
                &label,
                &format!("wait for ACTIVE ({now})"),
                Change::Waited,
            );
            return Ok(());
        }
        other => other,
    };
    let connection = connection.map_err(|error| match PhaseError::from(error) {
        PhaseError::TimedOut { message, last } => PhaseError::TimedOut {
            message: format!("{message} (Aiven has taken up to 15 minutes)"),
            last,
        },
        other => other,
    })?;
    let change = match report.planning() {
        true => Change::AlreadyPresent,
        false => Change::Waited,
    };
    report.resource("peering connection", &label, "ACTIVE", change);
    report.outputs.peering_state = Some(connection.state.to_string());
    Ok(())
}
