//! The simulator's world after a replay, checked as the end-to-end tests check it after the
//! procedure, adapted to what the seed document creates.

use super::{AIVEN_APP_ID, SeedValues};
use cloud_sim::Sim;

/// Checks the simulator's world after a replay the way the end-to-end tests check it after the
/// procedure, adapted to what the document creates: one app registration with the password of
/// step 4, one service principal each for it and for Aiven's app, Network Contributor for the
/// app and a `peer/action`-only custom role for Aiven, both at VNet scope, a connected peering
/// with VNet access both ways, and the Aiven connection ACTIVE. Returns every problem found.
pub fn check_world(sim: &Sim, values: &SeedValues) -> Vec<String> {
    let ready = sim.ready().clone();
    let mut problems = Vec::new();
    let mut expect = |ok: bool, problem: String| {
        if !ok {
            problems.push(problem);
        }
    };
    sim.with_world(|world| {
        let tenant = &ready.user_tenant_id;
        let apps: Vec<_> = world
            .applications
            .iter()
            .filter(|app| &app.tenant_id == tenant && app.app_id != ready.admin_client_id)
            .collect();
        expect(
            apps.len() == 1,
            format!("{} app registrations, expected 1", apps.len()),
        );
        if let Some(app) = apps.first() {
            expect(
                app.app_id == values.user_app_id,
                format!("the app is {}, not $user_app_id", app.app_id),
            );
            expect(
                app.sign_in_audience == "AzureADMultipleOrgs",
                format!("the app's audience is {}", app.sign_in_audience),
            );
            expect(
                app.password_credentials.len() == 1,
                format!(
                    "{} passwords on the app, expected the one of step 4",
                    app.password_credentials.len()
                ),
            );
        }
        for (app_id, saved) in [
            (values.user_app_id.as_str(), values.user_sp_id.as_str()),
            (AIVEN_APP_ID, values.aiven_sp_id.as_str()),
        ] {
            let principals: Vec<_> = world
                .service_principals
                .iter()
                .filter(|principal| &principal.tenant_id == tenant && principal.app_id == app_id)
                .collect();
            expect(
                principals.len() == 1 && principals[0].object_id == saved,
                format!("service principals of {app_id}: {principals:?}, expected one ({saved})"),
            );
        }

        let custom: Vec<_> = world
            .role_definitions
            .iter()
            .filter(|role| role.tenant_id.as_deref() == Some(tenant.as_str()))
            .collect();
        expect(
            custom.len() == 1,
            format!("{} custom roles, expected the one of step 8", custom.len()),
        );
        if let Some(role) = custom.first() {
            let actions: Vec<&String> = role
                .permissions
                .iter()
                .flat_map(|permission| permission.actions.iter())
                .collect();
            expect(
                actions == ["Microsoft.Network/virtualNetworks/peer/action"],
                format!("the custom role allows {actions:?}, expected only peer/action"),
            );
            expect(
                values.aiven_role_id.ends_with(&role.name),
                format!("$aiven_role_id {} is not the custom role {}", values.aiven_role_id, role.name),
            );
        }
        for (principal, role_suffix) in [
            (&values.user_sp_id, "4d97b98b-1d4f-4787-a291-c67834d212e7"),
            (
                &values.aiven_sp_id,
                custom.first().map(|role| role.name.as_str()).unwrap_or("-"),
            ),
        ] {
            let assignments: Vec<_> = world
                .role_assignments
                .iter()
                .filter(|assignment| &assignment.principal_id == principal)
                .collect();
            expect(
                assignments.len() == 1,
                format!("{} role assignments for {principal}, expected 1", assignments.len()),
            );
            if let Some(assignment) = assignments.first() {
                expect(
                    assignment.scope.eq_ignore_ascii_case(&ready.vnet_id),
                    format!("assignment of {principal} at {}, not the VNet", assignment.scope),
                );
                expect(
                    assignment.role_definition_id.ends_with(role_suffix),
                    format!(
                        "assignment of {principal} grants {}, expected {role_suffix}",
                        assignment.role_definition_id
                    ),
                );
                expect(
                    assignment.principal_type.as_deref() == Some("ServicePrincipal"),
                    format!(
                        "assignment of {principal} has principalType {:?} (az resolves it through directoryObjects/getByIds)",
                        assignment.principal_type
                    ),
                );
            }
        }

        let user_network = world
            .virtual_networks
            .iter()
            .find(|network| network.id().eq_ignore_ascii_case(&ready.vnet_id));
        match user_network {
            Some(network) => {
                expect(
                    network.peerings.len() == 1,
                    format!("{} peerings on the user VNet, expected 1", network.peerings.len()),
                );
                if let Some(peering) = network.peerings.first() {
                    expect(
                        peering.allow_virtual_network_access,
                        "the peering does not allow VNet access".to_string(),
                    );
                    expect(
                        peering.peering_state == "Connected",
                        format!("the user-side peering is {}", peering.peering_state),
                    );
                    expect(
                        peering
                            .remote_virtual_network_id
                            .eq_ignore_ascii_case(&values.aiven_vnet_id),
                        format!(
                            "the peering points at {}, not $aiven_vnet_id",
                            peering.remote_virtual_network_id
                        ),
                    );
                }
            }
            None => expect(false, "the user VNet is gone".to_string()),
        }
        let aiven_network = world
            .virtual_networks
            .iter()
            .find(|network| network.id().eq_ignore_ascii_case(&values.aiven_vnet_id));
        expect(
            aiven_network.is_some_and(|network| {
                network.peerings.len() == 1
                    && network.peerings[0].peering_state == "Connected"
                    && network.peerings[0]
                        .remote_virtual_network_id
                        .eq_ignore_ascii_case(&ready.vnet_id)
            }),
            "Aiven's VNet has no connected peering back to the user VNet".to_string(),
        );
        expect(
            values.aiven_tenant_id == ready.aiven_tenant_id,
            format!(
                "to-tenant-id {} is not Aiven's tenant {}",
                values.aiven_tenant_id, ready.aiven_tenant_id
            ),
        );

        let connections: Vec<_> = world
            .aiven_projects
            .iter()
            .flat_map(|project| project.vpcs.iter())
            .flat_map(|vpc| vpc.peering_connections.iter())
            .filter(|connection| connection.state != "DELETED")
            .collect();
        expect(
            connections.len() == 1 && connections[0].state == "ACTIVE",
            format!(
                "Aiven connections: {:?}, expected one ACTIVE",
                connections
                    .iter()
                    .map(|connection| connection.state.as_str())
                    .collect::<Vec<_>>()
            ),
        );
        if let Some(connection) = connections.first() {
            expect(
                connection.peer_resource_group == ready.resource_group.to_lowercase()
                    && connection.peer_vpc == ready.vnet_name.to_lowercase(),
                format!(
                    "the connection names {}/{}, expected the lower-cased VNet",
                    connection.peer_resource_group, connection.peer_vpc
                ),
            );
        }
    });
    problems
}
