//! The Aiven platform's state machine: connections move APPROVED → PENDING_PEER → ACTIVE (or
//! INVALID_SPECIFICATION), follow the user side away and back, and are deleted; the Aiven side
//! of the peering and the user app's grant in the Aiven tenant appear on the way.

use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

use super::model::{
    AIVEN_APP_ID, PEER_ACTION, PeeringConnection, ProjectVpc, RoleAssignment, ServicePrincipal,
    World, new_guid,
};
use super::network::{cidrs_overlap, put_provisioned_peering, remove_peering};
use crate::Delays;
use crate::authz::is_permitted;

/// Aiven's `state_info`: a message and a kind.
pub(crate) fn state_info(kind: &str, message: &str) -> Value {
    json!({"message": message, "type": kind})
}

/// Enters a new connection state now.
pub(crate) fn set_state(
    connection: &mut PeeringConnection,
    state: &str,
    info: Value,
    now: Instant,
) {
    connection.state = state.to_string();
    connection.state_info = info;
    connection.state_since = now;
    connection.update_time = SystemTime::now();
}

/// What Aiven's checks found for a connection in APPROVED.
enum Verdict {
    Invalid(String),
    Accept { user_network_id: String },
}

fn check_connection(
    world: &World,
    vpc: &ProjectVpc,
    connection: &PeeringConnection,
    now: Instant,
) -> Verdict {
    let tenant_id = &connection.peer_azure_tenant_id;
    let Some(tenant) = world.tenant(tenant_id) else {
        return Verdict::Invalid(format!(
            "Azure tenant '{tenant_id}' was not found (peer_azure_tenant_id)"
        ));
    };
    let Some(subscription) = world
        .subscription(&connection.peer_cloud_account)
        .filter(|subscription| subscription.tenant_id == tenant.id)
    else {
        return Verdict::Invalid(format!(
            "Azure subscription '{}' was not found in tenant '{tenant_id}' (peer_cloud_account)",
            connection.peer_cloud_account
        ));
    };
    let application_ok = world
        .application_by_app_id(&connection.peer_azure_app_id)
        .is_some_and(|application| application.is_multi_tenant());
    if !application_ok {
        return Verdict::Invalid(format!(
            "Azure application '{}' was not found or is not multi-tenant (peer_azure_app_id): create it with signInAudience AzureADMultipleOrgs",
            connection.peer_azure_app_id
        ));
    }
    let Some(aiven_principal) = world.service_principal_for_app(&tenant.id, AIVEN_APP_ID) else {
        return Verdict::Invalid(format!(
            "The Aiven application '{AIVEN_APP_ID}' has no service principal in tenant '{tenant_id}': create one before requesting the peering"
        ));
    };
    let Some(network) = world.virtual_network(
        &subscription.id,
        &connection.peer_resource_group,
        &connection.peer_vpc,
    ) else {
        return Verdict::Invalid(format!(
            "Virtual network '{}' was not found in resource group '{}' of subscription '{}'",
            connection.peer_vpc, connection.peer_resource_group, subscription.id
        ));
    };
    let network_id = network.id();
    if !is_permitted(
        world,
        &tenant.id,
        &aiven_principal.object_id,
        now,
        PEER_ACTION,
        &network_id,
    ) {
        // Aiven's real wording is not documented: a neutral message that names neither the
        // missing action nor the principal, so that no client can decide on the text.
        return Verdict::Invalid(format!(
            "Peering to virtual network '{network_id}' could not be set up with the given parameters"
        ));
    }
    let mut peer_ranges = network.address_prefixes.clone();
    peer_ranges.extend(connection.user_peer_network_cidrs.iter().cloned());
    if let Some(overlapping) = peer_ranges
        .iter()
        .find(|range| cidrs_overlap(range, &vpc.network_cidr))
    {
        return Verdict::Invalid(format!(
            "The peer network range {overlapping} overlaps with the project VPC network {}",
            vpc.network_cidr
        ));
    }
    Verdict::Accept {
        user_network_id: network_id,
    }
}

fn pending_peer_info(world: &World, vpc: &ProjectVpc) -> Value {
    json!({
        "message": "Pending peering connection from the peer network: create a peering from your virtual network to the Aiven virtual network",
        "type": "pending-peer",
        "to-tenant-id": world.fixtures.aiven_tenant_id,
        "to-network-id": vpc.azure_virtual_network_id,
    })
}

fn user_network_id(world: &World, connection: &PeeringConnection) -> Option<String> {
    world
        .virtual_network(
            &connection.peer_cloud_account,
            &connection.peer_resource_group,
            &connection.peer_vpc,
        )
        .map(|network| network.id())
}

fn user_side_exists(world: &World, connection: &PeeringConnection, aiven_network_id: &str) -> bool {
    world
        .virtual_network(
            &connection.peer_cloud_account,
            &connection.peer_resource_group,
            &connection.peer_vpc,
        )
        .is_some_and(|network| {
            network.peerings.iter().any(|peering| {
                peering
                    .remote_virtual_network_id
                    .eq_ignore_ascii_case(aiven_network_id)
                    && peering.provisioning_state == "Succeeded"
            })
        })
}

/// Creates the user app's service principal in the Aiven tenant and grants it `peer/action` on
/// the Aiven virtual network.
fn grant_user_application(
    world: &mut World,
    delays: &Delays,
    connection: &PeeringConnection,
    aiven_network_id: &str,
    now: Instant,
) {
    let aiven_tenant_id = world.fixtures.aiven_tenant_id.clone();
    let Some(application) = world
        .application_by_app_id(&connection.peer_azure_app_id)
        .cloned()
    else {
        return;
    };
    let principal_id = match world.service_principal_for_app(&aiven_tenant_id, &application.app_id)
    {
        Some(principal) => principal.object_id.clone(),
        None => {
            let object_id = new_guid();
            world.service_principals.push(ServicePrincipal {
                object_id: object_id.clone(),
                app_id: application.app_id.clone(),
                tenant_id: aiven_tenant_id.clone(),
                display_name: application.display_name.clone(),
                app_owner_tenant_id: application.tenant_id.clone(),
                account_enabled: true,
                directory_roles: Vec::new(),
                graph_app_roles: Vec::new(),
                visible_at: now,
                created_time: SystemTime::now(),
            });
            object_id
        }
    };
    let role_guid = world.fixtures.aiven_peering_role_id.clone();
    let already = world.role_assignments.iter().any(|assignment| {
        assignment.principal_id == principal_id
            && assignment.role_definition_guid() == role_guid
            && assignment.scope.eq_ignore_ascii_case(aiven_network_id)
    });
    if !already {
        let propagation = delays.drawn(delays.role_propagation, &principal_id);
        world.role_assignments.push(RoleAssignment {
            name: new_guid(),
            tenant_id: aiven_tenant_id,
            scope: aiven_network_id.to_string(),
            role_definition_id: format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
                world.fixtures.aiven_subscription_id
            ),
            principal_id,
            principal_type: Some("ServicePrincipal".to_string()),
            effective_at: now + propagation,
            created_time: SystemTime::now(),
        });
    }
}

/// Moves every Aiven peering connection along its state machine.
pub(crate) fn drive_connections(world: &mut World, delays: &Delays, now: Instant) {
    for project_index in 0..world.aiven_projects.len() {
        for vpc_index in 0..world.aiven_projects[project_index].vpcs.len() {
            let mut connection_index = 0;
            while connection_index
                < world.aiven_projects[project_index].vpcs[vpc_index]
                    .peering_connections
                    .len()
            {
                let removed = drive_one(
                    world,
                    delays,
                    project_index,
                    vpc_index,
                    connection_index,
                    now,
                );
                if !removed {
                    connection_index += 1;
                }
            }
        }
    }
}

/// Advances one connection; true when it was removed.
fn drive_one(
    world: &mut World,
    delays: &Delays,
    project_index: usize,
    vpc_index: usize,
    connection_index: usize,
    now: Instant,
) -> bool {
    let vpc = world.aiven_projects[project_index].vpcs[vpc_index].clone();
    let connection = vpc.peering_connections[connection_index].clone();
    let aiven_network_id = vpc.azure_virtual_network_id.clone();
    let elapsed = now.saturating_duration_since(connection.state_since);
    let peering_name = format!("aiven-{}", connection.id);
    let mut updated = connection.clone();
    // Each connection draws its own delays, so its checks race role propagation both ways.
    let drawn = |delay, what: &str| delays.drawn(delay, &format!("{} {what}", connection.id));
    let pending_peer_delay = drawn(delays.aiven_pending_peer_delay, "pending peer");
    let grant_lag = drawn(delays.aiven_grant_lag, "grant");
    let active_delay = drawn(delays.aiven_active_delay, "active");
    let delete_delay = drawn(delays.aiven_delete_delay, "delete");
    match connection.state.as_str() {
        "APPROVED" if elapsed >= pending_peer_delay => {
            match check_connection(world, &vpc, &connection, now) {
                Verdict::Invalid(message) => {
                    set_state(
                        &mut updated,
                        "INVALID_SPECIFICATION",
                        state_info("invalid-specification", &message),
                        now,
                    );
                }
                Verdict::Accept { user_network_id } => {
                    put_provisioned_peering(
                        world,
                        &aiven_network_id,
                        &peering_name,
                        &user_network_id,
                    );
                    updated.aiven_peering_name = Some(peering_name);
                    set_state(
                        &mut updated,
                        "PENDING_PEER",
                        pending_peer_info(world, &vpc),
                        now,
                    );
                    if grant_lag.is_zero() {
                        grant_user_application(world, delays, &updated, &aiven_network_id, now);
                        updated.grant_done = true;
                    }
                }
            }
        }
        "PENDING_PEER" => {
            if !updated.grant_done && elapsed >= grant_lag {
                grant_user_application(world, delays, &updated, &aiven_network_id, now);
                updated.grant_done = true;
            }
            if user_side_exists(world, &updated, &aiven_network_id) {
                let seen_at = *updated.user_side_seen_at.get_or_insert(now);
                if updated.grant_done && now.saturating_duration_since(seen_at) >= active_delay {
                    set_state(
                        &mut updated,
                        "ACTIVE",
                        state_info("active", "Peering connection is active"),
                        now,
                    );
                    updated.user_side_seen_at = None;
                    updated.disconnected_seen_at = None;
                }
            } else {
                updated.user_side_seen_at = None;
            }
        }
        "ACTIVE" => {
            let aiven_side_state = updated.aiven_peering_name.as_ref().and_then(|name| {
                world
                    .virtual_network_by_id(&aiven_network_id)
                    .and_then(|network| {
                        network
                            .peerings
                            .iter()
                            .find(|peering| &peering.name == name)
                            .map(|peering| peering.peering_state.clone())
                    })
            });
            if aiven_side_state.as_deref() == Some("Connected") {
                updated.disconnected_seen_at = None;
            } else {
                // The user side went away: Aiven notices, recreates its side and waits again.
                let seen_at = *updated.disconnected_seen_at.get_or_insert(now);
                if now.saturating_duration_since(seen_at) >= pending_peer_delay {
                    if let Some(user_network) = user_network_id(world, &updated) {
                        remove_peering(world, &aiven_network_id, &peering_name);
                        put_provisioned_peering(
                            world,
                            &aiven_network_id,
                            &peering_name,
                            &user_network,
                        );
                        updated.aiven_peering_name = Some(peering_name);
                        set_state(
                            &mut updated,
                            "PENDING_PEER",
                            pending_peer_info(world, &vpc),
                            now,
                        );
                    } else {
                        set_state(
                            &mut updated,
                            "DELETED_BY_PEER",
                            state_info("deleted-by-peer", "The peer virtual network was deleted"),
                            now,
                        );
                    }
                    updated.disconnected_seen_at = None;
                }
            }
        }
        "DELETING" if elapsed >= delete_delay => {
            if let Some(name) = &updated.aiven_peering_name {
                remove_peering(world, &aiven_network_id, name);
            }
            updated.aiven_peering_name = None;
            set_state(
                &mut updated,
                "DELETED",
                state_info("deleted", "Peering connection has been deleted"),
                now,
            );
        }
        "DELETED"
            if elapsed >= delete_delay
                && connection.listed_until.is_none_or(|until| now >= until) =>
        {
            world.aiven_projects[project_index].vpcs[vpc_index]
                .peering_connections
                .remove(connection_index);
            return true;
        }
        _ => {}
    }
    if updated.state != connection.state
        || updated.grant_done != connection.grant_done
        || updated.user_side_seen_at != connection.user_side_seen_at
        || updated.disconnected_seen_at != connection.disconnected_seen_at
    {
        if updated.state != connection.state {
            world.aiven_projects[project_index].vpcs[vpc_index].update_time = SystemTime::now();
        }
        world.aiven_projects[project_index].vpcs[vpc_index].peering_connections[connection_index] =
            updated;
    }
    false
}
