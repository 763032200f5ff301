//! Azure Resource Manager: api-version, subscriptions, VNets, roles, RBAC and peerings.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Answer, poll, start_instant, start_with};

const NETWORK: &str = "api-version=2024-05-01";
const AUTHORIZATION: &str = "api-version=2022-04-01";

fn assert_arm_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.error_code(), code, "{}", answer.body);
    assert!(!answer.error_message().is_empty());
}

#[tokio::test]
async fn api_version_is_required_and_checked() {
    let test = start_instant().await;
    let token = test.admin_token("arm").await;
    let vnet_id = test.ready().vnet_id.clone();
    let missing = test.arm(Method::GET, &vnet_id, &token, None).await;
    assert_arm_error(
        &missing,
        StatusCode::BAD_REQUEST,
        "MissingApiVersionParameter",
    );
    let unsupported = test
        .arm(
            Method::GET,
            &format!("{vnet_id}?api-version=2099-01-01"),
            &token,
            None,
        )
        .await;
    assert_arm_error(
        &unsupported,
        StatusCode::BAD_REQUEST,
        "InvalidApiVersionParameter",
    );
    for version in ["2023-11-01", "2024-05-01", "2024-07-01", "2025-07-01"] {
        let answer = test
            .arm(
                Method::GET,
                &format!("{vnet_id}?api-version={version}"),
                &token,
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{version}");
        assert_eq!(
            answer.header("x-ms-ratelimit-remaining-subscription-reads"),
            Some("11999")
        );
    }
}

#[tokio::test]
async fn subscription_and_vnet_reads_use_canonical_case() {
    let test = start_instant().await;
    let token = test.admin_token("arm").await;
    let ready = test.ready().clone();
    let subscription = test
        .arm(
            Method::GET,
            &format!(
                "/subscriptions/{}?api-version=2022-12-01",
                ready.subscription_id
            ),
            &token,
            None,
        )
        .await;
    assert_eq!(subscription.status, StatusCode::OK);
    assert_eq!(subscription.body["tenantId"], ready.user_tenant_id);
    assert_eq!(subscription.body["subscriptionId"], ready.subscription_id);

    let lower = format!(
        "/subscriptions/{}/resourcegroups/peering-rg/providers/microsoft.network/virtualnetworks/client-vnet?{NETWORK}",
        ready.subscription_id
    );
    let network = test.arm(Method::GET, &lower, &token, None).await;
    assert_eq!(network.status, StatusCode::OK, "{}", network.body);
    assert_eq!(network.body["name"], "Client-VNet");
    assert_eq!(network.body["id"], ready.vnet_id);
    assert_eq!(network.body["location"], "westeurope");
    assert_eq!(
        network.body["properties"]["addressSpace"]["addressPrefixes"],
        json!(["10.0.0.0/16"])
    );
    assert_eq!(
        network.body["properties"]["virtualNetworkPeerings"],
        json!([])
    );

    let missing = test.arm(Method::GET, &format!("/subscriptions/{}/resourceGroups/Peering-RG/providers/Microsoft.Network/virtualNetworks/nope?{NETWORK}", ready.subscription_id), &token, None).await;
    assert_arm_error(&missing, StatusCode::NOT_FOUND, "ResourceNotFound");
    let no_group = test.arm(Method::GET, &format!("/subscriptions/{}/resourceGroups/nope/providers/Microsoft.Network/virtualNetworks/x?{NETWORK}", ready.subscription_id), &token, None).await;
    assert_arm_error(&no_group, StatusCode::NOT_FOUND, "ResourceGroupNotFound");
    let no_subscription = test
        .arm(
            Method::GET,
            &format!(
                "/subscriptions/{}?api-version=2022-12-01",
                uuid::Uuid::new_v4()
            ),
            &token,
            None,
        )
        .await;
    assert_arm_error(
        &no_subscription,
        StatusCode::NOT_FOUND,
        "SubscriptionNotFound",
    );

    // The Aiven subscription belongs to another tenant.
    let aiven_subscription = test
        .sim
        .with_world(|world| world.fixtures.aiven_subscription_id.clone());
    let foreign = test
        .arm(
            Method::GET,
            &format!("/subscriptions/{aiven_subscription}?api-version=2022-12-01"),
            &token,
            None,
        )
        .await;
    assert_arm_error(
        &foreign,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationTokenTenant",
    );

    let graph_token = test.admin_token("graph").await;
    let wrong_audience = test.arm(Method::GET, &lower, &graph_token, None).await;
    assert_arm_error(
        &wrong_audience,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationTokenAudience",
    );
    let anonymous = test
        .send(
            Method::GET,
            &format!("{}{lower}", ready.resource_manager),
            None,
            None,
            &[],
        )
        .await;
    assert_arm_error(&anonymous, StatusCode::UNAUTHORIZED, "AuthenticationFailed");
}

#[tokio::test]
async fn role_definitions_list_built_ins_and_keep_custom_names_unique() {
    let test = start_instant().await;
    let token = test.admin_token("arm").await;
    let ready = test.ready().clone();
    let subscription_scope = format!("/subscriptions/{}", ready.subscription_id);
    for scope in [subscription_scope.clone(), ready.vnet_id.clone()] {
        let listed = test
            .arm(Method::GET, &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20'Network%20Contributor'&{AUTHORIZATION}"), &token, None)
            .await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        let values = listed.body["value"].as_array().unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0]["name"], cloud_sim::NETWORK_CONTRIBUTOR_ROLE_ID);
        assert!(
            values[0]["id"]
                .as_str()
                .unwrap()
                .ends_with(cloud_sim::NETWORK_CONTRIBUTOR_ROLE_ID)
        );
        assert!(
            values[0]["properties"]["permissions"][0]["actions"]
                .as_array()
                .unwrap()
                .contains(&json!("Microsoft.Network/*"))
        );
        assert_eq!(values[0]["properties"]["type"], "BuiltInRole");
    }

    let role_guid = uuid::Uuid::new_v4().to_string();
    let definition = json!({"properties": {
        "roleName": "Aiven peering", "description": "peer only", "type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.Network/virtualNetworks/peer/action"], "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": [subscription_scope.clone()],
    }});
    let url = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}?{AUTHORIZATION}"
    );
    let created = test
        .arm(Method::PUT, &url, &token, Some(definition.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["properties"]["type"], "CustomRole");
    let updated = test
        .arm(Method::PUT, &url, &token, Some(definition.clone()))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    let fetched = test.arm(Method::GET, &url, &token, None).await;
    assert_eq!(fetched.body["properties"]["roleName"], "Aiven peering");

    let twin_url = format!(
        "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{}?{AUTHORIZATION}",
        uuid::Uuid::new_v4()
    );
    let twin = test
        .arm(Method::PUT, &twin_url, &token, Some(definition.clone()))
        .await;
    assert_arm_error(
        &twin,
        StatusCode::CONFLICT,
        "RoleDefinitionWithSameNameExists",
    );

    let aiven_subscription = test
        .sim
        .with_world(|world| world.fixtures.aiven_subscription_id.clone());
    let mut foreign = definition.clone();
    foreign["properties"]["roleName"] = json!("Elsewhere");
    foreign["properties"]["assignableScopes"] =
        json!([format!("/subscriptions/{aiven_subscription}")]);
    let foreign_answer = test
        .arm(Method::PUT, &twin_url, &token, Some(foreign))
        .await;
    assert_eq!(
        foreign_answer.status,
        StatusCode::BAD_REQUEST,
        "{}",
        foreign_answer.body
    );

    let malformed = test
        .client
        .put(format!("{}{twin_url}", ready.resource_manager))
        .bearer_auth(&token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn role_assignments_follow_principal_type_and_duplicate_rules() {
    let mut delays = cloud_sim::Delays::zero();
    delays.graph_replication_lag = Duration::from_millis(400);
    let test = start_with(delays).await;
    let graph_token = test.admin_token("graph").await;
    let arm_token = test.admin_token("arm").await;
    let ready = test.ready().clone();
    // A service principal for the Aiven app is fresh: without principalType it is not found yet.
    let principal = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &graph_token,
            Some(json!({"appId": cloud_sim::AIVEN_APP_ID})),
        )
        .await;
    let principal_id = principal.body["id"].as_str().unwrap().to_string();
    let role_id = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
        ready.subscription_id,
        cloud_sim::READER_ROLE_ID
    );
    let assignment_guid = uuid::Uuid::new_v4().to_string();
    let url = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{assignment_guid}?{AUTHORIZATION}",
        ready.vnet_id
    );
    let without_type = test
        .arm(
            Method::PUT,
            &url,
            &arm_token,
            Some(json!({"properties": {"roleDefinitionId": role_id, "principalId": principal_id}})),
        )
        .await;
    assert_arm_error(&without_type, StatusCode::BAD_REQUEST, "PrincipalNotFound");

    let body = json!({"properties": {"roleDefinitionId": role_id, "principalId": principal_id, "principalType": "ServicePrincipal"}});
    let created = test
        .arm(Method::PUT, &url, &arm_token, Some(body.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["properties"]["scope"], ready.vnet_id);
    assert_eq!(
        created.header("x-ms-ratelimit-remaining-subscription-writes"),
        Some("1199")
    );
    let same = test
        .arm(Method::PUT, &url, &arm_token, Some(body.clone()))
        .await;
    assert_eq!(same.status, StatusCode::CREATED);
    let other_url = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?{AUTHORIZATION}",
        ready.vnet_id,
        uuid::Uuid::new_v4()
    );
    let twin = test
        .arm(Method::PUT, &other_url, &arm_token, Some(body))
        .await;
    assert_arm_error(&twin, StatusCode::CONFLICT, "RoleAssignmentExists");

    let listed = test
        .arm(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'{principal_id}'&{AUTHORIZATION}", ready.subscription_id), &arm_token, None)
        .await;
    assert_eq!(
        listed.body["value"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );
    let at_scope = test
        .arm(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()&{AUTHORIZATION}", ready.subscription_id), &arm_token, None)
        .await;
    assert!(
        at_scope.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|assignment| assignment["properties"]["principalId"] != principal_id.as_str())
    );
    let fetched = test.arm(Method::GET, &url, &arm_token, None).await;
    assert_eq!(fetched.body["name"], assignment_guid);

    let unknown_role = test
        .arm(Method::PUT, &other_url, &arm_token, Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}", ready.subscription_id, uuid::Uuid::new_v4()),
            "principalId": principal_id, "principalType": "ServicePrincipal"}})))
        .await;
    assert_arm_error(
        &unknown_role,
        StatusCode::BAD_REQUEST,
        "RoleDefinitionDoesNotExist",
    );

    let deleted = test.arm(Method::DELETE, &url, &arm_token, None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = test.arm(Method::GET, &url, &arm_token, None).await;
    assert_arm_error(&gone, StatusCode::NOT_FOUND, "RoleAssignmentNotFound");
}

#[tokio::test]
async fn role_assignments_grant_only_after_propagation_and_to_fresh_tokens() {
    let mut delays = cloud_sim::Delays::zero();
    delays.role_propagation = Duration::from_millis(400);
    let test = start_with(delays).await;
    let ready = test.ready().clone();
    let graph_token = test.admin_token("graph").await;
    let arm_token = test.admin_token("arm").await;
    let (app_id, _, principal_id, secret) = test.create_user_application(&graph_token).await;
    let user_token = |_: ()| async {
        let answer = test
            .secret_token(
                &ready.user_tenant_id,
                &app_id,
                &secret,
                &ready.resource_manager,
            )
            .await;
        answer.body["access_token"].as_str().unwrap().to_string()
    };
    let vnet_url = format!("{}?{NETWORK}", ready.vnet_id);
    let before = user_token(()).await;
    let denied = test.arm(Method::GET, &vnet_url, &before, None).await;
    assert_arm_error(&denied, StatusCode::FORBIDDEN, "AuthorizationFailed");
    assert!(denied.error_message().contains(&format!("The client '{app_id}' with object id '{principal_id}' does not have authorization to perform action 'Microsoft.Network/virtualNetworks/read' over scope")));
    assert!(denied.error_message().contains("refresh your credentials"));

    let assigned = test
        .assign_role(
            &arm_token,
            &ready.vnet_id,
            cloud_sim::NETWORK_CONTRIBUTOR_ROLE_ID,
            &principal_id,
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    let still_denied = test
        .arm(Method::GET, &vnet_url, &user_token(()).await, None)
        .await;
    assert_arm_error(&still_denied, StatusCode::FORBIDDEN, "AuthorizationFailed");
    test.wait(Duration::from_millis(400)).await;
    // A token from before the assignment became effective still does not carry it.
    let old_token = test.arm(Method::GET, &vnet_url, &before, None).await;
    assert_arm_error(&old_token, StatusCode::FORBIDDEN, "AuthorizationFailed");
    let fresh = user_token(()).await;
    let allowed = test.arm(Method::GET, &vnet_url, &fresh, None).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    // Network Contributor does not allow role assignments.
    let escalate = test
        .assign_role(
            &fresh,
            &ready.vnet_id,
            cloud_sim::OWNER_ROLE_ID,
            &principal_id,
        )
        .await;
    assert_arm_error(&escalate, StatusCode::FORBIDDEN, "AuthorizationFailed");
}

/// Adds a second VNet in the user subscription for same-tenant peering tests.
fn add_second_network(test: &crate::support::TestSim, prefix: &str) -> String {
    let ready = test.ready().clone();
    test.sim.with_world(|world| {
        let mut network = world.virtual_networks[0].clone();
        network.name = "Second-VNet".to_string();
        network.address_prefixes = vec![prefix.to_string()];
        network.peerings.clear();
        network.subscription_id = ready.subscription_id.clone();
        let id = network.id();
        world.virtual_networks.push(network);
        id
    })
}

#[tokio::test]
async fn peerings_are_long_running_and_track_both_sides() {
    let mut delays = cloud_sim::Delays::zero();
    delays.lro_duration = Duration::from_millis(300);
    let test = start_with(delays).await;
    let ready = test.ready().clone();
    let token = test.admin_token("arm").await;
    let second = add_second_network(&test, "10.2.0.0/16");
    let forward_url = format!(
        "{}/virtualNetworkPeerings/to-second?{NETWORK}",
        ready.vnet_id
    );
    let body = |remote: &str| {
        json!({"properties": {"remoteVirtualNetwork": {"id": remote}, "allowVirtualNetworkAccess": true,
        "allowForwardedTraffic": false, "allowGatewayTransit": false, "useRemoteGateways": false}})
    };

    let created = test
        .arm(Method::PUT, &forward_url, &token, Some(body(&second)))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["properties"]["provisioningState"], "Updating");
    let operation_url = created.header("azure-asyncoperation").unwrap().to_string();
    // A 300 ms operation says "1": azure-core reads "0" as no hint and waits 30 s (az did).
    assert_eq!(created.header("retry-after"), Some("1"));
    let in_progress = test
        .send(
            Method::GET,
            &operation_url,
            Some(&format!("Bearer {token}")),
            None,
            &[],
        )
        .await;
    assert_eq!(in_progress.body["status"], "InProgress");
    let busy = test
        .arm(Method::PUT, &forward_url, &token, Some(body(&second)))
        .await;
    assert_arm_error(&busy, StatusCode::CONFLICT, "AnotherOperationInProgress");
    poll(Duration::from_secs(3), || async {
        let status = test
            .send(
                Method::GET,
                &operation_url,
                Some(&format!("Bearer {token}")),
                None,
                &[],
            )
            .await;
        (status.body["status"] == "Succeeded").then_some(())
    })
    .await;
    let forward = test.arm(Method::GET, &forward_url, &token, None).await;
    assert_eq!(forward.body["properties"]["peeringState"], "Initiated");
    assert_eq!(forward.body["properties"]["provisioningState"], "Succeeded");

    let backward_url = format!("{second}/virtualNetworkPeerings/to-client?{NETWORK}");
    test.arm(
        Method::PUT,
        &backward_url,
        &token,
        Some(body(&ready.vnet_id)),
    )
    .await;
    test.wait(Duration::from_millis(300)).await;
    let forward = test.arm(Method::GET, &forward_url, &token, None).await;
    assert_eq!(forward.body["properties"]["peeringState"], "Connected");
    let network = test
        .arm(
            Method::GET,
            &format!("{}?{NETWORK}", ready.vnet_id),
            &token,
            None,
        )
        .await;
    assert_eq!(
        network.body["properties"]["virtualNetworkPeerings"][0]["properties"]["peeringState"],
        "Connected"
    );
    let listed = test
        .arm(
            Method::GET,
            &format!("{}/virtualNetworkPeerings?{NETWORK}", ready.vnet_id),
            &token,
            None,
        )
        .await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);

    let deleted = test.arm(Method::DELETE, &backward_url, &token, None).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert!(
        deleted.header("azure-asyncoperation").is_some() && deleted.header("location").is_some()
    );
    test.wait(Duration::from_millis(300)).await;
    let forward = test.arm(Method::GET, &forward_url, &token, None).await;
    assert_eq!(forward.body["properties"]["peeringState"], "Disconnected");
    let gone = test.arm(Method::GET, &backward_url, &token, None).await;
    assert_arm_error(&gone, StatusCode::NOT_FOUND, "NotFound");
    let recreate = test
        .arm(
            Method::PUT,
            &backward_url,
            &token,
            Some(body(&ready.vnet_id)),
        )
        .await;
    assert_arm_error(
        &recreate,
        StatusCode::BAD_REQUEST,
        "RemotePeeringIsDisconnected",
    );
}

#[tokio::test]
async fn peering_bodies_are_validated() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let token = test.admin_token("arm").await;
    let url = format!("{}/virtualNetworkPeerings/p1?{NETWORK}", ready.vnet_id);
    let no_remote = test
        .arm(
            Method::PUT,
            &url,
            &token,
            Some(json!({"properties": {"allowVirtualNetworkAccess": true}})),
        )
        .await;
    assert_arm_error(&no_remote, StatusCode::BAD_REQUEST, "InvalidRequestContent");
    let bad_id = test
        .arm(
            Method::PUT,
            &url,
            &token,
            Some(json!({"properties": {"remoteVirtualNetwork": {"id": "Client-VNet"}}})),
        )
        .await;
    assert_arm_error(&bad_id, StatusCode::BAD_REQUEST, "LinkedInvalidPropertyId");
    let overlapping = add_second_network(&test, "10.0.128.0/17");
    let overlap = test
        .arm(
            Method::PUT,
            &url,
            &token,
            Some(json!({"properties": {"remoteVirtualNetwork": {"id": overlapping}}})),
        )
        .await;
    assert_arm_error(
        &overlap,
        StatusCode::BAD_REQUEST,
        "VnetAddressSpacesOverlap",
    );
    let aiven_network = test
        .sim
        .with_world(|world| world.fixtures.aiven_virtual_network_id.clone());
    let cross_tenant = test
        .arm(
            Method::PUT,
            &url,
            &token,
            Some(json!({"properties": {"remoteVirtualNetwork": {"id": aiven_network}}})),
        )
        .await;
    assert_arm_error(
        &cross_tenant,
        StatusCode::FORBIDDEN,
        "LinkedAuthorizationFailed",
    );
    assert!(
        cross_tenant
            .error_message()
            .contains("is not authorized to access linked subscription")
    );
    let unknown_route = test
        .arm(
            Method::GET,
            &format!(
                "/subscriptions/{}/providers/Microsoft.Compute/disks?{NETWORK}",
                ready.subscription_id
            ),
            &token,
            None,
        )
        .await;
    assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
    assert!(unknown_route.body["error"]["code"].is_string());
}

#[tokio::test]
async fn a_brand_new_principal_is_unknown_to_assignments_even_with_its_type() {
    let mut delays = cloud_sim::Delays::zero();
    delays.assignment_principal_lag = Duration::from_millis(500);
    let test = start_with(delays).await;
    let graph_token = test.admin_token("graph").await;
    let arm_token = test.admin_token("arm").await;
    let ready = test.ready().clone();
    let principal = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &graph_token,
            Some(json!({"appId": cloud_sim::AIVEN_APP_ID})),
        )
        .await;
    let principal_id = principal.body["id"].as_str().unwrap().to_string();
    let url = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?{AUTHORIZATION}",
        ready.vnet_id,
        uuid::Uuid::new_v4()
    );
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}", ready.subscription_id, cloud_sim::READER_ROLE_ID),
        "principalId": principal_id,
        "principalType": "ServicePrincipal",
    }});
    let young = test
        .arm(Method::PUT, &url, &arm_token, Some(body.clone()))
        .await;
    assert_arm_error(&young, StatusCode::BAD_REQUEST, "PrincipalNotFound");
    test.wait(Duration::from_millis(500)).await;
    let later = test.arm(Method::PUT, &url, &arm_token, Some(body)).await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", later.body);
}

#[tokio::test]
async fn a_role_assignment_right_after_the_roles_put_finds_no_role() {
    let mut delays = cloud_sim::Delays::zero();
    delays.role_definition_replication = Duration::from_secs(5);
    let test = start_with(delays).await;
    let arm_token = test.admin_token("arm").await;
    let ready = test.ready().clone();
    let subscription_scope = format!("/subscriptions/{}", ready.subscription_id);
    let role_guid = uuid::Uuid::new_v4().to_string();
    let role = test
        .arm(Method::PUT, &format!("{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}?{AUTHORIZATION}"), &arm_token,
            Some(json!({"properties": {"roleName": "fresh", "type": "CustomRole",
                "permissions": [{"actions": [cloud_sim::PEER_ACTION]}], "assignableScopes": [subscription_scope]}})))
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.body);
    let url = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?{AUTHORIZATION}",
        ready.vnet_id,
        uuid::Uuid::new_v4()
    );
    let body = json!({"properties": {
        "roleDefinitionId": format!("{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
        "principalId": test.sim.with_world(|world| world.fixtures.admin_service_principal_id.clone()),
        "principalType": "ServicePrincipal",
    }});
    let refused = test.arm(Method::PUT, &url, &arm_token, Some(body)).await;
    assert_arm_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "RoleDefinitionDoesNotExist",
    );
}

#[tokio::test]
async fn permissions_list_the_callers_own_roles_at_or_above_the_scope() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let arm_token = test.admin_token("arm").await;
    let graph_token = test.admin_token("graph").await;
    let permissions_of = |token: String| {
        let url = format!(
            "{}/providers/Microsoft.Authorization/permissions?{AUTHORIZATION}",
            ready.vnet_id
        );
        let test = &test;
        async move {
            let answer = test.arm(Method::GET, &url, &token, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            answer.body["value"].as_array().unwrap().clone()
        }
    };
    // The admin is Owner of the subscription: `*` reaches the VNet.
    let admin = permissions_of(arm_token.clone()).await;
    assert!(
        admin.iter().any(|entry| entry["actions"] == json!(["*"])),
        "{admin:?}"
    );
    assert!(admin.iter().all(|entry| entry["notActions"].is_array()
        && entry["dataActions"].is_array()
        && entry["notDataActions"].is_array()));

    // A new app has no role anywhere: an empty list, not an error.
    let (app_id, _, principal_id, secret) = test.create_user_application(&graph_token).await;
    let app_token = || async {
        let answer = test
            .secret_token(
                &ready.user_tenant_id,
                &app_id,
                &secret,
                &ready.resource_manager,
            )
            .await;
        answer.body["access_token"].as_str().unwrap().to_string()
    };
    assert_eq!(
        permissions_of(app_token().await).await,
        Vec::<serde_json::Value>::new()
    );
    let assigned = test
        .assign_role(
            &arm_token,
            &ready.vnet_id,
            cloud_sim::NETWORK_CONTRIBUTOR_ROLE_ID,
            &principal_id,
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    let app = permissions_of(app_token().await).await;
    assert_eq!(app.len(), 1, "{app:?}");
    assert!(
        app[0]["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("Microsoft.Network/*")),
        "{app:?}"
    );
    // Only the caller's own: the app does not see the admin's Owner role.
    assert!(!app.iter().any(|entry| entry["actions"] == json!(["*"])));
}
