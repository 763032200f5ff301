//! The seed every start begins with: two tenants, the admin app, the user subscription and
//! VNet, the Aiven tenant with its app, subscription and project VPC network, and a GitHub repository.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;

use crate::TenantPreset;

use super::model::{
    AIVEN_APP_ID, APPLICATION_ADMINISTRATOR, AivenProject, Application, CONTRIBUTOR_ROLE_ID,
    Fixtures, GithubEnvironment, GithubRepository, GithubState, NETWORK_CONTRIBUTOR_ROLE_ID,
    OWNER_ROLE_ID, PEER_ACTION, PasswordCredential, Permission, ProjectVpc, READER_ROLE_ID,
    ResourceGroup, RoleAssignment, RoleDefinition, SecretBox, SecretKind, ServicePrincipal,
    Subscription, Tenant, USER_ACCESS_ADMINISTRATOR_ROLE_ID, VirtualNetwork, World, new_guid,
    random_secret, sha256, virtual_network_id,
};

/// What `seed_world` returns beside the world: the values that only the ready line carries.
pub(crate) struct SeedSecrets {
    pub admin_client_secret: String,
}

fn built_in_role(
    name: &str,
    role_name: &str,
    description: &str,
    actions: &[&str],
    not_actions: &[&str],
) -> RoleDefinition {
    let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_438_387_200);
    RoleDefinition {
        name: name.to_string(),
        tenant_id: None,
        role_name: role_name.to_string(),
        description: description.to_string(),
        permissions: vec![Permission {
            actions: actions.iter().map(|action| action.to_string()).collect(),
            not_actions: not_actions
                .iter()
                .map(|action| action.to_string())
                .collect(),
            data_actions: Vec::new(),
            not_data_actions: Vec::new(),
        }],
        assignable_scopes: vec!["/".to_string()],
        created_time: created,
        updated_time: created,
    }
}

pub(crate) fn built_in_roles() -> Vec<RoleDefinition> {
    vec![
        built_in_role(
            OWNER_ROLE_ID,
            "Owner",
            "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
            &["*"],
            &[],
        ),
        built_in_role(
            CONTRIBUTOR_ROLE_ID,
            "Contributor",
            "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
            &["*"],
            &[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
                "Microsoft.Purview/consents/write",
                "Microsoft.Purview/consents/delete",
                "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
                "Microsoft.Subscription/cancel/action",
                "Microsoft.Subscription/enable/action",
            ],
        ),
        built_in_role(
            READER_ROLE_ID,
            "Reader",
            "View all resources, but does not allow you to make any changes.",
            &["*/read"],
            &[],
        ),
        built_in_role(
            NETWORK_CONTRIBUTOR_ROLE_ID,
            "Network Contributor",
            "Lets you manage networks, but not access to them.",
            &[
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Network/*",
                "Microsoft.ResourceHealth/availabilityStatuses/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Support/*",
            ],
            &[],
        ),
        built_in_role(
            USER_ACCESS_ADMINISTRATOR_ROLE_ID,
            "User Access Administrator",
            "Lets you manage user access to Azure resources.",
            &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
            &[],
        ),
    ]
}

/// Builds the seeded world: two tenants, the admin app, the user subscription with its VNet, the
/// Aiven tenant with its app, subscription and project VPC network, and the GitHub repository;
/// with the busy preset, other people's objects around them.
pub(crate) fn seed_world(start: Instant, preset: TenantPreset) -> (World, SeedSecrets) {
    let now_wall = SystemTime::now();
    let user_tenant_id = new_guid();
    let aiven_tenant_id = new_guid();
    let user_subscription_id = new_guid();
    let aiven_subscription_id = new_guid();
    let project_vpc_id = new_guid();

    let tenants = vec![
        Tenant {
            id: user_tenant_id.clone(),
            display_name: "Acme".to_string(),
            default_domain: "acme.onmicrosoft.com".to_string(),
        },
        Tenant {
            id: aiven_tenant_id.clone(),
            display_name: "Aiven".to_string(),
            default_domain: "aiven.onmicrosoft.com".to_string(),
        },
    ];

    let admin_client_secret = random_secret(40);
    let admin_app_id = new_guid();
    let admin_service_principal_id = new_guid();
    let far_future = now_wall + Duration::from_secs(365 * 24 * 3600);
    let admin_application = Application {
        object_id: new_guid(),
        app_id: admin_app_id.clone(),
        tenant_id: user_tenant_id.clone(),
        display_name: "cloud-sim admin".to_string(),
        sign_in_audience: "AzureADMyOrg".to_string(),
        unique_name: None,
        tags: Vec::new(),
        password_credentials: vec![PasswordCredential {
            key_id: new_guid(),
            display_name: Some("seeded".to_string()),
            hint: admin_client_secret[..3].to_string(),
            start_time: now_wall,
            end_time: far_future,
            usable_at: start,
            secret_sha256: sha256(&admin_client_secret),
        }],
        federated_identity_credentials: Vec::new(),
        owner_principal_ids: Vec::new(),
        visible_at: start,
        created_time: now_wall,
        lagging_service_principal_attempts: 0,
    };
    let aiven_application = Application {
        object_id: new_guid(),
        app_id: AIVEN_APP_ID.to_string(),
        tenant_id: aiven_tenant_id.clone(),
        display_name: "Aiven VPC peering".to_string(),
        sign_in_audience: "AzureADMultipleOrgs".to_string(),
        unique_name: None,
        tags: Vec::new(),
        password_credentials: Vec::new(),
        federated_identity_credentials: Vec::new(),
        owner_principal_ids: Vec::new(),
        visible_at: start,
        created_time: now_wall,
        lagging_service_principal_attempts: 0,
    };
    let aiven_service_principal_id = new_guid();
    let service_principals = vec![
        ServicePrincipal {
            object_id: admin_service_principal_id.clone(),
            app_id: admin_app_id.clone(),
            tenant_id: user_tenant_id.clone(),
            display_name: admin_application.display_name.clone(),
            app_owner_tenant_id: user_tenant_id.clone(),
            account_enabled: true,
            directory_roles: vec![APPLICATION_ADMINISTRATOR.to_string()],
            graph_app_roles: Vec::new(),
            visible_at: start,
            created_time: now_wall,
        },
        ServicePrincipal {
            object_id: aiven_service_principal_id.clone(),
            app_id: AIVEN_APP_ID.to_string(),
            tenant_id: aiven_tenant_id.clone(),
            display_name: aiven_application.display_name.clone(),
            app_owner_tenant_id: aiven_tenant_id.clone(),
            account_enabled: true,
            directory_roles: Vec::new(),
            graph_app_roles: Vec::new(),
            visible_at: start,
            created_time: now_wall,
        },
    ];

    let resource_group = "Peering-RG".to_string();
    let vnet_name = "Client-VNet".to_string();
    let vnet_location = "westeurope".to_string();
    let aiven_resource_group = "aiven-project-vpcs-westeurope".to_string();
    let aiven_vnet_name = format!("aiven-vnet-{}", &project_vpc_id[..8]);
    let subscriptions = vec![
        Subscription {
            id: user_subscription_id.clone(),
            tenant_id: user_tenant_id.clone(),
            display_name: "Acme Production".to_string(),
            resource_groups: vec![ResourceGroup {
                name: resource_group.clone(),
                location: vnet_location.clone(),
            }],
        },
        Subscription {
            id: aiven_subscription_id.clone(),
            tenant_id: aiven_tenant_id.clone(),
            display_name: "Aiven project VPCs".to_string(),
            resource_groups: vec![ResourceGroup {
                name: aiven_resource_group.clone(),
                location: vnet_location.clone(),
            }],
        },
    ];
    let virtual_networks = vec![
        VirtualNetwork {
            subscription_id: user_subscription_id.clone(),
            resource_group: resource_group.clone(),
            name: vnet_name.clone(),
            location: vnet_location.clone(),
            address_prefixes: vec!["10.0.0.0/16".to_string()],
            resource_guid: new_guid(),
            peerings: Vec::new(),
        },
        VirtualNetwork {
            subscription_id: aiven_subscription_id.clone(),
            resource_group: aiven_resource_group.clone(),
            name: aiven_vnet_name.clone(),
            location: vnet_location.clone(),
            address_prefixes: vec!["10.1.0.0/24".to_string()],
            resource_guid: new_guid(),
            peerings: Vec::new(),
        },
    ];
    let aiven_virtual_network_id = virtual_network_id(
        &aiven_subscription_id,
        &aiven_resource_group,
        &aiven_vnet_name,
    );

    let mut role_definitions = built_in_roles();
    let aiven_peering_role_id = new_guid();
    role_definitions.push(RoleDefinition {
        name: aiven_peering_role_id.clone(),
        tenant_id: Some(aiven_tenant_id.clone()),
        role_name: "Aiven project VPC peering grant".to_string(),
        description: "Lets a customer application peer to an Aiven project VPC network".to_string(),
        permissions: vec![Permission {
            actions: vec![PEER_ACTION.to_string()],
            ..Permission::default()
        }],
        assignable_scopes: vec![format!("/subscriptions/{aiven_subscription_id}")],
        created_time: now_wall,
        updated_time: now_wall,
    });
    let role_assignments = vec![
        RoleAssignment {
            name: new_guid(),
            tenant_id: user_tenant_id.clone(),
            scope: format!("/subscriptions/{user_subscription_id}"),
            role_definition_id: format!(
                "/subscriptions/{user_subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{OWNER_ROLE_ID}"
            ),
            principal_id: admin_service_principal_id.clone(),
            principal_type: Some("ServicePrincipal".to_string()),
            effective_at: start,
            created_time: now_wall,
        },
        RoleAssignment {
            name: new_guid(),
            tenant_id: aiven_tenant_id.clone(),
            scope: format!("/subscriptions/{aiven_subscription_id}"),
            role_definition_id: format!(
                "/subscriptions/{aiven_subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR_ROLE_ID}"
            ),
            principal_id: aiven_service_principal_id.clone(),
            principal_type: Some("ServicePrincipal".to_string()),
            effective_at: start,
            created_time: now_wall,
        },
    ];

    let aiven_project = "acme-prod".to_string();
    let aiven_projects = vec![AivenProject {
        name: aiven_project.clone(),
        vpcs: vec![ProjectVpc {
            id: project_vpc_id.clone(),
            cloud_name: "azure-westeurope".to_string(),
            network_cidr: "10.1.0.0/24".to_string(),
            state: "ACTIVE".to_string(),
            create_time: now_wall,
            update_time: now_wall,
            azure_virtual_network_id: aiven_virtual_network_id.clone(),
            peering_connections: Vec::new(),
        }],
    }];

    let github_repository = "acme/infra".to_string();
    let github = GithubState {
        repositories: vec![GithubRepository {
            id: rand::thread_rng().gen_range(100_000_000..999_999_999),
            full_name: github_repository.clone(),
            secret_box: SecretBox::generate(),
            environments: vec![GithubEnvironment {
                name: "production".to_string(),
                secret_box: SecretBox::generate(),
            }],
        }],
        token: format!(
            "github_pat_{}",
            random_secret(60).replace(['-', '~', '.'], "x")
        ),
        readonly_token: format!("ghs_{}", random_secret(36).replace(['-', '~', '.'], "x")),
        secrets_read_token: format!(
            "github_pat_{}",
            random_secret(60).replace(['-', '~', '.'], "x")
        ),
        oidc_request_token: random_secret(48),
        oidc_subject: "repo:acme/infra:environment:production".to_string(),
    };

    let aiven_token = random_secret(64);
    let mut jwt_key = vec![0u8; 32];
    rand::thread_rng().fill(jwt_key.as_mut_slice());

    let issued_secrets = [
        admin_client_secret.clone(),
        aiven_token.clone(),
        github.token.clone(),
        github.readonly_token.clone(),
        github.secrets_read_token.clone(),
        github.oidc_request_token.clone(),
    ]
    .into_iter()
    .map(|secret| (SecretKind::Seeded, secret))
    .collect();

    let fixtures = Fixtures {
        user_tenant_id,
        aiven_tenant_id,
        admin_app_id,
        admin_service_principal_id,
        user_subscription_id,
        aiven_subscription_id,
        resource_group,
        vnet_name,
        vnet_location,
        aiven_project,
        project_vpc_id,
        aiven_virtual_network_id,
        aiven_service_principal_id,
        aiven_peering_role_id,
        github_repository,
    };

    let mut world = World {
        tenants,
        users: Vec::new(),
        applications: vec![admin_application, aiven_application],
        service_principals,
        role_definitions,
        role_assignments,
        custom_directory_roles: Vec::new(),
        directory_groups: Vec::new(),
        subscriptions,
        virtual_networks,
        operations: Vec::new(),
        aiven_projects,
        aiven_token,
        github,
        tokens: HashMap::new(),
        fixtures,
        issued_secrets,
        jwt_key,
    };
    if preset == TenantPreset::Busy {
        super::busy::add_other_peoples_objects(&mut world, start);
    }
    (
        world,
        SeedSecrets {
            admin_client_secret,
        },
    )
}
