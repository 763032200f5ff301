//! The CI's OIDC token, for federated sign-in of the user's app: fetched fresh for every token
//! request, because CI tokens live minutes and a phase may wait longer.

use crate::error::InputError;
use api_core::{Secret, env_vars};
use azure_api::AssertionSource;
use std::path::PathBuf;

/// Where the job's OIDC token comes from.
#[derive(Debug, Clone)]
pub enum CiToken {
    GitHub {
        http: reqwest::Client,
        request_url: String,
        request_token: Secret,
    },
    Variable(String),
    File(PathBuf),
}

impl CiToken {
    /// GitHub Actions' token service, else `PEERING_OIDC_TOKEN`, else `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn from_env(http: &reqwest::Client) -> Result<CiToken, InputError> {
        if let (Some(request_url), Some(request_token)) = (
            env_vars::non_empty(env_vars::ACTIONS_ID_TOKEN_REQUEST_URL),
            env_vars::non_empty(env_vars::ACTIONS_ID_TOKEN_REQUEST_TOKEN),
        ) {
            return Ok(CiToken::GitHub {
                http: http.clone(),
                request_url,
                request_token: Secret::new(request_token),
            });
        }
        if env_vars::non_empty(env_vars::PEERING_OIDC_TOKEN).is_some() {
            return Ok(CiToken::Variable(env_vars::PEERING_OIDC_TOKEN.to_string()));
        }
        if let Some(path) = env_vars::non_empty(env_vars::AZURE_FEDERATED_TOKEN_FILE) {
            return Ok(CiToken::File(path.into()));
        }
        Err(InputError::new(
            "--credential federated",
            "no OIDC token: in GitHub Actions give the job `permissions: id-token: write`; in GitLab CI declare `id_tokens: PEERING_OIDC_TOKEN: {aud: api://AzureADTokenExchange}`; or set AZURE_FEDERATED_TOKEN_FILE",
        ))
    }

    pub async fn fetch(&self) -> Result<Secret, String> {
        match self {
            CiToken::GitHub {
                http,
                request_url,
                request_token,
            } => github_api::actions_oidc_token(
                http,
                request_url,
                request_token,
                github_api::AZURE_TOKEN_EXCHANGE_AUDIENCE,
            )
            .await
            // The runner masks the request token, not the token it answers with.
            .inspect(crate::report::mask_in_ci_logs)
            .map_err(|error| error.to_string()),
            CiToken::Variable(name) => env_vars::non_empty(name)
                .map(Secret::new)
                .ok_or_else(|| format!("{name} is empty")),
            CiToken::File(path) => std::fs::read_to_string(path)
                .map(|text| Secret::new(text.trim().to_string()))
                .map_err(|error| format!("cannot read {}: {error}", path.display())),
        }
    }
}

#[async_trait::async_trait]
impl AssertionSource for CiToken {
    async fn assertion(&self) -> Result<Secret, String> {
        self.fetch().await
    }
}
