//! GitHub API subset: repositories, Actions secrets (repository and environment, real sealed
//! boxes) and the Actions OIDC token endpoint.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::Shared;
use crate::http::{
    authorization_token, empty_response, json_response, parse_json, path_segments, query_pairs,
    query_value, with_identity,
};
use crate::world::{GITHUB_OIDC_ISSUER, GithubSecret, SecretBox, World, rfc3339};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// GitHub's error shape: `{"message","documentation_url","status"}`.
pub(crate) fn github_error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(
        status,
        json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.as_u16().to_string(),
        }),
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    Writer,
    ReadOnly,
    /// "Secrets: read-only": reads secrets' names and public keys, writes nothing.
    SecretsReader,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let mut world = shared.world();
    let segments = path_segments(uri.path());
    let texts: Vec<&str> = segments.iter().map(String::as_str).collect();
    // The Actions token service is not part of the REST API: it answers at the root.
    if let ["_oidc", "token"] = texts.as_slice() {
        let lifetime = crate::control::oidc_lifetime_seconds(&shared.delays);
        let response = oidc_token(&mut world, &headers, uri.query(), lifetime);
        return with_identity(response, Some("github-oidc".to_string()));
    }
    // GitHub Enterprise Server serves the REST API under a path (`/api/v3`); nothing outside it.
    let prefix_segments: Vec<&str> = shared
        .github_api_prefix
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let Some(texts) = texts.strip_prefix(prefix_segments.as_slice()) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(token) = authorization_token(&headers, &["Bearer", "token"]) else {
        return github_error(StatusCode::UNAUTHORIZED, "Requires authentication");
    };
    let (caller, identity) = if token == world.github.token {
        (Caller::Writer, "github-token")
    } else if token == world.github.readonly_token {
        (Caller::ReadOnly, "github-readonly-token")
    } else if token == world.github.secrets_read_token {
        (Caller::SecretsReader, "github-secrets-read-token")
    } else {
        return github_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let response = route(&mut world, caller, &method, texts, &body);
    with_identity(response, Some(identity.to_string()))
}

fn not_found() -> Response<Body> {
    github_error(StatusCode::NOT_FOUND, "Not Found")
}

fn not_accessible(caller: Caller) -> Response<Body> {
    let by = if caller == Caller::SecretsReader {
        "personal access token"
    } else {
        "integration"
    };
    github_error(
        StatusCode::FORBIDDEN,
        &format!("Resource not accessible by {by}"),
    )
}

/// The workflow's default token has no `secrets` permission at all; a read-only one may look.
fn may_touch_secrets(caller: Caller, method: &Method) -> bool {
    match caller {
        Caller::Writer => true,
        Caller::SecretsReader => *method == Method::GET,
        Caller::ReadOnly => false,
    }
}

/// Which secret box a request addresses.
enum BoxAddress {
    Repository(usize),
    Environment(usize, usize),
}

fn secret_box_mut<'world>(world: &'world mut World, address: &BoxAddress) -> &'world mut SecretBox {
    match *address {
        BoxAddress::Repository(repository) => &mut world.github.repositories[repository].secret_box,
        BoxAddress::Environment(repository, environment) => {
            &mut world.github.repositories[repository].environments[environment].secret_box
        }
    }
}

fn route(
    world: &mut World,
    caller: Caller,
    method: &Method,
    segments: &[&str],
    body: &[u8],
) -> Response<Body> {
    match segments {
        ["repos", owner, name, rest @ ..] => {
            let full_name = format!("{owner}/{name}");
            let Some(repository_index) = world
                .github
                .repositories
                .iter()
                .position(|repository| repository.full_name.eq_ignore_ascii_case(&full_name))
            else {
                return not_found();
            };
            match (method.clone(), rest) {
                (Method::GET, []) => {
                    let repository = &world.github.repositories[repository_index];
                    let (owner, short_name) =
                        repository.full_name.split_once('/').unwrap_or(("", ""));
                    json_response(
                        StatusCode::OK,
                        json!({
                            "id": repository.id,
                            "node_id": format!("R_{}", repository.id),
                            "name": short_name,
                            "full_name": repository.full_name,
                            "private": true,
                            "owner": {"login": owner, "type": "Organization"},
                            "default_branch": "main",
                            "visibility": "private",
                        }),
                    )
                }
                (method, ["actions", "secrets", rest @ ..]) => {
                    if !may_touch_secrets(caller, &method) {
                        return not_accessible(caller);
                    }
                    secrets(
                        world,
                        BoxAddress::Repository(repository_index),
                        &method,
                        rest,
                        body,
                    )
                }
                _ => not_found(),
            }
        }
        [
            "repositories",
            id,
            "environments",
            environment,
            "secrets",
            rest @ ..,
        ] => {
            let Some(repository_index) = world
                .github
                .repositories
                .iter()
                .position(|repository| repository.id.to_string() == *id)
            else {
                return not_found();
            };
            let Some(environment_index) = world.github.repositories[repository_index]
                .environments
                .iter()
                .position(|candidate| candidate.name.eq_ignore_ascii_case(environment))
            else {
                return not_found();
            };
            if !may_touch_secrets(caller, method) {
                return not_accessible(caller);
            }
            secrets(
                world,
                BoxAddress::Environment(repository_index, environment_index),
                method,
                rest,
                body,
            )
        }
        _ => not_found(),
    }
}

fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
        && !name.starts_with(|character: char| character.is_ascii_digit())
        && !name.to_ascii_uppercase().starts_with("GITHUB_")
}

fn secrets(
    world: &mut World,
    address: BoxAddress,
    method: &Method,
    rest: &[&str],
    body: &[u8],
) -> Response<Body> {
    let secret_box = secret_box_mut(world, &address);
    match (method.clone(), rest) {
        (Method::GET, []) => json_response(
            StatusCode::OK,
            json!({
                "total_count": secret_box.secrets.len(),
                "secrets": secret_box.secrets.iter().map(secret_metadata).collect::<Vec<_>>(),
            }),
        ),
        (Method::GET, ["public-key"]) => json_response(
            StatusCode::OK,
            json!({
                "key_id": secret_box.key_id,
                "key": STANDARD.encode(secret_box.secret_key.public_key().as_bytes()),
            }),
        ),
        (Method::GET, [name]) => match secret_box
            .secrets
            .iter()
            .find(|secret| secret.name.eq_ignore_ascii_case(name))
        {
            Some(secret) => json_response(StatusCode::OK, secret_metadata(secret)),
            None => not_found(),
        },
        (Method::DELETE, [name]) => {
            let before = secret_box.secrets.len();
            secret_box
                .secrets
                .retain(|secret| !secret.name.eq_ignore_ascii_case(name));
            if secret_box.secrets.len() == before {
                not_found()
            } else {
                empty_response(StatusCode::NO_CONTENT)
            }
        }
        (Method::PUT, [name]) => {
            if !valid_secret_name(name) {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid request.\n\nSecret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_), must not start with a number and must not start with GITHUB_.",
                );
            }
            let Some(Value::Object(input)) = parse_json(body) else {
                return github_error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
            };
            let (Some(encrypted_value), Some(key_id)) = (
                input.get("encrypted_value").and_then(Value::as_str),
                input.get("key_id").and_then(Value::as_str),
            ) else {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid request.\n\n\"encrypted_value\" and \"key_id\" are required.",
                );
            };
            if key_id != secret_box.key_id {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Bad request - key_id does not match the current public key",
                );
            }
            let plaintext = STANDARD
                .decode(encrypted_value)
                .ok()
                .and_then(|sealed| secret_box.secret_key.unseal(&sealed).ok())
                .and_then(|opened| String::from_utf8(opened).ok());
            let Some(plaintext) = plaintext else {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Bad request - encrypted_value is not a sealed box for the repository public key",
                );
            };
            let upper_name = name.to_ascii_uppercase();
            let now = SystemTime::now();
            match secret_box
                .secrets
                .iter_mut()
                .find(|secret| secret.name == upper_name)
            {
                Some(secret) => {
                    secret.value = plaintext;
                    secret.updated_time = now;
                    empty_response(StatusCode::NO_CONTENT)
                }
                None => {
                    secret_box.secrets.push(GithubSecret {
                        name: upper_name,
                        value: plaintext,
                        created_time: now,
                        updated_time: now,
                    });
                    json_response(StatusCode::CREATED, json!({}))
                }
            }
        }
        _ => not_found(),
    }
}

fn secret_metadata(secret: &GithubSecret) -> Value {
    json!({
        "name": secret.name,
        "created_at": rfc3339(secret.created_time),
        "updated_at": rfc3339(secret.updated_time),
    })
}

fn oidc_token(
    world: &mut World,
    headers: &HeaderMap,
    query: Option<&str>,
    lifetime_seconds: u64,
) -> Response<Body> {
    let authorized = authorization_token(headers, &["Bearer"])
        .is_some_and(|token| token == world.github.oidc_request_token);
    if !authorized {
        return github_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let pairs = query_pairs(query);
    let repository = world
        .github
        .repositories
        .first()
        .map(|repository| (repository.full_name.clone(), repository.id))
        .unwrap_or_default();
    let owner = repository.0.split('/').next().unwrap_or("").to_string();
    let audience = query_value(&pairs, "audience")
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://github.com/{owner}"));
    let subject = world.github.oidc_subject.clone();
    let environment = subject.split(":environment:").nth(1).map(str::to_string);
    let now = crate::jwt::unix_now();
    let claims = json!({
        "iss": GITHUB_OIDC_ISSUER,
        "sub": subject,
        "aud": audience,
        "exp": now + lifetime_seconds,
        "iat": now,
        "nbf": now.saturating_sub(5),
        "jti": uuid::Uuid::new_v4().to_string(),
        "repository": repository.0,
        "repository_id": repository.1.to_string(),
        "repository_owner": owner,
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "environment": environment,
        "event_name": "push",
        "runner_environment": "github-hosted",
        "job_workflow_ref": format!("{}/.github/workflows/peering.yml@refs/heads/main", repository.0),
    });
    let token = crate::jwt::sign(&world.jwt_key, &claims);
    world.remember_secret(crate::world::SecretKind::OidcToken, &token);
    json_response(StatusCode::OK, json!({"count": 1, "value": token}))
}

/// The opened plaintext of a secret, for `Sim::github_secret`.
pub(crate) fn secret_plaintext(
    world: &World,
    repository: &str,
    environment: Option<&str>,
    name: &str,
) -> Option<String> {
    let repository = world
        .github
        .repositories
        .iter()
        .find(|candidate| candidate.full_name.eq_ignore_ascii_case(repository))?;
    let secret_box = match environment {
        None => &repository.secret_box,
        Some(environment) => {
            &repository
                .environments
                .iter()
                .find(|candidate| candidate.name.eq_ignore_ascii_case(environment))?
                .secret_box
        }
    };
    secret_box
        .secrets
        .iter()
        .find(|secret| secret.name.eq_ignore_ascii_case(name))
        .map(|secret| secret.value.clone())
}
