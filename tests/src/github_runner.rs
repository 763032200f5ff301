//! A GitHub Actions runner imitation: runs a workflow's jobs in `needs` order, each step of a
//! local composite action (`actions/<phase>/action.yml`) from the YAML itself — its inputs and
//! their defaults, its steps' `env:` mappings and `run:` scripts under `bash -eo pipefail`,
//! `$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_PATH`, `::add-mask::` — and the runner's rule that a
//! job output containing a secret of the job is dropped ("Skip output … since it may contain
//! secret"). The install steps run too: `install.sh` finds the locally built binaries already in
//! its cache directory under `$RUNNER_TEMP` and only publishes that directory on `$GITHUB_PATH`.
//!
//! Expressions are what the examples use: `${{ a.b.c }}` property paths into `inputs`,
//! `secrets`, `vars`, `needs`, `steps`, `env`, `github` and `runner`. Anything else panics, so
//! a workflow the imitation does not understand fails loudly instead of passing.

use crate::Harness;
use cloud_sim::SecretKind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// What the workflow run is given from outside.
#[derive(Debug, Clone, Default)]
pub struct WorkflowContext {
    /// `workflow_dispatch` inputs.
    pub inputs: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub vars: BTreeMap<String, String>,
    /// `owner/name`.
    pub repository: String,
    /// The runner machine's own environment (not secrets): endpoints, CA bundle, pacing.
    pub machine_env: Vec<(String, String)>,
}

/// How one job ended.
#[derive(Debug, Clone, Default)]
pub struct JobResult {
    pub succeeded: bool,
    /// The job's outputs as later jobs see them (secret-bearing ones dropped).
    pub outputs: BTreeMap<String, String>,
    /// Names of the outputs the runner dropped because they contained a secret.
    pub dropped_outputs: Vec<String>,
    /// Every value the job's steps asked to mask with `::add-mask::`.
    pub masked: BTreeSet<String>,
    /// The job's log as the runner shows it (masked).
    pub log: String,
    /// The step summaries the job's steps wrote.
    pub summary: String,
    /// The secrets the simulator issued while the job ran.
    pub issued: Vec<(SecretKind, String)>,
}

/// Runs `workflow` (YAML text) job by job; returns each job's result by job id.
pub async fn run_workflow(
    harness: &Harness,
    workflow: &str,
    context: &WorkflowContext,
) -> BTreeMap<String, JobResult> {
    let documents = YamlLoader::load_from_str(workflow).expect("the workflow is valid YAML");
    let document = &documents[0];
    let jobs = document["jobs"]
        .as_hash()
        .expect("the workflow has jobs")
        .iter()
        .map(|(name, job)| (scalar(name).expect("a job id"), job.clone()))
        .collect::<Vec<_>>();
    let workflow_env = mapping(&document["env"]);
    let workflow_id_token = grants_id_token(&document["permissions"]);
    let mut results: BTreeMap<String, JobResult> = BTreeMap::new();
    let mut pending = jobs;
    while !pending.is_empty() {
        let ready_index = pending
            .iter()
            .position(|(_, job)| needs_of(job).iter().all(|need| results.contains_key(need)))
            .expect("the jobs' needs form no cycle and name existing jobs");
        let (name, job) = pending.remove(ready_index);
        let needs = needs_of(&job);
        let result = if needs.iter().all(|need| results[need].succeeded) {
            let id_token = if job["permissions"].is_badvalue() {
                workflow_id_token
            } else {
                grants_id_token(&job["permissions"])
            };
            let issued_before = issued_secrets(harness);
            let mut runner = JobRunner::new(harness, context, &name, &needs, &results);
            runner.id_token = id_token;
            runner.environment = scalar(&job["environment"]);
            let mut result = runner.run(&workflow_env, &job).await;
            result.issued = issued_secrets(harness)
                .into_iter()
                .filter(|issued| !issued_before.contains(issued))
                .collect();
            result
        } else {
            JobResult::default()
        };
        results.insert(name, result);
    }
    results
}

fn issued_secrets(harness: &Harness) -> Vec<(SecretKind, String)> {
    [
        SecretKind::AccessToken,
        SecretKind::Password,
        SecretKind::OidcToken,
    ]
    .into_iter()
    .flat_map(|kind| {
        harness
            .sim
            .issued_secrets_of(kind)
            .into_iter()
            .map(move |secret| (kind, secret))
    })
    .collect()
}

fn needs_of(job: &Yaml) -> Vec<String> {
    match &job["needs"] {
        Yaml::Array(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

fn grants_id_token(permissions: &Yaml) -> bool {
    scalar(&permissions["id-token"]).as_deref() == Some("write")
        || scalar(permissions).as_deref() == Some("write-all")
}

/// A YAML scalar as the runner reads it.
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A mapping of scalars, in order (`env:`, `with:`, `outputs:`).
fn mapping(value: &Yaml) -> Vec<(String, String)> {
    value
        .as_hash()
        .map(|hash| {
            hash.iter()
                .filter_map(|(key, value)| Some((scalar(key)?, scalar(value).unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default()
}

/// The contexts an expression may read.
#[derive(Default, Clone)]
struct Contexts {
    inputs: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    steps: BTreeMap<String, BTreeMap<String, String>>,
}

struct JobRunner<'a> {
    harness: &'a Harness,
    context: &'a WorkflowContext,
    name: String,
    needs: BTreeMap<String, BTreeMap<String, String>>,
    id_token: bool,
    environment: Option<String>,
    /// Values the runner masks: the job's secrets and every `::add-mask::`.
    masks: BTreeSet<String>,
    /// The `add-mask` values alone.
    asked_to_mask: BTreeSet<String>,
    /// From `$GITHUB_ENV`, for later steps.
    job_env: BTreeMap<String, String>,
    /// From `$GITHUB_PATH`, newest first.
    path_additions: Vec<String>,
    log: String,
    summary: String,
    temporary: PathBuf,
    workspace: PathBuf,
    step_count: usize,
}

impl<'a> JobRunner<'a> {
    fn new(
        harness: &'a Harness,
        context: &'a WorkflowContext,
        name: &str,
        needs: &[String],
        results: &BTreeMap<String, JobResult>,
    ) -> JobRunner<'a> {
        let job_directory = harness.path(&format!("runner/{name}"));
        let temporary = job_directory.join("temp");
        let workspace = job_directory.join("workspace");
        for directory in [&temporary, &workspace] {
            std::fs::create_dir_all(directory).expect("a runner directory");
        }
        install_local_binaries(&temporary);
        JobRunner {
            harness,
            context,
            name: name.to_string(),
            needs: needs
                .iter()
                .map(|need| (need.clone(), results[need].outputs.clone()))
                .collect(),
            id_token: false,
            environment: None,
            masks: BTreeSet::new(),
            asked_to_mask: BTreeSet::new(),
            job_env: BTreeMap::new(),
            path_additions: Vec::new(),
            log: String::new(),
            summary: String::new(),
            temporary,
            workspace,
            step_count: 0,
        }
    }

    async fn run(&mut self, workflow_env: &[(String, String)], job: &Yaml) -> JobResult {
        if self.id_token {
            let subject = match &self.environment {
                Some(environment) => {
                    format!("repo:{}:environment:{environment}", self.context.repository)
                }
                None => format!("repo:{}:ref:refs/heads/main", self.context.repository),
            };
            self.harness
                .sim
                .with_world(|world| world.set_github_oidc_subject(&subject));
        }
        let mut contexts = Contexts::default();
        for (name, value) in workflow_env.iter().chain(mapping(&job["env"]).iter()) {
            let value = self.evaluate(value, &contexts);
            contexts.env.insert(name.clone(), value);
        }
        let mut succeeded = true;
        for step in job["steps"].as_vec().expect("the job has steps") {
            if scalar(&step["if"]).is_some() {
                panic!(
                    "the runner imitation does not evaluate `if:` (job {})",
                    self.name
                );
            }
            let id = scalar(&step["id"]);
            let mut step_contexts = contexts.clone();
            for (name, value) in mapping(&step["env"]) {
                let value = self.evaluate(&value, &contexts);
                step_contexts.env.insert(name, value);
            }
            let outcome = if let Some(uses) = scalar(&step["uses"]) {
                let inputs: BTreeMap<String, String> = mapping(&step["with"])
                    .into_iter()
                    .map(|(name, value)| (name, self.evaluate(&value, &contexts)))
                    .collect();
                self.run_action(&uses, inputs, &step_contexts).await
            } else {
                let script = scalar(&step["run"]).expect("a step has `uses:` or `run:`");
                let script = self.evaluate(&script, &contexts);
                self.run_script(&script, &step_contexts.env, None).await
            };
            match outcome {
                Some(outputs) => {
                    if let Some(id) = id {
                        contexts.steps.insert(id, outputs);
                    }
                }
                None => {
                    succeeded = false;
                    break;
                }
            }
        }
        let mut outputs = BTreeMap::new();
        let mut dropped_outputs = Vec::new();
        if succeeded {
            for (name, expression) in mapping(&job["outputs"]) {
                let value = self.evaluate(&expression, &contexts);
                let holds_secret = self
                    .masks
                    .iter()
                    .any(|secret| !secret.is_empty() && value.contains(secret.as_str()));
                if holds_secret {
                    self.log.push_str(&format!(
                        "Warning: Skip output '{name}' since it may contain secret.\n"
                    ));
                    dropped_outputs.push(name);
                } else {
                    outputs.insert(name, value);
                }
            }
        }
        JobResult {
            succeeded,
            outputs,
            dropped_outputs,
            masked: self.asked_to_mask.clone(),
            log: std::mem::take(&mut self.log),
            summary: std::mem::take(&mut self.summary),
            issued: Vec::new(),
        }
    }

    /// Runs a local composite action; its outputs, or `None` when a step failed.
    async fn run_action(
        &mut self,
        uses: &str,
        given: BTreeMap<String, String>,
        outer: &Contexts,
    ) -> Option<BTreeMap<String, String>> {
        let directory = action_directory(uses);
        let text = std::fs::read_to_string(directory.join("action.yml"))
            .unwrap_or_else(|error| panic!("{uses}: cannot read its action.yml: {error}"));
        let action = &YamlLoader::load_from_str(&text).expect("action.yml is valid YAML")[0];
        assert_eq!(
            scalar(&action["runs"]["using"]).as_deref(),
            Some("composite"),
            "{uses} is a composite action"
        );
        let declared = action["inputs"].as_hash().cloned().unwrap_or_default();
        for name in given.keys() {
            assert!(
                declared.contains_key(&Yaml::String(name.clone())),
                "{uses} has no input named {name}: the runner would warn and ignore it"
            );
        }
        let mut contexts = Contexts {
            env: outer.env.clone(),
            ..Contexts::default()
        };
        for (name, declaration) in &declared {
            let name = scalar(name).expect("an input name");
            let value = given
                .get(&name)
                .cloned()
                .or_else(|| scalar(&declaration["default"]))
                .unwrap_or_default();
            contexts.inputs.insert(name, value);
        }
        for step in action["runs"]["steps"]
            .as_vec()
            .expect("a composite action has steps")
        {
            if let Some(condition) = scalar(&step["if"])
                && !self.condition_holds(&condition, &contexts)
            {
                continue;
            }
            if let Some(nested) = scalar(&step["uses"]) {
                // The only action an action of ours may use is the cache of a source build: a
                // fresh runner's cache is empty, so restoring it does nothing.
                assert!(
                    nested.starts_with("actions/cache@"),
                    "{uses}: the runner imitation runs no action {nested}"
                );
                continue;
            }
            assert_eq!(
                scalar(&step["shell"]).as_deref(),
                Some("bash"),
                "{uses}: every step runs in bash"
            );
            let script = scalar(&step["run"]).expect("a composite step has `run:`");
            let script = self.evaluate(&script, &contexts);
            let mut env = contexts.env.clone();
            for (name, value) in mapping(&step["env"]) {
                let value = self.evaluate(&value, &contexts);
                env.insert(name, value);
            }
            let outputs = self.run_script(&script, &env, Some(&directory)).await?;
            if let Some(id) = scalar(&step["id"]) {
                contexts.steps.insert(id, outputs);
            }
        }
        let mut outputs = BTreeMap::new();
        for (name, declaration) in action["outputs"].as_hash().cloned().unwrap_or_default() {
            let name = scalar(&name).expect("an output name");
            let expression = scalar(&declaration["value"]).unwrap_or_default();
            outputs.insert(name, self.evaluate(&expression, &contexts));
        }
        Some(outputs)
    }

    /// Evaluates an `if:` of the one form our actions use: `<context path> == '<literal>'`.
    fn condition_holds(&mut self, condition: &str, contexts: &Contexts) -> bool {
        let (left, right) = condition.split_once("==").unwrap_or_else(|| {
            panic!("the runner imitation evaluates only `a.b == 'c'` conditions, not {condition:?}")
        });
        let literal = right
            .trim()
            .strip_prefix('\'')
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{condition:?}: the right side is not a quoted literal"));
        self.evaluate(&format!("${{{{ {} }}}}", left.trim()), contexts) == literal
    }

    /// Runs one `run:` script as the runner does; the step's outputs, or `None` if it failed.
    async fn run_script(
        &mut self,
        script: &str,
        step_env: &BTreeMap<String, String>,
        action_path: Option<&Path>,
    ) -> Option<BTreeMap<String, String>> {
        self.step_count += 1;
        let files = self.temporary.join(format!("step-{}", self.step_count));
        std::fs::create_dir_all(&files).expect("a step directory");
        let script_file = files.join("script.sh");
        std::fs::write(&script_file, script).expect("the step script is written");
        let [output, env_file, path_file, summary] =
            ["output", "env", "path", "summary.md"].map(|name| files.join(name));
        for file in [&output, &env_file, &path_file, &summary] {
            std::fs::write(file, "").expect("a runner file");
        }
        let mut path = self.path_additions.clone();
        path.push(std::env::var("PATH").unwrap_or_default());
        let (home, _) = self.harness.home_and_tmp();
        let mut command = tokio::process::Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_file)
            .current_dir(&self.workspace)
            .env_clear()
            .envs(self.context.machine_env.iter().cloned())
            .env("HOME", home)
            .env("TMPDIR", &self.temporary)
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", &self.context.repository)
            .env("GITHUB_WORKSPACE", &self.workspace)
            .env("GITHUB_JOB", &self.name)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", &self.temporary)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_ENV", &env_file)
            .env("GITHUB_PATH", &path_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("PATH", path.join(":"))
            .envs(self.job_env.iter())
            .envs(step_env.iter())
            .kill_on_drop(true);
        if let Some(action_path) = action_path {
            command.env("GITHUB_ACTION_PATH", action_path);
        }
        if self.id_token {
            let ready = self.harness.ready();
            command
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    &ready.github_oidc_request_url,
                )
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    &ready.github_oidc_request_token,
                );
            self.masks.insert(ready.github_oidc_request_token.clone());
        }
        let finished = command.output().await.expect("bash runs");
        let stdout = String::from_utf8_lossy(&finished.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&finished.stderr).into_owned();
        self.harness.record_printed(format!(
            "[{} step {}]\n{}\n{}",
            self.name,
            self.step_count,
            without_mask_commands(&stdout),
            without_mask_commands(&stderr)
        ));
        for line in stdout.lines() {
            match line.strip_prefix("::add-mask::") {
                Some(value) => {
                    self.masks.insert(value.to_string());
                    self.asked_to_mask.insert(value.to_string());
                }
                None => {
                    let shown = self.mask(line);
                    self.log.push_str(&shown);
                    self.log.push('\n');
                }
            }
        }
        for line in stderr.lines() {
            let shown = self.mask(line);
            self.log.push_str(&shown);
            self.log.push('\n');
        }
        self.summary
            .push_str(&std::fs::read_to_string(&summary).unwrap_or_default());
        let read = |file: &Path| std::fs::read_to_string(file).unwrap_or_default();
        for (name, value) in crate::parse_github_output(&read(&env_file)) {
            self.job_env.insert(name, value);
        }
        for line in read(&path_file).lines().filter(|line| !line.is_empty()) {
            self.path_additions.insert(0, line.to_string());
        }
        if !finished.status.success() {
            self.log.push_str(&format!(
                "Error: Process completed with exit code {}.\n",
                finished.status.code().unwrap_or(-1)
            ));
            return None;
        }
        Some(crate::parse_github_output(&read(&output)))
    }

    fn mask(&self, line: &str) -> String {
        let mut shown = line.to_string();
        for secret in self.masks.iter().filter(|secret| !secret.is_empty()) {
            shown = shown.replace(secret.as_str(), "***");
        }
        shown
    }

    /// Replaces each `${{ … }}` in `text`.
    fn evaluate(&mut self, text: &str, contexts: &Contexts) -> String {
        let mut result = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            result.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let end = after
                .find("}}")
                .unwrap_or_else(|| panic!("an unterminated expression in {text:?}"));
            result.push_str(&self.lookup(after[..end].trim(), contexts));
            rest = &after[end + 2..];
        }
        result.push_str(rest);
        result
    }

    fn lookup(&mut self, expression: &str, contexts: &Contexts) -> String {
        let parts: Vec<&str> = expression.split('.').collect();
        let understood = parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || "-_".contains(character))
        });
        assert!(
            understood,
            "the runner imitation understands only property paths, not `{expression}`"
        );
        let found = match parts.as_slice() {
            ["inputs", name] => contexts
                .inputs
                .get(*name)
                .or_else(|| self.context.inputs.get(*name))
                .cloned(),
            ["secrets", name] => {
                let value = self.context.secrets.get(*name).cloned();
                if let Some(value) = &value {
                    self.masks.insert(value.clone());
                }
                value
            }
            ["vars", name] => self.context.vars.get(*name).cloned(),
            ["env", name] => contexts.env.get(*name).cloned(),
            ["needs", job, "outputs", name] => self
                .needs
                .get(*job)
                .unwrap_or_else(|| panic!("`{expression}`: job {} does not need {job}", self.name))
                .get(*name)
                .cloned(),
            ["steps", step, "outputs", name] => contexts
                .steps
                .get(*step)
                .and_then(|outputs| outputs.get(*name))
                .cloned(),
            ["github", "repository"] => Some(self.context.repository.clone()),
            ["github", "workspace"] => Some(self.workspace.display().to_string()),
            ["runner", "temp"] => Some(self.temporary.display().to_string()),
            ["runner", "os"] => Some("Linux".to_string()),
            _ => panic!("the runner imitation does not know `{expression}`"),
        };
        found.unwrap_or_default()
    }
}

/// `./actions/<name>` or `<owner>/<repo>/actions/<name>@<ref>`: this checkout's action.
fn action_directory(uses: &str) -> PathBuf {
    let without_ref = uses.split('@').next().unwrap_or(uses);
    let name = without_ref
        .rsplit('/')
        .next()
        .filter(|_| without_ref.contains("actions/"))
        .unwrap_or_else(|| panic!("`uses: {uses}` is not one of this repository's actions"));
    repository_root().join("actions").join(name)
}

pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

/// Where `actions/install.sh` reuses an install of the wanted version (its cache directory
/// for the runner's platform, under `$RUNNER_TEMP` on a hosted runner): the binaries of this
/// build, linked in, as a cache restored by an earlier job would hold them.
fn install_local_binaries(runner_temp: &Path) {
    let bin = runner_temp
        .join("aiven-azure-peering")
        .join(peering::VERSION)
        .join("x86_64-unknown-linux-musl")
        .join("bin");
    std::fs::create_dir_all(&bin).expect("the install directory");
    for phase in peering::PHASES {
        let name = format!("{}{}", phase.name, std::env::consts::EXE_SUFFIX);
        let target = crate::binary_dir().join(&name);
        let link = bin.join(&name);
        if !link.exists() {
            std::os::unix::fs::symlink(&target, &link).expect("a link to the built binary");
        }
    }
}

fn without_mask_commands(text: &str) -> String {
    text.lines()
        .filter(|line| !line.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}
