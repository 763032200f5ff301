//! `actions/install.sh`: a release archive is used only when its sha256 matches the one pinned
//! in `release.env`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Lays out a fake release (archive with stand-in binaries) and an actions dir pinning `checksum`.
fn setup(directory: &Path, checksum_of: impl Fn(&str) -> String) -> (PathBuf, PathBuf) {
    let target = "x86_64-unknown-linux-gnu";
    let name = format!("aiven-azure-peering-{target}");
    let staging = directory.join("build").join(&name);
    std::fs::create_dir_all(&staging).unwrap();
    for binary in [
        "prepare-tenant",
        "request-peering",
        "accept-peering",
        "await-active",
    ] {
        std::fs::write(staging.join(binary), format!("#!/bin/sh\necho {binary}\n")).unwrap();
    }
    let releases = directory.join("server/acme/peering/releases/download/v9.9.9");
    std::fs::create_dir_all(&releases).unwrap();
    let archive = releases.join(format!("{name}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg(&name)
        .current_dir(directory.join("build"))
        .status()
        .unwrap();
    assert!(status.success());
    let sha = Command::new("sha256sum").arg(&archive).output().unwrap();
    let sha = String::from_utf8(sha.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let actions = directory.join("actions");
    std::fs::create_dir_all(&actions).unwrap();
    std::fs::copy(
        root().join("actions/install.sh"),
        actions.join("install.sh"),
    )
    .unwrap();
    std::fs::write(
        actions.join("release.env"),
        format!(
            "REPOSITORY=acme/peering\nVERSION=v9.9.9\nSHA256_x86_64_unknown_linux_gnu={}\n",
            checksum_of(&sha)
        ),
    )
    .unwrap();
    (actions, directory.join("server"))
}

fn install(directory: &Path, actions: &Path, server: &Path) -> (bool, String) {
    let path_file = directory.join("github_path");
    std::fs::write(&path_file, "").unwrap();
    let output = Command::new("bash")
        .arg(actions.join("install.sh"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", directory.join("runner"))
        .env("GITHUB_SERVER_URL", format!("file://{}", server.display()))
        .env("GITHUB_PATH", &path_file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_pinned_archive_is_verified_and_installed() {
    if tests::tools::CURL.for_test().is_none() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let (actions, server) = setup(directory.path(), |sha| sha.to_string());
    let (ok, text) = install(directory.path(), &actions, &server);
    assert!(ok, "{text}");
    let bin = directory.path().join("runner/aiven-azure-peering/bin");
    assert!(bin.join("await-active").exists(), "{text}");
    assert_eq!(
        std::fs::read_to_string(directory.path().join("github_path"))
            .unwrap()
            .trim(),
        bin.display().to_string()
    );
}

#[test]
fn an_archive_with_another_checksum_is_refused() {
    if tests::tools::CURL.for_test().is_none() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let (actions, server) = setup(directory.path(), |_| "0".repeat(64));
    let (ok, text) = install(directory.path(), &actions, &server);
    assert!(!ok, "a wrong checksum must fail:\n{text}");
    assert!(
        !directory
            .path()
            .join("runner/aiven-azure-peering/bin/await-active")
            .exists()
    );
}
