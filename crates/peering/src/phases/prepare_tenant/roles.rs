//! Roles and their assignments at the VNet's scope (seed steps 5–9): a least-privilege custom
//! role for the user's app (or the built-in Network Contributor), a `peer/action`-only custom
//! role for Aiven's, and one assignment each with deterministic guids.

use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use api_core::retry::{self, Step, Wait};
use azure_api::Arm;
use azure_api::arm::{Permission, RoleDefinition, RoleDefinitionProperties};

/// The only action the Aiven app gets (seed step 8).
pub const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

/// The actions the user's app needs on its own VNet to create, inspect and repair its peering.
pub const USER_PEERING_ACTIONS: &[&str] = &[
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete",
];

/// Finds or makes the custom role of this name (unique per tenant), assignable at the
/// subscription, with at least the given actions.
pub(super) async fn ensure_custom_role(
    arm: &Arm,
    tenant_id: &str,
    subscription_scope: &str,
    role_name: &str,
    description: &str,
    actions: &[&str],
    report: &mut Report,
) -> Result<RoleDefinition, PhaseError> {
    let mut found = arm
        .role_definitions_named(subscription_scope, role_name)
        .await?;
    if found.is_empty() {
        // The name may be taken by a role assignable only elsewhere in the tenant.
        found = arm
            .role_definitions_named("", role_name)
            .await
            .unwrap_or_default();
    }
    let wanted = Permission {
        actions: actions.iter().map(|action| action.to_string()).collect(),
        ..Default::default()
    };
    let guid = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!(
            "aiven-peering/role/{tenant_id}/{}",
            role_name.to_ascii_lowercase()
        )
        .as_bytes(),
    );
    if let Some(existing) = found
        .into_iter()
        .find(|role| role.properties.role_name.eq_ignore_ascii_case(role_name))
    {
        let reused = reuse_custom_role(
            arm,
            existing,
            subscription_scope,
            role_name,
            actions,
            report,
        )
        .await?;
        // Its guid is one only this tool derives: an earlier run made it.
        if guid_of(&reused.id) == guid.to_string() {
            report.created(ResourceKind::CustomRole, &reused.id, role_name, None);
        }
        return Ok(reused);
    }
    let properties = RoleDefinitionProperties {
        role_name: role_name.to_string(),
        description: Some(description.to_string()),
        role_type: Some("CustomRole".to_string()),
        permissions: vec![wanted],
        assignable_scopes: vec![subscription_scope.to_string()],
    };
    if report.planning() {
        report.would(
            "custom role",
            role_name,
            subscription_scope,
            Change::Created,
        );
        return Ok(super::plan::role(properties));
    }
    let created = arm
        .put_role_definition(subscription_scope, &guid.to_string(), &properties)
        .await?;
    report.resource("custom role", role_name, &created.id, Change::Created);
    report.created(ResourceKind::CustomRole, &created.id, role_name, None);
    Ok(created)
}

/// Reuses a custom role found by name: it must grant the actions; its assignable scopes are
/// extended to the subscription when they do not cover it.
async fn reuse_custom_role(
    arm: &Arm,
    existing: RoleDefinition,
    subscription_scope: &str,
    role_name: &str,
    actions: &[&str],
    report: &mut Report,
) -> Result<RoleDefinition, PhaseError> {
    let granted: Vec<&str> = existing
        .properties
        .permissions
        .iter()
        .flat_map(|permission| permission.actions.iter().map(String::as_str))
        .collect();
    let missing: Vec<&&str> = actions
        .iter()
        .filter(|action| {
            !granted
                .iter()
                .any(|granted| granted.eq_ignore_ascii_case(action))
        })
        .collect();
    if !missing.is_empty() {
        return Err(PhaseError::failed(format!(
            "the existing role {role_name:?} ({}) lacks {missing:?}; choose another role name or add the actions to it",
            existing.id
        ))
        .with_code(crate::catalog::Code::RoleLacksActions));
    }
    if granted.len() > actions.len() {
        tracing::warn!("the existing role {role_name:?} grants more than {actions:?}: {granted:?}");
    }
    let assignable = existing.properties.assignable_scopes.iter().any(|scope| {
        let scope = scope.trim_end_matches('/').to_ascii_lowercase();
        scope.is_empty() || subscription_scope.to_ascii_lowercase().starts_with(&scope)
    });
    if assignable {
        report.resource(
            "custom role",
            role_name,
            &existing.id,
            Change::AlreadyPresent,
        );
        return Ok(existing);
    }
    let mut properties = existing.properties.clone();
    properties
        .assignable_scopes
        .push(subscription_scope.to_string());
    let home_scope = existing
        .properties
        .assignable_scopes
        .first()
        .cloned()
        .unwrap_or_else(|| subscription_scope.to_string());
    if report.planning() {
        report.would("custom role", role_name, &existing.id, Change::Changed);
        return Ok(existing);
    }
    let updated = arm
        .put_role_definition(&home_scope, &existing.name, &properties)
        .await?;
    report.resource("custom role", role_name, &updated.id, Change::Changed);
    Ok(updated)
}

/// The guid at the end of a role definition id, in lower case.
fn guid_of(role_definition_id: &str) -> String {
    role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// A role assignment to make: who gets which role where.
#[derive(Debug, Clone)]
pub(super) struct Assignment {
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    /// Whose it is, for messages ("user app", "Aiven app").
    pub who: &'static str,
}

impl Assignment {
    /// UUID v5 of scope, role and principal: a re-run PUTs the same assignment.
    fn guid(&self) -> String {
        uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "aiven-peering/assignment/{}/{}/{}",
                self.scope.to_ascii_lowercase(),
                guid_of(&self.role_definition_id),
                self.principal_id.to_ascii_lowercase()
            )
            .as_bytes(),
        )
        .to_string()
    }
}

pub(super) async fn ensure_assignment(
    arm: &Arm,
    wanted: &Assignment,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let label = format!("{} on the VNet", wanted.who);
    // A plan's stand-in principal has no assignment yet.
    let existing = match super::plan::is_planned(&wanted.principal_id) {
        true => Vec::new(),
        false => {
            arm.role_assignments_for(&wanted.scope, &wanted.principal_id)
                .await?
        }
    };
    if let Some(found) = existing.iter().find(|assignment| {
        guid_of(&assignment.properties.role_definition_id) == guid_of(&wanted.role_definition_id)
            && assignment
                .properties
                .scope
                .as_deref()
                .is_some_and(|scope| scope.eq_ignore_ascii_case(&wanted.scope))
    }) {
        report.resource("role assignment", &label, &found.id, Change::AlreadyPresent);
        if found.name.eq_ignore_ascii_case(&wanted.guid()) {
            report.created(ResourceKind::RoleAssignment, &found.id, &label, None);
        }
        return Ok(());
    }
    if report.planning() {
        report.would("role assignment", &label, &wanted.scope, Change::Created);
        return Ok(());
    }
    let guid = wanted.guid();
    let wait = Wait::new(
        format!("role assignment for the {} to be accepted", wanted.who),
        pacing.replication_timeout,
        pacing.interval,
    );
    let (id, change) = retry::until(&wait, |_| async {
        match arm
            .put_role_assignment(
                &wanted.scope,
                &guid,
                &wanted.role_definition_id,
                &wanted.principal_id,
            )
            .await
        {
            Ok(assignment) => Step::Done((assignment.id, Change::Created)),
            Err(error) if error.is(409, "RoleAssignmentExists") => Step::Done((
                format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{guid}",
                    wanted.scope
                ),
                Change::AlreadyPresent,
            )),
            // A principal created moments ago can be unknown to Azure RBAC even with
            // principalType, and a custom role created moments ago is not assignable yet; the
            // ids come from the API itself, so both are replication lag.
            Err(error)
                if error.is(400, "PrincipalNotFound")
                    || error.is(400, "RoleDefinitionDoesNotExist") =>
            {
                Step::retry(PhaseError::from(error))
            }
            Err(error) => Step::Fail(PhaseError::from(error)),
        }
    })
    .await?;
    report.resource("role assignment", &label, &id, change);
    report.created(ResourceKind::RoleAssignment, &id, &label, None);
    Ok(())
}
