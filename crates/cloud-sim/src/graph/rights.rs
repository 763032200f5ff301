//! What a Graph caller may do in the directory, and the reads that tell a principal's rights:
//! its active directory roles (`transitiveMemberOf/microsoft.graph.directoryRole`), its
//! Microsoft Graph application permissions (`appRoleAssignments`), its groups
//! (`transitiveMemberOf/microsoft.graph.group`) and the directory role assignments made to it
//! or to a role-assignable group (`roleManagement/directory/roleAssignments`). The same world data decides the
//! writes (`may_create_foreign_service_principals`), so a client's preflight that reads these
//! and the write it predicts can never disagree.

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{
    GraphFilter, GraphRequest, collection_response, graph_error, insufficient_privileges,
    not_found, parse_filter, unsupported_filter,
};
use crate::http::query_value;
use crate::world::{
    APPLICATION_ADMINISTRATOR, APPLICATION_READ_WRITE_ALL, CLOUD_APPLICATION_ADMINISTRATOR,
    CREATE_SERVICE_PRINCIPALS_ACTION, CustomDirectoryRole, DIRECTORY_READERS, GLOBAL_ADMINISTRATOR,
    ServicePrincipal, World, rfc3339, sha256,
};

/// The built-in directory roles the simulator knows, by display name, with their template ids
/// (the same in every tenant).
const BUILT_IN_ROLES: [(&str, &str); 8] = [
    (
        APPLICATION_ADMINISTRATOR,
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        CLOUD_APPLICATION_ADMINISTRATOR,
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    (GLOBAL_ADMINISTRATOR, "62e90394-69f5-4237-9190-012177145e10"),
    (DIRECTORY_READERS, "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"),
    (
        "Hybrid Identity Administrator",
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
    ),
    (
        "Application Developer",
        "cf1c38e5-3621-4004-a7cb-879624dced7c",
    ),
    ("Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf"),
    (
        "Message Center Reader",
        "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",
    ),
];

/// Microsoft Graph application permissions the simulator knows, by value, with their app role
/// ids on Graph's service principal (the same in every tenant).
const GRAPH_APP_ROLES: [(&str, &str); 8] = [
    (
        APPLICATION_READ_WRITE_ALL,
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    ),
    (
        "Application.ReadWrite.OwnedBy",
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
    ),
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
    (
        "RoleManagement.Read.Directory",
        "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    ),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
];

/// The directory roles that may create a service principal for another tenant's
/// multi-tenant application (the Graph reference's list for `POST /servicePrincipals`).
const FOREIGN_PRINCIPAL_ROLES: [&str; 3] = [
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    GLOBAL_ADMINISTRATOR,
];

/// The Graph application permissions that may do the same for an app-only caller
/// (`Application.ReadWrite.OwnedBy` may not: the application must be the caller's tenant's).
const FOREIGN_PRINCIPAL_PERMISSIONS: [&str; 2] =
    [APPLICATION_READ_WRITE_ALL, "Directory.ReadWrite.All"];

/// The Graph application permissions that may read principals' memberships and role
/// assignments.
const READ_PERMISSIONS: [&str; 5] = [
    APPLICATION_READ_WRITE_ALL,
    "Directory.ReadWrite.All",
    "Application.Read.All",
    "Directory.Read.All",
    "RoleManagement.Read.Directory",
];

/// The directory roles a principal holds: its own, then those of the role-assignable groups it
/// is a member of (by display name, built-in or custom).
fn held_directory_roles<'w>(
    world: &'w World,
    principal: &'w ServicePrincipal,
) -> impl Iterator<Item = &'w String> {
    let through_groups = world
        .directory_groups
        .iter()
        .filter(|group| {
            group.tenant_id == principal.tenant_id
                && group.is_assignable_to_role
                && group
                    .member_ids
                    .iter()
                    .any(|member| member.eq_ignore_ascii_case(&principal.object_id))
        })
        .flat_map(|group| group.directory_roles.iter());
    principal.directory_roles.iter().chain(through_groups)
}

/// The tenant's custom directory role of this display name, if it is one.
fn custom_role<'w>(
    world: &'w World,
    tenant_id: &str,
    name: &str,
) -> Option<&'w CustomDirectoryRole> {
    world
        .custom_directory_roles
        .iter()
        .find(|role| role.tenant_id == tenant_id && role.display_name == name)
}

/// Whether this principal is an application administrator: one of the built-in roles above
/// (its own or a role-assignable group's) or one of the Graph permissions above. It may create
/// service principals for foreign applications and manage every application.
pub(super) fn is_application_administrator(world: &World, principal: &ServicePrincipal) -> bool {
    held_directory_roles(world, principal)
        .any(|name| FOREIGN_PRINCIPAL_ROLES.contains(&name.as_str()))
        || principal
            .graph_app_roles
            .iter()
            .any(|permission| FOREIGN_PRINCIPAL_PERMISSIONS.contains(&permission.as_str()))
}

/// Whether this principal may create a service principal for a foreign application: the one
/// place the write's 403 and the reads below are decided from. An application administrator
/// may, and so may the holder of a custom role (its own or a role-assignable group's) that
/// allows `CREATE_SERVICE_PRINCIPALS_ACTION`.
pub(super) fn may_create_foreign_service_principals(
    world: &World,
    principal: &ServicePrincipal,
) -> bool {
    is_application_administrator(world, principal)
        || held_directory_roles(world, principal).any(|name| {
            custom_role(world, &principal.tenant_id, name).is_some_and(|role| {
                role.allowed_resource_actions
                    .iter()
                    .any(|action| action.eq_ignore_ascii_case(CREATE_SERVICE_PRINCIPALS_ACTION))
            })
        })
}

/// Whether this principal may read memberships and role assignments: any directory role (all
/// of them read the directory) or a Graph read permission. Without either, Graph answers 403.
fn may_read_rights(world: &World, principal: Option<&ServicePrincipal>) -> bool {
    principal.is_some_and(|principal| {
        held_directory_roles(world, principal).next().is_some()
            || principal
                .graph_app_roles
                .iter()
                .any(|permission| READ_PERMISSIONS.contains(&permission.as_str()))
    })
}

/// A stable GUID-shaped id for a derived object (a directory role's object id in a tenant, an
/// assignment's id), the same on every read.
fn derived_id(text: &str) -> String {
    let hex: String = sha256(text)
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn role_template_id(name: &str) -> String {
    BUILT_IN_ROLES
        .iter()
        .find(|(known, _)| *known == name)
        .map_or_else(
            || derived_id(&format!("role {name}")),
            |(_, id)| id.to_string(),
        )
}

fn app_role_id(permission: &str) -> String {
    GRAPH_APP_ROLES
        .iter()
        .find(|(known, _)| *known == permission)
        .map_or_else(
            || derived_id(&format!("app role {permission}")),
            |(_, id)| id.to_string(),
        )
}

/// The caller's own principal, when it may read rights; else the 403 Graph answers.
fn reader(request: &GraphRequest, world: &World) -> Result<(), Response<Body>> {
    let caller = world.service_principal(
        request.tenant_id(),
        &request.caller.token.service_principal_id,
    );
    if may_read_rights(world, caller) {
        Ok(())
    } else {
        Err(insufficient_privileges())
    }
}

fn target<'w>(
    request: &GraphRequest,
    world: &'w World,
    object_id: &str,
) -> Result<&'w ServicePrincipal, Response<Body>> {
    world
        .service_principals
        .iter()
        .find(|principal| {
            principal.tenant_id == request.tenant_id()
                && principal.visible_at <= request.now
                && principal.object_id.eq_ignore_ascii_case(object_id)
        })
        .ok_or_else(|| not_found(object_id))
}

/// The principal whose memberships an OData cast reads. A cast on a membership is an advanced
/// query: Graph wants `ConsistencyLevel: eventual` and `$count=true` with it.
fn advanced_membership_read<'w>(
    request: &GraphRequest,
    world: &'w World,
    object_id: &str,
) -> Result<&'w ServicePrincipal, Response<Body>> {
    let advanced = request
        .headers
        .get("ConsistencyLevel")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("eventual"))
        && query_value(&request.query, "$count") == Some("true");
    if !advanced {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "The OData cast on a membership is an advanced query: send the header 'ConsistencyLevel: eventual' and '$count=true'.",
        ));
    }
    reader(request, world)?;
    target(request, world, object_id)
}

/// `GET /servicePrincipals/{id}/transitiveMemberOf/microsoft.graph.directoryRole`: the active
/// built-in directory roles, its own and those it holds through role-assignable groups.
pub(super) fn directory_roles_of(
    request: &GraphRequest,
    world: &World,
    object_id: &str,
) -> Response<Body> {
    let principal = match advanced_membership_read(request, world, object_id) {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    // Custom roles are no `directoryRole` objects; built-in ones held through a group are.
    let mut names: Vec<&String> = Vec::new();
    for name in held_directory_roles(world, principal) {
        if custom_role(world, &principal.tenant_id, name).is_none() && !names.contains(&name) {
            names.push(name);
        }
    }
    let values: Vec<Value> = names
        .into_iter()
        .map(|name| {
            let template = role_template_id(name);
            json!({
                "@odata.type": "#microsoft.graph.directoryRole",
                "id": derived_id(&format!("{} {template}", principal.tenant_id)),
                "displayName": name,
                "roleTemplateId": template,
            })
        })
        .collect();
    collection_response(request, "directoryObjects", values)
}

/// `GET /servicePrincipals/{id}/transitiveMemberOf/microsoft.graph.group`: the groups it is a
/// member of (an advanced query, as the directory-role cast).
pub(super) fn groups_of(request: &GraphRequest, world: &World, object_id: &str) -> Response<Body> {
    let principal = match advanced_membership_read(request, world, object_id) {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let values: Vec<Value> = world
        .directory_groups
        .iter()
        .filter(|group| {
            group.tenant_id == principal.tenant_id
                && group
                    .member_ids
                    .iter()
                    .any(|member| member.eq_ignore_ascii_case(&principal.object_id))
        })
        .map(|group| {
            json!({
                "@odata.type": "#microsoft.graph.group",
                "id": group.object_id,
                "displayName": group.display_name,
                "isAssignableToRole": group.is_assignable_to_role,
            })
        })
        .collect();
    collection_response(request, "groups", values)
}

/// `GET /servicePrincipals/{id}/appRoleAssignments`: the app roles granted to it, here only on
/// Microsoft Graph.
pub(super) fn app_role_assignments_of(
    request: &GraphRequest,
    world: &World,
    object_id: &str,
) -> Response<Body> {
    if let Err(response) = reader(request, world) {
        return response;
    }
    let principal = match target(request, world, object_id) {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let graph_principal_id = derived_id(&format!("{} microsoft graph", principal.tenant_id));
    let values: Vec<Value> = principal
        .graph_app_roles
        .iter()
        .map(|permission| {
            json!({
                "id": derived_id(&format!("{} {permission}", principal.object_id)),
                "appRoleId": app_role_id(permission),
                "principalId": principal.object_id,
                "principalType": "ServicePrincipal",
                "principalDisplayName": principal.display_name,
                "resourceId": graph_principal_id,
                "resourceDisplayName": "Microsoft Graph",
                "createdDateTime": rfc3339(principal.created_time),
            })
        })
        .collect();
    collection_response(
        request,
        "servicePrincipals('{id}')/appRoleAssignments",
        values,
    )
}

/// `GET /roleManagement/directory/roleAssignments?$filter=principalId eq '…'`: the active
/// directory role assignments made to a principal or a role-assignable group directly (all
/// tenant-wide here; built-in or custom), with `$expand=roleDefinition`.
pub(super) fn role_assignments(request: &GraphRequest, world: &World) -> Response<Body> {
    if let Err(response) = reader(request, world) {
        return response;
    }
    let Some(filter) = query_value(&request.query, "$filter") else {
        return unsupported_filter("(none)", "unifiedRoleAssignment");
    };
    let principal_id = match parse_filter(filter) {
        Ok(GraphFilter::Equals { field, value }) if field == "principalId" => value,
        Ok(other) => return unsupported_filter(other.field(), "unifiedRoleAssignment"),
        Err(response) => return response,
    };
    let expand = query_value(&request.query, "$expand").is_some_and(|expand| {
        expand
            .split(',')
            .any(|name| name.trim() == "roleDefinition")
    });
    // Directory roles are assigned to principals and to role-assignable groups alike.
    let tenant_id = request.tenant_id();
    let principal_roles = world
        .service_principals
        .iter()
        .find(|principal| {
            principal.tenant_id == tenant_id
                && principal.object_id.eq_ignore_ascii_case(&principal_id)
        })
        .map(|principal| &principal.directory_roles);
    let group_roles = world
        .directory_groups
        .iter()
        .find(|group| {
            group.tenant_id == tenant_id
                && group.is_assignable_to_role
                && group.object_id.eq_ignore_ascii_case(&principal_id)
        })
        .map(|group| &group.directory_roles);
    let values: Vec<Value> = principal_roles
        .into_iter()
        .chain(group_roles)
        .flatten()
        .map(|name| {
            let custom = custom_role(world, tenant_id, name);
            let definition_id = custom.map_or_else(|| role_template_id(name), |role| role.id.clone());
            let mut assignment = json!({
                "id": derived_id(&format!("{principal_id} {definition_id}")),
                "principalId": principal_id,
                "roleDefinitionId": definition_id,
                "directoryScopeId": "/",
            });
            if let (true, Some(object)) = (expand, assignment.as_object_mut()) {
                let definition = match custom {
                    Some(role) => json!({
                        "id": role.id,
                        "displayName": role.display_name,
                        "isBuiltIn": false,
                        "rolePermissions": [{"allowedResourceActions": role.allowed_resource_actions}],
                    }),
                    None => json!({
                        "id": definition_id,
                        "templateId": definition_id,
                        "displayName": name,
                        "isBuiltIn": true,
                    }),
                };
                object.insert("roleDefinition".to_string(), definition);
            }
            assignment
        })
        .collect();
    collection_response(request, "roleManagement/directory/roleAssignments", values)
}
