//! Simulator configuration: the clock's delays, the fault-injection knobs and the start options.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Every time-based behaviour of the simulated services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Delays {
    /// How long a new Graph object (application, service principal) stays invisible to reads.
    #[serde(with = "duration_text")]
    pub graph_replication_lag: Duration,
    /// How long a new role assignment takes before it grants anything (and then only to fresh tokens).
    #[serde(with = "duration_text")]
    pub role_propagation: Duration,
    /// How long a new password is refused by the token endpoint after `addPassword`.
    #[serde(with = "duration_text")]
    pub password_propagation: Duration,
    /// APPROVED → PENDING_PEER (or INVALID_SPECIFICATION) on the Aiven side.
    #[serde(with = "duration_text")]
    pub aiven_pending_peer_delay: Duration,
    /// After PENDING_PEER, until Aiven has created the user app's service principal and its
    /// `peer/action` grant in the Aiven tenant.
    #[serde(with = "duration_text")]
    pub aiven_grant_lag: Duration,
    /// PENDING_PEER → ACTIVE once the user-side peering exists.
    #[serde(with = "duration_text")]
    pub aiven_active_delay: Duration,
    /// DELETING → DELETED, and DELETED → gone.
    #[serde(with = "duration_text")]
    pub aiven_delete_delay: Duration,
    /// How long an ARM peering PUT or DELETE stays `InProgress`.
    #[serde(with = "duration_text")]
    pub lro_duration: Duration,
    /// Lifetime of issued access tokens.
    #[serde(with = "duration_text")]
    pub token_lifetime: Duration,
    /// How long a new custom role definition stays unknown to role assignments
    /// (`RoleDefinitionDoesNotExist` right after the definition's PUT).
    #[serde(with = "duration_text")]
    pub role_definition_replication: Duration,
    /// How long a new service principal stays unknown to role assignments even when the request
    /// names `principalType` (`PrincipalNotFound`).
    #[serde(with = "duration_text")]
    pub assignment_principal_lag: Duration,
    /// Lifetime of the OIDC tokens the simulator issues (GitHub Actions, GitLab `id_tokens`);
    /// whole seconds, at least one.
    #[serde(with = "duration_text")]
    pub oidc_token_lifetime: Duration,
    /// Each delay above (but the token lifetimes) is drawn per object from
    /// `delay × (1 ± spread_percent / 100)`, so races between them go both ways across runs.
    pub spread_percent: u8,
}

impl Delays {
    /// Delays for in-process tests: 0.1–0.5 s.
    pub fn fast() -> Delays {
        Delays {
            graph_replication_lag: Duration::from_millis(200),
            role_propagation: Duration::from_millis(300),
            password_propagation: Duration::from_millis(200),
            aiven_pending_peer_delay: Duration::from_millis(200),
            aiven_grant_lag: Duration::from_millis(300),
            aiven_active_delay: Duration::from_millis(200),
            aiven_delete_delay: Duration::from_millis(200),
            lro_duration: Duration::from_millis(200),
            token_lifetime: Duration::from_secs(3599),
            role_definition_replication: Duration::from_millis(150),
            assignment_principal_lag: Duration::from_millis(300),
            oidc_token_lifetime: Duration::from_secs(600),
            spread_percent: 50,
        }
    }

    /// Delays for demos: 1–5 s, long enough to watch the retries happen.
    pub fn realistic() -> Delays {
        Delays {
            graph_replication_lag: Duration::from_secs(2),
            role_propagation: Duration::from_secs(5),
            password_propagation: Duration::from_secs(2),
            aiven_pending_peer_delay: Duration::from_secs(3),
            aiven_grant_lag: Duration::from_secs(3),
            aiven_active_delay: Duration::from_secs(3),
            aiven_delete_delay: Duration::from_secs(2),
            lro_duration: Duration::from_secs(2),
            token_lifetime: Duration::from_secs(3599),
            role_definition_replication: Duration::from_secs(3),
            assignment_principal_lag: Duration::from_secs(4),
            oidc_token_lifetime: Duration::from_secs(600),
            spread_percent: 50,
        }
    }

    /// No delay at all (tokens still live 3599 s): for tests that look at one behaviour only.
    pub fn zero() -> Delays {
        Delays {
            graph_replication_lag: Duration::ZERO,
            role_propagation: Duration::ZERO,
            password_propagation: Duration::ZERO,
            aiven_pending_peer_delay: Duration::ZERO,
            aiven_grant_lag: Duration::ZERO,
            aiven_active_delay: Duration::ZERO,
            aiven_delete_delay: Duration::ZERO,
            lro_duration: Duration::ZERO,
            token_lifetime: Duration::from_secs(3599),
            role_definition_replication: Duration::ZERO,
            assignment_principal_lag: Duration::ZERO,
            oidc_token_lifetime: Duration::from_secs(600),
            spread_percent: 0,
        }
    }

    /// `delay` as drawn for one object (named by `key`, e.g. its id): the same key always draws
    /// the same value, different keys spread over `delay × (1 ± spread_percent / 100)`.
    pub fn drawn(&self, delay: Duration, key: &str) -> Duration {
        if self.spread_percent == 0 || delay.is_zero() {
            return delay;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_ref()[..8]);
        let unit = (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
        let spread = f64::from(self.spread_percent.min(100)) / 100.0;
        delay.mul_f64(1.0 - spread + 2.0 * spread * unit)
    }
}

impl Delays {
    /// The `Retry-After` of a running ARM operation: `lro_duration` in whole seconds, rounded
    /// up, at least 1 s, as ARM sends it. A `0` would read as "no hint" to azure-core, whose
    /// pollers (the Azure CLI's) then wait their 30 s default.
    pub fn lro_retry_after(&self) -> Duration {
        let seconds = self.lro_duration.as_secs() + u64::from(self.lro_duration.subsec_nanos() > 0);
        Duration::from_secs(seconds.max(1))
    }
}

impl Default for Delays {
    fn default() -> Delays {
        Delays::realistic()
    }
}

/// What a write request selected by `fail_nth_write` suffers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailMode {
    /// Answer 500 without applying the write.
    #[default]
    Before,
    /// Apply the write, then close the connection without an answer.
    After,
    /// Apply the write, then answer 504: a gateway gave up waiting although the service acted.
    GatewayTimeout,
}

impl std::str::FromStr for FailMode {
    type Err = String;
    fn from_str(text: &str) -> Result<FailMode, String> {
        match text {
            "before" => Ok(FailMode::Before),
            "after" => Ok(FailMode::After),
            "gateway-timeout" => Ok(FailMode::GatewayTimeout),
            other => Err(format!(
                "unknown fail mode '{other}', expected 'before', 'after' or 'gateway-timeout'"
            )),
        }
    }
}

/// One write request, chosen for a crash test: the `occurrence`-th write from now (1 = the
/// first) that matches every given field. No field = any write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WriteSelector {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: Option<String>,
    /// `graph`, `arm`, `aiven` or `github`.
    pub service: Option<String>,
    /// The request's route as the request log gives it (`RequestRecord::route`).
    pub route: Option<String>,
    pub occurrence: u64,
}

impl WriteSelector {
    /// The `occurrence`-th write with this record's method, service and route.
    pub fn like(record: &crate::RequestRecord, occurrence: u64) -> WriteSelector {
        WriteSelector {
            method: Some(record.method.clone()),
            service: Some(record.service.clone()),
            route: Some(record.route.clone()),
            occurrence,
        }
    }

    /// The Nth write from now, whatever it is.
    pub fn nth(occurrence: u64) -> WriteSelector {
        WriteSelector {
            occurrence,
            ..WriteSelector::default()
        }
    }

    pub(crate) fn matches(&self, method: &str, service: &str, route: &str) -> bool {
        self.method.as_deref().is_none_or(|wanted| wanted == method)
            && self
                .service
                .as_deref()
                .is_none_or(|wanted| wanted == service)
            && self.route.as_deref().is_none_or(|wanted| wanted == route)
    }
}

impl std::fmt::Display for WriteSelector {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} {} {} #{}",
            self.method.as_deref().unwrap_or("any write"),
            self.service.as_deref().unwrap_or("*"),
            self.route.as_deref().unwrap_or("*"),
            self.occurrence
        )
    }
}

/// Fault injection for the Graph, ARM, Aiven and GitHub listeners (and, with `token_faults`,
/// the token endpoint and the Actions OIDC endpoint; never the control listener).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every faultable request before it is handled.
    #[serde(with = "duration_text")]
    pub latency: Duration,
    /// Probability (0–1) of a 429 with `Retry-After: 1`.
    pub rate_429: f64,
    /// Probability (0–1) of a 500.
    pub rate_500: f64,
    /// Probability (0–1) of a 503.
    pub rate_503: f64,
    /// Probability (0–1) of closing the connection without an answer.
    pub rate_drop: f64,
    /// The Nth write request from now (1 = the next one) fails, once.
    pub fail_nth_write: Option<u64>,
    /// How the selected write fails.
    pub fail_mode: FailMode,
    /// The next N virtual network peering PUT or DELETE requests find the VNet busy, alternately
    /// `400 ReferencedResourceNotProvisioned` (the VNet is `Updating`) and
    /// `409 AnotherOperationInProgress`, without applying anything.
    pub peering_write_conflicts: u32,
    /// Holds the selected write unanswered until `Sim::release_held_write` applies or drops it:
    /// a test kills the client meanwhile, as a runner's timeout does.
    pub hold_write: Option<WriteSelector>,
    /// The random faults above also hit the token endpoint and the Actions OIDC endpoint.
    pub token_faults: bool,
    /// At most this many random faults from now (with a rate of 1, exactly the next N
    /// faultable requests fail); `None` = no limit.
    pub max_faults: Option<u64>,
    /// Seed of the fault randomness.
    pub seed: u64,
}

/// How much of other people's life the simulated tenants hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantPreset {
    /// Only the seeded objects the procedure needs.
    #[default]
    Quiet,
    /// A real company's tenant: hundreds of other people's apps, service principals, roles and
    /// assignments, several subscriptions, VNets with other peerings, an Aiven project with other
    /// VPCs and connections (a `DELETED` one for the seeded VNet listed first), and the GitHub
    /// API under `/api/v3` as on GitHub Enterprise Server.
    Busy,
}

impl std::str::FromStr for TenantPreset {
    type Err = String;
    fn from_str(text: &str) -> Result<TenantPreset, String> {
        match text {
            "quiet" => Ok(TenantPreset::Quiet),
            "busy" => Ok(TenantPreset::Busy),
            other => Err(format!(
                "unknown tenant preset '{other}', expected 'quiet' or 'busy'"
            )),
        }
    }
}

/// How many items one page of an ARM or Graph list holds unless configured: small, so that a
/// client reading only the first page misses objects at once.
pub const DEFAULT_PAGE_SIZE: usize = 2;

/// Everything `Sim::start` needs.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub delays: Delays,
    pub faults: Faults,
    /// First port of the six listeners (identity, arm, graph, aiven, github, control); 0 = ephemeral.
    pub port: u16,
    /// Where to write the CA certificate; `None` = `ca.pem` in a fresh temporary directory.
    pub ca_cert_path: Option<PathBuf>,
    /// What the tenants hold besides the procedure's own objects.
    pub tenant: TenantPreset,
    /// Items per page of every ARM (`nextLink`) and Graph (`@odata.nextLink`) list; at least 1.
    pub page_size: usize,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            delays: Delays::default(),
            faults: Faults::default(),
            port: 0,
            ca_cert_path: None,
            tenant: TenantPreset::Quiet,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl SimConfig {
    /// The same configuration with the busy tenant preset.
    pub fn busy(mut self) -> SimConfig {
        self.tenant = TenantPreset::Busy;
        self
    }

    /// 0.1–0.5 s delays, no faults, ephemeral ports.
    pub fn fast() -> SimConfig {
        SimConfig {
            delays: Delays::fast(),
            ..SimConfig::default()
        }
    }

    /// 1–5 s delays, no faults, ephemeral ports.
    pub fn realistic() -> SimConfig {
        SimConfig {
            delays: Delays::realistic(),
            ..SimConfig::default()
        }
    }
}

/// Durations in JSON as humantime text (`"250ms"`); integers are read as milliseconds.
pub(crate) mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*duration).to_string())
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DurationInput {
        Text(String),
        Milliseconds(u64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        match DurationInput::deserialize(deserializer)? {
            DurationInput::Text(text) => {
                humantime::parse_duration(&text).map_err(serde::de::Error::custom)
            }
            DurationInput::Milliseconds(milliseconds) => Ok(Duration::from_millis(milliseconds)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lro_retry_after_is_whole_seconds_rounded_up_and_never_zero() {
        let with_lro = |lro_duration| Delays {
            lro_duration,
            ..Delays::zero()
        };
        for (lro, seconds) in [(0, 1), (200, 1), (1000, 1), (1001, 2), (2000, 2)] {
            assert_eq!(
                with_lro(Duration::from_millis(lro)).lro_retry_after(),
                Duration::from_secs(seconds),
                "{lro}ms"
            );
        }
    }
}
