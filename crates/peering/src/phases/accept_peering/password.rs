//! The ephemeral password of the user's app: minted with the admin identity for minutes, removed
//! at the end of the run whatever happened, and leftovers of killed runs removed by the next.

use super::AcceptPeering;
use crate::error::PhaseError;
use api_core::Secret;
use api_core::retry::{self, Step, Wait};
use azure_api::{Credential, Graph};
use std::time::{Duration, SystemTime};

/// Display-name prefix of the passwords this phase mints, so leftovers can be recognised.
pub const EPHEMERAL_PASSWORD_PREFIX: &str = "aiven-peering ephemeral";

/// A password this run minted; [`MintedPassword::remove`] must be called.
pub(super) struct MintedPassword {
    graph: Graph,
    object_id: String,
    key_id: String,
    pub secret: Secret,
}

/// Mints a short-lived password for the app, after removing those earlier runs left behind.
pub(super) async fn mint(
    admin: &Credential,
    request: &AcceptPeering,
    lifetime: Duration,
) -> Result<MintedPassword, PhaseError> {
    let graph = Graph::new(admin.clone());
    let object_id = app_object_id(&graph, request).await?;
    remove_leftover_passwords(&graph, &object_id).await;
    let end = humantime::format_rfc3339_seconds(SystemTime::now() + lifetime).to_string();
    let display_name = format!(
        "{EPHEMERAL_PASSWORD_PREFIX} {}",
        humantime::format_rfc3339_seconds(SystemTime::now())
    );
    let password = graph.add_password(&object_id, &display_name, &end).await?;
    crate::report::mask_in_ci_logs(&password.secret_text);
    tracing::info!(
        "minted a short-lived password (keyId {}, expires {end}) for app {}",
        password.key_id,
        request.app_id
    );
    Ok(MintedPassword {
        graph,
        object_id,
        key_id: password.key_id,
        secret: password.secret_text,
    })
}

impl MintedPassword {
    /// Removes the password, trying a few times: a credential nobody should hold must not
    /// outlive the job. Failing that, the phase fails (a re-run removes it).
    pub(super) async fn remove(self, app_id: &str) -> Result<(), PhaseError> {
        let Self {
            graph,
            object_id,
            key_id,
            ..
        } = self;
        let wait = Wait::new(
            format!("removal of the short-lived password {key_id}"),
            Duration::from_secs(30),
            Duration::from_millis(500),
        );
        retry::until(&wait, |_| async {
            match graph.remove_password(&object_id, &key_id).await {
                Ok(()) => Step::Done(()),
                Err(error) if error.status().is_some_and(|status| status < 500 && status != 429) => {
                    // An earlier attempt whose answer was lost may have removed it already.
                    match graph.application(&object_id).await {
                        Ok(Some(application))
                            if !application
                                .password_credentials
                                .iter()
                                .any(|credential| credential.key_id == key_id) =>
                        {
                            Step::Done(())
                        }
                        _ => Step::Fail(PhaseError::from(error)),
                    }
                }
                Err(error) => Step::retry(PhaseError::from(error)),
            }
        })
        .await
        .map_err(|error| {
            PhaseError::because(
                format!(
                    "could not remove the short-lived password {key_id} of app {app_id}; re-run accept-peering (it removes leftovers) or `az ad app credential delete --id {app_id} --key-id {key_id}`"
                ),
                PhaseError::from(error),
            )
        })?;
        tracing::info!("removed the short-lived password {key_id}");
        Ok(())
    }
}

pub(super) async fn app_object_id(
    graph: &Graph,
    request: &AcceptPeering,
) -> Result<String, PhaseError> {
    if let Some(id) = &request.app_object_id {
        return Ok(id.clone());
    }
    Ok(graph
        .application_by_app_id(&request.app_id)
        .await?
        .ok_or_else(|| {
            PhaseError::input(
                "--user-app-id",
                format!("no app registration with appId {}", request.app_id),
            )
        })?
        .id)
}

/// Removes passwords this phase minted in earlier runs that died before cleaning up (killed,
/// or the answer to `addPassword` was lost). Their values were never stored anywhere, so nothing
/// can use them; two accept-peering runs for the same app at the same moment are not supported.
pub(super) async fn remove_leftover_passwords(graph: &Graph, object_id: &str) {
    let Ok(Some(application)) = graph.application(object_id).await else {
        return;
    };
    for credential in application.password_credentials {
        let ours = credential
            .display_name
            .as_deref()
            .is_some_and(|name| name.starts_with(EPHEMERAL_PASSWORD_PREFIX));
        if ours
            && graph
                .remove_password(object_id, &credential.key_id)
                .await
                .is_ok()
        {
            tracing::info!(
                "removed the short-lived password {} left by an earlier run",
                credential.key_id
            );
        }
    }
}
