//! Virtual network peering transitions: long-running operations start and complete, peering
//! states follow both sides, and the Aiven platform puts and removes its side at once.

use std::time::Instant;

use super::model::{
    AsyncOperation, OperationKind, VirtualNetwork, VirtualNetworkPeering, World, new_guid,
};

/// Starts a peering PUT or DELETE that completes at `done_at`; returns the operation id.
pub(crate) fn begin_peering_operation(
    world: &mut World,
    network: &VirtualNetwork,
    kind: OperationKind,
    peering_name: &str,
    done_at: Instant,
) -> String {
    let operation_id = new_guid();
    world.operations.push(AsyncOperation {
        id: operation_id.clone(),
        subscription_id: network.subscription_id.clone(),
        location: network.location.clone(),
        kind,
        virtual_network_id: network.id(),
        peering_name: peering_name.to_string(),
        done_at,
        status: "InProgress".to_string(),
    });
    operation_id
}

/// The running operation on a peering, if any: ARM refuses a second one.
pub(crate) fn peering_operation_in_progress(
    world: &World,
    network_id: &str,
    peering: &str,
) -> Option<AsyncOperation> {
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

/// Creates or replaces a peering that is provisioned at once (the Aiven platform's side).
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

/// Removes a peering at once (the Aiven platform's side) and recomputes the other side.
pub(crate) fn remove_peering(world: &mut World, local_network_id: &str, name: &str) {
    if let Some(network) = world.virtual_network_by_id_mut(local_network_id) {
        network
            .peerings
            .retain(|candidate| !candidate.name.eq_ignore_ascii_case(name));
    }
    refresh_peering_states(world);
}

/// Parses `a.b.c.d/n` into (network address, prefix length).
pub(crate) fn parse_cidr(text: &str) -> Option<(u32, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    if prefix > 32 {
        return None;
    }
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    Some((u32::from(address) & mask, prefix))
}

/// True when two IPv4 networks share an address; false when either is not a network.
pub(crate) fn cidrs_overlap(first: &str, second: &str) -> bool {
    match (parse_cidr(first), parse_cidr(second)) {
        (Some((first_network, first_prefix)), Some((second_network, second_prefix))) => {
            let shorter = first_prefix.min(second_prefix);
            let mask = if shorter == 0 {
                0
            } else {
                u32::MAX << (32 - shorter)
            };
            first_network & mask == second_network & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_overlap_compares_the_shorter_prefix() {
        assert!(cidrs_overlap("10.0.0.0/16", "10.0.128.0/17"));
        assert!(!cidrs_overlap("10.0.0.0/16", "10.1.0.0/24"));
        assert!(!cidrs_overlap("not-a-cidr", "10.1.0.0/24"));
    }
}
