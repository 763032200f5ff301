//! Token endpoint: client secrets, federated assertions and the AADSTS errors.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{start_fast, start_instant};

fn assert_aad_error(answer: &crate::support::Answer, status: StatusCode, code: u64) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["error_codes"], json!([code]), "{}", answer.body);
    let description = answer.body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for field in ["error", "timestamp", "trace_id", "correlation_id"] {
        assert!(
            answer.body[field].is_string(),
            "missing {field} in {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn client_secret_gets_a_bearer_token_for_arm_and_graph_audiences() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let mut issued = Vec::new();
    for resource in [
        ready.resource_manager.clone(),
        format!("{}/", ready.graph),
        "https://management.azure.com".to_string(),
        "https://management.azure.com/".to_string(),
        "https://graph.microsoft.com".to_string(),
    ] {
        let answer = test
            .secret_token(
                &ready.user_tenant_id,
                &ready.admin_client_id,
                &ready.admin_client_secret,
                &resource,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{resource}: {}", answer.body);
        assert_eq!(answer.body["token_type"], "Bearer");
        assert_eq!(answer.body["expires_in"], 3599);
        assert_eq!(answer.body["ext_expires_in"], 3599);
        let token = answer.body["access_token"].as_str().unwrap().to_string();
        assert!(token.len() > 20);
        issued.push(token);
    }
    // The leak scans look for exactly the tokens handed out.
    assert_eq!(
        test.sim
            .issued_secrets_of(cloud_sim::SecretKind::AccessToken),
        issued
    );
}

#[tokio::test]
async fn token_errors_carry_the_real_aadsts_codes() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let arm = ready.resource_manager.clone();

    let unknown_tenant = test
        .secret_token(
            &uuid::Uuid::new_v4().to_string(),
            &ready.admin_client_id,
            &ready.admin_client_secret,
            &arm,
        )
        .await;
    assert_aad_error(&unknown_tenant, StatusCode::BAD_REQUEST, 90002);

    let unknown_app = test
        .secret_token(
            &ready.user_tenant_id,
            &uuid::Uuid::new_v4().to_string(),
            "x",
            &arm,
        )
        .await;
    assert_aad_error(&unknown_app, StatusCode::BAD_REQUEST, 700016);
    assert_eq!(unknown_app.body["error"], "unauthorized_client");

    let bad_secret = test
        .secret_token(&ready.user_tenant_id, &ready.admin_client_id, "wrong", &arm)
        .await;
    assert_aad_error(&bad_secret, StatusCode::UNAUTHORIZED, 7000215);
    assert_eq!(bad_secret.body["error"], "invalid_client");

    // The admin app is single-tenant: the Aiven tenant does not know it.
    let foreign_tenant = test
        .secret_token(
            &ready.aiven_tenant_id,
            &ready.admin_client_id,
            &ready.admin_client_secret,
            &arm,
        )
        .await;
    assert_aad_error(&foreign_tenant, StatusCode::BAD_REQUEST, 700016);

    let no_default = test
        .token_request(
            &ready.user_tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &ready.admin_client_id),
                ("client_secret", &ready.admin_client_secret),
                ("scope", "https://management.azure.com/user_impersonation"),
            ],
        )
        .await;
    assert_aad_error(&no_default, StatusCode::BAD_REQUEST, 1002012);

    let two_scopes = test
        .token_request(
            &ready.user_tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &ready.admin_client_id),
                ("client_secret", &ready.admin_client_secret),
                (
                    "scope",
                    "https://management.azure.com/.default https://graph.microsoft.com/.default",
                ),
            ],
        )
        .await;
    assert_aad_error(&two_scopes, StatusCode::BAD_REQUEST, 70011);

    let unknown_resource = test
        .secret_token(
            &ready.user_tenant_id,
            &ready.admin_client_id,
            &ready.admin_client_secret,
            "https://vault.azure.net",
        )
        .await;
    assert_aad_error(&unknown_resource, StatusCode::BAD_REQUEST, 500011);

    let no_grant = test
        .token_request(&ready.user_tenant_id, &[("client_id", "x")])
        .await;
    assert_aad_error(&no_grant, StatusCode::BAD_REQUEST, 900144);

    let no_credential = test
        .token_request(
            &ready.user_tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &ready.admin_client_id),
                ("scope", "https://management.azure.com/.default"),
            ],
        )
        .await;
    assert_aad_error(&no_credential, StatusCode::UNAUTHORIZED, 7000218);
}

#[tokio::test]
async fn new_password_is_refused_until_it_propagates_and_expired_ones_forever() {
    let mut delays = cloud_sim::Delays::zero();
    delays.password_propagation = std::time::Duration::from_millis(300);
    let test = crate::support::start_with(delays).await;
    let ready = test.ready().clone();
    let graph_token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &graph_token,
            Some(json!({"displayName": "pw", "signInAudience": "AzureADMultipleOrgs"})),
        )
        .await;
    let object_id = created.body["id"].as_str().unwrap().to_string();
    let app_id = created.body["appId"].as_str().unwrap().to_string();
    let principal = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &graph_token,
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(principal.status, StatusCode::CREATED);
    let password = test
        .graph(
            Method::POST,
            &format!("/applications/{object_id}/addPassword"),
            &graph_token,
            Some(json!({"passwordCredential": {"displayName": "new"}})),
        )
        .await;
    let secret = password.body["secretText"].as_str().unwrap().to_string();

    let too_early = test
        .secret_token(
            &ready.user_tenant_id,
            &app_id,
            &secret,
            &ready.resource_manager,
        )
        .await;
    assert_aad_error(&too_early, StatusCode::UNAUTHORIZED, 7000215);
    test.wait(std::time::Duration::from_millis(300)).await;
    let later = test
        .secret_token(
            &ready.user_tenant_id,
            &app_id,
            &secret,
            &ready.resource_manager,
        )
        .await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);

    let expired = test
        .graph(Method::POST, &format!("/applications/{object_id}/addPassword"), &graph_token,
            Some(json!({"passwordCredential": {"displayName": "old", "endDateTime": "2020-01-01T00:00:00Z"}})))
        .await;
    assert_eq!(expired.status, StatusCode::OK, "{}", expired.body);
    test.wait(std::time::Duration::from_millis(300)).await;
    let expired_secret = expired.body["secretText"].as_str().unwrap();
    let refused = test
        .secret_token(
            &ready.user_tenant_id,
            &app_id,
            expired_secret,
            &ready.resource_manager,
        )
        .await;
    assert_aad_error(&refused, StatusCode::UNAUTHORIZED, 7000222);
}

#[tokio::test]
async fn multi_tenant_app_needs_a_service_principal_in_the_other_tenant() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let graph_token = test.admin_token("graph").await;
    let (app_id, _, _, secret) = test.create_user_application(&graph_token).await;
    let home = test
        .secret_token(
            &ready.user_tenant_id,
            &app_id,
            &secret,
            &ready.resource_manager,
        )
        .await;
    assert_eq!(home.status, StatusCode::OK);
    let aiven_tenant = test
        .secret_token(
            &ready.aiven_tenant_id,
            &app_id,
            &secret,
            &ready.resource_manager,
        )
        .await;
    assert_aad_error(&aiven_tenant, StatusCode::BAD_REQUEST, 7000229);
}

#[tokio::test]
async fn federated_assertions_must_match_issuer_subject_and_audience() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let graph_token = test.admin_token("graph").await;
    let (app_id, object_id, _, _) = test.create_user_application(&graph_token).await;
    let credential = test
        .graph(Method::POST, &format!("/applications/{object_id}/federatedIdentityCredentials"), &graph_token,
            Some(json!({"name": "github-production", "issuer": "https://token.actions.githubusercontent.com",
                "subject": "repo:acme/infra:environment:production", "audiences": ["api://AzureADTokenExchange"]})))
        .await;
    assert_eq!(
        credential.status,
        StatusCode::CREATED,
        "{}",
        credential.body
    );

    let github_assertion = |audience: &'static str| {
        let test = &test;
        let ready = ready.clone();
        async move {
            let url = format!("{}&audience={audience}", ready.github_oidc_request_url);
            let answer = test
                .send(
                    Method::GET,
                    &url,
                    Some(&format!("bearer {}", ready.github_oidc_request_token)),
                    None,
                    &[],
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            answer.body["value"].as_str().unwrap().to_string()
        }
    };
    let exchange = |assertion: String| {
        let test = &test;
        let ready = ready.clone();
        let app_id = app_id.clone();
        async move {
            test.token_request(
                &ready.user_tenant_id,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &app_id),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                    ("scope", "https://management.azure.com/.default"),
                ],
            )
            .await
        }
    };

    let good = exchange(github_assertion("api://AzureADTokenExchange").await).await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);

    let wrong_audience = exchange(github_assertion("api://Other").await).await;
    assert_aad_error(&wrong_audience, StatusCode::BAD_REQUEST, 70021);

    test.sim
        .with_world(|world| world.set_github_oidc_subject("repo:acme/infra:ref:refs/heads/main"));
    let wrong_subject = exchange(github_assertion("api://AzureADTokenExchange").await).await;
    assert_aad_error(&wrong_subject, StatusCode::BAD_REQUEST, 700213);

    let gitlab = test
        .send(Method::POST, &format!("{}/_sim/oidc/gitlab", ready.control), None,
            Some(json!({"sub": "project_path:g/p:ref_type:branch:ref:main", "aud": "api://AzureADTokenExchange"})), &[])
        .await;
    let wrong_issuer = exchange(gitlab.body["token"].as_str().unwrap().to_string()).await;
    assert_aad_error(&wrong_issuer, StatusCode::BAD_REQUEST, 700211);

    let forged = exchange("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl".to_string()).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", forged.body);
}

#[tokio::test]
async fn openid_configuration_names_the_token_endpoint() {
    let test = start_fast().await;
    let ready = test.ready().clone();
    let url = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        ready.authority_host, ready.user_tenant_id
    );
    let answer = test.send(Method::GET, &url, None, None, &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body["token_endpoint"],
        format!(
            "{}/{}/oauth2/v2.0/token",
            ready.authority_host, ready.user_tenant_id
        )
    );
    let unknown = test
        .send(
            Method::GET,
            &format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                ready.authority_host,
                uuid::Uuid::new_v4()
            ),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["error_codes"], json!([90002]));
}
