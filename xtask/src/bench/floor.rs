//! The floor of a run: the least time any client could have taken for the requests it made,
//! given the simulator's fixed latency per request and its configured delays. Computed from the
//! request log alone, so the same function serves one phase, the whole procedure and the seed
//! replay (and, later, "time to ACTIVE ÷ critical path" for slower profiles).
//!
//! Every logged request gets a *kind* (token, application, role assignment, Aiven connection…).
//! A request can start only when the requests it needs have answered: the earlier requests of
//! its prerequisite kinds in the same window (a role assignment needs the service principal and
//! the role definition; a write needs the look before it), and not before the simulator lets it
//! succeed (its *gates*: a fresh token only after the role has propagated, the operation's
//! result after its `Retry-After`, PENDING_PEER after Aiven's delay…). Independent requests
//! overlap, so repeating a request of a kind (a poll, a page, a retry) never lengthens the
//! floor: the floor is what an ideal client with the same requests would need.

use cloud_sim::{Delays, RequestRecord};
use std::ops::Range;
use std::time::Duration;

/// The latency the simulator adds to token requests: its `latency` when token requests are
/// faultable (`token_faults`), none otherwise.
pub fn token_latency(config: &cloud_sim::SimConfig) -> Duration {
    if config.faults.token_faults {
        config.faults.latency
    } else {
        Duration::ZERO
    }
}

/// What the floor depends on besides the log.
#[derive(Debug, Clone)]
pub struct FloorModel {
    pub delays: Delays,
    /// Added to every Graph, ARM and Aiven request.
    pub latency: Duration,
    /// Added to every identity request.
    pub token_latency: Duration,
    /// The admin identity's app id (its tokens need no new password or grant).
    pub admin_app_id: String,
    /// Aiven's tenant (a token from it needs Aiven's grant).
    pub aiven_tenant_id: String,
}

/// What the last Aiven read of a window waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    Nothing,
    PendingPeer,
    Active,
}

/// The floor of a window of the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Floor {
    pub time: Duration,
    /// Requests on the longest chain.
    pub chain: usize,
    /// The part of `time` spent waiting for the simulator's delays on that chain.
    pub waiting: Duration,
}

/// The kind of a request, for its prerequisites and gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Token,
    Discovery,
    Subscriptions,
    Network,
    Peering,
    Operation,
    RoleDefinition,
    RoleAssignment,
    Application,
    ServicePrincipal,
    Credential,
    DirectoryLookup,
    AivenProject,
    AivenConnection,
}

fn classify(record: &RequestRecord) -> Option<Kind> {
    let path = record.path.to_ascii_lowercase();
    let kind = match record.service.as_str() {
        "identity" if record.method == "POST" => Kind::Token,
        "identity" => Kind::Discovery,
        "arm" if path.contains("/metadata/") => Kind::Discovery,
        "arm" if path.contains("/operations/") || path.contains("/operationresults/") => {
            Kind::Operation
        }
        "arm" if path.contains("/virtualnetworkpeerings") => Kind::Peering,
        "arm" if path.contains("/roleassignments") => Kind::RoleAssignment,
        "arm" if path.contains("/roledefinitions") => Kind::RoleDefinition,
        "arm" if path.contains("/virtualnetworks") => Kind::Network,
        "arm" => Kind::Subscriptions,
        "graph" if path.contains("/directoryobjects/") || path.ends_with("/organization") => {
            Kind::DirectoryLookup
        }
        "graph"
            if path.contains("/addpassword")
                || path.contains("/removepassword")
                || path.contains("/federatedidentitycredentials") =>
        {
            Kind::Credential
        }
        "graph" if path.contains("/serviceprincipals") => Kind::ServicePrincipal,
        "graph" => Kind::Application,
        "aiven" if record.method == "GET" => Kind::AivenProject,
        "aiven" => Kind::AivenConnection,
        _ => return None,
    };
    Some(kind)
}

/// The kinds whose earlier answers a request of `kind` needs.
fn prerequisites(kind: Kind) -> &'static [Kind] {
    match kind {
        Kind::Token => &[Kind::Credential],
        Kind::Discovery => &[],
        Kind::Subscriptions
        | Kind::Network
        | Kind::RoleDefinition
        | Kind::Application
        | Kind::DirectoryLookup => &[Kind::Token],
        Kind::ServicePrincipal | Kind::Credential => &[Kind::Token, Kind::Application],
        Kind::RoleAssignment => &[
            Kind::Token,
            Kind::ServicePrincipal,
            Kind::RoleDefinition,
            Kind::DirectoryLookup,
        ],
        Kind::Peering => &[Kind::Token, Kind::Operation],
        Kind::Operation => &[Kind::Peering],
        Kind::AivenProject => &[Kind::AivenConnection],
        Kind::AivenConnection => &[Kind::AivenProject, Kind::Application],
    }
}

/// Answers that only say "not yet" (replication, propagation, throttling, faults) are not part
/// of any ideal client's chain; their wait is the gate of the request that succeeded.
fn is_answer(record: &RequestRecord) -> bool {
    matches!(record.status, 200..=299 | 404 | 409)
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// The simulator's clock of what the log shows, for the gates.
struct Events {
    /// Completion times (simulator milliseconds) of earlier events.
    last_application_write: Option<u64>,
    last_password_write: Option<u64>,
    last_role_assignment_write: Option<u64>,
    last_role_definition_write: Option<u64>,
    last_service_principal_write: Option<u64>,
    last_connection_create: Option<u64>,
    last_peering_write: Option<u64>,
}

impl Events {
    fn before(records: &[RequestRecord]) -> Events {
        let mut events = Events {
            last_application_write: None,
            last_password_write: None,
            last_role_assignment_write: None,
            last_role_definition_write: None,
            last_service_principal_write: None,
            last_connection_create: None,
            last_peering_write: None,
        };
        for record in records {
            events.note(record, record.at_millis);
        }
        events
    }

    /// Records an answered write that completed at `at`: the logged time before the window,
    /// the ideal client's time inside it (so a slow client does not move the gates later).
    fn note(&mut self, record: &RequestRecord, at: u64) {
        if !record.write || !is_answer(record) {
            return;
        }
        let at = Some(at);
        match classify(record) {
            Some(Kind::Application) => self.last_application_write = at,
            Some(Kind::Credential) if record.path.ends_with("addPassword") => {
                self.last_password_write = at
            }
            Some(Kind::RoleAssignment) => self.last_role_assignment_write = at,
            Some(Kind::RoleDefinition) => self.last_role_definition_write = at,
            Some(Kind::ServicePrincipal) => self.last_service_principal_write = at,
            Some(Kind::AivenConnection) if record.method == "POST" => {
                self.last_connection_create = at
            }
            Some(Kind::Peering) if record.method == "PUT" => self.last_peering_write = at,
            _ => {}
        }
    }

    /// When the last created Aiven connection reached PENDING_PEER.
    fn pending_peer(&self, delays: &Delays) -> Option<u64> {
        self.last_connection_create
            .map(|created| created + millis(delays.aiven_pending_peer_delay))
    }

    /// When Aiven had granted the user app in its tenant.
    fn granted(&self, delays: &Delays) -> Option<u64> {
        self.pending_peer(delays)
            .map(|pending| pending + millis(delays.aiven_grant_lag))
    }

    /// When the connection turned ACTIVE: the user side is seen once its operation is done,
    /// ACTIVE follows `aiven_active_delay` later, and never before the grant.
    fn active(&self, delays: &Delays) -> Option<u64> {
        let seen = self.last_peering_write? + millis(delays.lro_duration);
        let active = seen + millis(delays.aiven_active_delay);
        Some(active.max(self.granted(delays).unwrap_or(0)))
    }
}

/// The earliest simulator time `record` can succeed at, from the events before it.
fn gate(record: &RequestRecord, kind: Kind, events: &Events, model: &FloorModel) -> u64 {
    let delays = &model.delays;
    let after = |event: Option<u64>, delay: Duration| event.map_or(0, |at| at + millis(delay));
    match kind {
        Kind::Token => {
            if is_admin_token(record, model) {
                return 0;
            }
            let identity = record.identity.as_deref().unwrap_or("");
            let tenant = identity.split_once('/').map_or("", |(tenant, _)| tenant);
            // A user-app token: its password must have replicated, it must be issued after the
            // role assignments took effect ("only to fresh tokens"), and Aiven's tenant issues
            // one only after Aiven's grant.
            let mut gate = after(events.last_password_write, delays.password_propagation).max(
                after(events.last_role_assignment_write, delays.role_propagation),
            );
            if tenant == model.aiven_tenant_id {
                gate = gate.max(events.granted(delays).unwrap_or(0));
            }
            gate
        }
        Kind::ServicePrincipal | Kind::Credential if record.write => {
            after(events.last_application_write, delays.graph_replication_lag)
        }
        // A new custom role and a new service principal stay unknown to role assignments for
        // a while.
        Kind::RoleAssignment if record.write => after(
            events.last_role_definition_write,
            delays.role_definition_replication,
        )
        .max(after(
            events.last_service_principal_write,
            delays.assignment_principal_lag,
        )),
        Kind::Operation => after(events.last_peering_write, delays.lro_retry_after()),
        _ => 0,
    }
}

/// The floor of `records[window]`, starting at simulator time `start` (the process start).
/// Gates see every record before the window too (a role assigned in an earlier phase).
/// `awaited` says what the window's last Aiven read waited for.
pub fn floor(
    records: &[RequestRecord],
    window: Range<usize>,
    start: Duration,
    awaited: Awaited,
    model: &FloorModel,
) -> Floor {
    let start = millis(start);
    let mut events = Events::before(&records[..window.start]);
    let last_aiven_read = records[window.clone()]
        .iter()
        .rposition(|record| classify(record) == Some(Kind::AivenProject) && is_answer(record))
        .map(|index| index + window.start);
    // (kind, is_write, finish, chain, waiting) of the answered requests so far.
    let mut done: Vec<(Kind, bool, u64, usize, u64)> = Vec::new();
    let mut best = Floor::default();
    for index in window {
        let record = &records[index];
        let Some(kind) = classify(record) else {
            continue;
        };
        if is_answer(record) {
            let needs = if kind == Kind::Token && is_admin_token(record, model) {
                &[]
            } else {
                prerequisites(kind)
            };
            let predecessor = done
                .iter()
                .filter(|(earlier, earlier_write, ..)| {
                    needs.contains(earlier) || (*earlier == kind && record.write && !earlier_write)
                })
                .max_by_key(|(_, _, finish, ..)| *finish);
            let (mut ready, chain, mut waiting) = match predecessor {
                Some(&(_, _, finish, chain, waiting)) if finish > start => (finish, chain, waiting),
                Some(&(_, _, _, chain, waiting)) => (start, chain, waiting),
                None => (start, 0, 0),
            };
            let mut gate = gate(record, kind, &events, model);
            if Some(index) == last_aiven_read {
                gate = gate.max(match awaited {
                    Awaited::Nothing => 0,
                    Awaited::PendingPeer => events.pending_peer(&model.delays).unwrap_or(0),
                    Awaited::Active => events.active(&model.delays).unwrap_or(0),
                });
            }
            if gate > ready {
                waiting += gate - ready;
                ready = gate;
            }
            let latency = match kind {
                Kind::Token | Kind::Discovery if record.service == "identity" => {
                    model.token_latency
                }
                _ => model.latency,
            };
            let finish = ready + millis(latency);
            done.push((kind, record.write, finish, chain + 1, waiting));
            if finish - start >= millis(best.time) {
                best = Floor {
                    time: Duration::from_millis(finish - start),
                    chain: chain + 1,
                    waiting: Duration::from_millis(waiting),
                };
            }
            events.note(record, finish);
        }
    }
    best
}

/// A token of the admin identity (or of no identity): it needs no new password or grant.
fn is_admin_token(record: &RequestRecord, model: &FloorModel) -> bool {
    let identity = record.identity.as_deref().unwrap_or("");
    let app = identity.split_once('/').map_or("", |(_, app)| app);
    app.is_empty() || app == model.admin_app_id
}

/// How many rounds of requests the client actually made one after another: requests whose
/// time on the wire (`latency` before their logged answer) overlaps count as one round.
pub fn sequential_rounds(records: &[RequestRecord], model: &FloorModel) -> usize {
    let mut spans: Vec<(u64, u64)> = records
        .iter()
        .filter(|record| classify(record).is_some())
        .map(|record| {
            let latency = if record.service == "identity" {
                model.token_latency
            } else {
                model.latency
            };
            (
                record.at_millis.saturating_sub(millis(latency)),
                record.at_millis,
            )
        })
        .collect();
    spans.sort_unstable();
    let mut rounds = 0;
    let mut current_end = None;
    for (begin, end) in spans {
        match current_end {
            Some(previous) if begin < previous => current_end = Some(previous.max(end)),
            _ => {
                rounds += 1;
                current_end = Some(end);
            }
        }
    }
    rounds
}

/// Requests the simulator refused with a "not yet" (replication, propagation, throttling).
pub fn refused(records: &[RequestRecord]) -> usize {
    records
        .iter()
        .filter(|record| classify(record).is_some() && !is_answer(record))
        .count()
}

/// The longest time the client had no request on the wire, from `start` to its last answer.
pub fn longest_pause(records: &[RequestRecord], start: Duration, model: &FloorModel) -> Duration {
    let mut previous_end = millis(start);
    let mut longest = 0;
    let mut spans: Vec<(u64, u64)> = records
        .iter()
        .filter(|record| classify(record).is_some())
        .map(|record| {
            let latency = if record.service == "identity" {
                model.token_latency
            } else {
                model.latency
            };
            (
                record.at_millis.saturating_sub(millis(latency)),
                record.at_millis,
            )
        })
        .collect();
    spans.sort_unstable();
    for (begin, end) in spans {
        longest = longest.max(begin.saturating_sub(previous_end));
        previous_end = previous_end.max(end);
    }
    Duration::from_millis(longest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(service: &str, method: &str, path: &str, at: u64) -> RequestRecord {
        RequestRecord {
            method: method.to_string(),
            service: service.to_string(),
            path: path.to_string(),
            route: path.to_string(),
            status: 200,
            identity: Some("tenant/admin".to_string()),
            write: method != "GET" && service != "identity",
            fault: None,
            at_millis: at,
        }
    }

    fn model() -> FloorModel {
        FloorModel {
            delays: Delays::zero(),
            latency: Duration::from_millis(50),
            token_latency: Duration::from_millis(50),
            admin_app_id: "admin".to_string(),
            aiven_tenant_id: "aiven".to_string(),
        }
    }

    #[test]
    fn independent_requests_overlap_and_dependent_ones_chain() {
        // token → (VNet ∥ role definitions ∥ application) → service principal → assignment
        let log = [
            record("identity", "POST", "/t/oauth2/v2.0/token", 50),
            record(
                "arm",
                "GET",
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v",
                100,
            ),
            record(
                "arm",
                "GET",
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions",
                150,
            ),
            record("graph", "GET", "/v1.0/applications(uniqueName='x')", 200),
            record("graph", "PATCH", "/v1.0/applications(uniqueName='x')", 250),
            record("graph", "POST", "/v1.0/servicePrincipals", 300),
            record(
                "arm",
                "GET",
                "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments",
                350,
            ),
            record(
                "arm",
                "PUT",
                "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a",
                400,
            ),
        ];
        let floor = floor(
            &log,
            0..log.len(),
            Duration::ZERO,
            Awaited::Nothing,
            &model(),
        );
        // token, application read, application write, SP, assignment read, assignment write
        assert_eq!(floor.chain, 6);
        assert_eq!(floor.time, Duration::from_millis(300));
        assert_eq!(floor.waiting, Duration::ZERO);
        assert_eq!(sequential_rounds(&log, &model()), 8);
    }

    #[test]
    fn a_poll_waits_for_the_simulators_delay_and_repeats_add_nothing() {
        let mut model = model();
        model.delays.aiven_pending_peer_delay = Duration::from_millis(1000);
        let log = [
            record("aiven", "GET", "/v1/project/p/vpcs/v", 50),
            record(
                "aiven",
                "POST",
                "/v1/project/p/vpcs/v/peering-connections",
                100,
            ),
            record("aiven", "GET", "/v1/project/p/vpcs/v", 150),
            record("aiven", "GET", "/v1/project/p/vpcs/v", 10_150),
        ];
        let floor = floor(
            &log,
            0..log.len(),
            Duration::ZERO,
            Awaited::PendingPeer,
            &model,
        );
        // PENDING_PEER at 100 + 1000; the read that saw it answers 50 later.
        assert_eq!(floor.time, Duration::from_millis(1150));
        assert_eq!(floor.chain, 3);
        assert_eq!(floor.waiting, Duration::from_millis(1000));
        assert_eq!(
            longest_pause(&log, Duration::ZERO, &model),
            Duration::from_millis(9950)
        );
    }

    #[test]
    fn refusals_are_left_out_and_the_operation_waits_for_its_retry_after() {
        let mut log = vec![
            record("identity", "POST", "/t/oauth2/v2.0/token", 50),
            record(
                "arm",
                "PUT",
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/virtualNetworkPeerings/p",
                100,
            ),
            record(
                "arm",
                "GET",
                "/subscriptions/s/providers/Microsoft.Network/locations/l/operations/o",
                1150,
            ),
        ];
        let mut not_yet = log[1].clone();
        not_yet.status = 403;
        log.insert(1, not_yet);
        let floor = floor(
            &log,
            0..log.len(),
            Duration::ZERO,
            Awaited::Nothing,
            &model(),
        );
        // token 0–50, PUT 50–100, Retry-After 1 s, operation read 1100–1150
        assert_eq!(refused(&log), 1);
        assert_eq!(floor.time, Duration::from_millis(1150));
        assert_eq!(floor.chain, 3);
        assert_eq!(floor.waiting, Duration::from_millis(1000));
    }
}
