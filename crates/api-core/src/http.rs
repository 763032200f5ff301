//! The one HTTP client of the project and the one place that retries transient HTTP failures.
//!
//! Throttling (429) and "try again" answers (502, 503, 504) are retried for every request, since
//! the service did not act on them. A 500 or a broken connection may hide a write that happened,
//! so they are retried only for idempotent requests; a phase re-run (which looks before it writes)
//! is what recovers a non-idempotent one.

use crate::env_vars;
use reqwest::{Method, Request, Response, StatusCode};
use std::time::Duration;

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("cannot read the CA bundle {path} named by SSL_CERT_FILE: {source}")]
    ReadCaBundle {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the CA bundle {path} named by SSL_CERT_FILE holds no usable PEM certificate: {reason}"
    )]
    ParseCaBundle { path: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

/// How many times one request is sent at most.
pub const MAX_ATTEMPTS: u32 = 6;
/// The longest `Retry-After` honoured before giving up on a throttled request.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Installs the ring crypto provider for rustls once per process; every TLS user shares it.
pub fn install_crypto_provider() {
    // Another caller may have installed it already; that is the same provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the project's HTTP client: rustls with the platform's roots plus `SSL_CERT_FILE`.
pub fn client() -> Result<reqwest::Client, HttpSetupError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("aiven-azure-peering/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(120));
    if let Some(path) = env_vars::non_empty(env_vars::SSL_CERT_FILE) {
        let pem = std::fs::read(&path).map_err(|source| HttpSetupError::ReadCaBundle {
            path: path.clone(),
            source,
        })?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
            HttpSetupError::ParseCaBundle {
                path: path.clone(),
                reason: error.to_string(),
            }
        })?;
        if certificates.is_empty() {
            return Err(HttpSetupError::ParseCaBundle {
                path,
                reason: "no certificate found".into(),
            });
        }
        builder = builder.tls_certs_merge(certificates);
    }
    builder.build().map_err(HttpSetupError::Build)
}

/// Sends a request, retrying transient failures as the module documentation says.
pub async fn execute(
    client: &reqwest::Client,
    request: Request,
) -> Result<Response, reqwest::Error> {
    let idempotent = request.method() != Method::POST;
    execute_from(client, request, 1, idempotent).await
}

async fn execute_from(
    client: &reqwest::Client,
    mut request: Request,
    mut attempt: u32,
    idempotent: bool,
) -> Result<Response, reqwest::Error> {
    loop {
        let retry_copy = if attempt < MAX_ATTEMPTS {
            request.try_clone()
        } else {
            None
        };
        let method = request.method().clone();
        let path = request.url().path().to_string();
        let result = client.execute(request).await;
        let delay = match &result {
            Ok(response) => transient_delay(response, idempotent, attempt),
            Err(error)
                if idempotent
                    && (error.is_connect() || error.is_request() || error.is_timeout()) =>
            {
                Some(backoff(attempt))
            }
            Err(_) => None,
        };
        match (delay, retry_copy) {
            (Some(delay), Some(copy)) => {
                tracing::debug!(
                    "{method} {path}: transient failure, retrying in {delay:?} (attempt {attempt} of {MAX_ATTEMPTS})"
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
                request = copy;
            }
            _ => return result,
        }
    }
}

fn transient_delay(response: &Response, idempotent: bool, attempt: u32) -> Option<Duration> {
    let status = response.status();
    let transient = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    ) || (idempotent && status == StatusCode::INTERNAL_SERVER_ERROR);
    if !transient {
        return None;
    }
    match retry_after(response) {
        Some(delay) if delay > MAX_RETRY_AFTER => None,
        Some(delay) => Some(delay),
        None => Some(backoff(attempt)),
    }
}

/// The `Retry-After` header in seconds (the form Azure, Graph and GitHub use).
pub fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(Duration::from_secs_f64)
}

fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(200) * 2u32.saturating_pow(attempt.saturating_sub(1));
    let capped = base.min(Duration::from_secs(8));
    let jitter = rand::random::<f64>() * 0.25;
    capped.mul_f64(1.0 + jitter)
}
