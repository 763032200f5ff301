//! The one HTTP client of the project and the one place that retries transient HTTP failures.
//!
//! Throttling (429) and "service unavailable" (503) answers are retried for every request: the
//! service did not act on them. A 500, a 502 or 504 from a gateway, or a broken connection may
//! hide a write that happened, so they are retried only for requests that are safe to repeat:
//! GET, PUT, PATCH and DELETE, and a POST its caller marks with [`execute_idempotent`]. A phase
//! that sent any other POST looks for its effect afterwards (e.g. the password by its display
//! name) instead of sending it again.
//!
//! `Retry-After` is honoured in seconds or as an HTTP date, however long, as long as the wait
//! ends before the phase's deadline ([`set_deadline`]); a longer one ends the retries.

use crate::env_vars;
use reqwest::{Method, Request, Response, StatusCode};
use std::time::{Duration, Instant, SystemTime};

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
/// The longest `Retry-After` honoured when no phase deadline is set.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// When the running phase gives up; no retry waits past it.
static DEADLINE: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// Sets the running phase's deadline: a `Retry-After` of any length is honoured up to it.
pub fn set_deadline(deadline: Instant) {
    *DEADLINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(deadline);
}

fn deadline() -> Option<Instant> {
    *DEADLINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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

/// Sends a request, retrying transient failures as the module documentation says; a POST is
/// taken for a write that must not be repeated.
pub async fn execute(
    client: &reqwest::Client,
    request: Request,
) -> Result<Response, reqwest::Error> {
    let idempotent = request.method() != Method::POST;
    execute_from(client, request, 1, idempotent).await
}

/// Sends a request that is safe to repeat even when it is a POST (its second arrival changes
/// nothing, or is refused as a duplicate that the caller treats as done).
pub async fn execute_idempotent(
    client: &reqwest::Client,
    request: Request,
) -> Result<Response, reqwest::Error> {
    execute_from(client, request, 1, true).await
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
    if !is_transient(response.status(), idempotent) {
        return None;
    }
    let delay = retry_after(response).unwrap_or_else(|| backoff(attempt));
    within_deadline(delay, Instant::now(), deadline())
}

/// Whether an answer says "try again": always for 429 and 503 (nothing was done); for 500,
/// 502 and 504 only when repeating the request is safe (it may have been done).
fn is_transient(status: StatusCode, idempotent: bool) -> bool {
    match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => true,
        StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::BAD_GATEWAY
        | StatusCode::GATEWAY_TIMEOUT => idempotent,
        _ => false,
    }
}

/// The wait, if it ends before the deadline (or, without one, if it is at most
/// [`MAX_RETRY_AFTER`]).
fn within_deadline(delay: Duration, now: Instant, deadline: Option<Instant>) -> Option<Duration> {
    let fits = match deadline {
        Some(deadline) => now + delay < deadline,
        None => delay <= MAX_RETRY_AFTER,
    };
    fits.then_some(delay)
}

/// The `Retry-After` header: seconds (the form Azure, Graph and GitHub use) or an HTTP date.
pub fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(value, SystemTime::now())
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    // A date in the past means "now".
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
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

    // Regression: a Retry-After longer than 60 s ended the retries although the phase had
    // minutes left, and the HTTP-date form was not understood at all.
    #[test]
    fn retry_after_of_any_length_is_honoured_up_to_the_deadline() {
        let now = Instant::now();
        let in_ten_minutes = Some(now + Duration::from_secs(600));
        let two_minutes = Duration::from_secs(120);
        assert_eq!(
            within_deadline(two_minutes, now, in_ten_minutes),
            Some(two_minutes)
        );
        assert_eq!(
            within_deadline(two_minutes, now, Some(now + Duration::from_secs(60))),
            None,
            "not past the deadline"
        );
        assert_eq!(within_deadline(two_minutes, now, None), None);
        assert_eq!(
            within_deadline(Duration::from_secs(5), now, None),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds_or_as_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:30 GMT", now),
            Some(Duration::from_secs(150))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    /// Which first answers `execute` retries, per method: `yes` means a second attempt is sent.
    /// A 500, a 502 or 504 from a gateway, or a lost answer may hide a write that happened, so
    /// POST (not idempotent) is not retried on them; throttling (429) and 503 are retried for
    /// every method.
    // Regression (502/504 POST rows): addPassword answered 504 by a gateway was sent again and
    // minted a second password.
    const RETRIES: &str = "
        answer  GET  PUT  PATCH  DELETE  POST
        400     no   no   no     no      no
        401     no   no   no     no      no
        404     no   no   no     no      no
        409     no   no   no     no      no
        429     yes  yes  yes    yes     yes
        500     yes  yes  yes    yes     no
        502     yes  yes  yes    yes     no
        503     yes  yes  yes    yes     yes
        504     yes  yes  yes    yes     no
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
