//! ARM long-running operations: the status and result URLs a peering PUT or DELETE hands out,
//! and what polling them answers. Completing them is world logic (`crate::world::network`).

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::json;

use super::peerings::peering_json;
use super::{ArmRequest, ArmResult, arm_error};
use crate::http::{empty_response, json_response, with_header};
use crate::world::{AsyncOperation, OperationKind, VirtualNetwork, World, rfc3339};

/// The `Azure-AsyncOperation` and `Location` URLs of an operation.
pub(super) fn operation_urls(
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

/// `Retry-After` of a running operation (see `Delays::lro_retry_after`).
pub(super) fn retry_after_seconds(request: &ArmRequest) -> String {
    request
        .shared
        .delays
        .lro_retry_after()
        .as_secs()
        .to_string()
}

pub(super) fn get_operation(
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

/// The conflict ARM answers while an operation on the same peering is still running.
pub(super) fn another_operation_in_progress(
    request: &ArmRequest,
    network: &VirtualNetwork,
    operation: &AsyncOperation,
) -> Response<Body> {
    let (status_url, _) = operation_urls(
        request,
        &network.subscription_id,
        &network.location,
        &operation.id,
    );
    arm_error(
        StatusCode::CONFLICT,
        "AnotherOperationInProgress",
        &format!(
            "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: {status_url}."
        ),
    )
}
