//! Microsoft Graph v1.0: applications, their passwords and federated credentials, and service
//! principals; in `rights`, what the signed-in identity holds in the directory.

mod rights;

pub use rights::{
    AppRoleAssignment, DirectoryGroup, DirectoryRole, DirectoryRoleAssignment,
    DirectoryRoleDefinition, MICROSOFT_GRAPH_APP_ID,
};

use crate::credential::Credential;
use crate::error::AzureError;
use crate::wire::{Call, Page, all_pages, odata_quote};
use api_core::Secret;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The object id (used in `/applications/{id}`).
    pub id: String,
    /// The application (client) id.
    pub app_id: String,
    pub display_name: Option<String>,
    pub sign_in_audience: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
}

/// An owner of an application: a user or a service principal.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    pub id: String,
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
}

impl DirectoryObject {
    /// Who it is, for messages: the display name and the sign-in name or object id.
    pub fn describe(&self) -> String {
        let kind = match self.odata_type.as_deref() {
            Some("#microsoft.graph.user") => "user",
            Some("#microsoft.graph.servicePrincipal") => "service principal",
            _ => "directory object",
        };
        format!(
            "{kind} {} ({})",
            self.display_name.as_deref().unwrap_or("?"),
            self.user_principal_name.as_deref().unwrap_or(&self.id)
        )
    }
}

/// A password's metadata; the value itself is only in [`NewPassword`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub hint: Option<String>,
    pub start_date_time: Option<String>,
    pub end_date_time: Option<String>,
}

/// A password just added: `secret_text` is shown once.
#[derive(Debug, Clone)]
pub struct NewPassword {
    pub key_id: String,
    pub secret_text: Secret,
    pub end_date_time: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: Option<String>,
    pub app_owner_organization_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedIdentityCredential {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    #[serde(default)]
    pub audiences: Vec<String>,
}

/// A Graph client for one identity.
#[derive(Debug, Clone)]
pub struct Graph {
    credential: Credential,
    base: Url,
}

impl Graph {
    pub fn new(credential: Credential) -> Self {
        let base = credential.endpoints().graph.clone();
        Self { credential, base }
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, AzureError> {
        let text = format!(
            "{}/v1.0{path}",
            api_core::endpoints::base_string(&self.base)
        );
        let mut url = Url::parse(&text).map_err(|error| AzureError::Other(error.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, AzureError> {
        let token = self.credential.graph_token().await?;
        Call {
            http: self.credential.http(),
            method,
            url,
            token: &token,
            body,
            headers: Vec::new(),
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
        let token = self.credential.graph_token().await?;
        Call {
            http: self.credential.http(),
            method,
            url,
            token: &token,
            body,
            headers: Vec::new(),
        }
        .json()
        .await
    }

    /// Every item of a paged collection, following `@odata.nextLink` to the last page.
    async fn list<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<Vec<T>, AzureError> {
        all_pages(url, |page| self.json::<Page<T>>(Method::GET, page, None)).await
    }

    /// Every application with this display name (display names are not unique).
    pub async fn applications_named(
        &self,
        display_name: &str,
    ) -> Result<Vec<Application>, AzureError> {
        let filter = format!("displayName eq {}", odata_quote(display_name));
        let url = self.url("/applications", &[("$filter", &filter)])?;
        self.list(url).await
    }

    /// The application with this application (client) id, if visible yet.
    pub async fn application_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<Application>, AzureError> {
        let url = self.url(&format!("/applications(appId='{app_id}')"), &[])?;
        not_found_is_none(self.json(Method::GET, url, None).await)
    }

    /// The application with this object id, if visible yet.
    pub async fn application(&self, object_id: &str) -> Result<Option<Application>, AzureError> {
        let url = self.url(&format!("/applications/{object_id}"), &[])?;
        not_found_is_none(self.json(Method::GET, url, None).await)
    }

    /// The application with this `uniqueName`, if visible yet.
    pub async fn application_by_unique_name(
        &self,
        unique_name: &str,
    ) -> Result<Option<Application>, AzureError> {
        let url = self.url(
            &format!("/applications(uniqueName={})", odata_quote(unique_name)),
            &[],
        )?;
        not_found_is_none(self.json(Method::GET, url, None).await)
    }

    /// The owners of an application.
    pub async fn owners(&self, object_id: &str) -> Result<Vec<DirectoryObject>, AzureError> {
        let url = self.url(&format!("/applications/{object_id}/owners"), &[])?;
        self.list(url).await
    }

    /// The object id of the identity this client signs in as: its service principal in this
    /// tenant, or the signed-in user (`/me`) for the Azure CLI.
    pub async fn caller_object_id(&self) -> Result<Option<String>, AzureError> {
        match self.credential.source().client_id() {
            Some(client_id) => Ok(self
                .service_principal_for(client_id)
                .await?
                .map(|principal| principal.id)),
            None => {
                #[derive(Deserialize)]
                struct Me {
                    id: String,
                }
                let url = self.url("/me", &[])?;
                not_found_is_none(self.json::<Me>(Method::GET, url, None).await)
                    .map(|me| me.map(|me| me.id))
            }
        }
    }

    /// Creates the multi-tenant application with this `uniqueName` unless it exists
    /// (`PATCH … Prefer: create-if-missing`): safe to repeat, never makes a twin. `tags` mark
    /// it as made by this tool.
    /// Returns the application when the service created it (201), `None` when it existed (204).
    pub async fn upsert_application(
        &self,
        unique_name: &str,
        display_name: &str,
        tags: &[&str],
    ) -> Result<Option<Application>, AzureError> {
        let url = self.url(
            &format!("/applications(uniqueName={})", odata_quote(unique_name)),
            &[],
        )?;
        let shown = crate::wire::display_url(&url);
        let token = self.credential.graph_token().await?;
        let response = Call {
            http: self.credential.http(),
            method: Method::PATCH,
            url,
            token: &token,
            body: Some(
                json!({"displayName": display_name, "signInAudience": "AzureADMultipleOrgs", "tags": tags}),
            ),
            headers: vec![("Prefer", "create-if-missing".to_string())],
        }
        .send()
        .await?;
        match response.status().as_u16() {
            201 => crate::wire::decode("PATCH", &shown, response)
                .await
                .map(Some),
            200 | 204 => Ok(None),
            _ => Err(crate::wire::api_error("PATCH", &shown, response).await),
        }
    }

    /// Creates a multi-tenant application registration.
    pub async fn create_application(&self, display_name: &str) -> Result<Application, AzureError> {
        let url = self.url("/applications", &[])?;
        let body = json!({"displayName": display_name, "signInAudience": "AzureADMultipleOrgs"});
        self.json(Method::POST, url, Some(body)).await
    }

    /// Adds a password; other passwords of the application are left alone.
    pub async fn add_password(
        &self,
        object_id: &str,
        display_name: &str,
        end_date_time: &str,
    ) -> Result<NewPassword, AzureError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Added {
            key_id: String,
            secret_text: String,
            end_date_time: Option<String>,
        }
        let url = self.url(&format!("/applications/{object_id}/addPassword"), &[])?;
        let body = json!({"passwordCredential": {"displayName": display_name, "endDateTime": end_date_time}});
        let added: Added = self.json(Method::POST, url, Some(body)).await?;
        Ok(NewPassword {
            key_id: added.key_id,
            secret_text: Secret::new(added.secret_text),
            end_date_time: added.end_date_time,
        })
    }

    /// Removes one password by key id.
    pub async fn remove_password(&self, object_id: &str, key_id: &str) -> Result<(), AzureError> {
        let url = self.url(&format!("/applications/{object_id}/removePassword"), &[])?;
        let token = self.credential.graph_token().await?;
        Call {
            http: self.credential.http(),
            method: Method::POST,
            url,
            token: &token,
            body: Some(json!({"keyId": key_id})),
            headers: Vec::new(),
        }
        .empty()
        .await
        .map(|_| ())
    }

    pub async fn federated_credentials(
        &self,
        object_id: &str,
    ) -> Result<Vec<FederatedIdentityCredential>, AzureError> {
        let url = self.url(
            &format!("/applications/{object_id}/federatedIdentityCredentials"),
            &[],
        )?;
        self.list(url).await
    }

    pub async fn create_federated_credential(
        &self,
        object_id: &str,
        name: &str,
        issuer: &str,
        subject: &str,
        audience: &str,
    ) -> Result<FederatedIdentityCredential, AzureError> {
        let url = self.url(
            &format!("/applications/{object_id}/federatedIdentityCredentials"),
            &[],
        )?;
        let body =
            json!({"name": name, "issuer": issuer, "subject": subject, "audiences": [audience]});
        self.json(Method::POST, url, Some(body)).await
    }

    /// A service principal by its object id; `None` if it does not exist.
    pub async fn service_principal(
        &self,
        object_id: &str,
    ) -> Result<Option<ServicePrincipal>, AzureError> {
        let url = self.url(&format!("/servicePrincipals/{object_id}"), &[])?;
        not_found_is_none(self.json(Method::GET, url, None).await)
    }

    /// The service principal of an application in this tenant, if any.
    pub async fn service_principal_for(
        &self,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, AzureError> {
        let filter = format!("appId eq {}", odata_quote(app_id));
        let url = self.url("/servicePrincipals", &[("$filter", &filter)])?;
        let found: Vec<ServicePrincipal> = self.list(url).await?;
        Ok(found.into_iter().next())
    }

    /// Creates the service principal of an application in this tenant.
    pub async fn create_service_principal(
        &self,
        app_id: &str,
    ) -> Result<ServicePrincipal, AzureError> {
        let url = self.url("/servicePrincipals", &[])?;
        self.json(
            Method::POST,
            url,
            Some(json!({"appId": app_id, "accountEnabled": true})),
        )
        .await
    }

    /// Deletes an application; one already gone is not an error.
    pub async fn delete_application(&self, object_id: &str) -> Result<(), AzureError> {
        self.delete(&format!("/applications/{object_id}")).await
    }

    /// Deletes a service principal; one already gone is not an error.
    pub async fn delete_service_principal(&self, object_id: &str) -> Result<(), AzureError> {
        self.delete(&format!("/servicePrincipals/{object_id}"))
            .await
    }

    /// Deletes a federated identity credential of an application by its name or id; one
    /// already gone is not an error.
    pub async fn delete_federated_credential(
        &self,
        object_id: &str,
        name: &str,
    ) -> Result<(), AzureError> {
        self.delete(&format!(
            "/applications/{object_id}/federatedIdentityCredentials/{name}"
        ))
        .await
    }

    async fn delete(&self, path: &str) -> Result<(), AzureError> {
        let url = self.url(path, &[])?;
        let response = self.call(Method::DELETE, url.clone(), None).await?;
        if response.status().is_success() || response.status().as_u16() == 404 {
            Ok(())
        } else {
            Err(crate::wire::api_error("DELETE", &crate::wire::display_url(&url), response).await)
        }
    }
}

fn not_found_is_none<T>(result: Result<T, AzureError>) -> Result<Option<T>, AzureError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Graph answers that mean "the object you just created has not replicated yet".
pub fn is_replication_lag(error: &AzureError) -> bool {
    let message = error.message().unwrap_or_default();
    match error.status() {
        Some(404) => true,
        Some(400) => {
            message.contains("NoBackingApplicationObject")
                || message.contains("does not reference a valid application object")
        }
        Some(403) => message.contains("must in the local tenant"),
        _ => false,
    }
}
