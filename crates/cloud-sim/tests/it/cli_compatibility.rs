//! What the real Azure CLI (2.91, with MSAL) needs from the simulator to run the seed document
//! verbatim: each test pins one discrepancy the seed replay (`cargo xtask seed-replay`) found.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{start_fast, start_instant};

#[tokio::test]
async fn arm_serves_its_cloud_metadata_without_authentication() {
    // `az cloud register --endpoint-resource-manager` stopped with "Server returned status
    // code 401 for …/metadata/endpoints?api-version=2022-09-01".
    let test = start_instant().await;
    let ready = test.ready().clone();
    for path in ["/metadata/endpoints", "//metadata/endpoints"] {
        let url = format!("{}{path}?api-version=2022-09-01", ready.resource_manager);
        let answer = test.send(Method::GET, &url, None, None, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        let document = &answer.body;
        assert_eq!(document["name"], "AzureCloud");
        assert_eq!(
            document["authentication"]["loginEndpoint"],
            ready.authority_host
        );
        assert_eq!(
            document["authentication"]["audiences"][0],
            format!("{}/", ready.resource_manager)
        );
        assert_eq!(
            document["resourceManager"],
            format!("{}/", ready.resource_manager)
        );
        assert_eq!(
            document["microsoftGraphResourceId"],
            format!("{}/", ready.graph)
        );
    }
    let old = test
        .send(
            Method::GET,
            &format!(
                "{}/metadata/endpoints?api-version=2019-05-01",
                ready.resource_manager
            ),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST);
    assert_eq!(old.error_code(), "InvalidApiVersionParameter");

    // The audience the document names is one the token endpoint issues ARM tokens for.
    let audience = format!("{}/", ready.resource_manager);
    let token = test
        .secret_token(
            &ready.user_tenant_id,
            &ready.admin_client_id,
            &ready.admin_client_secret,
            &audience,
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
}

#[tokio::test]
async fn msal_discovers_the_pseudo_tenants_and_the_real_ones() {
    // `az account clear` failed with "Unable to get authority configuration for
    // …/organizations": MSAL builds an `organizations` authority to find cached accounts.
    let test = start_instant().await;
    let ready = test.ready().clone();
    for tenant in ["organizations", "common", "consumers"] {
        let url = format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            ready.authority_host
        );
        let document = test.send(Method::GET, &url, None, None, &[]).await;
        assert_eq!(document.status, StatusCode::OK, "{tenant}");
        assert_eq!(
            document.body["token_endpoint"],
            format!("{}/{tenant}/oauth2/v2.0/token", ready.authority_host)
        );
        assert_eq!(
            document.body["issuer"],
            format!("{}/{{tenantid}}/v2.0", ready.authority_host)
        );
        assert!(document.body["tenant_region_scope"].is_null());
    }
    let url = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        ready.authority_host, ready.user_tenant_id
    );
    let document = test.send(Method::GET, &url, None, None, &[]).await;
    // MSAL reads these four; `token_endpoint`'s last segment before /oauth2 is the tenant.
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "device_authorization_endpoint",
        "issuer",
    ] {
        let value = document.body[field].as_str().unwrap_or("");
        assert!(
            value.starts_with(&format!(
                "{}/{}/",
                ready.authority_host, ready.user_tenant_id
            )),
            "{field}: {value}"
        );
    }
    let unknown = test
        .send(
            Method::GET,
            &format!(
                "{}/not-a-tenant/v2.0/.well-known/openid-configuration",
                ready.authority_host
            ),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["error_codes"], json!([90002]));
}

#[tokio::test]
async fn msal_client_credential_requests_get_an_app_only_token() {
    // MSAL sends `client_info=1` with every token request; an app-only answer carries no
    // client_info, id_token or refresh_token (MSAL would otherwise cache an account).
    let test = start_instant().await;
    let ready = test.ready().clone();
    let scope = format!("{}/.default", ready.resource_manager);
    let answer = test
        .token_request(
            &ready.user_tenant_id,
            &[
                ("client_id", ready.admin_client_id.as_str()),
                ("grant_type", "client_credentials"),
                ("client_info", "1"),
                ("scope", scope.as_str()),
                ("client_secret", ready.admin_client_secret.as_str()),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["token_type"], "Bearer");
    for absent in ["client_info", "id_token", "refresh_token"] {
        assert!(
            answer.body.get(absent).is_none(),
            "{absent}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn graph_filters_display_names_by_prefix() {
    // `az ad app create` (through `az ad app list --display-name`) lists with
    // `$filter=startswith(displayName,'…')`, which the simulator refused.
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "Peering-App-Replay", "signInAudience": "AzureADMultipleOrgs"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let app_id = created.body["appId"].as_str().unwrap().to_string();
    let principal = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(principal.status, StatusCode::CREATED, "{}", principal.body);
    for collection in ["applications", "servicePrincipals"] {
        let found = test
            .graph(
                Method::GET,
                &format!("/{collection}?$filter=startswith(displayName,'peering-app')"),
                &token,
                None,
            )
            .await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        let names: Vec<&str> = found.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|value| value["displayName"].as_str())
            .collect();
        assert_eq!(names, ["Peering-App-Replay"], "{collection}");
        let none = test
            .graph(
                Method::GET,
                &format!("/{collection}?$filter=startswith(displayName,'App')"),
                &token,
                None,
            )
            .await;
        assert_eq!(none.body["value"], json!([]), "{collection}");
        let unsupported = test
            .graph(
                Method::GET,
                &format!("/{collection}?$filter=startswith(appId,'{}')", &app_id[..8]),
                &token,
                None,
            )
            .await;
        assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);
        assert_eq!(unsupported.error_code(), "Request_UnsupportedQuery");
    }
}

#[tokio::test]
async fn applications_accept_an_empty_key_credential_list() {
    // `az ad app create --key-type Password` sends `"keyCredentials": []`, which the
    // simulator refused as an unknown property.
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "with-keys", "signInAudience": "AzureADMultipleOrgs", "keyCredentials": []})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["keyCredentials"], json!([]));
    let certificate = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "with-a-certificate", "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "AAAA"}]})),
        )
        .await;
    assert_eq!(certificate.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn directory_objects_are_looked_up_by_id_as_reads() {
    // `az role assignment create --assignee-object-id` asks `POST /directoryObjects/getByIds`
    // for the principal's type; the simulator answered 404, so the CLI created the assignment
    // without `principalType` (a PrincipalNotFound risk on the real service).
    let test = start_instant().await;
    let ready = test.ready().clone();
    let token = test.admin_token("graph").await;
    let principal = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(json!({"appId": ready.aiven_app_id})),
        )
        .await;
    assert_eq!(principal.status, StatusCode::CREATED, "{}", principal.body);
    let principal_id = principal.body["id"].as_str().unwrap().to_string();
    test.sim.clear_requests();
    let found = test
        .graph(
            Method::POST,
            "/directoryObjects/getByIds",
            &token,
            Some(json!({
                "ids": [principal_id, "00000000-0000-0000-0000-000000000001"],
                "types": ["user", "group", "servicePrincipal", "directoryObjectPartnerReference"],
            })),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let values = found.body["value"].as_array().unwrap();
    assert_eq!(values.len(), 1, "unknown ids are left out: {}", found.body);
    assert_eq!(
        values[0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    assert_eq!(values[0]["id"], principal_id.as_str());
    let only_users = test
        .graph(
            Method::POST,
            "/directoryObjects/getByIds",
            &token,
            Some(json!({"ids": [principal_id], "types": ["user"]})),
        )
        .await;
    assert_eq!(only_users.body["value"], json!([]));
    let without_ids = test
        .graph(
            Method::POST,
            "/directoryObjects/getByIds",
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(without_ids.status, StatusCode::BAD_REQUEST);
    let records = test.sim.requests();
    assert!(
        records.iter().all(|record| !record.write),
        "a lookup is a read: {records:?}"
    );
}

#[tokio::test]
async fn arm_lists_the_virtual_networks_of_a_subscription_and_its_tenants() {
    // `az network vnet list` asks for every VNet of the subscription, which the simulator did
    // not route ("InvalidResourceType"); `GET /tenants` is how `az login` lists tenants.
    let test = start_fast().await;
    let ready = test.ready().clone();
    let token = test.admin_token("arm").await;
    let url = format!(
        "/subscriptions/{}/providers/Microsoft.Network/virtualNetworks?api-version=2025-07-01",
        ready.subscription_id
    );
    let listed = test.arm(Method::GET, &url, &token, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let ids: Vec<&str> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|network| network["id"].as_str())
        .collect();
    assert_eq!(ids, [ready.vnet_id.as_str()]);

    // A principal without any role sees an empty list, not an error.
    let graph_token = test.admin_token("graph").await;
    let (app_id, _, _, secret) = test.create_user_application(&graph_token).await;
    let user_token = test
        .secret_token(
            &ready.user_tenant_id,
            &app_id,
            &secret,
            &ready.resource_manager,
        )
        .await;
    let user_token = user_token.body["access_token"].as_str().unwrap();
    let nothing = test.arm(Method::GET, &url, user_token, None).await;
    assert_eq!(nothing.status, StatusCode::OK, "{}", nothing.body);
    assert_eq!(nothing.body["value"], json!([]));

    let tenants = test
        .arm(Method::GET, "/tenants?api-version=2022-12-01", &token, None)
        .await;
    assert_eq!(tenants.status, StatusCode::OK, "{}", tenants.body);
    assert_eq!(
        tenants.body["value"],
        json!([{
            "id": format!("/tenants/{}", ready.user_tenant_id),
            "tenantId": ready.user_tenant_id,
            "countryCode": "US",
            "displayName": tenants.body["value"][0]["displayName"],
            "domains": tenants.body["value"][0]["domains"],
            "tenantCategory": "Home",
            "defaultDomain": tenants.body["value"][0]["defaultDomain"],
            "tenantType": "AAD",
        }])
    );
    let subscriptions = test
        .arm(
            Method::GET,
            "/subscriptions?api-version=2022-12-01",
            &token,
            None,
        )
        .await;
    let tenants_of_subscriptions: Vec<&str> = subscriptions.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|subscription| subscription["tenantId"].as_str())
        .collect();
    assert_eq!(tenants_of_subscriptions, [ready.user_tenant_id.as_str()]);
}

#[tokio::test]
async fn the_api_versions_az_2_91_sends_are_accepted() {
    // Network 2025-07-01 (vnet list/show) and 2023-11-01 (peering create), Authorization
    // 2022-05-01-preview (role definitions) and 2022-04-01 (role assignments), Resources
    // 2022-12-01 (subscriptions).
    let test = start_instant().await;
    let ready = test.ready().clone();
    let token = test.admin_token("arm").await;
    let subscription = format!("/subscriptions/{}", ready.subscription_id);
    for path_and_query in [
        format!("{}?api-version=2025-07-01", ready.vnet_id),
        format!(
            "{}/virtualNetworkPeerings?api-version=2023-11-01",
            ready.vnet_id
        ),
        format!(
            "{subscription}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-05-01-preview&$filter=roleName%20eq%20'Network%20Contributor'"
        ),
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01",
            ready.vnet_id
        ),
        "/subscriptions?api-version=2022-12-01".to_string(),
    ] {
        let answer = test.arm(Method::GET, &path_and_query, &token, None).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{path_and_query}: {}",
            answer.body
        );
    }
}
