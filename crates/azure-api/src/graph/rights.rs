//! What the signed-in identity holds in the directory: its active directory roles, its
//! Microsoft Graph application permissions (app-only callers), its role-assignable groups and
//! the directory role assignments made to it or to them. Reads a caller may make about itself;
//! each list is followed to its last page.

use super::Graph;
use crate::error::AzureError;
use crate::wire::{Call, Page, all_pages};
use reqwest::Method;
use serde::Deserialize;
use url::Url;

/// The application id of Microsoft Graph (its service principal holds the app roles that
/// are Graph's application permissions).
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// An active directory role of the caller (PIM-eligible roles that are not activated are not
/// members of the role, so they are not listed).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRole {
    pub id: String,
    pub display_name: Option<String>,
    /// The built-in role's id, the same in every tenant.
    pub role_template_id: Option<String>,
}

/// A group the caller is a member of. Directory roles may be assigned only to a
/// role-assignable one (`isAssignableToRole`); its members then hold them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryGroup {
    pub id: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub is_assignable_to_role: Option<bool>,
}

/// An app role granted to a service principal on some resource application.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub app_role_id: String,
    pub resource_id: Option<String>,
    pub resource_display_name: Option<String>,
}

/// A directory role assignment (Entra RBAC), with its role definition when expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRoleAssignment {
    pub role_definition_id: String,
    pub directory_scope_id: Option<String>,
    pub role_definition: Option<DirectoryRoleDefinition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRoleDefinition {
    pub display_name: Option<String>,
    #[serde(default)]
    pub is_built_in: bool,
}

impl Graph {
    /// Whether this client signs in as an application (client secret or federated
    /// credential) rather than as a user (the Azure CLI).
    pub fn signs_in_as_application(&self) -> bool {
        self.credential.source().client_id().is_some()
    }

    /// Every item of a paged collection read with `ConsistencyLevel: eventual`, as Graph
    /// wants for advanced queries such as a cast on a membership.
    async fn list_eventual<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Vec<T>, AzureError> {
        all_pages(url, |page| async move {
            let token = self.credential.graph_token().await?;
            Call {
                http: self.credential.http(),
                method: Method::GET,
                url: page,
                token: &token,
                body: None,
                headers: vec![("ConsistencyLevel", "eventual".to_string())],
            }
            .json::<Page<T>>()
            .await
        })
        .await
    }

    /// The caller's own directory object in Graph's paths: its service principal
    /// (`caller_object_id`) for an application, `/me` for a user.
    fn caller_path(&self, caller_object_id: &str) -> String {
        if self.signs_in_as_application() {
            format!("/servicePrincipals/{caller_object_id}")
        } else {
            "/me".to_string()
        }
    }

    /// The caller's active directory roles, direct or through groups: for an application its
    /// service principal's (`caller_object_id`), for a user the signed-in user's (`/me`).
    pub async fn caller_directory_roles(
        &self,
        caller_object_id: &str,
    ) -> Result<Vec<DirectoryRole>, AzureError> {
        let owner = self.caller_path(caller_object_id);
        let url = self.url(
            &format!("{owner}/transitiveMemberOf/microsoft.graph.directoryRole"),
            &[("$count", "true")],
        )?;
        self.list_eventual(url).await
    }

    /// The role-assignable groups the caller is a member of, directly or through other groups
    /// (custom directory roles assigned to them are the caller's too, yet name the group).
    pub async fn caller_role_assignable_groups(
        &self,
        caller_object_id: &str,
    ) -> Result<Vec<DirectoryGroup>, AzureError> {
        let owner = self.caller_path(caller_object_id);
        let url = self.url(
            &format!("{owner}/transitiveMemberOf/microsoft.graph.group"),
            &[
                ("$count", "true"),
                ("$select", "id,displayName,isAssignableToRole"),
            ],
        )?;
        let groups: Vec<DirectoryGroup> = self.list_eventual(url).await?;
        Ok(groups
            .into_iter()
            .filter(|group| group.is_assignable_to_role == Some(true))
            .collect())
    }

    /// The app roles granted to a service principal (application permissions among them).
    pub async fn app_role_assignments(
        &self,
        service_principal_id: &str,
    ) -> Result<Vec<AppRoleAssignment>, AzureError> {
        let url = self.url(
            &format!("/servicePrincipals/{service_principal_id}/appRoleAssignments"),
            &[],
        )?;
        self.list(url).await
    }

    /// The active directory role assignments made directly to a principal or a
    /// role-assignable group, with their role definitions (custom roles among them).
    pub async fn directory_role_assignments(
        &self,
        principal_id: &str,
    ) -> Result<Vec<DirectoryRoleAssignment>, AzureError> {
        let filter = format!("principalId eq {}", crate::wire::odata_quote(principal_id));
        let url = self.url(
            "/roleManagement/directory/roleAssignments",
            &[("$filter", &filter), ("$expand", "roleDefinition")],
        )?;
        self.list(url).await
    }
}
