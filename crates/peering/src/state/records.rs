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

/// One object this tool created, or is creating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedResource {
    pub kind: ResourceKind,
    /// Its id; while `pending`, the key it is found by when its id is not known before it
    /// exists (see [`CreatedResource::pending`]).
    pub id: String,
    pub name: String,
    /// The object it belongs to (the app, for its credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Recorded before its create request was sent, and not yet confirmed: a run killed while
    /// the request was in flight leaves this, and the object may or may not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

impl CreatedResource {
    pub fn new(kind: ResourceKind, id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: name.into(),
            parent: None,
            pending: false,
        }
    }

    /// The record of a create about to be sent (write-ahead intent). `key` finds the object
    /// whatever became of the request: the id itself when it is chosen by the tool (custom
    /// roles and role assignments have derived guids; a GitHub secret has its name); else the
    /// app registration's `uniqueName`, a service principal's `appId`, a federated credential's
    /// name.
    pub fn pending(kind: ResourceKind, key: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            pending: true,
            ..Self::new(kind, key, name)
        }
    }

    /// Whether this confirmed record is the object a pending record was about to create: the
    /// same kind, parent and key or name.
    pub fn resolves(&self, pending: &CreatedResource) -> bool {
        !self.pending
            && pending.pending
            && self.kind == pending.kind
            && same_text(self.parent.as_deref(), pending.parent.as_deref())
            && (self.id.eq_ignore_ascii_case(&pending.id) || self.name == pending.name)
    }

    pub fn within(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// The same object (Azure ids compare without case).
    pub fn same_as(&self, other: &CreatedResource) -> bool {
        self.kind == other.kind
            && self.pending == other.pending
            && self.id.eq_ignore_ascii_case(&other.id)
            && same_text(self.parent.as_deref(), other.parent.as_deref())
    }
}

/// Takes in one record: a confirmed one replaces the pending records it resolves; a pending
/// one is dropped when a confirmed record resolves it already. Says whether `records` changed.
pub fn merge_record(records: &mut Vec<CreatedResource>, record: CreatedResource) -> bool {
    if record.pending
        && records
            .iter()
            .any(|known| known.same_as(&record) || known.resolves(&record))
    {
        return false;
    }
    let before = records.len();
    records.retain(|known| !record.resolves(known));
    let replaced = records.len() != before;
    if records.iter().any(|known| known.same_as(&record)) {
        return replaced;
    }
    records.push(record);
    true
}

fn same_text(left: Option<&str>, right: Option<&str>) -> bool {
    left.map(str::to_ascii_lowercase) == right.map(str::to_ascii_lowercase)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmed_record_replaces_the_pending_one_by_key_or_name() {
        let mut records = Vec::new();
        let app = CreatedResource::pending(ResourceKind::Application, "aiven-peering.app", "app");
        let role_id = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/g";
        let role = CreatedResource::pending(ResourceKind::CustomRole, role_id, "peer");
        merge_record(&mut records, app.clone());
        merge_record(&mut records, role.clone());
        merge_record(&mut records, app.clone());
        assert_eq!(records, [app.clone(), role.clone()]);

        // The app's object id is known only once it exists: its name says which it is.
        let made = CreatedResource::new(ResourceKind::Application, "object-id", "app");
        merge_record(&mut records, made.clone());
        assert_eq!(records, [role.clone(), made.clone()]);
        // A stale pending record (an older killed run's) does not come back beside it.
        merge_record(&mut records, app);
        assert_eq!(records, [role, made.clone()]);
        // The role's id was chosen ahead: the same id, any case.
        let confirmed = CreatedResource::new(
            ResourceKind::CustomRole,
            role_id.to_ascii_uppercase(),
            "renamed",
        );
        merge_record(&mut records, confirmed.clone());
        assert_eq!(records, [made, confirmed]);
    }

    #[test]
    fn a_pending_record_of_another_parent_or_kind_stays() {
        let mut records = Vec::new();
        let credential = CreatedResource::pending(ResourceKind::FederatedCredential, "n", "label")
            .within("app-1");
        merge_record(&mut records, credential.clone());
        merge_record(
            &mut records,
            CreatedResource::new(ResourceKind::FederatedCredential, "id", "label").within("app-2"),
        );
        merge_record(
            &mut records,
            CreatedResource::new(ResourceKind::Application, "n", "label"),
        );
        assert!(records.contains(&credential));
        assert_eq!(records.len(), 3);
    }

    #[test]
    fn pending_is_written_only_when_true() {
        let pending = CreatedResource::pending(ResourceKind::ServicePrincipal, "app-id", "app");
        let text = serde_json::to_string(&pending).unwrap();
        assert!(text.contains("\"pending\":true"), "{text}");
        let confirmed = CreatedResource::new(ResourceKind::ServicePrincipal, "sp", "app");
        let text = serde_json::to_string(&confirmed).unwrap();
        assert!(!text.contains("pending"), "{text}");
        let read: CreatedResource = serde_json::from_str(&text).unwrap();
        assert_eq!(read, confirmed);
    }
}
