//! The ephemeral password of the user's app: minted with the admin identity for minutes, removed
//! at the end of the run whatever happened. Several runs may share one app (a matrix of VNets,
//! a re-run while the first still runs), so leftovers of killed runs are removed only once they
//! have expired: a fresh password may be another run's.

use super::AcceptPeering;
use crate::error::PhaseError;
use api_core::Secret;
use api_core::retry::{self, Step, Wait};
use azure_api::{Credential, Graph};
use std::time::{Duration, Instant, SystemTime};

/// Display-name prefix of the passwords this phase mints, so leftovers can be recognised.
pub const EPHEMERAL_PASSWORD_PREFIX: &str = "aiven-peering ephemeral";

/// How many times a mint whose answer was lost is looked for, removed and tried again.
const MINT_ATTEMPTS: u32 = 3;

/// A password this run minted; [`MintedPassword::remove`] must be called.
pub(super) struct MintedPassword {
    graph: Graph,
    object_id: String,
    key_id: String,
    pub secret: Secret,
    /// When it was minted: the token endpoint may refuse it for a while (replication).
    pub minted_at: Instant,
}

/// Mints a short-lived password for the app, after removing expired ones earlier runs left
/// behind. `addPassword` is not safe to repeat: when its answer is lost, the password it may
/// have made (found by this run's display name) is removed, then a new one is minted.
pub(super) async fn mint(
    admin: &Credential,
    request: &AcceptPeering,
    lifetime: Duration,
) -> Result<MintedPassword, PhaseError> {
    let graph = Graph::new(admin.clone());
    let object_id = app_object_id(&graph, request).await?;
    remove_leftover_passwords(&graph, &object_id).await;
    let end = humantime::format_rfc3339_seconds(SystemTime::now() + lifetime).to_string();
    let mut attempt = 0;
    let password = loop {
        attempt += 1;
        // Unique per attempt, so a lost one can be told from another run's.
        let display_name = format!(
            "{EPHEMERAL_PASSWORD_PREFIX} {} {:08x}",
            humantime::format_rfc3339_seconds(SystemTime::now()),
            rand::random::<u32>()
        );
        match graph.add_password(&object_id, &display_name, &end).await {
            Ok(password) => break password,
            Err(error) if error.may_have_acted() && attempt < MINT_ATTEMPTS => {
                tracing::warn!(
                    "the answer to addPassword was lost ({error}); removing what it may have made and minting again"
                );
                remove_passwords_named(&graph, &object_id, &display_name).await?;
            }
            Err(error) => return Err(error.into()),
        }
    };
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
        minted_at: Instant::now(),
    })
}

/// Removes the passwords of this display name (a mint whose answer was lost).
async fn remove_passwords_named(
    graph: &Graph,
    object_id: &str,
    display_name: &str,
) -> Result<(), PhaseError> {
    let Some(application) = graph.application(object_id).await? else {
        return Ok(());
    };
    for credential in application.password_credentials {
        if credential.display_name.as_deref() == Some(display_name) {
            graph.remove_password(object_id, &credential.key_id).await?;
            tracing::info!(
                "removed the password {} whose minting answer was lost",
                credential.key_id
            );
        }
    }
    Ok(())
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

/// Removes the passwords this phase minted in earlier runs that died before cleaning up (killed,
/// or the answer to `addPassword` was lost), once they have expired. A password that has not
/// may belong to a run still going (another VNet of the same app, a re-run): removing it would
/// break that run. Until it expires it is harmless: its value was never stored anywhere.
pub(super) async fn remove_leftover_passwords(graph: &Graph, object_id: &str) {
    let Ok(Some(application)) = graph.application(object_id).await else {
        return;
    };
    let now = SystemTime::now();
    for credential in application.password_credentials {
        let ours = credential
            .display_name
            .as_deref()
            .is_some_and(|name| name.starts_with(EPHEMERAL_PASSWORD_PREFIX));
        let expired = credential
            .end_date_time
            .as_deref()
            .and_then(|end| humantime::parse_rfc3339_weak(end.trim_end_matches('Z')).ok())
            .is_some_and(|end| end <= now);
        if ours
            && expired
            && graph
                .remove_password(object_id, &credential.key_id)
                .await
                .is_ok()
        {
            tracing::info!(
                "removed the expired short-lived password {} left by an earlier run",
                credential.key_id
            );
        }
    }
}
