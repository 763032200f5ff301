//! Seed step 13: the user's app, signed in to its home tenant and to the Aiven tenant, creates
//! the peering from the user VNet to Aiven's VNet. By default the app's credential is a password
//! minted for minutes and removed at the end, so no long-lived secret exists anywhere.

mod password;
mod peering;

pub use password::EPHEMERAL_PASSWORD_PREFIX;
pub use peering::shutdown_signal;

use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::{Outputs, ResourceKind};
use api_core::Secret;
use api_core::retry::{self, Step, Wait};
use azure_api::arm::Peering;
use azure_api::credential::AssertionSource;
use azure_api::{Arm, Credential, CredentialSource, Graph, VnetRef};
use std::sync::Arc;
use std::time::Duration;

/// How the user's app proves itself, as asked for (no secret in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialMode {
    /// Mint a password with the admin identity, use it, remove it.
    Ephemeral { lifetime: Duration },
    /// A stored client secret (the seed's step 4).
    Stored,
    /// A federated OIDC token from the CI system.
    Federated,
}

/// The app's credential itself, taken from the environment by the command line.
#[derive(Clone)]
pub enum AppCredential {
    /// Minted by this phase with the admin identity ([`CredentialMode::Ephemeral`]).
    Minted,
    Secret(Secret),
    Federated(Arc<dyn AssertionSource>),
}

impl std::fmt::Debug for AppCredential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Minted => "ephemeral",
            Self::Secret(_) => "stored",
            Self::Federated(_) => "federated",
        })
    }
}

#[derive(Debug, Clone)]
pub struct AcceptPeering {
    pub tenant_id: String,
    pub app_id: String,
    pub app_object_id: Option<String>,
    pub vnet: VnetRef,
    pub aiven_tenant_id: String,
    pub aiven_vnet: VnetRef,
    pub peering_name: Option<String>,
    /// The Aiven project and project VPC (request-peering's), to check Aiven's side first
    /// when the Aiven token is at hand.
    pub aiven_connection: Option<(String, String)>,
    pub credential: CredentialMode,
    /// How long to keep retrying role propagation and Aiven's late grant.
    pub timeout: Duration,
    pub pacing: Pacing,
}

/// The peering name used when none is given or found: stable across re-runs, at most the 80
/// characters Azure allows, cut on a character boundary.
pub fn default_peering_name(aiven_vnet: &VnetRef) -> String {
    let name = format!("aiven-{}", aiven_vnet.name.to_ascii_lowercase());
    let cut: String = name.chars().take(crate::input::MAX_PEERING_NAME).collect();
    cut.trim_end_matches(['.', '-']).to_string()
}

/// The app's identity for a credential (`secret` is the minted password, if any).
fn app_source(
    request: &AcceptPeering,
    credential: &AppCredential,
    minted_secret: Option<Secret>,
) -> Option<CredentialSource> {
    let (tenant_id, client_id) = (request.tenant_id.clone(), request.app_id.clone());
    match credential {
        AppCredential::Secret(secret) => Some(CredentialSource::ClientSecret {
            tenant_id,
            client_id,
            secret: secret.clone(),
        }),
        AppCredential::Federated(source) => Some(CredentialSource::Assertion {
            tenant_id,
            client_id,
            source: source.clone(),
        }),
        AppCredential::Minted => minted_secret.map(|secret| CredentialSource::ClientSecret {
            tenant_id,
            client_id,
            secret,
        }),
    }
}

pub async fn accept_peering(
    admin: Option<&Credential>,
    make_credential: &dyn Fn(CredentialSource) -> Result<Credential, PhaseError>,
    credential: AppCredential,
    request: &AcceptPeering,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let vnet_id = request.vnet.id();

    // Look first, with an identity that needs no new secret.
    let existing = match (admin, app_source(request, &credential, None)) {
        (Some(admin), _) => {
            find_peering(&Arm::new(admin.clone()), &vnet_id, &request.aiven_vnet).await?
        }
        (None, Some(source)) => look_as_the_app(make_credential, source, request, &vnet_id).await?,
        (None, None) => {
            return Err(PhaseError::input(
                "--credential",
                "ephemeral mode needs the admin identity (AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE) in this job",
            ));
        }
    };
    let peering_name = existing
        .as_ref()
        .map(|peering| peering.name.clone())
        .or_else(|| request.peering_name.clone())
        .unwrap_or_else(|| default_peering_name(&request.aiven_vnet));
    let mut disconnected = false;
    if let Some(peering) = &existing {
        let access = peering.properties.allow_virtual_network_access == Some(true);
        match peering.state() {
            "Connected" | "Initiated" if access => {
                report.resource(
                    "VNet peering",
                    &peering_name,
                    &format!(
                        "{} ({})",
                        peering.id.clone().unwrap_or_default(),
                        peering.state()
                    ),
                    Change::AlreadyPresent,
                );
                if peering.state() == "Initiated" {
                    tracing::info!(
                        "the peering waits for Aiven's side; await-active will see it through"
                    );
                }
                if let (CredentialMode::Ephemeral { .. }, Some(admin), false) =
                    (&request.credential, admin, report.planning())
                {
                    // A run killed before its clean-up may have left its password behind.
                    let graph = Graph::new(admin.clone());
                    let object_id = password::app_object_id(&graph, request).await?;
                    password::remove_leftover_passwords(&graph, &object_id).await;
                }
                report
                    .outputs
                    .merge(&outputs(&peering_name, peering.state()));
                return Ok(());
            }
            "Disconnected" => {
                tracing::warn!(
                    "peering {peering_name} is Disconnected (the Aiven side was removed): deleting and re-creating it"
                );
                disconnected = true;
            }
            other => {
                tracing::info!("peering {peering_name} is {other} without VNet access: updating it")
            }
        }
    }

    let change = if existing.is_some() {
        Change::Changed
    } else {
        Change::Created
    };
    if report.planning() {
        // The app's credential is made and removed within the run: only the peering stays.
        report.would("VNet peering", &peering_name, &vnet_id, change);
        return Ok(());
    }

    // Get a credential for the app.
    let mut minted = None;
    let source = match (&request.credential, admin) {
        (CredentialMode::Ephemeral { lifetime }, Some(admin)) => {
            let password = password::mint(admin, request, *lifetime).await?;
            let secret = password.secret.clone();
            minted = Some(password);
            app_source(request, &credential, Some(secret))
        }
        _ => app_source(request, &credential, None),
    }
    .ok_or_else(|| PhaseError::failed("no credential for the app; this is a bug"))?;

    let work = peering::create_peering(
        make_credential,
        source,
        request,
        &vnet_id,
        &peering_name,
        disconnected,
    );
    let outcome = tokio::select! {
        outcome = work => outcome,
        signal = shutdown_signal() => Err(PhaseError::failed(format!(
            "interrupted by {signal}; the peering may be half-made, re-run accept-peering"
        ))),
    };
    if let Some(password) = minted {
        password.remove(&request.app_id).await?;
    }
    let peering = outcome?;
    report.resource(
        "VNet peering",
        &peering_name,
        &format!(
            "{} ({})",
            peering.id.clone().unwrap_or_default(),
            peering.state()
        ),
        change,
    );
    if change == Change::Created {
        report.created(
            ResourceKind::VnetPeering,
            &format!("{vnet_id}/virtualNetworkPeerings/{peering_name}"),
            &peering_name,
            None,
        );
    }
    report
        .outputs
        .merge(&outputs(&peering_name, peering.state()));
    Ok(())
}

fn outputs(peering_name: &str, state: &str) -> Outputs {
    Outputs {
        peering_name: Some(peering_name.to_string()),
        user_peering_state: Some(state.to_string()),
        ..Default::default()
    }
}

/// The first look with the app's own identity: the role prepare-tenant gave it on the VNet
/// may not apply yet (role assignments take minutes), so `AuthorizationFailed` is retried with
/// a fresh token each time, as the peering's PUT is.
async fn look_as_the_app(
    make_credential: &dyn Fn(CredentialSource) -> Result<Credential, PhaseError>,
    source: CredentialSource,
    request: &AcceptPeering,
    vnet_id: &str,
) -> Result<Option<Peering>, PhaseError> {
    let wait = Wait::new(
        "the app's role on the VNet to take effect (reading its peerings)",
        request.timeout,
        request.pacing.interval,
    );
    Ok(retry::until(&wait, |_| {
        let source = source.clone();
        async move {
            let arm = match make_credential(source) {
                Ok(credential) => Arm::new(credential),
                Err(error) => return Step::Fail(error),
            };
            match arm.peerings(vnet_id).await {
                Ok(peerings) => Step::Done(peering_to(peerings, &request.aiven_vnet)),
                Err(error) if error.is(403, "AuthorizationFailed") => {
                    Step::retry(PhaseError::failed(format!(
                        "{error} (role assignments take up to ~10 minutes to apply)"
                    )))
                }
                Err(error) => Step::Fail(vnet_error(vnet_id, error)),
            }
        }
    })
    .await?)
}

async fn find_peering(
    arm: &Arm,
    vnet_id: &str,
    remote: &VnetRef,
) -> Result<Option<Peering>, PhaseError> {
    let peerings = arm
        .peerings(vnet_id)
        .await
        .map_err(|error| vnet_error(vnet_id, error))?;
    Ok(peering_to(peerings, remote))
}

fn vnet_error(vnet_id: &str, error: azure_api::AzureError) -> PhaseError {
    match error.status() {
        Some(404) => PhaseError::input(
            "--user-vnet-name",
            format!("VNet {vnet_id} not found: {error}"),
        ),
        _ => error.into(),
    }
}

/// The peering to the remote VNet, among a VNet's peerings.
fn peering_to(peerings: Vec<Peering>, remote: &VnetRef) -> Option<Peering> {
    peerings.into_iter().find(|peering| {
        peering
            .remote_id()
            .and_then(|remote_id| VnetRef::parse(remote_id).ok())
            .is_some_and(|remote_vnet| remote_vnet.same_as(remote))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: a long Aiven VNet name gave a peering name Azure refuses.
    #[test]
    fn the_default_peering_name_fits_azure() {
        let long = VnetRef::new("s", "g", "x".repeat(100));
        let name = default_peering_name(&long);
        assert_eq!(name.chars().count(), crate::input::MAX_PEERING_NAME);
        assert!(crate::input::peering_name("name", &name).is_ok());
        assert_eq!(
            default_peering_name(&VnetRef::new("s", "g", "Aiven-VNet")),
            "aiven-aiven-vnet"
        );
    }
}
