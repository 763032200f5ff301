//! `WorldSummary`: what a run left in the simulated world, in the seed's words (apps, service
//! principals, roles, assignments, peerings, connections, GitHub secrets), with every object the
//! simulator was seeded with left out and ids replaced by names, so one snapshot states the
//! expected end state of a procedure.

use cloud_sim::{Ready, World};
use serde::Serialize;
use std::collections::BTreeSet;

/// The ids of everything the simulator held before the test ran (with the busy tenant, other
/// people's objects): applications and service principals by object id, roles and assignments
/// by guid, peerings by [`Baseline::peering_key`], connections by id.
#[derive(Debug, Default, Clone)]
pub struct Baseline {
    pub applications: BTreeSet<String>,
    pub service_principals: BTreeSet<String>,
    pub role_definitions: BTreeSet<String>,
    pub role_assignments: BTreeSet<String>,
    pub peerings: BTreeSet<String>,
    pub connections: BTreeSet<String>,
    pub github_secrets: BTreeSet<String>,
}

impl Baseline {
    /// The key of a peering in [`Baseline::peerings`].
    pub fn peering_key(vnet_id: &str, name: &str) -> String {
        format!("{}/{name}", vnet_id.to_lowercase())
    }

    pub fn of(world: &World) -> Baseline {
        Baseline {
            applications: world
                .applications
                .iter()
                .map(|app| app.object_id.clone())
                .collect(),
            service_principals: world
                .service_principals
                .iter()
                .map(|sp| sp.object_id.clone())
                .collect(),
            role_definitions: world
                .role_definitions
                .iter()
                .map(|role| role.name.clone())
                .collect(),
            role_assignments: world
                .role_assignments
                .iter()
                .map(|assignment| assignment.name.clone())
                .collect(),
            peerings: peering_keys(world).collect(),
            connections: world
                .aiven_projects
                .iter()
                .flat_map(|project| &project.vpcs)
                .flat_map(|vpc| &vpc.peering_connections)
                .map(|connection| connection.id.clone())
                .collect(),
            github_secrets: github_secret_names(world).collect(),
        }
    }
}

fn peering_keys(world: &World) -> impl Iterator<Item = String> + '_ {
    world.virtual_networks.iter().flat_map(|network| {
        network
            .peerings
            .iter()
            .map(move |peering| Baseline::peering_key(&network.id(), &peering.name))
    })
}

fn github_secret_names(world: &World) -> impl Iterator<Item = String> + '_ {
    world.github.repositories.iter().flat_map(|repository| {
        let in_repository = repository
            .secret_box
            .secrets
            .iter()
            .map(move |secret| format!("{} {}", repository.full_name, secret.name));
        let in_environments = repository.environments.iter().flat_map(move |environment| {
            environment.secret_box.secrets.iter().map(move |secret| {
                format!(
                    "{} environment {} {}",
                    repository.full_name, environment.name, secret.name
                )
            })
        });
        in_repository.chain(in_environments)
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationSummary {
    pub display_name: String,
    pub unique_name: Option<String>,
    pub sign_in_audience: String,
    /// Display names of its passwords.
    pub passwords: Vec<String>,
    /// `issuer subject` of its federated identity credentials.
    pub federated_credentials: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleSummary {
    pub role_name: String,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub assignable_scopes: Vec<String>,
}

/// What a run added to the world, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorldSummary {
    pub applications: Vec<ApplicationSummary>,
    /// `<app> in <tenant>`.
    pub service_principals: Vec<String>,
    pub custom_roles: Vec<RoleSummary>,
    /// `<role> for <principal> at <scope> (<principal type>)`.
    pub role_assignments: Vec<String>,
    /// `<network> -> <remote network> as <name>: <state>, <provisioning>, access <bool>`.
    pub peerings: Vec<String>,
    /// `<project>/<vpc cloud> to <subscription>/<group>/<vnet> for <app> in <tenant>: <state>`.
    pub connections: Vec<String>,
    pub github_secrets: Vec<String>,
}

/// Turns ids into the names a reader knows.
struct Names {
    replacements: Vec<(String, String)>,
}

impl Names {
    fn new(world: &World, ready: &Ready) -> Names {
        let mut replacements = Vec::new();
        let mut later = Vec::new();
        let aiven_vnet = world
            .aiven_projects
            .iter()
            .flat_map(|project| &project.vpcs)
            .find(|vpc| vpc.id == ready.project_vpc_id)
            .map(|vpc| vpc.azure_virtual_network_id.clone());
        if let Some(aiven_vnet) = aiven_vnet {
            let name = aiven_vnet
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            replacements.push((aiven_vnet, "Aiven VNet".to_string()));
            // Its name is random per simulator start; peering names derive from it.
            later.push((name, "[Aiven VNet name]".to_string()));
        }
        replacements.push((ready.vnet_id.clone(), "user VNet".to_string()));
        for subscription in &world.subscriptions {
            let label = if subscription.tenant_id == ready.user_tenant_id {
                "user subscription"
            } else {
                "Aiven subscription"
            };
            replacements.push((
                format!("/subscriptions/{}", subscription.id),
                format!("/subscriptions/[{label}]"),
            ));
        }
        replacements.push((ready.user_tenant_id.clone(), "user tenant".to_string()));
        replacements.push((ready.aiven_tenant_id.clone(), "Aiven tenant".to_string()));
        replacements.push((ready.project_vpc_id.clone(), "project VPC".to_string()));
        // Base URLs carry ports that change every start.
        replacements.push((ready.control.clone(), "[control URL]".to_string()));
        replacements.push((ready.github.clone(), "[GitHub URL]".to_string()));
        replacements.extend(later);
        Names { replacements }
    }

    /// Known ids by name; other GUIDs as `[guid]`; timestamps as `[time]`.
    fn text(&self, text: &str) -> String {
        let mut result = text.to_string();
        for (id, name) in &self.replacements {
            result = replace_ignoring_case(&result, id, name);
        }
        redact_timestamps(&redact_guids(&result))
    }
}

fn replace_ignoring_case(text: &str, pattern: &str, replacement: &str) -> String {
    if pattern.is_empty() {
        return text.to_string();
    }
    let lower_text = text.to_lowercase();
    let lower_pattern = pattern.to_lowercase();
    if lower_text.len() != text.len() {
        return text.replace(pattern, replacement);
    }
    let mut result = String::new();
    let mut position = 0;
    while let Some(found) = lower_text[position..].find(&lower_pattern) {
        result.push_str(&text[position..position + found]);
        result.push_str(replacement);
        position += found + pattern.len();
    }
    result.push_str(&text[position..]);
    result
}

/// Replaces every 8-4-4-4-12 hex GUID with `[guid]`.
pub fn redact_guids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut result = String::new();
    let mut index = 0;
    while index < bytes.len() {
        if is_guid_at(bytes, index) {
            result.push_str("[guid]");
            index += 36;
        } else {
            let character = text[index..].chars().next().unwrap_or_default();
            result.push(character);
            index += character.len_utf8();
        }
    }
    result
}

fn is_guid_at(bytes: &[u8], start: usize) -> bool {
    if bytes.len() < start + 36 {
        return false;
    }
    (0..36).all(|offset| {
        let byte = bytes[start + offset];
        if [8, 13, 18, 23].contains(&offset) {
            byte == b'-'
        } else {
            byte.is_ascii_hexdigit()
        }
    })
}

/// Replaces RFC 3339 timestamps (`2025-01-02T03:04:05Z`) with `[time]`.
fn redact_timestamps(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut result = String::new();
    let mut index = 0;
    while index < bytes.len() {
        let shape = b"dddd-dd-ddTdd:dd:dd";
        let matches = bytes.len() >= index + shape.len()
            && shape.iter().enumerate().all(|(offset, expected)| {
                let byte = bytes[index + offset];
                match expected {
                    b'd' => byte.is_ascii_digit(),
                    other => byte == *other,
                }
            });
        if matches {
            let mut end = index + shape.len();
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                end += 1;
            }
            if end < bytes.len() && bytes[end] == b'Z' {
                end += 1;
            }
            result.push_str("[time]");
            index = end;
        } else {
            let character = text[index..].chars().next().unwrap_or_default();
            result.push(character);
            index += character.len_utf8();
        }
    }
    result
}

impl WorldSummary {
    /// Everything in `world` that is not in `baseline`, by name.
    pub fn of(world: &World, ready: &Ready, baseline: &Baseline) -> WorldSummary {
        let names = Names::new(world, ready);
        let tenant_label = |tenant: &str| {
            if tenant == ready.user_tenant_id {
                "user tenant".to_string()
            } else if tenant == ready.aiven_tenant_id {
                "Aiven tenant".to_string()
            } else {
                names.text(tenant)
            }
        };
        let app_name = |app_id: &str| {
            if app_id.eq_ignore_ascii_case(&ready.aiven_app_id) {
                return "Aiven app".to_string();
            }
            world
                .application_by_app_id(app_id)
                .map(|app| app.display_name.clone())
                .unwrap_or_else(|| names.text(app_id))
        };
        let principal_name = |object_id: &str| {
            world
                .service_principals
                .iter()
                .find(|sp| sp.object_id.eq_ignore_ascii_case(object_id))
                .map(|sp| {
                    format!(
                        "{} in {}",
                        app_name(&sp.app_id),
                        tenant_label(&sp.tenant_id)
                    )
                })
                .unwrap_or_else(|| names.text(object_id))
        };
        let role_name = |role_definition_id: &str| {
            let guid = role_definition_id.rsplit('/').next().unwrap_or_default();
            world
                .role_definitions
                .iter()
                .find(|role| role.name.eq_ignore_ascii_case(guid))
                .map(|role| role.role_name.clone())
                .unwrap_or_else(|| names.text(role_definition_id))
        };

        let mut applications: Vec<ApplicationSummary> = world
            .applications
            .iter()
            .filter(|app| !baseline.applications.contains(&app.object_id))
            .map(|app| {
                let mut passwords: Vec<String> = app
                    .password_credentials
                    .iter()
                    .map(|password| names.text(password.display_name.as_deref().unwrap_or("")))
                    .collect();
                passwords.sort();
                let mut federated_credentials: Vec<String> = app
                    .federated_identity_credentials
                    .iter()
                    .map(|credential| {
                        names.text(&format!("{} {}", credential.issuer, credential.subject))
                    })
                    .collect();
                federated_credentials.sort();
                ApplicationSummary {
                    display_name: names.text(&app.display_name),
                    unique_name: app.unique_name.as_deref().map(|name| names.text(name)),
                    sign_in_audience: app.sign_in_audience.clone(),
                    passwords,
                    federated_credentials,
                }
            })
            .collect();
        applications.sort_by(|a, b| a.display_name.cmp(&b.display_name));

        let mut service_principals: Vec<String> = world
            .service_principals
            .iter()
            .filter(|sp| !baseline.service_principals.contains(&sp.object_id))
            .map(|sp| principal_name(&sp.object_id))
            .collect();
        service_principals.sort();

        let mut custom_roles: Vec<RoleSummary> = world
            .role_definitions
            .iter()
            .filter(|role| !baseline.role_definitions.contains(&role.name))
            .map(|role| {
                let all = |pick: fn(&cloud_sim::Permission) -> &Vec<String>| {
                    let mut values: Vec<String> = role
                        .permissions
                        .iter()
                        .flat_map(|permission| pick(permission).iter().cloned())
                        .collect();
                    values.sort();
                    values
                };
                RoleSummary {
                    role_name: role.role_name.clone(),
                    actions: all(|permission| &permission.actions),
                    not_actions: all(|permission| &permission.not_actions),
                    data_actions: all(|permission| &permission.data_actions),
                    assignable_scopes: role
                        .assignable_scopes
                        .iter()
                        .map(|scope| names.text(scope))
                        .collect(),
                }
            })
            .collect();
        custom_roles.sort_by(|a, b| a.role_name.cmp(&b.role_name));

        let mut role_assignments: Vec<String> = world
            .role_assignments
            .iter()
            .filter(|assignment| !baseline.role_assignments.contains(&assignment.name))
            .map(|assignment| {
                format!(
                    "{} for {} at {} ({})",
                    role_name(&assignment.role_definition_id),
                    principal_name(&assignment.principal_id),
                    names.text(&assignment.scope),
                    assignment
                        .principal_type
                        .as_deref()
                        .unwrap_or("no principal type")
                )
            })
            .collect();
        role_assignments.sort();

        let mut peerings: Vec<String> = world
            .virtual_networks
            .iter()
            .flat_map(|network| {
                network.peerings.iter().filter_map(move |peering| {
                    let key = format!("{}/{}", network.id().to_lowercase(), peering.name);
                    (!baseline.peerings.contains(&key)).then_some((network, peering))
                })
            })
            .map(|(network, peering)| {
                names.text(&format!(
                    "{} -> {} as {}: {}, {}, access {}",
                    network.id(),
                    peering.remote_virtual_network_id,
                    peering.name,
                    peering.peering_state,
                    peering.provisioning_state,
                    peering.allow_virtual_network_access
                ))
            })
            .collect();
        peerings.sort();

        let mut connections: Vec<String> = world
            .aiven_projects
            .iter()
            .flat_map(|project| {
                project.vpcs.iter().flat_map(move |vpc| {
                    vpc.peering_connections
                        .iter()
                        .map(move |connection| (project, vpc, connection))
                })
            })
            .filter(|(_, _, connection)| !baseline.connections.contains(&connection.id))
            .map(|(project, vpc, connection)| {
                format!(
                    "{}/{} to {}/{}/{} for {} in {}: {}",
                    project.name,
                    vpc.cloud_name,
                    names.text(&format!("/subscriptions/{}", connection.peer_cloud_account)),
                    connection.peer_resource_group,
                    connection.peer_vpc,
                    app_name(&connection.peer_azure_app_id),
                    tenant_label(&connection.peer_azure_tenant_id),
                    connection.state
                )
            })
            .collect();
        connections.sort();

        let mut github_secrets: Vec<String> = github_secret_names(world)
            .filter(|name| !baseline.github_secrets.contains(name))
            .collect();
        github_secrets.sort();

        WorldSummary {
            applications,
            service_principals,
            custom_roles,
            role_assignments,
            peerings,
            connections,
            github_secrets,
        }
    }
}
