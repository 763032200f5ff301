//! `--plan`'s output: the changes a phase would make as a table for a terminal, as JSON for
//! machines, and in the step summary (the same table as a real run's, with what it would do).

use crate::error::PhaseError;
use crate::report::{Change, PlanFormat, Report, Sinks, append};
use crate::state::Failure;
use std::fmt::Write as _;
use std::io::Write as _;

impl Report {
    /// The plan as a table for a terminal.
    pub fn plan_text(&self) -> String {
        let count = |change: Change| {
            self.resources
                .iter()
                .filter(|resource| resource.change == change)
                .count()
        };
        let mut text = format!(
            "plan of {}: {} to create, {} to update, {} to delete, {} to reuse; nothing was changed\n",
            self.phase,
            count(Change::Created),
            count(Change::Changed),
            count(Change::Removed),
            count(Change::AlreadyPresent)
        );
        let kind_width = self
            .resources
            .iter()
            .map(|resource| resource.kind.len())
            .max()
            .unwrap_or(0);
        let name_width = self
            .resources
            .iter()
            .map(|resource| resource.name.len())
            .max()
            .unwrap_or(0);
        for resource in &self.resources {
            let _ = writeln!(
                text,
                "  {:<7} {:<kind_width$}  {:<name_width$}  {}",
                resource.change.plan_label(),
                resource.kind,
                resource.name,
                resource.id
            );
        }
        text
    }

    /// The plan as JSON: `{"phase", "changes": [{"change", "resource", "name", "scope"}]}`.
    pub fn plan_json(&self, failure: Option<&Failure>) -> String {
        let changes: Vec<serde_json::Value> = self
            .resources
            .iter()
            .map(|resource| {
                serde_json::json!({
                    "change": resource.change.plan_label(),
                    "resource": resource.kind,
                    "name": resource.name,
                    "scope": resource.id,
                })
            })
            .collect();
        let value = serde_json::json!({
            "phase": self.phase.name(),
            "changes": changes,
            "would_fail": failure.map(|failure| serde_json::json!({
                "code": failure.code,
                "message": failure.message,
            })),
        });
        serde_json::to_string_pretty(&value).expect("JSON serializes")
    }
}

impl Sinks {
    /// `--plan`: the plan on stdout and in the step summary; the state file and the CI outputs
    /// are left as they are (a plan changes nothing, not even locally).
    pub(crate) fn write_plan(
        &self,
        report: &Report,
        format: PlanFormat,
        failure: Option<&Failure>,
    ) -> Result<(), PhaseError> {
        let text = match format {
            PlanFormat::Table => report.plan_text(),
            PlanFormat::Json => report.plan_json(failure) + "\n",
        };
        let stdout = std::io::stdout();
        let mut stdout = stdout.lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
        if let Some(path) = &self.github_step_summary {
            append(path, &report.summary_markdown(failure))?;
        }
        Ok(())
    }
}
