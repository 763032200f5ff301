//! The seed's stored password (`--store-secret-in`): a long-lived app password kept in a GitHub
//! Actions secret, replaced before it expires (`--rotate-before`). A secret's value can never be
//! read back, so which password it holds is inferred: the newest of ours minted before the
//! secret's last write. A password the secret may hold is never removed: when the answer to
//! the secret write is lost, the write is repeated (it is safe to) until it is confirmed.

use super::{StoredSecret, despite_replication, until_visible};
use crate::error::PhaseError;
use crate::phases::Pacing;
use crate::report::{Change, Report};
use crate::state::ResourceKind;
use api_core::retry::{self, Step, Wait, WaitError};
use azure_api::Graph;
use azure_api::graph::PasswordCredential;
use github_api::GitHubError;
use std::time::SystemTime;

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

fn time_of(text: Option<&str>) -> Option<SystemTime> {
    text.and_then(|text| humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok())
}

/// The password the secret most likely holds: the newest of ours minted no later than the
/// secret's last write.
fn held_password(
    ours: &[PasswordCredential],
    secret_updated: Option<SystemTime>,
) -> Option<&PasswordCredential> {
    let updated = secret_updated?;
    ours.iter()
        .filter(|password| {
            time_of(password.start_date_time.as_deref()).is_some_and(|start| start <= updated)
        })
        .max_by_key(|password| time_of(password.start_date_time.as_deref()))
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
    let ours: Vec<PasswordCredential> = application
        .password_credentials
        .into_iter()
        .filter(|credential| credential.display_name.as_deref() == Some(display_name.as_str()))
        .collect();
    let secret = github.secret(&stored.target, &stored.name).await?;
    let now = SystemTime::now();
    let held = secret
        .as_ref()
        .and_then(|secret| held_password(&ours, time_of(secret.updated_at.as_deref())));
    let replacing = match held {
        Some(held) => {
            let end = time_of(held.end_date_time.as_deref());
            if end.is_some_and(|end| end > now + stored.rotate_before) {
                report.resource(
                    "GitHub secret",
                    &label,
                    &format!(
                        "app password {} until {}",
                        held.key_id,
                        held.end_date_time.as_deref().unwrap_or("?")
                    ),
                    Change::AlreadyPresent,
                );
                return Ok(());
            }
            tracing::info!(
                "the stored app password {} expires {}, within --rotate-before {}: replacing it",
                held.key_id,
                held.end_date_time.as_deref().unwrap_or("?"),
                humantime::format_duration(stored.rotate_before)
            );
            true
        }
        None => secret.is_some(),
    };
    let change = if replacing {
        Change::Changed
    } else {
        Change::Created
    };
    if report.planning() {
        report.would("GitHub secret", &label, &display_name, change);
        return Ok(());
    }
    let end = humantime::format_rfc3339_seconds(now + stored.lifetime).to_string();
    let password = despite_replication(pacing, "adding the stored password", || {
        graph.add_password(object_id, &display_name, &end)
    })
    .await?;
    crate::report::mask_in_ci_logs(&password.secret_text);
    let spec = stored.target.spec();
    if secret.is_none() {
        report.intend(
            ResourceKind::GitHubSecret,
            &stored.name,
            &label,
            Some(&spec),
        );
    }
    let wait = Wait::new(
        format!("the write of GitHub secret {label} to be confirmed"),
        pacing.replication_timeout,
        pacing.interval,
    );
    let written = retry::until(&wait, |_| async {
        match github
            .put_secret(&stored.target, &stored.name, &password.secret_text)
            .await
        {
            Ok(()) => Step::Done(()),
            // Writing the same value again is safe; whether the first write landed is not known.
            Err(error @ GitHubError::Unconfirmed { .. }) => Step::retry(PhaseError::from(error)),
            Err(error) => Step::Fail(PhaseError::from(error)),
        }
    })
    .await;
    match written {
        Ok(()) => {}
        Err(WaitError::Failed(error)) => {
            // The secret was not written: nobody holds the new password.
            let _ = graph.remove_password(object_id, &password.key_id).await;
            report.abandon(ResourceKind::GitHubSecret, &stored.name, Some(&spec));
            return Err(error);
        }
        Err(timed_out @ WaitError::TimedOut { .. }) => {
            // The secret may hold the new password, or still an old one: keep them all.
            return Err(PhaseError::because(
                format!(
                    "the GitHub secret {label} may or may not hold the new app password {}; every app password it may hold is kept. Re-run prepare-tenant",
                    password.key_id
                ),
                PhaseError::from(timed_out),
            ));
        }
    }
    // The secret now holds the new password: the earlier ones are nobody's.
    for previous in &ours {
        graph.remove_password(object_id, &previous.key_id).await?;
        tracing::info!("removed the replaced app password {}", previous.key_id);
    }
    report.resource(
        "GitHub secret",
        &label,
        &format!("app password {} until {end}", password.key_id),
        change,
    );
    report.created(
        ResourceKind::AppPassword,
        &password.key_id,
        &display_name,
        Some(object_id),
    );
    // Only a secret this run created is teardown's to delete: one that existed before (made
    // by hand, or holding something else) is left to its owner.
    if secret.is_none() {
        report.created(
            ResourceKind::GitHubSecret,
            &stored.name,
            &label,
            Some(&spec),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(key_id: &str, start: &str) -> PasswordCredential {
        PasswordCredential {
            key_id: key_id.into(),
            display_name: None,
            hint: None,
            start_date_time: Some(start.into()),
            end_date_time: None,
        }
    }

    #[test]
    fn the_secret_holds_the_newest_password_minted_before_its_last_write() {
        let ours = [
            password("old", "2025-01-01T00:00:00Z"),
            password("current", "2025-02-01T00:00:00Z"),
            password("orphan", "2025-03-01T00:00:00Z"),
        ];
        let written = time_of(Some("2025-02-01T00:00:05Z"));
        assert_eq!(held_password(&ours, written).unwrap().key_id, "current");
        assert!(held_password(&ours, time_of(Some("2024-12-01T00:00:00Z"))).is_none());
        assert!(held_password(&ours, None).is_none());
    }
}
