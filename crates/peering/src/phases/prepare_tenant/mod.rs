//! Seed steps 1–10, with the user-tenant admin identity: the VNet, the multi-tenant app
//! registration and its service principal, the Aiven app's service principal, the two roles and
//! their assignments at the VNet's scope.

mod application;
mod assignments;
mod chains;
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
use crate::state::Outputs;
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
    /// `app_id` came from the state file (an earlier run made or adopted the app), not from
    /// the user: it may not have replicated yet, so it is waited for rather than refused.
    pub app_id_from_state: bool,
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

    // The admin's rights, ARM's and Graph's, are read together before the first write: a run
    // that would be refused stops before it made anything.
    let (role_writes, foreign_principal) = tokio::join!(
        crate::phases::preflight::prepare_tenant(admin_arm, &vnet.id),
        crate::phases::preflight::foreign_service_principal(admin_graph, &request.aiven_app_id)
    );
    role_writes?;
    foreign_principal?;

    let scope = chains::Scope {
        tenant_id: &tenant_id,
        subscription_scope: canonical.subscription_scope(),
        vnet_id: &vnet.id,
    };
    let mut user_part = report.part();
    let mut aiven_part = report.part();
    let (aiven_outcome, user_outcome) = tokio::join!(
        chains::aiven_chain(admin_arm, admin_graph, request, &scope, &mut aiven_part),
        chains::user_chain(
            admin_arm,
            admin_graph,
            github,
            request,
            &scope,
            &mut user_part,
        ),
    );
    report.absorb(user_part);
    report.absorb(aiven_part);
    aiven_outcome?;
    user_outcome?;
    Ok(())
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
