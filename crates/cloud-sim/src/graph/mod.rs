//! Microsoft Graph v1.0: routing, authentication, `$filter` and key-segment parsing, Graph's
//! error shape and the one place collections are built. Resource families live in
//! `applications`, `credentials` (passwords, federated identity credentials),
//! `service_principals`, `directory_objects` (lookups by id) and `rights` (who may create
//! what, and the reads that tell a principal's roles and permissions).

mod applications;
mod credentials;
mod directory_objects;
mod rights;
mod service_principals;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::authz::{TokenProblem, resolve_bearer};
use crate::http::{is_guid, json_response, parse_json, path_segments, query_pairs, with_identity};
use crate::paging::{self, ListRequest};
use crate::world::{Application, Audience, IssuedToken, World, new_guid, rfc3339};

use applications::{
    application_json, create_application, delete_application, find_application, list_applications,
    list_owners, update_application, upsert_application_by_unique_name,
};
use credentials::{add_password, remove_password};
use service_principals::{
    create_service_principal, delete_service_principal, find_service_principal,
    list_service_principals, service_principal_json,
};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A Graph error: `{"error":{"code","message","innerError":{…}}}`.
pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(status, error_body(code, message, None))
}

fn error_body(code: &str, message: &str, details: Option<Value>) -> Value {
    let request_id = new_guid();
    let mut error = json!({
        "code": code,
        "message": message,
        "innerError": {
            "date": rfc3339(SystemTime::now()),
            "request-id": request_id,
            "client-request-id": request_id,
        },
    });
    if let (Some(details), Some(object)) = (details, error.as_object_mut()) {
        object.insert("details".to_string(), details);
    }
    json!({ "error": error })
}

fn not_found(object_id: &str) -> Response<Body> {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{object_id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn bad_request(message: &str) -> Response<Body> {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

fn insufficient_privileges() -> Response<Body> {
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

fn invalid_json() -> Response<Body> {
    graph_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
    )
}

/// The caller of a Graph request.
struct Caller {
    token: IssuedToken,
    /// May create service principals for foreign applications and manage every application:
    /// one of the directory roles or Graph application permissions in `rights`.
    is_application_administrator: bool,
    /// May create service principals for foreign applications: as above, or through a custom
    /// directory role that allows it (which manages no application).
    may_create_foreign_service_principals: bool,
}

impl Caller {
    fn may_manage(&self, application: &Application) -> bool {
        self.is_application_administrator
            || application
                .owner_principal_ids
                .contains(&self.token.service_principal_id)
    }
}

fn authenticate(world: &World, headers: &HeaderMap) -> Result<Caller, Response<Body>> {
    let token = resolve_bearer(world, headers, Audience::Graph).map_err(|problem| {
        let message = match problem {
            TokenProblem::Missing => "Access token is empty.",
            TokenProblem::Unknown => "Access token validation failure.",
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
            TokenProblem::WrongAudience => "Access token validation failure. Invalid audience.",
        };
        graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    })?;
    let principal = world.service_principal(&token.tenant_id, &token.service_principal_id);
    let is_application_administrator =
        principal.is_some_and(|principal| rights::is_application_administrator(world, principal));
    let may_create_foreign_service_principals = principal
        .is_some_and(|principal| rights::may_create_foreign_service_principals(world, principal));
    Ok(Caller {
        token,
        is_application_administrator,
        may_create_foreign_service_principals,
    })
}

/// `name(key='value')` → (name, key, value).
fn parse_key_segment(segment: &str) -> Option<(&str, &str, String)> {
    let (name, rest) = segment.split_once('(')?;
    let inner = rest.strip_suffix(')')?;
    let (key, quoted) = inner.split_once('=')?;
    let value = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
    Some((name, key, value.replace("''", "'")))
}

/// One `$filter` clause the simulator understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GraphFilter {
    /// `property eq 'value'`.
    Equals { field: String, value: String },
    /// `startswith(property,'value')`: Graph compares without regard to case.
    StartsWith { field: String, prefix: String },
}

impl GraphFilter {
    pub(super) fn field(&self) -> &str {
        match self {
            GraphFilter::Equals { field, .. } | GraphFilter::StartsWith { field, .. } => field,
        }
    }
}

/// True when `text` starts with `prefix`, ignoring case as Graph's `startswith` does.
pub(super) fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.to_lowercase().starts_with(&prefix.to_lowercase())
}

/// Parses `field eq 'value'` or `startswith(field,'value')` (the Azure CLI's `az ad app list
/// --display-name`, which `az ad app create` runs first, sends the latter).
fn parse_filter(filter: &str) -> Result<GraphFilter, Response<Body>> {
    let invalid = || {
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Invalid filter clause: the simulator understands \"property eq 'value'\" and \"startswith(property,'value')\", got \"{filter}\"."
            ),
        )
    };
    let unquote = |text: &str| {
        text.trim()
            .strip_prefix('\'')
            .and_then(|value| value.strip_suffix('\''))
            .map(|value| value.replace("''", "'"))
    };
    let trimmed = filter.trim();
    if let Some(arguments) = trimmed
        .get(..11)
        .filter(|head| head.eq_ignore_ascii_case("startswith("))
        .and_then(|_| trimmed[11..].strip_suffix(')'))
    {
        let (field, quoted) = arguments.split_once(',').ok_or_else(invalid)?;
        return Ok(GraphFilter::StartsWith {
            field: field.trim().to_string(),
            prefix: unquote(quoted).ok_or_else(invalid)?,
        });
    }
    let mut parts = trimmed.splitn(3, ' ');
    let (Some(field), Some(operator), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if !operator.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    Ok(GraphFilter::Equals {
        field: field.to_string(),
        value: unquote(value).ok_or_else(invalid)?,
    })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let mut world = shared.world();
    let caller = match authenticate(&world, &headers) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let identity = format!("{}/{}", caller.token.tenant_id, caller.token.app_id);
    let request = GraphRequest {
        shared: &shared,
        caller: &caller,
        method: &method,
        path: uri.path().to_string(),
        query: query_pairs(uri.query()),
        headers: &headers,
        body: &body,
        now: Instant::now(),
    };
    let response = route(&request, &mut world, uri.path());
    with_identity(response, Some(identity))
}

struct GraphRequest<'a> {
    shared: &'a Shared,
    caller: &'a Caller,
    method: &'a Method,
    /// The path without the query, for the `@odata.nextLink` of collections.
    path: String,
    query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    now: Instant,
}

impl GraphRequest<'_> {
    fn tenant_id(&self) -> &str {
        &self.caller.token.tenant_id
    }

    fn json_object(&self) -> Result<Map<String, Value>, Response<Body>> {
        match parse_json(self.body) {
            Some(Value::Object(object)) => Ok(object),
            _ => Err(invalid_json()),
        }
    }
}

fn route(request: &GraphRequest, world: &mut World, path: &str) -> Response<Body> {
    let segments = path_segments(path);
    let Some(("v1.0", rest)) = segments
        .split_first()
        .map(|(first, rest)| (first.as_str(), rest))
    else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource not found for the segment '{}'. Graph paths start with /v1.0.",
                segments.first().map(String::as_str).unwrap_or("")
            ),
        );
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let method = request.method.clone();
    match (method, rest.as_slice()) {
        (Method::GET, ["applications"]) => list_applications(request, world),
        (Method::POST, ["applications"]) => create_application(request, world),
        (method, [keyed]) if keyed.starts_with("applications(") => {
            let Some((_, key, value)) = parse_key_segment(keyed) else {
                return bad_request(&format!("Invalid key segment '{keyed}'."));
            };
            match (method, key) {
                (Method::GET, "appId") => {
                    match find_application(
                        request,
                        world,
                        |application| application.app_id.eq_ignore_ascii_case(&value),
                        true,
                    ) {
                        Some(application) => json_response(
                            StatusCode::OK,
                            application_json(request.shared, world, &application, true),
                        ),
                        None => not_found(&value),
                    }
                }
                (Method::DELETE, "appId") => {
                    match find_application(
                        request,
                        world,
                        |application| application.app_id.eq_ignore_ascii_case(&value),
                        true,
                    ) {
                        Some(application) => delete_application(request, world, &application),
                        None => not_found(&value),
                    }
                }
                (Method::GET, "uniqueName") => {
                    match find_application(
                        request,
                        world,
                        |application| application.unique_name.as_deref() == Some(value.as_str()),
                        false,
                    ) {
                        Some(application) => json_response(
                            StatusCode::OK,
                            application_json(request.shared, world, &application, true),
                        ),
                        None => not_found(&value),
                    }
                }
                (Method::PATCH, "uniqueName") => {
                    upsert_application_by_unique_name(request, world, &value)
                }
                (Method::PATCH, "appId") => {
                    match find_application(
                        request,
                        world,
                        |application| application.app_id.eq_ignore_ascii_case(&value),
                        true,
                    ) {
                        Some(application) => {
                            update_application(request, world, &application.object_id)
                        }
                        None => not_found(&value),
                    }
                }
                _ => method_not_allowed(),
            }
        }
        (method, ["applications", object_id, rest @ ..]) => {
            if !is_guid(object_id) {
                return bad_request(&format!("Invalid object identifier '{object_id}'."));
            }
            let Some(application) = find_application(
                request,
                world,
                |application| application.object_id.eq_ignore_ascii_case(object_id),
                true,
            ) else {
                return not_found(object_id);
            };
            match (method, rest) {
                (Method::GET, []) => json_response(
                    StatusCode::OK,
                    application_json(request.shared, world, &application, true),
                ),
                (Method::PATCH, []) => update_application(request, world, &application.object_id),
                (Method::DELETE, []) => delete_application(request, world, &application),
                (Method::POST, ["addPassword"]) => add_password(request, world, &application),
                (Method::POST, ["removePassword"]) => remove_password(request, world, &application),
                (Method::GET, ["owners"]) => list_owners(request, world, &application),
                (Method::GET, ["federatedIdentityCredentials"]) => {
                    credentials::list_federated_credentials(request, &application)
                }
                (Method::POST, ["federatedIdentityCredentials"]) => {
                    credentials::create_federated_credential(request, world, &application)
                }
                (Method::GET, ["federatedIdentityCredentials", credential_key]) => {
                    credentials::get_federated_credential(request, &application, credential_key)
                }
                (Method::DELETE, ["federatedIdentityCredentials", credential_key]) => {
                    credentials::delete_federated_credential(
                        request,
                        world,
                        &application,
                        credential_key,
                    )
                }
                (
                    _,
                    []
                    | ["addPassword"]
                    | ["removePassword"]
                    | ["owners"]
                    | ["federatedIdentityCredentials"]
                    | ["federatedIdentityCredentials", _],
                ) => method_not_allowed(),
                (_, [segment, ..]) => unknown_segment(segment),
            }
        }
        (Method::GET, ["servicePrincipals"]) => list_service_principals(request, world),
        (Method::POST, ["servicePrincipals"]) => create_service_principal(request, world),
        (method, [keyed]) if keyed.starts_with("servicePrincipals(") => {
            let Some((_, "appId", value)) = parse_key_segment(keyed) else {
                return bad_request(&format!("Invalid key segment '{keyed}'."));
            };
            let found = find_service_principal(request, world, |principal| {
                principal.app_id.eq_ignore_ascii_case(&value)
            });
            match (method, found) {
                (Method::GET, Some(principal)) => json_response(
                    StatusCode::OK,
                    service_principal_json(request.shared, world, &principal, true),
                ),
                (Method::DELETE, Some(principal)) => {
                    delete_service_principal(request, world, &principal)
                }
                (Method::GET | Method::DELETE, None) => not_found(&value),
                _ => method_not_allowed(),
            }
        }
        (Method::GET, ["servicePrincipals", object_id, "transitiveMemberOf", cast])
            if *cast == "microsoft.graph.directoryRole" =>
        {
            rights::directory_roles_of(request, world, object_id)
        }
        (Method::GET, ["servicePrincipals", object_id, "transitiveMemberOf", cast])
            if *cast == "microsoft.graph.group" =>
        {
            rights::groups_of(request, world, object_id)
        }
        (Method::GET, ["servicePrincipals", object_id, "appRoleAssignments"]) => {
            rights::app_role_assignments_of(request, world, object_id)
        }
        (Method::GET, ["roleManagement", "directory", "roleAssignments"]) => {
            rights::role_assignments(request, world)
        }
        (method, ["servicePrincipals", object_id]) => {
            if !is_guid(object_id) {
                return bad_request(&format!("Invalid object identifier '{object_id}'."));
            }
            let found = find_service_principal(request, world, |principal| {
                principal.object_id.eq_ignore_ascii_case(object_id)
            });
            match (method, found) {
                (Method::GET, Some(principal)) => json_response(
                    StatusCode::OK,
                    service_principal_json(request.shared, world, &principal, true),
                ),
                (Method::DELETE, Some(principal)) => {
                    delete_service_principal(request, world, &principal)
                }
                (Method::GET | Method::DELETE, None) => not_found(object_id),
                _ => method_not_allowed(),
            }
        }
        (Method::POST, ["directoryObjects", "getByIds"]) => {
            directory_objects::get_by_ids(request, world)
        }
        (Method::GET, ["organization"]) => {
            let tenant_id = request.tenant_id().to_string();
            let display_name = world
                .tenant(&tenant_id)
                .map(|tenant| tenant.display_name.clone())
                .unwrap_or_default();
            json_response(
                StatusCode::OK,
                json!({"value": [{"id": tenant_id, "displayName": display_name}]}),
            )
        }
        (_, [segment, ..]) => unknown_segment(segment),
        (_, []) => unknown_segment(""),
    }
}

/// A `$filter` on a property (or with a function) the resource does not support.
fn unsupported_filter(field: &str, resource: &str) -> Response<Body> {
    graph_error(
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        &format!(
            "Unsupported or invalid query filter clause specified for property '{field}' of resource '{resource}'."
        ),
    )
}

fn unknown_segment(segment: &str) -> Response<Body> {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource not found for the segment '{segment}'."),
    )
}

fn method_not_allowed() -> Response<Body> {
    graph_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "The HTTP method is not allowed on this resource.",
    )
}

/// A Graph collection, one page of it: `{"@odata.context": ".../$metadata#<context>",
/// "value": [...], "@odata.nextLink": "…"}`, the link present while more pages remain. Every
/// collection goes through here.
fn collection_response(
    request: &GraphRequest,
    context: &str,
    values: Vec<Value>,
) -> Response<Body> {
    let list = ListRequest {
        base_url: &request.shared.urls.graph,
        path: &request.path,
        query: &request.query,
        page_size: request.shared.page_size,
    };
    let page = match paging::page(&list, values) {
        Ok(page) => page,
        Err(message) => return bad_request(&message),
    };
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}", request.shared.urls.graph),
        "value": page.values,
    });
    if let (Some(next_link), Some(object)) = (page.next_link, body.as_object_mut()) {
        object.insert("@odata.nextLink".to_string(), json!(next_link));
    }
    json_response(StatusCode::OK, body)
}
