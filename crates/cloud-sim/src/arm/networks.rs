//! ARM virtual networks: list and read (the simulator's networks are seeded, never written).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::peerings::peering_json;
use super::{
    ArmRequest, ArmResult, check_subscription, find_resource_group, find_virtual_network,
    list_response, require,
};
use crate::authz::is_permitted;
use crate::http::json_response;
use crate::world::{VirtualNetwork, World, virtual_network_id};

const NETWORK_READ: &str = "Microsoft.Network/virtualNetworks/read";

pub(super) fn network_scope(subscription: &str, resource_group: &str, network: &str) -> String {
    virtual_network_id(subscription, resource_group, network)
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

/// Lists the networks of a resource group, or of the whole subscription. A subscription-wide
/// list, as ARM answers it, holds only the networks the caller may read (no 403 for the rest).
pub(super) fn list_virtual_networks(
    request: &ArmRequest,
    world: &World,
    subscription: &str,
    resource_group: Option<&str>,
) -> ArmResult {
    check_subscription(request, world, subscription)?;
    if let Some(resource_group) = resource_group {
        let scope = format!("/subscriptions/{subscription}/resourceGroups/{resource_group}");
        require(request, world, NETWORK_READ, &scope)?;
        find_resource_group(world, subscription, resource_group)?;
    }
    let token = &request.token;
    let values: Vec<Value> = world
        .virtual_networks
        .iter()
        .filter(|network| {
            network.subscription_id.eq_ignore_ascii_case(subscription)
                && resource_group
                    .is_none_or(|group| network.resource_group.eq_ignore_ascii_case(group))
                && is_permitted(
                    world,
                    &token.tenant_id,
                    &token.service_principal_id,
                    token.issued_at,
                    NETWORK_READ,
                    &network.id(),
                )
        })
        .map(|network| virtual_network_json(world, network))
        .collect();
    list_response(request, values)
}

pub(super) fn get_virtual_network(
    request: &ArmRequest,
    world: &World,
    subscription: &str,
    resource_group: &str,
    network: &str,
) -> ArmResult {
    check_subscription(request, world, subscription)?;
    let scope = network_scope(subscription, resource_group, network);
    require(request, world, NETWORK_READ, &scope)?;
    let network = find_virtual_network(world, subscription, resource_group, network)?;
    Ok(json_response(
        StatusCode::OK,
        virtual_network_json(world, &network),
    ))
}
