//! Seed step 13: the user's app, signed in to its home tenant and to the Aiven tenant, creates
//! the peering from the user VNet to Aiven's VNet. By default the app's credential is a password
//! minted for minutes and removed at the end, so no long-lived secret exists anywhere.

use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::Outputs;
use api_core::Secret;
use api_core::retry::{self, Step, Wait};
use azure_api::arm::{Peering, PeeringSpec};
use azure_api::credential::AssertionSource;
use azure_api::{Arm, Credential, CredentialSource, Graph};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Display-name prefix of the passwords this phase mints, so leftovers can be recognised.
pub const EPHEMERAL_PASSWORD_PREFIX: &str = "aiven-peering ephemeral";

/// How the user's app proves itself.
#[derive(Clone)]
pub enum AppCredential {
    /// Mint a password with the admin identity, use it, remove it.
    Ephemeral { lifetime: Duration },
    /// A stored client secret (the seed's step 4).
    Secret(Secret),
    /// A federated OIDC token from the CI system.
    Federated(Arc<dyn AssertionSource>),
}

impl std::fmt::Debug for AppCredential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Ephemeral { .. } => "ephemeral",
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
    pub subscription_id: String,
    pub resource_group: String,
    pub vnet_name: String,
    pub aiven_tenant_id: String,
    pub aiven_vnet_id: String,
    pub peering_name: Option<String>,
    pub credential: AppCredential,
    /// How long to keep retrying role propagation and Aiven's late grant.
    pub timeout: Duration,
    pub pacing: Pacing,
}

/// The peering name used when none is given or found: stable across re-runs.
pub fn default_peering_name(aiven_vnet_id: &str) -> String {
    let remote = aiven_vnet_id
        .rsplit('/')
        .next()
        .unwrap_or("vnet")
        .to_ascii_lowercase();
    let mut name = format!("aiven-{remote}");
    name.truncate(80);
    name
}

pub async fn accept_peering(
    admin: Option<&Credential>,
    make_credential: &dyn Fn(CredentialSource) -> Result<Credential, PhaseError>,
    request: &AcceptPeering,
) -> Result<Report, PhaseError> {
    let mut report = Report::new("accept-peering");
    let vnet_id = crate::input::VnetId {
        subscription_id: request.subscription_id.clone(),
        resource_group: request.resource_group.clone(),
        vnet_name: request.vnet_name.clone(),
    }
    .to_id();

    // Look first, with an identity that needs no new secret.
    let stored_source = |secret: Option<Secret>| -> Option<CredentialSource> {
        match &request.credential {
            AppCredential::Secret(secret) => Some(CredentialSource::ClientSecret {
                tenant_id: request.tenant_id.clone(),
                client_id: request.app_id.clone(),
                secret: secret.clone(),
            }),
            AppCredential::Federated(source) => Some(CredentialSource::Assertion {
                tenant_id: request.tenant_id.clone(),
                client_id: request.app_id.clone(),
                source: source.clone(),
            }),
            AppCredential::Ephemeral { .. } => {
                secret.map(|secret| CredentialSource::ClientSecret {
                    tenant_id: request.tenant_id.clone(),
                    client_id: request.app_id.clone(),
                    secret,
                })
            }
        }
    };
    let reader = match (admin, stored_source(None)) {
        (Some(admin), _) => Arm::new(admin.clone()),
        (None, Some(source)) => Arm::new(make_credential(source)?),
        (None, None) => {
            return Err(PhaseError::input(
                "--credential",
                "ephemeral mode needs the admin identity (AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE) in this job",
            ));
        }
    };
    let existing = find_peering(&reader, &vnet_id, &request.aiven_vnet_id).await?;
    let peering_name = existing
        .as_ref()
        .map(|peering| peering.name.clone())
        .or_else(|| request.peering_name.clone())
        .unwrap_or_else(|| default_peering_name(&request.aiven_vnet_id));
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
                if let (AppCredential::Ephemeral { .. }, Some(admin)) = (&request.credential, admin)
                {
                    // A run killed before its clean-up may have left its password behind.
                    let graph = Graph::new(admin.clone());
                    let object_id = app_object_id(&graph, request).await?;
                    remove_leftover_passwords(&graph, &object_id).await;
                }
                report.outputs = outputs(&peering_name, peering.state());
                return Ok(report);
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

    // Get a credential for the app.
    let mut minted: Option<(Graph, String, String)> = None;
    let app_source = match &request.credential {
        AppCredential::Ephemeral { lifetime } => {
            let admin = admin.expect("checked above");
            let graph = Graph::new(admin.clone());
            let object_id = app_object_id(&graph, request).await?;
            remove_leftover_passwords(&graph, &object_id).await;
            let end = humantime::format_rfc3339_seconds(SystemTime::now() + *lifetime).to_string();
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
            minted = Some((graph, object_id, password.key_id.clone()));
            stored_source(Some(password.secret_text))
        }
        _ => stored_source(None),
    }
    .expect("every credential mode yields a source");

    let work = create_peering(
        make_credential,
        app_source,
        request,
        &vnet_id,
        &peering_name,
        disconnected,
    );
    let outcome = tokio::select! {
        outcome = work => outcome,
        signal = shutdown_signal() => Err(PhaseError::failed(format!("interrupted by {signal}; the peering may be half-made, re-run accept-peering"))),
    };
    if let Some((graph, object_id, key_id)) = minted {
        remove_minted_password(&graph, &object_id, &key_id, &request.app_id).await?;
    }
    let peering = outcome?;
    let change = if existing.is_some() {
        Change::Changed
    } else {
        Change::Created
    };
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
    report.outputs = outputs(&peering_name, peering.state());
    Ok(report)
}

fn outputs(peering_name: &str, state: &str) -> Outputs {
    Outputs {
        peering_name: Some(peering_name.to_string()),
        user_peering_state: Some(state.to_string()),
        ..Default::default()
    }
}

async fn find_peering(
    arm: &Arm,
    vnet_id: &str,
    remote_vnet_id: &str,
) -> Result<Option<Peering>, PhaseError> {
    let peerings = arm
        .peerings(vnet_id)
        .await
        .map_err(|error| match error.status() {
            Some(404) => PhaseError::input(
                "--user-vnet-name",
                format!("VNet {vnet_id} not found: {error}"),
            ),
            _ => error.into(),
        })?;
    Ok(peerings.into_iter().find(|peering| {
        peering
            .remote_id()
            .is_some_and(|remote| remote.eq_ignore_ascii_case(remote_vnet_id))
    }))
}

async fn app_object_id(graph: &Graph, request: &AcceptPeering) -> Result<String, PhaseError> {
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

/// Removes the password this run minted, trying a few times: a credential nobody should hold
/// must not outlive the job. Failing that, the phase fails (a re-run removes it).
async fn remove_minted_password(
    graph: &Graph,
    object_id: &str,
    key_id: &str,
    app_id: &str,
) -> Result<(), PhaseError> {
    let wait = Wait::new(
        format!("removal of the short-lived password {key_id}"),
        Duration::from_secs(30),
        Duration::from_millis(500),
    );
    retry::until(&wait, |_| async {
        match graph.remove_password(object_id, key_id).await {
            Ok(()) => Step::Done(()),
            Err(error) if error.status().is_some_and(|status| status < 500 && status != 429) => {
                // An earlier attempt whose answer was lost may have removed it already.
                match graph.application(object_id).await {
                    Ok(Some(application))
                        if !application.password_credentials.iter().any(|credential| credential.key_id == key_id) =>
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
        PhaseError::failed(format!(
            "could not remove the short-lived password {key_id} of app {app_id}: {error}; re-run accept-peering (it removes leftovers) or `az ad app credential delete --id {app_id} --key-id {key_id}`"
        ))
    })?;
    tracing::info!("removed the short-lived password {key_id}");
    Ok(())
}

/// Removes passwords this phase minted in earlier runs that died before cleaning up (killed,
/// or the answer to `addPassword` was lost). Their values were never stored anywhere, so nothing
/// can use them; two accept-peering runs for the same app at the same moment are not supported.
async fn remove_leftover_passwords(graph: &Graph, object_id: &str) {
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

async fn create_peering(
    make_credential: &dyn Fn(CredentialSource) -> Result<Credential, PhaseError>,
    app_source: CredentialSource,
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
        remote_vnet_id: request.aiven_vnet_id.clone(),
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
                return if error.is_aadsts(7000215) || error.is_aadsts(700016) || error.is_transient() {
                    Step::retry(PhaseError::failed(format!("{error} (a new password takes a moment to replicate)")))
                } else {
                    Step::Fail(error.into())
                };
            }
            let auxiliary = match aiven_side.arm_token().await {
                Ok(token) => token,
                Err(error) if error.is_aadsts(7000229) || error.is_aadsts(700016) || error.is_aadsts(7000215) || error.is_transient() => {
                    tracing::info!("the Aiven tenant does not accept the app yet (attempt {}): {}", attempt.number, error.message);
                    return Step::retry(PhaseError::failed(format!(
                        "{error}; Aiven creates your app's service principal in its tenant after the connection reaches PENDING_PEER"
                    )));
                }
                Err(error) => return Step::Fail(error.into()),
            };
            let arm = Arm::new(home);
            if disconnected.get() {
                match arm.delete_peering(vnet_id, peering_name).await {
                    Ok(()) => disconnected.set(false),
                    Err(error) if error.is(403, "AuthorizationFailed") => return Step::retry(error.into()),
                    Err(error) => return Step::Fail(error.into()),
                }
            }
            match arm.put_peering(vnet_id, peering_name, &spec, &[auxiliary]).await {
                Ok(peering) => Step::Done(peering),
                Err(error) if error.is(403, "AuthorizationFailed") => {
                    tracing::info!("the app's role on the VNet is not effective yet (attempt {}); retrying with a fresh token", attempt.number);
                    Step::retry(PhaseError::failed(format!("{error} (role assignments take up to ~10 minutes to apply)")))
                }
                Err(error) if error.is(403, "LinkedAuthorizationFailed") => {
                    tracing::info!("Aiven has not granted peer/action on its VNet yet (attempt {}); retrying", attempt.number);
                    Step::retry(PhaseError::failed(format!("{error} (Aiven grants peer/action on its VNet shortly after PENDING_PEER)")))
                }
                Err(error) if error.is(400, "RemotePeeringIsDisconnected") => Step::Fail(PhaseError::failed(format!(
                    "{error}. Aiven's side of the peering is Disconnected (your side was deleted at some point): \
                     re-create the Aiven connection with `request-peering --recreate`, then run accept-peering again"
                ))),
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
