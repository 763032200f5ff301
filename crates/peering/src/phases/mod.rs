//! The phases of the procedure, each a function over typed clients.

pub mod accept_peering;
pub mod await_active;
pub mod preflight;
pub mod prepare_tenant;
pub mod request_peering;
pub mod status;
pub mod teardown;

use crate::catalog::Code;
use aiven_api::{ConnectionState, PeeringConnection};
use std::time::Duration;

/// How patiently to wait for Azure's eventual consistency (replication, propagation).
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// How long to retry Graph replication lag and `PrincipalNotFound`.
    pub replication_timeout: Duration,
    /// The first pause between retries.
    pub interval: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            replication_timeout: Duration::from_secs(300),
            interval: Duration::from_secs(2),
        }
    }
}

/// The catalog code of a connection in a failure state.
pub fn failure_code(state: &ConnectionState) -> Code {
    match state {
        ConnectionState::InvalidSpecification => Code::InvalidSpecification,
        _ => Code::ConnectionFailed,
    }
}

/// Aiven's explanation and the likely causes, for a connection in a failure state.
pub fn describe_failure(connection: &PeeringConnection) -> String {
    let message = connection
        .message()
        .unwrap_or_else(|| "no explanation given".to_string());
    let hint = match connection.state {
        ConnectionState::InvalidSpecification => {
            "likely causes: the Aiven app's service principal lacks peer/action on the VNet (run prepare-tenant), \
             the VNet name or resource group is wrong, or the address ranges overlap; the connection must be deleted and re-created"
        }
        ConnectionState::RejectedByPeer => {
            "the peer rejected the connection; check the VNet and the Aiven app's role, then re-create it"
        }
        ConnectionState::DeletedByPeer => {
            "the Azure side of the peering was deleted; re-create the connection"
        }
        _ => "contact Aiven support if it persists",
    };
    format!("{message} ({hint})")
}
