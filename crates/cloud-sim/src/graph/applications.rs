//! Graph applications: list with filters, create, upsert by `uniqueName`, read, update and
//! delete, with the caller's ownership rules and replication lag.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::credentials::password_credential_json;
use super::{
    GraphFilter, GraphRequest, bad_request, collection_response, graph_error,
    insufficient_privileges, not_found, parse_filter, starts_with_ignoring_case,
    unsupported_filter,
};
use crate::Shared;
use crate::http::{empty_response, json_response, query_value};
use crate::world::{Application, World, new_guid, rfc3339};

const SIGN_IN_AUDIENCES: [&str; 4] = [
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];
const APPLICATION_PROPERTIES: [&str; 15] = [
    "displayName",
    "signInAudience",
    "description",
    "notes",
    "tags",
    "identifierUris",
    "web",
    "api",
    "spa",
    "publicClient",
    "requiredResourceAccess",
    "uniqueName",
    "isFallbackPublicClient",
    "serviceManagementReference",
    "keyCredentials",
];

pub(super) fn application_json(
    shared: &Shared,
    world: &World,
    application: &Application,
    entity: bool,
) -> Value {
    let publisher_domain = world
        .tenant(&application.tenant_id)
        .map(|tenant| tenant.default_domain.clone())
        .unwrap_or_default();
    let mut value = json!({
        "id": application.object_id,
        "deletedDateTime": null,
        "appId": application.app_id,
        "applicationTemplateId": null,
        "createdDateTime": rfc3339(application.created_time),
        "description": null,
        "displayName": application.display_name,
        "identifierUris": [],
        "publisherDomain": publisher_domain,
        "signInAudience": application.sign_in_audience,
        "uniqueName": application.unique_name,
        "tags": application.tags,
        "keyCredentials": [],
        "passwordCredentials": application.password_credentials.iter().map(password_credential_json).collect::<Vec<_>>(),
        "requiredResourceAccess": [],
        "web": {"redirectUris": [], "homePageUrl": null, "logoutUrl": null},
    });
    if entity && let Some(object) = value.as_object_mut() {
        object.insert(
            "@odata.context".to_string(),
            json!(format!(
                "{}/v1.0/$metadata#applications/$entity",
                shared.urls.graph
            )),
        );
    }
    value
}

/// An application of the caller's tenant that has replicated (or any, if `honour_lag` is false).
pub(super) fn find_application(
    request: &GraphRequest,
    world: &World,
    predicate: impl Fn(&Application) -> bool,
    honour_lag: bool,
) -> Option<Application> {
    world
        .applications
        .iter()
        .find(|application| {
            application.tenant_id == request.tenant_id()
                && (!honour_lag || application.visible_at <= request.now)
                && predicate(application)
        })
        .cloned()
}

pub(super) fn list_applications(request: &GraphRequest, world: &World) -> Response<Body> {
    let filter = match query_value(&request.query, "$filter")
        .map(parse_filter)
        .transpose()
    {
        Ok(filter) => filter,
        Err(response) => return response,
    };
    let mut values = Vec::new();
    for application in &world.applications {
        if application.tenant_id != request.tenant_id() || application.visible_at > request.now {
            continue;
        }
        let keep = match &filter {
            None => true,
            Some(GraphFilter::StartsWith { field, prefix }) if field == "displayName" => {
                starts_with_ignoring_case(&application.display_name, prefix)
            }
            Some(GraphFilter::Equals { field, value }) => match field.as_str() {
                "displayName" => application.display_name == *value,
                "appId" => application.app_id.eq_ignore_ascii_case(value),
                "uniqueName" => application.unique_name.as_deref() == Some(value.as_str()),
                "id" => application.object_id.eq_ignore_ascii_case(value),
                other => return unsupported_filter(other, "Application"),
            },
            Some(other) => return unsupported_filter(other.field(), "Application"),
        };
        if keep {
            values.push(application_json(request.shared, world, application, false));
        }
    }
    collection_response(request, "applications", values)
}

/// The properties of an application a create or PATCH body sets.
struct ApplicationChanges {
    display_name: Option<String>,
    sign_in_audience: Option<String>,
    tags: Option<Vec<String>>,
}

/// Validates application properties; returns those present.
fn validate_application_body(
    object: &Map<String, Value>,
) -> Result<ApplicationChanges, Response<Body>> {
    for name in object.keys() {
        if !APPLICATION_PROPERTIES.contains(&name.as_str()) && !name.starts_with("@odata") {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!(
                    "Property '{name}' does not exist on type 'microsoft.graph.application'. Make sure to only use property names that are defined by the type or mark the type as open type."
                ),
            ));
        }
    }
    // `az ad app create --key-type Password` sends `"keyCredentials": []`. Certificates are not
    // simulated: refuse them rather than drop them silently.
    match object.get("keyCredentials") {
        None | Some(Value::Null) => {}
        Some(Value::Array(keys)) if keys.is_empty() => {}
        Some(Value::Array(_)) => {
            return Err(bad_request(
                "The simulator does not keep key credentials (certificates): send 'keyCredentials' empty or not at all.",
            ));
        }
        Some(_) => {
            return Err(bad_request(
                "Invalid value specified for property 'keyCredentials' of resource 'Application'.",
            ));
        }
    }
    let display_name = match object.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        Some(_) => {
            return Err(bad_request(
                "Invalid value specified for property 'displayName' of resource 'Application'.",
            ));
        }
    };
    let sign_in_audience = match object.get("signInAudience") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if SIGN_IN_AUDIENCES.contains(&text.as_str()) => {
            Some(text.clone())
        }
        Some(_) => {
            return Err(bad_request(
                "Invalid value specified for property 'signInAudience' of resource 'Application'.",
            ));
        }
    };
    let tags = match object.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let tags: Option<Vec<String>> = items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect();
            match tags {
                Some(tags) if tags.iter().all(|tag| tag.len() <= 256) => Some(tags),
                _ => {
                    return Err(bad_request(
                        "Invalid value specified for property 'tags' of resource 'Application'.",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(bad_request(
                "Invalid value specified for property 'tags' of resource 'Application'.",
            ));
        }
    };
    Ok(ApplicationChanges {
        display_name,
        sign_in_audience,
        tags,
    })
}

fn new_application(
    request: &GraphRequest,
    display_name: String,
    changes: ApplicationChanges,
    unique_name: Option<String>,
) -> Application {
    let object_id = new_guid();
    let replication_lag = request
        .shared
        .delays
        .drawn(request.shared.delays.graph_replication_lag, &object_id);
    Application {
        object_id,
        app_id: new_guid(),
        tenant_id: request.tenant_id().to_string(),
        display_name,
        sign_in_audience: changes
            .sign_in_audience
            .unwrap_or_else(|| "AzureADMyOrg".to_string()),
        unique_name,
        tags: changes.tags.unwrap_or_default(),
        password_credentials: Vec::new(),
        federated_identity_credentials: Vec::new(),
        owner_principal_ids: vec![request.caller.token.service_principal_id.clone()],
        visible_at: request.now + replication_lag,
        created_time: SystemTime::now(),
        lagging_service_principal_attempts: 0,
    }
}

pub(super) fn create_application(request: &GraphRequest, world: &mut World) -> Response<Body> {
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let mut changes = match validate_application_body(&object) {
        Ok(changes) => changes,
        Err(response) => return response,
    };
    let Some(display_name) = changes.display_name.take() else {
        return bad_request("Property 'displayName' is required.");
    };
    let unique_name = object
        .get("uniqueName")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(unique_name) = &unique_name
        && world.applications.iter().any(|application| {
            application.tenant_id == request.tenant_id()
                && application.unique_name.as_deref() == Some(unique_name.as_str())
        })
    {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            &format!(
                "Another object with the same value for property uniqueName '{unique_name}' already exists."
            ),
        );
    }
    let application = new_application(request, display_name, changes, unique_name);
    let body = application_json(request.shared, world, &application, true);
    world.applications.push(application);
    json_response(StatusCode::CREATED, body)
}

pub(super) fn upsert_application_by_unique_name(
    request: &GraphRequest,
    world: &mut World,
    unique_name: &str,
) -> Response<Body> {
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let mut changes = match validate_application_body(&object) {
        Ok(changes) => changes,
        Err(response) => return response,
    };
    let existing = find_application(
        request,
        world,
        |application| application.unique_name.as_deref() == Some(unique_name),
        false,
    );
    if let Some(existing) = existing {
        if !request.caller.may_manage(&existing) {
            return insufficient_privileges();
        }
        if let Some(stored) = world
            .applications
            .iter_mut()
            .find(|application| application.object_id == existing.object_id)
        {
            apply_application_changes(stored, changes);
        }
        return empty_response(StatusCode::NO_CONTENT);
    }
    let create_if_missing = request
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value
                .split(',')
                .any(|preference| preference.trim().eq_ignore_ascii_case("create-if-missing"))
        });
    if !create_if_missing {
        return not_found(unique_name);
    }
    let Some(display_name) = changes.display_name.take() else {
        return bad_request("Property 'displayName' is required.");
    };
    let application = new_application(
        request,
        display_name,
        changes,
        Some(unique_name.to_string()),
    );
    let body = application_json(request.shared, world, &application, true);
    world.applications.push(application);
    json_response(StatusCode::CREATED, body)
}

pub(super) fn update_application(
    request: &GraphRequest,
    world: &mut World,
    object_id: &str,
) -> Response<Body> {
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let changes = match validate_application_body(&object) {
        Ok(changes) => changes,
        Err(response) => return response,
    };
    let caller = request.caller;
    let Some(stored) = world
        .applications
        .iter_mut()
        .find(|application| application.object_id == object_id)
    else {
        return not_found(object_id);
    };
    if !caller.may_manage(stored) {
        return insufficient_privileges();
    }
    apply_application_changes(stored, changes);
    empty_response(StatusCode::NO_CONTENT)
}

/// The part of a PATCH that changes an existing application.
fn apply_application_changes(stored: &mut Application, changes: ApplicationChanges) {
    if let Some(display_name) = changes.display_name {
        stored.display_name = display_name;
    }
    if let Some(sign_in_audience) = changes.sign_in_audience {
        stored.sign_in_audience = sign_in_audience;
    }
    if let Some(tags) = changes.tags {
        stored.tags = tags;
    }
}

/// `GET /applications/{id}/owners`: the users and service principals that own the application.
pub(super) fn list_owners(
    request: &GraphRequest,
    world: &World,
    application: &Application,
) -> Response<Body> {
    let values = application
        .owner_principal_ids
        .iter()
        .filter_map(|owner| {
            if let Some(principal) = world.service_principal(&application.tenant_id, owner) {
                Some(json!({
                    "@odata.type": "#microsoft.graph.servicePrincipal",
                    "id": principal.object_id,
                    "appId": principal.app_id,
                    "displayName": principal.display_name,
                }))
            } else {
                world.user(&application.tenant_id, owner).map(|user| {
                    json!({
                        "@odata.type": "#microsoft.graph.user",
                        "id": user.object_id,
                        "displayName": user.display_name,
                        "userPrincipalName": user.user_principal_name,
                    })
                })
            }
        })
        .collect();
    collection_response(
        request,
        &format!("applications('{}')/owners", application.object_id),
        values,
    )
}

pub(super) fn delete_application(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    world
        .applications
        .retain(|candidate| candidate.object_id != application.object_id);
    // Deleting an application registration removes its service principal in the home tenant.
    world.service_principals.retain(|principal| {
        !(principal.tenant_id == application.tenant_id && principal.app_id == application.app_id)
    });
    empty_response(StatusCode::NO_CONTENT)
}
