//! Seed steps 1–10, with the user-tenant admin identity: the VNet, the multi-tenant app
//! registration and its service principal, the Aiven app's service principal, the two roles and
//! their assignments at the VNet's scope.

use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::Outputs;
use api_core::retry::{self, Step, Wait};
use azure_api::arm::{Permission, RoleDefinition, RoleDefinitionProperties};
use azure_api::graph::{Application, ServicePrincipal, is_replication_lag};
use azure_api::{Arm, Graph};

/// The only action the Aiven app gets (seed step 8).
pub const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";

/// The actions the user's app needs on its own VNet to create, inspect and repair its peering.
pub const USER_PEERING_ACTIONS: &[&str] = &[
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete",
];

/// Which role the user's service principal gets on the VNet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRole {
    /// A custom role with [`USER_PEERING_ACTIONS`] only (the default).
    LeastPrivilege { role_name: String },
    /// The built-in Network Contributor, as the seed does.
    NetworkContributor,
}

#[derive(Debug)]
pub struct PrepareTenant {
    pub subscription_id: String,
    pub resource_group: String,
    pub vnet_name: String,
    pub app_name: String,
    pub aiven_app_id: String,
    pub aiven_role_name: String,
    pub user_role: UserRole,
    /// Federated identity credentials to add to the app (CI OIDC sign-in).
    pub federated: Vec<FederatedSubject>,
    /// Where to keep a long-lived app password, for teams that want the seed's stored secret.
    pub stored_secret: Option<StoredSecret>,
    pub pacing: Pacing,
}

/// An OIDC issuer and subject the app trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedSubject {
    pub issuer: String,
    pub subject: String,
}

/// A GitHub Actions secret to hold the app's password.
pub struct StoredSecret {
    pub github: github_api::GitHub,
    pub target: github_api::SecretTarget,
    pub name: String,
    pub lifetime: std::time::Duration,
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "secret {} in {}", self.name, self.target)
    }
}

/// The `uniqueName` the app registration is kept under, derived from its display name so that a
/// re-run after a crash finds (or upserts) the same object instead of creating a twin.
pub fn unique_name_for(app_name: &str) -> String {
    let slug: String = app_name
        .to_ascii_lowercase()
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character
            } else {
                '-'
            }
        })
        .collect();
    format!("aiven-peering.{}", slug.trim_matches('-'))
}

pub async fn prepare_tenant(
    admin_arm: &Arm,
    admin_graph: &Graph,
    request: &PrepareTenant,
) -> Result<Report, PhaseError> {
    let mut report = Report::new("prepare-tenant");
    let subscription = admin_arm
        .subscription(&request.subscription_id)
        .await
        .map_err(|error| {
            if error.status() == Some(404) {
                PhaseError::input(
                    "--subscription-id",
                    format!(
                        "subscription {} not found or not visible to the admin identity: {error}",
                        request.subscription_id
                    ),
                )
            } else {
                PhaseError::from(error)
            }
        })?;
    let tenant_id = subscription.tenant_id.to_ascii_lowercase();
    let wanted_vnet = crate::input::VnetId {
        subscription_id: request.subscription_id.clone(),
        resource_group: request.resource_group.clone(),
        vnet_name: request.vnet_name.clone(),
    };
    let vnet = admin_arm
        .virtual_network(&wanted_vnet.to_id())
        .await?
        .ok_or_else(|| {
            PhaseError::input(
                "--vnet-name",
                format!(
                    "VNet {} not found in resource group {} of subscription {}",
                    request.vnet_name, request.resource_group, request.subscription_id
                ),
            )
        })?;
    let canonical = crate::input::vnet_id("VNet id", &vnet.id)?;
    report.resource(
        "virtual network",
        &vnet.name,
        &vnet.id,
        Change::AlreadyPresent,
    );

    let application = ensure_application(admin_graph, request, &mut report).await?;
    for federated in &request.federated {
        ensure_federated_credential(
            admin_graph,
            &application.id,
            federated,
            &request.pacing,
            &mut report,
        )
        .await?;
    }
    if let Some(stored) = &request.stored_secret {
        ensure_stored_secret(
            admin_graph,
            &application.id,
            stored,
            &request.pacing,
            &mut report,
        )
        .await?;
    }
    let user_sp = ensure_service_principal(
        admin_graph,
        &application.app_id,
        "the app's service principal",
        false,
        &request.pacing,
    )
    .await?;
    report.resource(
        "service principal",
        request.app_name.as_str(),
        &user_sp.0.id,
        user_sp.1,
    );
    let aiven_sp = ensure_service_principal(
        admin_graph,
        &request.aiven_app_id,
        "the Aiven app's service principal",
        true,
        &request.pacing,
    )
    .await?;
    report.resource("service principal", "Aiven", &aiven_sp.0.id, aiven_sp.1);

    let subscription_scope = format!("/subscriptions/{}", request.subscription_id);
    let aiven_role = ensure_custom_role(
        admin_arm,
        &tenant_id,
        &subscription_scope,
        &request.aiven_role_name,
        "Allows creating a peering to vnets in scope (but not from)",
        &[PEER_ACTION],
        &mut report,
    )
    .await?;
    let user_role_id = match &request.user_role {
        UserRole::NetworkContributor => format!(
            "{subscription_scope}/providers/Microsoft.Authorization/roleDefinitions/{}",
            azure_api::NETWORK_CONTRIBUTOR_ROLE_ID
        ),
        UserRole::LeastPrivilege { role_name } => {
            ensure_custom_role(
                admin_arm,
                &tenant_id,
                &subscription_scope,
                role_name,
                "Allows creating and repairing peerings from vnets in scope",
                USER_PEERING_ACTIONS,
                &mut report,
            )
            .await?
            .id
        }
    };
    ensure_assignment(
        admin_arm,
        &vnet.id,
        &user_role_id,
        &user_sp.0.id,
        "user app",
        &request.pacing,
        &mut report,
    )
    .await?;
    ensure_assignment(
        admin_arm,
        &vnet.id,
        &aiven_role.id,
        &aiven_sp.0.id,
        "Aiven app",
        &request.pacing,
        &mut report,
    )
    .await?;

    report.outputs = Outputs {
        user_tenant_id: Some(tenant_id),
        user_subscription_id: Some(canonical.subscription_id.clone()),
        user_resource_group: Some(canonical.resource_group.clone()),
        user_vnet_name: Some(vnet.name.clone()),
        user_vnet_id: Some(vnet.id.clone()),
        user_vnet_location: Some(vnet.location.clone()),
        user_vnet_cidrs: Some(vnet.address_prefixes().join(",")),
        user_app_name: Some(request.app_name.clone()),
        user_app_id: Some(application.app_id.clone()),
        user_app_object_id: Some(application.id.clone()),
        user_sp_id: Some(user_sp.0.id.clone()),
        user_role_id: Some(user_role_id),
        aiven_sp_id: Some(aiven_sp.0.id.clone()),
        aiven_role_id: Some(aiven_role.id.clone()),
        ..Default::default()
    };
    Ok(report)
}

async fn ensure_application(
    graph: &Graph,
    request: &PrepareTenant,
    report: &mut Report,
) -> Result<Application, PhaseError> {
    let unique_name = unique_name_for(&request.app_name);
    if let Some(application) = graph.application_by_unique_name(&unique_name).await? {
        report.resource(
            "app registration",
            &request.app_name,
            &format!("appId {}", application.app_id),
            Change::AlreadyPresent,
        );
        return Ok(application);
    }
    // An app of that display name made by hand (seed step 2) is adopted, but only when there is
    // exactly one: display names are not unique.
    let named = graph.applications_named(&request.app_name).await?;
    match named.len() {
        0 => {}
        1 => {
            let application = named.into_iter().next().expect("one element");
            tracing::info!(
                "adopting the existing app registration {} (appId {}) made outside this tool",
                request.app_name,
                application.app_id
            );
            report.resource(
                "app registration",
                &request.app_name,
                &format!("appId {}", application.app_id),
                Change::AlreadyPresent,
            );
            return Ok(application);
        }
        count => {
            let ids: Vec<String> = named
                .iter()
                .map(|application| application.app_id.clone())
                .collect();
            return Err(PhaseError::failed(format!(
                "{count} app registrations are named {:?} (appIds {}); delete the extra ones or choose another --app-name",
                request.app_name,
                ids.join(", ")
            )));
        }
    }
    let created = graph
        .upsert_application(&unique_name, &request.app_name)
        .await?;
    let change = if created.is_some() {
        Change::Created
    } else {
        Change::AlreadyPresent
    };
    let application = match created {
        Some(application) => application,
        None => {
            // It existed but was not yet visible: wait for replication.
            despite_replication(&request.pacing, "reading the app registration", || async {
                graph
                    .application_by_unique_name(&unique_name)
                    .await?
                    .ok_or_else(|| {
                        not_yet_visible(&format!("applications(uniqueName='{unique_name}')"))
                    })
            })
            .await?
        }
    };
    report.resource(
        "app registration",
        &request.app_name,
        &format!("appId {}", application.app_id),
        change,
    );
    Ok(application)
}

/// The name a federated credential gets: the subject made safe (letters, digits, - and _).
pub fn federated_credential_name(subject: &str) -> String {
    let mut name: String = subject
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '-' || character == '_' {
                character
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(110);
    format!("aiven-peering-{}", name.trim_matches('-'))
}

/// The error Graph gives for an object that has not replicated yet, for lookups that answer
/// "absent" instead (so [`despite_replication`] retries them alike).
fn not_yet_visible(what: &str) -> azure_api::AzureError {
    azure_api::AzureError::Api {
        method: "GET".into(),
        url: what.to_string(),
        status: 404,
        code: "Request_ResourceNotFound".into(),
        message: "not visible yet".into(),
    }
}

/// Runs a Graph call on an object created moments ago, retrying while it has not replicated.
async fn despite_replication<T, F, Fut>(
    pacing: &Pacing,
    what: &str,
    mut call: F,
) -> Result<T, PhaseError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, azure_api::AzureError>>,
{
    let wait = Wait::new(
        format!("{what} (replication)"),
        pacing.replication_timeout,
        pacing.interval,
    );
    retry::until(&wait, |_| {
        let pending = call();
        async move {
            match pending.await {
                Ok(value) => Step::Done(value),
                Err(error) if is_replication_lag(&error) => Step::retry(PhaseError::from(error)),
                Err(error) => Step::Fail(PhaseError::from(error)),
            }
        }
    })
    .await
    .map_err(PhaseError::from)
}

async fn ensure_federated_credential(
    graph: &Graph,
    object_id: &str,
    wanted: &FederatedSubject,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let label = format!("{} {}", wanted.issuer, wanted.subject);
    let existing = despite_replication(pacing, "listing the app's federated credentials", || {
        graph.federated_credentials(object_id)
    })
    .await?;
    if let Some(found) = existing.iter().find(|credential| {
        credential.issuer == wanted.issuer && credential.subject == wanted.subject
    }) {
        report.resource(
            "federated credential",
            &label,
            &found.name,
            Change::AlreadyPresent,
        );
        return Ok(());
    }
    if existing.len() >= 20 {
        return Err(PhaseError::failed(format!(
            "the app already has {} federated credentials, the most Microsoft Graph allows; remove unused ones",
            existing.len()
        )));
    }
    let name = federated_credential_name(&wanted.subject);
    let created = despite_replication(pacing, "adding a federated credential", || {
        graph.create_federated_credential(
            object_id,
            &name,
            &wanted.issuer,
            &wanted.subject,
            github_api::AZURE_TOKEN_EXCHANGE_AUDIENCE,
        )
    })
    .await?;
    report.resource(
        "federated credential",
        &label,
        &created.name,
        Change::Created,
    );
    Ok(())
}

/// Display name of the long-lived password kept in a GitHub secret.
fn stored_password_name(stored: &StoredSecret) -> String {
    format!(
        "aiven-peering stored in {} as {}",
        stored.target, stored.name
    )
}

async fn ensure_stored_secret(
    graph: &Graph,
    object_id: &str,
    stored: &StoredSecret,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let label = format!("{} in {}", stored.name, stored.target);
    let display_name = stored_password_name(stored);
    let application = despite_replication(pacing, "reading the app registration", || async {
        graph
            .application(object_id)
            .await?
            .ok_or_else(|| not_yet_visible(&format!("applications/{object_id}")))
    })
    .await?;
    let previous: Vec<String> = application
        .password_credentials
        .iter()
        .filter(|credential| credential.display_name.as_deref() == Some(display_name.as_str()))
        .map(|credential| credential.key_id.clone())
        .collect();
    let secret_exists = stored
        .github
        .secret_exists(&stored.target, &stored.name)
        .await
        .map_err(|error| PhaseError::failed(error.to_string()))?;
    if secret_exists && !previous.is_empty() {
        report.resource(
            "GitHub secret",
            &label,
            &format!("app password {}", previous[0]),
            Change::AlreadyPresent,
        );
        return Ok(());
    }
    let end = humantime::format_rfc3339_seconds(std::time::SystemTime::now() + stored.lifetime)
        .to_string();
    let password = despite_replication(pacing, "adding the stored password", || {
        graph.add_password(object_id, &display_name, &end)
    })
    .await?;
    crate::report::mask_in_ci_logs(&password.secret_text);
    if let Err(error) = stored
        .github
        .put_secret(&stored.target, &stored.name, &password.secret_text)
        .await
    {
        // Never leave a password nobody holds.
        let _ = graph.remove_password(object_id, &password.key_id).await;
        return Err(PhaseError::failed(error.to_string()));
    }
    for key_id in previous {
        graph.remove_password(object_id, &key_id).await?;
        tracing::info!("removed the replaced app password {key_id}");
    }
    report.resource(
        "GitHub secret",
        &label,
        &format!("app password {} until {end}", password.key_id),
        Change::Created,
    );
    Ok(())
}

async fn ensure_service_principal(
    graph: &Graph,
    app_id: &str,
    what: &str,
    foreign: bool,
    pacing: &Pacing,
) -> Result<(ServicePrincipal, Change), PhaseError> {
    if let Some(existing) = graph.service_principal_for(app_id).await? {
        return Ok((existing, Change::AlreadyPresent));
    }
    let wait = Wait::new(
        format!("{what} to be created"),
        pacing.replication_timeout,
        pacing.interval,
    );
    let created_here = std::cell::Cell::new(false);
    let principal = retry::until(&wait, |_| {
        let created_here = &created_here;
        async move {
            match graph.create_service_principal(app_id).await {
                Ok(principal) => {
                    created_here.set(true);
                    Step::Done(principal)
                }
                Err(error) if error.status() == Some(409) => match graph.service_principal_for(app_id).await {
                    Ok(Some(principal)) => Step::Done(principal),
                    Ok(None) => Step::retry(PhaseError::failed(format!("{what} exists but is not readable yet"))),
                    Err(error) => Step::Fail(error.into()),
                },
                Err(error) if foreign && error.status() == Some(403) => Step::Fail(PhaseError::failed(format!(
                    "cannot create {what} for app {app_id}: {error}. The admin identity needs the \
                     Application administrator (or Cloud application administrator) directory role \
                     in the user tenant; assign it and re-run"
                ))),
                Err(error) if is_replication_lag(&error) => Step::retry(PhaseError::from(error)),
                Err(error) => Step::Fail(error.into()),
            }
        }
    })
    .await?;
    Ok((
        principal,
        if created_here.get() {
            Change::Created
        } else {
            Change::AlreadyPresent
        },
    ))
}

/// Finds or makes the custom role of this name (unique per tenant), assignable at the
/// subscription, with at least the given actions.
async fn ensure_custom_role(
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
    if let Some(existing) = found
        .into_iter()
        .find(|role| role.properties.role_name.eq_ignore_ascii_case(role_name))
    {
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
            )));
        }
        if granted.len() > actions.len() {
            tracing::warn!(
                "the existing role {role_name:?} grants more than {actions:?}: {granted:?}"
            );
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
        let updated = arm
            .put_role_definition(&home_scope, &existing.name, &properties)
            .await?;
        report.resource("custom role", role_name, &updated.id, Change::Changed);
        return Ok(updated);
    }
    let guid = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!(
            "aiven-peering/role/{tenant_id}/{}",
            role_name.to_ascii_lowercase()
        )
        .as_bytes(),
    );
    let properties = RoleDefinitionProperties {
        role_name: role_name.to_string(),
        description: Some(description.to_string()),
        role_type: Some("CustomRole".to_string()),
        permissions: vec![wanted],
        assignable_scopes: vec![subscription_scope.to_string()],
    };
    let created = arm
        .put_role_definition(subscription_scope, &guid.to_string(), &properties)
        .await?;
    report.resource("custom role", role_name, &created.id, Change::Created);
    Ok(created)
}

fn guid_of(role_definition_id: &str) -> String {
    role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

async fn ensure_assignment(
    arm: &Arm,
    vnet_id: &str,
    role_definition_id: &str,
    principal_id: &str,
    who: &str,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let label = format!("{who} on the VNet");
    let existing = arm.role_assignments_for(vnet_id, principal_id).await?;
    if let Some(found) = existing.iter().find(|assignment| {
        guid_of(&assignment.properties.role_definition_id) == guid_of(role_definition_id)
            && assignment
                .properties
                .scope
                .as_deref()
                .is_some_and(|scope| scope.eq_ignore_ascii_case(vnet_id))
    }) {
        report.resource("role assignment", &label, &found.id, Change::AlreadyPresent);
        return Ok(());
    }
    let guid = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!(
            "aiven-peering/assignment/{}/{}/{}",
            vnet_id.to_ascii_lowercase(),
            guid_of(role_definition_id),
            principal_id.to_ascii_lowercase()
        )
        .as_bytes(),
    );
    let wait = Wait::new(
        format!("role assignment for the {who} to be accepted"),
        pacing.replication_timeout,
        pacing.interval,
    );
    let outcome = retry::until(&wait, |_| async {
        match arm
            .put_role_assignment(vnet_id, &guid.to_string(), role_definition_id, principal_id)
            .await
        {
            Ok(assignment) => Step::Done((assignment.id, Change::Created)),
            Err(error) if error.is(409, "RoleAssignmentExists") => Step::Done((
                format!("{vnet_id}/providers/Microsoft.Authorization/roleAssignments/{guid}"),
                Change::AlreadyPresent,
            )),
            Err(error) if error.is(400, "PrincipalNotFound") => {
                Step::retry(PhaseError::from(error))
            }
            Err(error) => Step::Fail(PhaseError::from(error)),
        }
    })
    .await?;
    report.resource("role assignment", &label, &outcome.0, outcome.1);
    Ok(())
}
