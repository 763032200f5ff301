//! `cargo xtask pin --from DIR`: writes `actions/release.env`, the pins the actions trust: the
//! repository, the release version and the sha256 of each target's archive, computed from the
//! archives themselves and checked against their `.sha256` files.

use crate::dist;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub struct PinRequest {
    /// The directory holding the release archives (and their `.sha256` files).
    pub from: PathBuf,
    /// `vMAJOR.MINOR.PATCH`; `v` + the crate version when absent.
    pub version: Option<String>,
    /// `owner/name` on GitHub; the project's repository when absent.
    pub repository: Option<String>,
    /// The file to write; `actions/release.env` when absent.
    pub output: Option<PathBuf>,
}

pub fn run(request: PinRequest) -> Result<()> {
    let version = match request.version {
        Some(version) => version,
        None => format!("v{}", dist::version()?),
    };
    check_release_version(&version)?;
    let repository = request
        .repository
        .unwrap_or_else(|| crate::repository::REPOSITORY.to_string());
    crate::repository::check_repository_path(&repository)?;
    let pins = archive_checksums(&request.from)?;
    for target in dist::RELEASE_TARGETS {
        if !pins.iter().any(|(found, _)| found == target) {
            eprintln!(
                "warning: no archive for {target} in {}: its runners will build from source",
                request.from.display()
            );
        }
    }
    let output = request
        .output
        .unwrap_or_else(|| crate::root().join("actions/release.env"));
    std::fs::write(&output, release_env(&repository, &version, &pins))
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "pinned {repository} {version} ({} archives) in {}",
        pins.len(),
        output.display()
    );
    Ok(())
}

/// A release version is exactly `vMAJOR.MINOR.PATCH` (the tags that start a release).
pub fn check_release_version(version: &str) -> Result<()> {
    let numbers: Vec<&str> = version
        .strip_prefix('v')
        .map(|rest| rest.split('.').collect())
        .unwrap_or_default();
    let well_formed = numbers.len() == 3
        && numbers.iter().all(|number| {
            !number.is_empty()
                && number.bytes().all(|byte| byte.is_ascii_digit())
                && (number.len() == 1 || !number.starts_with('0'))
        });
    if !well_formed {
        bail!("the version {version} is not vMAJOR.MINOR.PATCH (for example v0.1.0)");
    }
    Ok(())
}

/// (target, sha256) of every archive in `directory`, each checked against its `.sha256` file.
pub fn archive_checksums(directory: &Path) -> Result<Vec<(String, String)>> {
    let mut pins = Vec::new();
    for (file_name, path) in dist::archives_in(directory)? {
        let target = dist::target_of_archive(&file_name)
            .expect("archives_in lists archives")
            .to_string();
        let computed = dist::sha256_of_file(&path)?;
        let checksum_file = directory.join(format!("{file_name}.sha256"));
        if let Ok(text) = std::fs::read_to_string(&checksum_file) {
            let recorded = text.split_whitespace().next().unwrap_or_default();
            if recorded != computed {
                bail!(
                    "{} is corrupt: its sha256 is {computed} but {} records {recorded}; download it again",
                    path.display(),
                    checksum_file.display()
                );
            }
        }
        pins.push((target, computed));
    }
    if pins.is_empty() {
        bail!(
            "{} holds no release archive (aiven-azure-peering-<target>.tar.gz or .zip): run `cargo xtask dist` first",
            directory.display()
        );
    }
    pins.sort();
    Ok(pins)
}

/// The text of `release.env`: shell-sourceable `NAME=value` lines.
pub fn release_env(repository: &str, version: &str, pins: &[(String, String)]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Written by `cargo xtask pin` after a release: do not edit by hand. install.sh downloads"
    );
    let _ = writeln!(
        text,
        "# the archive of VERSION for the runner's target and installs it only if its sha256 is the"
    );
    let _ = writeln!(
        text,
        "# one below; without a pin for the target it builds from this checkout with cargo."
    );
    let _ = writeln!(text, "REPOSITORY={repository}");
    let _ = writeln!(text, "VERSION={version}");
    for (target, sha256) in pins {
        let _ = writeln!(text, "SHA256_{}={sha256}", target.replace('-', "_"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_major_minor_patch_versions_are_release_versions() {
        for good in ["v0.1.0", "v1.20.3", "v10.0.0"] {
            check_release_version(good).unwrap();
        }
        for bad in [
            "v0",
            "0.1.0",
            "v0.1",
            "v0.1.0-rc1",
            "v01.2.3",
            "v1.2.3.4",
            "v1..2",
            "",
        ] {
            assert!(check_release_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pins_come_from_the_archives_and_a_tampered_one_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let executable = directory.path().join("tool");
        std::fs::write(&executable, b"stand-in").unwrap();
        let out = directory.path().join("dist");
        let packaged = dist::package(&executable, "x86_64-unknown-linux-musl", &out).unwrap();
        let pins = archive_checksums(&out).unwrap();
        assert_eq!(
            pins,
            [(
                "x86_64-unknown-linux-musl".to_string(),
                packaged.sha256.clone()
            )]
        );
        let text = release_env("acme/peering", "v1.2.3", &pins);
        assert!(text.contains("\nREPOSITORY=acme/peering\nVERSION=v1.2.3\n"));
        assert!(text.ends_with(&format!(
            "SHA256_x86_64_unknown_linux_musl={}\n",
            packaged.sha256
        )));

        std::fs::write(&packaged.path, b"tampered").unwrap();
        let error = archive_checksums(&out).unwrap_err();
        assert!(error.to_string().contains("is corrupt"), "{error}");
    }

    #[test]
    fn an_empty_directory_gives_no_pins() {
        let directory = tempfile::tempdir().unwrap();
        let error = archive_checksums(directory.path()).unwrap_err();
        assert!(error.to_string().contains("cargo xtask dist"), "{error}");
    }
}
