//! The role assignments at the VNet's scope (seed steps 6 and 9), one for each app, with
//! deterministic guids: a re-run, or another run at the same moment, PUTs the same assignment,
//! and `RoleAssignmentExists` means someone made it already.

use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use api_core::retry::{self, Step, Wait};
use azure_api::Arm;

/// The guid at the end of a role definition id, in lower case.
fn guid_of(role_definition_id: &str) -> String {
    role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// A role assignment to make: who gets which role where.
#[derive(Debug, Clone)]
pub(super) struct Assignment {
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    /// Whose it is, for messages ("user app", "Aiven app").
    pub who: &'static str,
}

impl Assignment {
    /// UUID v5 of scope, role and principal: a re-run PUTs the same assignment.
    fn guid(&self) -> String {
        uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "aiven-peering/assignment/{}/{}/{}",
                self.scope.to_ascii_lowercase(),
                guid_of(&self.role_definition_id),
                self.principal_id.to_ascii_lowercase()
            )
            .as_bytes(),
        )
        .to_string()
    }
}

/// Makes the assignment unless it exists; returns when it was created (`createdOn`), if the
/// service said.
pub(super) async fn ensure_assignment(
    arm: &Arm,
    wanted: &Assignment,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<Option<String>, PhaseError> {
    // A plan's stand-in principal or role has no assignment yet.
    let planned = super::plan::is_planned(&wanted.principal_id)
        || super::plan::is_planned(&wanted.role_definition_id);
    let found = match planned {
        true => None,
        false => find(arm, wanted).await?,
    };
    if let Some((id, created_on)) = found {
        report.resource(
            "role assignment",
            &label(wanted),
            &id,
            Change::AlreadyPresent,
        );
        record_if_ours(report, wanted, &id);
        return Ok(created_on);
    }
    if report.planning() {
        report.would(
            "role assignment",
            &label(wanted),
            &wanted.scope,
            Change::Created,
        );
        return Ok(None);
    }
    let guid = wanted.guid();
    report.intend(
        ResourceKind::RoleAssignment,
        &format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{guid}",
            wanted.scope
        ),
        &label(wanted),
        None,
    );
    let wait = Wait::new(
        format!("role assignment for the {} to be accepted", wanted.who),
        pacing.replication_timeout,
        pacing.interval,
    );
    let (id, created_on, change) = retry::until(&wait, |_| async {
        match arm
            .put_role_assignment(
                &wanted.scope,
                &guid,
                &wanted.role_definition_id,
                &wanted.principal_id,
            )
            .await
        {
            Ok(assignment) => Step::Done((
                assignment.id,
                assignment.properties.created_on,
                Change::Created,
            )),
            // Someone else (a re-run, another pipeline of the matrix) made it.
            Err(error) if error.is(409, "RoleAssignmentExists") => match find(arm, wanted).await {
                Ok(Some((id, created_on))) => Step::Done((id, created_on, Change::AlreadyPresent)),
                Ok(None) => Step::retry(PhaseError::from(error)),
                Err(error) => Step::Fail(error),
            },
            // A principal created moments ago can be unknown to Azure RBAC even with
            // principalType, and a custom role created moments ago is not assignable yet; the
            // ids come from the API itself, so both are replication lag.
            Err(error)
                if error.is(400, "PrincipalNotFound")
                    || error.is(400, "RoleDefinitionDoesNotExist") =>
            {
                Step::retry(PhaseError::from(error))
            }
            Err(error) => Step::Fail(PhaseError::from(error)),
        }
    })
    .await?;
    report.resource("role assignment", &label(wanted), &id, change);
    record_if_ours(report, wanted, &id);
    Ok(created_on)
}

/// Records the assignment as this tool's when it has the guid only this tool derives (this run
/// or an earlier one made it), so that teardown may delete it.
fn record_if_ours(report: &mut Report, wanted: &Assignment, id: &str) {
    if guid_of(id) == wanted.guid().to_ascii_lowercase() {
        report.created(ResourceKind::RoleAssignment, id, &label(wanted), None);
    }
}

fn label(wanted: &Assignment) -> String {
    format!("{} on the VNet", wanted.who)
}

/// The assignment of this role to this principal at exactly this scope, with its `createdOn`.
async fn find(
    arm: &Arm,
    wanted: &Assignment,
) -> Result<Option<(String, Option<String>)>, PhaseError> {
    let existing = arm
        .role_assignments_for(&wanted.scope, &wanted.principal_id)
        .await?;
    Ok(existing
        .into_iter()
        .find(|assignment| {
            guid_of(&assignment.properties.role_definition_id)
                == guid_of(&wanted.role_definition_id)
                && assignment
                    .properties
                    .scope
                    .as_deref()
                    .is_some_and(|scope| scope.eq_ignore_ascii_case(&wanted.scope))
        })
        .map(|assignment| (assignment.id, assignment.properties.created_on)))
}
