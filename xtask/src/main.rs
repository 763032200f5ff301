//! Project automation, run as `cargo xtask <command>`.

mod bench;
mod codegen;
mod demo;
mod dist;
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
    /// Build release archives of the step binaries and their sha256 checksums into dist/.
    Dist {
        /// Rust target triple (default: the host).
        #[arg(long)]
        target: Option<String>,
    },
    /// Run the seed document's commands with the real az and avn against the simulator.
    SeedReplay(seed_replay::SeedReplayArguments),
    /// Generate actions/<phase>/action.yml from the binaries' flag definitions.
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
        Task::Dist { target } => dist::run(target),
        Task::Codegen { check } => codegen::run(check),
        Task::SeedReplay(arguments) => seed_replay::run(arguments),
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
    let status = Command::new(&cargo)
        .args(arguments)
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("cargo {} failed with {status}", arguments.join(" "));
    }
    Ok(())
}

/// Builds the step binaries next to this xtask executable (same profile), showing cargo's
/// progress: on a fresh clone this is minutes of compiling.
pub fn build_binaries() -> Result<()> {
    eprintln!("building the step binaries (a fresh clone compiles for a few minutes)…");
    cargo(&["build", "--package", "peering", "--bins"])
}
