//! Seed step 14: poll the Aiven connection until ACTIVE, at a steady cadence, reporting
//! progress; failure states end the wait at once.

use crate::error::PhaseError;
use crate::phases::describe_failure;
use crate::registry::Phase;
use crate::report::{Change, Report};
use crate::state::Outputs;
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

pub async fn await_active(aiven: &Aiven, request: &AwaitActive) -> Result<Report, PhaseError> {
    let mut report = Report::new(Phase::AwaitActive);
    let target = PeerTarget::new(
        &request.vnet.subscription_id,
        &request.vnet.resource_group,
        &request.vnet.name,
    );
    let label = target.to_string();
    let wait = Wait::new(
        "the peering connection to become ACTIVE",
        request.timeout,
        request.poll_interval,
    )
    .steady();
    let connection = retry::until(&wait, |attempt| {
        let (label, target) = (&label, &target);
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
                    Step::Fail(PhaseError::failed(format!(
                        "the peering connection to {label} is {}: {}",
                        connection.state,
                        describe_failure(&connection)
                    )))
                }
                Ok(Some(connection)) => {
                    let remaining = request.timeout.saturating_sub(attempt.elapsed);
                    tracing::info!(
                        "state {}, elapsed {}, next check in {}, giving up in {}",
                        connection.state,
                        humantime::format_duration(Duration::from_secs(attempt.elapsed.as_secs())),
                        humantime::format_duration(request.poll_interval),
                        humantime::format_duration(Duration::from_secs(remaining.as_secs()))
                    );
                    Step::retry(PhaseError::failed(format!("the peering connection is still {}", connection.state)))
                }
                Ok(None) => Step::Fail(PhaseError::input(
                    "peering connection",
                    format!("no peering connection to {label} in project VPC {}; run request-peering first", request.project_vpc_id),
                )),
                Err(error) if error.status() == Some(404) => Step::Fail(PhaseError::input(
                    "--aiven-project-vpc-id",
                    format!("project VPC {} of project {} not found: {error}", request.project_vpc_id, request.project),
                )),
                Err(error) => Step::retry(PhaseError::from(error)),
            }
        }
    })
    .await
    .map_err(|error| match PhaseError::from(error) {
        PhaseError::TimedOut { message, last } => PhaseError::TimedOut {
            message: format!("{message} (Aiven has taken up to 15 minutes)"),
            last,
        },
        other => other,
    })?;
    report.resource("peering connection", &label, "ACTIVE", Change::Waited);
    report.outputs = Outputs {
        peering_state: Some(connection.state.to_string()),
        ..Default::default()
    };
    Ok(report)
}
