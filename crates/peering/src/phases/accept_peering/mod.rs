//! Seed step 13: the user's app, signed in to its home tenant and to the Aiven tenant, creates
//! the peering from the user VNet to Aiven's VNet. By default the app's credential is a password
//! minted for minutes and removed at the end, so no long-lived secret exists anywhere.

mod password;
mod peering;
mod sign_in;

pub use password::EPHEMERAL_PASSWORD_PREFIX;
pub use peering::shutdown_signal;

use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::{Outputs, ResourceKind};
use api_core::Secret;
use azure_api::credential::AssertionSource;
use azure_api::{Credential, CredentialSource, Graph, VnetRef};
use sign_in::{AppSecret, Reader, SecretKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let started = Instant::now();
    let secret_kind = match credential {
        AppCredential::Minted => Some(SecretKind::Minted),
        AppCredential::Secret(_) => Some(SecretKind::Stored),
        AppCredential::Federated(_) => None,
    };

    // Look first, with an identity that needs no new secret.
    let reader = match (admin, app_source(request, &credential, None)) {
        (Some(admin), _) => Reader::Admin(admin),
        (None, Some(source)) => Reader::App(
            source,
            AppSecret::new(secret_kind, started, request.timeout),
        ),
        (None, None) => {
            return Err(PhaseError::input(
                "--credential",
                "ephemeral mode needs the admin identity (AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE) in this job",
            ));
        }
    };
    let existing = sign_in::first_look(reader, make_credential, request).await?;
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
    let mut secret_since = started;
    let source = match (&request.credential, admin) {
        (CredentialMode::Ephemeral { lifetime }, Some(admin)) => {
            let password = password::mint(admin, request, *lifetime).await?;
            let secret = password.secret.clone();
            secret_since = password.minted_at;
            minted = Some(password);
            app_source(request, &credential, Some(secret))
        }
        _ => app_source(request, &credential, None),
    }
    .ok_or_else(|| PhaseError::failed("no credential for the app; this is a bug"))?;

    let work = peering::create_peering(
        make_credential,
        source,
        AppSecret::new(secret_kind, secret_since, request.timeout),
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
