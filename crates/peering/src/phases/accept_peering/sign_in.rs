//! The app's sign-ins and what their refusals mean: which are lags worth waiting out (a
//! password replicating, a role propagating, Aiven not having provisioned the app in its tenant
//! yet) and which are final (a wrong secret, refused for longer than replication takes). The
//! first look at the VNet's peerings, made as the app in stored and federated modes, waits out
//! the same lags as the peering itself.

use super::AcceptPeering;
use crate::error::PhaseError;
use api_core::retry::{self, Step, Wait};
use azure_api::arm::Peering;
use azure_api::credential::aadsts;
use azure_api::{Arm, AzureError, Credential, CredentialSource, TokenError, VnetRef};
use std::time::{Duration, Instant};

/// How long a fresh app password may be refused (AADSTS7000215) while it replicates.
pub const SECRET_REPLICATION: Duration = Duration::from_secs(60);

/// Whose password the app signs in with, and since when it should work.
#[derive(Debug, Clone, Copy)]
pub(super) struct AppSecret {
    /// `None` in federated mode.
    pub kind: Option<SecretKind>,
    pub since: Instant,
    /// How long a refusal is taken for replication: [`SECRET_REPLICATION`], or less when the
    /// phase's timeout is short, so a wrong secret fails (exit 1) before the wait times out.
    pub grace: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretKind {
    /// Minted by this run moments ago.
    Minted,
    /// Given in `PEERING_USER_APP_SECRET`.
    Stored,
}

impl AppSecret {
    pub fn new(kind: Option<SecretKind>, since: Instant, timeout: Duration) -> Self {
        Self {
            kind,
            since,
            grace: SECRET_REPLICATION.min(timeout / 2),
        }
    }

    /// A refused secret: replication lag while young, then final.
    fn refused<T>(&self, error: TokenError) -> Step<T, PhaseError> {
        if self.since.elapsed() < self.grace {
            return Step::retry(PhaseError::because(
                "the app's password is refused; a new password takes a moment to replicate",
                error,
            ));
        }
        let message = match self.kind {
            Some(SecretKind::Stored) => format!(
                "the app's stored secret ({}) is refused, also after {}: it is wrong, or was replaced (re-run prepare-tenant with --store-secret-in and use the new secret)",
                api_core::env_vars::PEERING_USER_APP_SECRET,
                humantime::format_duration(self.grace)
            ),
            _ => format!(
                "the app's short-lived password is refused, also after {}: another run may have removed it; re-run accept-peering",
                humantime::format_duration(self.grace)
            ),
        };
        Step::Fail(PhaseError::because(message, error))
    }

    /// A refused sign-in to the app's home tenant.
    pub fn home_refused<T>(&self, error: TokenError) -> Step<T, PhaseError> {
        if error.is_aadsts(aadsts::INVALID_CLIENT_SECRET) {
            self.refused(error)
        } else if error.is_aadsts(aadsts::APPLICATION_NOT_FOUND) || error.is_transient() {
            Step::retry(error.into())
        } else {
            Step::Fail(error.into())
        }
    }

    /// A refused sign-in to the Aiven tenant, where Aiven provisions the app after PENDING_PEER.
    pub fn aiven_tenant_refused<T>(&self, error: TokenError, attempt: u32) -> Step<T, PhaseError> {
        if error.is_aadsts(aadsts::INVALID_CLIENT_SECRET) {
            return self.refused(error);
        }
        if error.is_aadsts(aadsts::NO_SERVICE_PRINCIPAL_IN_TENANT)
            || error.is_aadsts(aadsts::APPLICATION_NOT_FOUND)
            || error.is_transient()
        {
            tracing::info!(
                "the Aiven tenant does not accept the app yet (attempt {attempt}): {}",
                error.message
            );
            return Step::retry(PhaseError::because(
                "Aiven creates your app's service principal in its tenant after the connection reaches PENDING_PEER",
                error,
            ));
        }
        Step::Fail(error.into())
    }
}

/// Who makes the first look at the VNet's peerings.
pub(super) enum Reader<'a> {
    /// The admin identity: nothing to wait for.
    Admin(&'a Credential),
    /// The app itself (stored and federated modes): its sign-in and its role on the VNet may
    /// still be settling.
    App(CredentialSource, AppSecret),
}

/// The peering from the VNet to Aiven's, if there is one.
pub(super) async fn first_look(
    reader: Reader<'_>,
    make_credential: &dyn Fn(CredentialSource) -> Result<Credential, PhaseError>,
    request: &AcceptPeering,
) -> Result<Option<Peering>, PhaseError> {
    let vnet_id = request.vnet.id();
    let (source, secret) = match reader {
        Reader::Admin(admin) => {
            return find_peering(&Arm::new(admin.clone()), &vnet_id, &request.aiven_vnet)
                .await
                .map_err(|error| look_failed(&vnet_id, error));
        }
        Reader::App(source, secret) => (source, secret),
    };
    let wait = Wait::new(
        "the app to be allowed to read its VNet",
        request.timeout,
        request.pacing.interval,
    );
    Ok(retry::until(&wait, |attempt| {
        let source = source.clone();
        let vnet_id = vnet_id.clone();
        async move {
            // A fresh sign-in every attempt: new grants only show in new tokens.
            let arm = match make_credential(source) {
                Ok(credential) => Arm::new(credential),
                Err(error) => return Step::Fail(error),
            };
            match find_peering(&arm, &vnet_id, &request.aiven_vnet).await {
                Ok(found) => Step::Done(found),
                Err(AzureError::Token(error)) => secret.home_refused(error),
                Err(error) if error.is(403, "AuthorizationFailed") => {
                    tracing::info!(
                        "the app may not read its VNet yet (attempt {}): {error}; role assignments take up to ~10 minutes to apply",
                        attempt.number
                    );
                    Step::retry(error.into())
                }
                Err(error) => Step::Fail(look_failed(&vnet_id, error)),
            }
        }
    })
    .await?)
}

fn look_failed(vnet_id: &str, error: AzureError) -> PhaseError {
    match error.status() {
        Some(404) => PhaseError::input(
            "--user-vnet-name",
            format!("VNet {vnet_id} not found: {error}"),
        ),
        _ => error.into(),
    }
}

async fn find_peering(
    arm: &Arm,
    vnet_id: &str,
    remote: &VnetRef,
) -> Result<Option<Peering>, AzureError> {
    let peerings = arm.peerings(vnet_id).await?;
    Ok(peerings.into_iter().find(|peering| {
        peering
            .remote_id()
            .and_then(|remote_id| VnetRef::parse(remote_id).ok())
            .is_some_and(|remote_vnet| remote_vnet.same_as(remote))
    }))
}
