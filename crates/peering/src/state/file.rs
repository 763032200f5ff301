//! The state file: the outputs, what the tool created and the last failure, as pretty-printed
//! JSON with a version. Older versions are read as they were written.

use super::{CreatedResource, Failure, Outputs};
use crate::error::InputError;
use std::path::Path;

/// The version the state file is written in. Version 1 (before the `version` field existed)
/// held the same outputs without the field; version 2 added `version`; version 3 added
/// `created` and `failure`. Each is read as is.
pub const STATE_VERSION: u64 = 3;

/// The state file: `{"version": 3, "<output>": "<value>", …, "created": [...],
/// "failure": {...}}`, pretty-printed JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateFile {
    pub outputs: Outputs,
    /// What this tool created, so that teardown removes only that.
    pub created: Vec<CreatedResource>,
    /// The last failed phase and its error, until that phase succeeds.
    pub failure: Option<Failure>,
}

impl StateFile {
    pub fn load(path: &Path) -> Result<StateFile, InputError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => {
                return Err(InputError::new(
                    "--state",
                    format!("cannot read {}: {error}", path.display()),
                ));
            }
        };
        if text.trim().is_empty() {
            return Ok(StateFile::default());
        }
        Self::parse(&text).map_err(|reason| {
            InputError::new(
                "--state",
                format!(
                    "{} is not a state file of this tool: {reason}",
                    path.display()
                ),
            )
        })
    }

    /// Parses the JSON text of any version this build knows.
    pub fn parse(text: &str) -> Result<StateFile, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| error.to_string())?;
        let serde_json::Value::Object(map) = value else {
            return Err("expected a JSON object".into());
        };
        let version = match map.get("version") {
            None => 1,
            Some(version) => version
                .as_u64()
                .ok_or_else(|| format!("version {version} is not a number"))?,
        };
        if version > STATE_VERSION {
            return Err(format!(
                "it has version {version}, written by a newer release of this tool (this one reads up to {STATE_VERSION}); upgrade"
            ));
        }
        let mut state = StateFile::default();
        for (key, value) in &map {
            match key.as_str() {
                "version" => continue,
                "created" => {
                    state.created = serde_json::from_value(value.clone())
                        .map_err(|error| format!("created: {error}"))?;
                    continue;
                }
                "failure" => {
                    state.failure = serde_json::from_value(value.clone())
                        .map_err(|error| format!("failure: {error}"))?;
                    continue;
                }
                _ => {}
            }
            let serde_json::Value::String(text) = value else {
                return Err(format!("{key} is not a string"));
            };
            if !state.outputs.set(key, text.clone()) {
                return Err(format!("unknown field {key:?}"));
            }
        }
        Ok(state)
    }

    /// The JSON text: the version first, then the outputs in table order, then the records.
    pub fn to_json(&self) -> String {
        let quote = |text: &str| serde_json::to_string(text).expect("strings serialize");
        let nested = |value: serde_json::Value| {
            serde_json::to_string_pretty(&value)
                .expect("records serialize")
                .replace('\n', "\n  ")
        };
        let mut lines = vec![format!("  \"version\": {STATE_VERSION}")];
        for (name, value) in self.outputs.pairs() {
            lines.push(format!("  {}: {}", quote(name), quote(&value)));
        }
        if !self.created.is_empty() {
            let value = serde_json::to_value(&self.created).expect("records serialize");
            lines.push(format!("  \"created\": {}", nested(value)));
        }
        if let Some(failure) = &self.failure {
            let value = serde_json::to_value(failure).expect("records serialize");
            lines.push(format!("  \"failure\": {}", nested(value)));
        }
        format!("{{\n{}\n}}\n", lines.join(",\n"))
    }

    /// Takes a phase's news: its outputs, what it created (once each), and whether it failed.
    pub fn merge(
        &mut self,
        phase: crate::registry::Phase,
        outputs: &Outputs,
        created: &[CreatedResource],
        failure: Option<Failure>,
    ) {
        self.outputs.merge(outputs);
        for record in created {
            self.record(record.clone());
        }
        match failure {
            Some(failure) => self.failure = Some(failure),
            None if self
                .failure
                .as_ref()
                .is_some_and(|failed| failed.phase == phase.name()) =>
            {
                self.failure = None
            }
            None => {}
        }
    }

    /// Records a created resource unless it is recorded already.
    pub fn record(&mut self, record: CreatedResource) {
        super::records::merge_record(&mut self.created, record);
    }

    /// Forgets a created resource (teardown removed it).
    pub fn forget(&mut self, record: &CreatedResource) {
        self.created.retain(|known| !known.same_as(record));
    }

    /// Writes the file atomically: a sibling, then a rename.
    pub fn save(&self, path: &Path) -> Result<(), std::io::Error> {
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temporary, self.to_json())?;
        std::fs::rename(&temporary, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ResourceKind;

    #[test]
    fn reads_version_one_and_writes_the_current_version() {
        let old = StateFile::parse(r#"{"user_app_id":"a","peering_state":"ACTIVE"}"#).unwrap();
        assert_eq!(old.outputs.user_app_id.as_deref(), Some("a"));
        let text = old.to_json();
        assert!(
            text.starts_with("{\n  \"version\": 3,\n  \"user_app_id\": \"a\""),
            "{text}"
        );
        assert_eq!(StateFile::parse(&text).unwrap(), old);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for (text, reason) in [
            (r#"{"version":4}"#, "newer release"),
            (r#"{"user_app_secret":"x"}"#, "unknown field"),
            (r#"{"user_app_id":1}"#, "not a string"),
            ("[]", "JSON object"),
        ] {
            let error = StateFile::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn keeps_records_once_and_clears_a_failure_when_its_phase_succeeds() {
        use crate::registry::Phase;
        let record =
            CreatedResource::new(ResourceKind::RoleAssignment, "/a/b", "user app on the VNet");
        let mut state = StateFile::default();
        let failure = Failure {
            phase: "prepare-tenant".into(),
            code: Some("AZP-WAIT-TIMED-OUT".into()),
            message: "late".into(),
        };
        state.merge(
            Phase::PrepareTenant,
            &Outputs::default(),
            std::slice::from_ref(&record),
            Some(failure),
        );
        state.merge(
            Phase::RequestPeering,
            &Outputs::default(),
            std::slice::from_ref(&record),
            None,
        );
        assert_eq!(state.created.len(), 1);
        assert!(state.failure.is_some(), "another phase's success keeps it");
        let text = state.to_json();
        assert_eq!(StateFile::parse(&text).unwrap(), state);
        state.merge(Phase::PrepareTenant, &Outputs::default(), &[], None);
        assert_eq!(state.failure, None);
        state.forget(&record);
        assert!(state.created.is_empty());
    }
}
