//! Checks made before a phase's first write, for what a service would otherwise refuse only
//! minutes later; each failure carries its catalog code.

use crate::catalog::Code;
use crate::error::PhaseError;
use crate::phases::request_peering::RequestPeering;
use aiven_api::ProjectVpc;
use azure_api::{Arm, Graph};

/// What prepare-tenant writes at the VNet's scope and above: the custom roles and their
/// assignments.
const ROLE_WRITES: [&str; 2] = [
    "Microsoft.Authorization/roleDefinitions/write",
    "Microsoft.Authorization/roleAssignments/write",
];

/// Checks, before prepare-tenant's first write, that the admin identity may write role
/// definitions and role assignments at the VNet (ARM's own answer for the caller at that
/// scope), so a run without them stops before it made the app registration.
pub async fn prepare_tenant(admin_arm: &Arm, vnet_id: &str) -> Result<(), PhaseError> {
    let permissions = match admin_arm.permissions_at(vnet_id).await {
        Ok(permissions) => permissions,
        // The check is an early warning only: the writes themselves still tell.
        Err(error) => {
            tracing::warn!("cannot read the admin identity's permissions at the VNet: {error}");
            return Ok(());
        }
    };
    let missing: Vec<&str> = ROLE_WRITES
        .into_iter()
        .filter(|action| !azure_api::arm::permits(&permissions, action))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(PhaseError::failed(format!(
        "the admin identity may not perform {} at the VNet {vnet_id}: it needs Owner, or User Access Administrator beside Network Contributor, on the VNet's subscription; assign it and re-run (nothing was changed)",
        missing.join(" and ")
    ))
    .with_code(Code::RoleWriteDenied))
}

/// The directory roles that may create a service principal for another tenant's
/// multi-tenant application (Graph reference, `POST /servicePrincipals`: "for multitenant
/// apps, the calling user must also be in" one of them), by template id.
const FOREIGN_PRINCIPAL_ROLES: [(&str, &str); 3] = [
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
];

/// The Microsoft Graph application permissions (app role ids) that may do it for an app-only
/// caller. `Application.ReadWrite.OwnedBy` may not: with it the application must be the
/// tenant's own.
const FOREIGN_PRINCIPAL_PERMISSIONS: [(&str, &str); 2] = [
    (
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Application.ReadWrite.All",
    ),
    (
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Directory.ReadWrite.All",
    ),
];

/// Checks, before prepare-tenant's first write, that the admin identity may create the
/// service principal of Aiven's app when it is not there yet: one of the directory roles or
/// Graph permissions above, active now. It fails only when it knows the right is missing; a
/// read it may not make, or a custom directory role that might grant it (assigned to the
/// caller or to a role-assignable group it is in), leaves the answer to the write (as the ARM
/// check does).
pub async fn foreign_service_principal(
    graph: &Graph,
    aiven_app_id: &str,
) -> Result<(), PhaseError> {
    match right_to_create_foreign_principal(graph, aiven_app_id).await {
        Err(error) if error.code() != Some(Code::ApplicationAdministratorRequired) => {
            tracing::warn!(
                "cannot check whether the admin identity may create the service principal of Aiven's app (the write will tell): {error}"
            );
            Ok(())
        }
        outcome => outcome,
    }
}

async fn right_to_create_foreign_principal(
    graph: &Graph,
    aiven_app_id: &str,
) -> Result<(), PhaseError> {
    if graph.service_principal_for(aiven_app_id).await?.is_some() {
        return Ok(());
    }
    let caller = graph.caller_object_id().await?.ok_or_else(|| {
        PhaseError::failed("the admin identity's own directory object is not visible")
    })?;
    let granting_role = |template: &str| {
        FOREIGN_PRINCIPAL_ROLES
            .iter()
            .any(|(id, _)| id.eq_ignore_ascii_case(template))
    };
    let roles = graph.caller_directory_roles(&caller).await?;
    if roles
        .iter()
        .any(|role| role.role_template_id.as_deref().is_some_and(granting_role))
    {
        return Ok(());
    }
    let application = graph.signs_in_as_application();
    if application {
        let granted = graph.app_role_assignments(&caller).await?;
        if granted.iter().any(|assignment| {
            FOREIGN_PRINCIPAL_PERMISSIONS
                .iter()
                .any(|(id, _)| id.eq_ignore_ascii_case(&assignment.app_role_id))
        }) {
            return Ok(());
        }
    }
    // Custom directory roles are no `directoryRole` objects: a tenant-wide one might grant it.
    let Some(mut custom) = custom_roles_unless_granted(
        &graph.directory_role_assignments(&caller).await?,
        granting_role,
    ) else {
        return Ok(());
    };
    if custom.is_empty() {
        // A role assigned to a role-assignable group the caller is in names the group, not
        // the caller: read those too before saying no.
        for group in graph.caller_role_assignable_groups(&caller).await? {
            let assignments = graph.directory_role_assignments(&group.id).await?;
            let Some(roles) = custom_roles_unless_granted(&assignments, granting_role) else {
                return Ok(());
            };
            let group_name = group.display_name.as_deref().unwrap_or(&group.id);
            custom.extend(
                (roles.into_iter()).map(|role| format!("{role} (through group {group_name})")),
            );
        }
    }
    if !custom.is_empty() {
        return Err(PhaseError::failed(format!(
            "it holds custom directory role(s) {} that may grant it",
            custom.join(", ")
        )));
    }
    Err(foreign_principal_denied(
        aiven_app_id,
        &caller,
        application,
        &roles,
    ))
}

/// What a principal's directory role assignments say: `None` when one grants the right (a
/// built-in role of `FOREIGN_PRINCIPAL_ROLES`), else the tenant-wide custom roles that might.
fn custom_roles_unless_granted(
    assignments: &[azure_api::graph::DirectoryRoleAssignment],
    granting_role: impl Fn(&str) -> bool,
) -> Option<Vec<String>> {
    let mut custom = Vec::new();
    for assignment in assignments {
        if granting_role(&assignment.role_definition_id) {
            return None;
        }
        let tenant_wide = assignment.directory_scope_id.as_deref().unwrap_or("/") == "/";
        let definition = assignment.role_definition.as_ref();
        if tenant_wide && definition.is_none_or(|definition| !definition.is_built_in) {
            custom.push(
                definition
                    .and_then(|definition| definition.display_name.clone())
                    .unwrap_or_else(|| assignment.role_definition_id.clone()),
            );
        }
    }
    Some(custom)
}

fn foreign_principal_denied(
    aiven_app_id: &str,
    caller: &str,
    application: bool,
    roles: &[azure_api::graph::DirectoryRole],
) -> PhaseError {
    let names = |list: &[(&str, &str)]| {
        let names: Vec<&str> = list.iter().map(|(_, name)| *name).collect();
        names.join(", ")
    };
    let held: Vec<&str> = roles
        .iter()
        .filter_map(|role| role.display_name.as_deref())
        .collect();
    let held = if held.is_empty() {
        "none".to_string()
    } else {
        held.join(", ")
    };
    let (who, permission) = if application {
        (
            format!("service principal {caller}"),
            format!(
                ", nor any of the Microsoft Graph application permissions {}",
                names(&FOREIGN_PRINCIPAL_PERMISSIONS)
            ),
        )
    } else {
        (format!("signed-in user {caller}"), String::new())
    };
    PhaseError::failed(format!(
        "the admin identity ({who}) may not create the service principal of Aiven's app {aiven_app_id} in your tenant: it holds none of the directory roles {}{permission} (its active directory roles: {held}); assign it Application Administrator or Cloud Application Administrator (a PIM-eligible role must be activated){}, then re-run (nothing was changed)",
        names(&FOREIGN_PRINCIPAL_ROLES),
        if application {
            ", or grant it Application.ReadWrite.All with admin consent"
        } else {
            ""
        }
    ))
    .with_code(Code::ApplicationAdministratorRequired)
}

/// Checks, before the first write, what Aiven would otherwise refuse minutes later: a project
/// VPC that is not ACTIVE or not in Azure, and address ranges that overlap (the most common
/// cause of INVALID_SPECIFICATION).
pub fn request_peering(vpc: &ProjectVpc, request: &RequestPeering) -> Result<(), PhaseError> {
    if vpc.state != "ACTIVE" || !vpc.cloud_name.starts_with("azure-") {
        return Err(PhaseError::failed(format!(
            "project VPC {} is {} in {}: an Azure peering needs an ACTIVE VPC in an Azure cloud",
            vpc.project_vpc_id, vpc.state, vpc.cloud_name
        ))
        .with_code(Code::AivenVpcNotUsable));
    }
    let Some(vpc_cidr) = &vpc.network_cidr else {
        return Ok(());
    };
    let ranges = request
        .vnet_cidrs
        .iter()
        .map(|cidr| (cidr, "the VNet's address space"));
    let extra =
        (request.user_peer_network_cidrs.iter()).map(|cidr| (cidr, "--user-peer-network-cidrs"));
    for (range, whose) in ranges.chain(extra) {
        if crate::input::cidrs_overlap(range, vpc_cidr) {
            return Err(PhaseError::failed(format!(
                "{range} of {whose} overlaps the project VPC's network {vpc_cidr}; Aiven would refuse the peering (INVALID_SPECIFICATION)"
            ))
            .with_code(Code::CidrOverlap));
        }
    }
    Ok(())
}

/// Checks, before request-peering's first write, that Aiven's service principal in the user
/// tenant holds `peer/action` on the VNet: a role assignment at or above the VNet whose role
/// grants it. Needs an identity that may read role assignments (the admin's); request-peering
/// runs it only when one is configured.
pub async fn aiven_grant(arm: &Arm, graph: &Graph, vnet_id: &str) -> Result<(), PhaseError> {
    match grant_of_aiven(arm, graph, vnet_id).await {
        Err(error) if error.code() != Some(Code::AivenGrantMissing) => {
            // The check is an early warning only: Aiven's own answer still tells.
            tracing::warn!("cannot check Aiven's grant on the VNet: {error}");
            Ok(())
        }
        outcome => outcome,
    }
}

async fn grant_of_aiven(arm: &Arm, graph: &Graph, vnet_id: &str) -> Result<(), PhaseError> {
    let missing = |why: String| {
        PhaseError::failed(format!(
            "{why}; Aiven would refuse the peering (INVALID_SPECIFICATION): run prepare-tenant first"
        ))
        .with_code(Code::AivenGrantMissing)
    };
    let Some(principal) = graph.service_principal_for(azure_api::AIVEN_APP_ID).await? else {
        return Err(missing(format!(
            "Aiven's app {} has no service principal in your tenant",
            azure_api::AIVEN_APP_ID
        )));
    };
    let vnet = vnet_id.to_ascii_lowercase();
    let mut roles: Vec<String> = arm
        .role_assignments_at(vnet_id)
        .await?
        .into_iter()
        .filter(|assignment| {
            let scope = assignment.properties.scope.as_deref().unwrap_or_default();
            let scope = scope.trim_end_matches('/').to_ascii_lowercase();
            assignment
                .properties
                .principal_id
                .eq_ignore_ascii_case(&principal.id)
                && (vnet == scope || vnet.starts_with(&format!("{scope}/")))
        })
        .map(|assignment| assignment.properties.role_definition_id)
        .collect();
    roles.dedup();
    for role_id in &roles {
        let role = arm.role_definition_by_id(role_id).await?;
        if role.is_some_and(|role| {
            azure_api::arm::permits(
                &role.properties.permissions,
                crate::phases::prepare_tenant::PEER_ACTION,
            )
        }) {
            return Ok(());
        }
    }
    Err(missing(format!(
        "Aiven's service principal {} holds no role with {} at or above the VNet {vnet_id} ({} role(s) assigned there)",
        principal.id,
        crate::phases::prepare_tenant::PEER_ACTION,
        roles.len()
    )))
}

/// Checks, before accept-peering's first write, that Aiven's side is PENDING_PEER or ACTIVE:
/// before that, Aiven has neither its VNet's grant nor its tenant's service principal for the
/// user's app, and the peering would be refused after minutes of retries.
pub async fn aiven_side_ready(
    aiven: &aiven_api::Aiven,
    project: &str,
    vpc_id: &str,
    vnet: &azure_api::VnetRef,
) -> Result<(), PhaseError> {
    use aiven_api::ConnectionState;
    let target =
        aiven_api::PeerTarget::new(&vnet.subscription_id, &vnet.resource_group, &vnet.name);
    let connection = match aiven.azure_connection(project, vpc_id, &target).await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::warn!("cannot read Aiven's side of the peering: {error}");
            return Ok(());
        }
    };
    match connection {
        None => Err(PhaseError::failed(format!(
            "project VPC {vpc_id} of Aiven project {project} has no peering connection to {target}: run request-peering first"
        ))
        .with_code(Code::ConnectionMissing)),
        Some(connection)
            if matches!(connection.state, ConnectionState::PendingPeer | ConnectionState::Active) =>
        {
            Ok(())
        }
        Some(connection) if connection.state.is_failure() => Err(PhaseError::failed(format!(
            "the peering connection to {target} is {}: {}. Fix the cause, then run request-peering --recreate before accept-peering",
            connection.state,
            crate::phases::describe_failure(&connection)
        ))
        .with_code(crate::phases::failure_code(&connection.state))),
        Some(connection) => Err(PhaseError::failed(format!(
            "the peering connection to {target} is {}, not PENDING_PEER yet: run request-peering first (it waits for PENDING_PEER)",
            connection.state
        ))
        .with_code(Code::ConnectionNotReady)),
    }
}
