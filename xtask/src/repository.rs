//! Where the project is published, in one place: [`REPOSITORY`]. The copy-paste blocks of the
//! README, the examples, the GitLab component and the docs name it (and the release version)
//! literally so that they work as written; `cargo xtask codegen` rewrites every such reference
//! from here, and `--check` (run by the tests) fails on any that differs or on a placeholder.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// `owner/name` of the project on GitHub, mirrored at the same path on GitLab; the container
/// image is `ghcr.io/` + this in lower case. Change it here, then run `cargo xtask codegen`.
pub const REPOSITORY: &str = "aiven-azure-peering/aiven-azure-peering";

/// Owners of the actions our files use that are not ours.
const OTHER_ACTION_OWNERS: &[&str] = &["actions", "docker", "github"];

/// Texts that stand for a repository path someone forgot to fill in.
const PLACEHOLDERS: &[&str] = &["OWNER/REPO", "<owner>/<repo>", "your-org/", "YOUR_ORG/"];

/// `owner/name`, each part of the characters GitHub allows.
pub fn check_repository_path(path: &str) -> Result<()> {
    let parts: Vec<&str> = path.split('/').collect();
    let valid_part = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte))
    };
    if parts.len() != 2 || !parts.iter().all(|part| valid_part(part)) {
        bail!("the repository {path:?} is not owner/name");
    }
    Ok(())
}

/// The hand-written and generated files that name the repository.
fn files_that_name_the_repository(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = [
        "README.md",
        "ARCHITECTURE.md",
        "Dockerfile",
        "actions/release.env",
    ]
    .iter()
    .map(|name| root.join(name))
    .collect();
    for directory in ["docs", "examples", "templates"] {
        collect_files(&root.join(directory), &mut files)?;
    }
    files.retain(|path| path.is_file());
    files.sort();
    Ok(files)
}

fn collect_files(directory: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// One reference in a text: the byte range of what is there and what should be.
#[derive(Debug, PartialEq)]
struct Reference {
    start: usize,
    end: usize,
    found: String,
    wanted: String,
}

fn is_path_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.".contains(&byte)
}

/// The `owner/name` starting at `start`, without a trailing full stop.
fn path_at(text: &str, start: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut end = start;
    while end < bytes.len() && is_path_byte(bytes[end]) {
        end += 1;
    }
    if end == start || end >= bytes.len() || bytes[end] != b'/' || bytes[start] == b'.' {
        return None;
    }
    let mut name_end = end + 1;
    while name_end < bytes.len() && is_path_byte(bytes[name_end]) {
        name_end += 1;
    }
    while name_end > end + 1 && bytes[name_end - 1] == b'.' {
        name_end -= 1;
    }
    (name_end > end + 1).then_some((start, name_end))
}

/// The token after `at` up to whitespace or a closing quote.
fn token_at(text: &str, at: usize) -> (usize, usize) {
    let end = text[at..]
        .find(|character: char| character.is_whitespace() || "\"'`)".contains(character))
        .map_or(text.len(), |offset| at + offset);
    (at, end)
}

/// Every reference to the repository (and to a release of it) in `text`, with what it should be.
fn references(text: &str, version: &str) -> Vec<Reference> {
    let major = version.split('.').next().unwrap_or_default();
    let mut found = Vec::new();
    let mut push = |start: usize, end: usize, wanted: String| {
        found.push(Reference {
            start,
            end,
            found: text[start..end].to_string(),
            wanted,
        });
    };
    for prefix in [
        "github.com/",
        "uses: ",
        "REPOSITORY=",
        "$CI_SERVER_FQDN/",
        "ghcr.io/",
    ] {
        for (at, _) in text.match_indices(prefix) {
            let Some((start, end)) = path_at(text, at + prefix.len()) else {
                continue;
            };
            if prefix == "uses: "
                && OTHER_ACTION_OWNERS
                    .iter()
                    .any(|owner| text[start..].starts_with(&format!("{owner}/")))
            {
                continue;
            }
            let lower_case = prefix == "ghcr.io/";
            let wanted = if lower_case {
                REPOSITORY.to_lowercase()
            } else {
                REPOSITORY.to_string()
            };
            push(start, end, wanted);
            let rest = &text[end..];
            // The version a reference names: the component's and the image's are the release's,
            // the actions' the floating major tag.
            let version_start = if prefix == "$CI_SERVER_FQDN/" && rest.starts_with("/peering@") {
                Some((end + "/peering@".len(), format!("v{version}")))
            } else if lower_case && rest.starts_with(':') {
                Some((end + 1, version.to_string()))
            } else if prefix == "uses: " {
                rest.find('@')
                    .filter(|offset| !rest[..*offset].contains(char::is_whitespace))
                    .map(|offset| (end + offset + 1, format!("v{major}")))
            } else {
                None
            };
            if let Some((version_at, wanted)) = version_start {
                let (start, end) = token_at(text, version_at);
                // `${{ … }}` and `$VARIABLE` versions are the reader's choice.
                if !text[start..end].starts_with('$') {
                    push(start, end, wanted);
                }
            }
        }
    }
    found.sort_by_key(|reference| reference.start);
    found
}

/// Checks (or, without `check`, rewrites) every reference in the files that name the repository.
pub fn run(check: bool) -> Result<()> {
    let root = crate::root();
    let version = crate::dist::version()?;
    let mut problems = Vec::new();
    for path in files_that_name_the_repository(&root)? {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        let relative = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        for placeholder in PLACEHOLDERS {
            if text.contains(placeholder) {
                problems.push(format!(
                    "{relative}: the placeholder {placeholder:?}: write the repository {REPOSITORY}"
                ));
            }
        }
        let stale: Vec<Reference> = references(&text, &version)
            .into_iter()
            .filter(|reference| reference.found != reference.wanted)
            .collect();
        if stale.is_empty() {
            continue;
        }
        if check {
            for reference in &stale {
                let line = text[..reference.start].lines().count().max(1);
                problems.push(format!(
                    "{relative}:{line}: {} should be {}",
                    reference.found, reference.wanted
                ));
            }
        } else {
            let mut rewritten = text.clone();
            for reference in stale.iter().rev() {
                rewritten.replace_range(reference.start..reference.end, &reference.wanted);
            }
            std::fs::write(&path, rewritten)
                .with_context(|| format!("write {}", path.display()))?;
            println!("wrote {relative}");
        }
    }
    if !problems.is_empty() {
        bail!(
            "references to the repository or its release are out of date, run `cargo xtask codegen`:\n{}",
            problems.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_names_the_one_repository_and_the_current_release() {
        run(true).expect("the files name REPOSITORY and the crate version");
    }

    #[test]
    fn references_are_found_in_each_context_with_what_they_should_be() {
        let text = "uses: acme/tool/actions/prepare-tenant@v3\n\
                    - component: $CI_SERVER_FQDN/acme/tool/peering@v9.9.9\n\
                    image: ghcr.io/Acme/Tool:9.9.9\n\
                    see https://github.com/acme/tool.\n\
                    REPOSITORY=acme/tool\n\
                    uses: ./actions/prepare-tenant\n\
                    uses: actions/cache@v4\n\
                    image: ghcr.io/acme/tool:${VERSION}\n";
        let pairs: Vec<(String, String)> = references(text, "1.2.3")
            .into_iter()
            .map(|reference| (reference.found, reference.wanted))
            .collect();
        let repository = REPOSITORY.to_string();
        let lower = REPOSITORY.to_lowercase();
        assert_eq!(
            pairs,
            [
                ("acme/tool".to_string(), repository.clone()),
                ("v3".to_string(), "v1".to_string()),
                ("acme/tool".to_string(), repository.clone()),
                ("v9.9.9".to_string(), "v1.2.3".to_string()),
                ("Acme/Tool".to_string(), lower.clone()),
                ("9.9.9".to_string(), "1.2.3".to_string()),
                ("acme/tool".to_string(), repository.clone()),
                ("acme/tool".to_string(), repository),
                ("acme/tool".to_string(), lower),
            ]
        );
    }

    #[test]
    fn a_repository_is_owner_slash_name() {
        check_repository_path("aiven-azure-peering/aiven-azure-peering").unwrap();
        check_repository_path(REPOSITORY).unwrap();
        for bad in ["", "owner", "a/b/c", "a /b", "/b", "a/"] {
            assert!(check_repository_path(bad).is_err(), "{bad}");
        }
    }
}
