//! `cargo xtask seed-replay`: the seed document's commands, with the real `az` and `avn`
//! installed into a cached virtual environment under `target/`, against an in-process
//! `cloud-sim`; prints the per-command table and checks the simulator's world at the end.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::time::Duration;
use tests::seed_replay::{self, Clis, ReplayOptions};

/// `cargo xtask seed-replay` flags.
#[derive(clap::Args, Debug, Clone)]
pub struct SeedReplayArguments {
    /// Only create or refresh the virtual environment with the two CLIs, then stop.
    #[arg(long)]
    pub install_only: bool,
    /// The virtual environment to use (created if missing).
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// Run the simulator with its realistic delays (1–5 s) instead of the fast ones.
    #[arg(long)]
    pub realistic: bool,
    /// Pause between runs of `avn vpc peering-connection get -v` while waiting.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s", value_name = "DURATION")]
    pub poll_interval: Duration,
    /// Latency the simulator adds to every request, token requests included.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s", value_name = "DURATION")]
    pub latency: Duration,
}

pub fn run(arguments: SeedReplayArguments) -> Result<()> {
    let clis = install_clis(arguments.venv.clone(), true)?;
    if arguments.install_only {
        println!(
            "az and avn are installed in {} ({} MB)",
            clis.venv.display(),
            clis.install_size_bytes() / 1_000_000
        );
        return Ok(());
    }
    let mut config = if arguments.realistic {
        cloud_sim::SimConfig::realistic()
    } else {
        cloud_sim::SimConfig::fast()
    };
    config.faults.latency = arguments.latency;
    // Token requests are then "faultable" too: with every fault rate at zero that only gives
    // them the same latency.
    config.faults.token_faults = !arguments.latency.is_zero();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let sim = cloud_sim::Sim::start(config)
            .await
            .context("cannot start the simulator")?;
        let options = ReplayOptions::for_sim(&sim, arguments.poll_interval);
        let replay = seed_replay::replay(&sim, &clis, &options).await;
        println!("{}", seed_replay::table(&replay));
        if let Err(error) = &replay.outcome {
            bail!("the seed replay stopped before ACTIVE: {error}");
        }
        let problems = seed_replay::check_world(&sim, &replay.values);
        if !problems.is_empty() {
            bail!(
                "the seed replay reached ACTIVE but the simulator's world is not what the document creates:\n- {}",
                problems.join("\n- ")
            );
        }
        println!(
            "ACTIVE; the simulator's world holds what the document creates ({} commands)",
            replay.process_starts()
        );
        sim.shutdown().await;
        Ok(())
    })
}

/// The CLIs in `venv` (default `target/seed-replay/venv`), installed there first if needed.
pub fn install_clis(venv: Option<PathBuf>, with_azure_cli: bool) -> Result<Clis> {
    let venv = venv.unwrap_or_else(Clis::default_venv);
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let requirements = seed_replay::requirements(with_azure_cli);
    eprintln!(
        "checking {} in {} (cached after the first install)",
        requirements.join(" "),
        venv.display()
    );
    seed_replay::install(&venv, &requirements).map_err(anyhow::Error::msg)?;
    Ok(Clis::in_venv(venv))
}
