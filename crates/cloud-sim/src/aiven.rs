//! Aiven API v1: project VPCs and Azure peering connections. The platform that moves the
//! connections along (APPROVED → PENDING_PEER → ACTIVE, …) is world logic: `crate::world::aiven`.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::http::{
    authorization_token, is_guid, json_response, parse_json, path_segments, with_identity,
};
use crate::world::aiven::{set_state, state_info};
use crate::world::network::parse_cidr;
use crate::world::{PeeringConnection, ProjectVpc, World, new_guid, rfc3339};

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
        listed_until: None,
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
