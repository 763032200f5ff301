//! prepare-tenant's two chains of writes, Aiven's and the user app's, each looking before it
//! writes. They run concurrently, and within each the service principal and the role are made
//! together, so a run killed at one write may have others in flight: every create is recorded
//! in the state file before it is sent (`Report::intend`), with the key that finds its object
//! whatever became of the request, and teardown undoes a killed run from those records.

use super::{PEER_ACTION, USER_PEERING_ACTIONS};
use super::{
    PrepareTenant, UserRole, application, assignments, credentials, principals, roles,
    stored_secret,
};
use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::{Outputs, ResourceKind};
use azure_api::{Arm, Graph};

/// Where the roles and assignments go.
pub(super) struct Scope<'a> {
    pub tenant_id: &'a str,
    pub subscription_scope: String,
    pub vnet_id: &'a str,
}

impl Scope<'_> {
    fn assignment(
        &self,
        role_definition_id: &str,
        principal_id: &str,
        who: &'static str,
    ) -> assignments::Assignment {
        assignments::Assignment {
            scope: self.vnet_id.to_string(),
            role_definition_id: role_definition_id.to_string(),
            principal_id: principal_id.to_string(),
            who,
        }
    }
}

/// The user app's chain: app registration, its credentials and service principal, together
/// with its role; then the role's assignment.
pub(super) async fn user_chain(
    admin_arm: &Arm,
    admin_graph: &Graph,
    github: Option<&github_api::GitHub>,
    request: &PrepareTenant,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let wanted = user_wanted(request, scope);
    let mut role_part = report.part();
    let (principal, role) = tokio::join!(
        user_principal(admin_graph, github, request, report),
        user_role(admin_arm, wanted.as_ref(), scope, &mut role_part),
    );
    report.absorb(role_part);
    let (user_sp_id, (user_role, user_role_id)) = (principal?, role?);
    report.outputs.user_role_id = Some(user_role_id.clone());
    assign(
        admin_arm,
        &scope.assignment(&user_role_id, &user_sp_id, "user app"),
        user_role.as_ref().zip(wanted.as_ref()),
        &request.pacing,
        report,
    )
    .await?;
    // A run for a VNet in another subscription may have rewritten the role at the same moment
    // (a plan has written nothing to recheck).
    if let (Some(role), Some(wanted), false) = (&user_role, &wanted, report.planning()) {
        roles::recheck_assignable(admin_arm, role, wanted).await?;
    }
    Ok(())
}

/// The app registration, its federated or stored credentials and its service principal.
async fn user_principal(
    admin_graph: &Graph,
    github: Option<&github_api::GitHub>,
    request: &PrepareTenant,
    report: &mut Report,
) -> Result<String, PhaseError> {
    let application = application::ensure_application(admin_graph, request, report).await?;
    report.outputs.merge(&Outputs {
        user_app_name: Some(request.app_name.clone()),
        user_app_id: Some(application.app_id.clone()),
        user_app_object_id: Some(application.id.clone()),
        ..Default::default()
    });
    for federated in &request.federated {
        credentials::ensure_federated_credential(
            admin_graph,
            &application.id,
            federated,
            &request.pacing,
            report,
        )
        .await?;
    }
    if let Some(stored) = &request.stored_secret {
        let github = github.ok_or_else(|| {
            PhaseError::failed("--store-secret-in needs a GitHub client; this is a bug")
        })?;
        stored_secret::ensure_stored_secret(
            admin_graph,
            github,
            &application.id,
            stored,
            &request.pacing,
            report,
        )
        .await?;
    }
    let (user_sp, user_sp_change) = principals::ensure_service_principal(
        admin_graph,
        &application.app_id,
        &principals::Principal {
            what: "the app's service principal",
            kind: ResourceKind::ServicePrincipal,
            name: &request.app_name,
            foreign: false,
        },
        &request.pacing,
        report,
    )
    .await?;
    report.resource(
        "service principal",
        request.app_name.as_str(),
        &user_sp.id,
        user_sp_change,
    );
    // The service principal of an app this tool made is this tool's too, even when a run
    // killed before recording it made it.
    let app_is_ours = report.created.iter().any(|record| {
        record.kind == ResourceKind::Application && record.id.eq_ignore_ascii_case(&application.id)
    });
    if user_sp_change == Change::Created || app_is_ours {
        report.created(
            ResourceKind::ServicePrincipal,
            &user_sp.id,
            &request.app_name,
            None,
        );
    }
    report.outputs.user_sp_id = Some(user_sp.id.clone());
    Ok(user_sp.id)
}

/// The user app's custom role, when it gets the least-privilege one.
fn user_wanted<'a>(
    request: &'a PrepareTenant,
    scope: &'a Scope<'a>,
) -> Option<roles::WantedRole<'a>> {
    match &request.user_role {
        UserRole::NetworkContributor => None,
        UserRole::LeastPrivilege { role_name } => Some(roles::WantedRole {
            tenant_id: scope.tenant_id,
            subscription_scope: &scope.subscription_scope,
            role_name,
            description: "Allows creating and repairing peerings from vnets in scope",
            actions: USER_PEERING_ACTIONS,
            name_flag: "--user-role-name",
            accept_wider: request.accept_wider_role,
        }),
    }
}

/// The user app's role: the least-privilege custom role (found or made), or the built-in
/// one; with its id.
async fn user_role(
    admin_arm: &Arm,
    wanted: Option<&roles::WantedRole<'_>>,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Result<(Option<azure_api::arm::RoleDefinition>, String), PhaseError> {
    Ok(match wanted {
        None => (
            None,
            format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                scope.subscription_scope,
                azure_api::NETWORK_CONTRIBUTOR_ROLE_ID
            ),
        ),
        Some(wanted) => {
            let role = roles::ensure_custom_role(admin_arm, wanted, report).await?;
            let id = role.id.clone();
            (Some(role), id)
        }
    })
}

/// Aiven's chain: its app's service principal in the user tenant together with its
/// `peer/action` role; then the role's assignment at the VNet.
pub(super) async fn aiven_chain(
    admin_arm: &Arm,
    admin_graph: &Graph,
    request: &PrepareTenant,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let wanted = roles::WantedRole {
        tenant_id: scope.tenant_id,
        subscription_scope: &scope.subscription_scope,
        role_name: &request.aiven_role_name,
        description: "Allows creating a peering to vnets in scope (but not from)",
        actions: &[PEER_ACTION],
        name_flag: "--aiven-role-name",
        accept_wider: request.accept_wider_role,
    };
    let mut role_part = report.part();
    let principal = async {
        let (aiven_sp, aiven_sp_change) = principals::ensure_service_principal(
            admin_graph,
            &request.aiven_app_id,
            &principals::Principal {
                what: "the Aiven app's service principal",
                kind: ResourceKind::AivenServicePrincipal,
                name: "Aiven",
                foreign: true,
            },
            &request.pacing,
            report,
        )
        .await?;
        report.resource("service principal", "Aiven", &aiven_sp.id, aiven_sp_change);
        if aiven_sp_change == Change::Created {
            report.created(
                ResourceKind::AivenServicePrincipal,
                &aiven_sp.id,
                "Aiven",
                None,
            );
        }
        report.outputs.aiven_sp_id = Some(aiven_sp.id.clone());
        Ok::<_, PhaseError>(aiven_sp)
    };
    let (principal, role) = tokio::join!(
        principal,
        roles::ensure_custom_role(admin_arm, &wanted, &mut role_part)
    );
    report.absorb(role_part);
    let (aiven_sp, aiven_role) = (principal?, role?);
    report.outputs.aiven_role_id = Some(aiven_role.id.clone());
    let assigned_at = assign(
        admin_arm,
        &scope.assignment(&aiven_role.id, &aiven_sp.id, "Aiven app"),
        Some((&aiven_role, &wanted)),
        &request.pacing,
        report,
    )
    .await?;
    // A run for a VNet in another subscription may have rewritten the role at the same moment
    // (a plan has written nothing to recheck).
    if !report.planning() {
        roles::recheck_assignable(admin_arm, &aiven_role, &wanted).await?;
    }
    report.outputs.aiven_role_assigned_at = assigned_at;
    Ok(())
}

/// Makes a role assignment; when the custom role is no longer assignable at the VNet (a run
/// for a VNet in another subscription wrote the role at the same moment), puts the VNet's
/// subscription back into its assignable scopes and tries again.
async fn assign(
    arm: &Arm,
    wanted: &assignments::Assignment,
    role: Option<(&azure_api::arm::RoleDefinition, &roles::WantedRole<'_>)>,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<Option<String>, PhaseError> {
    const ATTEMPTS: u32 = 3;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match assignments::ensure_assignment(arm, wanted, pacing, report).await {
            Err(PhaseError::Azure(error))
                if error.is(400, "RoleDefinitionNotAssignableAtScope") && attempt < ATTEMPTS =>
            {
                let Some((role, role_wanted)) = role else {
                    return Err(error.into());
                };
                tracing::warn!(
                    "{error}; putting the subscription back into the role's assignable scopes"
                );
                roles::recheck_assignable(arm, role, role_wanted).await?;
            }
            outcome => return outcome,
        }
    }
}
