//! The control listener: state snapshot, request log, fault configuration and test OIDC issuers.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Response, StatusCode, Uri};
use serde_json::{Value, json};

use crate::http::{json_response, parse_json, path_segments};
use crate::{Faults, Shared, lock};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

fn control_error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, json!({"error": message}))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response<Body> {
    let segments = path_segments(uri.path());
    let texts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method, texts.as_slice()) {
        (Method::GET, ["_sim", "state"]) => {
            json_response(StatusCode::OK, crate::world::snapshot(&shared.world()))
        }
        (Method::GET, ["_sim", "requests"]) => {
            let records = lock(&shared.requests).clone();
            json_response(
                StatusCode::OK,
                serde_json::to_value(records).unwrap_or(Value::Null),
            )
        }
        (Method::GET, ["_sim", "faults"]) => {
            let faults = lock(&shared.faults).faults.clone();
            json_response(
                StatusCode::OK,
                serde_json::to_value(faults).unwrap_or(Value::Null),
            )
        }
        (Method::PUT, ["_sim", "faults"]) => match serde_json::from_slice::<Faults>(&body) {
            Ok(faults) => {
                crate::faults::replace_faults(&shared, faults.clone());
                json_response(
                    StatusCode::OK,
                    serde_json::to_value(faults).unwrap_or(Value::Null),
                )
            }
            Err(error) => control_error(
                StatusCode::BAD_REQUEST,
                &format!("invalid fault configuration: {error}"),
            ),
        },
        (Method::GET, ["_sim", "held"]) => match shared.holds.current() {
            Some(write) => json_response(
                StatusCode::OK,
                serde_json::to_value(write).unwrap_or(Value::Null),
            ),
            None => control_error(StatusCode::NOT_FOUND, "no write is held"),
        },
        (Method::POST, ["_sim", "held", decision @ ("apply" | "drop")]) => {
            match shared.holds.release(*decision == "apply").await {
                Some(write) => json_response(
                    StatusCode::OK,
                    serde_json::to_value(write).unwrap_or(Value::Null),
                ),
                None => control_error(StatusCode::NOT_FOUND, "no write is held"),
            }
        }
        (Method::POST, ["_sim", "oidc", "gitlab"]) => gitlab_token(&shared, &body),
        (Method::PUT, ["_sim", "oidc", "github"]) => {
            let Some(subject) = parse_json(&body)
                .and_then(|value| value.get("sub").and_then(Value::as_str).map(str::to_string))
                .filter(|subject| !subject.is_empty())
            else {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    "expected a json body {\"sub\": \"repo:owner/name:environment:env\"}",
                );
            };
            shared.world().set_github_oidc_subject(&subject);
            json_response(StatusCode::OK, json!({"sub": subject}))
        }
        _ => control_error(
            StatusCode::NOT_FOUND,
            &format!("unknown control endpoint {}", uri.path()),
        ),
    }
}

/// Signs a GitLab `id_tokens` JWT (issuer: the control URL + `/gitlab`) and remembers it as a
/// secret for leak scans.
pub(crate) fn issue_gitlab_token(shared: &Shared, subject: &str, audience: &str) -> String {
    let project_path = subject
        .strip_prefix("project_path:")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("");
    let now = crate::jwt::unix_now();
    let claims = json!({
        "iss": format!("{}/gitlab", shared.urls.control),
        "sub": subject,
        "aud": audience,
        "exp": now + oidc_lifetime_seconds(&shared.delays),
        "iat": now,
        "nbf": now.saturating_sub(5),
        "jti": uuid::Uuid::new_v4().to_string(),
        "project_path": project_path,
        "namespace_path": project_path.split('/').next().unwrap_or(""),
    });
    let mut world = shared.world();
    let token = crate::jwt::sign(&world.jwt_key, &claims);
    world.remember_secret(crate::world::SecretKind::OidcToken, &token);
    token
}

fn gitlab_token(shared: &Shared, body: &[u8]) -> Response<Body> {
    let Some(input) = parse_json(body) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            "expected a json body {\"sub\": \"project_path:g/p:ref_type:branch:ref:main\", \"aud\": \"…\"}",
        );
    };
    let (Some(subject), Some(audience)) = (
        input.get("sub").and_then(Value::as_str),
        input.get("aud").and_then(Value::as_str),
    ) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            "both \"sub\" and \"aud\" are required",
        );
    };
    let token = issue_gitlab_token(shared, subject, audience);
    json_response(StatusCode::OK, json!({"token": token}))
}

/// The `exp` distance of the OIDC tokens the simulator issues: whole seconds, at least one.
pub(crate) fn oidc_lifetime_seconds(delays: &crate::Delays) -> u64 {
    delays.oidc_token_lifetime.as_secs().max(1)
}
