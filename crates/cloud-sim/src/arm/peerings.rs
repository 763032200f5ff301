//! ARM virtual network peerings: list, read, and PUT/DELETE as long-running operations with
//! linked authorization on the remote network (auxiliary tenant tokens).

use std::time::Instant;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::networks::network_scope;
use super::operations::{another_operation_in_progress, operation_urls, retry_after_seconds};
use super::target::parse_virtual_network_id;
use super::{
    ArmRequest, ArmResult, arm_error, check_subscription, find_virtual_network, invalid_content,
    list_response, require,
};
use crate::authz::{TokenProblem, is_permitted, resolve_token_text};
use crate::faults::{PeeringConflict, take_peering_conflict};
use crate::http::{
    empty_response, header_text, json_response, parse_json, with_fault_label, with_header,
};
use crate::world::network::{
    begin_peering_operation, cidrs_overlap, complete_operations, peering_operation_in_progress,
};
use crate::world::{
    Audience, IssuedToken, OperationKind, PEER_ACTION, VirtualNetwork, VirtualNetworkPeering,
    World, new_guid, virtual_network_id,
};

const PEERING_WRITE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write";
const PEERING_READ: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read";
const PEERING_DELETE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete";

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

pub(super) fn peering_json(
    world: &World,
    network: &VirtualNetwork,
    peering: &VirtualNetworkPeering,
) -> Value {
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

fn optional_bool(properties: &Map<String, Value>, name: &str) -> Result<bool, Response<Body>> {
    match properties.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(invalid_content(&format!(
            "'properties.{name}' must be a boolean."
        ))),
    }
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

pub(super) fn put_peering(
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
            if cidrs_overlap(local_prefix, remote_prefix) {
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
    if let Some(operation) = peering_operation_in_progress(world, &network.id(), peering_name) {
        return Err(another_operation_in_progress(request, &network, &operation));
    }
    busy_virtual_network(request, &network, &peering_scope)?;

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
        // An update never revives a Disconnected peering: only deleting and re-creating does.
        peering_state: existing
            .as_ref()
            .map(|peering| peering.peering_state.clone())
            .unwrap_or_else(|| "Initiated".to_string()),
        etag: existing
            .as_ref()
            .map(|peering| peering.etag.clone())
            .unwrap_or_else(new_guid),
    };
    let operation_id = begin_peering_operation(
        world,
        &network,
        OperationKind::PutPeering,
        &canonical_name,
        request.now + request.shared.delays.lro_duration,
    );
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

pub(super) fn delete_peering(
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
    if let Some(operation) = peering_operation_in_progress(world, &network.id(), &existing.name) {
        return Err(another_operation_in_progress(request, &network, &operation));
    }
    busy_virtual_network(request, &network, &peering_scope)?;
    let operation_id = begin_peering_operation(
        world,
        &network,
        OperationKind::DeletePeering,
        &existing.name,
        request.now + request.shared.delays.lro_duration,
    );
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

/// An injected conflict with someone else's change to the VNet (a busy tenant): the VNet is
/// `Updating`, or another operation on it runs. Nothing is applied.
fn busy_virtual_network(
    request: &ArmRequest,
    network: &VirtualNetwork,
    peering_scope: &str,
) -> Result<(), Response<Body>> {
    let response = match take_peering_conflict(request.shared) {
        None => return Ok(()),
        Some(PeeringConflict::VnetUpdating) => arm_error(
            StatusCode::BAD_REQUEST,
            "ReferencedResourceNotProvisioned",
            &format!(
                "Cannot proceed with operation because resource {} used by resource {peering_scope} is not in Succeeded state. Resource is in Updating state and the last operation that updated/is updating the resource is PutSubnetOperation.",
                network.id()
            ),
        ),
        Some(PeeringConflict::AnotherOperation) => arm_error(
            StatusCode::CONFLICT,
            "AnotherOperationInProgress",
            &format!(
                "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: {}{}/providers/Microsoft.Network/locations/{}/operations/{}?api-version={}.",
                request.shared.urls.resource_manager,
                format_args!("/subscriptions/{}", network.subscription_id),
                network.location,
                new_guid(),
                request.api_version
            ),
        ),
    };
    Err(with_fault_label(response, "peering-conflict"))
}

pub(super) fn list_peerings(
    request: &ArmRequest,
    world: &World,
    subscription: &str,
    resource_group: &str,
    network: &str,
) -> ArmResult {
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
    list_response(request, values)
}

pub(super) fn get_peering(
    request: &ArmRequest,
    world: &World,
    subscription: &str,
    resource_group: &str,
    network: &str,
    peering: &str,
) -> ArmResult {
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
