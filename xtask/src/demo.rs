//! `cargo xtask demo`: the simulator in-process, the procedure's real binaries in sequence.

use anyhow::{Result, bail};
use std::time::Instant;
use tests::Harness;

pub fn run(fast: bool) -> Result<()> {
    crate::build_binaries()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = if fast {
            cloud_sim::SimConfig::fast()
        } else {
            cloud_sim::SimConfig::realistic()
        };
        let mut harness = Harness::start_with(config).await;
        harness.poll_interval = "1s".to_string();
        let ready = harness.ready().clone();
        println!(
            "cloud-sim is serving (Azure AD, Graph, ARM, Aiven) with {} delays",
            if fast { "fast" } else { "realistic" }
        );
        println!(
            "  user tenant {}  subscription {}",
            ready.user_tenant_id, ready.subscription_id
        );
        println!(
            "  VNet {}/{}  Aiven project {} VPC {}\n",
            ready.resource_group, ready.vnet_name, ready.aiven_project, ready.project_vpc_id
        );
        for phase in peering::Phase::procedure() {
            let name = phase.name();
            let step = harness.procedure_phase(phase);
            println!("== {name}");
            let started = Instant::now();
            let run = step.run().await;
            for line in run.stderr.lines() {
                println!("   | {line}");
            }
            println!(
                "   exit {} after {:.1}s",
                run.code,
                started.elapsed().as_secs_f64()
            );
            if run.code != 0 {
                bail!("{name} failed");
            }
            println!();
        }
        println!("== final state file ({})", harness.state_file().display());
        println!("{}", std::fs::read_to_string(harness.state_file())?);
        let connection_state = harness.sim.with_world(|world| {
            world
                .aiven_projects
                .iter()
                .flat_map(|project| project.vpcs.iter())
                .flat_map(|vpc| vpc.peering_connections.iter())
                .map(|connection| connection.state.clone())
                .collect::<Vec<_>>()
        });
        println!("Aiven peering connection: {}", connection_state.join(", "));
        harness.assert_no_secret_leaked();
        println!("no secret appeared in any output, log or state file");
        Ok(())
    })
}
