//! Tokens from the Microsoft identity platform, through `azure_identity`, with our HTTP client
//! (so `SSL_CERT_FILE` and the configured authority host apply) and no hidden retries.

use api_core::{Endpoints, Secret};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientMethodOptions, ClientOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertion, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where an assertion (a federated OIDC token) comes from. Called for every token request, so
/// a short-lived CI token is always fresh.
#[async_trait::async_trait]
pub trait AssertionSource: Send + Sync + fmt::Debug {
    async fn assertion(&self) -> Result<Secret, String>;
}

/// How an identity proves itself.
#[derive(Clone)]
pub enum CredentialSource {
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret: Secret,
    },
    /// A file holding an OIDC token (`AZURE_FEDERATED_TOKEN_FILE`), re-read for every request.
    FederatedTokenFile {
        tenant_id: String,
        client_id: String,
        path: PathBuf,
    },
    Assertion {
        tenant_id: String,
        client_id: String,
        source: Arc<dyn AssertionSource>,
    },
    /// The logged-in Azure CLI.
    AzureCli { tenant_id: Option<String> },
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.describe())
    }
}

impl CredentialSource {
    /// The application (client) id this source signs in as; `None` for the Azure CLI's user.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::ClientSecret { client_id, .. }
            | Self::FederatedTokenFile { client_id, .. }
            | Self::Assertion { client_id, .. } => Some(client_id),
            Self::AzureCli { .. } => None,
        }
    }

    /// A description for logs, never containing a secret.
    pub fn describe(&self) -> String {
        match self {
            Self::ClientSecret {
                tenant_id,
                client_id,
                ..
            } => format!("client {client_id} (client secret) in tenant {tenant_id}"),
            Self::FederatedTokenFile {
                tenant_id,
                client_id,
                path,
            } => format!(
                "client {client_id} (federated token file {}) in tenant {tenant_id}",
                path.display()
            ),
            Self::Assertion {
                tenant_id,
                client_id,
                ..
            } => format!("client {client_id} (federated OIDC token) in tenant {tenant_id}"),
            Self::AzureCli { tenant_id } => match tenant_id {
                Some(tenant) => format!("the Azure CLI login in tenant {tenant}"),
                None => "the Azure CLI login".to_string(),
            },
        }
    }

    /// The same identity signing in to another tenant (multi-tenant apps).
    pub fn in_tenant(&self, tenant: &str) -> Self {
        let mut copy = self.clone();
        match &mut copy {
            Self::ClientSecret { tenant_id, .. }
            | Self::FederatedTokenFile { tenant_id, .. }
            | Self::Assertion { tenant_id, .. } => *tenant_id = tenant.to_string(),
            Self::AzureCli { tenant_id } => *tenant_id = Some(tenant.to_string()),
        }
        copy
    }
}

/// AADSTS codes the procedure meets, named (Microsoft identity platform error codes).
pub mod aadsts {
    /// The application was not found in the directory (or not yet replicated there).
    pub const APPLICATION_NOT_FOUND: u32 = 700016;
    /// Invalid client secret (also briefly right after `addPassword`, until it replicates).
    pub const INVALID_CLIENT_SECRET: u32 = 7000215;
    /// The client secret has expired.
    pub const CLIENT_SECRET_EXPIRED: u32 = 7000222;
    /// The app has no service principal in the tenant (in Aiven's: not provisioned yet).
    pub const NO_SERVICE_PRINCIPAL_IN_TENANT: u32 = 7000229;
    /// The tenant does not exist.
    pub const TENANT_NOT_FOUND: u32 = 90002;
    /// No federated identity credential matches the assertion.
    pub const NO_MATCHING_FEDERATED_CREDENTIAL: u32 = 70021;
    /// The assertion's issuer does not match the federated credential's.
    pub const FEDERATED_ISSUER_MISMATCH: u32 = 700211;
    /// The assertion's subject does not match the federated credential's.
    pub const FEDERATED_SUBJECT_MISMATCH: u32 = 700213;
    /// The federated assertion has expired.
    pub const ASSERTION_EXPIRED: u32 = 700024;
}

/// A token request the identity platform refused.
#[derive(Debug, thiserror::Error)]
#[error("cannot get a token for {identity} (scope {scope}): {message}")]
pub struct TokenError {
    pub identity: String,
    pub scope: String,
    /// The AADSTS code, like 7000229, when the platform gave one.
    pub aadsts: Option<u32>,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub message: String,
}

impl TokenError {
    pub fn is_aadsts(&self, code: u32) -> bool {
        self.aadsts == Some(code)
    }

    /// Throttling, server errors and network failures: worth trying again soon.
    pub fn is_transient(&self) -> bool {
        match self.status {
            Some(status) => status == 429 || status >= 500,
            None => self.aadsts.is_none(),
        }
    }
}

/// A credential that caches its tokens; [`Credential::fresh`] gives one with an empty cache.
#[derive(Clone)]
pub struct Credential {
    source: CredentialSource,
    http: reqwest::Client,
    endpoints: Endpoints,
    inner: Arc<dyn TokenCredential>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.source.describe())
    }
}

#[derive(Debug)]
struct FileAssertion(PathBuf);

#[async_trait::async_trait]
impl ClientAssertion for FileAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        tokio::fs::read_to_string(&self.0)
            .await
            .map(|text| text.trim().to_string())
            .map_err(|error| {
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    format!(
                        "cannot read the federated token file {}: {error}",
                        self.0.display()
                    ),
                )
            })
    }
}

#[derive(Debug)]
struct SourceAssertion(Arc<dyn AssertionSource>);

#[async_trait::async_trait]
impl ClientAssertion for SourceAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.0
            .assertion()
            .await
            .map(|secret| secret.expose().to_string())
            .map_err(|message| {
                azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
            })
    }
}

impl Credential {
    pub fn new(
        source: CredentialSource,
        http: reqwest::Client,
        endpoints: Endpoints,
    ) -> Result<Self, TokenError> {
        let inner = build(&source, &http, &endpoints)?;
        Ok(Self {
            source,
            http,
            endpoints,
            inner,
        })
    }

    pub fn source(&self) -> &CredentialSource {
        &self.source
    }

    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// The same identity with an empty token cache: the next token reflects current grants.
    pub fn fresh(&self) -> Result<Self, TokenError> {
        Self::new(
            self.source.clone(),
            self.http.clone(),
            self.endpoints.clone(),
        )
    }

    /// The same identity signing in to another tenant.
    pub fn in_tenant(&self, tenant_id: &str) -> Result<Self, TokenError> {
        Self::new(
            self.source.in_tenant(tenant_id),
            self.http.clone(),
            self.endpoints.clone(),
        )
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A token for Resource Manager.
    pub async fn arm_token(&self) -> Result<Secret, TokenError> {
        self.token(&self.endpoints.arm_scope()).await
    }

    /// A token for Microsoft Graph.
    pub async fn graph_token(&self) -> Result<Secret, TokenError> {
        self.token(&self.endpoints.graph_scope()).await
    }

    /// A token for one scope; transient failures (throttling, 5xx, network) are tried again
    /// for a few seconds.
    pub async fn token(&self, scope: &str) -> Result<Secret, TokenError> {
        let wait = api_core::retry::Wait::new(
            format!("a token for {scope}"),
            std::time::Duration::from_secs(5),
            std::time::Duration::from_millis(300),
        );
        let result = api_core::retry::until(&wait, |_| async {
            match self.inner.get_token(&[scope], None).await {
                Ok(token) => api_core::retry::Step::Done(Secret::new(token.token.secret())),
                Err(error) => {
                    let error = self.token_error(scope, &error);
                    if error.is_transient() {
                        tracing::debug!("{error}; trying again");
                        api_core::retry::Step::retry(error)
                    } else {
                        api_core::retry::Step::Fail(error)
                    }
                }
            }
        })
        .await;
        result.map_err(|error| match error {
            api_core::retry::WaitError::Failed(error) => error,
            api_core::retry::WaitError::TimedOut { last, .. } => last,
        })
    }

    fn token_error(&self, scope: &str, error: &azure_core::Error) -> TokenError {
        let mut status = None;
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(layer) = current {
            if let Some(azure) = layer.downcast_ref::<azure_core::Error>()
                && let azure_core::error::ErrorKind::HttpResponse { status: code, .. } =
                    azure.kind()
            {
                status = Some(u16::from(*code));
            }
            current = layer.source();
        }
        let message = error.to_string();
        let message = message
            .split("\nTo troubleshoot")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        TokenError {
            identity: self.describe(),
            scope: scope.to_string(),
            aadsts: aadsts_code(&message),
            status,
            message,
        }
    }
}

/// Finds `AADSTSnnnn` in a message.
pub fn aadsts_code(message: &str) -> Option<u32> {
    let start = message.find("AADSTS")? + "AADSTS".len();
    let digits: String = message[start..]
        .chars()
        .take_while(|character| character.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn client_options(http: &reqwest::Client, endpoints: &Endpoints) -> ClientOptions {
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = api_core::endpoints::base_string(&endpoints.authority_host);
    ClientOptions {
        transport: Some(Transport::new(Arc::new(http.clone()))),
        retry: RetryOptions::none(),
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        ..Default::default()
    }
}

fn build(
    source: &CredentialSource,
    http: &reqwest::Client,
    endpoints: &Endpoints,
) -> Result<Arc<dyn TokenCredential>, TokenError> {
    let setup_error = |error: azure_core::Error| TokenError {
        identity: source.describe(),
        scope: String::new(),
        aadsts: None,
        status: None,
        message: error.to_string(),
    };
    let credential: Arc<dyn TokenCredential> = match source {
        CredentialSource::ClientSecret {
            tenant_id,
            client_id,
            secret,
        } => ClientSecretCredential::new(
            tenant_id,
            client_id.clone(),
            azure_core::credentials::Secret::new(secret.expose().to_string()),
            Some(ClientSecretCredentialOptions {
                client_options: client_options(http, endpoints),
            }),
        )
        .map_err(setup_error)?,
        CredentialSource::FederatedTokenFile {
            tenant_id,
            client_id,
            path,
        } => ClientAssertionCredential::new(
            tenant_id.clone(),
            client_id.clone(),
            FileAssertion(path.clone()),
            Some(ClientAssertionCredentialOptions {
                client_options: client_options(http, endpoints),
            }),
        )
        .map_err(setup_error)?,
        CredentialSource::Assertion {
            tenant_id,
            client_id,
            source,
        } => ClientAssertionCredential::new(
            tenant_id.clone(),
            client_id.clone(),
            SourceAssertion(source.clone()),
            Some(ClientAssertionCredentialOptions {
                client_options: client_options(http, endpoints),
            }),
        )
        .map_err(setup_error)?,
        CredentialSource::AzureCli { tenant_id } => {
            AzureCliCredential::new(Some(AzureCliCredentialOptions {
                tenant_id: tenant_id.clone(),
                ..Default::default()
            }))
            .map_err(setup_error)?
        }
    };
    Ok(credential)
}

#[cfg(test)]
mod tests {
    use super::aadsts_code;

    #[test]
    fn finds_aadsts_codes() {
        assert_eq!(
            aadsts_code("ClientSecretCredential authentication failed. AADSTS7000229: no sp"),
            Some(7000229)
        );
        assert_eq!(aadsts_code("nothing here"), None);
    }
}
