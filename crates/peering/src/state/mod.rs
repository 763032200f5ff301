//! The values that cross process boundaries: the phases' outputs and the state file that keeps
//! them. Every output is declared once, in [`OUTPUTS`]'s table below; the `Outputs` struct, the
//! order outputs are printed in, each phase's list, the generated actions' outputs and README's
//! list all come from it.
//!
//! No output ever holds a secret. `file` is the state file (versioned), `records` what the
//! tool created (for teardown) and the last failure.

mod file;
mod records;

pub use file::{STATE_VERSION, StateFile};
pub use records::{CreatedResource, Failure, ResourceKind, merge_record};

use crate::error::InputError;
use crate::registry::Phase;
use std::path::Path;

/// One output: its name (snake_case, after the seed's variables), who writes it, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSpec {
    pub name: &'static str,
    pub phase: Phase,
    /// Part of the VNet's identity: a state file belongs to the VNet these name.
    pub identifies_vnet: bool,
    pub description: &'static str,
}

macro_rules! output_table {
    ($( $name:ident => $phase:ident, vnet: $identifies_vnet:literal, $description:literal; )*) => {
        /// Everything the phases learn. Each field is one output of [`OUTPUTS`].
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Outputs {
            $( #[doc = $description] pub $name: Option<String>, )*
        }

        /// Every output, in the order they are printed and documented.
        pub const OUTPUTS: &[OutputSpec] = &[
            $( OutputSpec {
                name: stringify!($name),
                phase: Phase::$phase,
                identifies_vnet: $identifies_vnet,
                description: $description,
            }, )*
        ];

        impl Outputs {
            /// The value of an output by name (`None` when unset or not an output).
            pub fn get(&self, name: &str) -> Option<&str> {
                match name {
                    $( stringify!($name) => self.$name.as_deref(), )*
                    _ => None,
                }
            }

            fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $( stringify!($name) => Some(&mut self.$name), )*
                    _ => None,
                }
            }
        }
    };
}

output_table! {
    user_tenant_id => PrepareTenant, vnet: false, "Your Azure AD tenant id";
    user_subscription_id => PrepareTenant, vnet: true, "Subscription of your VNet";
    user_resource_group => PrepareTenant, vnet: true, "Resource group of your VNet (canonical case)";
    user_vnet_name => PrepareTenant, vnet: true, "Name of your VNet (canonical case)";
    user_vnet_id => PrepareTenant, vnet: true, "Resource id of your VNet";
    user_vnet_location => PrepareTenant, vnet: false, "Azure region of your VNet";
    user_vnet_cidrs => PrepareTenant, vnet: false, "Address prefixes of your VNet, comma-separated";
    user_app_name => PrepareTenant, vnet: false, "Display name of the app registration";
    user_app_id => PrepareTenant, vnet: false, "Application (client) id of the app registration";
    user_app_object_id => PrepareTenant, vnet: false, "Object id of the app registration";
    user_sp_id => PrepareTenant, vnet: false, "Object id of the app's service principal in your tenant";
    user_role_id => PrepareTenant, vnet: false, "Role definition id granted to your app on the VNet";
    aiven_sp_id => PrepareTenant, vnet: false, "Object id of Aiven's service principal in your tenant";
    aiven_role_id => PrepareTenant, vnet: false, "Role definition id (peer/action only) granted to Aiven on the VNet";
    aiven_role_assigned_at => PrepareTenant, vnet: false, "When Aiven's role assignment on the VNet was created (RFC 3339): request-peering re-creates a connection Aiven refused within --grant-grace of it";
    aiven_project => RequestPeering, vnet: false, "Aiven project";
    aiven_project_vpc_id => RequestPeering, vnet: false, "Aiven project VPC id";
    aiven_cloud => RequestPeering, vnet: false, "Cloud of the Aiven project VPC";
    aiven_tenant_id => RequestPeering, vnet: false, "Aiven's Azure AD tenant id (state_info to-tenant-id)";
    aiven_vnet_id => RequestPeering, vnet: false, "Resource id of Aiven's VNet (state_info to-network-id)";
    peering_name => AcceptPeering, vnet: false, "Name of the peering on your VNet";
    user_peering_state => AcceptPeering, vnet: false, "State of the peering on your VNet (Initiated, Connected)";
    peering_state => AwaitActive, vnet: false, "State of the Aiven peering connection";
}

impl Outputs {
    /// Every name/value pair that is set, in table order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        OUTPUTS
            .iter()
            .filter_map(|output| {
                self.get(output.name)
                    .map(|value| (output.name, value.to_string()))
            })
            .collect()
    }

    /// Every output name, in table order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        OUTPUTS.iter().map(|output| output.name)
    }

    /// Sets an output by name; `false` when there is no such output.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> bool {
        match self.slot(name) {
            Some(slot) => {
                *slot = Some(value.into());
                true
            }
            None => false,
        }
    }

    /// Takes every value `newer` has, keeping the others.
    pub fn merge(&mut self, newer: &Outputs) {
        for (name, value) in newer.pairs() {
            let known = self.set(name, value);
            debug_assert!(known, "{name} comes from the same table");
        }
    }

    /// Reads the state file; a missing or empty file is an empty state.
    pub fn load(path: &Path) -> Result<Outputs, InputError> {
        StateFile::load(path).map(|state| state.outputs)
    }

    /// Empties the named outputs (teardown, for what it removed).
    pub fn clear(&mut self, names: &[&str]) {
        for name in names {
            if let Some(slot) = self.slot(name) {
                *slot = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_every_field_once_in_order() {
        let mut all = Outputs::default();
        for name in Outputs::names() {
            assert!(all.set(name, name), "{name}");
        }
        let names: Vec<&str> = all.pairs().into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, Outputs::names().collect::<Vec<_>>());
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(!all.set("user_app_secret", "x"));
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
