//! The whole manual procedure against the simulator, as the four phases will run it, with the
//! retries the real services force on clients.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestSim, poll, start_fast};

const NETWORK: &str = "api-version=2023-11-01";

async fn fresh_token(test: &TestSim, tenant: &str, app_id: &str, secret: &str) -> Option<String> {
    let answer = test
        .secret_token(tenant, app_id, secret, &test.ready().resource_manager)
        .await;
    answer.body["access_token"].as_str().map(str::to_string)
}

#[tokio::test]
async fn the_whole_procedure_reaches_active_and_survives_a_user_side_delete() {
    let test = start_fast().await;
    let ready = test.ready().clone();
    let delays = test.sim.delays().clone();
    let limit = Duration::from_secs(10);

    // prepare-tenant: app, SP, password, Network Contributor on the VNet, Aiven SP, custom role.
    let graph_token = test.admin_token("graph").await;
    let arm_token = test.admin_token("arm").await;
    let (app_id, _, user_principal_id, secret) = test.create_user_application(&graph_token).await;
    let assigned = test
        .assign_role(
            &arm_token,
            &ready.vnet_id,
            cloud_sim::NETWORK_CONTRIBUTOR_ROLE_ID,
            &user_principal_id,
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    let aiven_principal = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &graph_token,
            Some(json!({"appId": cloud_sim::AIVEN_APP_ID})),
        )
        .await;
    assert_eq!(
        aiven_principal.status,
        StatusCode::CREATED,
        "{}",
        aiven_principal.body
    );
    let aiven_principal_id = aiven_principal.body["id"].as_str().unwrap().to_string();
    let role_guid = uuid::Uuid::new_v4().to_string();
    let subscription_scope = format!("/subscriptions/{}", ready.subscription_id);
    let role = test
        .arm(Method::PUT, &format!("{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}?api-version=2022-04-01"), &arm_token,
            Some(json!({"properties": {"roleName": "aiven-peer", "description": "peer to vnets in scope", "type": "CustomRole",
                "permissions": [{"actions": [cloud_sim::PEER_ACTION]}], "assignableScopes": [subscription_scope]}})))
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.body);
    let aiven_assignment = test
        .assign_role(&arm_token, &ready.vnet_id, &role_guid, &aiven_principal_id)
        .await;
    assert_eq!(
        aiven_assignment.status,
        StatusCode::CREATED,
        "{}",
        aiven_assignment.body
    );
    test.wait(delays.role_propagation).await;

    // request-peering.
    let vpc_path = format!("/project/acme-prod/vpcs/{}", ready.project_vpc_id);
    let request = crate::aiven::connection_request(&test, &app_id);
    let created = test
        .aiven(
            Method::POST,
            &format!("{vpc_path}/peering-connections"),
            Some(request),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let pending = poll(limit, || async {
        let vpc = test.aiven(Method::GET, &vpc_path, None).await;
        let connection = vpc.body["peering_connections"][0].clone();
        assert_ne!(connection["state"], "INVALID_SPECIFICATION", "{connection}");
        (connection["state"] == "PENDING_PEER").then_some(connection)
    })
    .await;
    let info = &pending["state_info"];
    assert_eq!(info["type"], "pending-peer");
    assert_eq!(info["to-tenant-id"], ready.aiven_tenant_id);
    let aiven_network_id = info["to-network-id"].as_str().unwrap().to_string();

    // accept-peering: tokens in both tenants (Aiven's grant lags), then the PUT with retries.
    let peering_url = format!(
        "{}/virtualNetworkPeerings/to-aiven?{NETWORK}",
        ready.vnet_id
    );
    let saw_missing_principal = std::cell::Cell::new(false);
    let created_peering: Value = poll(limit, || async {
        let home = fresh_token(&test, &ready.user_tenant_id, &app_id, &secret).await?;
        let answer = test.secret_token(&ready.aiven_tenant_id, &app_id, &secret, &ready.resource_manager).await;
        let Some(auxiliary) = answer.body["access_token"].as_str() else {
            assert_eq!(answer.body["error_codes"], json!([7000229]), "{}", answer.body);
            saw_missing_principal.set(true);
            return None;
        };
        let url = format!("{}{peering_url}", ready.resource_manager);
        let body = json!({"properties": {"remoteVirtualNetwork": {"id": aiven_network_id}, "allowVirtualNetworkAccess": true,
            "allowForwardedTraffic": false, "allowGatewayTransit": false, "useRemoteGateways": false}});
        let answer = test
            .send(Method::PUT, &url, Some(&format!("Bearer {home}")), Some(body), &[("x-ms-authorization-auxiliary", &format!("Bearer {auxiliary}"))])
            .await;
        match answer.status {
            StatusCode::CREATED => Some(json!({"operation": answer.header("azure-asyncoperation").unwrap(), "token": home})),
            StatusCode::FORBIDDEN => {
                assert_eq!(answer.error_code(), "LinkedAuthorizationFailed", "{}", answer.body);
                None
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    })
    .await;
    assert!(
        saw_missing_principal.get(),
        "the user app has no service principal in the Aiven tenant at first"
    );
    let operation_url = created_peering["operation"].as_str().unwrap().to_string();
    let user_token = created_peering["token"].as_str().unwrap().to_string();
    poll(limit, || async {
        let status = test
            .send(
                Method::GET,
                &operation_url,
                Some(&format!("Bearer {user_token}")),
                None,
                &[],
            )
            .await;
        (status.body["status"] == "Succeeded").then_some(())
    })
    .await;
    let peering = test.arm(Method::GET, &peering_url, &user_token, None).await;
    assert_eq!(
        peering.body["properties"]["peeringState"], "Connected",
        "{}",
        peering.body
    );

    // await-active.
    let active = poll(limit, || async {
        let vpc = test.aiven(Method::GET, &vpc_path, None).await;
        let connection = vpc.body["peering_connections"][0].clone();
        (connection["state"] == "ACTIVE").then_some(connection)
    })
    .await;
    assert!(
        active["state_info"].get("to-network-id").is_none(),
        "{active}"
    );

    // Introspection shows both sides and no secret values anywhere.
    let state = test.sim.state();
    let state_text = state.to_string();
    for issued in test.sim.issued_secrets() {
        assert!(!state_text.contains(&issued), "state leaks a secret");
    }
    let aiven_side = state["virtualNetworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|network| network["id"] == aiven_network_id.as_str())
        .unwrap();
    assert_eq!(aiven_side["peerings"][0]["peeringState"], "Connected");

    // Deleting the user side disconnects the Aiven side; Aiven then asks for a new peering.
    let deleted = test
        .arm(Method::DELETE, &peering_url, &user_token, None)
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{}", deleted.body);
    poll(limit, || async {
        let state = test.sim.state();
        let aiven_side = state["virtualNetworks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|network| network["id"] == aiven_network_id.as_str())
            .cloned()
            .unwrap();
        (aiven_side["peerings"][0]["peeringState"] == "Disconnected").then_some(())
    })
    .await;
    let again = poll(limit, || async {
        let vpc = test.aiven(Method::GET, &vpc_path, None).await;
        let connection = vpc.body["peering_connections"][0].clone();
        (connection["state"] == "PENDING_PEER").then_some(connection)
    })
    .await;
    assert_eq!(
        again["state_info"]["to-network-id"],
        aiven_network_id.as_str()
    );
}
