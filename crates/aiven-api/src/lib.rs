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
    pub state: String,
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
    /// Whether this connection targets the given Azure VNet (values compared in lower case).
    pub fn targets(&self, subscription_id: &str, resource_group: &str, vnet_name: &str) -> bool {
        self.peer_cloud_account
            .eq_ignore_ascii_case(subscription_id)
            && self
                .peer_resource_group
                .as_deref()
                .is_some_and(|group| group.eq_ignore_ascii_case(resource_group))
            && self.peer_vpc.eq_ignore_ascii_case(vnet_name)
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

/// What to ask for (seed step 11). Callers pass the `peer_*` values in lower case.
#[derive(Debug, Clone, Serialize)]
pub struct CreatePeering {
    pub peer_cloud_account: String,
    pub peer_resource_group: String,
    pub peer_vpc: String,
    pub peer_azure_app_id: String,
    pub peer_azure_tenant_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_peer_network_cidrs: Vec<String>,
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

    /// The connection to an Azure VNet, read from the VPC (there is no GET for one connection).
    pub async fn azure_connection(
        &self,
        project: &str,
        project_vpc_id: &str,
        subscription_id: &str,
        resource_group: &str,
        vnet_name: &str,
    ) -> Result<Option<PeeringConnection>, AivenError> {
        let vpc = self.vpc(project, project_vpc_id).await?;
        Ok(vpc
            .peering_connections
            .into_iter()
            .find(|connection| connection.targets(subscription_id, resource_group, vnet_name)))
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
        subscription_id: &str,
        resource_group: &str,
        vnet_name: &str,
    ) -> Result<(), AivenError> {
        let url = self.url(&[
            "project",
            project,
            "vpcs",
            project_vpc_id,
            "peering-connections",
            "peer-accounts",
            subscription_id,
            "peer-resource-groups",
            resource_group,
            "peer-vpcs",
            vnet_name,
        ]);
        let _: serde_json::Value = self.send(Method::DELETE, url, None).await?;
        Ok(())
    }
}
