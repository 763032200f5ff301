//! Typed client for the VPC part of the Aiven API v1 (`/v1/project/{project}/vpcs…`).
//! Only this crate speaks to Aiven.

use api_core::Secret;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use url::Url;

/// A failed Aiven call.
#[derive(Debug, thiserror::Error)]
pub enum AivenError {
    #[error("{method} {url} answered {status}: {message}")]
    Api {
        method: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("{method} {url} failed: {source}")]
    Transport {
        method: String,
        url: String,
        source: reqwest::Error,
    },
    #[error("{method} {url} answered a body that is not what the API documents: {reason}")]
    Decode {
        method: String,
        url: String,
        reason: String,
    },
}

impl AivenError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a write may have happened although it failed: the answer was lost, or a server
    /// or gateway error came back. Look before repeating it.
    pub fn may_have_acted(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Api { status, .. } => matches!(status, 500 | 502 | 504),
            Self::Decode { .. } => false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProjectVpc {
    pub project_vpc_id: String,
    pub cloud_name: String,
    pub network_cidr: Option<String>,
    pub state: String,
    #[serde(default)]
    pub peering_connections: Vec<PeeringConnection>,
}

impl ProjectVpc {
    /// The live connection to an Azure VNet. Aiven keeps deleted connections listed for a while,
    /// possibly before the live one: `DELETING` and `DELETED` ones are never it.
    pub fn azure_connection(&self, target: &PeerTarget) -> Option<PeeringConnection> {
        self.peering_connections
            .iter()
            .find(|connection| connection.targets(target) && !connection.state.is_deleted())
            .cloned()
    }

    /// A connection to the VNet that is still being deleted: a new one cannot be made until it
    /// is gone.
    pub fn deleting_azure_connection(&self, target: &PeerTarget) -> Option<PeeringConnection> {
        self.peering_connections
            .iter()
            .find(|connection| {
                connection.targets(target) && connection.state == ConnectionState::Deleting
            })
            .cloned()
    }
}

/// The state of a peering connection as Aiven reports it. Values this client does not know are
/// kept as they came, so a new state never breaks a wait.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Created; Aiven has not set up its side yet.
    Approved,
    /// Undocumented intermediate state seen in the API.
    ApprovedPeerRequested,
    /// Aiven's side is done; the user's side is expected (`state_info` has the Azure ids).
    PendingPeer,
    Active,
    /// The request cannot be satisfied as given (`state_info.message` says why); terminal.
    InvalidSpecification,
    RejectedByPeer,
    DeletedByPeer,
    Error,
    Deleting,
    /// Deleted, but still listed for a while.
    Deleted,
    Unknown(String),
}

impl ConnectionState {
    const NAMES: &[(&str, ConnectionState)] = &[
        ("APPROVED", ConnectionState::Approved),
        (
            "APPROVED_PEER_REQUESTED",
            ConnectionState::ApprovedPeerRequested,
        ),
        ("PENDING_PEER", ConnectionState::PendingPeer),
        ("ACTIVE", ConnectionState::Active),
        (
            "INVALID_SPECIFICATION",
            ConnectionState::InvalidSpecification,
        ),
        ("REJECTED_BY_PEER", ConnectionState::RejectedByPeer),
        ("DELETED_BY_PEER", ConnectionState::DeletedByPeer),
        ("ERROR", ConnectionState::Error),
        ("DELETING", ConnectionState::Deleting),
        ("DELETED", ConnectionState::Deleted),
    ];

    pub fn parse(text: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(_, state)| state.clone())
            .unwrap_or_else(|| Self::Unknown(text.to_string()))
    }

    /// The name as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unknown(text) => text,
            known => Self::NAMES
                .iter()
                .find(|(_, state)| state == known)
                .map(|(name, _)| *name)
                .unwrap_or("UNKNOWN"),
        }
    }

    /// States that waiting will not change: the connection must be deleted and re-created.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::InvalidSpecification | Self::RejectedByPeer | Self::DeletedByPeer | Self::Error
        )
    }

    /// A connection on its way out, or gone but still listed: not the live one.
    pub fn is_deleted(&self) -> bool {
        matches!(self, Self::Deleting | Self::Deleted)
    }
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for ConnectionState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ConnectionState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::parse(&text))
    }
}

/// The Azure VNet a connection points at, as Aiven keys it. Aiven compares these values
/// byte for byte while Azure names are case-insensitive, so the constructor lower-cases them:
/// no caller can send or match a mixed-case value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerTarget {
    peer_cloud_account: String,
    peer_resource_group: String,
    peer_vpc: String,
}

impl PeerTarget {
    pub fn new(subscription_id: &str, resource_group: &str, vnet_name: &str) -> Self {
        Self {
            peer_cloud_account: subscription_id.trim().to_ascii_lowercase(),
            peer_resource_group: resource_group.trim().to_ascii_lowercase(),
            peer_vpc: vnet_name.trim().to_ascii_lowercase(),
        }
    }

    pub fn subscription_id(&self) -> &str {
        &self.peer_cloud_account
    }

    pub fn resource_group(&self) -> &str {
        &self.peer_resource_group
    }

    pub fn vnet_name(&self) -> &str {
        &self.peer_vpc
    }
}

impl std::fmt::Display for PeerTarget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}/{}/{}",
            self.peer_cloud_account, self.peer_resource_group, self.peer_vpc
        )
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PeeringConnection {
    pub peer_cloud_account: String,
    pub peer_vpc: String,
    #[serde(default)]
    pub peer_resource_group: Option<String>,
    #[serde(default)]
    pub peer_azure_app_id: Option<String>,
    #[serde(default)]
    pub peer_azure_tenant_id: Option<String>,
    #[serde(default)]
    pub peer_region: Option<String>,
    pub state: ConnectionState,
    #[serde(default)]
    pub state_info: Option<serde_json::Value>,
    #[serde(default)]
    pub peering_connection_id: Option<String>,
    #[serde(default)]
    pub create_time: Option<String>,
    #[serde(default)]
    pub update_time: Option<String>,
    #[serde(default)]
    pub vpc_peering_connection_type: Option<String>,
    #[serde(default)]
    pub user_peer_network_cidrs: Vec<String>,
}

impl PeeringConnection {
    /// Whether this connection targets the given Azure VNet.
    pub fn targets(&self, target: &PeerTarget) -> bool {
        self.peer_cloud_account
            .eq_ignore_ascii_case(target.subscription_id())
            && self
                .peer_resource_group
                .as_deref()
                .is_some_and(|group| group.eq_ignore_ascii_case(target.resource_group()))
            && self.peer_vpc.eq_ignore_ascii_case(target.vnet_name())
    }

    fn state_info_text(&self, key: &str) -> Option<String> {
        self.state_info
            .as_ref()
            .and_then(|info| info.get(key))
            .and_then(|value| value.as_str())
            .map(str::to_string)
    }

    /// `state_info.message`, Aiven's explanation of the state.
    pub fn message(&self) -> Option<String> {
        self.state_info_text("message")
    }

    /// `state_info["to-tenant-id"]`: the Aiven tenant (PENDING_PEER only).
    pub fn to_tenant_id(&self) -> Option<String> {
        self.state_info_text("to-tenant-id")
    }

    /// `state_info["to-network-id"]`: the Aiven VNet id (PENDING_PEER only).
    pub fn to_network_id(&self) -> Option<String> {
        self.state_info_text("to-network-id")
    }
}

/// What to ask for (seed step 11), every `peer_*` value lower-cased by the constructor.
#[derive(Debug, Clone, Serialize)]
pub struct CreatePeering {
    #[serde(flatten)]
    target: PeerTarget,
    peer_azure_app_id: String,
    peer_azure_tenant_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    user_peer_network_cidrs: Vec<String>,
}

impl CreatePeering {
    pub fn new(
        target: PeerTarget,
        app_id: &str,
        tenant_id: &str,
        user_peer_network_cidrs: Vec<String>,
    ) -> Self {
        Self {
            target,
            peer_azure_app_id: app_id.trim().to_ascii_lowercase(),
            peer_azure_tenant_id: tenant_id.trim().to_ascii_lowercase(),
            user_peer_network_cidrs,
        }
    }
}

/// An Aiven API client.
#[derive(Debug, Clone)]
pub struct Aiven {
    http: reqwest::Client,
    base: Url,
    token: Secret,
}

impl Aiven {
    pub fn new(http: reqwest::Client, base: Url, token: Secret) -> Self {
        Self { http, base, token }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("https base URLs have a path");
            path.pop_if_empty();
            path.push("v1");
            // Each segment is percent-encoded by `push`.
            for segment in segments {
                path.push(segment);
            }
        }
        url
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
    ) -> Result<T, AivenError> {
        let shown = url.to_string();
        let mut header =
            reqwest::header::HeaderValue::from_str(&format!("aivenv1 {}", self.token.expose()))
                .map_err(|_| AivenError::Api {
                    method: method.to_string(),
                    url: shown.clone(),
                    status: 0,
                    message: "the Aiven token has characters that cannot be sent in a header"
                        .into(),
                })?;
        header.set_sensitive(true);
        let mut builder = self
            .http
            .request(method.clone(), url)
            .header(reqwest::header::AUTHORIZATION, header);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let transport = |source| AivenError::Transport {
            method: method.to_string(),
            url: shown.clone(),
            source,
        };
        let request = builder.build().map_err(transport)?;
        let response = api_core::http::execute(&self.http, request)
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let parsed: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
            let message = parsed
                .as_ref()
                .and_then(|body| body.get("message"))
                .and_then(|message| message.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
            return Err(AivenError::Api {
                method: method.to_string(),
                url: shown,
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|error| AivenError::Decode {
            method: method.to_string(),
            url: shown,
            reason: error.to_string(),
        })
    }

    pub async fn vpcs(&self, project: &str) -> Result<Vec<ProjectVpc>, AivenError> {
        #[derive(Deserialize)]
        struct Vpcs {
            vpcs: Vec<ProjectVpc>,
        }
        let url = self.url(&["project", project, "vpcs"]);
        Ok(self.send::<Vpcs>(Method::GET, url, None).await?.vpcs)
    }

    pub async fn vpc(&self, project: &str, project_vpc_id: &str) -> Result<ProjectVpc, AivenError> {
        let url = self.url(&["project", project, "vpcs", project_vpc_id]);
        self.send(Method::GET, url, None).await
    }

    /// The live connection to an Azure VNet, read from the VPC (there is no GET for one
    /// connection). Deleted connections stay listed for a while, possibly before the live one:
    /// a `DELETING`/`DELETED` one is never returned.
    pub async fn azure_connection(
        &self,
        project: &str,
        project_vpc_id: &str,
        target: &PeerTarget,
    ) -> Result<Option<PeeringConnection>, AivenError> {
        let vpc = self.vpc(project, project_vpc_id).await?;
        Ok(vpc.azure_connection(target))
    }

    pub async fn create_peering(
        &self,
        project: &str,
        project_vpc_id: &str,
        request: &CreatePeering,
    ) -> Result<PeeringConnection, AivenError> {
        let url = self.url(&[
            "project",
            project,
            "vpcs",
            project_vpc_id,
            "peering-connections",
        ]);
        let body = serde_json::to_value(request).map_err(|error| AivenError::Decode {
            method: "POST".into(),
            url: url.to_string(),
            reason: error.to_string(),
        })?;
        self.send(Method::POST, url, Some(body)).await
    }

    pub async fn delete_azure_peering(
        &self,
        project: &str,
        project_vpc_id: &str,
        target: &PeerTarget,
    ) -> Result<(), AivenError> {
        let url = self.url(&[
            "project",
            project,
            "vpcs",
            project_vpc_id,
            "peering-connections",
            "peer-accounts",
            target.subscription_id(),
            "peer-resource-groups",
            target.resource_group(),
            "peer-vpcs",
            target.vnet_name(),
        ]);
        let _: serde_json::Value = self.send(Method::DELETE, url, None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_states_keep_unknown_values() {
        assert_eq!(
            ConnectionState::parse("PENDING_PEER"),
            ConnectionState::PendingPeer
        );
        assert_eq!(ConnectionState::PendingPeer.as_str(), "PENDING_PEER");
        let novel = ConnectionState::parse("SOMETHING_NEW");
        assert_eq!(novel, ConnectionState::Unknown("SOMETHING_NEW".into()));
        assert_eq!(novel.as_str(), "SOMETHING_NEW");
        assert!(ConnectionState::InvalidSpecification.is_failure());
        assert!(!ConnectionState::Active.is_failure());
    }

    #[test]
    fn a_peer_target_is_lower_case_whatever_the_caller_passes() {
        let target = PeerTarget::new("ABC", "Peering-RG", "Client-VNet");
        assert_eq!(target.to_string(), "abc/peering-rg/client-vnet");
        let body = serde_json::to_value(CreatePeering::new(target, "APP", "TENANT", vec![]))
            .expect("serializes");
        assert_eq!(body["peer_resource_group"], "peering-rg");
        assert_eq!(body["peer_vpc"], "client-vnet");
        assert_eq!(body["peer_azure_app_id"], "app");
    }

    // Regression: a DELETED connection for the same VNet, listed before the live one, was
    // taken for the live one.
    #[test]
    fn the_live_connection_wins_over_a_deleted_one_listed_first() {
        let connection = |state: &str| PeeringConnection {
            peer_cloud_account: "s".into(),
            peer_vpc: "v".into(),
            peer_resource_group: Some("g".into()),
            peer_azure_app_id: None,
            peer_azure_tenant_id: None,
            peer_region: None,
            state: ConnectionState::parse(state),
            state_info: None,
            peering_connection_id: None,
            create_time: None,
            update_time: None,
            vpc_peering_connection_type: None,
            user_peer_network_cidrs: vec![],
        };
        let vpc = ProjectVpc {
            project_vpc_id: "p".into(),
            cloud_name: "azure-westeurope".into(),
            network_cidr: None,
            state: "ACTIVE".into(),
            peering_connections: vec![connection("DELETED"), connection("PENDING_PEER")],
        };
        let target = PeerTarget::new("S", "G", "V");
        assert_eq!(
            vpc.azure_connection(&target).map(|found| found.state),
            Some(ConnectionState::PendingPeer)
        );
        let gone = ProjectVpc {
            peering_connections: vec![connection("DELETED"), connection("DELETING")],
            ..vpc
        };
        assert!(gone.azure_connection(&target).is_none(), "no live one");
        assert_eq!(
            gone.deleting_azure_connection(&target)
                .map(|found| found.state),
            Some(ConnectionState::Deleting)
        );
    }
}
