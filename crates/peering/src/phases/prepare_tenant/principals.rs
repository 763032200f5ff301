//! Service principals (seed steps 3 and 7): the user app's, and the Aiven app's in the user
//! tenant. The foreign one needs the Application Administrator role or an equivalent (checked
//! before the first write by `preflight::foreign_service_principal`); a 403 says so at once.

use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use api_core::retry::{self, Step, Wait};
use azure_api::Graph;
use azure_api::graph::{ServicePrincipal, is_replication_lag};

/// Whose service principal: what it is called in messages, in the state file, and whether
/// its app is another tenant's.
pub(super) struct Principal<'a> {
    pub what: &'a str,
    pub kind: ResourceKind,
    pub name: &'a str,
    pub foreign: bool,
}

pub(super) async fn ensure_service_principal(
    graph: &Graph,
    app_id: &str,
    principal: &Principal<'_>,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<(ServicePrincipal, Change), PhaseError> {
    let Principal { what, foreign, .. } = *principal;
    // The app of a plan's stand-in has no service principal yet.
    if !super::plan::is_planned(app_id)
        && let Some(existing) = graph.service_principal_for(app_id).await?
    {
        return Ok((existing, Change::AlreadyPresent));
    }
    if report.planning() {
        return Ok((super::plan::service_principal(app_id), Change::Created));
    }
    report.intend(principal.kind, app_id, principal.name, None);
    let wait = Wait::new(
        format!("{what} to be created"),
        pacing.replication_timeout,
        pacing.interval,
    );
    let made = retry::until(&wait, |_| async move {
        match graph.create_service_principal(app_id).await {
            Ok(principal) => Step::Done((principal, Change::Created)),
            Err(error) if error.status() == Some(409) => {
                match graph.service_principal_for(app_id).await {
                    Ok(Some(principal)) => Step::Done((principal, Change::AlreadyPresent)),
                    Ok(None) => Step::retry(PhaseError::failed(format!(
                        "{what} exists but is not readable yet"
                    ))),
                    Err(error) => Step::Fail(error.into()),
                }
            }
            Err(error) if foreign && error.status() == Some(403) => Step::Fail(
                PhaseError::because(
                    format!(
                        "cannot create {what} for app {app_id}: the admin identity needs the \
                     Application Administrator or Cloud Application Administrator directory role \
                     in your tenant (a PIM-eligible role must be activated), or, for a service \
                     principal, the Microsoft Graph application permission \
                     Application.ReadWrite.All with admin consent; grant one and re-run"
                    ),
                    error,
                )
                .with_code(crate::catalog::Code::ApplicationAdministratorRequired),
            ),
            Err(error) if is_replication_lag(&error) => Step::retry(PhaseError::from(error)),
            Err(error) => Step::Fail(error.into()),
        }
    })
    .await;
    // Refused: nothing was made, so nothing of this appId is this tool's to remove later.
    if let Err(retry::WaitError::Failed(_)) = &made {
        report.abandon(principal.kind, app_id, None);
    }
    Ok(made?)
}
