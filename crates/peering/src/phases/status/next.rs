//! The next step, decided from what status observed (pure, so each case is one line of a
//! test), and the observation as rows of a table.

use super::{AivenSide, Observation};
use aiven_api::ConnectionState;
use api_core::retry::short_duration;

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Aiven says ACTIVE and the user side is Connected and in sync.
    Nothing { note: Option<String> },
    /// Run a phase (with extra flags), for the reason given.
    Run {
        phase: &'static str,
        flags: &'static str,
        why: String,
    },
    /// Something outside the procedure must be fixed first.
    Fix { what: String },
}

impl Next {
    pub fn is_done(&self) -> bool {
        matches!(self, Next::Nothing { .. })
    }

    /// The one line status ends with.
    pub fn line(&self) -> String {
        match self {
            Next::Nothing { note: None } => "next: nothing, the peering is ACTIVE".to_string(),
            Next::Nothing { note: Some(note) } => {
                format!("next: nothing, the peering is ACTIVE ({note})")
            }
            Next::Run { phase, flags, why } => {
                let flags = if flags.is_empty() {
                    String::new()
                } else {
                    format!(" {flags}")
                };
                format!("next: run {phase}{flags} ({why})")
            }
            Next::Fix { what } => format!("next: fix {what}"),
        }
    }
}

fn run(phase: &'static str, flags: &'static str, why: impl Into<String>) -> Next {
    Next::Run {
        phase,
        flags,
        why: why.into(),
    }
}

fn for_how_long(state: &ConnectionState, since: Option<std::time::Duration>) -> String {
    match since {
        Some(since) => format!("Aiven has been {state} for {}", short_duration(since)),
        None => format!("Aiven is {state}"),
    }
}

/// Decides the next step.
pub fn next_step(seen: &Observation) -> Next {
    let expired = seen
        .app
        .iter()
        .flat_map(|app| app.stored_passwords.iter())
        .find(|password| password.expired);
    let ready = matches!(
        &seen.aiven,
        AivenSide::Connection {
            state: ConnectionState::Active,
            ..
        }
    ) && seen.user_peering.as_ref().is_some_and(|peering| {
        peering.state == "Connected"
            && peering
                .sync_level
                .as_deref()
                .is_none_or(|level| level == "FullyInSync")
    });
    if ready {
        return Next::Nothing {
            note: expired.map(|password| {
                format!(
                    "the stored app password {} expired at {}: re-run prepare-tenant --store-secret-in before the next accept-peering",
                    password.key_id, password.end
                )
            }),
        };
    }
    if !seen.vnet_found {
        return Next::Fix {
            what: format!(
                "the VNet: {} does not exist (AZP-AZURE-VNET-NOT-FOUND)",
                seen.vnet_id
            ),
        };
    }
    let mut missing = Vec::new();
    for (present, what) in [
        (seen.app.is_some(), "app registration"),
        (seen.user_sp.is_some(), "app's service principal"),
        (seen.aiven_sp.is_some(), "Aiven's service principal"),
        (seen.user_assignment.is_some(), "app's role on the VNet"),
        (seen.aiven_assignment.is_some(), "Aiven's role on the VNet"),
    ] {
        if !present {
            missing.push(what);
        }
    }
    if !missing.is_empty() {
        return run(
            "prepare-tenant",
            "",
            format!("missing: {}", missing.join(", ")),
        );
    }
    if let Some(password) = expired {
        return run(
            "prepare-tenant",
            "--store-secret-in …",
            format!(
                "the stored app password {} expired at {}; it rotates it",
                password.key_id, password.end
            ),
        );
    }
    let (state, message, since) = match &seen.aiven {
        AivenSide::NotAsked => {
            return run(
                "request-peering",
                "--project …",
                "no Aiven project given or recorded, so the Aiven side was not read",
            );
        }
        AivenSide::NoConnection => {
            return run("request-peering", "", "Aiven has no connection to the VNet");
        }
        AivenSide::Connection {
            state,
            message,
            since,
            ..
        } => (state, message, since),
    };
    if state.is_failure() {
        return run(
            "request-peering",
            "--recreate",
            format!(
                "Aiven says {state}: {}",
                message.as_deref().unwrap_or("no explanation given")
            ),
        );
    }
    if !matches!(
        state,
        ConnectionState::PendingPeer | ConnectionState::Active
    ) {
        return run(
            "request-peering",
            "",
            format!("{}; it waits for PENDING_PEER", for_how_long(state, *since)),
        );
    }
    match &seen.user_peering {
        None => run("accept-peering", "", for_how_long(state, *since)),
        Some(peering) if peering.state == "Disconnected" => run(
            "accept-peering",
            "",
            format!(
                "your peering {} is Disconnected; it deletes and re-creates it",
                peering.name
            ),
        ),
        Some(peering) if !peering.vnet_access => run(
            "accept-peering",
            "",
            format!("your peering {} does not allow VNet access", peering.name),
        ),
        Some(peering) => run(
            "await-active",
            "",
            format!(
                "{}, your peering {} is {}",
                for_how_long(state, *since),
                peering.name,
                peering.state
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AppFacts, PeeringFacts, StoredPassword};
    use super::*;

    fn prepared() -> Observation {
        let id = |text: &str| Some(text.to_string());
        Observation {
            vnet_id:
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v"
                    .into(),
            vnet_found: true,
            app: Some(AppFacts {
                app_id: "a".into(),
                object_id: "o".into(),
                stored_passwords: vec![],
            }),
            user_sp: id("u"),
            aiven_sp: id("s"),
            user_role: id("r1"),
            aiven_role: id("r2"),
            user_assignment: id("x1"),
            aiven_assignment: id("x2"),
            aiven: AivenSide::NoConnection,
            user_peering: None,
        }
    }

    fn connection(state: &str) -> AivenSide {
        AivenSide::Connection {
            state: ConnectionState::parse(state),
            message: Some("why".into()),
            since: Some(std::time::Duration::from_secs(240)),
            aiven_vnet_id: None,
        }
    }

    fn peering(state: &str, sync: &str) -> Option<PeeringFacts> {
        Some(PeeringFacts {
            name: "p".into(),
            state: state.into(),
            sync_level: Some(sync.into()),
            vnet_access: true,
        })
    }

    fn check(change: impl FnOnce(&mut Observation), expected: &str) {
        let mut seen = prepared();
        change(&mut seen);
        assert_eq!(next_step(&seen).line(), expected);
    }

    #[test]
    fn each_point_of_the_procedure_names_its_next_step() {
        check(
            |seen| seen.vnet_found = false,
            "next: fix the VNet: /subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v does not exist (AZP-AZURE-VNET-NOT-FOUND)",
        );
        check(
            |seen| {
                seen.app = None;
                seen.user_sp = None
            },
            "next: run prepare-tenant (missing: app registration, app's service principal)",
        );
        check(
            |seen| seen.aiven_assignment = None,
            "next: run prepare-tenant (missing: Aiven's role on the VNet)",
        );
        check(
            |seen| seen.aiven = AivenSide::NotAsked,
            "next: run request-peering --project … (no Aiven project given or recorded, so the Aiven side was not read)",
        );
        check(
            |_| {},
            "next: run request-peering (Aiven has no connection to the VNet)",
        );
        check(
            |seen| seen.aiven = connection("APPROVED"),
            "next: run request-peering (Aiven has been APPROVED for 4m0s; it waits for PENDING_PEER)",
        );
        check(
            |seen| seen.aiven = connection("INVALID_SPECIFICATION"),
            "next: run request-peering --recreate (Aiven says INVALID_SPECIFICATION: why)",
        );
        check(
            |seen| seen.aiven = connection("PENDING_PEER"),
            "next: run accept-peering (Aiven has been PENDING_PEER for 4m0s)",
        );
        check(
            |seen| {
                seen.aiven = connection("ACTIVE");
                seen.user_peering = peering("Disconnected", "RemoteNotInSync")
            },
            "next: run accept-peering (your peering p is Disconnected; it deletes and re-creates it)",
        );
        check(
            |seen| {
                seen.aiven = connection("PENDING_PEER");
                seen.user_peering = peering("Connected", "FullyInSync")
            },
            "next: run await-active (Aiven has been PENDING_PEER for 4m0s, your peering p is Connected)",
        );
        check(
            |seen| {
                seen.aiven = connection("ACTIVE");
                seen.user_peering = peering("Connected", "FullyInSync")
            },
            "next: nothing, the peering is ACTIVE",
        );
        let expired = |seen: &mut Observation| {
            seen.app
                .as_mut()
                .unwrap()
                .stored_passwords
                .push(StoredPassword {
                    key_id: "k".into(),
                    display_name: "d".into(),
                    end: "2020-01-01T00:00:00Z".into(),
                    expired: true,
                });
        };
        check(
            |seen| {
                expired(seen);
                seen.aiven = connection("PENDING_PEER")
            },
            "next: run prepare-tenant --store-secret-in … (the stored app password k expired at 2020-01-01T00:00:00Z; it rotates it)",
        );
    }
}
