//! `{scope}/providers/Microsoft.Authorization/permissions` (api-version 2022-04-01): the
//! caller's own effective permissions at a resource group or resource, one entry per
//! permission block of each role assigned to it at or above the scope. Like ARM, it needs no
//! role of its own (anyone may ask what they may do) and lists only assignments that have
//! propagated for the caller's token.

use serde_json::{Value, json};

use super::{ArmRequest, ArmResult, list_response, validate_scope};
use crate::authz::scope_contains;
use crate::world::World;

pub(super) fn list_permissions(request: &ArmRequest, world: &World, scope: &str) -> ArmResult {
    validate_scope(request, world, scope)?;
    let token = &request.token;
    let values: Vec<Value> = world
        .role_assignments
        .iter()
        .filter(|assignment| {
            assignment.tenant_id == token.tenant_id
                && assignment
                    .principal_id
                    .eq_ignore_ascii_case(&token.service_principal_id)
                && assignment.effective_at <= token.issued_at
                && scope_contains(&assignment.scope, scope)
        })
        .filter_map(|assignment| {
            world.role_definition(&token.tenant_id, assignment.role_definition_guid())
        })
        .flat_map(|definition| &definition.permissions)
        .map(|permission| {
            json!({
                "actions": permission.actions,
                "notActions": permission.not_actions,
                "dataActions": permission.data_actions,
                "notDataActions": permission.not_data_actions,
            })
        })
        .collect();
    list_response(request, values)
}
