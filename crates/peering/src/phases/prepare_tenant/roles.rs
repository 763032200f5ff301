//! The custom roles (seed steps 5 and 8): a least-privilege role for the user's app and a
//! `peer/action`-only role for Aiven's. Role names are unique in the tenant while a list at a
//! scope shows only the roles assignable there, so a role of this name is looked for in every
//! subscription the admin can see, reused only when it grants no more than asked (or
//! `--accept-wider-role`), and has its assignable scopes extended, never replaced.

use crate::catalog::Code;
use crate::error::PhaseError;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
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

/// A custom role to find or make.
#[derive(Debug, Clone)]
pub(super) struct WantedRole<'a> {
    pub tenant_id: &'a str,
    /// `/subscriptions/S` of the VNet: where the role must be assignable.
    pub subscription_scope: &'a str,
    pub role_name: &'a str,
    pub description: &'a str,
    pub actions: &'a [&'a str],
    /// The flag that names this role, for messages (`--aiven-role-name`).
    pub name_flag: &'a str,
    /// Reuse a same-named role that grants more than `actions`.
    pub accept_wider: bool,
}

impl WantedRole<'_> {
    /// UUID v5 of tenant and name: every run in the tenant PUTs the same role.
    fn guid(&self) -> String {
        uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "aiven-peering/role/{}/{}",
                self.tenant_id,
                self.role_name.to_ascii_lowercase()
            )
            .as_bytes(),
        )
        .to_string()
    }

    fn is_assignable_by(&self, role: &RoleDefinition) -> bool {
        let wanted = self.subscription_scope.to_ascii_lowercase();
        role.properties.assignable_scopes.iter().any(|scope| {
            let scope = scope.trim_end_matches('/').to_ascii_lowercase();
            scope.is_empty() || wanted == scope || wanted.starts_with(&format!("{scope}/"))
        })
    }
}

/// Finds or makes the role, assignable at the VNet's subscription.
pub(super) async fn ensure_custom_role(
    arm: &Arm,
    wanted: &WantedRole<'_>,
    report: &mut Report,
) -> Result<RoleDefinition, PhaseError> {
    let (role, change) = match find_role_named(arm, wanted).await? {
        Some(existing) if wanted.is_assignable_by(&existing) => {
            check_grants(&existing, wanted)?;
            (existing, Change::AlreadyPresent)
        }
        Some(existing) => {
            check_grants(&existing, wanted)?;
            if report.planning() {
                report.would(
                    "custom role",
                    wanted.role_name,
                    &existing.id,
                    Change::Changed,
                );
                return Ok(existing);
            }
            let extended = extend_assignable_scopes(arm, existing, wanted).await?;
            (extended, Change::Changed)
        }
        None if report.planning() => {
            report.would(
                "custom role",
                wanted.role_name,
                wanted.subscription_scope,
                Change::Created,
            );
            return Ok(super::plan::role(properties_of(wanted)));
        }
        None => {
            report.intend(
                ResourceKind::CustomRole,
                &format!(
                    "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                    wanted.subscription_scope,
                    wanted.guid()
                ),
                wanted.role_name,
                None,
            );
            (create(arm, wanted).await?, Change::Created)
        }
    };
    report.resource("custom role", wanted.role_name, &role.id, change);
    // Its guid is one only this tool derives: this run or an earlier one made it.
    if role.name.eq_ignore_ascii_case(&wanted.guid()) {
        report.created(ResourceKind::CustomRole, &role.id, wanted.role_name, None);
    }
    Ok(role)
}

/// Checks, after the assignments, that the role is still assignable at the VNet's subscription:
/// a run for another subscription may have written the role at the same moment.
pub(super) async fn recheck_assignable(
    arm: &Arm,
    role: &RoleDefinition,
    wanted: &WantedRole<'_>,
) -> Result<RoleDefinition, PhaseError> {
    let current = match arm
        .role_definition(wanted.subscription_scope, &role.name)
        .await?
    {
        Some(current) if wanted.is_assignable_by(&current) => return Ok(current),
        Some(current) => current,
        None => match find_role_named(arm, wanted).await? {
            Some(current) => current,
            None => return Ok(role.clone()),
        },
    };
    if wanted.is_assignable_by(&current) {
        return Ok(current);
    }
    extend_assignable_scopes(arm, current, wanted).await
}

/// The role of this name: at the VNet's subscription, else in any other subscription the admin
/// can see (a list shows only roles assignable at or above its scope).
async fn find_role_named(
    arm: &Arm,
    wanted: &WantedRole<'_>,
) -> Result<Option<RoleDefinition>, PhaseError> {
    let named = |roles: Vec<RoleDefinition>| {
        roles.into_iter().find(|role| {
            role.properties
                .role_name
                .eq_ignore_ascii_case(wanted.role_name)
        })
    };
    let here = arm
        .role_definitions_named(wanted.subscription_scope, wanted.role_name)
        .await?;
    if let Some(found) = named(here) {
        return Ok(Some(found));
    }
    for subscription in arm.subscriptions().await? {
        let scope = format!("/subscriptions/{}", subscription.subscription_id);
        if scope.eq_ignore_ascii_case(wanted.subscription_scope) {
            continue;
        }
        match arm.role_definitions_named(&scope, wanted.role_name).await {
            Ok(roles) => {
                if let Some(found) = named(roles) {
                    return Ok(Some(found));
                }
            }
            // Seeing a subscription does not mean reading its roles.
            Err(error) if error.status() == Some(403) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(None)
}

/// The role this tool makes: only the wanted actions, assignable at the VNet's subscription.
fn properties_of(wanted: &WantedRole<'_>) -> RoleDefinitionProperties {
    RoleDefinitionProperties {
        role_name: wanted.role_name.to_string(),
        description: Some(wanted.description.to_string()),
        role_type: Some("CustomRole".to_string()),
        permissions: vec![Permission {
            actions: wanted
                .actions
                .iter()
                .map(|action| action.to_string())
                .collect(),
            ..Default::default()
        }],
        assignable_scopes: vec![wanted.subscription_scope.to_string()],
    }
}

async fn create(arm: &Arm, wanted: &WantedRole<'_>) -> Result<RoleDefinition, PhaseError> {
    let properties = properties_of(wanted);
    let created = arm
        .put_role_definition(wanted.subscription_scope, &wanted.guid(), &properties)
        .await
        .map_err(|error| {
            if error.is(409, "RoleDefinitionWithSameNameExists") {
                PhaseError::because(
                    format!(
                        "a custom role named {:?} exists in this tenant, but the admin identity cannot see it: it is assignable only where the admin cannot read roles. Give the admin Reader there so that it can be reused, or choose another name with {}",
                        wanted.role_name, wanted.name_flag
                    ),
                    error,
                )
                .with_code(Code::RoleNotVisible)
            } else {
                error.into()
            }
        })?;
    // Another run for another subscription may have written the same role in between.
    recheck_assignable(arm, &created, wanted).await
}

/// Adds the VNet's subscription to the role's assignable scopes, keeping every other one.
async fn extend_assignable_scopes(
    arm: &Arm,
    existing: RoleDefinition,
    wanted: &WantedRole<'_>,
) -> Result<RoleDefinition, PhaseError> {
    if existing.name != wanted.guid() {
        tracing::warn!(
            "the role {:?} ({}) was not made by this tool: adding {} to its assignable scopes {:?}",
            wanted.role_name,
            existing.id,
            wanted.subscription_scope,
            existing.properties.assignable_scopes
        );
    }
    let mut properties = existing.properties.clone();
    properties
        .assignable_scopes
        .push(wanted.subscription_scope.to_string());
    let home_scope = existing
        .properties
        .assignable_scopes
        .first()
        .cloned()
        .unwrap_or_else(|| wanted.subscription_scope.to_string());
    Ok(arm
        .put_role_definition(&home_scope, &existing.name, &properties)
        .await?)
}

/// Refuses a role that lacks an action, or grants more than asked without `--accept-wider-role`.
fn check_grants(existing: &RoleDefinition, wanted: &WantedRole<'_>) -> Result<(), PhaseError> {
    let permissions = &existing.properties.permissions;
    let granted = |action: &str| {
        permissions.iter().any(|permission| {
            permission
                .actions
                .iter()
                .any(|pattern| action_matches(pattern, action))
                && !permission
                    .not_actions
                    .iter()
                    .any(|pattern| action_matches(pattern, action))
        })
    };
    let missing: Vec<&str> = wanted
        .actions
        .iter()
        .copied()
        .filter(|action| !granted(action))
        .collect();
    if !missing.is_empty() {
        return Err(PhaseError::failed(format!(
            "the existing role {:?} ({}) lacks {missing:?}; add them to it, or choose another name with {}",
            wanted.role_name, existing.id, wanted.name_flag
        ))
        .with_code(Code::RoleLacksActions));
    }
    let wider: Vec<&str> = permissions
        .iter()
        .flat_map(|permission| {
            let extra_actions = permission.actions.iter().filter(|action| {
                !wanted
                    .actions
                    .iter()
                    .any(|wanted| wanted.eq_ignore_ascii_case(action))
            });
            extra_actions.chain(&permission.data_actions)
        })
        .map(String::as_str)
        .collect();
    if wider.is_empty() {
        return Ok(());
    }
    if wanted.accept_wider {
        tracing::warn!(
            "reusing the role {:?} ({}), which also grants {wider:?}, as --accept-wider-role allows",
            wanted.role_name,
            existing.id
        );
        return Ok(());
    }
    Err(PhaseError::failed(format!(
        "the existing role {:?} ({}) grants more than {:?}: also {wider:?}. Choose another name with {}, or re-run with --accept-wider-role to use it anyway",
        wanted.role_name, existing.id, wanted.actions, wanted.name_flag
    ))
    .with_code(Code::RoleWider))
}

/// Whether an action pattern (`*` matches any run of characters) covers an action; Azure
/// compares actions case-insensitively.
fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let action = action.to_ascii_lowercase();
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = action.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_patterns_match_like_azure() {
        assert!(action_matches("Microsoft.Network/*", PEER_ACTION));
        assert!(action_matches("*", PEER_ACTION));
        assert!(action_matches(
            PEER_ACTION,
            &PEER_ACTION.to_ascii_uppercase()
        ));
        assert!(action_matches(
            "microsoft.network/*/peer/action",
            PEER_ACTION
        ));
        assert!(!action_matches("Microsoft.Network/*/read", PEER_ACTION));
        assert!(!action_matches("Microsoft.Compute/*", PEER_ACTION));
    }

    fn role(actions: &[&str], not_actions: &[&str], data_actions: &[&str]) -> RoleDefinition {
        let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
        RoleDefinition {
            id: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r".into(),
            name: "r".into(),
            properties: RoleDefinitionProperties {
                role_name: "Target".into(),
                description: None,
                role_type: Some("CustomRole".into()),
                permissions: vec![Permission {
                    actions: strings(actions),
                    not_actions: strings(not_actions),
                    data_actions: strings(data_actions),
                    not_data_actions: Vec::new(),
                }],
                assignable_scopes: vec!["/subscriptions/s".into()],
            },
        }
    }

    // Regression: a same-named role that granted more than peer/action was reused silently.
    #[test]
    fn a_role_is_reused_only_when_it_grants_exactly_what_is_asked() {
        let wanted = |accept_wider| WantedRole {
            tenant_id: "t",
            subscription_scope: "/subscriptions/s",
            role_name: "Target",
            description: "",
            actions: &[PEER_ACTION],
            name_flag: "--aiven-role-name",
            accept_wider,
        };
        assert!(check_grants(&role(&[PEER_ACTION], &[], &[]), &wanted(false)).is_ok());
        for wider in [
            role(
                &[PEER_ACTION, "Microsoft.Network/virtualNetworks/write"],
                &[],
                &[],
            ),
            role(&["Microsoft.Network/*"], &[], &[]),
            role(&[PEER_ACTION], &[], &["Microsoft.Storage/*"]),
        ] {
            let error = check_grants(&wider, &wanted(false))
                .unwrap_err()
                .to_string();
            assert!(error.contains("--accept-wider-role"), "{error}");
            assert!(check_grants(&wider, &wanted(true)).is_ok());
        }
        let lacking = role(&["Microsoft.Network/*"], &[PEER_ACTION], &[]);
        let error = check_grants(&lacking, &wanted(true))
            .unwrap_err()
            .to_string();
        assert!(error.contains("lacks"), "{error}");
    }
}
