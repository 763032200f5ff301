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
    /// Names (guids, lower case) of the role assignments of Aiven's service principal in the
    /// user tenant: Aiven checks `peer/action` when the connection leaves APPROVED, so that
    /// assignment must be effective one PENDING_PEER delay after the connection's creation.
    pub aiven_assignments: Vec<String>,
    /// When (simulator milliseconds) Aiven's service principal was created in the user
    /// tenant, if during the run: that creation needs no application of ours (Aiven's app
    /// lives in Aiven's tenant), unlike the user app's service principal. The log does not
    /// say which principal a POST made, so the write answered nearest this time is Aiven's.
    pub aiven_principal_created_ms: Option<u64>,
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
    /// Aiven's service principal in the user tenant (`FloorModel::aiven_principal_created_ms`).
    AivenServicePrincipal,
    /// A role assignment of Aiven's service principal (`FloorModel::aiven_assignments`).
    AivenRoleAssignment,
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
        // Made from Aiven's own app: no application of ours before it.
        Kind::AivenServicePrincipal => &[Kind::Token],
        Kind::AivenRoleAssignment => &[
            Kind::Token,
            Kind::AivenServicePrincipal,
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
    last_aiven_assignment_write: Option<u64>,
    last_role_definition_write: Option<u64>,
    last_service_principal_write: Option<u64>,
    last_aiven_principal_write: Option<u64>,
    last_connection_create: Option<u64>,
    last_peering_write: Option<u64>,
}

impl Events {
    fn before(
        records: &[RequestRecord],
        model: &FloorModel,
        aiven_principal: Option<usize>,
    ) -> Events {
        let mut events = Events {
            last_application_write: None,
            last_password_write: None,
            last_role_assignment_write: None,
            last_aiven_assignment_write: None,
            last_role_definition_write: None,
            last_service_principal_write: None,
            last_aiven_principal_write: None,
            last_connection_create: None,
            last_peering_write: None,
        };
        for (index, record) in records.iter().enumerate() {
            if let Some(kind) = kind_of(records, index, model, aiven_principal) {
                events.note(record, kind, record.at_millis);
            }
        }
        events
    }

    /// Records an answered write that completed at `at`: the logged time before the window,
    /// the ideal client's time inside it (so a slow client does not move the gates later).
    fn note(&mut self, record: &RequestRecord, kind: Kind, at: u64) {
        if !record.write || !is_answer(record) {
            return;
        }
        let at = Some(at);
        match Some(kind) {
            Some(Kind::Application) => self.last_application_write = at,
            Some(Kind::Credential) if record.path.ends_with("addPassword") => {
                self.last_password_write = at
            }
            Some(Kind::AivenRoleAssignment) => self.last_aiven_assignment_write = at,
            Some(Kind::AivenServicePrincipal) => self.last_aiven_principal_write = at,
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

    /// When Aiven's grant in its tenant had propagated (its role assignment takes effect like
    /// any other, for tokens issued after).
    fn grant_effective(&self, delays: &Delays) -> Option<u64> {
        self.granted(delays)
            .map(|granted| granted + millis(delays.role_propagation))
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
                gate = gate.max(events.grant_effective(delays).unwrap_or(0));
            }
            gate
        }
        Kind::ServicePrincipal | Kind::Credential if record.write => {
            after(events.last_application_write, delays.graph_replication_lag)
        }
        // A new custom role and a new service principal stay unknown to role assignments for
        // a while.
        Kind::AivenRoleAssignment if record.write => after(
            events.last_role_definition_write,
            delays.role_definition_replication,
        )
        .max(after(
            // Not told apart (no creation time): any principal written may be Aiven's.
            events
                .last_aiven_principal_write
                .or(events.last_service_principal_write),
            delays.assignment_principal_lag,
        )),
        Kind::RoleAssignment if record.write => after(
            events.last_role_definition_write,
            delays.role_definition_replication,
        )
        .max(after(
            events.last_service_principal_write,
            delays.assignment_principal_lag,
        )),
        Kind::Operation => after(events.last_peering_write, delays.lro_retry_after()),
        // Aiven checks `peer/action` only when the connection leaves APPROVED, one PENDING_PEER
        // delay after its creation (cloud-sim's `drive_one`, like Aiven): the Aiven app's
        // assignment must be effective then, not at the creation.
        Kind::AivenConnection if record.method == "POST" => {
            after(events.last_aiven_assignment_write, delays.role_propagation)
                .saturating_sub(millis(delays.aiven_pending_peer_delay))
        }
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
    let aiven_principal = aiven_principal_write(records, model);
    let mut events = Events::before(&records[..window.start], model, aiven_principal);
    let last_aiven_read = records[window.clone()]
        .iter()
        .rposition(|record| classify(record) == Some(Kind::AivenProject) && is_answer(record))
        .map(|index| index + window.start);
    // (kind, is_write, finish, chain, waiting) of the answered requests so far.
    let mut done: Vec<(Kind, bool, u64, usize, u64)> = Vec::new();
    let mut best = Floor::default();
    for index in window {
        let record = &records[index];
        let Some(kind) = kind_of(records, index, model, aiven_principal) else {
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
            events.note(record, kind, finish);
        }
    }
    best
}

/// A role assignment of Aiven's service principal, by its name at the end of the path.
fn is_aiven_assignment(record: &RequestRecord, model: &FloorModel) -> bool {
    let name = record
        .path
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    model.aiven_assignments.contains(&name)
}

/// The kind of `records[index]`, telling Aiven's service principal and its assignments apart
/// from the user app's (their chains are independent).
fn kind_of(
    records: &[RequestRecord],
    index: usize,
    model: &FloorModel,
    aiven_principal: Option<usize>,
) -> Option<Kind> {
    let record = &records[index];
    match classify(record)? {
        Kind::ServicePrincipal if Some(index) == aiven_principal => {
            Some(Kind::AivenServicePrincipal)
        }
        Kind::RoleAssignment if is_aiven_assignment(record, model) => {
            Some(Kind::AivenRoleAssignment)
        }
        kind => Some(kind),
    }
}

/// The index of the logged write that created Aiven's service principal: the answered
/// service-principal POST nearest its creation time, within a quarter second.
fn aiven_principal_write(records: &[RequestRecord], model: &FloorModel) -> Option<usize> {
    let created = model.aiven_principal_created_ms?;
    records
        .iter()
        .enumerate()
        .filter(|(_, record)| {
            record.write
                && record.method == "POST"
                && is_answer(record)
                && classify(record) == Some(Kind::ServicePrincipal)
        })
        .map(|(index, record)| (record.at_millis.abs_diff(created), index))
        .filter(|(distance, _)| *distance <= 250)
        .min()
        .map(|(_, index)| index)
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
            aiven_assignments: Vec::new(),
            aiven_principal_created_ms: None,
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
    /// cloud-sim checks the Aiven app's `peer/action` when the connection leaves APPROVED
    /// (`drive_one`), so the connection may be created up to one PENDING_PEER delay before
    /// the assignment is effective, and no earlier than the project read and the application.
    #[test]
    fn the_connection_waits_for_the_aiven_assignment_less_the_pending_peer_delay() {
        let log = |assignment: &str| {
            [
                record("identity", "POST", "/t/oauth2/v2.0/token", 50),
                record(
                    "arm",
                    "PUT",
                    &format!(
                        "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/{assignment}"
                    ),
                    100,
                ),
                record("aiven", "GET", "/v1/project/p/vpcs/v", 150),
                record(
                    "aiven",
                    "POST",
                    "/v1/project/p/vpcs/v/peering-connections",
                    9_000,
                ),
                record("aiven", "GET", "/v1/project/p/vpcs/v", 20_000),
            ]
        };
        let mut model = model();
        model.aiven_assignments = vec!["aiven-guid".to_string()];
        model.delays.aiven_pending_peer_delay = Duration::from_millis(3000);
        model.delays.role_propagation = Duration::from_millis(5000);
        let records = log("AIVEN-GUID");
        let propagating = floor(
            &records,
            0..records.len(),
            Duration::ZERO,
            Awaited::PendingPeer,
            &model,
        );
        // Assignment written at 100, effective at 5100; the connection created at 2150 is
        // checked at 5150; the read that sees PENDING_PEER answers at 5200. The assignment is a
        // gate, not a link: the chain is the project read, the creation and the read.
        assert_eq!(propagating.time, Duration::from_millis(5200));
        assert_eq!(propagating.chain, 3);
        assert_eq!(propagating.waiting, Duration::from_millis(2050 + 3000));

        // A propagation shorter than the PENDING_PEER delay gates nothing.
        model.delays.role_propagation = Duration::from_millis(1000);
        let quick = floor(
            &records,
            0..records.len(),
            Duration::ZERO,
            Awaited::PendingPeer,
            &model,
        );
        assert_eq!(quick.time, Duration::from_millis(3150));
        assert_eq!(quick.chain, 3);

        // Another principal's assignment does not gate the connection.
        model.delays.role_propagation = Duration::from_millis(5000);
        let other = log("user-guid");
        let ungated = floor(
            &other,
            0..other.len(),
            Duration::ZERO,
            Awaited::PendingPeer,
            &model,
        );
        assert_eq!(ungated.time, Duration::from_millis(3150));
    }
    /// Aiven's service principal is made from Aiven's own app: it waits for no application of
    /// ours and its replication, while the user app's service principal does.
    #[test]
    fn aivens_service_principal_needs_no_application_of_ours() {
        let mut model = model();
        model.aiven_assignments = vec!["a".to_string()];
        model.delays.graph_replication_lag = Duration::from_millis(2000);
        model.delays.assignment_principal_lag = Duration::from_millis(4000);
        let log = [
            record("identity", "POST", "/t/oauth2/v2.0/token", 50),
            record("graph", "POST", "/v1.0/applications", 100),
            record("graph", "POST", "/v1.0/servicePrincipals", 2150),
            record(
                "arm",
                "PUT",
                "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a",
                6200,
            ),
        ];
        let floor_of =
            |model: &FloorModel| floor(&log, 0..log.len(), Duration::ZERO, Awaited::Nothing, model);
        // Unknown: the principal is the app's, 2 s after the application, the assignment 4 s
        // after the principal.
        assert_eq!(floor_of(&model).time, Duration::from_millis(6200));
        // Aiven's, made at 2150 in this log: it could have been made right after the token.
        model.aiven_principal_created_ms = Some(2100);
        let aivens = floor_of(&model);
        assert_eq!(aivens.time, Duration::from_millis(4150));
        assert_eq!(aivens.waiting, Duration::from_millis(4000));
        // A creation time far from every logged write names none of them.
        model.aiven_principal_created_ms = Some(9000);
        assert_eq!(floor_of(&model).time, Duration::from_millis(6200));

        // Both chains: the user app's principal, written later, does not hold up Aiven's
        // assignment, which waits only for Aiven's principal.
        let both = [
            record("identity", "POST", "/t/oauth2/v2.0/token", 50),
            record("graph", "POST", "/v1.0/servicePrincipals", 100),
            record("graph", "POST", "/v1.0/applications", 150),
            record("graph", "POST", "/v1.0/servicePrincipals", 2200),
            record(
                "arm",
                "PUT",
                "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a",
                4150,
            ),
        ];
        model.aiven_principal_created_ms = Some(100);
        let aiven_assignment = floor(&both, 0..4, Duration::ZERO, Awaited::Nothing, &model);
        let with_it = floor(
            &both,
            0..both.len(),
            Duration::ZERO,
            Awaited::Nothing,
            &model,
        );
        // Without the assignment the user's principal ends last (application 100 + 2000 + 50)...
        assert_eq!(aiven_assignment.time, Duration::from_millis(2150));
        // ...with it, Aiven's principal (100) + 4000 + 50, not the user's 2150 + 4000 + 50.
        assert_eq!(with_it.time, Duration::from_millis(4150));
    }
}
