//! Azure RBAC as the simulator enforces it: bearer-token resolution, wildcard action matching,
//! scope containment and effective role assignments (propagation included).

use std::time::Instant;

use axum::http::HeaderMap;

use crate::http::authorization_token;
use crate::world::{Audience, IssuedToken, RoleDefinition, World};

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Unknown,
    Expired,
    WrongAudience,
}

/// Finds the issued token behind `Authorization: Bearer …` and checks audience and expiry.
pub(crate) fn resolve_bearer(
    world: &World,
    headers: &HeaderMap,
    audience: Audience,
) -> Result<IssuedToken, TokenProblem> {
    let token_text = authorization_token(headers, &["Bearer"]).ok_or(TokenProblem::Missing)?;
    resolve_token_text(world, token_text, audience)
}

pub(crate) fn resolve_token_text(
    world: &World,
    token_text: &str,
    audience: Audience,
) -> Result<IssuedToken, TokenProblem> {
    let token = world.tokens.get(token_text).ok_or(TokenProblem::Unknown)?;
    if token.audience != audience {
        return Err(TokenProblem::WrongAudience);
    }
    if token.expires_at <= Instant::now() {
        return Err(TokenProblem::Expired);
    }
    Ok(token.clone())
}

/// Case-insensitive match of an action against a pattern where `*` matches any sequence.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let action: Vec<char> = action.to_ascii_lowercase().chars().collect();
    // Classic two-pointer glob matching with backtracking to the last star.
    let (mut pattern_index, mut action_index) = (0usize, 0usize);
    let mut last_star: Option<(usize, usize)> = None;
    while action_index < action.len() {
        if pattern_index < pattern.len() && pattern[pattern_index] == '*' {
            last_star = Some((pattern_index, action_index));
            pattern_index += 1;
        } else if pattern_index < pattern.len() && pattern[pattern_index] == action[action_index] {
            pattern_index += 1;
            action_index += 1;
        } else if let Some((star_pattern, star_action)) = last_star {
            pattern_index = star_pattern + 1;
            action_index = star_action + 1;
            last_star = Some((star_pattern, star_action + 1));
        } else {
            return false;
        }
    }
    while pattern_index < pattern.len() && pattern[pattern_index] == '*' {
        pattern_index += 1;
    }
    pattern_index == pattern.len()
}

/// True when `child` is `parent` or lies below it (case-insensitive, on segment boundaries).
pub(crate) fn scope_contains(parent: &str, child: &str) -> bool {
    let parent = parent.trim_end_matches('/').to_ascii_lowercase();
    let child = child.trim_end_matches('/').to_ascii_lowercase();
    if parent.is_empty() {
        return true;
    }
    child == parent || child.starts_with(&format!("{parent}/"))
}

pub(crate) fn role_allows(definition: &RoleDefinition, action: &str) -> bool {
    definition.permissions.iter().any(|permission| {
        permission
            .actions
            .iter()
            .any(|pattern| action_matches(pattern, action))
            && !permission
                .not_actions
                .iter()
                .any(|pattern| action_matches(pattern, action))
    })
}

/// Whether `principal_id` in `tenant_id` may perform `action` at `scope`, for a token issued at
/// `token_issued_at`: a role assignment counts only once it has propagated, and only for tokens
/// issued after that.
pub(crate) fn is_permitted(
    world: &World,
    tenant_id: &str,
    principal_id: &str,
    token_issued_at: Instant,
    action: &str,
    scope: &str,
) -> bool {
    world.role_assignments.iter().any(|assignment| {
        assignment.tenant_id == tenant_id
            && assignment.principal_id.eq_ignore_ascii_case(principal_id)
            && assignment.effective_at <= token_issued_at
            && scope_contains(&assignment.scope, scope)
            && world
                .role_definition(tenant_id, assignment.role_definition_guid())
                .is_some_and(|definition| role_allows(definition, action))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_azure() {
        assert!(action_matches(
            "*",
            "Microsoft.Network/virtualNetworks/read"
        ));
        assert!(action_matches(
            "Microsoft.Network/*",
            "Microsoft.Network/virtualNetworks/peer/action"
        ));
        assert!(action_matches(
            "*/read",
            "microsoft.network/virtualnetworks/READ"
        ));
        assert!(action_matches(
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(!action_matches(
            "Microsoft.Network/*",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(!action_matches(
            "*/read",
            "Microsoft.Network/virtualNetworks/write"
        ));
    }

    #[test]
    fn scopes_contain_children_on_segment_boundaries() {
        assert!(scope_contains(
            "/subscriptions/A",
            "/subscriptions/a/resourceGroups/x"
        ));
        assert!(!scope_contains("/subscriptions/A", "/subscriptions/AB"));
        assert!(scope_contains("/", "/subscriptions/a"));
    }
}
