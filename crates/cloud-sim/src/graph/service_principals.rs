//! Graph service principals: list with filters, create (home-tenant and foreign applications,
//! with the replication-lag answers), read and delete.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{
    GraphFilter, GraphRequest, bad_request, collection_response, error_body, graph_error,
    insufficient_privileges, parse_filter, starts_with_ignoring_case, unsupported_filter,
};
use crate::Shared;
use crate::http::{empty_response, json_response, query_value};
use crate::world::{ServicePrincipal, World, new_guid, rfc3339};

fn no_backing_application(app_id: &str) -> Response<Body> {
    let message = format!(
        "The appId '{app_id}' of the service principal does not reference a valid application object."
    );
    json_response(
        StatusCode::BAD_REQUEST,
        error_body(
            "Request_BadRequest",
            &message,
            Some(
                json!([{"code": "NoBackingApplicationObject", "message": message, "target": "appId"}]),
            ),
        ),
    )
}

fn must_be_local_tenant() -> Response<Body> {
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "When using this permission, the backing application of the service principal being created must in the local tenant",
    )
}

pub(super) fn service_principal_json(
    shared: &Shared,
    world: &World,
    principal: &ServicePrincipal,
    entity: bool,
) -> Value {
    let sign_in_audience = world
        .application_by_app_id(&principal.app_id)
        .map(|application| application.sign_in_audience.clone())
        .unwrap_or_else(|| "AzureADMyOrg".to_string());
    let mut value = json!({
        "id": principal.object_id,
        "deletedDateTime": null,
        "accountEnabled": principal.account_enabled,
        "appDisplayName": principal.display_name,
        "appId": principal.app_id,
        "appOwnerOrganizationId": principal.app_owner_tenant_id,
        "appRoleAssignmentRequired": false,
        "createdDateTime": rfc3339(principal.created_time),
        "displayName": principal.display_name,
        "servicePrincipalNames": [principal.app_id],
        "servicePrincipalType": "Application",
        "signInAudience": sign_in_audience,
        "tags": [],
        "keyCredentials": [],
        "passwordCredentials": [],
    });
    if entity && let Some(object) = value.as_object_mut() {
        object.insert(
            "@odata.context".to_string(),
            json!(format!(
                "{}/v1.0/$metadata#servicePrincipals/$entity",
                shared.urls.graph
            )),
        );
    }
    value
}

pub(super) fn find_service_principal(
    request: &GraphRequest,
    world: &World,
    predicate: impl Fn(&ServicePrincipal) -> bool,
) -> Option<ServicePrincipal> {
    world
        .service_principals
        .iter()
        .find(|principal| {
            principal.tenant_id == request.tenant_id()
                && principal.visible_at <= request.now
                && predicate(principal)
        })
        .cloned()
}

pub(super) fn list_service_principals(request: &GraphRequest, world: &World) -> Response<Body> {
    let filter = match query_value(&request.query, "$filter")
        .map(parse_filter)
        .transpose()
    {
        Ok(filter) => filter,
        Err(response) => return response,
    };
    let mut values = Vec::new();
    for principal in &world.service_principals {
        if principal.tenant_id != request.tenant_id() || principal.visible_at > request.now {
            continue;
        }
        let keep = match &filter {
            None => true,
            Some(GraphFilter::StartsWith { field, prefix }) if field == "displayName" => {
                starts_with_ignoring_case(&principal.display_name, prefix)
            }
            Some(GraphFilter::Equals { field, value }) => match field.as_str() {
                "appId" => principal.app_id.eq_ignore_ascii_case(value),
                "displayName" => principal.display_name == *value,
                "id" => principal.object_id.eq_ignore_ascii_case(value),
                other => return unsupported_filter(other, "ServicePrincipal"),
            },
            Some(other) => return unsupported_filter(other.field(), "ServicePrincipal"),
        };
        if keep {
            values.push(service_principal_json(
                request.shared,
                world,
                principal,
                false,
            ));
        }
    }
    collection_response(request, "servicePrincipals", values)
}

pub(super) fn create_service_principal(
    request: &GraphRequest,
    world: &mut World,
) -> Response<Body> {
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let Some(app_id) = object
        .get("appId")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return bad_request("Property 'appId' is required.");
    };
    let account_enabled = match object.get("accountEnabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(enabled)) => *enabled,
        Some(_) => {
            return bad_request(
                "Invalid value specified for property 'accountEnabled' of resource 'ServicePrincipal'.",
            );
        }
    };
    let tenant_id = request.tenant_id().to_string();
    let Some(application_index) = world
        .applications
        .iter()
        .position(|application| application.app_id.eq_ignore_ascii_case(&app_id))
    else {
        return no_backing_application(&app_id);
    };
    let application = world.applications[application_index].clone();
    let is_local = application.tenant_id == tenant_id;
    if application.visible_at > request.now {
        if !is_local {
            return no_backing_application(&app_id);
        }
        // Replication lag right after creating the application: the real service answers
        // either of these two, so alternate between them.
        let stored = &mut world.applications[application_index];
        stored.lagging_service_principal_attempts += 1;
        return if stored.lagging_service_principal_attempts % 2 == 1 {
            must_be_local_tenant()
        } else {
            no_backing_application(&app_id)
        };
    }
    if !is_local {
        if !application.is_multi_tenant() {
            return no_backing_application(&app_id);
        }
        if !request.caller.may_create_foreign_service_principals {
            return must_be_local_tenant();
        }
    } else if !request.caller.may_manage(&application) {
        return insufficient_privileges();
    }
    if world
        .service_principal_for_app(&tenant_id, &app_id)
        .is_some()
    {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            &format!(
                "Another object with the same value for property servicePrincipalNames already exists. The service principal name {} is already in use.",
                application.app_id
            ),
        );
    }
    let principal = ServicePrincipal {
        object_id: new_guid(),
        app_id: application.app_id.clone(),
        tenant_id,
        display_name: application.display_name.clone(),
        app_owner_tenant_id: application.tenant_id.clone(),
        account_enabled,
        directory_roles: Vec::new(),
        graph_app_roles: Vec::new(),
        visible_at: request.now
            + request.shared.delays.drawn(
                request.shared.delays.graph_replication_lag,
                &format!("service principal {}", application.app_id),
            ),
        created_time: SystemTime::now(),
    };
    let body = service_principal_json(request.shared, world, &principal, true);
    world.service_principals.push(principal);
    json_response(StatusCode::CREATED, body)
}

pub(super) fn delete_service_principal(
    request: &GraphRequest,
    world: &mut World,
    principal: &ServicePrincipal,
) -> Response<Body> {
    let owns_application =
        world
            .application_by_app_id(&principal.app_id)
            .is_some_and(|application| {
                request.caller.may_manage(application)
                    && application.tenant_id == principal.tenant_id
            });
    if !request.caller.is_application_administrator && !owns_application {
        return insufficient_privileges();
    }
    world
        .service_principals
        .retain(|candidate| candidate.object_id != principal.object_id);
    empty_response(StatusCode::NO_CONTENT)
}
