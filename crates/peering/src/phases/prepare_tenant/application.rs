//! The multi-tenant app registration (seed steps 1–2): the one named by `--app-id`, or the
//! tool's own (found by its `uniqueName` or display name, and owned by the admin identity
//! alone), or upserted so that a crash between create and record never makes a twin. Any
//! tenant member may register an app with the name the tool would pick, so a name is never
//! proof of origin: an app owned by anyone else is not adopted unless named.

use super::{PrepareTenant, despite_replication, until_visible};
use crate::error::PhaseError;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use azure_api::Graph;
use azure_api::graph::Application;

/// The tag the tool puts on the app registrations it makes.
pub const APPLICATION_TAG: &str = "aiven-azure-peering";

/// The prefix of every credential the tool adds to an app (passwords and federated
/// credentials).
pub const CREDENTIAL_PREFIX: &str = "aiven-peering";

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

pub(super) async fn ensure_application(
    graph: &Graph,
    request: &PrepareTenant,
    report: &mut Report,
) -> Result<Application, PhaseError> {
    let unique_name = unique_name_for(&request.app_name);
    let record = |report: &mut Report, application: &Application, change| {
        report.resource(
            "app registration",
            &request.app_name,
            &format!("appId {}", application.app_id),
            change,
        );
    };
    // Only this tool names apps by its `uniqueName`: one found by it (and owned by the admin
    // identity alone) is this tool's, and teardown may delete it. An app named by --app-id or
    // adopted by its display name is not.
    let ours = |report: &mut Report, application: &Application| {
        report.created(
            ResourceKind::Application,
            &application.id,
            &request.app_name,
            None,
        );
    };
    if let Some(app_id) = &request.app_id {
        let application = if request.app_id_from_state {
            until_visible(
                &request.pacing,
                &format!("reading the app registration with appId {app_id}"),
                || graph.application_by_app_id(app_id),
            )
            .await?
        } else {
            graph.application_by_app_id(app_id).await?.ok_or_else(|| {
                PhaseError::input(
                    "--app-id",
                    format!("no app registration with appId {app_id} in this tenant"),
                )
            })?
        };
        tracing::info!(
            "adopting the app registration {} (appId {app_id}) named by --app-id",
            application.display_name.as_deref().unwrap_or("?")
        );
        warn_about_credentials_of(graph, &application).await?;
        record(report, &application, Change::AlreadyPresent);
        return Ok(application);
    }
    let admin = graph.caller_object_id().await?;
    if let Some(application) = graph.application_by_unique_name(&unique_name).await? {
        ensure_made_by_admin(graph, &application, admin.as_deref(), request).await?;
        record(report, &application, Change::AlreadyPresent);
        ours(report, &application);
        return Ok(application);
    }
    // An app of that display name made by hand (seed step 2) is adopted when there is exactly
    // one (display names are not unique) and the admin identity alone owns it.
    let named = graph.applications_named(&request.app_name).await?;
    match named.as_slice() {
        [] => {}
        [application] => {
            ensure_made_by_admin(graph, application, admin.as_deref(), request).await?;
            tracing::info!(
                "adopting the existing app registration {} (appId {}) owned by the admin identity",
                request.app_name,
                application.app_id
            );
            warn_about_credentials_of(graph, application).await?;
            record(report, application, Change::AlreadyPresent);
            return Ok(application.clone());
        }
        several => {
            let ids: Vec<&str> = several
                .iter()
                .map(|application| application.app_id.as_str())
                .collect();
            return Err(PhaseError::failed(format!(
                "{} app registrations are named {:?} (appIds {}); name the one to use with --app-id, or choose another --app-name",
                several.len(),
                request.app_name,
                ids.join(", ")
            ))
            .with_code(crate::catalog::Code::AppNameAmbiguous));
        }
    }
    if report.planning() {
        let planned = super::plan::application(&request.app_name);
        record(report, &planned, Change::Created);
        return Ok(planned);
    }
    report.intend(
        ResourceKind::Application,
        &unique_name,
        &request.app_name,
        None,
    );
    let created = graph
        .upsert_application(&unique_name, &request.app_name, &[APPLICATION_TAG])
        .await?;
    let (application, change) = match created {
        Some(application) => (application, Change::Created),
        // It existed but was not yet visible: wait for replication.
        None => (
            until_visible(
                &request.pacing,
                &format!("reading the app registration applications(uniqueName='{unique_name}')"),
                || graph.application_by_unique_name(&unique_name),
            )
            .await?,
            Change::AlreadyPresent,
        ),
    };
    record(report, &application, change);
    ours(report, &application);
    Ok(application)
}

/// Refuses an app that anyone but the admin identity owns: it gets peering rights on the VNet.
async fn ensure_made_by_admin(
    graph: &Graph,
    application: &Application,
    admin: Option<&str>,
    request: &PrepareTenant,
) -> Result<(), PhaseError> {
    // An app made moments ago (by a crashed run, or another pipeline right now) may not have
    // replicated yet.
    let owners = despite_replication(
        &request.pacing,
        "reading the app registration's owners",
        || graph.owners(&application.id),
    )
    .await?;
    let admin_alone = !owners.is_empty()
        && admin.is_some_and(|admin| {
            owners
                .iter()
                .all(|owner| owner.id.eq_ignore_ascii_case(admin))
        });
    if admin_alone {
        return Ok(());
    }
    let named: Vec<String> = owners.iter().map(|owner| owner.describe()).collect();
    Err(PhaseError::failed(format!(
        "an app registration named {:?} (appId {}) exists but is owned by {}, not by the admin identity alone: any member of the tenant may register an app with this name. Adopt it only if you trust it, with --app-id {}, or choose another --app-name",
        request.app_name,
        application.app_id,
        if named.is_empty() {
            "nobody".to_string()
        } else {
            named.join(", ")
        },
        application.app_id
    ))
    .with_code(crate::catalog::Code::AppOwnedByOthers))
}

/// Warns about passwords and federated credentials on an adopted app that this tool did not
/// add: whoever holds them can sign in as the app and use its peering rights.
async fn warn_about_credentials_of(
    graph: &Graph,
    application: &Application,
) -> Result<(), PhaseError> {
    let mut foreign: Vec<String> = application
        .password_credentials
        .iter()
        .filter(|password| {
            !password
                .display_name
                .as_deref()
                .is_some_and(|name| name.starts_with(CREDENTIAL_PREFIX))
        })
        .map(|password| {
            format!(
                "password {:?} (keyId {})",
                password.display_name.as_deref().unwrap_or(""),
                password.key_id
            )
        })
        .collect();
    foreign.extend(
        graph
            .federated_credentials(&application.id)
            .await?
            .into_iter()
            .filter(|credential| !credential.name.starts_with(CREDENTIAL_PREFIX))
            .map(|credential| {
                format!(
                    "federated credential {} ({} {})",
                    credential.name, credential.issuer, credential.subject
                )
            }),
    );
    if !foreign.is_empty() {
        tracing::warn!(
            "the adopted app registration {} has {} credential(s) not added by this tool: {}; whoever holds them can sign in as the app and peer with the VNet: remove those you do not know",
            application.app_id,
            foreign.len(),
            foreign.join(", ")
        );
    }
    Ok(())
}
