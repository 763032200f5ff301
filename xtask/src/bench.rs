//! `cargo xtask bench`: timing goals measured here, never in tests.
//!
//! Measures: `cloud-sim serve` start-up to its ready line (goal: under 1 s), each phase's wall
//! time against the simulator with zero delays (the tool's own overhead), and the number of
//! requests and writes per phase on a first and a second run (the second must write nothing).

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::Harness;

pub fn run(runs: usize) -> Result<()> {
    crate::cargo(&[
        "build",
        "--quiet",
        "--package",
        "peering",
        "--package",
        "cloud-sim",
        "--bins",
    ])?;
    let startup = measure_startup(5)?;
    println!(
        "cloud-sim serve: ready line after {} (median of 5; goal < 1s)",
        millis(startup)
    );
    if startup >= Duration::from_secs(1) {
        bail!("cloud-sim start-up misses its 1 s goal");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut totals = [Duration::ZERO; 4];
        for round in 0..runs {
            let config = cloud_sim::SimConfig {
                delays: cloud_sim::Delays::zero(),
                ..Default::default()
            };
            let harness = Harness::start_with(config).await;
            let phases = [
                "prepare-tenant",
                "request-peering",
                "accept-peering",
                "await-active",
            ];
            for (index, name) in phases.iter().enumerate() {
                for pass in ["first", "second"] {
                    let requests_before = harness.sim.requests().len();
                    let writes_before = harness.write_count();
                    let started = Instant::now();
                    let phase = match *name {
                        "prepare-tenant" => harness.prepare_tenant(),
                        "request-peering" => harness.request_peering(),
                        "accept-peering" => harness.accept_peering(),
                        _ => harness.await_active(),
                    };
                    let run = phase.run().await;
                    let elapsed = started.elapsed();
                    if run.code != 0 {
                        bail!("{name} failed:\n{}", run.stderr);
                    }
                    if pass == "first" {
                        totals[index] += elapsed;
                    }
                    if round == 0 {
                        println!(
                            "{name:16} {pass:6} run: {:>7}, {:>3} requests, {:>2} writes",
                            millis(elapsed),
                            harness.sim.requests().len() - requests_before,
                            harness.write_count() - writes_before
                        );
                    }
                }
            }
        }
        for (index, name) in [
            "prepare-tenant",
            "request-peering",
            "accept-peering",
            "await-active",
        ]
        .iter()
        .enumerate()
        {
            println!(
                "{name:16} mean first run over {runs}: {}",
                millis(totals[index] / runs as u32)
            );
        }
        Ok(())
    })
}

fn measure_startup(samples: usize) -> Result<Duration> {
    let binary = tests::binary_dir().join(format!("cloud-sim{}", std::env::consts::EXE_SUFFIX));
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

fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}
