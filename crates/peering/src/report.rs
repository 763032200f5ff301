//! What a phase did, and where it is written: stdout (`name=value`), the state file,
//! `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` and a GitLab dotenv file. Nothing here ever sees a
//! secret: only [`Outputs`] and resource descriptions are written.

use crate::error::PhaseError;
use crate::registry::Phase;
use crate::state::{CreatedResource, Failure, Outputs, ResourceKind, StateFile};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

/// In GitHub Actions, asks the runner to mask a secret this process handles, so that no later
/// log line of the job can show it. The runner consumes `::add-mask::` lines; they never reach
/// the log. Elsewhere this does nothing.
pub fn mask_in_ci_logs(secret: &api_core::Secret) {
    let in_github = api_core::env_vars::non_empty(api_core::env_vars::GITHUB_ACTIONS)
        .is_some_and(|value| value == "true");
    if in_github && !secret.is_empty() {
        let stdout = std::io::stdout();
        let mut stdout = stdout.lock();
        let _ = writeln!(stdout, "::add-mask::{}", secret.expose());
        let _ = stdout.flush();
    }
}

/// What happened to one remote resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    AlreadyPresent,
    Changed,
    Removed,
    Waited,
    /// Looked for and not there (status).
    Missing,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::AlreadyPresent => "already present",
            Self::Changed => "changed",
            Self::Removed => "removed",
            Self::Waited => "waited",
            Self::Missing => "missing",
        }
    }

    /// How a plan names it: what the real run would do.
    pub fn plan_label(self) -> &'static str {
        match self {
            Self::Created => "create",
            Self::AlreadyPresent => "reuse",
            Self::Changed => "update",
            Self::Removed => "delete",
            Self::Waited => "wait",
            Self::Missing => "missing",
        }
    }

    /// Whether the change is a write (what a plan is about).
    pub fn writes(self) -> bool {
        matches!(self, Self::Created | Self::Changed | Self::Removed)
    }
}

/// How `--plan` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    Table,
    Json,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub name: String,
    pub id: String,
    pub change: Change,
}

/// A phase's result, filled in as it goes so that a failed phase still reports what it
/// learned: its outputs, the resources it looked at, and what it created.
#[derive(Debug, Clone)]
pub struct Report {
    pub phase: Phase,
    pub outputs: Outputs,
    pub resources: Vec<Resource>,
    /// What this run created, for the state file (teardown removes only these).
    pub created: Vec<CreatedResource>,
    /// A phase that only reads (status) leaves the state file as it is.
    pub read_only: bool,
    /// The exit code of a run that did not fail but is not done either (status: not ready).
    pub exit_code: u8,
    /// What to do next, when the phase knows (status).
    pub next_step: Option<String>,
    /// `--plan`: the phase only reads; its resources are what the real run would do to them,
    /// with the scope (or the id of what exists) as their id.
    pub plan: Option<PlanFormat>,
    /// The state file each created object is recorded in as soon as it exists (write-ahead),
    /// with the outputs known so far, so a run killed mid-way leaves what teardown needs.
    pub state_file: Option<PathBuf>,
}

impl Report {
    pub fn new(phase: Phase) -> Self {
        Self {
            phase,
            outputs: Outputs::default(),
            resources: Vec::new(),
            created: Vec::new(),
            read_only: false,
            exit_code: 0,
            next_step: None,
            plan: None,
            state_file: None,
        }
    }

    /// Whether this is a `--plan` run: no write request may be made.
    pub fn planning(&self) -> bool {
        self.plan.is_some()
    }

    /// `--plan`: the change the real run would make to one resource (`scope` says where; an
    /// existing object's id says which).
    pub fn would(&mut self, kind: &str, name: &str, scope: &str, change: Change) {
        tracing::info!("plan: {} {kind} {name} ({scope})", change.plan_label());
        self.resources.push(Resource {
            kind: kind.to_string(),
            name: name.to_string(),
            id: scope.to_string(),
            change,
        });
    }

    /// Records that this tool created (or, by its deterministic identity, owns) an object.
    pub fn created(&mut self, kind: ResourceKind, id: &str, name: &str, parent: Option<&str>) {
        let mut record = CreatedResource::new(kind, id, name);
        if let Some(parent) = parent {
            record = record.within(parent);
        }
        if crate::state::merge_record(&mut self.created, record) {
            self.record_ahead();
        }
    }

    /// Records, before a create request is sent, that this tool is creating an object (see
    /// [`CreatedResource::pending`] for `key`): a run killed while the request is in flight, or
    /// while another request of a concurrent part is, leaves teardown what it needs to find it.
    /// [`Report::created`] replaces it once the object is known. A plan records nothing.
    pub fn intend(&mut self, kind: ResourceKind, key: &str, name: &str, parent: Option<&str>) {
        if self.planning() {
            return;
        }
        let mut record = CreatedResource::pending(kind, key, name);
        record.parent = parent.map(str::to_string);
        if crate::state::merge_record(&mut self.created, record) {
            self.record_ahead();
        }
    }

    /// Drops the pending record of a create that was refused (so nothing was made): teardown
    /// must not remove an object of that name someone makes later.
    pub fn abandon(&mut self, kind: ResourceKind, key: &str, parent: Option<&str>) {
        let mut record = CreatedResource::pending(kind, key, "");
        record.parent = parent.map(str::to_string);
        self.created.retain(|known| !known.same_as(&record));
        self.update_state_file("cannot update", |state| state.forget(&record));
    }

    /// Writes the records and outputs so far into the state file at once.
    fn record_ahead(&self) {
        self.update_state_file("cannot record what was created in", |state| {
            state.outputs.merge(&self.outputs);
            for record in &self.created {
                state.record(record.clone());
            }
        });
    }

    /// Loads the state file, changes it and saves it, unless there is none or this is a plan.
    /// A failure here is not the phase's (the state file is written again at the end): it is
    /// logged as `failing` followed by the path.
    fn update_state_file(&self, failing: &str, change: impl FnOnce(&mut StateFile)) {
        let Some(path) = self.state_file.as_ref().filter(|_| !self.planning()) else {
            return;
        };
        let saved = StateFile::load(path)
            .map_err(|error| std::io::Error::other(error.to_string()))
            .and_then(|mut state| {
                change(&mut state);
                state.save(path)
            });
        if let Err(error) = saved {
            tracing::warn!("{failing} {} yet: {error}", path.display());
        }
    }

    /// A report for one of several concurrent parts of this phase: the same phase, plan and
    /// state file (so each part's records are written ahead as they are made), absorbed back
    /// into this one with [`Report::absorb`].
    pub fn part(&self) -> Report {
        let mut part = Report::new(self.phase);
        part.plan = self.plan;
        part.state_file = self.state_file.clone();
        part.read_only = self.read_only;
        part
    }

    /// Takes in what a part of this phase run concurrently learned and made, after what this
    /// report holds (parts are absorbed in a fixed order, so the report reads the same each run).
    pub fn absorb(&mut self, part: Report) {
        self.outputs.merge(&part.outputs);
        self.resources.extend(part.resources);
        for record in part.created {
            crate::state::merge_record(&mut self.created, record);
        }
    }

    /// Records a resource and logs it in the "what it found, created or reused" style.
    pub fn resource(&mut self, kind: &str, name: &str, id: &str, change: Change) {
        if self.planning() {
            return self.would(kind, name, id, change);
        }
        match change {
            Change::AlreadyPresent => tracing::info!("{kind} {name} already exists ({id})"),
            Change::Created => tracing::info!("created {kind} {name} ({id})"),
            Change::Changed => tracing::info!("updated {kind} {name} ({id})"),
            Change::Removed => tracing::info!("removed {kind} {name} ({id})"),
            Change::Waited => tracing::info!("{kind} {name} is ready ({id})"),
            Change::Missing => tracing::info!("{kind} {name} is missing"),
        }
        self.resources.push(Resource {
            kind: kind.to_string(),
            name: name.to_string(),
            id: id.to_string(),
            change,
        });
    }

    /// The Markdown table for `$GITHUB_STEP_SUMMARY`, and the failure if there was one.
    pub fn summary_markdown(&self, failure: Option<&Failure>) -> String {
        let mut text = match self.planning() {
            false => format!(
                "### {}\n\n| resource | name | result | id |\n|---|---|---|---|\n",
                self.phase
            ),
            true => format!(
                "### {} --plan (nothing was changed)\n\n| resource | name | would | scope or id |\n|---|---|---|---|\n",
                self.phase
            ),
        };
        for resource in &self.resources {
            let change = match self.planning() {
                false => resource.change.label(),
                true => resource.change.plan_label(),
            };
            let _ = writeln!(
                text,
                "| {} | {} | {} | `{}` |",
                resource.kind,
                escape_cell(&resource.name),
                change,
                escape_cell(&resource.id)
            );
        }
        text.push('\n');
        if let Some(next) = &self.next_step {
            let _ = writeln!(text, "`{}`\n", next.replace('`', "'"));
        }
        if let Some(failure) = failure {
            let code = failure
                .code
                .as_deref()
                .map(|code| format!(" `{code}`"))
                .unwrap_or_default();
            let failed = match self.planning() {
                false => "**Failed**",
                true => "**The run would fail**",
            };
            let _ = writeln!(text, "{failed}{code}: {}\n", escape_cell(&failure.message));
        }
        text
    }
}

fn escape_cell(value: &str) -> String {
    value.replace('|', "\\|").replace('\n', " ")
}

/// Where outputs go besides stdout.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    pub state_file: Option<PathBuf>,
    pub github_output: Option<PathBuf>,
    pub github_step_summary: Option<PathBuf>,
    pub dotenv: Option<PathBuf>,
}

impl Sinks {
    /// Writes the outputs and the summary everywhere they are asked for; after a failure too,
    /// with what the phase learned before it and the error.
    pub fn write(&self, report: &Report, failure: Option<&Failure>) -> Result<(), PhaseError> {
        if let Some(format) = report.plan {
            return self.write_plan(report, format, failure);
        }
        let pairs = report.outputs.pairs();
        let stdout = std::io::stdout();
        let mut stdout = stdout.lock();
        for (name, value) in &pairs {
            let _ = writeln!(stdout, "{name}={value}");
        }
        if let Some(path) = self.state_file.as_ref().filter(|_| !report.read_only) {
            let mut state = StateFile::load(path)?;
            state.merge(
                report.phase,
                &report.outputs,
                &report.created,
                failure.cloned(),
            );
            state.save(path).map_err(|error| {
                PhaseError::because(
                    format!("cannot write the state file {}", path.display()),
                    error,
                )
            })?;
        }
        if let Some(path) = &self.github_output {
            let mut text = String::new();
            for (name, value) in &pairs {
                if value.contains('\n') || value.contains('\r') {
                    let delimiter = format!("ghadelimiter_{}", uuid::Uuid::new_v4().simple());
                    let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
                } else {
                    let _ = writeln!(text, "{name}={value}");
                }
            }
            append(path, &text)?;
        }
        if let Some(path) = &self.github_step_summary {
            append(path, &report.summary_markdown(failure))?;
        }
        if let Some(path) = &self.dotenv {
            write_dotenv(path, &pairs)?;
        }
        Ok(())
    }
}

pub(crate) fn append(path: &PathBuf, text: &str) -> Result<(), PhaseError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|error| PhaseError::failed(format!("cannot write {}: {error}", path.display())))
}

/// GitLab dotenv report: `PEERING_<NAME>=value`, single-line, merged with what the file holds.
fn write_dotenv(path: &PathBuf, pairs: &[(&str, String)]) -> Result<(), PhaseError> {
    let mut lines: Vec<(String, String)> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            line.split_once('=')
                .map(|(key, value)| (key.to_string(), value.to_string()))
        })
        .collect();
    for (name, value) in pairs {
        let key = api_core::env_vars::for_output(name);
        let value = value.replace(['\n', '\r'], " ");
        match lines.iter_mut().find(|(existing, _)| *existing == key) {
            Some(entry) => entry.1 = value,
            None => lines.push((key, value)),
        }
    }
    let text: String = lines
        .iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect();
    std::fs::write(path, text)
        .map_err(|error| PhaseError::failed(format!("cannot write {}: {error}", path.display())))
}
