//! Azure Resource Manager: subscriptions, resource groups, virtual networks, peerings as
//! long-running operations, role definitions and role assignments, all behind real RBAC checks.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::authz::{
    TokenProblem, is_permitted, resolve_bearer, resolve_token_text, scope_contains,
};
use crate::http::{
    empty_response, header_text, is_guid, json_response, parse_json, path_segments, query_pairs,
    query_value, with_header, with_identity,
};
use crate::world::{
    AsyncOperation, Audience, IssuedToken, OperationKind, PEER_ACTION, Permission, RoleAssignment,
    RoleDefinition, VirtualNetwork, VirtualNetworkPeering, World, new_guid, rfc3339,
    virtual_network_id,
};

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

const PEERING_WRITE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write";
const PEERING_READ: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read";
const PEERING_DELETE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete";
const NETWORK_READ: &str = "Microsoft.Network/virtualNetworks/read";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

pub(crate) fn arm_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(status, json!({"error": {"code": code, "message": message}}))
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

/// Which resource provider a request goes to, for the api-version check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Provider {
    Resources,
    Network,
    Authorization,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    SubscriptionList,
    Subscription {
        subscription: String,
    },
    ResourceGroup {
        subscription: String,
        resource_group: String,
    },
    VirtualNetworkList {
        subscription: String,
        resource_group: String,
    },
    VirtualNetwork {
        subscription: String,
        resource_group: String,
        network: String,
    },
    PeeringList {
        subscription: String,
        resource_group: String,
        network: String,
    },
    Peering {
        subscription: String,
        resource_group: String,
        network: String,
        peering: String,
    },
    Operation {
        subscription: String,
        operation: String,
        results: bool,
    },
    RoleDefinitions {
        scope: String,
        name: Option<String>,
    },
    RoleAssignments {
        scope: String,
        name: Option<String>,
    },
}

impl Target {
    fn provider(&self) -> Provider {
        match self {
            Target::SubscriptionList
            | Target::Subscription { .. }
            | Target::ResourceGroup { .. } => Provider::Resources,
            Target::RoleDefinitions { .. } | Target::RoleAssignments { .. } => {
                Provider::Authorization
            }
            _ => Provider::Network,
        }
    }
}

fn keyword(segment: &str, expected: &str) -> bool {
    segment.eq_ignore_ascii_case(expected)
}

fn parse_target(segments: &[String]) -> Option<Target> {
    let authorization_index = segments.windows(2).position(|pair| {
        keyword(&pair[0], "providers") && keyword(&pair[1], "Microsoft.Authorization")
    });
    if let Some(index) = authorization_index {
        let scope = if index == 0 {
            "/".to_string()
        } else {
            format!("/{}", segments[..index].join("/"))
        };
        let rest = &segments[index + 2..];
        let (kind, name) = match rest {
            [kind] => (kind, None),
            [kind, name] => (kind, Some(name.clone())),
            _ => return None,
        };
        return if keyword(kind, "roleDefinitions") {
            Some(Target::RoleDefinitions { scope, name })
        } else if keyword(kind, "roleAssignments") {
            Some(Target::RoleAssignments { scope, name })
        } else {
            None
        };
    }
    let texts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match texts.as_slice() {
        [subscriptions] if keyword(subscriptions, "subscriptions") => {
            Some(Target::SubscriptionList)
        }
        [subscriptions, subscription] if keyword(subscriptions, "subscriptions") => {
            Some(Target::Subscription {
                subscription: subscription.to_string(),
            })
        }
        [
            subscriptions,
            subscription,
            providers,
            network,
            locations,
            _location,
            operations,
            operation,
        ] if keyword(subscriptions, "subscriptions")
            && keyword(providers, "providers")
            && keyword(network, "Microsoft.Network")
            && keyword(locations, "locations")
            && (keyword(operations, "operations") || keyword(operations, "operationResults")) =>
        {
            Some(Target::Operation {
                subscription: subscription.to_string(),
                operation: operation.to_string(),
                results: keyword(operations, "operationResults"),
            })
        }
        [
            subscriptions,
            subscription,
            resource_groups,
            resource_group,
            rest @ ..,
        ] if keyword(subscriptions, "subscriptions")
            && keyword(resource_groups, "resourceGroups") =>
        {
            let subscription = subscription.to_string();
            let resource_group = resource_group.to_string();
            match rest {
                [] => Some(Target::ResourceGroup {
                    subscription,
                    resource_group,
                }),
                [providers, network, networks, rest @ ..]
                    if keyword(providers, "providers")
                        && keyword(network, "Microsoft.Network")
                        && keyword(networks, "virtualNetworks") =>
                {
                    match rest {
                        [] => Some(Target::VirtualNetworkList {
                            subscription,
                            resource_group,
                        }),
                        [name] => Some(Target::VirtualNetwork {
                            subscription,
                            resource_group,
                            network: name.to_string(),
                        }),
                        [name, peerings] if keyword(peerings, "virtualNetworkPeerings") => {
                            Some(Target::PeeringList {
                                subscription,
                                resource_group,
                                network: name.to_string(),
                            })
                        }
                        [name, peerings, peering]
                            if keyword(peerings, "virtualNetworkPeerings") =>
                        {
                            Some(Target::Peering {
                                subscription,
                                resource_group,
                                network: name.to_string(),
                                peering: peering.to_string(),
                            })
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

struct ArmRequest<'a> {
    shared: &'a Shared,
    token: IssuedToken,
    method: Method,
    headers: &'a HeaderMap,
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
    let supported: &[&str] = match target.provider() {
        Provider::Network => &NETWORK_API_VERSIONS,
        Provider::Authorization => &AUTHORIZATION_API_VERSIONS,
        Provider::Resources => &RESOURCES_API_VERSIONS,
    };
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
        (Method::GET, Target::SubscriptionList) => list_subscriptions(request, world),
        (Method::GET, Target::Subscription { subscription }) => {
            get_subscription(request, world, subscription)
        }
        (
            Method::GET,
            Target::ResourceGroup {
                subscription,
                resource_group,
            },
        ) => {
            check_subscription(request, world, subscription)?;
            let scope = format!("/subscriptions/{subscription}/resourceGroups/{resource_group}");
            require(
                request,
                world,
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                &scope,
            )?;
            let (subscription_id, group) =
                find_resource_group(world, subscription, resource_group)?;
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "id": format!("/subscriptions/{subscription_id}/resourceGroups/{}", group.name),
                    "name": group.name,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": group.location,
                    "properties": {"provisioningState": "Succeeded"},
                }),
            ))
        }
        (
            Method::GET,
            Target::VirtualNetworkList {
                subscription,
                resource_group,
            },
        ) => {
            check_subscription(request, world, subscription)?;
            let scope = format!("/subscriptions/{subscription}/resourceGroups/{resource_group}");
            require(request, world, NETWORK_READ, &scope)?;
            find_resource_group(world, subscription, resource_group)?;
            let values: Vec<Value> = world
                .virtual_networks
                .iter()
                .filter(|network| {
                    network.subscription_id.eq_ignore_ascii_case(subscription)
                        && network.resource_group.eq_ignore_ascii_case(resource_group)
                })
                .map(|network| virtual_network_json(world, network))
                .collect();
            Ok(json_response(StatusCode::OK, json!({"value": values})))
        }
        (
            Method::GET,
            Target::VirtualNetwork {
                subscription,
                resource_group,
                network,
            },
        ) => {
            check_subscription(request, world, subscription)?;
            let scope = network_scope(subscription, resource_group, network);
            require(request, world, NETWORK_READ, &scope)?;
            let network = find_virtual_network(world, subscription, resource_group, network)?;
            Ok(json_response(
                StatusCode::OK,
                virtual_network_json(world, &network),
            ))
        }
        (
            Method::GET,
            Target::PeeringList {
                subscription,
                resource_group,
                network,
            },
        ) => {
            check_subscription(request, world, subscription)?;
            let scope = network_scope(subscription, resource_group, network);
            require(
                request,
                world,
                PEERING_READ,
                &format!("{scope}/virtualNetworkPeerings"),
            )?;
            let network = find_virtual_network(world, subscription, resource_group, network)?;
            let values: Vec<Value> = network
                .peerings
                .iter()
                .map(|peering| peering_json(world, &network, peering))
                .collect();
            Ok(json_response(StatusCode::OK, json!({"value": values})))
        }
        (
            Method::GET,
            Target::Peering {
                subscription,
                resource_group,
                network,
                peering,
            },
        ) => {
            check_subscription(request, world, subscription)?;
            let scope = format!(
                "{}/virtualNetworkPeerings/{peering}",
                network_scope(subscription, resource_group, network)
            );
            require(request, world, PEERING_READ, &scope)?;
            let network = find_virtual_network(world, subscription, resource_group, network)?;
            let Some(found) = network
                .peerings
                .iter()
                .find(|candidate| candidate.name.eq_ignore_ascii_case(peering))
            else {
                return Err(peering_not_found(&network, peering));
            };
            Ok(json_response(
                StatusCode::OK,
                peering_json(world, &network, found),
            ))
        }
        (
            Method::PUT,
            Target::Peering {
                subscription,
                resource_group,
                network,
                peering,
            },
        ) => put_peering(
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
        ) => delete_peering(
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
            get_operation(request, world, operation, *results)
        }
        (Method::GET, Target::RoleDefinitions { scope, name: None }) => {
            list_role_definitions(request, world, scope)
        }
        (
            Method::GET,
            Target::RoleDefinitions {
                scope,
                name: Some(name),
            },
        ) => get_role_definition(request, world, scope, name),
        (
            Method::PUT,
            Target::RoleDefinitions {
                scope,
                name: Some(name),
            },
        ) => put_role_definition(request, world, scope, name),
        (
            Method::DELETE,
            Target::RoleDefinitions {
                scope,
                name: Some(name),
            },
        ) => delete_role_definition(request, world, scope, name),
        (Method::GET, Target::RoleAssignments { scope, name: None }) => {
            list_role_assignments(request, world, scope)
        }
        (
            Method::GET,
            Target::RoleAssignments {
                scope,
                name: Some(name),
            },
        ) => get_role_assignment(request, world, scope, name),
        (
            Method::PUT,
            Target::RoleAssignments {
                scope,
                name: Some(name),
            },
        ) => put_role_assignment(request, world, scope, name),
        (
            Method::DELETE,
            Target::RoleAssignments {
                scope,
                name: Some(name),
            },
        ) => delete_role_assignment(request, world, scope, name),
        (method, _) => Err(arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("The requested resource does not support http method '{method}'."),
        )),
    }
}

fn network_scope(subscription: &str, resource_group: &str, network: &str) -> String {
    virtual_network_id(subscription, resource_group, network)
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
) -> Result<(String, crate::world::ResourceGroup), Response<Body>> {
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

fn peering_not_found(network: &VirtualNetwork, peering: &str) -> Response<Body> {
    arm_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!(
            "Resource {}/virtualNetworkPeerings/{peering} not found.",
            network.id()
        ),
    )
}

fn list_subscriptions(request: &ArmRequest, world: &World) -> ArmResult {
    let values: Vec<Value> = world
        .subscriptions
        .iter()
        .filter(|subscription| subscription.tenant_id == request.token.tenant_id)
        .filter(|subscription| {
            has_any_access(
                request,
                world,
                &format!("/subscriptions/{}", subscription.id),
            )
        })
        .map(subscription_json)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"value": values, "count": {"type": "Total", "value": values.len()}}),
    ))
}

/// Any effective role assignment at, above or below `scope`.
fn has_any_access(request: &ArmRequest, world: &World, scope: &str) -> bool {
    let token = &request.token;
    world.role_assignments.iter().any(|assignment| {
        assignment.tenant_id == token.tenant_id
            && assignment
                .principal_id
                .eq_ignore_ascii_case(&token.service_principal_id)
            && assignment.effective_at <= token.issued_at
            && (scope_contains(&assignment.scope, scope)
                || scope_contains(scope, &assignment.scope))
    })
}

fn subscription_json(subscription: &crate::world::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", subscription.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription.id,
        "tenantId": subscription.tenant_id,
        "displayName": subscription.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

fn get_subscription(request: &ArmRequest, world: &World, subscription_id: &str) -> ArmResult {
    check_subscription(request, world, subscription_id)?;
    let scope = format!("/subscriptions/{subscription_id}");
    if !has_any_access(request, world, &scope) {
        return Err(authorization_failed(
            &request.token,
            "Microsoft.Resources/subscriptions/read",
            &scope,
        ));
    }
    let subscription = world.subscription(subscription_id).ok_or_else(|| {
        arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{subscription_id}' could not be found."),
        )
    })?;
    Ok(json_response(
        StatusCode::OK,
        subscription_json(subscription),
    ))
}

fn virtual_network_json(world: &World, network: &VirtualNetwork) -> Value {
    json!({
        "name": network.name,
        "id": network.id(),
        "etag": format!("W/\"{}\"", network.resource_guid),
        "type": "Microsoft.Network/virtualNetworks",
        "location": network.location,
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": network.resource_guid,
            "addressSpace": {"addressPrefixes": network.address_prefixes},
            "subnets": [],
            "virtualNetworkPeerings": network.peerings.iter().map(|peering| peering_json(world, network, peering)).collect::<Vec<_>>(),
            "enableDdosProtection": false,
        },
    })
}

fn peering_json(world: &World, network: &VirtualNetwork, peering: &VirtualNetworkPeering) -> Value {
    let remote_prefixes = world
        .virtual_network_by_id(&peering.remote_virtual_network_id)
        .map(|remote| remote.address_prefixes.clone())
        .unwrap_or_default();
    let sync_level = if peering.peering_state == "Connected" {
        "FullyInSync"
    } else {
        "RemoteNotInSync"
    };
    json!({
        "name": peering.name,
        "id": format!("{}/virtualNetworkPeerings/{}", network.id(), peering.name),
        "etag": format!("W/\"{}\"", peering.etag),
        "type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "properties": {
            "provisioningState": peering.provisioning_state,
            "resourceGuid": peering.etag,
            "peeringState": peering.peering_state,
            "peeringSyncLevel": sync_level,
            "remoteVirtualNetwork": {"id": peering.remote_virtual_network_id},
            "allowVirtualNetworkAccess": peering.allow_virtual_network_access,
            "allowForwardedTraffic": peering.allow_forwarded_traffic,
            "allowGatewayTransit": peering.allow_gateway_transit,
            "useRemoteGateways": peering.use_remote_gateways,
            "doNotVerifyRemoteGateways": false,
            "remoteAddressSpace": {"addressPrefixes": remote_prefixes},
            "remoteVirtualNetworkAddressSpace": {"addressPrefixes": remote_prefixes},
            "routeServiceVips": {},
        },
    })
}

/// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{v}`.
pub(crate) fn parse_virtual_network_id(id: &str) -> Option<(String, String, String)> {
    if !id.starts_with('/') {
        return None;
    }
    let segments: Vec<&str> = id.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        [
            subscriptions,
            subscription,
            groups,
            group,
            providers,
            network,
            networks,
            name,
        ] if keyword(subscriptions, "subscriptions")
            && keyword(groups, "resourceGroups")
            && keyword(providers, "providers")
            && keyword(network, "Microsoft.Network")
            && keyword(networks, "virtualNetworks")
            && !subscription.is_empty()
            && !group.is_empty()
            && !name.is_empty() =>
        {
            Some((
                subscription.to_string(),
                group.to_string(),
                name.to_string(),
            ))
        }
        _ => None,
    }
}

fn valid_peering_name(name: &str) -> bool {
    let characters: Vec<char> = name.chars().collect();
    let word = |character: &char| character.is_ascii_alphanumeric() || *character == '_';
    !characters.is_empty()
        && characters.len() <= 80
        && characters.first().is_some_and(word)
        && characters.last().is_some_and(word)
        && characters
            .iter()
            .all(|character| word(character) || *character == '.' || *character == '-')
}

fn invalid_content(message: &str) -> Response<Body> {
    arm_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestContent",
        &format!("The request content was invalid and could not be deserialized: {message}"),
    )
}

fn optional_bool(properties: &Map<String, Value>, name: &str) -> Result<bool, Response<Body>> {
    match properties.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(invalid_content(&format!(
            "'properties.{name}' must be a boolean."
        ))),
    }
}

fn operation_urls(
    request: &ArmRequest,
    subscription: &str,
    location: &str,
    operation: &str,
) -> (String, String) {
    let base = format!(
        "{}/subscriptions/{subscription}/providers/Microsoft.Network/locations/{location}",
        request.shared.urls.resource_manager
    );
    (
        format!(
            "{base}/operations/{operation}?api-version={}",
            request.api_version
        ),
        format!(
            "{base}/operationResults/{operation}?api-version={}",
            request.api_version
        ),
    )
}

fn retry_after_seconds(request: &ArmRequest) -> String {
    request.shared.delays.lro_duration.as_secs().to_string()
}

fn operation_in_progress(world: &World, network_id: &str, peering: &str) -> Option<AsyncOperation> {
    world
        .operations
        .iter()
        .find(|operation| {
            operation.status == "InProgress"
                && operation
                    .virtual_network_id
                    .eq_ignore_ascii_case(network_id)
                && operation.peering_name.eq_ignore_ascii_case(peering)
        })
        .cloned()
}

/// Auxiliary tokens from `x-ms-authorization-auxiliary`.
fn auxiliary_tokens(
    request: &ArmRequest,
    world: &World,
) -> Result<Vec<IssuedToken>, Response<Body>> {
    let Some(header) = header_text(request.headers, "x-ms-authorization-auxiliary") else {
        return Ok(Vec::new());
    };
    let entries: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.len() > 3 {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidAuxiliaryTokens",
            "The 'x-ms-authorization-auxiliary' header carries more than 3 tokens.",
        ));
    }
    let mut tokens = Vec::new();
    for entry in entries {
        let token_text = entry
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, token)| token.trim());
        let resolved = token_text
            .ok_or(TokenProblem::Unknown)
            .and_then(|token_text| {
                resolve_token_text(world, token_text, Audience::ResourceManager)
            });
        match resolved {
            Ok(token) => tokens.push(token),
            Err(problem) => {
                let message = match problem {
                    TokenProblem::Expired => {
                        "The access token in the 'x-ms-authorization-auxiliary' header has expired."
                    }
                    TokenProblem::WrongAudience => {
                        "The access token in the 'x-ms-authorization-auxiliary' header has been obtained for the wrong audience."
                    }
                    _ => {
                        "The access token in the 'x-ms-authorization-auxiliary' header is invalid. Each entry must be 'Bearer <token>'."
                    }
                };
                return Err(arm_error(
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken",
                    message,
                ));
            }
        }
    }
    Ok(tokens)
}

fn put_peering(
    request: &ArmRequest,
    world: &mut World,
    subscription: &str,
    resource_group: &str,
    network_name: &str,
    peering_name: &str,
) -> ArmResult {
    check_subscription(request, world, subscription)?;
    let peering_scope = format!(
        "{}/virtualNetworkPeerings/{peering_name}",
        network_scope(subscription, resource_group, network_name)
    );
    require(request, world, PEERING_WRITE, &peering_scope)?;
    let network = find_virtual_network(world, subscription, resource_group, network_name)?;
    if !valid_peering_name(peering_name) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidResourceName",
            &format!(
                "Resource name {peering_name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'."
            ),
        ));
    }
    let Some(Value::Object(body)) = parse_json(request.body) else {
        return Err(invalid_content("the body is not a JSON object."));
    };
    let Some(Value::Object(properties)) = body.get("properties") else {
        return Err(invalid_content("'properties' is required."));
    };
    let remote_id = match properties.get("remoteVirtualNetwork") {
        Some(Value::Object(remote)) => match remote.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => {
                return Err(invalid_content(
                    "'properties.remoteVirtualNetwork.id' is required.",
                ));
            }
        },
        _ => {
            return Err(invalid_content(
                "'properties.remoteVirtualNetwork.id' is required.",
            ));
        }
    };
    let allow_virtual_network_access = match properties.get("allowVirtualNetworkAccess") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(value)) => *value,
        Some(_) => {
            return Err(invalid_content(
                "'properties.allowVirtualNetworkAccess' must be a boolean.",
            ));
        }
    };
    let allow_forwarded_traffic = optional_bool(properties, "allowForwardedTraffic")?;
    let allow_gateway_transit = optional_bool(properties, "allowGatewayTransit")?;
    let use_remote_gateways = optional_bool(properties, "useRemoteGateways")?;
    let Some((remote_subscription, remote_group, remote_name)) =
        parse_virtual_network_id(&remote_id)
    else {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "LinkedInvalidPropertyId",
            &format!(
                "Property id '{remote_id}' at path 'properties.remoteVirtualNetwork.id' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or '/providers/{{resourceProviderNamespace}}/'."
            ),
        ));
    };

    // Linked authorization on the remote network.
    let remote_scope = virtual_network_id(&remote_subscription, &remote_group, &remote_name);
    let remote_tenant = world
        .subscription(&remote_subscription)
        .map(|found| found.tenant_id.clone());
    let token = &request.token;
    let remote_token = if remote_tenant.as_deref() == Some(token.tenant_id.as_str()) {
        Some(token.clone())
    } else {
        let auxiliary = auxiliary_tokens(request, world)?;
        auxiliary.into_iter().find(|candidate| {
            Some(candidate.tenant_id.as_str()) == remote_tenant.as_deref()
                && candidate.app_id.eq_ignore_ascii_case(&token.app_id)
        })
    };
    let Some(remote_token) = remote_token else {
        return Err(arm_error(
            StatusCode::FORBIDDEN,
            "LinkedAuthorizationFailed",
            &format!(
                "The client has permission to perform action '{PEERING_WRITE}' on scope '{peering_scope}', however the current tenant '{}' is not authorized to access linked subscription '{remote_subscription}'.",
                token.tenant_id
            ),
        ));
    };
    if !is_permitted(
        world,
        &remote_token.tenant_id,
        &remote_token.service_principal_id,
        remote_token.issued_at,
        PEER_ACTION,
        &remote_scope,
    ) {
        return Err(arm_error(
            StatusCode::FORBIDDEN,
            "LinkedAuthorizationFailed",
            &format!(
                "The client '{}' with object id '{}' has permission to perform action '{PEERING_WRITE}' on scope '{peering_scope}'; however, it does not have permission to perform action '{PEER_ACTION}' on the linked scope(s) '{remote_scope}' or the linked scope(s) are invalid.",
                token.app_id, remote_token.service_principal_id
            ),
        ));
    }
    let Some(remote_network) = world
        .virtual_network(&remote_subscription, &remote_group, &remote_name)
        .cloned()
    else {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidResourceReference",
            &format!(
                "Resource {remote_id} referenced by resource {peering_scope} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
            ),
        ));
    };
    if remote_network.id().eq_ignore_ascii_case(&network.id()) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "CannotPeerVnetToItself",
            &format!(
                "Virtual network {} cannot be peered with itself.",
                network.id()
            ),
        ));
    }
    if use_remote_gateways {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "RemoteVnetHasNoGateways",
            &format!(
                "Peering {peering_scope} cannot have UseRemoteGateways flag set to true because remote virtual network {} referenced by the peering does not have any gateways.",
                remote_network.id()
            ),
        ));
    }
    for local_prefix in &network.address_prefixes {
        for remote_prefix in &remote_network.address_prefixes {
            if crate::http::cidrs_overlap(local_prefix, remote_prefix) {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "VnetAddressSpacesOverlap",
                    &format!(
                        "Cannot create or update peering {peering_scope}. Virtual networks {} and {} cannot be peered because their address spaces overlap. Overlapping address prefixes: {remote_prefix}",
                        network.id(),
                        remote_network.id()
                    ),
                ));
            }
        }
    }
    let existing = network
        .peerings
        .iter()
        .find(|candidate| candidate.name.eq_ignore_ascii_case(peering_name))
        .cloned();
    if let Some(other) = network.peerings.iter().find(|candidate| {
        !candidate.name.eq_ignore_ascii_case(peering_name)
            && candidate
                .remote_virtual_network_id
                .eq_ignore_ascii_case(&remote_network.id())
    }) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "VnetPeeringAlreadyExists",
            &format!(
                "Cannot create or update peering {peering_scope} because a peering {} referencing the same remote virtual network {} already exists.",
                other.name,
                remote_network.id()
            ),
        ));
    }
    if let Some(existing) = &existing
        && !existing
            .remote_virtual_network_id
            .eq_ignore_ascii_case(&remote_network.id())
    {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "CannotChangeRemoteVirtualNetwork",
            &format!(
                "Cannot change the remote virtual network of peering {peering_scope}; delete the peering and create it again."
            ),
        ));
    }
    if let Some(reverse) = remote_network.peerings.iter().find(|candidate| {
        candidate
            .remote_virtual_network_id
            .eq_ignore_ascii_case(&network.id())
            && candidate.peering_state == "Disconnected"
    }) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "RemotePeeringIsDisconnected",
            &format!(
                "Cannot create or update peering {peering_scope} because remote peering {}/virtualNetworkPeerings/{} referencing parent virtual network {} is in Disconnected state. Update or re-create the remote peering to get it back to Initiated state. Peering gets Disconnected when remote vnet or remote peering is deleted and re-created.",
                remote_network.id(),
                reverse.name,
                network.id()
            ),
        ));
    }
    if let Some(operation) = operation_in_progress(world, &network.id(), peering_name) {
        let (status_url, _) = operation_urls(
            request,
            &network.subscription_id,
            &network.location,
            &operation.id,
        );
        return Err(arm_error(
            StatusCode::CONFLICT,
            "AnotherOperationInProgress",
            &format!(
                "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: {status_url}."
            ),
        ));
    }

    let canonical_name = existing
        .as_ref()
        .map(|peering| peering.name.clone())
        .unwrap_or_else(|| peering_name.to_string());
    let peering = VirtualNetworkPeering {
        name: canonical_name.clone(),
        remote_virtual_network_id: remote_network.id(),
        allow_virtual_network_access,
        allow_forwarded_traffic,
        allow_gateway_transit,
        use_remote_gateways,
        provisioning_state: "Updating".to_string(),
        peering_state: existing
            .as_ref()
            .map(|peering| {
                if peering.peering_state == "Disconnected" {
                    "Initiated".to_string()
                } else {
                    peering.peering_state.clone()
                }
            })
            .unwrap_or_else(|| "Initiated".to_string()),
        etag: existing
            .as_ref()
            .map(|peering| peering.etag.clone())
            .unwrap_or_else(new_guid),
    };
    let operation_id = new_guid();
    world.operations.push(AsyncOperation {
        id: operation_id.clone(),
        subscription_id: network.subscription_id.clone(),
        location: network.location.clone(),
        kind: OperationKind::PutPeering,
        virtual_network_id: network.id(),
        peering_name: canonical_name.clone(),
        done_at: request.now + request.shared.delays.lro_duration,
        status: "InProgress".to_string(),
    });
    let Some(stored_network) = world.virtual_network_by_id_mut(&network.id()) else {
        return Err(arm_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "the virtual network vanished",
        ));
    };
    stored_network
        .peerings
        .retain(|candidate| !candidate.name.eq_ignore_ascii_case(&canonical_name));
    stored_network.peerings.push(peering.clone());
    let stored_network = stored_network.clone();
    complete_operations(world, Instant::now());
    let current = world
        .virtual_network_by_id(&stored_network.id())
        .and_then(|found| {
            found
                .peerings
                .iter()
                .find(|candidate| candidate.name == canonical_name)
                .cloned()
        })
        .unwrap_or(peering);
    let body = peering_json(world, &stored_network, &current);
    let (status_url, _) = operation_urls(
        request,
        &stored_network.subscription_id,
        &stored_network.location,
        &operation_id,
    );
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let response = json_response(status, body);
    let response = with_header(response, "azure-asyncoperation", &status_url);
    Ok(with_header(
        response,
        "retry-after",
        &retry_after_seconds(request),
    ))
}

fn delete_peering(
    request: &ArmRequest,
    world: &mut World,
    subscription: &str,
    resource_group: &str,
    network_name: &str,
    peering_name: &str,
) -> ArmResult {
    check_subscription(request, world, subscription)?;
    let peering_scope = format!(
        "{}/virtualNetworkPeerings/{peering_name}",
        network_scope(subscription, resource_group, network_name)
    );
    require(request, world, PEERING_DELETE, &peering_scope)?;
    let network = find_virtual_network(world, subscription, resource_group, network_name)?;
    let Some(existing) = network
        .peerings
        .iter()
        .find(|candidate| candidate.name.eq_ignore_ascii_case(peering_name))
        .cloned()
    else {
        return Ok(empty_response(StatusCode::NO_CONTENT));
    };
    if let Some(operation) = operation_in_progress(world, &network.id(), &existing.name) {
        let (status_url, _) = operation_urls(
            request,
            &network.subscription_id,
            &network.location,
            &operation.id,
        );
        return Err(arm_error(
            StatusCode::CONFLICT,
            "AnotherOperationInProgress",
            &format!(
                "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: {status_url}."
            ),
        ));
    }
    let operation_id = new_guid();
    world.operations.push(AsyncOperation {
        id: operation_id.clone(),
        subscription_id: network.subscription_id.clone(),
        location: network.location.clone(),
        kind: OperationKind::DeletePeering,
        virtual_network_id: network.id(),
        peering_name: existing.name.clone(),
        done_at: request.now + request.shared.delays.lro_duration,
        status: "InProgress".to_string(),
    });
    if let Some(stored) = world
        .virtual_network_by_id_mut(&network.id())
        .and_then(|stored| {
            stored
                .peerings
                .iter_mut()
                .find(|candidate| candidate.name == existing.name)
        })
    {
        stored.provisioning_state = "Deleting".to_string();
    }
    complete_operations(world, Instant::now());
    let (status_url, location_url) = operation_urls(
        request,
        &network.subscription_id,
        &network.location,
        &operation_id,
    );
    let response = empty_response(StatusCode::ACCEPTED);
    let response = with_header(response, "azure-asyncoperation", &status_url);
    let response = with_header(response, "location", &location_url);
    Ok(with_header(
        response,
        "retry-after",
        &retry_after_seconds(request),
    ))
}

fn get_operation(
    request: &ArmRequest,
    world: &World,
    operation_id: &str,
    results: bool,
) -> ArmResult {
    let Some(operation) = world
        .operations
        .iter()
        .find(|operation| operation.id.eq_ignore_ascii_case(operation_id))
        .cloned()
    else {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            &format!("The operation '{operation_id}' could not be found."),
        ));
    };
    if !results {
        let mut body = json!({
            "name": operation.id,
            "status": operation.status,
            "startTime": rfc3339(SystemTime::now()),
        });
        if operation.status == "Failed"
            && let Some(object) = body.as_object_mut()
        {
            object.insert(
                "error".to_string(),
                json!({"code": "InternalServerError", "message": "the operation failed"}),
            );
        }
        let response = json_response(StatusCode::OK, body);
        return Ok(if operation.status == "InProgress" {
            with_header(response, "retry-after", &retry_after_seconds(request))
        } else {
            response
        });
    }
    if operation.status == "InProgress" {
        let (_, location_url) = operation_urls(
            request,
            &operation.subscription_id,
            &operation.location,
            &operation.id,
        );
        let response = with_header(
            empty_response(StatusCode::ACCEPTED),
            "location",
            &location_url,
        );
        return Ok(with_header(
            response,
            "retry-after",
            &retry_after_seconds(request),
        ));
    }
    match operation.kind {
        OperationKind::DeletePeering => Ok(empty_response(StatusCode::NO_CONTENT)),
        OperationKind::PutPeering => {
            let network = world
                .virtual_network_by_id(&operation.virtual_network_id)
                .cloned();
            let peering = network.as_ref().and_then(|network| {
                network
                    .peerings
                    .iter()
                    .find(|candidate| candidate.name == operation.peering_name)
                    .cloned()
            });
            match (network, peering) {
                (Some(network), Some(peering)) => Ok(json_response(
                    StatusCode::OK,
                    peering_json(world, &network, &peering),
                )),
                _ => Ok(empty_response(StatusCode::NO_CONTENT)),
            }
        }
    }
}

/// Completes the long-running operations whose time has come and recomputes peering states.
pub(crate) fn complete_operations(world: &mut World, now: Instant) {
    let due: Vec<AsyncOperation> = world
        .operations
        .iter()
        .filter(|operation| operation.status == "InProgress" && operation.done_at <= now)
        .cloned()
        .collect();
    if due.is_empty() {
        return;
    }
    for operation in &due {
        if let Some(network) = world.virtual_network_by_id_mut(&operation.virtual_network_id) {
            match operation.kind {
                OperationKind::PutPeering => {
                    if let Some(peering) = network
                        .peerings
                        .iter_mut()
                        .find(|candidate| candidate.name == operation.peering_name)
                    {
                        peering.provisioning_state = "Succeeded".to_string();
                        if peering.peering_state == "Disconnected" {
                            peering.peering_state = "Initiated".to_string();
                        }
                    }
                }
                OperationKind::DeletePeering => {
                    network
                        .peerings
                        .retain(|candidate| candidate.name != operation.peering_name);
                }
            }
        }
        if let Some(stored) = world
            .operations
            .iter_mut()
            .find(|candidate| candidate.id == operation.id)
        {
            stored.status = "Succeeded".to_string();
        }
    }
    refresh_peering_states(world);
}

/// Connected when both sides exist, Disconnected when the other side went away, else Initiated.
pub(crate) fn refresh_peering_states(world: &mut World) {
    let sides: Vec<(String, String, String, String, String)> = world
        .virtual_networks
        .iter()
        .flat_map(|network| {
            network.peerings.iter().map(move |peering| {
                (
                    network.id().to_ascii_lowercase(),
                    peering.name.clone(),
                    peering.remote_virtual_network_id.to_ascii_lowercase(),
                    peering.provisioning_state.clone(),
                    peering.peering_state.clone(),
                )
            })
        })
        .collect();
    let live_reverse = |local: &str, remote: &str| {
        sides
            .iter()
            .any(|(network, _, target, provisioning, state)| {
                network == remote
                    && target == local
                    && provisioning == "Succeeded"
                    && state != "Disconnected"
            })
    };
    for network in &mut world.virtual_networks {
        let local = network.id().to_ascii_lowercase();
        for peering in &mut network.peerings {
            if peering.provisioning_state != "Succeeded" || peering.peering_state == "Disconnected"
            {
                continue;
            }
            let remote = peering.remote_virtual_network_id.to_ascii_lowercase();
            peering.peering_state = if live_reverse(&local, &remote) {
                "Connected".to_string()
            } else if peering.peering_state == "Connected" {
                "Disconnected".to_string()
            } else {
                "Initiated".to_string()
            };
        }
    }
}

/// Creates or replaces a peering that is immediately provisioned (used by the Aiven platform).
pub(crate) fn put_provisioned_peering(
    world: &mut World,
    local_network_id: &str,
    name: &str,
    remote_network_id: &str,
) {
    if let Some(network) = world.virtual_network_by_id_mut(local_network_id) {
        network
            .peerings
            .retain(|candidate| !candidate.name.eq_ignore_ascii_case(name));
        network.peerings.push(VirtualNetworkPeering {
            name: name.to_string(),
            remote_virtual_network_id: remote_network_id.to_string(),
            allow_virtual_network_access: true,
            allow_forwarded_traffic: false,
            allow_gateway_transit: false,
            use_remote_gateways: false,
            provisioning_state: "Succeeded".to_string(),
            peering_state: "Initiated".to_string(),
            etag: new_guid(),
        });
    }
    refresh_peering_states(world);
}

/// Removes a peering at once (used by the Aiven platform) and recomputes the other side.
pub(crate) fn remove_peering(world: &mut World, local_network_id: &str, name: &str) {
    if let Some(network) = world.virtual_network_by_id_mut(local_network_id) {
        network
            .peerings
            .retain(|candidate| !candidate.name.eq_ignore_ascii_case(name));
    }
    refresh_peering_states(world);
}

// ---------------------------------------------------------------------------------------------
// Role definitions and role assignments.

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

fn list_role_definitions(request: &ArmRequest, world: &World, scope: &str) -> ArmResult {
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
        let visible = match &definition.tenant_id {
            None => true,
            Some(owner) if owner == tenant => {
                scope == "/"
                    || definition
                        .assignable_scopes
                        .iter()
                        .any(|assignable| scope_contains(assignable, scope))
            }
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
    Ok(json_response(StatusCode::OK, json!({"value": values})))
}

fn get_role_definition(request: &ArmRequest, world: &World, scope: &str, guid: &str) -> ArmResult {
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

fn put_role_definition(
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

fn delete_role_definition(
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

fn list_role_assignments(request: &ArmRequest, world: &World, scope: &str) -> ArmResult {
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
    Ok(json_response(StatusCode::OK, json!({"value": values})))
}

fn role_assignment_not_found(guid: &str) -> Response<Body> {
    arm_error(
        StatusCode::NOT_FOUND,
        "RoleAssignmentNotFound",
        &format!("The role assignment '{guid}' is not found."),
    )
}

fn get_role_assignment(request: &ArmRequest, world: &World, scope: &str, guid: &str) -> ArmResult {
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

fn put_role_assignment(
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
    let Some(definition) = world.role_definition(&tenant, &role_guid).cloned() else {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "RoleDefinitionDoesNotExist",
            &format!("The specified role definition with ID '{role_guid}' does not exist."),
        ));
    };
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
        effective_at: request.now + request.shared.delays.role_propagation,
        created_time: SystemTime::now(),
    };
    let body = role_assignment_json(&assignment);
    world.role_assignments.push(assignment);
    Ok(json_response(StatusCode::CREATED, body))
}

fn delete_role_assignment(
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
