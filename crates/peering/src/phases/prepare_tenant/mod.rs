//! Seed steps 1–10, with the user-tenant admin identity: the VNet, the multi-tenant app
//! registration and its service principal, the Aiven app's service principal, the two roles and
//! their assignments at the VNet's scope.

mod application;
mod assignments;
mod credentials;
mod plan;
mod principals;
mod roles;
mod stored_secret;

pub use application::{APPLICATION_TAG, CREDENTIAL_PREFIX, unique_name_for};
pub use credentials::federated_credential_name;
pub use roles::{PEER_ACTION, USER_PEERING_ACTIONS};
pub use stored_secret::STORED_PASSWORD_PREFIX;

use crate::catalog::Code;
use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::{Outputs, ResourceKind};
use api_core::retry::{self, Step, Wait};
use azure_api::graph::is_replication_lag;
use azure_api::{Arm, Graph, VnetRef};

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
    pub vnet: VnetRef,
    pub app_name: String,
    /// An existing app registration to use whoever owns it (`--app-id`).
    pub app_id: Option<String>,
    pub aiven_app_id: String,
    pub aiven_role_name: String,
    pub user_role: UserRole,
    /// Reuse a same-named custom role that grants more than the tool asks for.
    pub accept_wider_role: bool,
    /// Federated identity credentials to add to the app (CI OIDC sign-in).
    pub federated: Vec<FederatedSubject>,
    /// Also trust the running CI job's own OIDC identity (resolved before the phase runs).
    pub federate_this_job: bool,
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
#[derive(Debug, Clone)]
pub struct StoredSecret {
    pub target: github_api::SecretTarget,
    pub name: String,
    pub lifetime: std::time::Duration,
    /// Replace the password when it expires within this window.
    pub rotate_before: std::time::Duration,
}

pub async fn prepare_tenant(
    admin_arm: &Arm,
    admin_graph: &Graph,
    github: Option<&github_api::GitHub>,
    request: &PrepareTenant,
    report: &mut Report,
) -> Result<(), PhaseError> {
    // The subscription and the VNet are read together, and before any write: a wrong name is
    // bad input and nothing may have changed.
    let vnet_id = request.vnet.id();
    let (subscription, vnet) = tokio::join!(
        admin_arm.subscription(&request.vnet.subscription_id),
        admin_arm.virtual_network(&vnet_id)
    );
    let subscription = subscription.map_err(|error| {
        if error.status() == Some(404) {
            PhaseError::input(
                "--subscription-id",
                format!(
                    "subscription {} not found or not visible to the admin identity: {error}",
                    request.vnet.subscription_id
                ),
            )
            .with_code(Code::SubscriptionNotFound)
        } else {
            PhaseError::from(error)
        }
    })?;
    let tenant_id = subscription.tenant_id.to_ascii_lowercase();
    let vnet = vnet?.ok_or_else(|| {
        PhaseError::input(
            "--vnet-name",
            format!(
                "VNet {} not found in resource group {} of subscription {}",
                request.vnet.name, request.vnet.resource_group, request.vnet.subscription_id
            ),
        )
        .with_code(Code::VnetNotFound)
    })?;
    let canonical = crate::input::vnet_ref("VNet id", &vnet.id)?;
    report.resource(
        "virtual network",
        &vnet.name,
        &vnet.id,
        Change::AlreadyPresent,
    );
    // Outputs are set as soon as they are known: a failure further on still writes them.
    report.outputs.merge(&Outputs {
        user_tenant_id: Some(tenant_id.clone()),
        user_subscription_id: Some(canonical.subscription_id.clone()),
        user_resource_group: Some(canonical.resource_group.clone()),
        user_vnet_name: Some(vnet.name.clone()),
        user_vnet_id: Some(vnet.id.clone()),
        user_vnet_location: Some(vnet.location.clone()),
        user_vnet_cidrs: Some(vnet.address_prefixes().join(",")),
        ..Default::default()
    });

    // Two independent chains run together, each looking before it writes: the user app (app,
    // credentials, service principal, role, assignment) and Aiven's (service principal, role,
    // assignment). Within a chain the service principal and the role are made together too.
    // Each chain reports into its own part; both are absorbed, in this order, even when one
    // fails, so a failure still reports what the other learned.
    crate::phases::preflight::prepare_tenant(admin_arm, &vnet.id).await?;

    let scope = Scope {
        tenant_id: &tenant_id,
        subscription_scope: canonical.subscription_scope(),
        vnet_id: &vnet.id,
    };
    let mut user_part = report.part();
    let mut aiven_part = report.part();
    let (user_outcome, aiven_outcome) = tokio::join!(
        user_chain(
            admin_arm,
            admin_graph,
            github,
            request,
            &scope,
            &mut user_part
        ),
        aiven_chain(admin_arm, admin_graph, request, &scope, &mut aiven_part),
    );
    report.absorb(user_part);
    report.absorb(aiven_part);
    user_outcome?;
    aiven_outcome?;
    Ok(())
}

/// Where the roles and assignments go.
struct Scope<'a> {
    tenant_id: &'a str,
    subscription_scope: String,
    vnet_id: &'a str,
}

impl Scope<'_> {
    fn assignment(
        &self,
        role_definition_id: &str,
        principal_id: &str,
        who: &'static str,
    ) -> assignments::Assignment {
        assignments::Assignment {
            scope: self.vnet_id.to_string(),
            role_definition_id: role_definition_id.to_string(),
            principal_id: principal_id.to_string(),
            who,
        }
    }
}

/// The user app's chain: app registration, its credentials and service principal, together
/// with its role; then the role's assignment.
async fn user_chain(
    admin_arm: &Arm,
    admin_graph: &Graph,
    github: Option<&github_api::GitHub>,
    request: &PrepareTenant,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let wanted = user_wanted(request, scope);
    let mut role_part = report.part();
    let (principal, role) = tokio::join!(
        user_principal(admin_graph, github, request, report),
        user_role(admin_arm, wanted.as_ref(), scope, &mut role_part),
    );
    report.absorb(role_part);
    let (user_sp_id, (user_role, user_role_id)) = (principal?, role?);
    report.outputs.user_role_id = Some(user_role_id.clone());
    assign(
        admin_arm,
        &scope.assignment(&user_role_id, &user_sp_id, "user app"),
        user_role.as_ref().zip(wanted.as_ref()),
        &request.pacing,
        report,
    )
    .await?;
    // A run for a VNet in another subscription may have rewritten the role at the same moment
    // (a plan has written nothing to recheck).
    if let (Some(role), Some(wanted), false) = (&user_role, &wanted, report.planning()) {
        roles::recheck_assignable(admin_arm, role, wanted).await?;
    }
    Ok(())
}

/// The app registration, its federated or stored credentials and its service principal.
async fn user_principal(
    admin_graph: &Graph,
    github: Option<&github_api::GitHub>,
    request: &PrepareTenant,
    report: &mut Report,
) -> Result<String, PhaseError> {
    let application = application::ensure_application(admin_graph, request, report).await?;
    report.outputs.merge(&Outputs {
        user_app_name: Some(request.app_name.clone()),
        user_app_id: Some(application.app_id.clone()),
        user_app_object_id: Some(application.id.clone()),
        ..Default::default()
    });
    for federated in &request.federated {
        credentials::ensure_federated_credential(
            admin_graph,
            &application.id,
            federated,
            &request.pacing,
            report,
        )
        .await?;
    }
    if let Some(stored) = &request.stored_secret {
        let github = github.ok_or_else(|| {
            PhaseError::failed("--store-secret-in needs a GitHub client; this is a bug")
        })?;
        stored_secret::ensure_stored_secret(
            admin_graph,
            github,
            &application.id,
            stored,
            &request.pacing,
            report,
        )
        .await?;
    }
    let (user_sp, user_sp_change) = principals::ensure_service_principal(
        admin_graph,
        &application.app_id,
        "the app's service principal",
        false,
        &request.pacing,
        report.planning(),
    )
    .await?;
    report.resource(
        "service principal",
        request.app_name.as_str(),
        &user_sp.id,
        user_sp_change,
    );
    // The service principal of an app this tool made is this tool's too, even when a run
    // killed before recording it made it.
    let app_is_ours = report.created.iter().any(|record| {
        record.kind == ResourceKind::Application && record.id.eq_ignore_ascii_case(&application.id)
    });
    if user_sp_change == Change::Created || app_is_ours {
        report.created(
            ResourceKind::ServicePrincipal,
            &user_sp.id,
            &request.app_name,
            None,
        );
    }
    report.outputs.user_sp_id = Some(user_sp.id.clone());
    Ok(user_sp.id)
}

/// The user app's custom role, when it gets the least-privilege one.
fn user_wanted<'a>(
    request: &'a PrepareTenant,
    scope: &'a Scope<'a>,
) -> Option<roles::WantedRole<'a>> {
    match &request.user_role {
        UserRole::NetworkContributor => None,
        UserRole::LeastPrivilege { role_name } => Some(roles::WantedRole {
            tenant_id: scope.tenant_id,
            subscription_scope: &scope.subscription_scope,
            role_name,
            description: "Allows creating and repairing peerings from vnets in scope",
            actions: USER_PEERING_ACTIONS,
            name_flag: "--user-role-name",
            accept_wider: request.accept_wider_role,
        }),
    }
}

/// The user app's role: the least-privilege custom role (found or made), or the built-in
/// one; with its id.
async fn user_role(
    admin_arm: &Arm,
    wanted: Option<&roles::WantedRole<'_>>,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Result<(Option<azure_api::arm::RoleDefinition>, String), PhaseError> {
    Ok(match wanted {
        None => (
            None,
            format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                scope.subscription_scope,
                azure_api::NETWORK_CONTRIBUTOR_ROLE_ID
            ),
        ),
        Some(wanted) => {
            let role = roles::ensure_custom_role(admin_arm, wanted, report).await?;
            let id = role.id.clone();
            (Some(role), id)
        }
    })
}

/// Aiven's chain: its app's service principal in the user tenant together with its
/// `peer/action` role; then the role's assignment at the VNet.
async fn aiven_chain(
    admin_arm: &Arm,
    admin_graph: &Graph,
    request: &PrepareTenant,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let wanted = roles::WantedRole {
        tenant_id: scope.tenant_id,
        subscription_scope: &scope.subscription_scope,
        role_name: &request.aiven_role_name,
        description: "Allows creating a peering to vnets in scope (but not from)",
        actions: &[PEER_ACTION],
        name_flag: "--aiven-role-name",
        accept_wider: request.accept_wider_role,
    };
    let mut role_part = report.part();
    let planning = report.planning();
    let (principal, role) = tokio::join!(
        principals::ensure_service_principal(
            admin_graph,
            &request.aiven_app_id,
            "the Aiven app's service principal",
            true,
            &request.pacing,
            planning,
        ),
        roles::ensure_custom_role(admin_arm, &wanted, &mut role_part),
    );
    let principal = principal.map(|(aiven_sp, aiven_sp_change)| {
        report.resource("service principal", "Aiven", &aiven_sp.id, aiven_sp_change);
        if aiven_sp_change == Change::Created {
            report.created(
                ResourceKind::AivenServicePrincipal,
                &aiven_sp.id,
                "Aiven",
                None,
            );
        }
        report.outputs.aiven_sp_id = Some(aiven_sp.id.clone());
        aiven_sp
    });
    report.absorb(role_part);
    let (aiven_sp, aiven_role) = (principal?, role?);
    report.outputs.aiven_role_id = Some(aiven_role.id.clone());
    let assigned_at = assign(
        admin_arm,
        &scope.assignment(&aiven_role.id, &aiven_sp.id, "Aiven app"),
        Some((&aiven_role, &wanted)),
        &request.pacing,
        report,
    )
    .await?;
    // A run for a VNet in another subscription may have rewritten the role at the same moment
    // (a plan has written nothing to recheck).
    if !report.planning() {
        roles::recheck_assignable(admin_arm, &aiven_role, &wanted).await?;
    }
    report.outputs.aiven_role_assigned_at = assigned_at;
    Ok(())
}

/// Makes a role assignment; when the custom role is no longer assignable at the VNet (a run
/// for a VNet in another subscription wrote the role at the same moment), puts the VNet's
/// subscription back into its assignable scopes and tries again.
async fn assign(
    arm: &Arm,
    wanted: &assignments::Assignment,
    role: Option<(&azure_api::arm::RoleDefinition, &roles::WantedRole<'_>)>,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<Option<String>, PhaseError> {
    const ATTEMPTS: u32 = 3;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match assignments::ensure_assignment(arm, wanted, pacing, report).await {
            Err(PhaseError::Azure(error))
                if error.is(400, "RoleDefinitionNotAssignableAtScope") && attempt < ATTEMPTS =>
            {
                let Some((role, role_wanted)) = role else {
                    return Err(error.into());
                };
                tracing::warn!(
                    "{error}; putting the subscription back into the role's assignable scopes"
                );
                roles::recheck_assignable(arm, role, role_wanted).await?;
            }
            outcome => return outcome,
        }
    }
}

/// How a Graph call on an object created moments ago went.
fn replication_step<T>(
    outcome: Result<Option<T>, azure_api::AzureError>,
    what: &str,
) -> Step<T, PhaseError> {
    match outcome {
        Ok(Some(value)) => Step::Done(value),
        // Lookups answer "absent" for an object that has not replicated yet.
        Ok(None) => Step::retry(PhaseError::failed(format!(
            "{what}: not visible yet (directory replication)"
        ))),
        Err(error) if is_replication_lag(&error) => Step::retry(PhaseError::from(error)),
        Err(error) => Step::Fail(PhaseError::from(error)),
    }
}

fn replication_wait(pacing: &Pacing, what: &str) -> Wait {
    Wait::new(
        format!("{what} (replication)"),
        pacing.replication_timeout,
        pacing.interval,
    )
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
    let wait = replication_wait(pacing, what);
    Ok(retry::until(&wait, |_| {
        let pending = call();
        async move { replication_step(pending.await.map(Some), what) }
    })
    .await?)
}

/// Looks up an object created moments ago, retrying while the lookup answers "absent".
async fn until_visible<T, F, Fut>(pacing: &Pacing, what: &str, mut call: F) -> Result<T, PhaseError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, azure_api::AzureError>>,
{
    let wait = replication_wait(pacing, what);
    Ok(retry::until(&wait, |_| {
        let pending = call();
        async move { replication_step(pending.await, what) }
    })
    .await?)
}
