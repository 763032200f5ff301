//! `cargo xtask bench`: timing goals measured here, never in tests.
//!
//! Against `cloud-sim` with a fixed latency on every request (token requests too) and fixed
//! delays, with the release binaries and their default pacing: per phase the wall time, the
//! requests (reads, writes, token requests), the floor (`floor`: the longest chain of dependent
//! requests × latency + the simulator's unavoidable delays) and wall ÷ floor, peak RSS, and a
//! re-run of each completed phase; await-active over a simulated 15-minute wait; start-up,
//! sizes and (optionally) a cold release build; and the baseline, the seed document replayed
//! with the real `az` and `avn` under the same latency, with the ratios ours ÷ theirs. Prints a
//! table and writes `target/bench/report.json`.

mod baseline;
mod floor;
mod footprint;
mod procedure;
mod report;

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo xtask bench` flags.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArguments {
    /// How many full procedures to run (each phase reports its median run).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Latency the simulator adds to every request, token requests included.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "50ms", value_name = "DURATION")]
    pub latency: Duration,
    /// The simulator's delays: `fast` (0.1–0.5 s) or `realistic` (1–5 s).
    #[arg(long, default_value = "fast", value_parser = ["fast", "realistic"])]
    pub profile: String,
    /// Also time a release build from an empty target directory (takes minutes).
    #[arg(long)]
    pub cold_build: bool,
    /// Leave out the baseline (the seed replay with the real az and avn).
    #[arg(long)]
    pub skip_baseline: bool,
    /// How many `--version` runs the start-up median is taken over.
    #[arg(long, default_value_t = 101)]
    pub startup_samples: usize,
}

pub fn run(arguments: BenchArguments) -> Result<()> {
    let root = crate::root();
    crate::cargo(&[
        "build",
        "--release",
        "--locked",
        "--quiet",
        "--package",
        "peering",
        "--package",
        "cloud-sim",
        "--bins",
    ])?;
    let release = tests::binary_dir()
        .parent()
        .context("the profile directories share a parent")?
        .join("release");
    let mut config = match arguments.profile.as_str() {
        "realistic" => cloud_sim::SimConfig::realistic(),
        _ => cloud_sim::SimConfig::fast(),
    };
    // Fixed delays (the simulator draws each from ±spread otherwise) and one latency for every
    // request: token requests become "faultable", which with every fault rate at zero only
    // gives them the latency.
    config.delays.spread_percent = 0;
    config.faults.latency = arguments.latency;
    config.faults.token_faults = true;

    let phase_binary = release.join(format!(
        "{}{}",
        crate::phases::BUILT_BINARY,
        std::env::consts::EXE_SUFFIX
    ));
    let (version_median, version_rss) =
        footprint::median_run(&phase_binary, &["--version"], arguments.startup_samples)?;
    let simulator_ready = measure_simulator_startup(&release, 5)?;
    eprintln!(
        "start-up: --version {:.2} ms (median of {}); cloud-sim ready line {} ms",
        version_median.as_secs_f64() * 1000.0,
        arguments.startup_samples,
        simulator_ready.as_millis()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (procedures, waiting, baseline) = runtime.block_on(async {
        let mut procedures = Vec::new();
        for round in 1..=arguments.runs.max(1) {
            eprintln!("procedure run {round} of {}", arguments.runs.max(1));
            procedures.push(procedure::measure_procedure(&config, &release).await?);
        }
        eprintln!("await-active over a simulated 15-minute wait");
        let waiting = procedure::measure_await_active(&config, &release).await?;
        let baseline = if arguments.skip_baseline {
            None
        } else {
            eprintln!("the baseline: the seed replayed with the real az and avn");
            let clis = crate::seed_replay::install_clis(None, true)?;
            Some(baseline::measure_baseline(&config, &clis).await?)
        };
        anyhow::Ok((procedures, waiting, baseline))
    })?;

    let cold_release_build = if arguments.cold_build {
        eprintln!("cold release build (a fresh target directory)");
        Some(footprint::cold_release_build(&root)?)
    } else {
        None
    };
    let archive = footprint::newest_archive(&root.join("dist"));
    let footprint = report::FootprintReport {
        executable_bytes: footprint::executable_size(&release)?,
        archive: archive.as_ref().map(|(path, _)| path.display().to_string()),
        archive_bytes: archive.as_ref().map(|(_, bytes)| *bytes),
        cold_release_build_s: cold_release_build.map(|elapsed| elapsed.as_secs_f64().round()),
    };
    let procedure = report::procedure_report(&procedures).context("at least one run")?;
    let baseline = baseline.as_ref().map(report::baseline_report);
    let ratios = baseline
        .as_ref()
        .map(|theirs| report::ratios(&procedure, &footprint, theirs));
    let mut report = report::Report {
        command: std::iter::once("cargo xtask".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        machine: machine(),
        settings: report::Settings {
            latency_ms: arguments.latency.as_secs_f64() * 1000.0,
            profile: arguments.profile.clone(),
            delays: config.delays.clone(),
            runs: procedures.len(),
        },
        phases: report::phase_reports(&procedures),
        procedure,
        await_active: report::await_report(&waiting),
        startup: report::StartupReport {
            version_median_ms: (version_median.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            samples: arguments.startup_samples,
            version_peak_rss_kib: version_rss,
        },
        footprint,
        baseline,
        ratios,
        targets: Vec::new(),
    };
    report.targets = report::targets(&report);

    let directory = root.join("target/bench");
    std::fs::create_dir_all(&directory)?;
    let path = directory.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("{}", report::table(&report));
    println!("written: {}", path.display());
    Ok(())
}

/// `cloud-sim serve` start-up to its ready line (median of `samples`).
fn measure_simulator_startup(release: &std::path::Path, samples: usize) -> Result<Duration> {
    let binary = release.join(format!("cloud-sim{}", std::env::consts::EXE_SUFFIX));
    let mut times = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        times.push(started.elapsed());
        let _ = child.kill();
        let _ = child.wait();
        serde_json::from_str::<serde_json::Value>(&line).context("the ready line is JSON")?;
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// The machine the figures were taken on.
fn machine() -> report::Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        });
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    report::Machine {
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        cpus: std::thread::available_parallelism().map_or(1, |count| count.get()),
        cpu_model,
        rustc,
    }
}
