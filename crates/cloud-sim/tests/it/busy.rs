//! The busy tenant: paging everywhere, other people's objects, role definitions listed where
//! they are assignable, busy VNets, Graph's federated credential limits, the neutral Aiven
//! message and GitHub under a path.

use std::time::Duration;

use cloud_sim::{Delays, Faults, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestSim, poll, start_config, start_instant};

const AUTHORIZATION: &str = "api-version=2022-04-01";
const NETWORK: &str = "api-version=2024-05-01";

async fn start_busy() -> TestSim {
    start_config(
        SimConfig {
            delays: Delays::fast(),
            ..SimConfig::default()
        }
        .busy(),
    )
    .await
}

fn names(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| item.pointer(field).and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_list_comes_in_small_pages_linked_to_the_end() {
    let test = start_busy().await;
    let ready = test.ready().clone();
    let arm = test.admin_token("arm").await;
    let graph = test.admin_token("graph").await;

    let subscriptions_url = format!(
        "{}/subscriptions?api-version=2022-12-01",
        ready.resource_manager
    );
    let first = test
        .send(
            Method::GET,
            &subscriptions_url,
            Some(&format!("Bearer {arm}")),
            None,
            &[],
        )
        .await;
    assert_eq!(first.body["value"].as_array().unwrap().len(), 2);
    let next = first.body["nextLink"].as_str().expect("a nextLink");
    assert!(
        next.starts_with(&ready.resource_manager) && next.contains("api-version=2022-12-01"),
        "an absolute link that keeps the api-version: {next}"
    );
    let (subscriptions, pages) = test.all_pages(&subscriptions_url, &arm).await;
    let shown = names(&subscriptions, "/displayName");
    assert_eq!(pages, 2);
    assert_eq!(shown.len(), 3, "the three the admin can see: {shown:?}");
    assert!(!shown.contains(&cloud_sim::BUSY_HIDDEN_SUBSCRIPTION_NAME.to_string()));

    let peerings_url = format!(
        "{}{}/virtualNetworkPeerings?{NETWORK}",
        ready.resource_manager, ready.vnet_id
    );
    let (peerings, pages) = test.all_pages(&peerings_url, &arm).await;
    assert_eq!((peerings.len(), pages), (3, 2), "{peerings:#?}");

    let (applications, pages) = test
        .all_pages(&format!("{}/v1.0/applications", ready.graph), &graph)
        .await;
    assert!(
        applications.len() > 240 && pages > 120,
        "{}",
        applications.len()
    );
    let (principals, _) = test
        .all_pages(&format!("{}/v1.0/servicePrincipals", ready.graph), &graph)
        .await;
    assert!(principals.len() > 240);
    // A client may ask for smaller pages, never for larger ones.
    let asked = test
        .graph(Method::GET, "/applications?$top=999", &graph, None)
        .await;
    assert_eq!(asked.body["value"].as_array().unwrap().len(), 2);
    assert!(
        asked.body["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("%24top=999")
    );
    let forged = test
        .graph(Method::GET, "/applications?$skiptoken=abc", &graph, None)
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_busy_tenant_holds_hundreds_of_other_peoples_objects() {
    let test = start_busy().await;
    let ready = test.ready().clone();
    let tenant = ready.user_tenant_id.clone();
    let (applications, principals, custom_roles, assignments, users) =
        test.sim.with_world(|world| {
            (
                world
                    .applications
                    .iter()
                    .filter(|app| app.tenant_id == tenant)
                    .count(),
                world
                    .service_principals
                    .iter()
                    .filter(|sp| sp.tenant_id == tenant)
                    .count(),
                world
                    .role_definitions
                    .iter()
                    .filter(|role| role.tenant_id.as_deref() == Some(tenant.as_str()))
                    .count(),
                world
                    .role_assignments
                    .iter()
                    .filter(|a| a.tenant_id == tenant)
                    .count(),
                world.users.len(),
            )
        });
    assert!(
        applications >= 240 && principals >= 240,
        "{applications} {principals}"
    );
    assert!(
        custom_roles >= 48 && assignments >= 240,
        "{custom_roles} {assignments}"
    );
    assert!(users >= 24);

    // Other VPCs, one in a cloud whose name is not `azure-` + the Azure location.
    let vpcs = test
        .aiven(Method::GET, "/project/acme-prod/vpcs", None)
        .await;
    let clouds = names(vpcs.body["vpcs"].as_array().unwrap(), "/cloud_name");
    assert!(
        clouds.contains(&"azure-germany-westcentral".to_string()),
        "{clouds:?}"
    );
    assert!(clouds.iter().any(|cloud| cloud.starts_with("aws-")));

    // A DELETED connection for the seeded VNet stays listed, first, past the delete delay.
    test.wait(Duration::from_millis(600)).await;
    let vpc = test
        .aiven(
            Method::GET,
            &format!("/project/acme-prod/vpcs/{}", ready.project_vpc_id),
            None,
        )
        .await;
    let first = &vpc.body["peering_connections"][0];
    assert_eq!(first["state"], "DELETED");
    assert_eq!(first["peer_vpc"], ready.vnet_name.to_lowercase());
    let states = names(
        vpc.body["peering_connections"].as_array().unwrap(),
        "/state",
    );
    assert!(states.contains(&"ACTIVE".to_string()), "{states:?}");
}

#[tokio::test]
async fn role_definitions_are_listed_only_where_they_are_assignable() {
    let test = start_busy().await;
    let ready = test.ready().clone();
    let arm = test.admin_token("arm").await;
    let hidden = cloud_sim::BUSY_HIDDEN_ROLE_NAME;
    let named = |scope: String, name: &str| {
        let filter = format!("roleName eq '{name}'");
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("$filter", &filter)
            .finish();
        format!(
            "{}{scope}/providers/Microsoft.Authorization/roleDefinitions?{AUTHORIZATION}&{query}",
            ready.resource_manager
        )
    };
    let subscription_scope = format!("/subscriptions/{}", ready.subscription_id);
    // A custom role assignable only in the seeded subscription shows there, not at `/`.
    let local = "payments network operator 00";
    let (found, _) = test
        .all_pages(&named(subscription_scope.clone(), local), &arm)
        .await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let (at_root, _) = test.all_pages(&named(String::new(), local), &arm).await;
    assert_eq!(
        at_root,
        Vec::<Value>::new(),
        "applicable at scope and above only"
    );
    let (built_in, _) = test
        .all_pages(&named(String::new(), "Network Contributor"), &arm)
        .await;
    assert_eq!(built_in.len(), 1);

    // A role assignable only in a subscription the admin cannot see: no list shows it, yet its
    // name is taken in the tenant.
    let (nowhere, _) = test
        .all_pages(&named(subscription_scope.clone(), hidden), &arm)
        .await;
    assert!(nowhere.is_empty());
    let twin = test
        .arm(
            Method::PUT,
            &format!(
                "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{}?{AUTHORIZATION}",
                uuid::Uuid::new_v4()
            ),
            &arm,
            Some(json!({"properties": {
                "roleName": hidden, "type": "CustomRole",
                "permissions": [{"actions": ["Microsoft.Network/virtualNetworks/peer/action"]}],
                "assignableScopes": [subscription_scope],
            }})),
        )
        .await;
    assert_eq!(twin.status, StatusCode::CONFLICT, "{}", twin.body);
    assert_eq!(twin.error_code(), "RoleDefinitionWithSameNameExists");
}

#[tokio::test]
async fn federated_credential_names_are_url_friendly_and_at_most_120_characters() {
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
    let path = format!(
        "/applications/{}/federatedIdentityCredentials",
        created.body["id"].as_str().unwrap()
    );
    let credential = |name: &str, subject: &str| {
        json!({"name": name, "issuer": "https://token.actions.githubusercontent.com",
        "subject": subject, "audiences": ["api://AzureADTokenExchange"]})
    };
    for (name, status) in [
        ("a".repeat(121), StatusCode::BAD_REQUEST),
        ("repo:acme/infra".to_string(), StatusCode::BAD_REQUEST),
        ("has space".to_string(), StatusCode::BAD_REQUEST),
        ("a".repeat(120), StatusCode::CREATED),
        ("ok-name_1.2~3".to_string(), StatusCode::CREATED),
    ] {
        let answer = test
            .graph(Method::POST, &path, &token, Some(credential(&name, &name)))
            .await;
        assert_eq!(answer.status, status, "{name}: {}", answer.body);
    }
}

#[tokio::test]
async fn a_busy_vnet_refuses_peering_writes_until_the_conflicts_are_spent() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let arm = test.admin_token("arm").await;
    let other = test.sim.with_world(|world| {
        world.add_virtual_network(
            &ready.subscription_id,
            "Other-RG",
            "Other-VNet",
            "westeurope",
            "10.50.0.0/16",
        )
    });
    test.sim.set_faults(Faults {
        peering_write_conflicts: 2,
        ..Faults::default()
    });
    let url = format!(
        "{}/virtualNetworkPeerings/to-other?{NETWORK}",
        ready.vnet_id
    );
    let body = json!({"properties": {"remoteVirtualNetwork": {"id": other}, "allowVirtualNetworkAccess": true}});
    let updating = test.arm(Method::PUT, &url, &arm, Some(body.clone())).await;
    assert_eq!(
        (updating.status, updating.error_code()),
        (StatusCode::BAD_REQUEST, "ReferencedResourceNotProvisioned"),
        "{}",
        updating.body
    );
    assert!(updating.error_message().contains("Updating state"));
    let running = test.arm(Method::PUT, &url, &arm, Some(body.clone())).await;
    assert_eq!(
        (running.status, running.error_code()),
        (StatusCode::CONFLICT, "AnotherOperationInProgress")
    );
    let created = test.arm(Method::PUT, &url, &arm, Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let faults: Vec<_> = test
        .sim
        .requests()
        .into_iter()
        .filter_map(|record| record.fault)
        .collect();
    assert_eq!(faults, ["peering-conflict", "peering-conflict"]);
}

#[tokio::test]
async fn applications_keep_tags_and_list_their_owners() {
    let test = start_busy().await;
    let ready = test.ready().clone();
    let token = test.admin_token("graph").await;
    let created = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "tagged", "tags": ["made-by:tool"]})),
        )
        .await;
    assert_eq!(created.body["tags"], json!(["made-by:tool"]));
    let object_id = created.body["id"].as_str().unwrap().to_string();
    test.wait(test.sim.delays().graph_replication_lag).await;
    let owners = test
        .graph(
            Method::GET,
            &format!("/applications/{object_id}/owners"),
            &token,
            None,
        )
        .await;
    let admin_principal = test
        .sim
        .with_world(|world| world.fixtures.admin_service_principal_id.clone());
    assert_eq!(owners.body["value"][0]["id"], admin_principal.as_str());
    assert_eq!(
        owners.body["value"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );

    let foreign = test.sim.with_world(|world| {
        world.register_application_as_member("aiven-peering-client-vnet", "Mallory")
    });
    let owners = test
        .graph(
            Method::GET,
            &format!("/applications/{foreign}/owners"),
            &token,
            None,
        )
        .await;
    assert_eq!(
        owners.body["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    assert_eq!(owners.body["value"][0]["displayName"], "Mallory");
    assert_eq!(
        ready.user_tenant_id,
        test.sim
            .with_world(|world| world.users[0].tenant_id.clone())
    );
}

#[tokio::test]
async fn the_github_api_lives_under_a_path_in_the_busy_tenant() {
    let test = start_busy().await;
    let ready = test.ready().clone();
    assert!(ready.github.ends_with("/api/v3"), "{}", ready.github);
    let authorization = format!("Bearer {}", ready.github_token);
    let repository = test
        .send(
            Method::GET,
            &format!("{}/repos/acme/infra", ready.github),
            Some(&authorization),
            None,
            &[],
        )
        .await;
    assert_eq!(repository.status, StatusCode::OK, "{}", repository.body);
    let root = ready.github.trim_end_matches("/api/v3");
    let outside = test
        .send(
            Method::GET,
            &format!("{root}/repos/acme/infra"),
            Some(&authorization),
            None,
            &[],
        )
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
    let id = repository.body["id"].as_u64().unwrap();
    let environment = test
        .send(
            Method::GET,
            &format!(
                "{}/repositories/{id}/environments/production%20eu/secrets/public-key",
                ready.github
            ),
            Some(&authorization),
            None,
            &[],
        )
        .await;
    assert_eq!(environment.status, StatusCode::OK, "{}", environment.body);
}

#[tokio::test]
async fn an_invalid_specification_does_not_name_the_missing_action() {
    let mut delays = Delays::zero();
    delays.aiven_pending_peer_delay = Duration::from_millis(100);
    let test = start_config(SimConfig {
        delays,
        ..SimConfig::default()
    })
    .await;
    let ready = test.ready().clone();
    let graph = test.admin_token("graph").await;
    let (app_id, ..) = test.create_user_application(&graph).await;
    // The Aiven app's service principal exists, but holds nothing on the VNet.
    let principal = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &graph,
            Some(json!({"appId": ready.aiven_app_id})),
        )
        .await;
    assert_eq!(principal.status, StatusCode::CREATED, "{}", principal.body);
    let path = format!(
        "/project/acme-prod/vpcs/{}/peering-connections",
        ready.project_vpc_id
    );
    let created = test
        .aiven(
            Method::POST,
            &path,
            Some(crate::aiven::connection_request(&test, &app_id)),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let vpc_path = format!("/project/acme-prod/vpcs/{}", ready.project_vpc_id);
    let invalid = poll(Duration::from_secs(3), || async {
        let vpc = test.aiven(Method::GET, &vpc_path, None).await;
        let connection = vpc.body["peering_connections"][0].clone();
        (connection["state"] == "INVALID_SPECIFICATION").then_some(connection)
    })
    .await;
    let message = invalid["state_info"]["message"]
        .as_str()
        .unwrap()
        .to_lowercase();
    for hint in ["peer/action", "permission", "role", "service principal"] {
        assert!(!message.contains(hint), "{message}");
    }
}

#[tokio::test]
async fn a_gateway_timeout_hides_a_write_that_was_applied() {
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    test.sim.set_faults(Faults {
        fail_nth_write: Some(1),
        fail_mode: cloud_sim::FailMode::GatewayTimeout,
        ..Faults::default()
    });
    let answer = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "behind-a-gateway"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    let applied = test.sim.with_world(|world| {
        world
            .applications
            .iter()
            .any(|app| app.display_name == "behind-a-gateway")
    });
    assert!(
        applied,
        "the write happened although the answer says it timed out"
    );
}

/// Every page of a Graph list read with `ConsistencyLevel: eventual` (advanced queries).
async fn eventual_pages(test: &TestSim, url: &str, token: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = Some(url.to_string());
    while let Some(url) = next.take() {
        let answer = test
            .send(
                Method::GET,
                &url,
                Some(&format!("Bearer {token}")),
                None,
                &[("ConsistencyLevel", "eventual")],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{url}: {}", answer.body);
        pages += 1;
        items.extend(answer.body["value"].as_array().cloned().unwrap_or_default());
        next = answer.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    (items, pages)
}

#[tokio::test]
async fn the_admins_roles_and_permissions_come_in_pages_and_agree_with_the_write() {
    let test = start_busy().await;
    let ready = test.ready().clone();
    let token = test.admin_token("graph").await;
    let admin = test
        .sim
        .with_world(|world| world.fixtures.admin_service_principal_id.clone());
    let roles_url = format!(
        "{}/v1.0/servicePrincipals/{admin}/transitiveMemberOf/microsoft.graph.directoryRole?$count=true",
        ready.graph
    );
    // The cast is an advanced query: without the header Graph refuses it.
    let plain = test.graph(
        Method::GET,
        &format!("/servicePrincipals/{admin}/transitiveMemberOf/microsoft.graph.directoryRole?$count=true"),
        &token,
        None,
    )
    .await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST, "{}", plain.body);
    // The role that matters comes after the admin's other roles, on a later page.
    let (roles, pages) = eventual_pages(&test, &roles_url, &token).await;
    assert!(pages > 1, "{roles:?}");
    assert_eq!(
        names(&roles, "/roleTemplateId").last().map(String::as_str),
        Some("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
        "{roles:?}"
    );
    let permissions_url = format!(
        "{}/v1.0/servicePrincipals/{admin}/appRoleAssignments",
        ready.graph
    );
    let (granted, pages) = test.all_pages(&permissions_url, &token).await;
    assert!(pages > 1, "{granted:?}");
    assert!(
        !names(&granted, "/appRoleId")
            .contains(&"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9".to_string())
    );
    let assignments_url = format!(
        "{}/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{admin}'&$expand=roleDefinition",
        ready.graph
    );
    let (assignments, _) = test.all_pages(&assignments_url, &token).await;
    assert_eq!(assignments.len(), roles.len(), "{assignments:?}");
    assert!(
        assignments
            .iter()
            .all(|assignment| assignment["roleDefinition"]["isBuiltIn"] == true)
    );

    // Without the role, the reads say so and the write agrees; with Application.ReadWrite.All
    // instead, the reads show the permission and the write goes through.
    test.sim.with_world(|world| {
        world.revoke_directory_role(&admin, cloud_sim::APPLICATION_ADMINISTRATOR)
    });
    let (roles, _) = eventual_pages(&test, &roles_url, &token).await;
    assert!(
        !names(&roles, "/displayName").contains(&cloud_sim::APPLICATION_ADMINISTRATOR.to_string())
    );
    let body = json!({"appId": cloud_sim::AIVEN_APP_ID});
    let denied = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(body.clone()),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    test.sim.with_world(|world| {
        world.grant_graph_app_role(&admin, cloud_sim::APPLICATION_READ_WRITE_ALL)
    });
    let (granted, _) = test.all_pages(&permissions_url, &token).await;
    assert!(
        names(&granted, "/appRoleId").contains(&"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9".to_string())
    );
    let created = test
        .graph(Method::POST, "/servicePrincipals", &token, Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    // A principal with no role and no Graph permission may not read them: 403.
    test.sim.with_world(|world| {
        for principal in world
            .service_principals
            .iter_mut()
            .filter(|p| p.object_id == admin)
        {
            principal.directory_roles.clear();
            principal.graph_app_roles.clear();
        }
    });
    let refused = test
        .send(
            Method::GET,
            &roles_url,
            Some(&format!("Bearer {token}")),
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}

/// A role-assignable group the admin is in, holding `roles`; and groups that hold none.
fn admin_groups(test: &TestSim, admin: &str, role_assignable: bool, roles: &[&str]) {
    let tenant = test.ready().user_tenant_id.clone();
    test.sim.with_world(|world| {
        world.custom_directory_roles = vec![cloud_sim::CustomDirectoryRole {
            id: "2f6b1d9e-7c4a-4e0b-8a31-5d2c9e8f7a60".to_string(),
            tenant_id: tenant.clone(),
            display_name: "App Onboarder".to_string(),
            allowed_resource_actions: vec![cloud_sim::CREATE_SERVICE_PRINCIPALS_ACTION.to_string()],
        }];
        let group = |index: usize, assignable: bool, roles: &[&str]| cloud_sim::DirectoryGroup {
            object_id: format!("7d1e0c42-0000-4000-8000-{index:012}"),
            tenant_id: tenant.clone(),
            display_name: format!("group {index}"),
            is_assignable_to_role: assignable,
            member_ids: vec![admin.to_string()],
            directory_roles: roles.iter().map(|role| role.to_string()).collect(),
        };
        world.directory_groups = (0..4).map(|index| group(index, false, &[])).collect();
        world
            .directory_groups
            .push(group(4, role_assignable, roles));
    });
}

#[tokio::test]
async fn roles_held_through_role_assignable_groups_are_read_as_the_write_decides() {
    let test = start_busy().await;
    let ready = test.ready().clone();
    let token = test.admin_token("graph").await;
    let admin = test
        .sim
        .with_world(|world| world.fixtures.admin_service_principal_id.clone());
    test.sim.with_world(|world| {
        for principal in world
            .service_principals
            .iter_mut()
            .filter(|principal| principal.object_id == admin)
        {
            principal.directory_roles = vec![cloud_sim::DIRECTORY_READERS.to_string()];
            principal.graph_app_roles.clear();
        }
    });
    let groups_path = format!(
        "/servicePrincipals/{admin}/transitiveMemberOf/microsoft.graph.group?$count=true&$select=id,displayName,isAssignableToRole"
    );
    let plain = test.graph(Method::GET, &groups_path, &token, None).await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST, "{}", plain.body);
    let groups_url = format!("{}/v1.0{groups_path}", ready.graph);
    let roles_url = format!(
        "{}/v1.0/servicePrincipals/{admin}/transitiveMemberOf/microsoft.graph.directoryRole?$count=true",
        ready.graph
    );
    let group_assignments_url = format!(
        "{}/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'7d1e0c42-0000-4000-8000-000000000004'&$expand=roleDefinition",
        ready.graph
    );
    let body = json!({"appId": cloud_sim::AIVEN_APP_ID});

    // A group that is not role-assignable holds no role: the custom role grants nothing.
    admin_groups(&test, &admin, false, &["App Onboarder"]);
    let (groups, pages) = eventual_pages(&test, &groups_url, &token).await;
    assert!(pages > 1, "{groups:?}");
    assert_eq!(groups.len(), 5, "{groups:?}");
    assert!(
        groups
            .iter()
            .all(|group| group["isAssignableToRole"] == false)
    );
    let (assignments, _) = test.all_pages(&group_assignments_url, &token).await;
    assert!(assignments.is_empty(), "{assignments:?}");
    let denied = test
        .graph(
            Method::POST,
            "/servicePrincipals",
            &token,
            Some(body.clone()),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);

    // Role-assignable, it gives its members the custom role: the group's assignment shows it
    // (not built in), the directory-role cast does not (a custom role is no directoryRole),
    // and the write goes through.
    admin_groups(&test, &admin, true, &["App Onboarder"]);
    let (groups, _) = eventual_pages(&test, &groups_url, &token).await;
    let assignable: Vec<&Value> = groups
        .iter()
        .filter(|group| group["isAssignableToRole"] == true)
        .collect();
    assert_eq!(assignable.len(), 1, "{groups:?}");
    let (assignments, _) = test.all_pages(&group_assignments_url, &token).await;
    assert_eq!(assignments.len(), 1, "{assignments:?}");
    assert_eq!(assignments[0]["roleDefinition"]["isBuiltIn"], false);
    assert_eq!(
        assignments[0]["roleDefinition"]["displayName"],
        "App Onboarder"
    );
    assert_eq!(assignments[0]["directoryScopeId"], "/");
    let (roles, _) = eventual_pages(&test, &roles_url, &token).await;
    assert_eq!(
        names(&roles, "/displayName"),
        vec![cloud_sim::DIRECTORY_READERS.to_string()]
    );
    let created = test
        .graph(Method::POST, "/servicePrincipals", &token, Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    // A built-in role held through the group is the member's active directory role.
    admin_groups(&test, &admin, true, &[cloud_sim::APPLICATION_ADMINISTRATOR]);
    let (roles, _) = eventual_pages(&test, &roles_url, &token).await;
    assert!(
        names(&roles, "/displayName").contains(&cloud_sim::APPLICATION_ADMINISTRATOR.to_string()),
        "{roles:?}"
    );
}
