//! ARM subscriptions and resource groups: what a caller may see of them.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{
    ArmRequest, ArmResult, arm_error, authorization_failed, check_subscription,
    find_resource_group, list_body, require,
};
use crate::authz::scope_contains;
use crate::http::json_response;
use crate::world::{Subscription, World};

pub(super) fn list_subscriptions(request: &ArmRequest, world: &World) -> ArmResult {
    let values: Vec<Value> = world
        .subscriptions
        .iter()
        .filter(|subscription| subscription.tenant_id == request.token.tenant_id)
        .filter(|subscription| {
            has_any_access(
                request,
                world,
                &format!("/subscriptions/{}", subscription.id),
            )
        })
        .map(subscription_json)
        .collect();
    let count = values.len();
    let mut body = list_body(request, values)?;
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "count".to_string(),
            json!({"type": "Total", "value": count}),
        );
    }
    Ok(json_response(StatusCode::OK, body))
}

/// `GET /tenants`: the tenants the caller belongs to. An app-only token belongs to the one tenant
/// that issued it (a user sees every tenant they are a member or guest of).
pub(super) fn list_tenants(request: &ArmRequest, world: &World) -> ArmResult {
    let values: Vec<Value> = world
        .tenant(&request.token.tenant_id)
        .map(|tenant| {
            json!({
                "id": format!("/tenants/{}", tenant.id),
                "tenantId": tenant.id,
                "countryCode": "US",
                "displayName": tenant.display_name,
                "domains": [tenant.default_domain],
                "tenantCategory": "Home",
                "defaultDomain": tenant.default_domain,
                "tenantType": "AAD",
            })
        })
        .into_iter()
        .collect();
    super::list_response(request, values)
}

/// Any effective role assignment at, above or below `scope`.
fn has_any_access(request: &ArmRequest, world: &World, scope: &str) -> bool {
    let token = &request.token;
    world.role_assignments.iter().any(|assignment| {
        assignment.tenant_id == token.tenant_id
            && assignment
                .principal_id
                .eq_ignore_ascii_case(&token.service_principal_id)
            && assignment.effective_at <= token.issued_at
            && (scope_contains(&assignment.scope, scope)
                || scope_contains(scope, &assignment.scope))
    })
}

fn subscription_json(subscription: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", subscription.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription.id,
        "tenantId": subscription.tenant_id,
        "displayName": subscription.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

pub(super) fn get_subscription(
    request: &ArmRequest,
    world: &World,
    subscription_id: &str,
) -> ArmResult {
    check_subscription(request, world, subscription_id)?;
    let scope = format!("/subscriptions/{subscription_id}");
    if !has_any_access(request, world, &scope) {
        return Err(authorization_failed(
            &request.token,
            "Microsoft.Resources/subscriptions/read",
            &scope,
        ));
    }
    let subscription = world.subscription(subscription_id).ok_or_else(|| {
        arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{subscription_id}' could not be found."),
        )
    })?;
    Ok(json_response(
        StatusCode::OK,
        subscription_json(subscription),
    ))
}

pub(super) fn get_resource_group(
    request: &ArmRequest,
    world: &World,
    subscription: &str,
    resource_group: &str,
) -> ArmResult {
    check_subscription(request, world, subscription)?;
    let scope = format!("/subscriptions/{subscription}/resourceGroups/{resource_group}");
    require(
        request,
        world,
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        &scope,
    )?;
    let (subscription_id, group) = find_resource_group(world, subscription, resource_group)?;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "id": format!("/subscriptions/{subscription_id}/resourceGroups/{}", group.name),
            "name": group.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": group.location,
            "properties": {"provisioningState": "Succeeded"},
        }),
    ))
}
