//! `prepare-tenant --plan`: stand-ins for the objects the real run would create, so that the
//! steps after one (its credentials, its service principal, its role assignment) can say what
//! they would do without a write and without looking up an object that does not exist yet.

use azure_api::arm::{RoleDefinition, RoleDefinitionProperties};
use azure_api::graph::{Application, ServicePrincipal};

/// The id a stand-in carries: never a real id, so a lookup by it is skipped.
pub(super) const PLANNED: &str = "(to be created)";

/// Whether an id is a stand-in's.
pub(super) fn is_planned(id: &str) -> bool {
    id == PLANNED
}

pub(super) fn application(app_name: &str) -> Application {
    Application {
        id: PLANNED.to_string(),
        app_id: PLANNED.to_string(),
        display_name: Some(app_name.to_string()),
        sign_in_audience: None,
        tags: Vec::new(),
        password_credentials: Vec::new(),
    }
}

pub(super) fn service_principal(app_id: &str) -> ServicePrincipal {
    ServicePrincipal {
        id: PLANNED.to_string(),
        app_id: app_id.to_string(),
        display_name: None,
        app_owner_organization_id: None,
    }
}

pub(super) fn role(properties: RoleDefinitionProperties) -> RoleDefinition {
    RoleDefinition {
        id: PLANNED.to_string(),
        name: PLANNED.to_string(),
        properties,
    }
}
