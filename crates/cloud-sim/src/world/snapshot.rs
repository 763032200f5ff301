//! The introspection snapshot (`/_sim/state`, `Sim::state`): everything but secret values.

use std::time::Instant;

use serde_json::{Value, json};

use super::model::{World, rfc3339};

/// The introspection snapshot: everything but secret values.
pub(crate) fn snapshot(world: &World) -> Value {
    let applications: Vec<Value> = world
        .applications
        .iter()
        .map(|application| {
            json!({
                "id": application.object_id,
                "appId": application.app_id,
                "tenantId": application.tenant_id,
                "displayName": application.display_name,
                "signInAudience": application.sign_in_audience,
                "uniqueName": application.unique_name,
                "tags": application.tags,
                "owners": application.owner_principal_ids,
                "createdDateTime": rfc3339(application.created_time),
                "passwordCredentials": application.password_credentials.iter().map(|credential| json!({
                    "keyId": credential.key_id,
                    "displayName": credential.display_name,
                    "hint": credential.hint,
                    "startDateTime": rfc3339(credential.start_time),
                    "endDateTime": rfc3339(credential.end_time),
                })).collect::<Vec<_>>(),
                "federatedIdentityCredentials": application.federated_identity_credentials.iter().map(|credential| json!({
                    "id": credential.id,
                    "name": credential.name,
                    "issuer": credential.issuer,
                    "subject": credential.subject,
                    "audiences": credential.audiences,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let service_principals: Vec<Value> = world
        .service_principals
        .iter()
        .map(|principal| {
            json!({
                "id": principal.object_id,
                "appId": principal.app_id,
                "tenantId": principal.tenant_id,
                "displayName": principal.display_name,
                "appOwnerOrganizationId": principal.app_owner_tenant_id,
                "directoryRoles": principal.directory_roles,
            })
        })
        .collect();
    let role_definitions: Vec<Value> = world
        .role_definitions
        .iter()
        .map(|definition| {
            json!({
                "name": definition.name,
                "tenantId": definition.tenant_id,
                "roleName": definition.role_name,
                "type": if definition.is_built_in() { "BuiltInRole" } else { "CustomRole" },
                "actions": definition.permissions.iter().flat_map(|permission| permission.actions.clone()).collect::<Vec<_>>(),
                "notActions": definition.permissions.iter().flat_map(|permission| permission.not_actions.clone()).collect::<Vec<_>>(),
                "assignableScopes": definition.assignable_scopes,
            })
        })
        .collect();
    let now = Instant::now();
    let role_assignments: Vec<Value> = world
        .role_assignments
        .iter()
        .map(|assignment| {
            json!({
                "name": assignment.name,
                "tenantId": assignment.tenant_id,
                "scope": assignment.scope,
                "roleDefinitionId": assignment.role_definition_id,
                "principalId": assignment.principal_id,
                "principalType": assignment.principal_type,
                "effective": now >= assignment.effective_at,
            })
        })
        .collect();
    let virtual_networks: Vec<Value> = world
        .virtual_networks
        .iter()
        .map(|network| {
            json!({
                "id": network.id(),
                "subscriptionId": network.subscription_id,
                "resourceGroup": network.resource_group,
                "name": network.name,
                "location": network.location,
                "addressPrefixes": network.address_prefixes,
                "peerings": network.peerings.iter().map(|peering| json!({
                    "name": peering.name,
                    "remoteVirtualNetworkId": peering.remote_virtual_network_id,
                    "allowVirtualNetworkAccess": peering.allow_virtual_network_access,
                    "provisioningState": peering.provisioning_state,
                    "peeringState": peering.peering_state,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let aiven_projects: Vec<Value> = world
        .aiven_projects
        .iter()
        .map(|project| {
            json!({
                "name": project.name,
                "vpcs": project.vpcs.iter().map(|vpc| json!({
                    "project_vpc_id": vpc.id,
                    "cloud_name": vpc.cloud_name,
                    "network_cidr": vpc.network_cidr,
                    "azure_virtual_network_id": vpc.azure_virtual_network_id,
                    "peering_connections": vpc.peering_connections.iter().map(|connection| json!({
                        "peering_connection_id": connection.id,
                        "peer_cloud_account": connection.peer_cloud_account,
                        "peer_resource_group": connection.peer_resource_group,
                        "peer_vpc": connection.peer_vpc,
                        "peer_azure_app_id": connection.peer_azure_app_id,
                        "peer_azure_tenant_id": connection.peer_azure_tenant_id,
                        "state": connection.state,
                        "state_info": connection.state_info,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let github_repositories: Vec<Value> = world
        .github
        .repositories
        .iter()
        .map(|repository| {
            json!({
                "id": repository.id,
                "full_name": repository.full_name,
                "secrets": repository.secret_box.secrets.iter().map(|secret| secret.name.clone()).collect::<Vec<_>>(),
                "environments": repository.environments.iter().map(|environment| json!({
                    "name": environment.name,
                    "secrets": environment.secret_box.secrets.iter().map(|secret| secret.name.clone()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "tenants": world.tenants.iter().map(|tenant| json!({
            "id": tenant.id,
            "displayName": tenant.display_name,
            "defaultDomain": tenant.default_domain,
        })).collect::<Vec<_>>(),
        "users": world.users.iter().map(|user| json!({
            "id": user.object_id,
            "tenantId": user.tenant_id,
            "displayName": user.display_name,
            "userPrincipalName": user.user_principal_name,
        })).collect::<Vec<_>>(),
        "applications": applications,
        "servicePrincipals": service_principals,
        "roleDefinitions": role_definitions,
        "roleAssignments": role_assignments,
        "subscriptions": world.subscriptions.iter().map(|subscription| json!({
            "subscriptionId": subscription.id,
            "tenantId": subscription.tenant_id,
            "displayName": subscription.display_name,
            "resourceGroups": subscription.resource_groups.iter().map(|group| group.name.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "virtualNetworks": virtual_networks,
        "aivenProjects": aiven_projects,
        "github": {
            "repositories": github_repositories,
            "oidcSubject": world.github.oidc_subject,
        },
    })
}
