//! Microsoft Graph: applications, passwords, federated credentials, service principals.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Answer, start_instant, start_with};

fn assert_graph_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.error_code(), code, "{}", answer.body);
    assert!(answer.error_message().len() > 5);
    let inner = &answer.body["error"]["innerError"];
    assert!(
        inner["date"].is_string()
            && inner["request-id"].is_string()
            && inner["client-request-id"].is_string(),
        "{}",
        answer.body
    );
}

fn lagging() -> cloud_sim::Delays {
    let mut delays = cloud_sim::Delays::zero();
    delays.graph_replication_lag = Duration::from_millis(300);
    delays
}

#[tokio::test]
async fn duplicate_display_names_make_two_apps_and_reads_lag_behind() {
    let test = start_with(lagging()).await;
    let token = test.admin_token("graph").await;
    let body = json!({"displayName": "twin", "signInAudience": "AzureADMultipleOrgs"});
    let first = test
        .graph(Method::POST, "/applications", &token, Some(body.clone()))
        .await;
    let second = test
        .graph(Method::POST, "/applications", &token, Some(body))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, StatusCode::CREATED);
    assert_ne!(first.body["appId"], second.body["appId"]);
    let object_id = first.body["id"].as_str().unwrap();
    let app_id = first.body["appId"].as_str().unwrap();

    // During the replication lag, reads by id 404 and filters do not show the new objects.
    let early = test
        .graph(
            Method::GET,
            &format!("/applications/{object_id}"),
            &token,
            None,
        )
        .await;
    assert_graph_error(&early, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    let early_list = test
        .graph(
            Method::GET,
            "/applications?$filter=displayName%20eq%20'twin'",
            &token,
            None,
        )
        .await;
    assert_eq!(early_list.body["value"], json!([]));

    test.wait(Duration::from_millis(300)).await;
    let listed = test
        .graph(
            Method::GET,
            "/applications?$filter=displayName%20eq%20'twin'",
            &token,
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 2);
    let by_app_id = test
        .graph(
            Method::GET,
            &format!("/applications(appId='{app_id}')"),
            &token,
            None,
        )
        .await;
    assert_eq!(by_app_id.status, StatusCode::OK);
    assert_eq!(by_app_id.body["id"], object_id);
    assert_eq!(by_app_id.body["signInAudience"], "AzureADMultipleOrgs");
    let filtered = test
        .graph(
            Method::GET,
            &format!("/applications?$filter=appId eq '{app_id}'"),
            &token,
            None,
        )
        .await;
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 1);

    let deleted = test
        .graph(
            Method::DELETE,
            &format!("/applications/{object_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = test
        .graph(
            Method::GET,
            &format!("/applications/{object_id}"),
            &token,
            None,
        )
        .await;
    assert_graph_error(&gone, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
}

#[tokio::test]
async fn unique_name_upsert_creates_once_then_updates() {
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let url = format!(
        "{}/v1.0/applications(uniqueName='peering-app')",
        test.ready().graph
    );
    let authorization = format!("Bearer {token}");
    let body = json!({"displayName": "peering app", "signInAudience": "AzureADMultipleOrgs"});
    let missing = test
        .send(
            Method::PATCH,
            &url,
            Some(&authorization),
            Some(body.clone()),
            &[],
        )
        .await;
    assert_graph_error(&missing, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    let created = test
        .send(
            Method::PATCH,
            &url,
            Some(&authorization),
            Some(body.clone()),
            &[("prefer", "create-if-missing")],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["uniqueName"], "peering-app");
    let updated = test
        .send(
            Method::PATCH,
            &url,
            Some(&authorization),
            Some(body),
            &[("prefer", "create-if-missing")],
        )
        .await;
    assert_eq!(updated.status, StatusCode::NO_CONTENT);
    let state = test.sim.state();
    let count = state["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|application| application["uniqueName"] == "peering-app")
        .count();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn passwords_show_their_secret_once_and_never_in_state() {
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "pw"})),
        )
        .await;
    let object_id = created.body["id"].as_str().unwrap().to_string();
    let added = test
        .graph(Method::POST, &format!("/applications/{object_id}/addPassword"), &token,
            Some(json!({"passwordCredential": {"displayName": "ci", "endDateTime": "2099-01-01T00:00:00Z"}})))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let secret = added.body["secretText"].as_str().unwrap().to_string();
    let key_id = added.body["keyId"].as_str().unwrap().to_string();
    assert_eq!(added.body["hint"], secret[..3]);
    assert_eq!(added.body["endDateTime"], "2099-01-01T00:00:00Z");

    let read = test
        .graph(
            Method::GET,
            &format!("/applications/{object_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(read.body["passwordCredentials"][0]["keyId"], key_id);
    assert!(read.body["passwordCredentials"][0]["secretText"].is_null());
    let state_text = test.sim.state().to_string();
    assert!(state_text.contains(&key_id));
    assert!(!state_text.contains(&secret));
    assert!(test.sim.issued_secrets().contains(&secret));

    let removed = test
        .graph(
            Method::POST,
            &format!("/applications/{object_id}/removePassword"),
            &token,
            Some(json!({"keyId": key_id})),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let read = test
        .graph(
            Method::GET,
            &format!("/applications/{object_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(read.body["passwordCredentials"], json!([]));
}

#[tokio::test]
async fn federated_credentials_are_unique_and_limited_to_twenty() {
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "fic"})),
        )
        .await;
    let object_id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/applications/{object_id}/federatedIdentityCredentials");
    let credential = |index: usize| {
        json!({"name": format!("c{index}"), "issuer": "https://token.actions.githubusercontent.com",
        "subject": format!("repo:acme/infra:environment:e{index}"), "audiences": ["api://AzureADTokenExchange"]})
    };
    let first = test
        .graph(Method::POST, &path, &token, Some(credential(0)))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let mut same_pair = credential(0);
    same_pair["name"] = json!("other-name");
    let duplicate = test
        .graph(Method::POST, &path, &token, Some(same_pair))
        .await;
    assert_graph_error(
        &duplicate,
        StatusCode::CONFLICT,
        "Request_MultipleObjectsWithSameKeyValue",
    );
    for index in 1..20 {
        let answer = test
            .graph(Method::POST, &path, &token, Some(credential(index)))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let over = test
        .graph(Method::POST, &path, &token, Some(credential(20)))
        .await;
    assert_graph_error(&over, StatusCode::BAD_REQUEST, "Request_BadRequest");
    let url = format!("{}/v1.0{path}", test.ready().graph);
    let (listed, pages) = test.all_pages(&url, &token).await;
    assert_eq!(listed.len(), 20);
    assert_eq!(pages, 10, "a collection of 20 comes in pages of 2");
    let credential_id = first.body["id"].as_str().unwrap();
    let deleted = test
        .graph(
            Method::DELETE,
            &format!("{path}/{credential_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn service_principal_creation_has_the_real_lag_duplicate_and_permission_errors() {
    let test = start_with(lagging()).await;
    let token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "sp", "signInAudience": "AzureADMultipleOrgs"})),
        )
        .await;
    let app_id = created.body["appId"].as_str().unwrap().to_string();
    let body = json!({"appId": app_id, "accountEnabled": true});

    // Right after creating the app, both replication errors appear.
    let first = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(body.clone()),
        )
        .await;
    assert_graph_error(&first, StatusCode::FORBIDDEN, "Authorization_RequestDenied");
    assert!(first.error_message().contains("must in the local tenant"));
    let second = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(body.clone()),
        )
        .await;
    assert_graph_error(&second, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert_eq!(
        second.body["error"]["details"][0]["code"],
        "NoBackingApplicationObject"
    );

    test.wait(Duration::from_millis(300)).await;
    let made = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(body.clone()),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["appId"], app_id);
    assert_eq!(
        made.body["appOwnerOrganizationId"],
        test.ready().user_tenant_id
    );
    let principal_id = made.body["id"].as_str().unwrap().to_string();
    let again = test
        .graph(Method::POST, "/servicePrincipals", &token, Some(body))
        .await;
    assert_graph_error(
        &again,
        StatusCode::CONFLICT,
        "Request_MultipleObjectsWithSameKeyValue",
    );
    assert!(again.error_message().contains(&app_id));

    let early = test
        .graph(
            Method::GET,
            &format!("/servicePrincipals/{principal_id}"),
            &token,
            None,
        )
        .await;
    assert_graph_error(&early, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    test.wait(Duration::from_millis(300)).await;
    let by_id = test
        .graph(
            Method::GET,
            &format!("/servicePrincipals/{principal_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(by_id.status, StatusCode::OK);
    let by_app = test
        .graph(
            Method::GET,
            &format!("/servicePrincipals(appId='{app_id}')"),
            &token,
            None,
        )
        .await;
    assert_eq!(by_app.body["id"], principal_id);
    let filtered = test
        .graph(
            Method::GET,
            &format!("/servicePrincipals?$filter=appId%20eq%20'{app_id}'"),
            &token,
            None,
        )
        .await;
    assert_eq!(filtered.body["value"][0]["id"], principal_id);
    let deleted = test
        .graph(
            Method::DELETE,
            &format!("/servicePrincipals/{principal_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn foreign_service_principal_needs_the_application_administrator_role() {
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let admin_principal = test
        .sim
        .with_world(|world| world.fixtures.admin_service_principal_id.clone());
    test.sim.with_world(|world| {
        world.revoke_directory_role(&admin_principal, cloud_sim::APPLICATION_ADMINISTRATOR)
    });
    let body = json!({"appId": cloud_sim::AIVEN_APP_ID});
    let denied = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(body.clone()),
        )
        .await;
    assert_graph_error(
        &denied,
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
    );
    assert!(denied.error_message().contains(
        "backing application of the service principal being created must in the local tenant"
    ));

    test.sim.with_world(|world| {
        world.grant_directory_role(&admin_principal, cloud_sim::APPLICATION_ADMINISTRATOR)
    });
    let created = test
        .graph(Method::POST, "/servicePrincipals", &token, Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body["appOwnerOrganizationId"],
        test.ready().aiven_tenant_id
    );

    let unknown = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(json!({"appId": uuid::Uuid::new_v4()})),
        )
        .await;
    assert_graph_error(&unknown, StatusCode::BAD_REQUEST, "Request_BadRequest");
}

#[tokio::test]
async fn graph_rejects_bad_tokens_bad_json_and_unknown_routes_in_its_own_shape() {
    let test = start_instant().await;
    let arm_token = test.admin_token("arm").await;
    let wrong_audience = test
        .graph(Method::GET, "/applications", &arm_token, None)
        .await;
    assert_graph_error(
        &wrong_audience,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    let no_token = test
        .send(
            Method::GET,
            &format!("{}/v1.0/applications", test.ready().graph),
            None,
            None,
            &[],
        )
        .await;
    assert_graph_error(
        &no_token,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );

    let token = test.admin_token("graph").await;
    let malformed = test
        .client
        .post(format!("{}/v1.0/applications", test.ready().graph))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");

    let unknown_property = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "x", "colour": "red"})),
        )
        .await;
    assert_graph_error(
        &unknown_property,
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
    );
    let unknown_route = test.graph(Method::GET, "/nothingHere", &token, None).await;
    assert_graph_error(
        &unknown_route,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
    );
    let bad_id = test
        .graph(Method::GET, "/applications/not-a-guid", &token, None)
        .await;
    assert_graph_error(&bad_id, StatusCode::BAD_REQUEST, "Request_BadRequest");
}
