//! `POST /directoryObjects/getByIds`: looks up directory objects by id in one request, as the
//! Azure CLI does to learn an assignee's type before `az role assignment create`. A read despite
//! the POST: it is not counted as a write (see `faults::is_write_request`).

use axum::body::Body;
use axum::http::Response;
use serde_json::{Value, json};

use super::applications::application_json;
use super::service_principals::service_principal_json;
use super::{GraphRequest, bad_request, collection_response};
use crate::world::World;

/// The directory object types the simulator holds, by their `types` name.
const SERVICE_PRINCIPAL: &str = "servicePrincipal";
const APPLICATION: &str = "application";

/// The objects of the caller's tenant whose ids are listed (ids not found are left out, as the
/// real service does), of the requested `types` (all when absent), each with its `@odata.type`.
pub(super) fn get_by_ids(request: &GraphRequest, world: &World) -> Response<Body> {
    let body = match request.json_object() {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(Value::Array(ids)) = body.get("ids") else {
        return bad_request("The 'ids' parameter is required: an array of object ids.");
    };
    let Some(ids) = ids
        .iter()
        .map(|id| id.as_str().map(str::to_ascii_lowercase))
        .collect::<Option<Vec<String>>>()
    else {
        return bad_request("Every entry of 'ids' must be a string.");
    };
    let types: Option<Vec<String>> = match body.get("types") {
        None | Some(Value::Null) => None,
        Some(Value::Array(types)) => Some(
            types
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect(),
        ),
        Some(_) => return bad_request("'types' must be an array of type names."),
    };
    let wanted = |type_name: &str| {
        types
            .as_ref()
            .is_none_or(|types| types.contains(&type_name.to_ascii_lowercase()))
    };
    let tenant = request.tenant_id();
    let mut values = Vec::new();
    for id in &ids {
        if wanted(SERVICE_PRINCIPAL)
            && let Some(principal) = world.service_principals.iter().find(|principal| {
                principal.tenant_id == tenant
                    && principal.visible_at <= request.now
                    && principal.object_id.eq_ignore_ascii_case(id)
            })
        {
            values.push(typed(
                service_principal_json(request.shared, world, principal, false),
                SERVICE_PRINCIPAL,
            ));
        }
        if wanted(APPLICATION)
            && let Some(application) = world.applications.iter().find(|application| {
                application.tenant_id == tenant
                    && application.visible_at <= request.now
                    && application.object_id.eq_ignore_ascii_case(id)
            })
        {
            values.push(typed(
                application_json(request.shared, world, application, false),
                APPLICATION,
            ));
        }
    }
    collection_response(request, "directoryObjects", values)
}

fn typed(mut value: Value, type_name: &str) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "@odata.type".to_string(),
            json!(format!("#microsoft.graph.{type_name}")),
        );
    }
    value
}
