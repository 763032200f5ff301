//! What the state file records beside the outputs: every remote object this tool created (so
//! that teardown removes that and nothing else) and the last failure with its catalog code.
//! Ids and names only: no record ever holds a secret (a password is recorded by its key id).

use serde::{Deserialize, Serialize};

/// The kinds of objects the procedure creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// The app registration; `id` is its object id.
    Application,
    /// The app's service principal in the user tenant; `id` is its object id.
    ServicePrincipal,
    /// The Aiven app's service principal in the user tenant; `id` is its object id.
    AivenServicePrincipal,
    /// A custom role; `id` is the role definition's resource id.
    CustomRole,
    /// A role assignment; `id` is its resource id.
    RoleAssignment,
    /// A federated identity credential; `id` is its id, `parent` the app's object id.
    FederatedCredential,
    /// A long-lived app password; `id` is its key id, `parent` the app's object id.
    AppPassword,
    /// The Aiven peering connection; `id` is `project/project_vpc_id`, `name` the peer target
    /// (`subscription/resource group/vnet`, lower case).
    PeeringConnection,
    /// The user-side VNet peering; `id` is its resource id.
    VnetPeering,
    /// A GitHub Actions secret holding the app's password; `id` is its name, `parent` where it
    /// lives (`owner/repo` or `owner/repo:environment`). Recorded only when this tool created it.
    #[serde(rename = "github-secret")]
    GitHubSecret,
}

impl ResourceKind {
    /// How people call it, for logs and tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Application => "app registration",
            Self::ServicePrincipal => "service principal",
            Self::AivenServicePrincipal => "Aiven service principal",
            Self::CustomRole => "custom role",
            Self::RoleAssignment => "role assignment",
            Self::FederatedCredential => "federated credential",
            Self::AppPassword => "app password",
            Self::PeeringConnection => "peering connection",
            Self::VnetPeering => "VNet peering",
            Self::GitHubSecret => "GitHub secret",
        }
    }
}

/// One object this tool created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedResource {
    pub kind: ResourceKind,
    pub id: String,
    pub name: String,
    /// The object it belongs to (the app, for its credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl CreatedResource {
    pub fn new(kind: ResourceKind, id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: name.into(),
            parent: None,
        }
    }

    pub fn within(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// The same object (Azure ids compare without case).
    pub fn same_as(&self, other: &CreatedResource) -> bool {
        self.kind == other.kind
            && self.id.eq_ignore_ascii_case(&other.id)
            && self.parent.as_deref().map(str::to_ascii_lowercase)
                == other.parent.as_deref().map(str::to_ascii_lowercase)
    }
}

/// The last failed phase: its name, its catalog code and its message (no secret: messages name
/// requests and ids, never credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}
