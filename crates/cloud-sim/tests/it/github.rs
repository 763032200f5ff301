//! GitHub subset: repository, sealed-box secrets, the read-only token and Actions OIDC.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestSim, start_instant};

fn seal(public_key_base64: &str, plaintext: &str) -> String {
    let key_bytes: [u8; 32] = STANDARD
        .decode(public_key_base64)
        .unwrap()
        .try_into()
        .unwrap();
    let public_key = crypto_box::PublicKey::from(key_bytes);
    let sealed = public_key
        .seal(&mut crypto_box::aead::OsRng, plaintext.as_bytes())
        .unwrap();
    STANDARD.encode(sealed)
}

async fn github(
    test: &TestSim,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> crate::support::Answer {
    let url = format!("{}{path}", test.ready().github);
    test.send(method, &url, Some(&format!("Bearer {token}")), body, &[])
        .await
}

#[tokio::test]
async fn repository_and_environment_secrets_are_really_opened() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let token = ready.github_token.clone();
    let repository = github(&test, Method::GET, "/repos/acme/infra", &token, None).await;
    assert_eq!(repository.status, StatusCode::OK);
    let repository_id = repository.body["id"].as_u64().unwrap();
    assert_eq!(repository.body["full_name"], "acme/infra");

    let key = github(
        &test,
        Method::GET,
        "/repos/acme/infra/actions/secrets/public-key",
        &token,
        None,
    )
    .await;
    assert_eq!(key.status, StatusCode::OK);
    let key_id = key.body["key_id"].as_str().unwrap().to_string();
    let sealed = seal(key.body["key"].as_str().unwrap(), "s3cret-value");
    let body = json!({"encrypted_value": sealed, "key_id": key_id});
    let created = github(
        &test,
        Method::PUT,
        "/repos/acme/infra/actions/secrets/AZURE_CLIENT_SECRET",
        &token,
        Some(body.clone()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let updated = github(
        &test,
        Method::PUT,
        "/repos/acme/infra/actions/secrets/AZURE_CLIENT_SECRET",
        &token,
        Some(body),
    )
    .await;
    assert_eq!(updated.status, StatusCode::NO_CONTENT);
    assert_eq!(
        test.sim
            .github_secret("acme/infra", None, "AZURE_CLIENT_SECRET")
            .as_deref(),
        Some("s3cret-value")
    );
    let state = test.sim.state().to_string();
    assert!(state.contains("AZURE_CLIENT_SECRET") && !state.contains("s3cret-value"));

    let wrong_key = github(
        &test,
        Method::PUT,
        "/repos/acme/infra/actions/secrets/OTHER",
        &token,
        Some(
            json!({"encrypted_value": seal(key.body["key"].as_str().unwrap(), "x"), "key_id": "1"}),
        ),
    )
    .await;
    assert_eq!(wrong_key.status, StatusCode::UNPROCESSABLE_ENTITY);
    let garbage = github(
        &test,
        Method::PUT,
        "/repos/acme/infra/actions/secrets/OTHER",
        &token,
        Some(json!({"encrypted_value": "bm90IGEgYm94", "key_id": key_id})),
    )
    .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbage.body["message"].is_string());

    let environment_base = format!("/repositories/{repository_id}/environments/production/secrets");
    let environment_key = github(
        &test,
        Method::GET,
        &format!("{environment_base}/public-key"),
        &token,
        None,
    )
    .await;
    assert_ne!(environment_key.body["key"], key.body["key"]);
    let environment_body = json!({
        "encrypted_value": seal(environment_key.body["key"].as_str().unwrap(), "env-value"),
        "key_id": environment_key.body["key_id"],
    });
    let environment_created = github(
        &test,
        Method::PUT,
        &format!("{environment_base}/AZURE_CLIENT_ID"),
        &token,
        Some(environment_body),
    )
    .await;
    assert_eq!(environment_created.status, StatusCode::CREATED);
    assert_eq!(
        test.sim
            .github_secret("acme/infra", Some("production"), "AZURE_CLIENT_ID")
            .as_deref(),
        Some("env-value")
    );
    let missing_environment = github(
        &test,
        Method::GET,
        &format!("/repositories/{repository_id}/environments/staging/secrets/public-key"),
        &token,
        None,
    )
    .await;
    assert_eq!(missing_environment.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_default_workflow_token_cannot_write_secrets() {
    let test = start_instant().await;
    let readonly = test.ready().github_readonly_token.clone();
    let repository = github(&test, Method::GET, "/repos/acme/infra", &readonly, None).await;
    assert_eq!(repository.status, StatusCode::OK);
    let denied = github(
        &test,
        Method::GET,
        "/repos/acme/infra/actions/secrets/public-key",
        &readonly,
        None,
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.body["message"],
        "Resource not accessible by integration"
    );
    let bad = github(&test, Method::GET, "/repos/acme/infra", "nope", None).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.body["message"], "Bad credentials");
}

#[tokio::test]
async fn actions_oidc_tokens_carry_the_configured_subject() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let url = format!(
        "{}&audience=api://AzureADTokenExchange",
        ready.github_oidc_request_url
    );
    let answer = test
        .send(
            Method::GET,
            &url,
            Some(&format!("bearer {}", ready.github_oidc_request_token)),
            None,
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let jwt = answer.body["value"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], "https://token.actions.githubusercontent.com");
    assert_eq!(claims["sub"], "repo:acme/infra:environment:production");
    assert_eq!(claims["aud"], "api://AzureADTokenExchange");
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 600);
    assert!(test.sim.issued_secrets().contains(&jwt.to_string()));

    let changed = test
        .send(
            Method::PUT,
            &format!("{}/_sim/oidc/github", ready.control),
            None,
            Some(json!({"sub": "repo:acme/infra:ref:refs/heads/main"})),
            &[],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    let again = test
        .send(
            Method::GET,
            &url,
            Some(&format!("bearer {}", ready.github_oidc_request_token)),
            None,
            &[],
        )
        .await;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(
                again.body["value"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .nth(1)
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "repo:acme/infra:ref:refs/heads/main");
    let refused = test
        .send(Method::GET, &url, Some("bearer wrong"), None, &[])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
