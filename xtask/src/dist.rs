//! `cargo xtask dist`: release archives of the step binaries with sha256 checksums.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::process::Command;

pub const BINARIES: &[&str] = &[
    "prepare-tenant",
    "request-peering",
    "accept-peering",
    "await-active",
];

pub fn run(target: Option<String>) -> Result<()> {
    let root = crate::root();
    let target = match target {
        Some(target) => target,
        None => host_target()?,
    };
    crate::cargo(&[
        "build",
        "--release",
        "--locked",
        "--package",
        "peering",
        "--bins",
        "--target",
        &target,
    ])?;
    let release = root.join("target").join(&target).join("release");
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist)?;
    let name = format!("aiven-azure-peering-{target}");
    let staging = dist.join(&name);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let suffix = if target.contains("windows") {
        ".exe"
    } else {
        ""
    };
    for binary in BINARIES {
        let file = format!("{binary}{suffix}");
        std::fs::copy(release.join(&file), staging.join(&file))
            .with_context(|| format!("copy {file}"))?;
    }
    let archive = format!("{name}.tar.gz");
    let status = Command::new("tar")
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-czf",
            &archive,
            &name,
        ])
        .current_dir(&dist)
        .status()
        .context("run tar")?;
    if !status.success() {
        bail!("tar failed");
    }
    std::fs::remove_dir_all(&staging)?;
    let bytes = std::fs::read(dist.join(&archive))?;
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    let line = format!("{hex}  {archive}\n");
    std::fs::write(dist.join(format!("{archive}.sha256")), &line)?;
    print!("{line}");
    Ok(())
}

fn host_target() -> Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("run rustc -vV")?;
    let text = String::from_utf8(output.stdout)?;
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV names no host")
}
