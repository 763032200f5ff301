//! The values that cross process boundaries: the state file and the phase outputs.
//! This is the only type that is serialized for that purpose; every output name is a field.
//!
//! No field ever holds a secret.

use crate::error::PhaseError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything the phases learn, named after the seed's variables in snake_case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_subscription_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_resource_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_vnet_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_vnet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_vnet_location: Option<String>,
    /// The VNet's address prefixes, comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_vnet_cidrs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_app_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_app_object_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sp_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_role_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aiven_sp_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aiven_role_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aiven_project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aiven_project_vpc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aiven_cloud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aiven_tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aiven_vnet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peering_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_peering_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peering_state: Option<String>,
}

impl Outputs {
    /// Every name/value pair that is set, in declaration order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let value = serde_json::to_value(self).unwrap_or_default();
        let mut pairs = Vec::new();
        if let serde_json::Value::Object(map) = value {
            // serde_json's map keeps insertion order only with preserve_order; sort for stability.
            for (name, value) in map {
                if let serde_json::Value::String(text) = value {
                    pairs.push((name, text));
                }
            }
        }
        pairs.sort_by_key(|(name, _)| field_rank(name));
        pairs
    }

    /// Every output name, in declaration order.
    pub fn names() -> &'static [&'static str] {
        FIELD_ORDER
    }

    /// Takes every value `newer` has.
    pub fn merge(&mut self, newer: &Outputs) {
        let mut mine = serde_json::to_value(&*self).unwrap_or_default();
        if let (serde_json::Value::Object(mine_map), serde_json::Value::Object(newer_map)) =
            (&mut mine, serde_json::to_value(newer).unwrap_or_default())
        {
            for (name, value) in newer_map {
                mine_map.insert(name, value);
            }
        }
        if let Ok(merged) = serde_json::from_value(mine) {
            *self = merged;
        }
    }

    /// Reads the state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Outputs, PhaseError> {
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => Ok(Outputs::default()),
            Ok(text) => serde_json::from_str(&text).map_err(|error| {
                PhaseError::input(
                    "--state",
                    format!(
                        "{} is not a state file of this tool: {error}",
                        path.display()
                    ),
                )
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Outputs::default()),
            Err(error) => Err(PhaseError::input(
                "--state",
                format!("cannot read {}: {error}", path.display()),
            )),
        }
    }

    /// Merges into the state file atomically (write a sibling, then rename).
    pub fn save_merged(&self, path: &Path) -> Result<(), PhaseError> {
        let mut state = Outputs::load(path)?;
        state.merge(self);
        let text = serde_json::to_string_pretty(&state)
            .map_err(|error| PhaseError::failed(format!("cannot serialize the state: {error}")))?;
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temporary, text + "\n")
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|error| {
                PhaseError::failed(format!(
                    "cannot write the state file {}: {error}",
                    path.display()
                ))
            })
    }
}

/// The outputs each phase writes (it echoes nothing it did not produce or resolve).
pub fn outputs_of(phase: &str) -> &'static [&'static str] {
    match phase {
        "prepare-tenant" => &FIELD_ORDER[..14],
        "request-peering" => &FIELD_ORDER[14..19],
        "accept-peering" => &FIELD_ORDER[19..21],
        "await-active" => &FIELD_ORDER[21..],
        _ => &[],
    }
}

/// What each output means, for generated documentation.
pub fn describe_output(name: &str) -> &'static str {
    match name {
        "user_tenant_id" => "Your Azure AD tenant id",
        "user_subscription_id" => "Subscription of your VNet",
        "user_resource_group" => "Resource group of your VNet (canonical case)",
        "user_vnet_name" => "Name of your VNet (canonical case)",
        "user_vnet_id" => "Resource id of your VNet",
        "user_vnet_location" => "Azure region of your VNet",
        "user_vnet_cidrs" => "Address prefixes of your VNet, comma-separated",
        "user_app_name" => "Display name of the app registration",
        "user_app_id" => "Application (client) id of the app registration",
        "user_app_object_id" => "Object id of the app registration",
        "user_sp_id" => "Object id of the app's service principal in your tenant",
        "user_role_id" => "Role definition id granted to your app on the VNet",
        "aiven_sp_id" => "Object id of Aiven's service principal in your tenant",
        "aiven_role_id" => "Role definition id (peer/action only) granted to Aiven on the VNet",
        "aiven_project" => "Aiven project",
        "aiven_project_vpc_id" => "Aiven project VPC id",
        "aiven_cloud" => "Cloud of the Aiven project VPC",
        "aiven_tenant_id" => "Aiven's Azure AD tenant id (state_info to-tenant-id)",
        "aiven_vnet_id" => "Resource id of Aiven's VNet (state_info to-network-id)",
        "peering_name" => "Name of the peering on your VNet",
        "user_peering_state" => "State of the peering on your VNet (Initiated, Connected)",
        "peering_state" => "State of the Aiven peering connection",
        _ => "",
    }
}

const FIELD_ORDER: &[&str] = &[
    "user_tenant_id",
    "user_subscription_id",
    "user_resource_group",
    "user_vnet_name",
    "user_vnet_id",
    "user_vnet_location",
    "user_vnet_cidrs",
    "user_app_name",
    "user_app_id",
    "user_app_object_id",
    "user_sp_id",
    "user_role_id",
    "aiven_sp_id",
    "aiven_role_id",
    "aiven_project",
    "aiven_project_vpc_id",
    "aiven_cloud",
    "aiven_tenant_id",
    "aiven_vnet_id",
    "peering_name",
    "user_peering_state",
    "peering_state",
];

fn field_rank(name: &str) -> usize {
    FIELD_ORDER
        .iter()
        .position(|field| *field == name)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_lists_every_field() {
        let all = Outputs {
            user_tenant_id: Some("x".into()),
            user_subscription_id: Some("x".into()),
            user_resource_group: Some("x".into()),
            user_vnet_name: Some("x".into()),
            user_vnet_id: Some("x".into()),
            user_vnet_location: Some("x".into()),
            user_vnet_cidrs: Some("x".into()),
            user_app_name: Some("x".into()),
            user_app_id: Some("x".into()),
            user_app_object_id: Some("x".into()),
            user_sp_id: Some("x".into()),
            user_role_id: Some("x".into()),
            aiven_sp_id: Some("x".into()),
            aiven_role_id: Some("x".into()),
            aiven_project: Some("x".into()),
            aiven_project_vpc_id: Some("x".into()),
            aiven_cloud: Some("x".into()),
            aiven_tenant_id: Some("x".into()),
            aiven_vnet_id: Some("x".into()),
            peering_name: Some("x".into()),
            user_peering_state: Some("x".into()),
            peering_state: Some("x".into()),
        };
        let names: Vec<String> = all.pairs().into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, FIELD_ORDER);
    }

    #[test]
    fn merge_keeps_old_values_and_takes_new_ones() {
        let mut old = Outputs {
            user_app_id: Some("a".into()),
            peering_state: Some("APPROVED".into()),
            ..Default::default()
        };
        old.merge(&Outputs {
            peering_state: Some("ACTIVE".into()),
            ..Default::default()
        });
        assert_eq!(old.user_app_id.as_deref(), Some("a"));
        assert_eq!(old.peering_state.as_deref(), Some("ACTIVE"));
    }
}
