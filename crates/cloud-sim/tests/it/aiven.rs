//! Aiven API: authentication, project VPCs, peering connection create/delete and validation.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Answer, TestSim, poll, start_with};

fn assert_aiven_error(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{}", answer.body);
    let error = &answer.body["errors"][0];
    assert_eq!(error["status"], status.as_u16(), "{}", answer.body);
    assert!(
        error["message"].is_string() && error["error_code"].is_string(),
        "{}",
        answer.body
    );
    assert!(answer.body["message"].is_string());
}

pub fn connection_request(test: &TestSim, app_id: &str) -> Value {
    let ready = test.ready();
    json!({
        "peer_cloud_account": ready.subscription_id,
        "peer_resource_group": ready.resource_group.to_lowercase(),
        "peer_vpc": ready.vnet_name.to_lowercase(),
        "peer_azure_app_id": app_id,
        "peer_azure_tenant_id": ready.user_tenant_id,
    })
}

fn quick() -> cloud_sim::Delays {
    let mut delays = cloud_sim::Delays::zero();
    delays.aiven_pending_peer_delay = Duration::from_millis(150);
    delays.aiven_delete_delay = Duration::from_millis(150);
    delays
}

#[tokio::test]
async fn aiven_requires_its_token() {
    let test = start_with(quick()).await;
    let url = format!("{}/v1/project/acme-prod/vpcs", test.ready().aiven);
    let anonymous = test.send(Method::GET, &url, None, None, &[]).await;
    assert_aiven_error(&anonymous, StatusCode::FORBIDDEN);
    let wrong = test
        .send(Method::GET, &url, Some("aivenv1 nope"), None, &[])
        .await;
    assert_aiven_error(&wrong, StatusCode::FORBIDDEN);
    let bearer = test
        .send(
            Method::GET,
            &url,
            Some(&format!("Bearer {}", test.ready().aiven_token)),
            None,
            &[],
        )
        .await;
    assert_aiven_error(&bearer, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn project_vpcs_are_listed_and_read() {
    let test = start_with(quick()).await;
    let ready = test.ready().clone();
    let listed = test
        .aiven(Method::GET, "/project/acme-prod/vpcs", None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        listed.body["vpcs"][0]["project_vpc_id"],
        ready.project_vpc_id
    );
    assert_eq!(listed.body["vpcs"][0]["cloud_name"], "azure-westeurope");
    assert_eq!(listed.body["vpcs"][0]["network_cidr"], "10.1.0.0/24");
    let vpc = test
        .aiven(
            Method::GET,
            &format!("/project/acme-prod/vpcs/{}", ready.project_vpc_id),
            None,
        )
        .await;
    assert_eq!(vpc.body["peering_connections"], json!([]));
    let unknown = test
        .aiven(
            Method::GET,
            &format!("/project/acme-prod/vpcs/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_aiven_error(&unknown, StatusCode::NOT_FOUND);
    let other_project = test.aiven(Method::GET, "/project/other/vpcs", None).await;
    assert_aiven_error(&other_project, StatusCode::FORBIDDEN);
    let unknown_route = test.aiven(Method::GET, "/nothing", None).await;
    assert_aiven_error(&unknown_route, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn create_rejects_upper_case_and_bad_bodies() {
    let test = start_with(quick()).await;
    let path = format!(
        "/project/acme-prod/vpcs/{}/peering-connections",
        test.ready().project_vpc_id
    );
    let mut upper = connection_request(&test, &uuid::Uuid::new_v4().to_string());
    upper["peer_resource_group"] = json!(test.ready().resource_group);
    let answer = test.aiven(Method::POST, &path, Some(upper)).await;
    assert_aiven_error(&answer, StatusCode::BAD_REQUEST);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("peer_resource_group")
    );

    let mut missing = connection_request(&test, &uuid::Uuid::new_v4().to_string());
    missing.as_object_mut().unwrap().remove("peer_vpc");
    assert_aiven_error(
        &test.aiven(Method::POST, &path, Some(missing)).await,
        StatusCode::BAD_REQUEST,
    );
    let mut extra = connection_request(&test, &uuid::Uuid::new_v4().to_string());
    extra["colour"] = json!("red");
    assert_aiven_error(
        &test.aiven(Method::POST, &path, Some(extra)).await,
        StatusCode::BAD_REQUEST,
    );
    let mut region = connection_request(&test, &uuid::Uuid::new_v4().to_string());
    region["peer_region"] = json!("westeurope");
    assert_aiven_error(
        &test.aiven(Method::POST, &path, Some(region)).await,
        StatusCode::BAD_REQUEST,
    );

    let url = format!("{}/v1{path}", test.ready().aiven);
    let malformed = test
        .client
        .post(url)
        .header(
            "authorization",
            format!("aivenv1 {}", test.ready().aiven_token),
        )
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: Value = malformed.json().await.unwrap();
    assert!(body["errors"].is_array());
}

#[tokio::test]
async fn missing_preparation_ends_in_invalid_specification_and_delete_goes_away() {
    let test = start_with(quick()).await;
    let ready = test.ready().clone();
    // The admin app stands in for a user app; the Aiven service principal was never created.
    let graph_token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &graph_token,
            Some(json!({"displayName": "u", "signInAudience": "AzureADMultipleOrgs"})),
        )
        .await;
    let app_id = created.body["appId"].as_str().unwrap().to_string();
    let path = format!(
        "/project/acme-prod/vpcs/{}/peering-connections",
        ready.project_vpc_id
    );
    let first = test
        .aiven(
            Method::POST,
            &path,
            Some(connection_request(&test, &app_id)),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["state"], "APPROVED");
    assert_eq!(
        first.body["vpc_peering_connection_type"],
        "azure-vnet-peering"
    );
    let duplicate = test
        .aiven(
            Method::POST,
            &path,
            Some(connection_request(&test, &app_id)),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::OK);
    assert_eq!(
        duplicate.body["peering_connection_id"],
        first.body["peering_connection_id"]
    );

    let vpc_path = format!("/project/acme-prod/vpcs/{}", ready.project_vpc_id);
    let invalid = poll(Duration::from_secs(3), || async {
        let vpc = test.aiven(Method::GET, &vpc_path, None).await;
        let connection = vpc.body["peering_connections"][0].clone();
        (connection["state"] == "INVALID_SPECIFICATION").then_some(connection)
    })
    .await;
    let message = invalid["state_info"]["message"].as_str().unwrap();
    assert!(message.contains("service principal"), "{message}");

    let delete_path = format!(
        "/project/acme-prod/vpcs/{}/peering-connections/peer-accounts/{}/peer-resource-groups/peering-rg/peer-vpcs/client-vnet",
        ready.project_vpc_id, ready.subscription_id
    );
    let deleting = test.aiven(Method::DELETE, &delete_path, None).await;
    assert_eq!(deleting.status, StatusCode::OK, "{}", deleting.body);
    assert_eq!(deleting.body["state"], "DELETING");
    poll(Duration::from_secs(3), || async {
        let vpc = test.aiven(Method::GET, &vpc_path, None).await;
        (vpc.body["peering_connections"][0]["state"] == "DELETED").then_some(())
    })
    .await;
    poll(Duration::from_secs(3), || async {
        let vpc = test.aiven(Method::GET, &vpc_path, None).await;
        (vpc.body["peering_connections"] == json!([])).then_some(())
    })
    .await;
    let again = test.aiven(Method::DELETE, &delete_path, None).await;
    assert_aiven_error(&again, StatusCode::NOT_FOUND);
}
