//! The app's federated identity credentials for CI OIDC subjects, when asked for (the stored
//! password lives in `stored_secret`).

use super::{FederatedSubject, despite_replication};
use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use azure_api::Graph;

/// The longest federated credential name Graph accepts.
pub const MAX_FEDERATED_CREDENTIAL_NAME: usize = 120;

/// The name a federated credential gets: `aiven-peering-`, the subject made URL-friendly
/// (letters, digits, `-`, `_`) and cut to fit, then a hash of issuer and subject, so that two
/// subjects alike in their first characters, or one subject from two issuers, never collide;
/// at most [`MAX_FEDERATED_CREDENTIAL_NAME`] characters.
pub fn federated_credential_name(issuer: &str, subject: &str) -> String {
    let hash = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("aiven-peering/federated/{issuer}\n{subject}").as_bytes(),
    )
    .simple()
    .to_string();
    let hash = &hash[..16];
    let prefix = format!("{}-", super::CREDENTIAL_PREFIX);
    let room = MAX_FEDERATED_CREDENTIAL_NAME - prefix.len() - 1 - hash.len();
    let readable: String = subject
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '-' || character == '_' {
                character
            } else {
                '-'
            }
        })
        .take(room)
        .collect();
    let readable = readable.trim_matches('-');
    if readable.is_empty() {
        format!("{prefix}{hash}")
    } else {
        format!("{prefix}{readable}-{hash}")
    }
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
    let name = federated_credential_name(&wanted.issuer, &wanted.subject);
    if report.planning() {
        report.would("federated credential", &label, &name, Change::Created);
        return Ok(());
    }
    report.intend(
        ResourceKind::FederatedCredential,
        &name,
        &label,
        Some(object_id),
    );
    let created = despite_replication(pacing, "adding a federated credential", || {
        graph.create_federated_credential(
            object_id,
            &name,
            &wanted.issuer,
            &wanted.subject,
            github_api::AZURE_TOKEN_EXCHANGE_AUDIENCE,
        )
    })
    .await;
    let (name, change) = match created {
        Ok(created) => {
            report.created(
                ResourceKind::FederatedCredential,
                &created.id,
                &label,
                Some(object_id),
            );
            (created.name, Change::Created)
        }
        // Another run made it at the same moment (issuer and subject are unique per app).
        Err(PhaseError::Azure(error)) if error.status() == Some(409) => {
            let again = graph.federated_credentials(object_id).await?;
            let found = again.into_iter().find(|credential| {
                credential.issuer == wanted.issuer && credential.subject == wanted.subject
            });
            match found {
                Some(found) => (found.name, Change::AlreadyPresent),
                None => return Err(error.into()),
            }
        }
        Err(error) => return Err(error),
    };
    report.resource("federated credential", &label, &name, change);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: names were "aiven-peering-" + 110 characters of the subject (124 > 120), and
    // subjects alike in their first 110 characters, or one subject from two issuers, collided.
    #[test]
    fn federated_credential_names_fit_graph_and_never_collide() {
        let github = "https://token.actions.githubusercontent.com";
        let long = format!("repo:acme/{}", "x".repeat(200));
        let names = [
            federated_credential_name(github, &format!("{long}:environment:blue")),
            federated_credential_name(github, &format!("{long}:environment:green")),
            federated_credential_name(github, "repo:acme/infra:environment:production"),
            federated_credential_name(
                "https://gitlab.example.com",
                "repo:acme/infra:environment:production",
            ),
        ];
        for name in &names {
            assert!(
                name.chars().count() <= MAX_FEDERATED_CREDENTIAL_NAME,
                "{name}"
            );
            assert!(
                name.chars()
                    .all(|character| character.is_ascii_alphanumeric() || "-_".contains(character)),
                "{name}"
            );
        }
        let distinct: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert_eq!(
            names[2],
            federated_credential_name(github, "repo:acme/infra:environment:production"),
            "stable across runs"
        );
        assert!(names[2].starts_with("aiven-peering-repo-acme-infra-environment-production-"));
    }
}
