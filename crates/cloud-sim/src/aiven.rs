//! Aiven API v1: project VPCs and Azure peering connections, and the background platform that
//! moves connections APPROVED → PENDING_PEER → ACTIVE (or INVALID_SPECIFICATION) and deletes them.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use serde_json::{Map, Value, json};

use crate::authz::is_permitted;
use crate::http::{
    authorization_token, cidrs_overlap, is_guid, json_response, parse_cidr, parse_json,
    path_segments, with_identity,
};
use crate::world::{
    AIVEN_APP_ID, PEER_ACTION, PeeringConnection, ProjectVpc, RoleAssignment, ServicePrincipal,
    World, new_guid, rfc3339,
};
use crate::{Delays, Shared, Urls};

const CREATE_FIELDS: [&str; 7] = [
    "peer_cloud_account",
    "peer_vpc",
    "peer_region",
    "peer_resource_group",
    "peer_azure_app_id",
    "peer_azure_tenant_id",
    "user_peer_network_cidrs",
];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Aiven's error shape: `{"errors":[{"error_code","message","status"}],"message"}`.
pub(crate) fn aiven_error(status: StatusCode, error_code: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        json!({
            "errors": [{"error_code": error_code, "message": message, "status": status.as_u16()}],
            "message": message,
        }),
    )
}

fn state_info(kind: &str, message: &str) -> Value {
    json!({"message": message, "type": kind})
}

fn connection_json(connection: &PeeringConnection) -> Map<String, Value> {
    let value = json!({
        "create_time": rfc3339(connection.create_time),
        "peer_azure_app_id": connection.peer_azure_app_id,
        "peer_azure_tenant_id": connection.peer_azure_tenant_id,
        "peer_cloud_account": connection.peer_cloud_account,
        "peer_region": null,
        "peer_resource_group": connection.peer_resource_group,
        "peer_vpc": connection.peer_vpc,
        "peering_connection_id": connection.id,
        "state": connection.state,
        "state_info": connection.state_info,
        "update_time": rfc3339(connection.update_time),
        "user_peer_network_cidrs": connection.user_peer_network_cidrs,
        "vpc_peering_connection_type": "azure-vnet-peering",
    });
    match value {
        Value::Object(object) => object,
        _ => Map::new(),
    }
}

fn vpc_summary_json(vpc: &ProjectVpc) -> Value {
    json!({
        "cloud_name": vpc.cloud_name,
        "create_time": rfc3339(vpc.create_time),
        "network_cidr": vpc.network_cidr,
        "project_vpc_id": vpc.id,
        "state": vpc.state,
        "update_time": rfc3339(vpc.update_time),
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
    let authorized =
        authorization_token(&headers, &["aivenv1"]).is_some_and(|token| token == world.aiven_token);
    if !authorized {
        return aiven_error(
            StatusCode::FORBIDDEN,
            "authentication_failed",
            "Invalid token",
        );
    }
    let response = route(&mut world, &method, uri.path(), &body);
    with_identity(response, Some("aiven-token".to_string()))
}

fn route(world: &mut World, method: &Method, path: &str, body: &[u8]) -> Response<Body> {
    let segments = path_segments(path);
    let texts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let Some((&"v1", rest)) = texts.split_first() else {
        return route_not_found(path);
    };
    let (project, rest) = match rest {
        ["project", project, rest @ ..] => (*project, rest),
        _ => return route_not_found(path),
    };
    let Some(project_index) = world
        .aiven_projects
        .iter()
        .position(|candidate| candidate.name == project)
    else {
        return aiven_error(
            StatusCode::FORBIDDEN,
            "project_not_found",
            &format!("Project '{project}' does not exist or you do not have access to it"),
        );
    };
    match (method.clone(), rest) {
        (Method::GET, ["vpcs"]) => {
            let vpcs: Vec<Value> = world.aiven_projects[project_index]
                .vpcs
                .iter()
                .map(vpc_summary_json)
                .collect();
            json_response(StatusCode::OK, json!({"vpcs": vpcs}))
        }
        (_, ["vpcs"]) => method_not_allowed(),
        (method, ["vpcs", vpc_id, rest @ ..]) => {
            if !is_guid(vpc_id) {
                return aiven_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_input",
                    &format!("Invalid project_vpc_id '{vpc_id}': it must be a UUID"),
                );
            }
            let Some(vpc_index) = world.aiven_projects[project_index]
                .vpcs
                .iter()
                .position(|vpc| vpc.id == *vpc_id)
            else {
                return aiven_error(
                    StatusCode::NOT_FOUND,
                    "project_vpc_not_found",
                    &format!("Project VPC '{vpc_id}' does not exist"),
                );
            };
            match (method, rest) {
                (Method::GET, []) => {
                    let vpc = &world.aiven_projects[project_index].vpcs[vpc_index];
                    let mut value = vpc_summary_json(vpc);
                    if let Some(object) = value.as_object_mut() {
                        object.insert(
                            "peering_connections".to_string(),
                            Value::Array(
                                vpc.peering_connections
                                    .iter()
                                    .map(|connection| Value::Object(connection_json(connection)))
                                    .collect(),
                            ),
                        );
                    }
                    json_response(StatusCode::OK, value)
                }
                (Method::POST, ["peering-connections"]) => {
                    create_connection(world, project_index, vpc_index, body)
                }
                (
                    Method::DELETE,
                    [
                        "peering-connections",
                        "peer-accounts",
                        account,
                        "peer-resource-groups",
                        group,
                        "peer-vpcs",
                        network,
                    ],
                ) => delete_connection(
                    world,
                    project_index,
                    vpc_index,
                    account,
                    Some(group),
                    network,
                ),
                (
                    Method::DELETE,
                    [
                        "peering-connections",
                        "peer-accounts",
                        account,
                        "peer-vpcs",
                        network,
                    ],
                ) => delete_connection(world, project_index, vpc_index, account, None, network),
                (_, [] | ["peering-connections"]) => method_not_allowed(),
                _ => route_not_found(path),
            }
        }
        _ => route_not_found(path),
    }
}

fn route_not_found(path: &str) -> Response<Body> {
    aiven_error(
        StatusCode::NOT_FOUND,
        "route_not_found",
        &format!("Route not found: {path}"),
    )
}

fn method_not_allowed() -> Response<Body> {
    aiven_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
    )
}

fn invalid_input(message: &str) -> Response<Body> {
    aiven_error(StatusCode::BAD_REQUEST, "invalid_input", message)
}

fn create_connection(
    world: &mut World,
    project_index: usize,
    vpc_index: usize,
    body: &[u8],
) -> Response<Body> {
    let Some(Value::Object(input)) = parse_json(body) else {
        return invalid_input("Invalid JSON in request body");
    };
    for name in input.keys() {
        if !CREATE_FIELDS.contains(&name.as_str()) {
            return invalid_input(&format!(
                "Additional properties are not allowed ('{name}' was unexpected)"
            ));
        }
    }
    let mut text_fields = std::collections::HashMap::new();
    for name in CREATE_FIELDS
        .iter()
        .filter(|name| **name != "user_peer_network_cidrs")
    {
        match input.get(*name) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.len() <= 1024 => {
                text_fields.insert(*name, text.clone());
            }
            Some(_) => {
                return invalid_input(&format!(
                    "'{name}' must be a string of at most 1024 characters"
                ));
            }
        }
    }
    let user_peer_network_cidrs: Vec<String> = match input.get("user_peer_network_cidrs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= 128 => {
            let mut cidrs = Vec::new();
            for item in items {
                match item.as_str().filter(|text| parse_cidr(text).is_some()) {
                    Some(cidr) => cidrs.push(cidr.to_string()),
                    None => {
                        return invalid_input(&format!(
                            "Invalid IPv4 network in user_peer_network_cidrs: {item}"
                        ));
                    }
                }
            }
            cidrs
        }
        Some(_) => {
            return invalid_input(
                "'user_peer_network_cidrs' must be an array of at most 128 IPv4 networks",
            );
        }
    };
    for required in ["peer_cloud_account", "peer_vpc"] {
        if text_fields
            .get(required)
            .is_none_or(|value| value.is_empty())
        {
            return invalid_input(&format!("'{required}' is a required property"));
        }
    }
    let vpc = &world.aiven_projects[project_index].vpcs[vpc_index];
    if vpc.state != "ACTIVE" {
        return aiven_error(
            StatusCode::CONFLICT,
            "vpc_not_active",
            &format!("Project VPC '{}' is not active", vpc.id),
        );
    }
    if vpc.cloud_name.starts_with("azure-") {
        if text_fields.contains_key("peer_region") {
            return invalid_input(
                "peer_region must be omitted or null for Azure peering connections",
            );
        }
        for required in [
            "peer_resource_group",
            "peer_azure_app_id",
            "peer_azure_tenant_id",
        ] {
            if text_fields
                .get(required)
                .is_none_or(|value| value.is_empty())
            {
                return invalid_input(&format!(
                    "'{required}' is required for Azure peering connections"
                ));
            }
        }
        for field in [
            "peer_cloud_account",
            "peer_resource_group",
            "peer_vpc",
            "peer_azure_app_id",
            "peer_azure_tenant_id",
        ] {
            if let Some(value) = text_fields.get(field)
                && value.chars().any(|character| character.is_uppercase())
            {
                return invalid_input(&format!(
                    "Invalid {field} '{value}': only lower case characters are allowed"
                ));
            }
        }
        for field in [
            "peer_cloud_account",
            "peer_azure_app_id",
            "peer_azure_tenant_id",
        ] {
            if let Some(value) = text_fields.get(field)
                && !is_guid(value)
            {
                return invalid_input(&format!("Invalid {field} '{value}': a UUID is expected"));
            }
        }
    }
    let text = |name: &str| text_fields.get(name).cloned().unwrap_or_default();
    let (account, group, network) = (
        text("peer_cloud_account"),
        text("peer_resource_group"),
        text("peer_vpc"),
    );
    let vpc = &world.aiven_projects[project_index].vpcs[vpc_index];
    if let Some(existing) = vpc.peering_connections.iter().find(|connection| {
        connection.peer_cloud_account == account
            && connection.peer_resource_group == group
            && connection.peer_vpc == network
            && connection.state != "DELETED"
    }) {
        if existing.state == "DELETING" {
            return aiven_error(
                StatusCode::CONFLICT,
                "peering_connection_deleting",
                "A peering connection to this network is being deleted; wait until it is deleted before creating it again",
            );
        }
        // The real service does not fail on a duplicate create: it answers with the existing one.
        let mut value = connection_json(existing);
        value.insert(
            "message".to_string(),
            json!("Peering connection already exists"),
        );
        return json_response(StatusCode::OK, Value::Object(value));
    }
    let now_wall = SystemTime::now();
    let connection = PeeringConnection {
        id: new_guid(),
        peer_cloud_account: account,
        peer_resource_group: group,
        peer_vpc: network,
        peer_azure_app_id: text("peer_azure_app_id"),
        peer_azure_tenant_id: text("peer_azure_tenant_id"),
        user_peer_network_cidrs,
        state: "APPROVED".to_string(),
        state_info: state_info(
            "approved",
            "Peering connection request accepted; the Aiven platform is setting it up",
        ),
        create_time: now_wall,
        update_time: now_wall,
        state_since: Instant::now(),
        grant_done: false,
        user_side_seen_at: None,
        aiven_peering_name: None,
        disconnected_seen_at: None,
    };
    let mut value = connection_json(&connection);
    value.insert("message".to_string(), json!("Created"));
    let vpc = &mut world.aiven_projects[project_index].vpcs[vpc_index];
    vpc.peering_connections.push(connection);
    vpc.update_time = now_wall;
    json_response(StatusCode::OK, Value::Object(value))
}

fn delete_connection(
    world: &mut World,
    project_index: usize,
    vpc_index: usize,
    account: &str,
    group: Option<&str>,
    network: &str,
) -> Response<Body> {
    let vpc = &mut world.aiven_projects[project_index].vpcs[vpc_index];
    let Some(connection) = vpc.peering_connections.iter_mut().find(|connection| {
        connection.peer_cloud_account == account
            && group.is_none_or(|group| connection.peer_resource_group == group)
            && (group.is_some() || connection.peer_resource_group.is_empty())
            && connection.peer_vpc == network
            && connection.state != "DELETED"
    }) else {
        return aiven_error(
            StatusCode::NOT_FOUND,
            "peering_connection_not_found",
            "Peering connection does not exist",
        );
    };
    if connection.state != "DELETING" {
        set_state(
            connection,
            "DELETING",
            state_info("deleting", "Peering connection is being deleted"),
            Instant::now(),
        );
    }
    let mut value = connection_json(connection);
    value.insert(
        "message".to_string(),
        json!("Peering connection is being deleted"),
    );
    json_response(StatusCode::OK, Value::Object(value))
}

fn set_state(connection: &mut PeeringConnection, state: &str, info: Value, now: Instant) {
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
        return Verdict::Invalid(format!(
            "The Aiven application's service principal '{}' does not have permission to perform action '{PEER_ACTION}' on virtual network '{network_id}': assign it a role with that action on the virtual network",
            aiven_principal.object_id
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
            effective_at: now + delays.role_propagation,
            created_time: SystemTime::now(),
        });
    }
}

/// Moves every Aiven peering connection along its state machine.
pub(crate) fn drive_connections(world: &mut World, delays: &Delays, _urls: &Urls, now: Instant) {
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
    match connection.state.as_str() {
        "APPROVED" if elapsed >= delays.aiven_pending_peer_delay => {
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
                    crate::arm::put_provisioned_peering(
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
                    if delays.aiven_grant_lag.is_zero() {
                        grant_user_application(world, delays, &updated, &aiven_network_id, now);
                        updated.grant_done = true;
                    }
                }
            }
        }
        "PENDING_PEER" => {
            if !updated.grant_done && elapsed >= delays.aiven_grant_lag {
                grant_user_application(world, delays, &updated, &aiven_network_id, now);
                updated.grant_done = true;
            }
            if user_side_exists(world, &updated, &aiven_network_id) {
                let seen_at = *updated.user_side_seen_at.get_or_insert(now);
                if updated.grant_done
                    && now.saturating_duration_since(seen_at) >= delays.aiven_active_delay
                {
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
                if now.saturating_duration_since(seen_at) >= delays.aiven_pending_peer_delay {
                    if let Some(user_network) = user_network_id(world, &updated) {
                        crate::arm::remove_peering(world, &aiven_network_id, &peering_name);
                        crate::arm::put_provisioned_peering(
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
        "DELETING" if elapsed >= delays.aiven_delete_delay => {
            if let Some(name) = &updated.aiven_peering_name {
                crate::arm::remove_peering(world, &aiven_network_id, name);
            }
            updated.aiven_peering_name = None;
            set_state(
                &mut updated,
                "DELETED",
                state_info("deleted", "Peering connection has been deleted"),
                now,
            );
        }
        "DELETED" if elapsed >= delays.aiven_delete_delay => {
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
