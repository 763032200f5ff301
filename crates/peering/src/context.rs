//! What every phase needs from its environment: endpoints, the HTTP client and credentials.

use crate::error::PhaseError;
use api_core::{AzureCloud, Endpoints, Secret, env_vars};
use azure_api::{Credential, CredentialSource};

/// Endpoints and the shared HTTP client.
#[derive(Debug, Clone)]
pub struct Context {
    pub endpoints: Endpoints,
    pub http: reqwest::Client,
}

impl Context {
    pub fn from_env(cloud: AzureCloud) -> Result<Self, PhaseError> {
        let endpoints = Endpoints::from_env(cloud).map_err(|error| {
            PhaseError::input("endpoint environment variables", error.to_string())
        })?;
        let http = api_core::http::client()
            .map_err(|error| PhaseError::input(env_vars::SSL_CERT_FILE, error.to_string()))?;
        Ok(Self { endpoints, http })
    }

    pub fn credential(&self, source: CredentialSource) -> Result<Credential, PhaseError> {
        Credential::new(source, self.http.clone(), self.endpoints.clone()).map_err(PhaseError::from)
    }

    pub fn aiven(&self, token: Secret) -> aiven_api::Aiven {
        aiven_api::Aiven::new(self.http.clone(), self.endpoints.aiven.clone(), token)
    }
}

/// The user-tenant admin identity: a client secret, a federated token file, or the Azure CLI,
/// in that order.
pub fn admin_credential_source() -> Result<CredentialSource, PhaseError> {
    let tenant = env_vars::non_empty(env_vars::AZURE_TENANT_ID);
    let client = env_vars::non_empty(env_vars::AZURE_CLIENT_ID);
    let secret = env_vars::non_empty(env_vars::AZURE_CLIENT_SECRET);
    let token_file = env_vars::non_empty(env_vars::AZURE_FEDERATED_TOKEN_FILE);
    match (tenant, client, secret, token_file) {
        (Some(tenant_id), Some(client_id), Some(secret), _) => Ok(CredentialSource::ClientSecret {
            tenant_id: crate::input::guid(env_vars::AZURE_TENANT_ID, &tenant_id)?,
            client_id: crate::input::guid(env_vars::AZURE_CLIENT_ID, &client_id)?,
            secret: Secret::new(secret),
        }),
        (Some(tenant_id), Some(client_id), None, Some(path)) => {
            Ok(CredentialSource::FederatedTokenFile {
                tenant_id: crate::input::guid(env_vars::AZURE_TENANT_ID, &tenant_id)?,
                client_id: crate::input::guid(env_vars::AZURE_CLIENT_ID, &client_id)?,
                path: path.into(),
            })
        }
        (None, None, None, None) => Ok(CredentialSource::AzureCli { tenant_id: None }),
        (tenant, client, secret, file) => {
            let mut missing = Vec::new();
            if tenant.is_none() {
                missing.push(env_vars::AZURE_TENANT_ID);
            }
            if client.is_none() {
                missing.push(env_vars::AZURE_CLIENT_ID);
            }
            if secret.is_none() && file.is_none() {
                missing.push("AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE");
            }
            Err(PhaseError::input(
                "admin identity",
                format!(
                    "incomplete Azure admin credentials: also set {} (or unset them all to use the Azure CLI login)",
                    missing.join(", ")
                ),
            ))
        }
    }
}

/// The Aiven token from `AIVEN_AUTH_TOKEN` or `AIVEN_TOKEN`.
pub fn aiven_token() -> Result<Secret, PhaseError> {
    env_vars::non_empty(env_vars::AIVEN_AUTH_TOKEN)
        .or_else(|| env_vars::non_empty(env_vars::AIVEN_TOKEN))
        .map(|token| Secret::new(token.trim().to_string()))
        .ok_or_else(|| {
            PhaseError::input(
                env_vars::AIVEN_AUTH_TOKEN,
                "no Aiven token: set AIVEN_AUTH_TOKEN (or AIVEN_TOKEN) to an Aiven API token",
            )
        })
}
