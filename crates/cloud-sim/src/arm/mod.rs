//! Azure Resource Manager: routing, api-version tables, authentication, and the checks and
//! answer shapes every resource family shares (errors, RBAC, lists).
//!
//! One file per resource family: `metadata` (the unauthenticated cloud document), `subscriptions`, `networks`, `peerings`, `operations`,
//! `role_definitions`, `role_assignments`; `target` turns a path into a `Target`. The clock-driven
//! transitions of peerings and operations are world logic (`crate::world::network`).

mod metadata;
mod networks;
mod operations;
mod peerings;
mod permissions;
mod role_assignments;
mod role_definitions;
mod subscriptions;
mod target;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use serde_json::{Value, json};

use crate::Shared;
use crate::authz::{TokenProblem, is_permitted, resolve_bearer};
use crate::http::{
    header_text, json_response, path_segments, query_pairs, query_value, with_header, with_identity,
};
use crate::paging::{self, ListRequest};
use crate::world::{Audience, IssuedToken, ResourceGroup, VirtualNetwork, World, new_guid};

use target::{Provider, Target, keyword, parse_target};

const NETWORK_API_VERSIONS: [&str; 18] = [
    "2022-07-01",
    "2022-09-01",
    "2022-11-01",
    "2023-02-01",
    "2023-04-01",
    "2023-05-01",
    "2023-06-01",
    "2023-09-01",
    "2023-11-01",
    "2024-01-01",
    "2024-03-01",
    "2024-05-01",
    "2024-07-01",
    "2024-10-01",
    "2025-01-01",
    "2025-03-01",
    "2025-05-01",
    "2025-07-01",
];
const AUTHORIZATION_API_VERSIONS: [&str; 8] = [
    "2015-07-01",
    "2018-01-01-preview",
    "2018-09-01-preview",
    "2020-04-01-preview",
    "2020-10-01-preview",
    "2022-04-01",
    "2022-05-01-preview",
    "2022-05-01",
];
const RESOURCES_API_VERSIONS: [&str; 10] = [
    "2016-06-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2022-12-01",
    "2024-03-01",
    "2024-11-01",
];

/// The api-versions a resource provider accepts.
fn supported_api_versions(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Network => &NETWORK_API_VERSIONS,
        Provider::Authorization => &AUTHORIZATION_API_VERSIONS,
        Provider::Resources => &RESOURCES_API_VERSIONS,
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

pub(crate) fn arm_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(status, json!({"error": {"code": code, "message": message}}))
}

/// The body of every ARM list answer: one page `{"value": [...], "nextLink": "…"}`, the link
/// present while more pages remain. Every list goes through here.
fn list_body(request: &ArmRequest, values: Vec<Value>) -> Result<Value, Response<Body>> {
    let list = ListRequest {
        base_url: &request.shared.urls.resource_manager,
        path: &request.path,
        query: &request.query,
        page_size: request.shared.page_size,
    };
    let page = paging::page(&list, values)
        .map_err(|message| arm_error(StatusCode::BAD_REQUEST, "InvalidSkipToken", &message))?;
    let mut body = json!({ "value": page.values });
    if let (Some(next_link), Some(object)) = (page.next_link, body.as_object_mut()) {
        object.insert("nextLink".to_string(), json!(next_link));
    }
    Ok(body)
}

fn list_response(request: &ArmRequest, values: Vec<Value>) -> ArmResult {
    Ok(json_response(StatusCode::OK, list_body(request, values)?))
}

/// Adds the headers ARM puts on every response.
pub(crate) fn arm_headers(response: Response<Body>, is_write: bool) -> Response<Body> {
    let request_id = new_guid();
    let response = with_header(response, "x-ms-request-id", &request_id);
    let response = with_header(response, "x-ms-correlation-request-id", &request_id);
    if is_write {
        with_header(
            response,
            "x-ms-ratelimit-remaining-subscription-writes",
            "1199",
        )
    } else {
        with_header(
            response,
            "x-ms-ratelimit-remaining-subscription-reads",
            "11999",
        )
    }
}

/// One authenticated ARM request with a supported api-version, as every handler sees it.
struct ArmRequest<'a> {
    shared: &'a Shared,
    token: IssuedToken,
    method: Method,
    headers: &'a HeaderMap,
    /// The path without the query, for the `nextLink` of lists.
    path: String,
    query: Vec<(String, String)>,
    api_version: String,
    body: &'a [u8],
    now: Instant,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let is_write = method != Method::GET && method != Method::HEAD;
    if method == Method::GET && metadata::is_metadata_path(&path_segments(uri.path())) {
        return arm_headers(metadata::endpoints(&shared, uri.query()), false);
    }
    let mut world = shared.world();
    let (response, identity) = dispatch(&shared, &mut world, method, &uri, &headers, &body);
    drop(world);
    arm_headers(with_identity(response, identity), is_write)
}

fn dispatch(
    shared: &Shared,
    world: &mut World,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response<Body>, Option<String>) {
    let token = match resolve_bearer(world, headers, Audience::ResourceManager) {
        Ok(token) => token,
        Err(problem) => return (authentication_failed(shared, world, headers, problem), None),
    };
    let identity = Some(format!("{}/{}", token.tenant_id, token.app_id));
    let segments = path_segments(uri.path());
    let Some(target) = parse_target(&segments) else {
        return (
            arm_error(
                StatusCode::NOT_FOUND,
                "InvalidResourceType",
                &format!(
                    "The resource type could not be found for the path '{}'.",
                    uri.path()
                ),
            ),
            identity,
        );
    };
    let query = query_pairs(uri.query());
    let Some(api_version) = query_value(&query, "api-version").map(str::to_string) else {
        return (
            arm_error(
                StatusCode::BAD_REQUEST,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ),
            identity,
        );
    };
    let supported = supported_api_versions(target.provider());
    if !supported.contains(&api_version.as_str()) {
        return (
            arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersionParameter",
                &format!(
                    "The api-version '{api_version}' is invalid. The supported versions are '{}'.",
                    supported.join(",")
                ),
            ),
            identity,
        );
    }
    let request = ArmRequest {
        shared,
        token,
        method,
        headers,
        path: uri.path().to_string(),
        query,
        api_version,
        body,
        now: Instant::now(),
    };
    let response = match route(&request, world, &target) {
        Ok(response) | Err(response) => response,
    };
    (response, identity)
}

fn authentication_failed(
    shared: &Shared,
    world: &World,
    headers: &HeaderMap,
    problem: TokenProblem,
) -> Response<Body> {
    let (code, message) = match problem {
        TokenProblem::Missing => (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".to_string(),
        ),
        TokenProblem::Unknown => (
            "InvalidAuthenticationToken",
            "The access token is invalid.".to_string(),
        ),
        TokenProblem::Expired => (
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.".to_string(),
        ),
        TokenProblem::WrongAudience => (
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com','{}'.",
                if header_text(headers, "authorization").is_some() && !world.tokens.is_empty() {
                    "https://graph.microsoft.com"
                } else {
                    ""
                },
                shared.urls.resource_manager
            ),
        ),
    };
    with_header(
        arm_error(StatusCode::UNAUTHORIZED, code, &message),
        "www-authenticate",
        &format!(
            "Bearer authorization_uri=\"{}\", error=\"invalid_token\", error_description=\"{message}\"",
            shared.urls.authority_host
        ),
    )
}

type ArmResult = Result<Response<Body>, Response<Body>>;

fn route(request: &ArmRequest, world: &mut World, target: &Target) -> ArmResult {
    let method = request.method.clone();
    match (method, target) {
        (Method::GET, Target::SubscriptionList) => {
            subscriptions::list_subscriptions(request, world)
        }
        (Method::GET, Target::TenantList) => subscriptions::list_tenants(request, world),
        (Method::GET, Target::Subscription { subscription }) => {
            subscriptions::get_subscription(request, world, subscription)
        }
        (
            Method::GET,
            Target::ResourceGroup {
                subscription,
                resource_group,
            },
        ) => subscriptions::get_resource_group(request, world, subscription, resource_group),
        (
            Method::GET,
            Target::VirtualNetworkList {
                subscription,
                resource_group,
            },
        ) => {
            networks::list_virtual_networks(request, world, subscription, resource_group.as_deref())
        }
        (
            Method::GET,
            Target::VirtualNetwork {
                subscription,
                resource_group,
                network,
            },
        ) => networks::get_virtual_network(request, world, subscription, resource_group, network),
        (
            Method::GET,
            Target::PeeringList {
                subscription,
                resource_group,
                network,
            },
        ) => peerings::list_peerings(request, world, subscription, resource_group, network),
        (
            Method::GET,
            Target::Peering {
                subscription,
                resource_group,
                network,
                peering,
            },
        ) => peerings::get_peering(
            request,
            world,
            subscription,
            resource_group,
            network,
            peering,
        ),
        (
            Method::PUT,
            Target::Peering {
                subscription,
                resource_group,
                network,
                peering,
            },
        ) => peerings::put_peering(
            request,
            world,
            subscription,
            resource_group,
            network,
            peering,
        ),
        (
            Method::DELETE,
            Target::Peering {
                subscription,
                resource_group,
                network,
                peering,
            },
        ) => peerings::delete_peering(
            request,
            world,
            subscription,
            resource_group,
            network,
            peering,
        ),
        (
            Method::GET,
            Target::Operation {
                subscription,
                operation,
                results,
            },
        ) => {
            check_subscription(request, world, subscription)?;
            operations::get_operation(request, world, operation, *results)
        }
        (Method::GET, Target::RoleDefinitions { scope, name: None }) => {
            role_definitions::list_role_definitions(request, world, scope)
        }
        (
            Method::GET,
            Target::RoleDefinitions {
                scope,
                name: Some(name),
            },
        ) => role_definitions::get_role_definition(request, world, scope, name),
        (
            Method::PUT,
            Target::RoleDefinitions {
                scope,
                name: Some(name),
            },
        ) => role_definitions::put_role_definition(request, world, scope, name),
        (
            Method::DELETE,
            Target::RoleDefinitions {
                scope,
                name: Some(name),
            },
        ) => role_definitions::delete_role_definition(request, world, scope, name),
        (Method::GET, Target::RoleAssignments { scope, name: None }) => {
            role_assignments::list_role_assignments(request, world, scope)
        }
        (
            Method::GET,
            Target::RoleAssignments {
                scope,
                name: Some(name),
            },
        ) => role_assignments::get_role_assignment(request, world, scope, name),
        (
            Method::PUT,
            Target::RoleAssignments {
                scope,
                name: Some(name),
            },
        ) => role_assignments::put_role_assignment(request, world, scope, name),
        (
            Method::DELETE,
            Target::RoleAssignments {
                scope,
                name: Some(name),
            },
        ) => role_assignments::delete_role_assignment(request, world, scope, name),
        (Method::GET, Target::Permissions { scope }) => {
            permissions::list_permissions(request, world, scope)
        }
        (method, _) => Err(arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("The requested resource does not support http method '{method}'."),
        )),
    }
}

/// The subscription must exist and belong to the token's tenant.
fn check_subscription(
    request: &ArmRequest,
    world: &World,
    subscription_id: &str,
) -> Result<(), Response<Body>> {
    let Some(subscription) = world.subscription(subscription_id) else {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{subscription_id}' could not be found."),
        ));
    };
    if subscription.tenant_id != request.token.tenant_id {
        return Err(wrong_tenant(request, &subscription.tenant_id));
    }
    Ok(())
}

fn wrong_tenant(request: &ArmRequest, expected_tenant: &str) -> Response<Body> {
    arm_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationTokenTenant",
        &format!(
            "The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{expected_tenant}/' associated with this subscription. Please use the authority (URL) '{}/{expected_tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
            request.token.tenant_id, request.shared.urls.authority_host
        ),
    )
}

fn authorization_failed(token: &IssuedToken, action: &str, scope: &str) -> Response<Body> {
    arm_error(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        &format!(
            "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            token.app_id, token.service_principal_id
        ),
    )
}

fn require(
    request: &ArmRequest,
    world: &World,
    action: &str,
    scope: &str,
) -> Result<(), Response<Body>> {
    let token = &request.token;
    if is_permitted(
        world,
        &token.tenant_id,
        &token.service_principal_id,
        token.issued_at,
        action,
        scope,
    ) {
        Ok(())
    } else {
        Err(authorization_failed(token, action, scope))
    }
}

fn find_resource_group(
    world: &World,
    subscription_id: &str,
    resource_group: &str,
) -> Result<(String, ResourceGroup), Response<Body>> {
    let subscription = world.subscription(subscription_id);
    subscription
        .and_then(|subscription| {
            subscription
                .resource_groups
                .iter()
                .find(|group| group.name.eq_ignore_ascii_case(resource_group))
                .map(|group| (subscription.id.clone(), group.clone()))
        })
        .ok_or_else(|| {
            arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                &format!("Resource group '{resource_group}' could not be found."),
            )
        })
}

fn find_virtual_network(
    world: &World,
    subscription_id: &str,
    resource_group: &str,
    name: &str,
) -> Result<VirtualNetwork, Response<Body>> {
    find_resource_group(world, subscription_id, resource_group)?;
    world
        .virtual_network(subscription_id, resource_group, name)
        .cloned()
        .ok_or_else(|| {
            arm_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!(
                    "The Resource 'Microsoft.Network/virtualNetworks/{name}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
                ),
            )
        })
}

fn invalid_content(message: &str) -> Response<Body> {
    arm_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestContent",
        &format!("The request content was invalid and could not be deserialized: {message}"),
    )
}

// The Authorization provider's shared rules, used by role definitions and role assignments.

/// A scope the Authorization provider accepts: the root, a subscription, a resource group or a
/// virtual network (and its children). Returns the owning subscription, if any.
fn validate_scope(
    request: &ArmRequest,
    world: &World,
    scope: &str,
) -> Result<Option<String>, Response<Body>> {
    if scope == "/" {
        return Ok(None);
    }
    let segments: Vec<String> = scope
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_string)
        .collect();
    let texts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let invalid_scope = || {
        arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidScope",
            &format!(
                "The scope '{scope}' is not valid. Scopes are '/', '/subscriptions/{{id}}', '/subscriptions/{{id}}/resourceGroups/{{name}}' or a resource id."
            ),
        )
    };
    let (subscription, rest) = match texts.as_slice() {
        [subscriptions, subscription, rest @ ..] if keyword(subscriptions, "subscriptions") => {
            (subscription.to_string(), rest)
        }
        _ => return Err(invalid_scope()),
    };
    check_subscription(request, world, &subscription)?;
    match rest {
        [] => {}
        [groups, group] if keyword(groups, "resourceGroups") => {
            find_resource_group(world, &subscription, group)?;
        }
        [groups, group, providers, network, networks, name, ..]
            if keyword(groups, "resourceGroups")
                && keyword(providers, "providers")
                && keyword(network, "Microsoft.Network")
                && keyword(networks, "virtualNetworks") =>
        {
            find_virtual_network(world, &subscription, group, name)?;
        }
        _ => return Err(invalid_scope()),
    }
    Ok(Some(subscription))
}

/// `a eq 'b'` clauses and `atScope()` / `assignedTo('x')` functions joined with `and`.
fn parse_authorization_filter(filter: &str) -> Result<Vec<(String, String)>, Response<Body>> {
    let invalid = || {
        arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidFilterParameter",
            &format!("The filter '{filter}' is not supported."),
        )
    };
    let mut clauses = Vec::new();
    for clause in filter.split(" and ") {
        let clause = clause.trim();
        if clause.eq_ignore_ascii_case("atScope()") {
            clauses.push(("atScope".to_string(), String::new()));
        } else if let Some(inner) = clause
            .strip_prefix("assignedTo(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            let value = inner
                .trim()
                .strip_prefix('\'')
                .and_then(|value| value.strip_suffix('\''))
                .ok_or_else(invalid)?;
            clauses.push(("assignedTo".to_string(), value.to_string()));
        } else {
            let mut parts = clause.splitn(3, ' ');
            let (Some(field), Some(operator), Some(value)) =
                (parts.next(), parts.next(), parts.next())
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
            clauses.push((field.to_string(), value.replace("''", "'")));
        }
    }
    Ok(clauses)
}
