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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Which first answers `execute` retries, per method: `yes` means a second attempt is sent.
    /// A 500 or a lost answer may hide a write that happened, so POST (not idempotent) is not
    /// retried on them; throttling and "try again" answers are retried for every method.
    const RETRIES: &str = "
        answer  GET  PUT  PATCH  DELETE  POST
        400     no   no   no     no      no
        401     no   no   no     no      no
        404     no   no   no     no      no
        409     no   no   no     no      no
        429     yes  yes  yes    yes     yes
        500     yes  yes  yes    yes     no
        502     yes  yes  yes    yes     yes
        503     yes  yes  yes    yes     yes
        504     yes  yes  yes    yes     yes
        drop    yes  yes  yes    yes     no
    ";

    /// A loopback server whose first answer is `first` (a status, or `drop` to close the
    /// connection unanswered) and every later one 200; counts the requests it reads.
    async fn server(first: String) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/thing", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                while !received.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => received.extend_from_slice(&buffer[..read]),
                    }
                }
                let number = counter.fetch_add(1, Ordering::SeqCst);
                let answer = if number == 0 { first.as_str() } else { "200" };
                if answer == "drop" {
                    drop(stream);
                    continue;
                }
                let response = format!(
                    "HTTP/1.1 {answer} X\r\nretry-after: 0\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        (url, requests)
    }

    #[tokio::test]
    async fn transient_failures_are_retried_by_method_as_the_table_says() {
        let mut lines = RETRIES
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty());
        let methods: Vec<&str> = lines.next().unwrap().split_whitespace().skip(1).collect();
        let mut cases = Vec::new();
        for line in lines {
            let mut words = line.split_whitespace();
            let answer = words.next().unwrap().to_string();
            for (method, expected) in methods.iter().zip(words) {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let answer = answer.clone();
                cases.push(tokio::spawn(async move {
                    let (url, requests) = server(answer.clone()).await;
                    let http = client().unwrap();
                    let request = http
                        .request(method.clone(), &url)
                        .body("{}")
                        .build()
                        .unwrap();
                    let _ = execute(&http, request).await;
                    let retried = requests.load(Ordering::SeqCst) > 1;
                    (method, answer, expected == "yes", retried)
                }));
            }
        }
        let mut wrong = Vec::new();
        for case in cases {
            let (method, answer, expected, retried) = case.await.unwrap();
            if expected != retried {
                wrong.push(format!(
                    "{method} answered {answer}: retried {retried}, table says {expected}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
