//! Azure Resource Manager: subscriptions, virtual networks and their peerings (long-running
//! operations), role definitions and role assignments.

use crate::api_version;
use crate::credential::Credential;
use crate::error::AzureError;
use crate::wire::{Call, Page, all_pages, odata_quote};
use api_core::Secret;
use api_core::retry::{self, Step, Wait, WaitError};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VirtualNetwork {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub properties: VirtualNetworkProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkProperties {
    pub address_space: Option<AddressSpace>,
    #[serde(default)]
    pub virtual_network_peerings: Vec<Peering>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressSpace {
    #[serde(default)]
    pub address_prefixes: Vec<String>,
}

impl VirtualNetwork {
    pub fn address_prefixes(&self) -> Vec<String> {
        self.properties
            .address_space
            .as_ref()
            .map(|space| space.address_prefixes.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Peering {
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub properties: PeeringProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeeringProperties {
    pub remote_virtual_network: Option<SubResource>,
    pub allow_virtual_network_access: Option<bool>,
    pub allow_forwarded_traffic: Option<bool>,
    pub allow_gateway_transit: Option<bool>,
    pub use_remote_gateways: Option<bool>,
    pub peering_state: Option<String>,
    pub peering_sync_level: Option<String>,
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SubResource {
    pub id: String,
}

impl Peering {
    pub fn remote_id(&self) -> Option<&str> {
        self.properties
            .remote_virtual_network
            .as_ref()
            .map(|remote| remote.id.as_str())
    }

    pub fn state(&self) -> &str {
        self.properties
            .peering_state
            .as_deref()
            .unwrap_or("Unknown")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoleDefinition {
    pub id: String,
    pub name: String,
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    pub role_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type", default)]
    pub role_type: Option<String>,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub assignable_scopes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

/// Whether a set of permission blocks allows an action (wildcards `*` as ARM matches them, `notActions`
/// subtracted within their own block).
pub fn permits(permissions: &[Permission], action: &str) -> bool {
    permissions.iter().any(|permission| {
        let matches = |pattern: &String| wildcard_matches(pattern, action);
        permission.actions.iter().any(matches) && !permission.not_actions.iter().any(matches)
    })
}

/// Case-insensitive match of an action against a pattern in which `*` matches any text.
fn wildcard_matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = action.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (index, part) in parts.iter().enumerate() {
        let last = index + 1 == parts.len();
        if last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoleAssignment {
    pub id: String,
    pub name: String,
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    pub scope: Option<String>,
    /// When the assignment was created (RFC 3339).
    #[serde(default)]
    pub created_on: Option<String>,
}

/// The desired shape of a peering from a local VNet to a remote one (seed step 13).
#[derive(Debug, Clone)]
pub struct PeeringSpec {
    pub remote_vnet_id: String,
    pub allow_virtual_network_access: bool,
}

/// A Resource Manager client for one identity.
#[derive(Debug, Clone)]
pub struct Arm {
    credential: Credential,
    base: Url,
    /// How long a long-running operation may take.
    pub operation_timeout: Duration,
}

impl Arm {
    pub fn new(credential: Credential) -> Self {
        let base = credential.endpoints().resource_manager.clone();
        Self {
            credential,
            base,
            operation_timeout: Duration::from_secs(600),
        }
    }

    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    fn url(
        &self,
        path: &str,
        api_version: &str,
        query: &[(&str, &str)],
    ) -> Result<Url, AzureError> {
        let text = format!("{}{path}", api_core::endpoints::base_string(&self.base));
        let mut url =
            Url::parse(&text).map_err(|error| AzureError::Other(format!("{text}: {error}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        url.query_pairs_mut().extend_pairs(query);
        Ok(url)
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        headers: Vec<(&'static str, String)>,
    ) -> Result<reqwest::Response, AzureError> {
        let token = self.credential.arm_token().await?;
        Call {
            http: self.credential.http(),
            method,
            url,
            token: &token,
            body,
            headers,
        }
        .send()
        .await
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
    ) -> Result<T, AzureError> {
        let shown = crate::wire::display_url(&url);
        let response = self.call(method.clone(), url, body, Vec::new()).await?;
        crate::wire::decode(method.as_str(), &shown, response).await
    }

    /// Every item of a paged list, following `nextLink` to the last page.
    async fn list<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<Vec<T>, AzureError> {
        all_pages(url, |page| self.json::<Page<T>>(Method::GET, page, None)).await
    }

    async fn optional<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Option<T>, AzureError> {
        match self.json(Method::GET, url, None).await {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every subscription the identity can see.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, AzureError> {
        let url = self.url("/subscriptions", api_version::SUBSCRIPTIONS, &[])?;
        self.list(url).await
    }

    pub async fn subscription(&self, subscription_id: &str) -> Result<Subscription, AzureError> {
        let url = self.url(
            &format!("/subscriptions/{subscription_id}"),
            api_version::SUBSCRIPTIONS,
            &[],
        )?;
        self.json(Method::GET, url, None).await
    }

    /// A virtual network by resource id; `None` if it does not exist.
    pub async fn virtual_network(
        &self,
        vnet_id: &str,
    ) -> Result<Option<VirtualNetwork>, AzureError> {
        let url = self.url(vnet_id, api_version::NETWORK, &[])?;
        self.optional(url).await
    }

    pub async fn peering(&self, vnet_id: &str, name: &str) -> Result<Option<Peering>, AzureError> {
        let url = self.url(
            &format!("{vnet_id}/virtualNetworkPeerings/{name}"),
            api_version::NETWORK,
            &[],
        )?;
        self.optional(url).await
    }

    pub async fn peerings(&self, vnet_id: &str) -> Result<Vec<Peering>, AzureError> {
        let url = self.url(
            &format!("{vnet_id}/virtualNetworkPeerings"),
            api_version::NETWORK,
            &[],
        )?;
        self.list(url).await
    }

    /// Creates or updates a peering and follows the long-running operation to its end.
    /// `auxiliary_tokens` are Resource Manager tokens from the remote tenants.
    pub async fn put_peering(
        &self,
        vnet_id: &str,
        name: &str,
        spec: &PeeringSpec,
        auxiliary_tokens: &[Secret],
    ) -> Result<Peering, AzureError> {
        let path = format!("{vnet_id}/virtualNetworkPeerings/{name}");
        let url = self.url(&path, api_version::NETWORK, &[])?;
        let body = json!({"properties": {
            "remoteVirtualNetwork": {"id": spec.remote_vnet_id},
            "allowVirtualNetworkAccess": spec.allow_virtual_network_access,
            "allowForwardedTraffic": false,
            "allowGatewayTransit": false,
            "useRemoteGateways": false,
        }});
        let mut headers = Vec::new();
        if !auxiliary_tokens.is_empty() {
            let value = auxiliary_tokens
                .iter()
                .map(|token| format!("Bearer {}", token.expose()))
                .collect::<Vec<_>>()
                .join(", ");
            headers.push(("x-ms-authorization-auxiliary", value));
        }
        let shown = crate::wire::display_url(&url);
        let response = self.call(Method::PUT, url, Some(body), headers).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(crate::wire::api_error("PUT", &shown, response).await);
        }
        let operation = operation_url(&response);
        let retry_after = api_core::http::retry_after(&response);
        let _: serde_json::Value = crate::wire::decode("PUT", &shown, response).await?;
        if let Some(operation) = operation {
            self.follow_operation(&operation, retry_after, &format!("peering {name}"))
                .await?;
        }
        self.peering(vnet_id, name).await?.ok_or_else(|| {
            AzureError::Other(format!("peering {path} is gone after it was created"))
        })
    }

    /// Deletes a peering and follows the long-running operation to its end.
    pub async fn delete_peering(&self, vnet_id: &str, name: &str) -> Result<(), AzureError> {
        let path = format!("{vnet_id}/virtualNetworkPeerings/{name}");
        let url = self.url(&path, api_version::NETWORK, &[])?;
        let shown = crate::wire::display_url(&url);
        let response = self.call(Method::DELETE, url, None, Vec::new()).await?;
        let status = response.status().as_u16();
        if status == 204 || status == 404 {
            return Ok(());
        }
        if !response.status().is_success() {
            return Err(crate::wire::api_error("DELETE", &shown, response).await);
        }
        let operation = operation_url(&response);
        let retry_after = api_core::http::retry_after(&response);
        if let Some(operation) = operation {
            self.follow_operation(
                &operation,
                retry_after,
                &format!("deletion of peering {name}"),
            )
            .await?;
        }
        Ok(())
    }

    async fn follow_operation(
        &self,
        operation: &Url,
        first_pause: Option<Duration>,
        what: &str,
    ) -> Result<(), AzureError> {
        #[derive(Deserialize)]
        struct Status {
            status: String,
            error: Option<serde_json::Value>,
        }
        let wait = Wait::new(
            format!("{what} to finish"),
            self.operation_timeout,
            first_pause
                .unwrap_or(Duration::from_secs(1))
                .max(Duration::from_millis(50)),
        );
        let shown = crate::wire::display_url(operation);
        let result = retry::until(&wait, |_| async {
            let response = match self
                .call(Method::GET, operation.clone(), None, Vec::new())
                .await
            {
                Ok(response) => response,
                Err(error) => return Step::Fail(error),
            };
            let after = api_core::http::retry_after(&response);
            // A `Location` monitor answers 202 while running and the result when done; an
            // `Azure-AsyncOperation` monitor always answers a status body.
            if response.status().as_u16() == 202 {
                return Step::Retry {
                    error: AzureError::Other(format!("{what} is still running")),
                    after,
                };
            }
            if response.status().as_u16() == 204 {
                return Step::Done(());
            }
            let body: serde_json::Value = match crate::wire::decode("GET", &shown, response).await {
                Ok(body) => body,
                Err(error) => return Step::Fail(error),
            };
            if body.get("status").is_none() {
                return Step::Done(());
            }
            let status: Status = match serde_json::from_value(body) {
                Ok(status) => status,
                Err(error) => return Step::Fail(AzureError::Other(format!("{what}: {error}"))),
            };
            match status.status.as_str() {
                "Succeeded" => Step::Done(()),
                "Failed" | "Canceled" => Step::Fail(AzureError::Other(format!(
                    "{what} ended {}: {}",
                    status.status,
                    status
                        .error
                        .map(|error| error.to_string())
                        .unwrap_or_default()
                ))),
                other => Step::Retry {
                    error: AzureError::Other(format!("{what} is {other}")),
                    after,
                },
            }
        })
        .await;
        result.map_err(|error| match error {
            WaitError::Failed(error) => error,
            timed_out @ WaitError::TimedOut { .. } => AzureError::Other(timed_out.to_string()),
        })
    }

    /// Role definitions with this name visible at a scope.
    pub async fn role_definitions_named(
        &self,
        scope: &str,
        role_name: &str,
    ) -> Result<Vec<RoleDefinition>, AzureError> {
        let filter = format!("roleName eq {}", odata_quote(role_name));
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions"),
            api_version::AUTHORIZATION,
            &[("$filter", &filter)],
        )?;
        self.list(url).await
    }

    /// A role definition by guid, read at a scope where it is assignable; `None` if absent.
    pub async fn role_definition(
        &self,
        scope: &str,
        role_definition_guid: &str,
    ) -> Result<Option<RoleDefinition>, AzureError> {
        let url = self.url(
            &format!(
                "{scope}/providers/Microsoft.Authorization/roleDefinitions/{role_definition_guid}"
            ),
            api_version::AUTHORIZATION,
            &[],
        )?;
        self.optional(url).await
    }

    /// Creates or updates a custom role definition.
    pub async fn put_role_definition(
        &self,
        scope: &str,
        role_definition_guid: &str,
        properties: &RoleDefinitionProperties,
    ) -> Result<RoleDefinition, AzureError> {
        let url = self.url(
            &format!(
                "{scope}/providers/Microsoft.Authorization/roleDefinitions/{role_definition_guid}"
            ),
            api_version::AUTHORIZATION,
            &[],
        )?;
        let body = json!({"properties": properties});
        self.json(Method::PUT, url, Some(body)).await
    }

    /// Role assignments of a principal that apply at or above a scope, or below it.
    pub async fn role_assignments_for(
        &self,
        scope: &str,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        let filter = format!("principalId eq {}", odata_quote(principal_id));
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
            api_version::AUTHORIZATION,
            &[("$filter", &filter)],
        )?;
        self.list(url).await
    }

    /// Creates a role assignment for a service principal. An existing identical assignment
    /// (409 `RoleAssignmentExists`) is reported as an error for the caller to treat as done.
    pub async fn put_role_assignment(
        &self,
        scope: &str,
        assignment_guid: &str,
        role_definition_id: &str,
        principal_id: &str,
    ) -> Result<RoleAssignment, AzureError> {
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment_guid}"),
            api_version::AUTHORIZATION,
            &[],
        )?;
        let body = json!({"properties": {
            "roleDefinitionId": role_definition_id,
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
        }});
        self.json(Method::PUT, url, Some(body)).await
    }

    /// A role definition by its resource id; `None` if it does not exist.
    pub async fn role_definition_by_id(
        &self,
        id: &str,
    ) -> Result<Option<RoleDefinition>, AzureError> {
        let url = self.url(id, api_version::AUTHORIZATION, &[])?;
        self.optional(url).await
    }

    /// A role assignment by its resource id; `None` if it does not exist.
    pub async fn role_assignment_by_id(
        &self,
        id: &str,
    ) -> Result<Option<RoleAssignment>, AzureError> {
        let url = self.url(id, api_version::AUTHORIZATION, &[])?;
        self.optional(url).await
    }

    /// Every role assignment that applies at, above or below a scope (every page).
    pub async fn role_assignments_at(
        &self,
        scope: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
            api_version::AUTHORIZATION,
            &[],
        )?;
        self.list(url).await
    }

    /// The caller's own effective permissions at a resource group or resource (one entry per
    /// permission block of each role assigned to it there or above).
    pub async fn permissions_at(&self, scope: &str) -> Result<Vec<Permission>, AzureError> {
        let url = self.url(
            &format!("{scope}/providers/Microsoft.Authorization/permissions"),
            api_version::AUTHORIZATION,
            &[],
        )?;
        // Paged like every ARM list.
        self.list(url).await
    }

    /// Deletes a role assignment or a role definition by its resource id; one already gone is
    /// not an error (ARM answers 204 for it).
    pub async fn delete_authorization_object(&self, id: &str) -> Result<(), AzureError> {
        let url = self.url(id, api_version::AUTHORIZATION, &[])?;
        let shown = crate::wire::display_url(&url);
        let response = self.call(Method::DELETE, url, None, Vec::new()).await?;
        let status = response.status().as_u16();
        if response.status().is_success() || status == 404 {
            Ok(())
        } else {
            Err(crate::wire::api_error("DELETE", &shown, response).await)
        }
    }
}

fn operation_url(response: &reqwest::Response) -> Option<Url> {
    let headers = response.headers();
    headers
        .get("azure-asyncoperation")
        .or_else(|| headers.get(reqwest::header::LOCATION))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Url::parse(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(actions: &[&str], not_actions: &[&str]) -> Permission {
        Permission {
            actions: actions.iter().map(|action| action.to_string()).collect(),
            not_actions: not_actions
                .iter()
                .map(|action| action.to_string())
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn permits_matches_wildcards_and_subtracts_not_actions() {
        let write = "Microsoft.Authorization/roleAssignments/write";
        let check = |blocks: &[Permission]| permits(blocks, write);
        assert!(check(&[block(&["*"], &[])]));
        assert!(check(&[block(&["Microsoft.Authorization/*"], &[])]));
        assert!(check(&[block(&["microsoft.authorization/*/WRITE"], &[])]));
        assert!(!check(&[block(&["*/read"], &[])]));
        assert!(!check(&[block(&["Microsoft.Network/*"], &[])]));
        // Contributor: everything but Microsoft.Authorization writes.
        let contributor = block(&["*"], &["Microsoft.Authorization/*/Write"]);
        assert!(!check(std::slice::from_ref(&contributor)));
        // Another role's block still grants it.
        assert!(check(&[contributor, block(&[write], &[])]));
        assert!(!check(&[]));
        assert!(!permits(&[block(&["a*b*b"], &[])], "ab"));
        assert!(permits(&[block(&["a*b*b"], &[])], "abxb"));
    }
}
