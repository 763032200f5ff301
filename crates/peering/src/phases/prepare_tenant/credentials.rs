//! The app's long-lived ways to sign in, when asked for: federated identity credentials for CI
//! OIDC subjects, and the seed's stored password kept in a GitHub Actions secret.

use super::{FederatedSubject, StoredSecret, despite_replication, until_visible};
use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use azure_api::Graph;

/// The name a federated credential gets: the subject made safe (letters, digits, - and _).
pub fn federated_credential_name(subject: &str) -> String {
    let mut name: String = subject
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '-' || character == '_' {
                character
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(110);
    format!("aiven-peering-{}", name.trim_matches('-'))
}

/// The most federated identity credentials Graph allows on one app.
const MAX_FEDERATED_CREDENTIALS: usize = 20;

pub(super) async fn ensure_federated_credential(
    graph: &Graph,
    object_id: &str,
    wanted: &FederatedSubject,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let label = format!("{} {}", wanted.issuer, wanted.subject);
    let existing = match super::plan::is_planned(object_id) {
        true => Vec::new(),
        false => {
            despite_replication(pacing, "listing the app's federated credentials", || {
                graph.federated_credentials(object_id)
            })
            .await?
        }
    };
    if let Some(found) = existing.iter().find(|credential| {
        credential.issuer == wanted.issuer && credential.subject == wanted.subject
    }) {
        report.resource(
            "federated credential",
            &label,
            &found.name,
            Change::AlreadyPresent,
        );
        return Ok(());
    }
    if existing.len() >= MAX_FEDERATED_CREDENTIALS {
        return Err(PhaseError::failed(format!(
            "the app already has {} federated credentials, the most Microsoft Graph allows; remove unused ones",
            existing.len()
        ))
        .with_code(crate::catalog::Code::FederatedCredentialLimit));
    }
    let name = federated_credential_name(&wanted.subject);
    if report.planning() {
        report.would("federated credential", &label, &name, Change::Created);
        return Ok(());
    }
    let created = despite_replication(pacing, "adding a federated credential", || {
        graph.create_federated_credential(
            object_id,
            &name,
            &wanted.issuer,
            &wanted.subject,
            github_api::AZURE_TOKEN_EXCHANGE_AUDIENCE,
        )
    })
    .await?;
    report.resource(
        "federated credential",
        &label,
        &created.name,
        Change::Created,
    );
    report.created(
        ResourceKind::FederatedCredential,
        &created.id,
        &label,
        Some(object_id),
    );
    Ok(())
}

/// The display-name prefix of the long-lived passwords kept in GitHub secrets (status looks
/// for their expiry).
pub const STORED_PASSWORD_PREFIX: &str = "aiven-peering stored in";

/// Display name of the long-lived password kept in a GitHub secret.
fn stored_password_name(stored: &StoredSecret) -> String {
    format!(
        "{STORED_PASSWORD_PREFIX} {} as {}",
        stored.target, stored.name
    )
}

pub(super) async fn ensure_stored_secret(
    graph: &Graph,
    github: &github_api::GitHub,
    object_id: &str,
    stored: &StoredSecret,
    pacing: &Pacing,
    report: &mut Report,
) -> Result<(), PhaseError> {
    let label = format!("{} in {}", stored.name, stored.target);
    let display_name = stored_password_name(stored);
    if super::plan::is_planned(object_id) {
        report.would("GitHub secret", &label, &display_name, Change::Created);
        return Ok(());
    }
    let application = until_visible(pacing, "reading the app registration", || {
        graph.application(object_id)
    })
    .await?;
    let previous: Vec<String> = application
        .password_credentials
        .iter()
        .filter(|credential| credential.display_name.as_deref() == Some(display_name.as_str()))
        .map(|credential| credential.key_id.clone())
        .collect();
    // An expired password is no password: it is replaced like a missing one.
    let now = std::time::SystemTime::now();
    let valid: Vec<&String> = application
        .password_credentials
        .iter()
        .filter(|credential| {
            previous.contains(&credential.key_id)
                && credential
                    .end_date_time
                    .as_deref()
                    .and_then(|end| humantime::parse_rfc3339_weak(end.trim_end_matches('Z')).ok())
                    .is_none_or(|end| end > now)
        })
        .map(|credential| &credential.key_id)
        .collect();
    let secret_exists = github.secret_exists(&stored.target, &stored.name).await?;
    if secret_exists && !valid.is_empty() {
        report.resource(
            "GitHub secret",
            &label,
            &format!("app password {}", valid[0]),
            Change::AlreadyPresent,
        );
        return Ok(());
    }
    if report.planning() {
        report.would("GitHub secret", &label, &display_name, Change::Created);
        return Ok(());
    }
    let end = humantime::format_rfc3339_seconds(std::time::SystemTime::now() + stored.lifetime)
        .to_string();
    let password = despite_replication(pacing, "adding the stored password", || {
        graph.add_password(object_id, &display_name, &end)
    })
    .await?;
    crate::report::mask_in_ci_logs(&password.secret_text);
    if let Err(error) = github
        .put_secret(&stored.target, &stored.name, &password.secret_text)
        .await
    {
        // Never leave a password nobody holds.
        let _ = graph.remove_password(object_id, &password.key_id).await;
        return Err(error.into());
    }
    for key_id in previous {
        graph.remove_password(object_id, &key_id).await?;
        tracing::info!("removed the replaced app password {key_id}");
    }
    report.resource(
        "GitHub secret",
        &label,
        &format!("app password {} until {end}", password.key_id),
        Change::Created,
    );
    report.created(
        ResourceKind::AppPassword,
        &password.key_id,
        &display_name,
        Some(object_id),
    );
    // Only a secret this run created is teardown's to delete: one that existed before (made
    // by hand, or holding something else) is left to its owner.
    if !secret_exists {
        report.created(
            ResourceKind::GitHubSecret,
            &stored.name,
            &label,
            Some(&stored.target.spec()),
        );
    }
    Ok(())
}
