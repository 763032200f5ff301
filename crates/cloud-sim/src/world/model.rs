//! The simulated world's model: tenants, directory objects, subscriptions, networks, Aiven
//! projects and GitHub repositories, the lookups over them, and the small value helpers.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use rand::Rng;
use serde_json::Value;

/// The fixed application id of Aiven's multi-tenant application.
pub const AIVEN_APP_ID: &str = "55f300d4-fc50-4c5e-9222-e90a6e2187fb";
/// The directory role that may create service principals for foreign applications; so may
/// the two below it.
pub const APPLICATION_ADMINISTRATOR: &str = "Application Administrator";
pub const CLOUD_APPLICATION_ADMINISTRATOR: &str = "Cloud Application Administrator";
pub const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";
/// A directory role that may read the directory and nothing more.
pub const DIRECTORY_READERS: &str = "Directory Readers";
/// The Microsoft Graph application permission that may create service principals for foreign
/// applications (an app-only caller's alternative to the directory roles).
pub const APPLICATION_READ_WRITE_ALL: &str = "Application.ReadWrite.All";
/// Built-in role ids (the same in every tenant, as in Azure).
pub const OWNER_ROLE_ID: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR_ROLE_ID: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const READER_ROLE_ID: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const NETWORK_CONTRIBUTOR_ROLE_ID: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";
pub const USER_ACCESS_ADMINISTRATOR_ROLE_ID: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
/// The GitHub Actions OIDC issuer.
pub const GITHUB_OIDC_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The action a peering needs on the remote virtual network.
pub const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

pub(crate) fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random URL-safe secret of `length` characters.
pub(crate) fn random_secret(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~.";
    let mut generator = rand::thread_rng();
    (0..length)
        .map(|_| ALPHABET[generator.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub(crate) fn sha256(text: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .to_vec()
}

/// RFC 3339 text of a wall-clock time, seconds precision.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: String,
    pub display_name: String,
    pub default_domain: String,
}

#[derive(Clone, Debug)]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub hint: String,
    pub start_time: SystemTime,
    pub end_time: SystemTime,
    /// The token endpoint refuses the password before this instant (replication).
    pub usable_at: Instant,
    /// SHA-256 of the secret; the value itself is never kept.
    pub secret_sha256: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct FederatedIdentityCredential {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Application {
    pub object_id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub sign_in_audience: String,
    pub unique_name: Option<String>,
    pub tags: Vec<String>,
    pub password_credentials: Vec<PasswordCredential>,
    pub federated_identity_credentials: Vec<FederatedIdentityCredential>,
    /// Object ids of the owners: the service principal or user that created the application,
    /// and any added since.
    pub owner_principal_ids: Vec<String>,
    /// Reads by id and list filters do not see the object before this instant.
    pub visible_at: Instant,
    pub created_time: SystemTime,
    /// Counts service-principal creations attempted during the replication lag.
    pub lagging_service_principal_attempts: u32,
}

impl Application {
    pub fn is_multi_tenant(&self) -> bool {
        self.sign_in_audience != "AzureADMyOrg"
    }
}

/// A member of a tenant (owners of other people's applications, in the busy preset).
#[derive(Clone, Debug)]
pub struct User {
    pub object_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub user_principal_name: String,
}

#[derive(Clone, Debug)]
pub struct ServicePrincipal {
    pub object_id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub app_owner_tenant_id: String,
    pub account_enabled: bool,
    /// Active directory roles assigned to it directly, such as `Application Administrator` (by
    /// display name; the built-in ones the simulator knows are in `graph::rights`, custom ones
    /// are in `World::custom_directory_roles`). PIM-eligible roles that are not activated are
    /// not listed: they grant nothing. Roles held through groups are in `DirectoryGroup`.
    pub directory_roles: Vec<String>,
    /// Microsoft Graph application permissions granted to it (app role values such as
    /// `Application.ReadWrite.All`), as `appRoleAssignments` on Graph's service principal.
    pub graph_app_roles: Vec<String>,
    pub visible_at: Instant,
    pub created_time: SystemTime,
}

/// The directory action a custom directory role needs to create service principals, those of
/// other tenants' multi-tenant applications among them.
pub const CREATE_SERVICE_PRINCIPALS_ACTION: &str = "microsoft.directory/servicePrincipals/create";

/// A custom directory role (Entra ID RBAC), defined in one tenant. It is no `directoryRole`
/// object: it shows only in `roleManagement/directory/roleAssignments`.
#[derive(Clone, Debug)]
pub struct CustomDirectoryRole {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// Its `rolePermissions`' `allowedResourceActions`, such as
    /// `CREATE_SERVICE_PRINCIPALS_ACTION`.
    pub allowed_resource_actions: Vec<String>,
}

/// A group of a tenant's directory. Only a role-assignable one (`isAssignableToRole`) may be
/// assigned directory roles; its members then hold them through it.
#[derive(Clone, Debug)]
pub struct DirectoryGroup {
    pub object_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub is_assignable_to_role: bool,
    /// Object ids of its members (service principals here).
    pub member_ids: Vec<String>,
    /// Directory roles assigned to the group, by display name: built-in ones, or custom ones
    /// from `World::custom_directory_roles`.
    pub directory_roles: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct RoleDefinition {
    /// The role definition guid.
    pub name: String,
    /// `None` for built-in roles, which exist in every tenant.
    pub tenant_id: Option<String>,
    pub role_name: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    pub assignable_scopes: Vec<String>,
    pub created_time: SystemTime,
    pub updated_time: SystemTime,
}

impl RoleDefinition {
    pub fn is_built_in(&self) -> bool {
        self.tenant_id.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct RoleAssignment {
    /// The role assignment guid.
    pub name: String,
    pub tenant_id: String,
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    /// Grants nothing before this instant, and then only to tokens issued at or after it.
    pub effective_at: Instant,
    pub created_time: SystemTime,
}

impl RoleAssignment {
    /// The guid at the end of `role_definition_id`.
    pub fn role_definition_guid(&self) -> &str {
        self.role_definition_id
            .rsplit('/')
            .next()
            .unwrap_or(&self.role_definition_id)
    }
}

#[derive(Clone, Debug)]
pub struct ResourceGroup {
    pub name: String,
    pub location: String,
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub resource_groups: Vec<ResourceGroup>,
}

#[derive(Clone, Debug)]
pub struct VirtualNetworkPeering {
    pub name: String,
    pub remote_virtual_network_id: String,
    pub allow_virtual_network_access: bool,
    pub allow_forwarded_traffic: bool,
    pub allow_gateway_transit: bool,
    pub use_remote_gateways: bool,
    /// `Updating`, `Succeeded`, `Deleting`.
    pub provisioning_state: String,
    /// `Initiated`, `Connected`, `Disconnected`.
    pub peering_state: String,
    pub etag: String,
}

#[derive(Clone, Debug)]
pub struct VirtualNetwork {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub address_prefixes: Vec<String>,
    pub resource_guid: String,
    pub peerings: Vec<VirtualNetworkPeering>,
}

impl VirtualNetwork {
    pub fn id(&self) -> String {
        virtual_network_id(&self.subscription_id, &self.resource_group, &self.name)
    }
}

pub(crate) fn virtual_network_id(subscription: &str, resource_group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Network/virtualNetworks/{name}"
    )
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationKind {
    PutPeering,
    DeletePeering,
}

#[derive(Clone, Debug)]
pub struct AsyncOperation {
    pub id: String,
    pub subscription_id: String,
    pub location: String,
    pub kind: OperationKind,
    /// Canonical id of the local virtual network.
    pub virtual_network_id: String,
    pub peering_name: String,
    pub done_at: Instant,
    /// `InProgress`, `Succeeded`, `Failed`.
    pub status: String,
}

#[derive(Clone, Debug)]
pub struct PeeringConnection {
    pub id: String,
    pub peer_cloud_account: String,
    pub peer_resource_group: String,
    pub peer_vpc: String,
    pub peer_azure_app_id: String,
    pub peer_azure_tenant_id: String,
    pub user_peer_network_cidrs: Vec<String>,
    pub state: String,
    pub state_info: Value,
    pub create_time: SystemTime,
    pub update_time: SystemTime,
    /// When the current state was entered.
    pub state_since: Instant,
    /// Aiven has created the user app's service principal and `peer/action` grant.
    pub grant_done: bool,
    /// When the user-side peering was first seen (PENDING_PEER only).
    pub user_side_seen_at: Option<Instant>,
    /// Name of the Aiven-side peering on the Aiven virtual network.
    pub aiven_peering_name: Option<String>,
    /// When the Aiven-side peering was first seen `Disconnected`.
    pub disconnected_seen_at: Option<Instant>,
    /// A `DELETED` connection stays listed at least until then (Aiven keeps deleted connections
    /// for a while); `None`: for the usual delete delay.
    pub listed_until: Option<Instant>,
}

#[derive(Clone, Debug)]
pub struct ProjectVpc {
    pub id: String,
    pub cloud_name: String,
    pub network_cidr: String,
    pub state: String,
    pub create_time: SystemTime,
    pub update_time: SystemTime,
    /// The Aiven-side virtual network in the Aiven subscription.
    pub azure_virtual_network_id: String,
    pub peering_connections: Vec<PeeringConnection>,
}

#[derive(Clone, Debug)]
pub struct AivenProject {
    pub name: String,
    pub vpcs: Vec<ProjectVpc>,
}

#[derive(Clone, Debug)]
pub struct GithubSecret {
    pub name: String,
    /// The opened plaintext: in-process only, never in the snapshot.
    pub value: String,
    pub created_time: SystemTime,
    pub updated_time: SystemTime,
}

#[derive(Clone)]
pub struct SecretBox {
    pub key_id: String,
    pub secret_key: crypto_box::SecretKey,
    pub secrets: Vec<GithubSecret>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SecretBox")
            .field("key_id", &self.key_id)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl SecretBox {
    pub(crate) fn generate() -> SecretBox {
        let mut generator = rand::thread_rng();
        let mut key_bytes = [0u8; 32];
        generator.fill(&mut key_bytes);
        SecretBox {
            key_id: generator
                .gen_range(100_000_000_000_000_000u64..999_999_999_999_999_999)
                .to_string(),
            secret_key: crypto_box::SecretKey::from_bytes(key_bytes),
            secrets: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct GithubEnvironment {
    pub name: String,
    pub secret_box: SecretBox,
}

#[derive(Clone, Debug)]
pub struct GithubRepository {
    pub id: u64,
    pub full_name: String,
    pub secret_box: SecretBox,
    pub environments: Vec<GithubEnvironment>,
}

#[derive(Clone, Debug)]
pub struct GithubState {
    pub repositories: Vec<GithubRepository>,
    pub token: String,
    pub readonly_token: String,
    /// May read Actions secrets' names and public keys, not write them.
    pub secrets_read_token: String,
    pub oidc_request_token: String,
    /// `sub` of the OIDC tokens the simulator issues for GitHub Actions.
    pub oidc_subject: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    ResourceManager,
    Graph,
}

#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub tenant_id: String,
    pub app_id: String,
    pub service_principal_id: String,
    pub audience: Audience,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// What kind of secret the simulator issued (for the leak scans' self-checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// Seeded at start: the admin client secret, the Aiven token, the GitHub tokens.
    Seeded,
    /// An access token from the token endpoint.
    AccessToken,
    /// An application password (`addPassword`'s `secretText`).
    Password,
    /// An OIDC token: GitHub Actions' or a GitLab `id_tokens` JWT.
    OidcToken,
}

/// Ids of the seeded objects.
#[derive(Clone, Debug)]
pub struct Fixtures {
    pub user_tenant_id: String,
    pub aiven_tenant_id: String,
    pub admin_app_id: String,
    pub admin_service_principal_id: String,
    pub user_subscription_id: String,
    pub aiven_subscription_id: String,
    pub resource_group: String,
    pub vnet_name: String,
    pub vnet_location: String,
    pub aiven_project: String,
    pub project_vpc_id: String,
    pub aiven_virtual_network_id: String,
    pub aiven_service_principal_id: String,
    pub aiven_peering_role_id: String,
    pub github_repository: String,
}

/// The whole simulated world. Tests may change it through `Sim::with_world`.
#[derive(Debug)]
pub struct World {
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub applications: Vec<Application>,
    pub service_principals: Vec<ServicePrincipal>,
    pub role_definitions: Vec<RoleDefinition>,
    pub role_assignments: Vec<RoleAssignment>,
    /// Custom directory roles (Entra ID), as opposed to ARM's `role_definitions`.
    pub custom_directory_roles: Vec<CustomDirectoryRole>,
    pub directory_groups: Vec<DirectoryGroup>,
    pub subscriptions: Vec<Subscription>,
    pub virtual_networks: Vec<VirtualNetwork>,
    pub operations: Vec<AsyncOperation>,
    pub aiven_projects: Vec<AivenProject>,
    pub aiven_token: String,
    pub github: GithubState,
    pub tokens: HashMap<String, IssuedToken>,
    pub fixtures: Fixtures,
    /// Every secret value issued or seeded, with its kind (for leak scans); never in the
    /// snapshot.
    pub issued_secrets: Vec<(SecretKind, String)>,
    /// Key of the HS256 signatures of the simulator's OIDC tokens.
    pub(crate) jwt_key: Vec<u8>,
}

impl World {
    pub fn tenant(&self, tenant_id: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|tenant| tenant.id.eq_ignore_ascii_case(tenant_id))
    }

    pub fn subscription(&self, subscription_id: &str) -> Option<&Subscription> {
        self.subscriptions
            .iter()
            .find(|subscription| subscription.id.eq_ignore_ascii_case(subscription_id))
    }

    pub fn application_by_app_id(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|application| application.app_id.eq_ignore_ascii_case(app_id))
    }

    pub fn service_principal(&self, tenant_id: &str, object_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|principal| {
            principal.tenant_id == tenant_id && principal.object_id.eq_ignore_ascii_case(object_id)
        })
    }

    pub fn user(&self, tenant_id: &str, object_id: &str) -> Option<&User> {
        self.users.iter().find(|user| {
            user.tenant_id == tenant_id && user.object_id.eq_ignore_ascii_case(object_id)
        })
    }

    pub fn service_principal_for_app(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|principal| {
            principal.tenant_id == tenant_id && principal.app_id.eq_ignore_ascii_case(app_id)
        })
    }

    pub fn virtual_network(
        &self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> Option<&VirtualNetwork> {
        self.virtual_networks.iter().find(|network| {
            network
                .subscription_id
                .eq_ignore_ascii_case(subscription_id)
                && network.resource_group.eq_ignore_ascii_case(resource_group)
                && network.name.eq_ignore_ascii_case(name)
        })
    }

    pub fn virtual_network_by_id(&self, id: &str) -> Option<&VirtualNetwork> {
        self.virtual_networks
            .iter()
            .find(|network| network.id().eq_ignore_ascii_case(id))
    }

    pub(crate) fn virtual_network_by_id_mut(&mut self, id: &str) -> Option<&mut VirtualNetwork> {
        self.virtual_networks
            .iter_mut()
            .find(|network| network.id().eq_ignore_ascii_case(id))
    }

    pub fn role_definition(&self, tenant_id: &str, guid: &str) -> Option<&RoleDefinition> {
        self.role_definitions.iter().find(|definition| {
            definition.name.eq_ignore_ascii_case(guid)
                && definition
                    .tenant_id
                    .as_deref()
                    .is_none_or(|owner| owner == tenant_id)
        })
    }

    /// Gives a service principal a directory role (e.g. `APPLICATION_ADMINISTRATOR`).
    pub fn grant_directory_role(&mut self, service_principal_id: &str, role: &str) {
        for principal in &mut self.service_principals {
            if principal.object_id == service_principal_id
                && !principal
                    .directory_roles
                    .iter()
                    .any(|existing| existing == role)
            {
                principal.directory_roles.push(role.to_string());
            }
        }
    }

    /// Takes a directory role away from a service principal.
    pub fn revoke_directory_role(&mut self, service_principal_id: &str, role: &str) {
        for principal in &mut self.service_principals {
            if principal.object_id == service_principal_id {
                principal
                    .directory_roles
                    .retain(|existing| existing != role);
            }
        }
    }

    /// Grants a service principal a Microsoft Graph application permission (an app role value
    /// such as `APPLICATION_READ_WRITE_ALL`), as admin consent does.
    pub fn grant_graph_app_role(&mut self, service_principal_id: &str, permission: &str) {
        for principal in &mut self.service_principals {
            if principal.object_id == service_principal_id
                && !principal
                    .graph_app_roles
                    .iter()
                    .any(|held| held == permission)
            {
                principal.graph_app_roles.push(permission.to_string());
            }
        }
    }

    /// Sets the `sub` claim of the GitHub OIDC tokens.
    pub fn set_github_oidc_subject(&mut self, subject: &str) {
        self.github.oidc_subject = subject.to_string();
    }

    pub(crate) fn remember_secret(&mut self, kind: SecretKind, secret: &str) {
        self.issued_secrets.push((kind, secret.to_string()));
    }
}
