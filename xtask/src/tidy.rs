//! Tidy tests: rules about the source tree that no compiler checks (rust-analyzer's idea).

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `directory`, skipping `target/`.
    fn rust_files(directory: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(directory) else {
            return found;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name == "target") {
                    continue;
                }
                found.extend(rust_files(&path));
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
        found
    }

    fn relative(path: &Path) -> String {
        path.strip_prefix(crate::root())
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Environment variable names live in `api_core::env_vars` only (uv's `env_vars` rule), so
    /// a renamed variable cannot leave a stale spelling behind.
    #[test]
    fn environment_variable_names_are_spelled_only_in_the_env_var_module() {
        let root = crate::root();
        let prefixes = ["PEERING_", "AZURE_", "AIVEN_"];
        let mut offenders = Vec::new();
        for directory in ["crates", "tests", "xtask"] {
            for path in rust_files(&root.join(directory)) {
                let name = relative(&path);
                // The simulator is a separate world with its own names; this file holds the
                // prefixes it looks for.
                if name.starts_with("crates/cloud-sim/")
                    || name.ends_with("api-core/src/env_vars.rs")
                    || name.ends_with("xtask/src/tidy.rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable source");
                for (number, line) in text.lines().enumerate() {
                    if prefixes
                        .iter()
                        .any(|prefix| line.contains(&format!("\"{prefix}")))
                    {
                        offenders.push(format!("{name}:{}: {}", number + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "use the constants of api_core::env_vars instead of these literals:\n{}",
            offenders.join("\n")
        );
    }

    /// Files stay a size a reader can hold (style.md): split along the module's seams first.
    #[test]
    fn source_files_stay_small_enough_to_read() {
        let root = crate::root();
        let limits = [("crates/peering/src", 420), ("crates/cloud-sim/src", 820)];
        let mut offenders = Vec::new();
        for (directory, limit) in limits {
            for path in rust_files(&root.join(directory)) {
                let lines = std::fs::read_to_string(&path)
                    .expect("readable source")
                    .lines()
                    .count();
                if lines > limit {
                    offenders.push(format!(
                        "{} has {lines} lines (limit {limit})",
                        relative(&path)
                    ));
                }
            }
        }
        assert!(offenders.is_empty(), "{}", offenders.join("\n"));
    }

    /// Every source file says what it is for in its first line.
    #[test]
    fn every_source_file_starts_with_a_module_comment() {
        let root = crate::root();
        let mut offenders = Vec::new();
        for directory in ["crates", "tests", "xtask"] {
            for path in rust_files(&root.join(directory)) {
                let text = std::fs::read_to_string(&path).expect("readable source");
                if !text.starts_with("//!") {
                    offenders.push(relative(&path));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "start these with a `//!` line:\n{}",
            offenders.join("\n")
        );
    }
}
