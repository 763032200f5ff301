//! Fault injection: which requests may be faulted, what the dice decide for each (latency,
//! throttling, server errors, dropped connections, the Nth write failing before or after it
//! applies), and what a transient failure looks like in each service's own error shape.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use rand::{Rng, SeedableRng};

use crate::{FailMode, Faults, Service, Shared, lock};

/// The fault configuration and the state its decisions depend on.
pub(crate) struct FaultState {
    pub faults: Faults,
    pub generator: rand::rngs::StdRng,
    pub writes_seen: u64,
    /// Peering write conflicts handed out so far (they alternate in kind).
    pub peering_conflicts_taken: u64,
}

pub(crate) fn new_fault_state(faults: Faults) -> FaultState {
    FaultState {
        generator: rand::rngs::StdRng::seed_from_u64(faults.seed),
        faults,
        writes_seen: 0,
        peering_conflicts_taken: 0,
    }
}

/// Replaces the fault configuration; `fail_nth_write` counts from now.
pub(crate) fn replace_faults(shared: &Shared, faults: Faults) {
    *lock(&shared.faults) = new_fault_state(faults);
}

/// Token requests and the control listener are never faulted: tests and clients must always be
/// able to authenticate and to inspect the simulator.
pub(crate) fn is_faultable(service: Service, path: &str) -> bool {
    let is_token_request =
        service == Service::Identity || (service == Service::Github && path.starts_with("/_oidc/"));
    !is_token_request && service != Service::Control
}

/// What happens to one faultable request.
pub(crate) enum FaultDecision {
    None,
    Status(StatusCode, &'static str),
    Drop,
    FailWriteBefore,
    FailWriteAfter,
    FailWriteGatewayTimeout,
}

/// Draws the fault of one faultable request (and counts it, if it is a write).
pub(crate) fn decide_fault(shared: &Shared, is_write: bool) -> (Duration, FaultDecision) {
    let mut state = lock(&shared.faults);
    let latency = state.faults.latency;
    if is_write {
        state.writes_seen += 1;
        if state.faults.fail_nth_write == Some(state.writes_seen) {
            state.faults.fail_nth_write = None;
            return match state.faults.fail_mode {
                FailMode::Before => (latency, FaultDecision::FailWriteBefore),
                FailMode::After => (latency, FaultDecision::FailWriteAfter),
                FailMode::GatewayTimeout => (latency, FaultDecision::FailWriteGatewayTimeout),
            };
        }
    }
    let draw: f64 = state.generator.r#gen();
    let faults = &state.faults;
    let mut threshold = faults.rate_drop.max(0.0);
    if draw < threshold {
        return (latency, FaultDecision::Drop);
    }
    threshold += faults.rate_429.max(0.0);
    if draw < threshold {
        return (
            latency,
            FaultDecision::Status(StatusCode::TOO_MANY_REQUESTS, "429"),
        );
    }
    threshold += faults.rate_500.max(0.0);
    if draw < threshold {
        return (
            latency,
            FaultDecision::Status(StatusCode::INTERNAL_SERVER_ERROR, "500"),
        );
    }
    threshold += faults.rate_503.max(0.0);
    if draw < threshold {
        return (
            latency,
            FaultDecision::Status(StatusCode::SERVICE_UNAVAILABLE, "503"),
        );
    }
    (latency, FaultDecision::None)
}

/// Why a peering write finds its VNet busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeeringConflict {
    /// `400 ReferencedResourceNotProvisioned`: the VNet is `Updating` (someone changes a subnet).
    VnetUpdating,
    /// `409 AnotherOperationInProgress`: another operation on the VNet is running.
    AnotherOperation,
}

/// Takes one of the configured peering write conflicts, if any are left: they alternate,
/// starting with the VNet being `Updating`.
pub(crate) fn take_peering_conflict(shared: &Shared) -> Option<PeeringConflict> {
    let mut state = lock(&shared.faults);
    if state.faults.peering_write_conflicts == 0 {
        return None;
    }
    state.faults.peering_write_conflicts -= 1;
    state.peering_conflicts_taken += 1;
    Some(if state.peering_conflicts_taken % 2 == 1 {
        PeeringConflict::VnetUpdating
    } else {
        PeeringConflict::AnotherOperation
    })
}

/// A transient failure in the service's own error shape.
pub(crate) fn fault_response(
    service: Service,
    status: StatusCode,
    is_write: bool,
) -> Response<Body> {
    use crate::http::json_response;
    let response = match service {
        Service::ResourceManager => {
            let (code, message) = match status {
                StatusCode::TOO_MANY_REQUESTS => (
                    "SubscriptionRequestsThrottled",
                    "Number of requests for subscription exceeded the limit. Please try again after 1 seconds.",
                ),
                StatusCode::SERVICE_UNAVAILABLE => (
                    "ServiceUnavailable",
                    "The server is currently unable to handle the request. Please retry the request.",
                ),
                StatusCode::GATEWAY_TIMEOUT => (
                    "GatewayTimeout",
                    "The gateway did not receive a response from the resource provider within the specified time period.",
                ),
                _ => (
                    "InternalServerError",
                    "Encountered internal server error. Please try again.",
                ),
            };
            crate::arm::arm_headers(
                json_response(
                    status,
                    serde_json::json!({"error": {"code": code, "message": message}}),
                ),
                is_write,
            )
        }
        Service::Graph => {
            let (code, message) = match status {
                StatusCode::TOO_MANY_REQUESTS => (
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                ),
                StatusCode::SERVICE_UNAVAILABLE => (
                    "serviceNotAvailable",
                    "The service is temporarily unavailable.",
                ),
                StatusCode::GATEWAY_TIMEOUT => (
                    "UnknownError",
                    "The gateway timed out waiting for the service.",
                ),
                _ => ("generalException", "An unexpected error occurred."),
            };
            crate::graph::graph_error(status, code, message)
        }
        Service::Aiven => {
            let message = match status {
                StatusCode::TOO_MANY_REQUESTS => "Too many requests",
                StatusCode::SERVICE_UNAVAILABLE => "Service temporarily unavailable",
                StatusCode::GATEWAY_TIMEOUT => "Gateway timeout",
                _ => "Internal server error",
            };
            crate::aiven::aiven_error(status, "transient_error", message)
        }
        _ => {
            let message = match status {
                StatusCode::TOO_MANY_REQUESTS => "API rate limit exceeded",
                StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
                StatusCode::GATEWAY_TIMEOUT => "Gateway Timeout",
                _ => "Server Error",
            };
            crate::github::github_error(status, message)
        }
    };
    if status == StatusCode::TOO_MANY_REQUESTS {
        crate::http::with_header(response, "retry-after", "1")
    } else {
        response
    }
}
