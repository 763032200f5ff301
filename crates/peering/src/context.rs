//! What every phase needs from its environment: endpoints, the HTTP client and credentials.
//! This is the I/O side of the command line: the only place that reads secrets from the
//! environment and builds clients.

use crate::error::{InputError, PhaseError};
use api_core::{AzureCloud, Endpoints, Secret, env_vars};
use azure_api::{Credential, CredentialSource};
use std::sync::Arc;

/// Endpoints and the shared HTTP client.
#[derive(Debug, Clone)]
pub struct Context {
    pub endpoints: Endpoints,
    pub http: reqwest::Client,
}

impl Context {
    pub fn from_env(cloud: AzureCloud) -> Result<Self, InputError> {
        let endpoints = Endpoints::from_env(cloud).map_err(|error| {
            InputError::new("endpoint environment variables", error.to_string())
        })?;
        let http = api_core::http::client()
            .map_err(|error| InputError::new(env_vars::SSL_CERT_FILE, error.to_string()))?;
        Ok(Self { endpoints, http })
    }

    pub fn credential(&self, source: CredentialSource) -> Result<Credential, PhaseError> {
        Credential::new(source, self.http.clone(), self.endpoints.clone()).map_err(PhaseError::from)
    }

    pub fn aiven(&self, token: Secret) -> aiven_api::Aiven {
        aiven_api::Aiven::new(self.http.clone(), self.endpoints.aiven.clone(), token)
    }

    /// A GitHub client; only phases that call GitHub make one, so only they need a valid
    /// `GITHUB_API_URL`.
    pub fn github(&self, token: &Secret) -> Result<github_api::GitHub, PhaseError> {
        let base = self
            .endpoints
            .github()
            .map_err(|error| InputError::new(env_vars::GITHUB_API_URL, error.to_string()))?;
        Ok(github_api::GitHub::new(&base, token)?)
    }
}

/// The user-tenant admin identity, in this order: a client secret; a federated token file; the
/// CI job's own OIDC token when only the tenant and client ids are set (as `azure/login` does);
/// the logged-in Azure CLI when none is set.
pub fn admin_credential_source(context: &Context) -> Result<CredentialSource, InputError> {
    let tenant = env_vars::non_empty(env_vars::AZURE_TENANT_ID);
    let client = env_vars::non_empty(env_vars::AZURE_CLIENT_ID);
    let secret = env_vars::non_empty(env_vars::AZURE_CLIENT_SECRET);
    let token_file = env_vars::non_empty(env_vars::AZURE_FEDERATED_TOKEN_FILE);
    let ids = |tenant_id: &str, client_id: &str| -> Result<(String, String), InputError> {
        Ok((
            crate::input::guid(env_vars::AZURE_TENANT_ID, tenant_id)?,
            crate::input::guid(env_vars::AZURE_CLIENT_ID, client_id)?,
        ))
    };
    match (tenant, client, secret, token_file) {
        (Some(tenant_id), Some(client_id), Some(secret), _) => {
            let (tenant_id, client_id) = ids(&tenant_id, &client_id)?;
            Ok(CredentialSource::ClientSecret {
                tenant_id,
                client_id,
                secret: Secret::new(secret),
            })
        }
        (Some(tenant_id), Some(client_id), None, Some(path)) => {
            let (tenant_id, client_id) = ids(&tenant_id, &client_id)?;
            Ok(CredentialSource::FederatedTokenFile {
                tenant_id,
                client_id,
                path: path.into(),
            })
        }
        (Some(tenant_id), Some(client_id), None, None) => {
            let (tenant_id, client_id) = ids(&tenant_id, &client_id)?;
            let token = crate::oidc::CiToken::from_env(&context.http).map_err(|_| {
                InputError::new(
                    "admin identity",
                    format!(
                        "{} and {} are set without {} or {}, and this job has no OIDC token to sign in with: set the secret, or give the job `permissions: id-token: write` (GitHub) or `id_tokens: {}` (GitLab)",
                        env_vars::AZURE_TENANT_ID,
                        env_vars::AZURE_CLIENT_ID,
                        env_vars::AZURE_CLIENT_SECRET,
                        env_vars::AZURE_FEDERATED_TOKEN_FILE,
                        env_vars::PEERING_OIDC_TOKEN
                    ),
                )
            })?;
            Ok(CredentialSource::Assertion {
                tenant_id,
                client_id,
                source: Arc::new(token),
            })
        }
        (None, None, None, None) => Ok(CredentialSource::AzureCli { tenant_id: None }),
        (tenant, client, _, _) => {
            let mut missing = Vec::new();
            if tenant.is_none() {
                missing.push(env_vars::AZURE_TENANT_ID);
            }
            if client.is_none() {
                missing.push(env_vars::AZURE_CLIENT_ID);
            }
            Err(InputError::new(
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
pub fn aiven_token() -> Result<Secret, InputError> {
    env_vars::non_empty(env_vars::AIVEN_AUTH_TOKEN)
        .or_else(|| env_vars::non_empty(env_vars::AIVEN_TOKEN))
        .map(|token| Secret::new(token.trim().to_string()))
        .ok_or_else(|| {
            InputError::new(
                env_vars::AIVEN_AUTH_TOKEN,
                format!(
                    "no Aiven token: set {} (or {}) to an Aiven API token",
                    env_vars::AIVEN_AUTH_TOKEN,
                    env_vars::AIVEN_TOKEN
                ),
            )
        })
}
