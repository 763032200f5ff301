//! ARM role definitions: built-in roles everywhere, custom roles per tenant, and the rules on
//! their names, permissions and assignable scopes.

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
use crate::world::{Permission, RoleDefinition, World, rfc3339};

fn role_definition_id(subscription: Option<&str>, guid: &str) -> String {
    match subscription {
        Some(subscription) => format!(
            "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        ),
        None => format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
    }
}

fn role_definition_json(definition: &RoleDefinition, subscription: Option<&str>) -> Value {
    json!({
        "id": role_definition_id(subscription, &definition.name),
        "name": definition.name,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": definition.role_name,
            "type": if definition.is_built_in() { "BuiltInRole" } else { "CustomRole" },
            "description": definition.description,
            "assignableScopes": definition.assignable_scopes,
            "permissions": definition.permissions.iter().map(|permission| json!({
                "actions": permission.actions,
                "notActions": permission.not_actions,
                "dataActions": permission.data_actions,
                "notDataActions": permission.not_data_actions,
            })).collect::<Vec<_>>(),
            "createdOn": rfc3339(definition.created_time),
            "updatedOn": rfc3339(definition.updated_time),
            "createdBy": null,
            "updatedBy": null,
        },
    })
}

fn role_definition_not_found(guid: &str) -> Response<Body> {
    arm_error(
        StatusCode::NOT_FOUND,
        "RoleDefinitionDoesNotExist",
        &format!("The specified role definition with ID '{guid}' does not exist."),
    )
}

pub(super) fn list_role_definitions(request: &ArmRequest, world: &World, scope: &str) -> ArmResult {
    let subscription = validate_scope(request, world, scope)?;
    if subscription.is_some() {
        require(
            request,
            world,
            "Microsoft.Authorization/roleDefinitions/read",
            scope,
        )?;
    }
    let clauses = match query_value(&request.query, "$filter") {
        Some(filter) => parse_authorization_filter(filter)?,
        None => Vec::new(),
    };
    let tenant = &request.token.tenant_id;
    let mut values = Vec::new();
    for definition in &world.role_definitions {
        // "Applicable at scope and above": a custom role shows where it may be assigned, never
        // from a scope it is not assignable at, and so not at `/` when it is assignable only in
        // some subscription.
        let visible = match &definition.tenant_id {
            None => true,
            Some(owner) if owner == tenant => definition
                .assignable_scopes
                .iter()
                .any(|assignable| scope_contains(assignable, scope)),
            Some(_) => false,
        };
        if !visible {
            continue;
        }
        let mut keep = true;
        for (field, value) in &clauses {
            keep &= match field.as_str() {
                "roleName" => definition.role_name.eq_ignore_ascii_case(value),
                "type" => {
                    let kind = if definition.is_built_in() {
                        "BuiltInRole"
                    } else {
                        "CustomRole"
                    };
                    kind.eq_ignore_ascii_case(value)
                }
                _ => {
                    return Err(arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidFilterParameter",
                        &format!(
                            "The filter property '{field}' is not supported for role definitions."
                        ),
                    ));
                }
            };
        }
        if keep {
            values.push(role_definition_json(definition, subscription.as_deref()));
        }
    }
    list_response(request, values)
}

pub(super) fn get_role_definition(
    request: &ArmRequest,
    world: &World,
    scope: &str,
    guid: &str,
) -> ArmResult {
    let subscription = validate_scope(request, world, scope)?;
    if subscription.is_some() {
        require(
            request,
            world,
            "Microsoft.Authorization/roleDefinitions/read",
            scope,
        )?;
    }
    match world.role_definition(&request.token.tenant_id, guid) {
        Some(definition) => Ok(json_response(
            StatusCode::OK,
            role_definition_json(definition, subscription.as_deref()),
        )),
        None => Err(role_definition_not_found(guid)),
    }
}

fn string_list(value: Option<&Value>, path: &str) -> Result<Vec<String>, Response<Body>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid_content(&format!("'{path}' must hold strings.")))
            })
            .collect(),
        Some(_) => Err(invalid_content(&format!(
            "'{path}' must be an array of strings."
        ))),
    }
}

pub(super) fn put_role_definition(
    request: &ArmRequest,
    world: &mut World,
    scope: &str,
    guid: &str,
) -> ArmResult {
    let subscription = validate_scope(request, world, scope)?;
    if subscription.is_none() {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidScope",
            "Custom role definitions are created at a subscription or resource group scope.",
        ));
    }
    if !is_guid(guid) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
            &format!("The role definition ID '{guid}' is not valid. It must be a GUID."),
        ));
    }
    let Some(Value::Object(body)) = parse_json(request.body) else {
        return Err(invalid_content("the body is not a JSON object."));
    };
    let Some(Value::Object(properties)) = body.get("properties") else {
        return Err(invalid_content("'properties' is required."));
    };
    let role_name = match properties.get("roleName") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_string(),
        _ => return Err(invalid_content("'properties.roleName' is required.")),
    };
    let description = properties
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(kind) = properties.get("type").and_then(Value::as_str)
        && !kind.eq_ignore_ascii_case("CustomRole")
    {
        return Err(invalid_content("'properties.type' must be 'CustomRole'."));
    }
    let permissions = match properties.get("permissions") {
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut permissions = Vec::new();
            for item in items {
                let Value::Object(permission) = item else {
                    return Err(invalid_content(
                        "'properties.permissions' must hold objects.",
                    ));
                };
                permissions.push(Permission {
                    actions: string_list(
                        permission.get("actions"),
                        "properties.permissions.actions",
                    )?,
                    not_actions: string_list(
                        permission.get("notActions"),
                        "properties.permissions.notActions",
                    )?,
                    data_actions: string_list(
                        permission.get("dataActions"),
                        "properties.permissions.dataActions",
                    )?,
                    not_data_actions: string_list(
                        permission.get("notDataActions"),
                        "properties.permissions.notDataActions",
                    )?,
                });
            }
            permissions
        }
        _ => {
            return Err(invalid_content(
                "'properties.permissions' must hold at least one permission.",
            ));
        }
    };
    let assignable_scopes = string_list(
        properties.get("assignableScopes"),
        "properties.assignableScopes",
    )?;
    if assignable_scopes.is_empty() {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidAssignableScopes",
            "A custom role definition needs at least one assignable scope.",
        ));
    }
    for assignable in &assignable_scopes {
        if assignable == "/" {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidAssignableScopes",
                "The root scope '/' cannot be an assignable scope of a custom role definition.",
            ));
        }
        match validate_scope(request, world, assignable) {
            Ok(_) => {}
            Err(_) => {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidAssignableScopes",
                    &format!(
                        "The assignable scope '{assignable}' is not valid: it must be an existing subscription, resource group or resource of tenant '{}'.",
                        request.token.tenant_id
                    ),
                ));
            }
        }
        require(
            request,
            world,
            "Microsoft.Authorization/roleDefinitions/write",
            assignable,
        )?;
    }
    require(
        request,
        world,
        "Microsoft.Authorization/roleDefinitions/write",
        scope,
    )?;
    let tenant = request.token.tenant_id.clone();
    if let Some(existing) = world
        .role_definitions
        .iter()
        .find(|definition| definition.name.eq_ignore_ascii_case(guid))
    {
        if existing.is_built_in() {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "RoleDefinitionUpdateNotAllowed",
                &format!("The built-in role definition '{guid}' cannot be changed."),
            ));
        }
        if existing.tenant_id.as_deref() != Some(tenant.as_str()) {
            return Err(arm_error(
                StatusCode::CONFLICT,
                "RoleDefinitionAlreadyExists",
                &format!("A role definition with ID '{guid}' already exists."),
            ));
        }
    }
    let name_taken = world.role_definitions.iter().any(|definition| {
        !definition.name.eq_ignore_ascii_case(guid)
            && definition.role_name.eq_ignore_ascii_case(&role_name)
            && definition
                .tenant_id
                .as_deref()
                .is_none_or(|owner| owner == tenant)
    });
    if name_taken {
        return Err(arm_error(
            StatusCode::CONFLICT,
            "RoleDefinitionWithSameNameExists",
            "A custom role with the same name already exists in this directory. Use a different name.",
        ));
    }
    let now_wall = SystemTime::now();
    let existing_index = world
        .role_definitions
        .iter()
        .position(|definition| definition.name.eq_ignore_ascii_case(guid));
    let definition = RoleDefinition {
        name: guid.to_ascii_lowercase(),
        tenant_id: Some(tenant),
        role_name,
        description,
        permissions,
        assignable_scopes,
        created_time: existing_index
            .map(|index| world.role_definitions[index].created_time)
            .unwrap_or(now_wall),
        updated_time: now_wall,
    };
    let body = role_definition_json(&definition, subscription.as_deref());
    let status = match existing_index {
        Some(index) => {
            world.role_definitions[index] = definition;
            StatusCode::OK
        }
        None => {
            world.role_definitions.push(definition);
            StatusCode::CREATED
        }
    };
    Ok(json_response(status, body))
}

pub(super) fn delete_role_definition(
    request: &ArmRequest,
    world: &mut World,
    scope: &str,
    guid: &str,
) -> ArmResult {
    let subscription = validate_scope(request, world, scope)?;
    require(
        request,
        world,
        "Microsoft.Authorization/roleDefinitions/delete",
        scope,
    )?;
    let tenant = request.token.tenant_id.clone();
    let Some(index) = world.role_definitions.iter().position(|definition| {
        definition.name.eq_ignore_ascii_case(guid)
            && definition.tenant_id.as_deref() == Some(tenant.as_str())
    }) else {
        return Ok(empty_response(StatusCode::NO_CONTENT));
    };
    if world.role_assignments.iter().any(|assignment| {
        assignment.tenant_id == tenant
            && assignment.role_definition_guid().eq_ignore_ascii_case(guid)
    }) {
        return Err(arm_error(
            StatusCode::CONFLICT,
            "RoleDefinitionHasAssignments",
            "There are existing role assignments referencing role definition. Delete them first.",
        ));
    }
    let definition = world.role_definitions.remove(index);
    Ok(json_response(
        StatusCode::OK,
        role_definition_json(&definition, subscription.as_deref()),
    ))
}
