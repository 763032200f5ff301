//! Fault injection: which requests may be faulted, what the dice decide for each (latency,
//! throttling, server errors, dropped connections, the Nth write failing before or after it
//! applies, a chosen write held until the test has killed its client), and what a transient
//! failure looks like in each service's own error shape.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};

use crate::{FailMode, Faults, Service, Shared, lock};

/// The fault configuration and the state its decisions depend on.
pub(crate) struct FaultState {
    pub faults: Faults,
    pub generator: rand::rngs::StdRng,
    pub writes_seen: u64,
    /// Peering write conflicts handed out so far (they alternate in kind).
    pub peering_conflicts_taken: u64,
    /// Writes matching `faults.hold_write` seen since the faults were set.
    pub hold_matches_seen: u64,
    /// Random faults injected since the faults were set (for `max_faults`).
    pub random_faults_injected: u64,
}

pub(crate) fn new_fault_state(faults: Faults) -> FaultState {
    FaultState {
        generator: rand::rngs::StdRng::seed_from_u64(faults.seed),
        faults,
        writes_seen: 0,
        peering_conflicts_taken: 0,
        hold_matches_seen: 0,
        random_faults_injected: 0,
    }
}

/// Replaces the fault configuration; `fail_nth_write` and `hold_write` count from now.
pub(crate) fn replace_faults(shared: &Shared, faults: Faults) {
    *lock(&shared.faults) = new_fault_state(faults);
}

/// Requests for tokens: the identity listener and the Actions OIDC endpoint.
fn is_token_request(service: Service, path: &str) -> bool {
    service == Service::Identity || (service == Service::Github && path.starts_with("/_oidc/"))
}

/// The control listener is never faulted (tests must always be able to inspect the
/// simulator); token requests only when `token_faults` is set.
pub(crate) fn is_faultable(shared: &Shared, service: Service, path: &str) -> bool {
    if service == Service::Control {
        return false;
    }
    !is_token_request(service, path) || lock(&shared.faults).faults.token_faults
}

/// State-changing requests: POST/PUT/PATCH/DELETE on Graph, ARM, Aiven and GitHub (not token
/// requests, which change nothing a client could see, nor Graph's read-only action
/// `POST /directoryObjects/getByIds`, which looks objects up).
pub(crate) fn is_write(service: Service, path: &str, method: &axum::http::Method) -> bool {
    use axum::http::Method;
    let read_only_action = service == Service::Graph
        && *method == Method::POST
        && path
            .trim_end_matches('/')
            .ends_with("/directoryObjects/getByIds");
    service != Service::Control
        && !is_token_request(service, path)
        && !read_only_action
        && matches!(
            *method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        )
}

/// A request's route: its path with GUIDs and numeric ids replaced by `{id}`, so the same write
/// has the same route in every simulator run.
pub(crate) fn route_of(path: &str) -> String {
    let mut route = String::with_capacity(path.len());
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(length) = guid_prefix_length(rest) {
            route.push_str("{id}");
            rest = &rest[length..];
            continue;
        }
        let segment_start = route.is_empty() || route.ends_with('/');
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let ends_segment = rest[digits..].is_empty() || rest[digits..].starts_with('/');
        if segment_start && digits > 0 && ends_segment {
            route.push_str("{id}");
            rest = &rest[digits..];
            continue;
        }
        let character = rest.chars().next().unwrap_or_default();
        route.push(character);
        rest = &rest[character.len_utf8()..];
    }
    route
}

/// The length of a GUID (8-4-4-4-12 hex digits) at the start of `text`, if there is one.
fn guid_prefix_length(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut position = 0;
    for (index, group) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if index > 0 {
            if bytes.get(position) != Some(&b'-') {
                return None;
            }
            position += 1;
        }
        for _ in 0..group {
            if !bytes.get(position).is_some_and(u8::is_ascii_hexdigit) {
                return None;
            }
            position += 1;
        }
    }
    let boundary = bytes
        .get(position)
        .is_none_or(|next| !next.is_ascii_alphanumeric());
    boundary.then_some(position)
}

/// What happens to one faultable request.
pub(crate) enum FaultDecision {
    None,
    Status(StatusCode, &'static str),
    Drop,
    FailWriteBefore,
    FailWriteAfter,
    FailWriteGatewayTimeout,
    Hold,
}

/// The request being decided on.
pub(crate) struct Candidate<'a> {
    pub method: &'a str,
    pub service: Service,
    pub route: &'a str,
    pub is_write: bool,
}

/// Draws the fault of one faultable request (and counts it, if it is a write).
pub(crate) fn decide_fault(shared: &Shared, candidate: &Candidate) -> (Duration, FaultDecision) {
    let mut state = lock(&shared.faults);
    let latency = state.faults.latency;
    if candidate.is_write {
        let held = state.faults.hold_write.as_ref().is_some_and(|selector| {
            selector.matches(candidate.method, candidate.service.label(), candidate.route)
        });
        if held {
            state.hold_matches_seen += 1;
            let wanted = state
                .faults
                .hold_write
                .as_ref()
                .map_or(0, |selector| selector.occurrence.max(1));
            if state.hold_matches_seen == wanted {
                state.faults.hold_write = None;
                return (latency, FaultDecision::Hold);
            }
        }
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
    if state
        .faults
        .max_faults
        .is_some_and(|most| state.random_faults_injected >= most)
    {
        return (latency, FaultDecision::None);
    }
    let draw: f64 = state.generator.r#gen();
    let decision = draw_fault(&state.faults, draw);
    if !matches!(decision, FaultDecision::None) {
        state.random_faults_injected += 1;
    }
    (latency, decision)
}

/// The random fault a draw in [0, 1) picks.
fn draw_fault(faults: &Faults, draw: f64) -> FaultDecision {
    let choices = [
        (faults.rate_drop, FaultDecision::Drop),
        (
            faults.rate_429,
            FaultDecision::Status(StatusCode::TOO_MANY_REQUESTS, "429"),
        ),
        (
            faults.rate_500,
            FaultDecision::Status(StatusCode::INTERNAL_SERVER_ERROR, "500"),
        ),
        (
            faults.rate_503,
            FaultDecision::Status(StatusCode::SERVICE_UNAVAILABLE, "503"),
        ),
    ];
    let mut threshold = 0.0;
    for (rate, decision) in choices {
        threshold += rate.max(0.0);
        if draw < threshold {
            return decision;
        }
    }
    FaultDecision::None
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
        Service::Identity => {
            let (error, code, message) = match status {
                StatusCode::TOO_MANY_REQUESTS => (
                    "temporarily_unavailable",
                    90055,
                    "The tenant is being throttled: too many requests. Please try again later.",
                ),
                _ => (
                    "temporarily_unavailable",
                    50000,
                    "There was an error issuing a token or an issue with our sign-in service. Please try again.",
                ),
            };
            crate::identity::aad_error(status, error, code, message)
        }
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

/// A write held by `Faults::hold_write`, as the test sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldWrite {
    pub method: String,
    pub service: String,
    pub path: String,
    pub route: String,
}

/// What the test decided for a held write, and where to say it is done.
pub(crate) struct Release {
    pub apply: bool,
    pub done: oneshot::Sender<()>,
}

/// The write being held, if any, and a bell for whoever waits for one.
#[derive(Default)]
pub(crate) struct Holds {
    slot: std::sync::Mutex<Option<(HeldWrite, Option<oneshot::Sender<Release>>)>>,
    arrived: Notify,
}

impl Holds {
    /// Keeps `write` until a release is sent through the returned channel's sender.
    pub(crate) fn hold(&self, write: HeldWrite) -> oneshot::Receiver<Release> {
        let (sender, receiver) = oneshot::channel();
        *lock(&self.slot) = Some((write, Some(sender)));
        self.arrived.notify_waiters();
        receiver
    }

    /// Waits until a write is held and returns it.
    pub(crate) async fn held(&self) -> HeldWrite {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some((write, _)) = lock(&self.slot).as_ref() {
                return write.clone();
            }
            arrived.await;
        }
    }

    /// The held write, if one is held now.
    pub(crate) fn current(&self) -> Option<HeldWrite> {
        lock(&self.slot).as_ref().map(|(write, _)| write.clone())
    }

    /// Applies or drops the held write and waits until that is done; `None` if nothing is held.
    pub(crate) async fn release(&self, apply: bool) -> Option<HeldWrite> {
        let (write, sender) = lock(&self.slot).take()?;
        let (done, finished) = oneshot::channel();
        if let Some(sender) = sender
            && sender.send(Release { apply, done }).is_ok()
        {
            let _ = finished.await;
        }
        Some(write)
    }

    /// Forgets the held write (it is dropped): the simulator is going away.
    pub(crate) fn clear(&self) {
        lock(&self.slot).take();
    }
}

#[cfg(test)]
mod tests {
    use super::route_of;

    #[test]
    fn routes_replace_guids_and_numeric_ids() {
        assert_eq!(
            route_of(
                "/subscriptions/0b1c6a52-7f0e-4c4a-9d57-0e2b5a4c1f3e/providers/Microsoft.Authorization/roleDefinitions/1D2C6A52-7F0E-4C4A-9D57-0E2B5A4C1F3E"
            ),
            "/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{id}"
        );
        assert_eq!(
            route_of("/v1.0/applications(appId='0b1c6a52-7f0e-4c4a-9d57-0e2b5a4c1f3e')"),
            "/v1.0/applications(appId='{id}')"
        );
        assert_eq!(
            route_of("/repositories/123456/environments/production/secrets/NAME_2"),
            "/repositories/{id}/environments/production/secrets/NAME_2"
        );
        assert_eq!(
            route_of("/v1/project/acme-prod/vpcs"),
            "/v1/project/acme-prod/vpcs"
        );
    }
}
