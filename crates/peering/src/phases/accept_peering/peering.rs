//! The user-side peering itself: a fresh sign-in to both tenants on every attempt (new grants
//! show only in new tokens), the auxiliary-tenant header, and the retries of the lags this step
//! meets (password replication, role propagation, Aiven's late grant).

use super::AcceptPeering;
use super::sign_in::AppSecret;
use crate::catalog::Code;
use crate::error::PhaseError;
use api_core::retry::{self, Step, Wait};
use azure_api::arm::{Peering, PeeringSpec};
use azure_api::{Arm, Credential, CredentialSource};

pub(super) async fn create_peering(
    make_credential: &dyn Fn(CredentialSource) -> Result<Credential, PhaseError>,
    app_source: CredentialSource,
    secret: AppSecret,
    request: &AcceptPeering,
    vnet_id: &str,
    peering_name: &str,
    disconnected: bool,
) -> Result<Peering, PhaseError> {
    let disconnected = std::cell::Cell::new(disconnected);
    let wait = Wait::new(
        "the app's permissions in both tenants to take effect",
        request.timeout,
        request.pacing.interval,
    );
    let spec = PeeringSpec {
        remote_vnet_id: request.aiven_vnet.id(),
        allow_virtual_network_access: true,
    };
    let peering = retry::until(&wait, |attempt| {
        let app_source = app_source.clone();
        let spec = spec.clone();
        let disconnected = &disconnected;
        async move {
            // Fresh credentials every attempt: new grants only show in new tokens.
            let home = match make_credential(app_source.clone()) {
                Ok(credential) => credential,
                Err(error) => return Step::Fail(error),
            };
            let aiven_side = match make_credential(app_source.in_tenant(&request.aiven_tenant_id)) {
                Ok(credential) => credential,
                Err(error) => return Step::Fail(error),
            };
            if let Err(error) = home.arm_token().await {
                return secret.home_refused(error);
            }
            let auxiliary = match aiven_side.arm_token().await {
                Ok(token) => token,
                Err(error) => return secret.aiven_tenant_refused(error, attempt.number),
            };
            let arm = Arm::new(home);
            if disconnected.get() {
                match arm.delete_peering(vnet_id, peering_name).await {
                    Ok(()) => disconnected.set(false),
                    Err(error) if error.is(403, "AuthorizationFailed") || error.is_busy_resource() => {
                        return Step::retry(error.into())
                    }
                    Err(error) => return Step::Fail(error.into()),
                }
            }
            match arm.put_peering(vnet_id, peering_name, &spec, &[auxiliary]).await {
                Ok(peering) => Step::Done(peering),
                Err(error) if error.is(403, "AuthorizationFailed") => {
                    tracing::info!("the app's role on the VNet is not effective yet (attempt {}); retrying with a fresh token", attempt.number);
                    Step::retry(PhaseError::failed(format!("{error} (role assignments take up to ~10 minutes to apply)")).with_code(Code::RoleNotEffective))
                }
                Err(error) if error.is(403, "LinkedAuthorizationFailed") => {
                    tracing::info!("Aiven has not granted peer/action on its VNet yet (attempt {}); retrying", attempt.number);
                    Step::retry(PhaseError::failed(format!("{error} (Aiven grants peer/action on its VNet shortly after PENDING_PEER)")).with_code(Code::LinkedAuthorizationFailed))
                }
                Err(error) if error.is_busy_resource() => {
                    // Someone else changes the VNet (a subnet, another peering): it passes.
                    tracing::info!("the VNet is busy (attempt {}): {error}; retrying", attempt.number);
                    Step::retry(error.into())
                }
                Err(error) if error.is(400, "RemotePeeringIsDisconnected") => Step::Fail(PhaseError::failed(format!(
                    "{error}. Aiven's side of the peering is Disconnected (your side was deleted at some point): \
                     re-create the Aiven connection with `request-peering --recreate`, then run accept-peering again"
                )).with_code(crate::catalog::Code::RemoteDisconnected)),
                Err(error) => Step::Fail(error.into()),
            }
        }
    })
    .await?;
    Ok(peering)
}

/// Resolves on SIGINT or SIGTERM, naming the signal.
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return "SIGINT";
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupt"
    }
}
