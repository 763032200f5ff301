//! Project automation, run as `cargo xtask <command>`.

mod archive;
mod bench;
mod codegen;
mod demo;
mod dist;
mod install_steps;
mod marketplace;
mod phases;
mod pin;
mod repository;
mod seed_replay;
mod tidy;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation")]
struct Arguments {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run the whole procedure with the real binaries against the embedded simulator.
    Demo {
        /// Use the fast test delays instead of the realistic ones.
        #[arg(long)]
        fast: bool,
    },
    /// Measure the phases against their floor, start-up, sizes and the seed replay (baseline).
    Bench(bench::BenchArguments),
    /// Build the release archive of one target with its sha256 (and the combined sha256.sum) into dist/.
    Dist {
        /// Rust target triple (default: the host).
        #[arg(long)]
        target: Option<String>,
        /// Package this already-built executable instead of building a release one.
        #[arg(long, value_name = "FILE")]
        binary: Option<PathBuf>,
        /// Directory of the archives (default: dist/).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Fail unless this tag is `v` + the crate version (the release workflow passes its tag).
        #[arg(long, value_name = "TAG")]
        release_tag: Option<String>,
    },
    /// Write actions/release.env (repository, version, sha256 per target) from release archives.
    Pin {
        /// Directory of the release archives and their .sha256 files.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// Release version, vMAJOR.MINOR.PATCH (default: v + the crate version).
        #[arg(long)]
        version: Option<String>,
        /// GitHub repository owner/name the archives are released in (default: the project's).
        #[arg(long)]
        repository: Option<String>,
        /// File to write (default: actions/release.env).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Run the seed document's commands with the real az and avn against the simulator.
    SeedReplay(seed_replay::SeedReplayArguments),
    /// Generate actions/<phase>/action.yml and the root action.yml from the binaries' flag
    /// definitions, and rewrite references to the repository and its release.
    Codegen {
        /// Fail if the files on disk differ from what would be generated.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let result = match arguments.command {
        Task::Demo { fast } => demo::run(fast),
        Task::Bench(arguments) => bench::run(arguments),
        Task::SeedReplay(arguments) => seed_replay::run(arguments),
        Task::Dist {
            target,
            binary,
            out,
            release_tag,
        } => dist::run(dist::DistRequest {
            target,
            binary,
            out,
            release_tag,
        }),
        Task::Pin {
            from,
            version,
            repository,
            output,
        } => pin::run(pin::PinRequest {
            from,
            version,
            repository,
            output,
        }),
        Task::Codegen { check } => codegen::run(check)
            .and_then(|()| marketplace::run(check))
            .and_then(|()| repository::run(check)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs cargo with arguments in the workspace root.
pub fn cargo(arguments: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    cargo_like(&cargo, arguments, &[])
}

/// Runs a toolchain program (cargo, rustup) in the workspace root with extra environment.
pub fn cargo_like(program: &str, arguments: &[&str], environment: &[(&str, &str)]) -> Result<()> {
    let status = Command::new(program)
        .args(arguments)
        .envs(environment.iter().copied())
        // ring's build script reruns when cargo's own CARGO_MANIFEST_DIR changes (`cargo run`
        // sets it for xtask), which would rebuild ring and everything above it each time.
        .env_remove("CARGO_MANIFEST_DIR")
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("{program} {} failed with {status}", arguments.join(" "));
    }
    Ok(())
}

/// Builds the step binaries next to this xtask executable (same profile), showing cargo's
/// progress: on a fresh clone this is minutes of compiling.
pub fn build_binaries() -> Result<()> {
    eprintln!("building the step binaries (a fresh clone compiles for a few minutes)…");
    cargo(&["build", "--package", "peering", "--bins"])
}
