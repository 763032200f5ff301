//! cloud-sim: a strict HTTPS simulator of Microsoft identity, Graph, ARM, the Aiven API and a
//! GitHub subset, for testing the VPC peering automation without the real clouds.

// Handlers return the service's error response as the `Err` of a `Result`: an error answer is
// the ordinary outcome of a simulator request, so boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod aiven;
mod arm;
mod authz;
mod config;
mod control;
mod faults;
mod github;
mod graph;
mod http;
mod identity;
mod jwt;
mod paging;
mod server;
mod tls;
mod world;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    DEFAULT_PAGE_SIZE, Delays, FailMode, Faults, SimConfig, TenantPreset, WriteSelector,
};
pub use faults::HeldWrite;
pub use world::{
    AIVEN_APP_ID, APPLICATION_ADMINISTRATOR, APPLICATION_READ_WRITE_ALL, AivenProject, Application,
    AsyncOperation, Audience, BUSY_HIDDEN_ROLE_NAME, BUSY_HIDDEN_SUBSCRIPTION_NAME,
    CLOUD_APPLICATION_ADMINISTRATOR, CREATE_SERVICE_PRINCIPALS_ACTION, CustomDirectoryRole,
    DIRECTORY_READERS, DirectoryGroup, FederatedIdentityCredential, Fixtures, GITHUB_OIDC_ISSUER,
    GithubEnvironment, GithubRepository, GithubSecret, GithubState, IssuedToken,
    NETWORK_CONTRIBUTOR_ROLE_ID, OWNER_ROLE_ID, OperationKind, PEER_ACTION, PasswordCredential,
    PeeringConnection, Permission, ProjectVpc, READER_ROLE_ID, ResourceGroup, RoleAssignment,
    RoleDefinition, SecretBox, SecretKind, ServicePrincipal, Subscription, Tenant, User,
    VirtualNetwork, VirtualNetworkPeering, World,
};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind the {service} listener on 127.0.0.1:{port}: {source}")]
    Bind {
        service: &'static str,
        port: u16,
        source: std::io::Error,
    },
    #[error("cannot generate the simulator certificates: {0}")]
    Certificate(String),
    #[error("cannot build the tls server configuration: {0}")]
    Tls(String),
    #[error("cannot write the ca certificate to {path}: {source}")]
    WriteCaCertificate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("port {0} is too high: the six listeners need six consecutive ports")]
    PortRange(u16),
}

/// The ready line: base URLs and seeded fixtures, printed by `cloud-sim serve`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    pub ca_cert: PathBuf,
    pub authority_host: String,
    pub resource_manager: String,
    pub graph: String,
    pub aiven: String,
    pub github: String,
    pub control: String,
    pub user_tenant_id: String,
    pub admin_client_id: String,
    pub admin_client_secret: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub vnet_name: String,
    pub vnet_id: String,
    pub vnet_location: String,
    pub aiven_token: String,
    pub aiven_project: String,
    pub project_vpc_id: String,
    pub aiven_tenant_id: String,
    pub aiven_app_id: String,
    pub github_repository: String,
    pub github_token: String,
    pub github_readonly_token: String,
    /// A token allowed to read Actions secrets (their names and the public key), not to write
    /// them: a fine-grained token with "Secrets: read-only".
    pub github_secrets_read_token: String,
    pub github_oidc_request_url: String,
    pub github_oidc_request_token: String,
}

/// One handled request, as the request log keeps it: never bodies, queries or tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// `identity`, `arm`, `graph`, `aiven`, `github` or `control`.
    pub service: String,
    /// The path without the query string.
    pub path: String,
    /// The path with GUIDs and numeric ids replaced by `{id}`: the same in every run.
    pub route: String,
    /// The answered status; 0 when the connection was dropped without an answer.
    pub status: u16,
    /// `<tenant id>/<app id>` for Azure callers, `aiven-token`, `github-token`,
    /// `github-readonly-token`, `github-secrets-read-token`, `github-oidc`; `None` when the caller was not identified.
    pub identity: Option<String>,
    /// True for POST/PUT/PATCH/DELETE on Graph, ARM, Aiven and GitHub.
    pub write: bool,
    /// The injected fault, if any: `latency` is not reported; `429`, `500`, `503`, `drop`,
    /// `fail-write-before`, `fail-write-after`, `fail-write-gateway-timeout`, `hold-applied`,
    /// `hold-dropped`; `peering-conflict` for a busy-VNet answer to a peering write.
    pub fault: Option<String>,
    /// Milliseconds since the simulator started.
    pub at_millis: u64,
}

/// The base URLs of the six listeners.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    pub authority_host: String,
    pub resource_manager: String,
    pub graph: String,
    pub aiven: String,
    pub github: String,
    pub control: String,
}

/// The six listeners, in port order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Identity,
    ResourceManager,
    Graph,
    Aiven,
    Github,
    Control,
}

impl Service {
    pub(crate) const ALL: [Service; 6] = [
        Service::Identity,
        Service::ResourceManager,
        Service::Graph,
        Service::Aiven,
        Service::Github,
        Service::Control,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Service::Identity => "identity",
            Service::ResourceManager => "arm",
            Service::Graph => "graph",
            Service::Aiven => "aiven",
            Service::Github => "github",
            Service::Control => "control",
        }
    }
}

/// State shared by every listener and the background driver.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub delays: Delays,
    pub faults: Mutex<faults::FaultState>,
    pub requests: Mutex<Vec<RequestRecord>>,
    pub holds: faults::Holds,
    pub urls: Urls,
    pub started: Instant,
    /// Items per page of ARM and Graph lists.
    pub page_size: usize,
    /// Where the GitHub API lives on its listener: `""`, or `/api/v3` as on GitHub Enterprise
    /// Server.
    pub github_api_prefix: &'static str,
}

impl Shared {
    /// Locks the world after bringing every clock-driven state up to date.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        let mut world = lock(&self.world);
        world::advance(&mut world, &self.delays, Instant::now());
        world
    }
}

/// Locks a mutex, ignoring poisoning: a panicking handler must not take the simulator down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running simulator.
pub struct Sim {
    shared: Arc<Shared>,
    ready: Ready,
    shutdown_sender: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    temporary_directory: Option<PathBuf>,
}

impl Sim {
    /// Generates the certificates, binds the six listeners, seeds the world and starts serving.
    pub async fn start(config: SimConfig) -> Result<Sim, SimError> {
        server::start(config).await
    }

    /// The ready line's fields.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// The delays this simulator runs with.
    pub fn delays(&self) -> &Delays {
        &self.shared.delays
    }

    /// The introspection snapshot (no secret values).
    pub fn state(&self) -> serde_json::Value {
        world::snapshot(&self.shared.world())
    }

    /// The request log so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.requests).clone()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Every secret value issued or seeded so far: passwords, access tokens, Aiven and GitHub
    /// tokens, OIDC tokens.
    pub fn issued_secrets(&self) -> Vec<String> {
        lock(&self.shared.world)
            .issued_secrets
            .iter()
            .map(|(_, secret)| secret.clone())
            .collect()
    }

    /// The secrets of one kind issued so far, oldest first.
    pub fn issued_secrets_of(&self, kind: SecretKind) -> Vec<String> {
        lock(&self.shared.world)
            .issued_secrets
            .iter()
            .filter(|(issued_kind, _)| *issued_kind == kind)
            .map(|(_, secret)| secret.clone())
            .collect()
    }

    /// Replaces the fault configuration; `fail_nth_write` and `hold_write` count from now.
    pub fn set_faults(&self, faults: Faults) {
        faults::replace_faults(&self.shared, faults);
    }

    /// Waits until the write chosen by `Faults::hold_write` arrives, and returns it: it stays
    /// unanswered until [`Sim::release_held_write`].
    pub async fn held_write(&self) -> HeldWrite {
        self.shared.holds.held().await
    }

    /// The write held now, if any.
    pub fn current_held_write(&self) -> Option<HeldWrite> {
        self.shared.holds.current()
    }

    /// Applies (`apply`) or drops the held write, and returns once that is done; `None` when
    /// no write is held. The request log records it with fault `hold-applied` or `hold-dropped`.
    pub async fn release_held_write(&self, apply: bool) -> Option<HeldWrite> {
        self.shared.holds.release(apply).await
    }

    /// Runs `change` on the world (after bringing its clock-driven state up to date).
    pub fn with_world<R>(&self, change: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.shared.world();
        change(&mut world)
    }

    /// The plaintext of a GitHub Actions secret the simulator received, opened from its sealed
    /// box. `environment` selects an environment secret.
    pub fn github_secret(
        &self,
        repository: &str,
        environment: Option<&str>,
        name: &str,
    ) -> Option<String> {
        github::secret_plaintext(&lock(&self.shared.world), repository, environment, name)
    }

    /// A GitLab `id_tokens` JWT for this subject and audience, as `POST /_sim/oidc/gitlab` gives;
    /// its issuer is the control URL + `/gitlab`.
    pub fn gitlab_id_token(&self, subject: &str, audience: &str) -> String {
        control::issue_gitlab_token(&self.shared, subject, audience)
    }

    /// Time since the simulator started.
    pub fn uptime(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// Stops every listener and the background driver.
    pub async fn shutdown(mut self) {
        self.shared.holds.clear();
        let _ = self.shutdown_sender.send(true);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        if let Some(directory) = self.temporary_directory.take() {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shared.holds.clear();
        let _ = self.shutdown_sender.send(true);
        for task in &self.tasks {
            task.abort();
        }
        if let Some(directory) = self.temporary_directory.take() {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}
