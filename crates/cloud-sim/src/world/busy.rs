//! The busy preset: what a real company's tenant holds besides the procedure's own objects.
//! Hundreds of other people's apps, service principals, custom roles and role assignments;
//! several subscriptions, one of them invisible to the admin identity; VNets peered with each
//! other; an Aiven project with VPCs in several clouds and other connections, among them a
//! `DELETED` one for the seeded VNet listed before any live one; a GitHub environment whose
//! name needs URL encoding. Hundreds, not thousands: every list stays cheap to page through.

use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use rand::seq::SliceRandom;

use super::aiven::state_info;
use super::model::{
    Application, GithubEnvironment, NETWORK_CONTRIBUTOR_ROLE_ID, OWNER_ROLE_ID, PasswordCredential,
    PeeringConnection, Permission, ProjectVpc, READER_ROLE_ID, ResourceGroup, RoleAssignment,
    RoleDefinition, SecretBox, ServicePrincipal, Subscription, User, VirtualNetwork,
    VirtualNetworkPeering, World, new_guid, random_secret, sha256, virtual_network_id,
};
use super::network::refresh_peering_states;

/// Display name of the user-tenant subscription the admin identity cannot see.
pub const BUSY_HIDDEN_SUBSCRIPTION_NAME: &str = "Acme Finance";
/// A custom role assignable only in the hidden subscription: its name is taken in the tenant,
/// yet no list the admin can make shows it (`409 RoleDefinitionWithSameNameExists` on reuse).
pub const BUSY_HIDDEN_ROLE_NAME: &str = "Network Peering Operator";

const USERS: usize = 24;
const APPLICATIONS: usize = 240;
const CUSTOM_ROLES: usize = 48;
const ROLE_ASSIGNMENTS: usize = 240;
const TEAMS: [&str; 8] = [
    "payments", "search", "identity", "billing", "data", "mobile", "platform", "support",
];
const SERVICES: [&str; 6] = ["api", "worker", "portal", "etl", "gateway", "cron"];

/// Adds other people's objects to the seeded world.
pub(crate) fn add_other_peoples_objects(world: &mut World, start: Instant) {
    let now_wall = SystemTime::now();
    let tenant = world.fixtures.user_tenant_id.clone();
    let main_subscription = world.fixtures.user_subscription_id.clone();

    let users = add_users(world, &tenant);
    let visible = [
        add_subscription(world, &tenant, "Acme Staging", "Staging-RG", "westeurope"),
        add_subscription(world, &tenant, "Acme Data", "Data-RG", "germanywestcentral"),
    ];
    for subscription in &visible {
        // The admin identity can see and manage these, as a platform team's identity does.
        let scope = format!("/subscriptions/{subscription}");
        let admin = world.fixtures.admin_service_principal_id.clone();
        push_assignment(
            world,
            &tenant,
            &scope,
            OWNER_ROLE_ID,
            &admin,
            start,
            now_wall,
        );
    }
    let hidden = add_subscription(
        world,
        &tenant,
        BUSY_HIDDEN_SUBSCRIPTION_NAME,
        "Finance-RG",
        "westeurope",
    );

    give_the_admin_other_rights(world);
    add_peered_networks(world, &main_subscription, &visible);
    let principals = add_applications(world, &tenant, &users, start, now_wall);
    let subscriptions = [
        main_subscription.clone(),
        visible[0].clone(),
        visible[1].clone(),
    ];
    let roles = add_custom_roles(world, &tenant, &subscriptions, &hidden, now_wall);
    add_role_assignments(world, &tenant, &subscriptions, &roles, &principals, start);
    add_aiven_neighbours(world, start, &visible[0]);
    add_github_environment(world);
}

fn add_users(world: &mut World, tenant: &str) -> Vec<String> {
    (1..=USERS)
        .map(|number| {
            let object_id = new_guid();
            world.users.push(User {
                object_id: object_id.clone(),
                tenant_id: tenant.to_string(),
                display_name: format!("Acme User {number:02}"),
                user_principal_name: format!("user{number:02}@acme.onmicrosoft.com"),
            });
            object_id
        })
        .collect()
}

/// A subscription of the user tenant with one resource group; returns its id.
fn add_subscription(
    world: &mut World,
    tenant: &str,
    display_name: &str,
    resource_group: &str,
    location: &str,
) -> String {
    let id = new_guid();
    world.subscriptions.push(Subscription {
        id: id.clone(),
        tenant_id: tenant.to_string(),
        display_name: display_name.to_string(),
        resource_groups: vec![ResourceGroup {
            name: resource_group.to_string(),
            location: location.to_string(),
        }],
    });
    id
}

fn push_assignment(
    world: &mut World,
    tenant: &str,
    scope: &str,
    role_guid: &str,
    principal_id: &str,
    start: Instant,
    created: SystemTime,
) {
    let subscription_scope = scope.split('/').take(3).collect::<Vec<_>>().join("/");
    world.role_assignments.push(RoleAssignment {
        name: new_guid(),
        tenant_id: tenant.to_string(),
        scope: scope.to_string(),
        role_definition_id: format!(
            "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
        ),
        principal_id: principal_id.to_string(),
        principal_type: Some("ServicePrincipal".to_string()),
        effective_at: start,
        created_time: created,
    });
}

/// A hub VNet and the staging and data VNets, each peered with the seeded VNet (both sides), so
/// that the seeded VNet's peering list spans pages before the procedure adds its own.
fn add_peered_networks(world: &mut World, main_subscription: &str, visible: &[String; 2]) {
    if let Some(subscription) = world
        .subscriptions
        .iter_mut()
        .find(|subscription| subscription.id == main_subscription)
    {
        subscription.resource_groups.push(ResourceGroup {
            name: "Hub-RG".to_string(),
            location: "westeurope".to_string(),
        });
    }
    let seeded = virtual_network_id(
        main_subscription,
        &world.fixtures.resource_group,
        &world.fixtures.vnet_name,
    );
    let neighbours = [
        (
            main_subscription,
            "Hub-RG",
            "Hub-VNet",
            "westeurope",
            "10.100.0.0/16",
            "to-hub",
        ),
        (
            &visible[0],
            "Staging-RG",
            "Staging-VNet",
            "westeurope",
            "10.20.0.0/16",
            "to-staging",
        ),
        (
            &visible[1],
            "Data-RG",
            "Data-VNet",
            "germanywestcentral",
            "10.30.0.0/16",
            "to-data",
        ),
    ];
    for (subscription, group, name, location, prefix, peering_name) in neighbours {
        let id = virtual_network_id(subscription, group, name);
        world.virtual_networks.push(VirtualNetwork {
            subscription_id: subscription.to_string(),
            resource_group: group.to_string(),
            name: name.to_string(),
            location: location.to_string(),
            address_prefixes: vec![prefix.to_string()],
            resource_guid: new_guid(),
            peerings: vec![provisioned_peering("to-client", &seeded)],
        });
        if let Some(network) = world.virtual_network_by_id_mut(&seeded) {
            network
                .peerings
                .push(provisioned_peering(peering_name, &id));
        }
    }
    refresh_peering_states(world);
}

fn provisioned_peering(name: &str, remote: &str) -> VirtualNetworkPeering {
    VirtualNetworkPeering {
        name: name.to_string(),
        remote_virtual_network_id: remote.to_string(),
        allow_virtual_network_access: true,
        allow_forwarded_traffic: false,
        allow_gateway_transit: false,
        use_remote_gateways: false,
        provisioning_state: "Succeeded".to_string(),
        peering_state: "Initiated".to_string(),
        etag: new_guid(),
    }
}

/// Other teams' app registrations, each owned by a user and with its service principal; some
/// multi-tenant, some with passwords of their own. Returns the service principals' ids.
fn add_applications(
    world: &mut World,
    tenant: &str,
    users: &[String],
    start: Instant,
    created: SystemTime,
) -> Vec<String> {
    let mut generator = rand::thread_rng();
    let mut principals = Vec::new();
    for number in 0..APPLICATIONS {
        let team = TEAMS[number % TEAMS.len()];
        let service = SERVICES[(number / TEAMS.len()) % SERVICES.len()];
        let display_name = format!("{team}-{service}-{number:03}");
        let owner = users
            .choose(&mut generator)
            .cloned()
            .unwrap_or_else(new_guid);
        let password_credentials = if number % 3 == 0 {
            vec![foreign_password(created)]
        } else {
            Vec::new()
        };
        let application = Application {
            object_id: new_guid(),
            app_id: new_guid(),
            tenant_id: tenant.to_string(),
            display_name: display_name.clone(),
            sign_in_audience: if number % 4 == 0 {
                "AzureADMultipleOrgs"
            } else {
                "AzureADMyOrg"
            }
            .to_string(),
            unique_name: None,
            tags: Vec::new(),
            password_credentials,
            federated_identity_credentials: Vec::new(),
            owner_principal_ids: vec![owner],
            visible_at: start,
            created_time: created,
            lagging_service_principal_attempts: 0,
        };
        let principal_id = new_guid();
        world.service_principals.push(ServicePrincipal {
            object_id: principal_id.clone(),
            app_id: application.app_id.clone(),
            tenant_id: tenant.to_string(),
            display_name,
            app_owner_tenant_id: tenant.to_string(),
            account_enabled: true,
            directory_roles: Vec::new(),
            graph_app_roles: Vec::new(),
            visible_at: start,
            created_time: created,
        });
        world.applications.push(application);
        principals.push(principal_id);
    }
    principals
}

/// A platform team's identity holds other directory roles and Graph permissions too, listed
/// before the one that matters: a client that reads only the first page of its roles misses it.
fn give_the_admin_other_rights(world: &mut World) {
    let admin_id = world.fixtures.admin_service_principal_id.clone();
    if let Some(admin) = world
        .service_principals
        .iter_mut()
        .find(|principal| principal.object_id == admin_id)
    {
        let others = [
            "Reports Reader",
            "Message Center Reader",
            "Directory Readers",
        ];
        admin
            .directory_roles
            .splice(0..0, others.map(str::to_string));
        admin
            .graph_app_roles
            .extend(["User.Read.All", "Group.Read.All", "Directory.Read.All"].map(str::to_string));
    }
}

/// A password nobody in the simulation knows (its value is not kept, not even for leak scans).
fn foreign_password(created: SystemTime) -> PasswordCredential {
    let secret = random_secret(40);
    PasswordCredential {
        key_id: new_guid(),
        display_name: Some("deploy".to_string()),
        hint: secret[..3].to_string(),
        start_time: created,
        end_time: created + Duration::from_secs(365 * 24 * 3600),
        usable_at: Instant::now(),
        secret_sha256: sha256(&secret),
    }
}

/// Other teams' custom roles, assignable in the visible subscriptions and resource groups, and
/// some only in the hidden subscription. Returns (guid, assignable scope) of the visible ones.
fn add_custom_roles(
    world: &mut World,
    tenant: &str,
    subscriptions: &[String; 3],
    hidden: &str,
    created: SystemTime,
) -> Vec<(String, String)> {
    let mut visible = Vec::new();
    let add = |world: &mut World, role_name: String, scope: String, actions: Vec<String>| {
        let guid = new_guid();
        world.role_definitions.push(RoleDefinition {
            name: guid.clone(),
            tenant_id: Some(tenant.to_string()),
            role_name,
            description: "Managed by another team".to_string(),
            permissions: vec![Permission {
                actions,
                ..Permission::default()
            }],
            assignable_scopes: vec![scope.clone()],
            created_time: created,
            updated_time: created,
        });
        (guid, scope)
    };
    for number in 0..CUSTOM_ROLES {
        let team = TEAMS[number % TEAMS.len()];
        let subscription = &subscriptions[number % subscriptions.len()];
        let scope = format!("/subscriptions/{subscription}");
        let actions = vec![
            "Microsoft.Network/virtualNetworks/read".to_string(),
            format!(
                "Microsoft.Network/networkSecurityGroups/{}",
                ["read", "write"][number % 2]
            ),
        ];
        let role = add(
            world,
            format!("{team} network operator {number:02}"),
            scope,
            actions,
        );
        visible.push(role);
    }
    let hidden_scope = format!("/subscriptions/{hidden}");
    for (role_name, action) in [
        (
            BUSY_HIDDEN_ROLE_NAME,
            "Microsoft.Network/virtualNetworks/peer/action",
        ),
        (
            "Finance network reader",
            "Microsoft.Network/virtualNetworks/read",
        ),
    ] {
        add(
            world,
            role_name.to_string(),
            hidden_scope.clone(),
            vec![action.to_string()],
        );
    }
    visible
}

/// Role assignments of other teams' service principals, at subscriptions, resource groups and
/// on the seeded VNet itself.
fn add_role_assignments(
    world: &mut World,
    tenant: &str,
    subscriptions: &[String; 3],
    roles: &[(String, String)],
    principals: &[String],
    start: Instant,
) {
    let mut generator = rand::thread_rng();
    let seeded_vnet = virtual_network_id(
        &subscriptions[0],
        &world.fixtures.resource_group,
        &world.fixtures.vnet_name,
    );
    let built_in = [READER_ROLE_ID, NETWORK_CONTRIBUTOR_ROLE_ID];
    for number in 0..ROLE_ASSIGNMENTS {
        let Some(principal) = principals.get(number % principals.len().max(1)) else {
            return;
        };
        let (role_guid, scope) = match number % 4 {
            0 => (built_in[number % 2].to_string(), seeded_vnet.clone()),
            1 => match roles.choose(&mut generator) {
                Some((guid, scope)) => (guid.clone(), scope.clone()),
                None => continue,
            },
            _ => {
                let subscription = &subscriptions[generator.gen_range(0..subscriptions.len())];
                (
                    built_in[number % 2].to_string(),
                    format!("/subscriptions/{subscription}"),
                )
            }
        };
        push_assignment(
            world,
            tenant,
            &scope,
            &role_guid,
            principal,
            start,
            SystemTime::now(),
        );
    }
}

/// Aiven VPCs in other clouds (one whose cloud name is not `azure-` + the Azure location), a
/// second project, and other connections on the seeded VPC: an ACTIVE one for the staging VNet
/// and, listed first, a `DELETED` one for the seeded VNet that Aiven keeps listed for a day.
fn add_aiven_neighbours(world: &mut World, start: Instant, staging_subscription: &str) {
    let now_wall = SystemTime::now();
    let aiven_subscription = world.fixtures.aiven_subscription_id.clone();
    let germany_group = "aiven-project-vpcs-germanywestcentral".to_string();
    let germany_vpc = new_guid();
    let germany_vnet = format!("aiven-vnet-{}", &germany_vpc[..8]);
    if let Some(subscription) = world
        .subscriptions
        .iter_mut()
        .find(|subscription| subscription.id == aiven_subscription)
    {
        subscription.resource_groups.push(ResourceGroup {
            name: germany_group.clone(),
            location: "germanywestcentral".to_string(),
        });
    }
    world.virtual_networks.push(VirtualNetwork {
        subscription_id: aiven_subscription.clone(),
        resource_group: germany_group.clone(),
        name: germany_vnet.clone(),
        location: "germanywestcentral".to_string(),
        address_prefixes: vec!["10.2.0.0/24".to_string()],
        resource_guid: new_guid(),
        peerings: Vec::new(),
    });
    let vpc = |id: String, cloud: &str, cidr: &str, network_id: String| ProjectVpc {
        id,
        cloud_name: cloud.to_string(),
        network_cidr: cidr.to_string(),
        state: "ACTIVE".to_string(),
        create_time: now_wall,
        update_time: now_wall,
        azure_virtual_network_id: network_id,
        peering_connections: Vec::new(),
    };
    let germany = vpc(
        germany_vpc,
        "azure-germany-westcentral",
        "10.2.0.0/24",
        virtual_network_id(&aiven_subscription, &germany_group, &germany_vnet),
    );
    let aws = vpc(new_guid(), "aws-eu-west-1", "10.3.0.0/24", String::new());
    let google = vpc(
        new_guid(),
        "google-europe-west1",
        "10.4.0.0/24",
        String::new(),
    );

    let seeded_vpc_id = world.fixtures.project_vpc_id.clone();
    let user_tenant = world.fixtures.user_tenant_id.clone();
    let user_subscription = world.fixtures.user_subscription_id.clone();
    let resource_group = world.fixtures.resource_group.to_lowercase();
    let vnet_name = world.fixtures.vnet_name.to_lowercase();
    let connection = |account: &str, group: &str, network: &str, state: &str, kind: &str| {
        let id = new_guid();
        PeeringConnection {
            id: id.clone(),
            peer_cloud_account: account.to_string(),
            peer_resource_group: group.to_string(),
            peer_vpc: network.to_string(),
            peer_azure_app_id: new_guid(),
            peer_azure_tenant_id: user_tenant.clone(),
            user_peer_network_cidrs: Vec::new(),
            state: state.to_string(),
            state_info: state_info(kind, "Managed by another team"),
            create_time: now_wall - Duration::from_secs(30 * 24 * 3600),
            update_time: now_wall,
            state_since: start,
            grant_done: true,
            user_side_seen_at: None,
            aiven_peering_name: (state == "ACTIVE").then(|| format!("aiven-{id}")),
            disconnected_seen_at: None,
            listed_until: None,
        }
    };
    let mut deleted = connection(
        &user_subscription,
        &resource_group,
        &vnet_name,
        "DELETED",
        "deleted",
    );
    deleted.listed_until = Some(start + Duration::from_secs(24 * 3600));
    let staging = connection(
        staging_subscription,
        "staging-rg",
        "staging-vnet",
        "ACTIVE",
        "active",
    );
    let rejected = connection(
        &new_guid(),
        "legacy-rg",
        "legacy-vnet",
        "REJECTED_BY_PEER",
        "rejected",
    );

    // Both sides of the staging connection's peering, so that Aiven keeps it ACTIVE.
    let aiven_network = world.fixtures.aiven_virtual_network_id.clone();
    let staging_network = virtual_network_id(staging_subscription, "Staging-RG", "Staging-VNet");
    if let Some(name) = staging.aiven_peering_name.clone()
        && let Some(network) = world.virtual_network_by_id_mut(&aiven_network)
    {
        network
            .peerings
            .push(provisioned_peering(&name, &staging_network));
    }
    if let Some(network) = world.virtual_network_by_id_mut(&staging_network) {
        network
            .peerings
            .push(provisioned_peering("to-aiven", &aiven_network));
    }
    refresh_peering_states(world);

    let project = &mut world.aiven_projects[0];
    if let Some(seeded) = project.vpcs.iter_mut().find(|vpc| vpc.id == seeded_vpc_id) {
        seeded.peering_connections = vec![deleted, staging, rejected];
    }
    project.vpcs.extend([germany, aws, google]);
    let mut development = project.clone();
    development.name = "acme-dev".to_string();
    development.vpcs = vec![vpc(
        new_guid(),
        "azure-westeurope",
        "10.9.0.0/24",
        String::new(),
    )];
    world.aiven_projects.push(development);
}

/// An environment whose name needs URL encoding in API paths.
fn add_github_environment(world: &mut World) {
    if let Some(repository) = world.github.repositories.first_mut() {
        repository.environments.push(GithubEnvironment {
            name: "production eu".to_string(),
            secret_box: SecretBox::generate(),
        });
    }
}

impl World {
    /// Whether an application of any tenant accepts `secret` as a live password now (compared
    /// by hash, as the simulator keeps passwords).
    pub fn application_accepts_secret(&self, app_id: &str, secret: &str) -> bool {
        let digest = sha256(secret);
        let now = SystemTime::now();
        self.application_by_app_id(app_id)
            .is_some_and(|application| {
                application
                    .password_credentials
                    .iter()
                    .any(|password| password.secret_sha256 == digest && password.end_time > now)
            })
    }

    /// Adds a VNet (and its resource group when new) to an existing subscription; returns its id.
    /// For tests that need several VNets in one tenant.
    pub fn add_virtual_network(
        &mut self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
        location: &str,
        address_prefix: &str,
    ) -> String {
        if let Some(subscription) = self
            .subscriptions
            .iter_mut()
            .find(|subscription| subscription.id.eq_ignore_ascii_case(subscription_id))
            && !subscription
                .resource_groups
                .iter()
                .any(|group| group.name.eq_ignore_ascii_case(resource_group))
        {
            subscription.resource_groups.push(ResourceGroup {
                name: resource_group.to_string(),
                location: location.to_string(),
            });
        }
        self.virtual_networks.push(VirtualNetwork {
            subscription_id: subscription_id.to_string(),
            resource_group: resource_group.to_string(),
            name: name.to_string(),
            location: location.to_string(),
            address_prefixes: vec![address_prefix.to_string()],
            resource_guid: new_guid(),
            peerings: Vec::new(),
        });
        virtual_network_id(subscription_id, resource_group, name)
    }

    /// Registers an app in the user tenant on behalf of a new member (owner) of that tenant, as
    /// any member may; returns the app's object id.
    pub fn register_application_as_member(&mut self, display_name: &str, member: &str) -> String {
        let tenant = self.fixtures.user_tenant_id.clone();
        let owner = new_guid();
        self.users.push(User {
            object_id: owner.clone(),
            tenant_id: tenant.clone(),
            display_name: member.to_string(),
            user_principal_name: format!(
                "{}@acme.onmicrosoft.com",
                member.to_lowercase().replace(' ', ".")
            ),
        });
        let object_id = new_guid();
        self.applications.push(Application {
            object_id: object_id.clone(),
            app_id: new_guid(),
            tenant_id: tenant,
            display_name: display_name.to_string(),
            sign_in_audience: "AzureADMultipleOrgs".to_string(),
            unique_name: None,
            tags: Vec::new(),
            password_credentials: vec![foreign_password(SystemTime::now())],
            federated_identity_credentials: Vec::new(),
            owner_principal_ids: vec![owner],
            visible_at: Instant::now(),
            created_time: SystemTime::now(),
            lagging_service_principal_attempts: 0,
        });
        object_id
    }
}
