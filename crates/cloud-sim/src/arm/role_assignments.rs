//! ARM role assignments: the principal, role and scope checks (with the replication-lag rules of
//! `principalType`) and the `atScope()`/`assignedTo()` list filters.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{
    ArmRequest, ArmResult, arm_error, invalid_content, list_response, parse_authorization_filter,
    require, validate_scope,
};
use crate::authz::scope_contains;
use crate::http::{empty_response, is_guid, json_response, parse_json, query_value};
use crate::world::{RoleAssignment, World, rfc3339};

fn role_assignment_json(assignment: &RoleAssignment) -> Value {
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", if assignment.scope == "/" { "" } else { assignment.scope.as_str() }, assignment.name),
        "name": assignment.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": assignment.role_definition_id,
            "principalId": assignment.principal_id,
            "principalType": assignment.principal_type.clone().unwrap_or_else(|| "ServicePrincipal".to_string()),
            "scope": assignment.scope,
            "condition": null,
            "conditionVersion": null,
            "createdOn": rfc3339(assignment.created_time),
            "updatedOn": rfc3339(assignment.created_time),
            "createdBy": null,
            "updatedBy": null,
            "delegatedManagedIdentityResourceId": null,
            "description": null,
        },
    })
}

pub(super) fn list_role_assignments(request: &ArmRequest, world: &World, scope: &str) -> ArmResult {
    validate_scope(request, world, scope)?;
    require(
        request,
        world,
        "Microsoft.Authorization/roleAssignments/read",
        scope,
    )?;
    let clauses = match query_value(&request.query, "$filter") {
        Some(filter) => parse_authorization_filter(filter)?,
        None => Vec::new(),
    };
    let tenant = &request.token.tenant_id;
    let mut values = Vec::new();
    for assignment in &world.role_assignments {
        if &assignment.tenant_id != tenant {
            continue;
        }
        let above = scope_contains(&assignment.scope, scope);
        let below = scope_contains(scope, &assignment.scope);
        let mut keep = above || below;
        for (field, value) in &clauses {
            keep &= match field.as_str() {
                "atScope" => above,
                "principalId" | "assignedTo" => assignment.principal_id.eq_ignore_ascii_case(value),
                _ => {
                    return Err(arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidFilterParameter",
                        &format!(
                            "The filter property '{field}' is not supported for role assignments."
                        ),
                    ));
                }
            };
        }
        if keep {
            values.push(role_assignment_json(assignment));
        }
    }
    list_response(request, values)
}

fn role_assignment_not_found(guid: &str) -> Response<Body> {
    arm_error(
        StatusCode::NOT_FOUND,
        "RoleAssignmentNotFound",
        &format!("The role assignment '{guid}' is not found."),
    )
}

pub(super) fn get_role_assignment(
    request: &ArmRequest,
    world: &World,
    scope: &str,
    guid: &str,
) -> ArmResult {
    validate_scope(request, world, scope)?;
    require(
        request,
        world,
        "Microsoft.Authorization/roleAssignments/read",
        scope,
    )?;
    world
        .role_assignments
        .iter()
        .find(|assignment| {
            assignment.tenant_id == request.token.tenant_id
                && assignment.name.eq_ignore_ascii_case(guid)
                && assignment.scope.eq_ignore_ascii_case(scope)
        })
        .map(|assignment| json_response(StatusCode::OK, role_assignment_json(assignment)))
        .ok_or_else(|| role_assignment_not_found(guid))
}

pub(super) fn put_role_assignment(
    request: &ArmRequest,
    world: &mut World,
    scope: &str,
    guid: &str,
) -> ArmResult {
    validate_scope(request, world, scope)?;
    if !is_guid(guid) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentId",
            &format!(
                "The role assignment ID '{guid}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    require(
        request,
        world,
        "Microsoft.Authorization/roleAssignments/write",
        scope,
    )?;
    let Some(Value::Object(body)) = parse_json(request.body) else {
        return Err(invalid_content("the body is not a JSON object."));
    };
    let Some(Value::Object(properties)) = body.get("properties") else {
        return Err(invalid_content("'properties' is required."));
    };
    let Some(role_definition_id) = properties
        .get("roleDefinitionId")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(invalid_content(
            "'properties.roleDefinitionId' is required.",
        ));
    };
    let Some(principal_id) = properties
        .get("principalId")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(invalid_content("'properties.principalId' is required."));
    };
    let principal_type = match properties.get("principalType") {
        None | Some(Value::Null) => None,
        Some(Value::String(kind))
            if [
                "User",
                "Group",
                "ServicePrincipal",
                "ForeignGroup",
                "Device",
            ]
            .contains(&kind.as_str()) =>
        {
            Some(kind.clone())
        }
        Some(_) => {
            return Err(invalid_content(
                "'properties.principalType' must be one of User, Group, ServicePrincipal, ForeignGroup, Device.",
            ));
        }
    };
    let role_guid = role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    let well_formed = role_definition_id
        .to_ascii_lowercase()
        .contains("/providers/microsoft.authorization/roledefinitions/")
        && is_guid(&role_guid);
    if !well_formed {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
            &format!("The role definition ID '{role_definition_id}' is not valid."),
        ));
    }
    let tenant = request.token.tenant_id.clone();
    let role_definition_does_not_exist = || {
        arm_error(
            StatusCode::BAD_REQUEST,
            "RoleDefinitionDoesNotExist",
            &format!("The specified role definition with ID '{role_guid}' does not exist."),
        )
    };
    let Some(definition) = world.role_definition(&tenant, &role_guid).cloned() else {
        return Err(role_definition_does_not_exist());
    };
    // A new custom role is not assignable for a while (replication inside Azure RBAC).
    let delays = &request.shared.delays;
    let role_replication = delays.drawn(delays.role_definition_replication, &role_guid);
    if !definition.is_built_in() && definition.created_time + role_replication > SystemTime::now() {
        return Err(role_definition_does_not_exist());
    }
    let assignable = definition
        .assignable_scopes
        .iter()
        .any(|assignable| assignable == "/" || scope_contains(assignable, scope));
    if !assignable {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "RoleDefinitionNotAssignableAtScope",
            &format!(
                "The role definition '{role_guid}' is not available for assignment at scope '{scope}': its assignable scopes are '{}'.",
                definition.assignable_scopes.join("', '")
            ),
        ));
    }
    let principal = world.service_principal(&tenant, &principal_id).cloned();
    let replicated = principal
        .as_ref()
        .is_some_and(|principal| principal.visible_at <= request.now);
    // Even with principalType, a brand-new principal can be unknown to Azure RBAC for a moment.
    let known_to_rbac = principal.as_ref().is_some_and(|principal| {
        let lag = delays.drawn(delays.assignment_principal_lag, &principal.object_id);
        principal.created_time + lag <= SystemTime::now()
    });
    let principal_not_found = || {
        arm_error(
            StatusCode::BAD_REQUEST,
            "PrincipalNotFound",
            &format!(
                "Principal {} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                principal_id.replace('-', "")
            ),
        )
    };
    match (&principal, &principal_type) {
        (None, _) => return Err(principal_not_found()),
        (Some(_), _) if !known_to_rbac => return Err(principal_not_found()),
        (Some(_), None) if !replicated => return Err(principal_not_found()),
        (Some(_), Some(kind)) if kind != "ServicePrincipal" => {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "UnmatchedPrincipalType",
                &format!(
                    "The PrincipalId '{}' has type 'ServicePrincipal' , which is different from specified PrincipalType '{kind}'.",
                    principal_id.replace('-', "")
                ),
            ));
        }
        _ => {}
    }
    if let Some(existing) = world.role_assignments.iter().find(|assignment| {
        assignment.tenant_id == tenant && assignment.name.eq_ignore_ascii_case(guid)
    }) {
        let same = existing.scope.eq_ignore_ascii_case(scope)
            && existing.principal_id.eq_ignore_ascii_case(&principal_id)
            && existing
                .role_definition_guid()
                .eq_ignore_ascii_case(&role_guid);
        return if same {
            Ok(json_response(
                StatusCode::CREATED,
                role_assignment_json(existing),
            ))
        } else {
            Err(arm_error(
                StatusCode::BAD_REQUEST,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            ))
        };
    }
    if world.role_assignments.iter().any(|assignment| {
        assignment.tenant_id == tenant
            && assignment.scope.eq_ignore_ascii_case(scope)
            && assignment.principal_id.eq_ignore_ascii_case(&principal_id)
            && assignment
                .role_definition_guid()
                .eq_ignore_ascii_case(&role_guid)
    }) {
        return Err(arm_error(
            StatusCode::CONFLICT,
            "RoleAssignmentExists",
            "The role assignment already exists.",
        ));
    }
    let assignment = RoleAssignment {
        name: guid.to_ascii_lowercase(),
        tenant_id: tenant,
        scope: scope.to_string(),
        role_definition_id,
        principal_id,
        principal_type: Some(principal_type.unwrap_or_else(|| "ServicePrincipal".to_string())),
        effective_at: request.now
            + request
                .shared
                .delays
                .drawn(request.shared.delays.role_propagation, guid),
        created_time: SystemTime::now(),
    };
    let body = role_assignment_json(&assignment);
    world.role_assignments.push(assignment);
    Ok(json_response(StatusCode::CREATED, body))
}

pub(super) fn delete_role_assignment(
    request: &ArmRequest,
    world: &mut World,
    scope: &str,
    guid: &str,
) -> ArmResult {
    validate_scope(request, world, scope)?;
    require(
        request,
        world,
        "Microsoft.Authorization/roleAssignments/delete",
        scope,
    )?;
    let Some(index) = world.role_assignments.iter().position(|assignment| {
        assignment.tenant_id == request.token.tenant_id
            && assignment.name.eq_ignore_ascii_case(guid)
            && assignment.scope.eq_ignore_ascii_case(scope)
    }) else {
        return Ok(empty_response(StatusCode::NO_CONTENT));
    };
    let assignment = world.role_assignments.remove(index);
    Ok(json_response(
        StatusCode::OK,
        role_assignment_json(&assignment),
    ))
}
