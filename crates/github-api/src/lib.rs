//! GitHub Actions: the OIDC token of the running job (for federated sign-in to Azure) and
//! Actions secrets written as libsodium sealed boxes through octocrab. Only this crate speaks
//! to GitHub.

use api_core::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use octocrab::Octocrab;
use serde::Deserialize;
use url::Url;

/// The audience Azure expects in federated tokens.
pub const AZURE_TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error(
        "the GitHub token may not write Actions secrets of {target} ({message}): it needs the \
         `secrets: write` permission (a fine-grained personal access token or a GitHub App with \
         \"Secrets\" read and write); the workflow's default GITHUB_TOKEN cannot write secrets"
    )]
    SecretsForbidden { target: String, message: String },
    #[error("GitHub {what} failed: {message}")]
    Api { what: String, message: String },
    /// A write whose answer was lost, or answered by a server error: it may have happened.
    #[error("GitHub {what} may or may not have happened: {message}")]
    Unconfirmed { what: String, message: String },
    #[error("cannot get the job's OIDC token from GitHub: {0}")]
    Oidc(String),
}

/// Where an Actions secret lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretTarget {
    Repository {
        owner: String,
        repo: String,
    },
    Environment {
        owner: String,
        repo: String,
        environment: String,
    },
}

impl SecretTarget {
    /// Parses `owner/repo` or `owner/repo:environment`.
    pub fn parse(text: &str) -> Option<SecretTarget> {
        let (repository, environment) = match text.split_once(':') {
            Some((repository, environment)) => (repository, Some(environment)),
            None => (text, None),
        };
        let (owner, repo) = repository.split_once('/')?;
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character))
                && part != "."
                && part != ".."
        };
        if !valid(owner)
            || !valid(repo)
            || environment.is_some_and(|environment| {
                environment.trim().is_empty() || environment.contains('/')
            })
        {
            return None;
        }
        Some(match environment {
            Some(environment) => SecretTarget::Environment {
                owner: owner.to_string(),
                repo: repo.to_string(),
                environment: environment.to_string(),
            },
            None => SecretTarget::Repository {
                owner: owner.to_string(),
                repo: repo.to_string(),
            },
        })
    }
}

impl SecretTarget {
    /// The text [`SecretTarget::parse`] reads back: `owner/repo` or `owner/repo:environment`.
    pub fn spec(&self) -> String {
        match self {
            Self::Repository { owner, repo } => format!("{owner}/{repo}"),
            Self::Environment {
                owner,
                repo,
                environment,
            } => format!("{owner}/{repo}:{environment}"),
        }
    }
}

impl std::fmt::Display for SecretTarget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Repository { owner, repo } => write!(formatter, "repository {owner}/{repo}"),
            Self::Environment {
                owner,
                repo,
                environment,
            } => write!(formatter, "environment {environment} of {owner}/{repo}"),
        }
    }
}

#[derive(Deserialize)]
struct PublicKey {
    key_id: String,
    key: String,
}

#[derive(Deserialize)]
struct RepositoryId {
    id: u64,
}

/// A GitHub REST client for Actions secrets.
pub struct GitHub {
    crab: Octocrab,
}

impl GitHub {
    /// `base` is `GITHUB_API_URL`. Extra CAs come from `SSL_CERT_FILE` (read by the platform
    /// verifier octocrab uses).
    pub fn new(base: &Url, token: &Secret) -> Result<GitHub, GitHubError> {
        api_core::http::install_crypto_provider();
        let crab = Octocrab::builder()
            .base_uri(api_core::endpoints::base_string(base))
            .and_then(|builder| builder.personal_token(token.expose().to_string()).build())
            .map_err(|error| GitHubError::Api {
                what: "client set-up".into(),
                message: error.to_string(),
            })?;
        Ok(GitHub { crab })
    }

    async fn secrets_route(&self, target: &SecretTarget) -> Result<String, GitHubError> {
        Ok(match target {
            SecretTarget::Repository { owner, repo } => {
                format!("/repos/{owner}/{repo}/actions/secrets")
            }
            SecretTarget::Environment {
                owner,
                repo,
                environment,
            } => {
                let repository: RepositoryId = self
                    .crab
                    .get(format!("/repos/{owner}/{repo}"), None::<&()>)
                    .await
                    .map_err(|error| api_error(format!("reading {owner}/{repo}"), error))?;
                // Environment names may hold spaces and other characters a path cannot.
                format!(
                    "/repositories/{}/environments/{}/secrets",
                    repository.id,
                    encode_path_segment(environment)
                )
            }
        })
    }

    /// A secret's metadata, if it exists (its value is never readable).
    pub async fn secret(
        &self,
        target: &SecretTarget,
        name: &str,
    ) -> Result<Option<SecretMetadata>, GitHubError> {
        let route = format!("{}/{name}", self.secrets_route(target).await?);
        match self
            .crab
            .get::<SecretMetadata, _, _>(route, None::<&()>)
            .await
        {
            Ok(metadata) => Ok(Some(metadata)),
            Err(octocrab::Error::GitHub { source, .. }) if source.status_code.as_u16() == 404 => {
                Ok(None)
            }
            Err(error) => Err(classify(target, format!("reading secret {name}"), error)),
        }
    }

    /// Whether a secret of this name exists.
    pub async fn secret_exists(
        &self,
        target: &SecretTarget,
        name: &str,
    ) -> Result<bool, GitHubError> {
        Ok(self.secret(target, name).await?.is_some())
    }

    /// Seals `value` with the target's public key and creates or updates the secret.
    pub async fn put_secret(
        &self,
        target: &SecretTarget,
        name: &str,
        value: &Secret,
    ) -> Result<(), GitHubError> {
        let route = self.secrets_route(target).await?;
        let key: PublicKey = self
            .crab
            .get(format!("{route}/public-key"), None::<&()>)
            .await
            .map_err(|error| classify(target, "reading the secrets public key".into(), error))?;
        let encrypted_value = seal(&key.key, value.expose().as_bytes())?;
        let body = serde_json::json!({"encrypted_value": encrypted_value, "key_id": key.key_id});
        let what = format!("writing secret {name}");
        let response = self
            .crab
            ._put(format!("{route}/{name}"), Some(&body))
            .await
            .map_err(|error| match error {
                // No answer: the write may have landed.
                octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => {
                    GitHubError::Unconfirmed {
                        what: what.clone(),
                        message: error.to_string(),
                    }
                }
                error => classify(target, what.clone(), error),
            })?;
        let status = response.status().as_u16();
        if status == 403 || status == 404 {
            return Err(GitHubError::SecretsForbidden {
                target: target.to_string(),
                message: format!("PUT answered {status}"),
            });
        }
        if status >= 500 {
            return Err(GitHubError::Unconfirmed {
                what,
                message: format!("status {status}"),
            });
        }
        if !(200..300).contains(&status) {
            return Err(GitHubError::Api {
                what,
                message: format!("status {status}"),
            });
        }
        Ok(())
    }
}

impl GitHub {
    /// Deletes a secret; one already gone is not an error.
    pub async fn delete_secret(
        &self,
        target: &SecretTarget,
        name: &str,
    ) -> Result<(), GitHubError> {
        let route = format!("{}/{name}", self.secrets_route(target).await?);
        let response = self
            .crab
            ._delete(route, None::<&()>)
            .await
            .map_err(|error| classify(target, format!("deleting secret {name}"), error))?;
        match response.status().as_u16() {
            200..300 | 404 => Ok(()),
            403 => Err(GitHubError::SecretsForbidden {
                target: target.to_string(),
                message: "DELETE answered 403".into(),
            }),
            status => Err(GitHubError::Api {
                what: format!("deleting secret {name}"),
                message: format!("status {status}"),
            }),
        }
    }
}

/// What GitHub tells about a secret: its name and when it was last written.
#[derive(Debug, Clone, Deserialize)]
pub struct SecretMetadata {
    pub name: String,
    /// RFC 3339.
    pub updated_at: Option<String>,
}

/// Percent-encodes one path segment: everything but unreserved characters.
fn encode_path_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// A libsodium sealed box of `plaintext` for the base64 X25519 `public_key`, base64-encoded.
pub fn seal(public_key: &str, plaintext: &[u8]) -> Result<String, GitHubError> {
    let bytes = BASE64
        .decode(public_key.trim())
        .map_err(|error| GitHubError::Api {
            what: "decoding the secrets public key".into(),
            message: error.to_string(),
        })?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| GitHubError::Api {
        what: "decoding the secrets public key".into(),
        message: "not 32 bytes".into(),
    })?;
    let sealed = crypto_box::PublicKey::from(key)
        .seal(&mut crypto_box::aead::OsRng, plaintext)
        .map_err(|error| GitHubError::Api {
            what: "sealing the secret".into(),
            message: error.to_string(),
        })?;
    Ok(BASE64.encode(sealed))
}

fn api_error(what: String, error: octocrab::Error) -> GitHubError {
    GitHubError::Api {
        what,
        message: match &error {
            octocrab::Error::GitHub { source, .. } => {
                format!("{} {}", source.status_code, source.message)
            }
            other => other.to_string(),
        },
    }
}

fn classify(target: &SecretTarget, what: String, error: octocrab::Error) -> GitHubError {
    if let octocrab::Error::GitHub { source, .. } = &error
        && source.status_code.as_u16() == 403
    {
        return GitHubError::SecretsForbidden {
            target: target.to_string(),
            message: source.message.clone(),
        };
    }
    api_error(what, error)
}

/// Fetches a fresh OIDC token of the running GitHub Actions job
/// (`ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, needs
/// `permissions: id-token: write`).
pub async fn actions_oidc_token(
    http: &reqwest::Client,
    request_url: &str,
    request_token: &Secret,
    audience: &str,
) -> Result<Secret, GitHubError> {
    let mut url = Url::parse(request_url).map_err(|error| {
        GitHubError::Oidc(format!(
            "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {error}"
        ))
    })?;
    url.query_pairs_mut().append_pair("audience", audience);
    let mut header =
        reqwest::header::HeaderValue::from_str(&format!("bearer {}", request_token.expose()))
            .map_err(|_| {
                GitHubError::Oidc(
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN has characters a header cannot carry".into(),
                )
            })?;
    header.set_sensitive(true);
    let request = http
        .get(url)
        .header(reqwest::header::AUTHORIZATION, header)
        .build()
        .map_err(|error| GitHubError::Oidc(error.to_string()))?;
    let response = api_core::http::execute(http, request)
        .await
        .map_err(|error| GitHubError::Oidc(error.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(GitHubError::Oidc(format!(
            "the token endpoint answered {status}; does the job have `permissions: id-token: write`?"
        )));
    }
    #[derive(Deserialize)]
    struct Token {
        value: String,
    }
    let token: Token = response
        .json()
        .await
        .map_err(|error| GitHubError::Oidc(error.to_string()))?;
    Ok(Secret::new(token.value))
}

/// The `iss` and `sub` claims of a JWT, read without verifying it (only to name the federated
/// credential to create; Azure verifies the token itself).
pub fn jwt_issuer_and_subject(token: &str) -> Option<(String, String)> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some((
        claims.get("iss")?.as_str()?.to_string(),
        claims.get("sub")?.as_str()?.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_targets() {
        assert_eq!(
            SecretTarget::parse("acme/infra:production"),
            Some(SecretTarget::Environment {
                owner: "acme".into(),
                repo: "infra".into(),
                environment: "production".into()
            })
        );
        assert!(SecretTarget::parse("acme").is_none());
        assert!(SecretTarget::parse("../x").is_none());
    }

    // Regression: environment names went into the path unencoded; a space broke the request.
    #[test]
    fn environment_names_are_encoded_in_paths() {
        assert_eq!(encode_path_segment("production eu"), "production%20eu");
        assert_eq!(encode_path_segment("prod/eu?x"), "prod%2Feu%3Fx");
        assert_eq!(encode_path_segment("a-b_c.d~e"), "a-b_c.d~e");
    }

    #[test]
    fn sealed_boxes_open_with_the_secret_key() {
        let secret_key = crypto_box::SecretKey::from_bytes([7u8; 32]);
        let public = BASE64.encode(secret_key.public_key().as_bytes());
        let sealed = BASE64.decode(seal(&public, b"hello").unwrap()).unwrap();
        assert_eq!(secret_key.unseal(&sealed).unwrap(), b"hello");
    }

    #[test]
    fn reads_jwt_claims() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"https://x","sub":"repo:a/b:ref:refs/heads/main"}"#);
        assert_eq!(
            jwt_issuer_and_subject(&format!("h.{payload}.s")),
            Some(("https://x".into(), "repo:a/b:ref:refs/heads/main".into()))
        );
    }
}
