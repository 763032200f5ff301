//! The multi-tenant app registration (seed steps 1–2): found by its `uniqueName`, adopted when
//! made by hand, or upserted so that a crash between create and record never makes a twin.

use super::{PrepareTenant, until_visible};
use crate::error::PhaseError;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use azure_api::Graph;
use azure_api::graph::Application;

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
    // Only this tool names apps by its `uniqueName`: one found by it is this tool's.
    let ours = |report: &mut Report, application: &Application| {
        report.created(
            ResourceKind::Application,
            &application.id,
            &request.app_name,
            None,
        );
    };
    if let Some(application) = graph.application_by_unique_name(&unique_name).await? {
        record(report, &application, Change::AlreadyPresent);
        ours(report, &application);
        return Ok(application);
    }
    // An app of that display name made by hand (seed step 2) is adopted, but only when there is
    // exactly one: display names are not unique.
    let named = graph.applications_named(&request.app_name).await?;
    match named.as_slice() {
        [] => {}
        [application] => {
            tracing::info!(
                "adopting the existing app registration {} (appId {}) made outside this tool",
                request.app_name,
                application.app_id
            );
            record(report, application, Change::AlreadyPresent);
            return Ok(application.clone());
        }
        several => {
            let ids: Vec<&str> = several
                .iter()
                .map(|application| application.app_id.as_str())
                .collect();
            return Err(PhaseError::failed(format!(
                "{} app registrations are named {:?} (appIds {}); delete the extra ones or choose another --app-name",
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
    let created = graph
        .upsert_application(&unique_name, &request.app_name)
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
