//! The observation as the rows of status's table.

use super::{AivenSide, Observation};
use api_core::retry::short_duration;

/// The observation as (resource, name, state) rows.
pub fn rows(seen: &Observation) -> Vec<(String, String, String)> {
    let present = |value: &Option<String>| match value {
        Some(id) => format!("present ({id})"),
        None => "missing".to_string(),
    };
    let mut rows = vec![(
        "virtual network".to_string(),
        seen.vnet_id.clone(),
        if seen.vnet_found {
            "present"
        } else {
            "missing"
        }
        .to_string(),
    )];
    rows.push((
        "app registration".into(),
        String::new(),
        match &seen.app {
            Some(app) => format!("present (appId {})", app.app_id),
            None => "missing".into(),
        },
    ));
    for password in seen.app.iter().flat_map(|app| app.stored_passwords.iter()) {
        rows.push((
            "app password".into(),
            password.display_name.clone(),
            format!(
                "{} {}",
                if password.expired {
                    "expired"
                } else {
                    "valid until"
                },
                password.end
            ),
        ));
    }
    for (resource, name, value) in [
        ("service principal", "your app", &seen.user_sp),
        ("service principal", "Aiven", &seen.aiven_sp),
        ("custom role", "your app", &seen.user_role),
        ("custom role", "Aiven", &seen.aiven_role),
        (
            "role assignment",
            "your app on the VNet",
            &seen.user_assignment,
        ),
        (
            "role assignment",
            "Aiven on the VNet",
            &seen.aiven_assignment,
        ),
    ] {
        rows.push((resource.into(), name.into(), present(value)));
    }
    rows.push((
        "Aiven connection".into(),
        String::new(),
        match &seen.aiven {
            AivenSide::NotAsked => "not read (no project)".into(),
            AivenSide::NoConnection => "missing".into(),
            AivenSide::Connection {
                state,
                message,
                since,
                ..
            } => {
                let mut text = state.to_string();
                if let Some(since) = since {
                    text.push_str(&format!(" for {}", short_duration(*since)));
                }
                if let Some(message) = message.as_ref().filter(|_| state.is_failure()) {
                    text.push_str(&format!(": {message}"));
                }
                text
            }
        },
    ));
    rows.push((
        "VNet peering".into(),
        seen.user_peering
            .as_ref()
            .map(|peering| peering.name.clone())
            .unwrap_or_default(),
        match &seen.user_peering {
            Some(peering) => format!(
                "{}, {}",
                peering.state,
                peering
                    .sync_level
                    .as_deref()
                    .unwrap_or("sync level unknown")
            ),
            None => "missing".into(),
        },
    ));
    rows
}
