//! What the tool costs before it does anything: process start-up (`--version`), the size of the
//! release binaries and of the release archive, and a cold release build.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tests::process::run_measured;

/// Runs `program arguments` `samples` times; returns the median wall time and the largest peak
/// RSS (KiB).
pub fn median_run(program: &Path, arguments: &[&str], samples: usize) -> Result<(Duration, u64)> {
    let mut times = Vec::with_capacity(samples);
    let mut peak_rss_kib = 0;
    for _ in 0..samples.max(1) {
        let measured = run_measured(Command::new(program).args(arguments))
            .with_context(|| format!("cannot run {}", program.display()))?;
        if measured.code != 0 {
            bail!(
                "{} {} exited with {}: {}",
                program.display(),
                arguments.join(" "),
                measured.code,
                measured.stderr
            );
        }
        times.push(measured.wall);
        peak_rss_kib = peak_rss_kib.max(measured.peak_rss_kib);
    }
    times.sort_unstable();
    Ok((times[times.len() / 2], peak_rss_kib))
}

/// Bytes of the shipped executable in `directory` (the archives ship it once, every phase name
/// being a link to it).
pub fn executable_size(directory: &Path) -> Result<u64> {
    let path = directory.join(format!(
        "{}{}",
        crate::phases::BUILT_BINARY,
        std::env::consts::EXE_SUFFIX
    ));
    Ok(std::fs::metadata(&path)
        .with_context(|| format!("{} is not built", path.display()))?
        .len())
}

/// The newest release archive in `dist/` (written by `cargo xtask dist`), if any.
pub fn newest_archive(dist: &Path) -> Option<(PathBuf, u64)> {
    std::fs::read_dir(dist)
        .ok()?
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.ends_with(".tar.gz") || name.ends_with(".zip")
        })
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            Some((entry.path(), metadata.len(), metadata.modified().ok()?))
        })
        .max_by_key(|(_, _, modified)| *modified)
        .map(|(path, size, _)| (path, size))
}

/// A release build of the step binaries from nothing (a fresh target directory), timed.
pub fn cold_release_build(root: &Path) -> Result<Duration> {
    let target = root.join("target/bench/cold-build");
    let _ = std::fs::remove_dir_all(&target);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let started = Instant::now();
    let status = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--package",
            "peering",
            "--bins",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("the cold release build failed with {status}");
    }
    let _ = std::fs::remove_dir_all(&target);
    Ok(elapsed)
}
