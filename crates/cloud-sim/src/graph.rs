//! Microsoft Graph v1.0: applications (passwords, federated identity credentials) and service
//! principals, with replication lag, the real duplicate rules and Graph's error shape.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::authz::{TokenProblem, resolve_bearer};
use crate::http::{
    empty_response, is_guid, json_response, parse_json, path_segments, query_pairs, query_value,
    with_identity,
};
use crate::world::{
    APPLICATION_ADMINISTRATOR, Application, Audience, FederatedIdentityCredential, IssuedToken,
    PasswordCredential, ServicePrincipal, World, new_guid, random_secret, rfc3339, sha256,
};

const MAX_FEDERATED_IDENTITY_CREDENTIALS: usize = 20;
const SIGN_IN_AUDIENCES: [&str; 4] = [
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];
const APPLICATION_PROPERTIES: [&str; 14] = [
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
];

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

/// The caller of a Graph request.
struct Caller {
    token: IssuedToken,
    is_application_administrator: bool,
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
    let is_application_administrator = world
        .service_principal(&token.tenant_id, &token.service_principal_id)
        .is_some_and(|principal| {
            principal.directory_roles.iter().any(|role| {
                role == APPLICATION_ADMINISTRATOR
                    || role == "Global Administrator"
                    || role == "Cloud Application Administrator"
            })
        });
    Ok(Caller {
        token,
        is_application_administrator,
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

/// `field eq 'value'` → (field, value).
fn parse_filter(filter: &str) -> Result<(String, String), Response<Body>> {
    let invalid = || {
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Invalid filter clause: the simulator understands only \"property eq 'value'\", got \"{filter}\"."
            ),
        )
    };
    let mut parts = filter.trim().splitn(3, ' ');
    let (Some(field), Some(operator), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if !operator.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    let value = value
        .trim()
        .strip_prefix('\'')
        .and_then(|value| value.strip_suffix('\''))
        .ok_or_else(invalid)?;
    Ok((field.to_string(), value.replace("''", "'")))
}

fn application_json(
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
        "tags": [],
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

fn password_credential_json(credential: &PasswordCredential) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": credential.display_name,
        "endDateTime": rfc3339(credential.end_time),
        "hint": credential.hint,
        "keyId": credential.key_id,
        "secretText": null,
        "startDateTime": rfc3339(credential.start_time),
    })
}

fn federated_credential_json(
    shared: &Shared,
    application: &Application,
    credential: &FederatedIdentityCredential,
) -> Value {
    json!({
        "@odata.context": format!(
            "{}/v1.0/$metadata#applications('{}')/federatedIdentityCredentials/$entity",
            shared.urls.graph, application.object_id
        ),
        "id": credential.id,
        "name": credential.name,
        "issuer": credential.issuer,
        "subject": credential.subject,
        "audiences": credential.audiences,
        "description": credential.description,
    })
}

fn service_principal_json(
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
                (Method::GET, ["federatedIdentityCredentials"]) => json_response(
                    StatusCode::OK,
                    json!({
                        "@odata.context": format!("{}/v1.0/$metadata#applications('{}')/federatedIdentityCredentials", request.shared.urls.graph, application.object_id),
                        "value": application.federated_identity_credentials.iter().map(|credential| {
                            let mut value = federated_credential_json(request.shared, &application, credential);
                            if let Some(object) = value.as_object_mut() { object.remove("@odata.context"); }
                            value
                        }).collect::<Vec<_>>(),
                    }),
                ),
                (Method::POST, ["federatedIdentityCredentials"]) => {
                    create_federated_credential(request, world, &application)
                }
                (Method::GET, ["federatedIdentityCredentials", credential_key]) => {
                    match application
                        .federated_identity_credentials
                        .iter()
                        .find(|credential| {
                            credential.id == *credential_key || credential.name == *credential_key
                        }) {
                        Some(credential) => json_response(
                            StatusCode::OK,
                            federated_credential_json(request.shared, &application, credential),
                        ),
                        None => not_found(credential_key),
                    }
                }
                (Method::DELETE, ["federatedIdentityCredentials", credential_key]) => {
                    if !request.caller.may_manage(&application) {
                        return insufficient_privileges();
                    }
                    let Some(stored) = world
                        .applications
                        .iter_mut()
                        .find(|candidate| candidate.object_id == application.object_id)
                    else {
                        return not_found(object_id);
                    };
                    let before = stored.federated_identity_credentials.len();
                    stored.federated_identity_credentials.retain(|credential| {
                        credential.id != *credential_key && credential.name != *credential_key
                    });
                    if stored.federated_identity_credentials.len() == before {
                        not_found(credential_key)
                    } else {
                        empty_response(StatusCode::NO_CONTENT)
                    }
                }
                (
                    _,
                    []
                    | ["addPassword"]
                    | ["removePassword"]
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

/// An application of the caller's tenant that has replicated (or any, if `honour_lag` is false).
fn find_application(
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

fn find_service_principal(
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

fn list_applications(request: &GraphRequest, world: &World) -> Response<Body> {
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
            Some((field, value)) => match field.as_str() {
                "displayName" => application.display_name == *value,
                "appId" => application.app_id.eq_ignore_ascii_case(value),
                "uniqueName" => application.unique_name.as_deref() == Some(value.as_str()),
                "id" => application.object_id.eq_ignore_ascii_case(value),
                other => {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        "Request_UnsupportedQuery",
                        &format!(
                            "Unsupported or invalid query filter clause specified for property '{other}' of resource 'Application'."
                        ),
                    );
                }
            },
        };
        if keep {
            values.push(application_json(request.shared, world, application, false));
        }
    }
    json_response(
        StatusCode::OK,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#applications", request.shared.urls.graph),
            "value": values,
        }),
    )
}

/// Validates application properties; returns (displayName, signInAudience) when present.
fn validate_application_body(
    object: &Map<String, Value>,
) -> Result<(Option<String>, Option<String>), Response<Body>> {
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
    Ok((display_name, sign_in_audience))
}

fn new_application(
    request: &GraphRequest,
    display_name: String,
    sign_in_audience: Option<String>,
    unique_name: Option<String>,
) -> Application {
    Application {
        object_id: new_guid(),
        app_id: new_guid(),
        tenant_id: request.tenant_id().to_string(),
        display_name,
        sign_in_audience: sign_in_audience.unwrap_or_else(|| "AzureADMyOrg".to_string()),
        unique_name,
        password_credentials: Vec::new(),
        federated_identity_credentials: Vec::new(),
        owner_principal_ids: vec![request.caller.token.service_principal_id.clone()],
        visible_at: request.now + request.shared.delays.graph_replication_lag,
        created_time: SystemTime::now(),
        lagging_service_principal_attempts: 0,
    }
}

fn create_application(request: &GraphRequest, world: &mut World) -> Response<Body> {
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let (display_name, sign_in_audience) = match validate_application_body(&object) {
        Ok(values) => values,
        Err(response) => return response,
    };
    let Some(display_name) = display_name else {
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
    let application = new_application(request, display_name, sign_in_audience, unique_name);
    let body = application_json(request.shared, world, &application, true);
    world.applications.push(application);
    json_response(StatusCode::CREATED, body)
}

fn upsert_application_by_unique_name(
    request: &GraphRequest,
    world: &mut World,
    unique_name: &str,
) -> Response<Body> {
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let (display_name, sign_in_audience) = match validate_application_body(&object) {
        Ok(values) => values,
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
            apply_application_changes(stored, display_name, sign_in_audience);
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
    let Some(display_name) = display_name else {
        return bad_request("Property 'displayName' is required.");
    };
    let application = new_application(
        request,
        display_name,
        sign_in_audience,
        Some(unique_name.to_string()),
    );
    let body = application_json(request.shared, world, &application, true);
    world.applications.push(application);
    json_response(StatusCode::CREATED, body)
}

fn update_application(
    request: &GraphRequest,
    world: &mut World,
    object_id: &str,
) -> Response<Body> {
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let (display_name, sign_in_audience) = match validate_application_body(&object) {
        Ok(values) => values,
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
    apply_application_changes(stored, display_name, sign_in_audience);
    empty_response(StatusCode::NO_CONTENT)
}

/// The part of a PATCH that changes an existing application.
fn apply_application_changes(
    stored: &mut Application,
    display_name: Option<String>,
    sign_in_audience: Option<String>,
) {
    if let Some(display_name) = display_name {
        stored.display_name = display_name;
    }
    if let Some(sign_in_audience) = sign_in_audience {
        stored.sign_in_audience = sign_in_audience;
    }
}

fn delete_application(
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

fn add_password(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    let object = if request.body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match request.json_object() {
            Ok(object) => object,
            Err(response) => return response,
        }
    };
    let credential_input = match object.get("passwordCredential") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(input)) => input.clone(),
        Some(_) => {
            return bad_request("Invalid value specified for property 'passwordCredential'.");
        }
    };
    let display_name = match credential_input.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            return bad_request(
                "Invalid value specified for property 'displayName' of resource 'PasswordCredential'.",
            );
        }
    };
    let start_time = SystemTime::now();
    let end_time = match credential_input.get("endDateTime") {
        None | Some(Value::Null) => start_time + Duration::from_secs(2 * 365 * 24 * 3600),
        Some(Value::String(text)) => {
            match humantime::parse_rfc3339_weak(text.trim_end_matches('Z')) {
                Ok(time) => time,
                Err(_) => {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        &format!(
                            "Cannot convert the literal '{text}' to the expected type 'Edm.DateTimeOffset'."
                        ),
                    );
                }
            }
        }
        Some(_) => {
            return bad_request(
                "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.",
            );
        }
    };
    let secret_text = random_secret(40);
    let credential = PasswordCredential {
        key_id: new_guid(),
        display_name,
        hint: secret_text[..3].to_string(),
        start_time,
        end_time,
        usable_at: request.now + request.shared.delays.password_propagation,
        secret_sha256: sha256(&secret_text),
    };
    let mut body = password_credential_json(&credential);
    if let Some(object) = body.as_object_mut() {
        object.insert("secretText".to_string(), json!(secret_text));
        object.insert(
            "@odata.context".to_string(),
            json!(format!(
                "{}/v1.0/$metadata#microsoft.graph.passwordCredential",
                request.shared.urls.graph
            )),
        );
    }
    world.remember_secret(&secret_text);
    if let Some(stored) = world
        .applications
        .iter_mut()
        .find(|candidate| candidate.object_id == application.object_id)
    {
        stored.password_credentials.push(credential);
    }
    json_response(StatusCode::OK, body)
}

fn remove_password(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let Some(key_id) = object
        .get("keyId")
        .and_then(Value::as_str)
        .filter(|key_id| is_guid(key_id))
    else {
        return bad_request("Invalid value specified for property 'keyId': a GUID is required.");
    };
    let Some(stored) = world
        .applications
        .iter_mut()
        .find(|candidate| candidate.object_id == application.object_id)
    else {
        return not_found(&application.object_id);
    };
    let before = stored.password_credentials.len();
    stored
        .password_credentials
        .retain(|credential| !credential.key_id.eq_ignore_ascii_case(key_id));
    if stored.password_credentials.len() == before {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("No password credential with keyId '{key_id}' exists on the application."),
        );
    }
    empty_response(StatusCode::NO_CONTENT)
}

fn create_federated_credential(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let text_field = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_string)
    };
    let (Some(name), Some(issuer), Some(subject)) = (
        text_field("name"),
        text_field("issuer"),
        text_field("subject"),
    ) else {
        return bad_request("Properties 'name', 'issuer' and 'subject' are required.");
    };
    let audiences: Vec<String> = match object.get("audiences") {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if audiences.len() != 1 {
        return bad_request("Property 'audiences' must hold exactly one value.");
    }
    let credentials = &application.federated_identity_credentials;
    if credentials
        .iter()
        .any(|credential| credential.name.eq_ignore_ascii_case(&name))
    {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            &format!("FederatedIdentityCredential with name {name} already exists."),
        );
    }
    if credentials
        .iter()
        .any(|credential| credential.issuer == issuer && credential.subject == subject)
    {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "FederatedIdentityCredential with the same issuer and subject already exists.",
        );
    }
    if credentials.len() >= MAX_FEDERATED_IDENTITY_CREDENTIALS {
        return bad_request(&format!(
            "Limit exceeded: an application may have at most {MAX_FEDERATED_IDENTITY_CREDENTIALS} federated identity credentials."
        ));
    }
    let credential = FederatedIdentityCredential {
        id: new_guid(),
        name,
        issuer,
        subject,
        audiences,
        description: text_field("description"),
    };
    let body = federated_credential_json(request.shared, application, &credential);
    if let Some(stored) = world
        .applications
        .iter_mut()
        .find(|candidate| candidate.object_id == application.object_id)
    {
        stored.federated_identity_credentials.push(credential);
    }
    json_response(StatusCode::CREATED, body)
}

fn list_service_principals(request: &GraphRequest, world: &World) -> Response<Body> {
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
            Some((field, value)) => match field.as_str() {
                "appId" => principal.app_id.eq_ignore_ascii_case(value),
                "displayName" => principal.display_name == *value,
                "id" => principal.object_id.eq_ignore_ascii_case(value),
                other => {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        "Request_UnsupportedQuery",
                        &format!(
                            "Unsupported or invalid query filter clause specified for property '{other}' of resource 'ServicePrincipal'."
                        ),
                    );
                }
            },
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
    json_response(
        StatusCode::OK,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#servicePrincipals", request.shared.urls.graph),
            "value": values,
        }),
    )
}

fn create_service_principal(request: &GraphRequest, world: &mut World) -> Response<Body> {
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
        if !request.caller.is_application_administrator {
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
        visible_at: request.now + request.shared.delays.graph_replication_lag,
        created_time: SystemTime::now(),
    };
    let body = service_principal_json(request.shared, world, &principal, true);
    world.service_principals.push(principal);
    json_response(StatusCode::CREATED, body)
}

fn delete_service_principal(
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
