//! A runner's timeout in the middle of any write: the simulator holds the chosen write, the
//! test kills the phase (SIGKILL: no clean-up runs), the write is then applied or lost, and
//! re-running the procedure converges to the same end state as a clean run, with no twin and
//! no leaked secret.
//!
//! The writes come from the request log of a clean run of each scenario (by method and
//! route), so a write added to a phase is crashed without anyone editing this file.

use crate::procedure::Mode;
use api_core::env_vars;
use cloud_sim::{Delays, Faults, HeldWrite, RequestRecord, SimConfig, WriteSelector};
use std::collections::BTreeMap;
use tests::{Harness, Phase, WorldSummary};

/// The phase a scenario crashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Prepare,
    Request,
    Accept,
    /// `up`, the whole procedure in one process.
    Up,
    /// teardown after the whole procedure.
    Teardown,
}

/// What the world looks like before the crashed phase runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// The earlier phases of the procedure, as a first run makes them.
    Earlier,
    /// A stored-mode procedure whose GitHub secret was deleted since: prepare-tenant mints
    /// a new password, stores it, and removes the old one.
    StoredSecretLost,
    /// The Aiven connection failed (INVALID_SPECIFICATION): `request-peering --recreate`
    /// deletes and re-creates it.
    FailedConnection,
    /// Aiven re-created its side: the user side is Disconnected, deleted and re-created.
    Disconnected,
    /// A finished procedure with a password a killed run left on the app.
    LeftoverPassword,
}

#[derive(Clone, Copy, Debug)]
struct Scenario {
    name: &'static str,
    mode: Mode,
    setup: Setup,
    step: Step,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "prepare-tenant",
        mode: Mode::Ephemeral,
        setup: Setup::Earlier,
        step: Step::Prepare,
    },
    Scenario {
        name: "request-peering",
        mode: Mode::Ephemeral,
        setup: Setup::Earlier,
        step: Step::Request,
    },
    Scenario {
        name: "accept-peering with a minted password",
        mode: Mode::Ephemeral,
        setup: Setup::Earlier,
        step: Step::Accept,
    },
    Scenario {
        name: "prepare-tenant with a federated credential",
        mode: Mode::Federated,
        setup: Setup::Earlier,
        step: Step::Prepare,
    },
    Scenario {
        name: "accept-peering federated",
        mode: Mode::Federated,
        setup: Setup::Earlier,
        step: Step::Accept,
    },
    Scenario {
        name: "prepare-tenant storing the password",
        mode: Mode::Stored,
        setup: Setup::Earlier,
        step: Step::Prepare,
    },
    Scenario {
        name: "prepare-tenant replacing a lost stored password",
        mode: Mode::Stored,
        setup: Setup::StoredSecretLost,
        step: Step::Prepare,
    },
    Scenario {
        name: "request-peering --recreate",
        mode: Mode::Ephemeral,
        setup: Setup::FailedConnection,
        step: Step::Request,
    },
    Scenario {
        name: "accept-peering of a Disconnected peering",
        mode: Mode::Ephemeral,
        setup: Setup::Disconnected,
        step: Step::Accept,
    },
    Scenario {
        name: "up",
        mode: Mode::Ephemeral,
        setup: Setup::Earlier,
        step: Step::Up,
    },
    Scenario {
        name: "accept-peering removing a leftover password",
        mode: Mode::Ephemeral,
        setup: Setup::LeftoverPassword,
        step: Step::Accept,
    },
    Scenario {
        name: "teardown",
        mode: Mode::Ephemeral,
        setup: Setup::Earlier,
        step: Step::Teardown,
    },
    Scenario {
        name: "teardown of a procedure that stored the password in GitHub",
        mode: Mode::Stored,
        setup: Setup::Earlier,
        step: Step::Teardown,
    },
];

/// No delays: a clean run makes exactly the same writes every time, so the Nth write of a
/// route in the clean run is the Nth in the crashed run too. The busy tenant, as every run.
fn steady() -> SimConfig {
    SimConfig {
        delays: Delays::zero(),
        ..SimConfig::default()
    }
    .busy()
}

impl Scenario {
    /// The crashed phase's command line.
    fn phase<'a>(&self, harness: &'a Harness) -> Phase<'a> {
        match (self.step, self.setup) {
            (Step::Prepare, _) => self.mode.prepare(harness),
            (Step::Request, Setup::FailedConnection) => harness.request_peering().arg("--recreate"),
            (Step::Request, _) => harness.request_peering(),
            (Step::Accept, _) => self.mode.accept(harness),
            (Step::Up, _) => harness.up(),
            // The GitHub token deletes the secret prepare-tenant stored (stored mode).
            (Step::Teardown, _) => harness
                .teardown()
                .env(env_vars::GITHUB_TOKEN, harness.ready().github_token.clone()),
        }
    }

    async fn set_up(&self, harness: &Harness) {
        match self.setup {
            Setup::Earlier if self.step == Step::Teardown => {
                self.mode.run_procedure(harness).await;
            }
            Setup::Earlier => {
                if self.step != Step::Prepare && self.step != Step::Up {
                    self.mode.prepare(harness).run().await.assert_success();
                }
                if self.step == Step::Accept {
                    harness.request_peering().run().await.assert_success();
                }
            }
            Setup::StoredSecretLost => {
                self.mode.run_procedure(harness).await;
                let repository = harness.ready().github_repository.clone();
                harness.sim.with_world(|world| {
                    for repository in world
                        .github
                        .repositories
                        .iter_mut()
                        .filter(|candidate| candidate.full_name == repository)
                    {
                        for environment in &mut repository.environments {
                            environment.secret_box.secrets.clear();
                        }
                    }
                });
            }
            Setup::FailedConnection => {
                self.mode.prepare(harness).run().await.assert_success();
                harness.request_peering().run().await.assert_success();
                harness.with_live_connections(|connection| {
                    connection.state = "INVALID_SPECIFICATION".to_string();
                    connection.state_info = serde_json::json!({
                        "message": "The peer network range overlaps with the project VPC network",
                        "type": "invalid-specification",
                    });
                });
            }
            Setup::Disconnected => {
                self.mode.run_procedure(harness).await;
                crate::failures::disconnect_the_user_side(harness);
            }
            Setup::LeftoverPassword => {
                self.mode.run_procedure(harness).await;
                crate::failures::leave_an_ephemeral_password(harness);
            }
        }
    }

    /// Runs what is left of the procedure after the crashed phase (itself included).
    async fn finish(&self, harness: &Harness) {
        if self.step == Step::Teardown {
            let run = self.phase(harness).run().await;
            assert_eq!(
                run.code, 0,
                "{}: a re-run failed\n--- stdout\n{}\n--- stderr\n{}",
                self.name, run.stdout, run.stderr
            );
            return;
        }
        let mut rest = Vec::new();
        if self.step == Step::Up {
            // A re-run of `up` continues where the killed one stopped.
            let run = harness.up().run().await;
            assert_eq!(
                run.code, 0,
                "{}: a re-run failed\n--- stdout\n{}\n--- stderr\n{}",
                self.name, run.stdout, run.stderr
            );
            return;
        }
        if self.step == Step::Prepare {
            rest.push(self.mode.prepare(harness).run().await);
        }
        if self.step != Step::Accept {
            rest.push(self.phase_after_prepare(harness).run().await);
        }
        rest.push(self.mode.accept(harness).run().await);
        rest.push(harness.await_active().run().await);
        for run in rest {
            assert_eq!(
                run.code, 0,
                "{}: a re-run failed\n--- stdout\n{}\n--- stderr\n{}",
                self.name, run.stdout, run.stderr
            );
        }
    }

    fn phase_after_prepare<'a>(&self, harness: &'a Harness) -> Phase<'a> {
        if self.step == Step::Request {
            self.phase(harness)
        } else {
            harness.request_peering()
        }
    }
}

/// The name of the simulator's Aiven VNet: random per start, and part of the user-side
/// peering's route.
fn aiven_vnet_name(harness: &Harness) -> String {
    let ready = harness.ready().clone();
    harness.sim.with_world(|world| {
        world
            .aiven_projects
            .iter()
            .flat_map(|project| &project.vpcs)
            .find(|vpc| vpc.id == ready.project_vpc_id)
            .and_then(|vpc| vpc.azure_virtual_network_id.rsplit('/').next())
            .unwrap_or_default()
            .to_string()
    })
}

const AIVEN_VNET_NAME: &str = "{aiven-vnet-name}";

/// The writes of the crashed phase in a clean run (routes with the Aiven VNet's name as
/// `{aiven-vnet-name}`), and the end state that run reaches.
async fn clean_run(scenario: &Scenario) -> (Vec<WriteSelector>, WorldSummary) {
    let harness = Harness::start_with(steady()).await;
    scenario.set_up(&harness).await;
    let before = harness.sim.requests().len();
    scenario.phase(&harness).run().await.assert_success();
    let writes: Vec<RequestRecord> = harness.sim.requests()[before..]
        .iter()
        .filter(|record| record.write)
        .cloned()
        .collect();
    for write in &writes {
        assert!(
            write.status < 400,
            "{}: a clean run's write failed, so its writes are not the same every time: {write:?}",
            scenario.name
        );
    }
    let mut seen: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let selectors = writes
        .iter()
        .map(|write| {
            let occurrence = seen
                .entry((
                    write.method.clone(),
                    write.service.clone(),
                    write.route.clone(),
                ))
                .or_default();
            *occurrence += 1;
            let mut selector = WriteSelector::like(write, *occurrence);
            selector.route = selector
                .route
                .map(|route| route.replace(&aiven_vnet_name(&harness), AIVEN_VNET_NAME));
            selector
        })
        .collect();
    scenario.finish(&harness).await;
    harness.assert_no_secret_leaked();
    (selectors, harness.summary())
}

/// Kills the scenario's phase while `write` is held, applies or drops the write, re-runs, and
/// compares the end state with the clean run's.
/// Runs the scenario's phase until `write` is held, kills it, and applies or drops the write.
async fn kill_at(
    harness: &Harness,
    scenario: &Scenario,
    write: &WriteSelector,
    apply: bool,
    case: &str,
) -> HeldWrite {
    let mut write = write.clone();
    write.route = write
        .route
        .map(|route| route.replace(AIVEN_VNET_NAME, &aiven_vnet_name(harness)));
    harness.sim.set_faults(Faults {
        hold_write: Some(write.clone()),
        ..Faults::default()
    });
    let mut running = scenario.phase(harness).spawn();
    let held = tokio::select! {
        held = harness.sim.held_write() => Some(held),
        _ = running.exited() => None,
    };
    let Some(held) = held else {
        let run = running.finish().await;
        panic!(
            "{case}: the phase ended (exit {}) without reaching the write: the fault never fired\n{}",
            run.code, run.stderr
        );
    };
    assert!(
        !running.has_exited(),
        "{case}: the phase is waiting for its answer"
    );
    let killed = running.kill().await;
    assert_eq!(
        killed.code, -1,
        "{case}: the phase was killed, not finished"
    );
    harness
        .sim
        .release_held_write(apply)
        .await
        .expect("the write is still held");
    harness.sim.set_faults(Faults::default());
    let fault = if apply {
        "hold-applied"
    } else {
        "hold-dropped"
    };
    let logged = harness.sim.requests().into_iter().any(|record| {
        record.fault.as_deref() == Some(fault)
            && record.route == held.route
            && record.method == held.method
    });
    assert!(
        logged,
        "{case}: the request log records the held write as {fault}"
    );
    held
}

async fn crash_at(scenario: &Scenario, write: &WriteSelector, apply: bool, clean: &WorldSummary) {
    let fate = if apply { "applied" } else { "lost" };
    let case = format!("{}: killed at {write}, the write {fate}", scenario.name);
    let harness = Harness::start_with(steady()).await;
    scenario.set_up(&harness).await;
    let held = kill_at(&harness, scenario, write, apply, &case).await;
    scenario.finish(&harness).await;
    let mut summary = harness.summary();
    if summary != *clean && killed_runs_password_is_left(&summary, clean) {
        // The killed run minted a password and never removed it. A re-run must not remove a
        // live one (it may be a concurrent run's); once it has expired, the next run does.
        expire_ephemeral_passwords(&harness);
        scenario.mode.accept(&harness).run().await.assert_success();
        summary = harness.summary();
    }
    if let Some(gap) = known_gap(scenario, &held, apply) {
        let passwords = &mut summary.applications[0].passwords;
        assert_eq!(passwords.len(), 2, "{case}: {gap}");
        passwords.pop();
    }
    assert_eq!(
        &summary, clean,
        "{case}: the end state differs from a clean run's"
    );
    harness.assert_no_secret_leaked();
}

/// Whether the end state differs from the clean run's only by one short-lived password of
/// accept-peering (the killed run's).
fn killed_runs_password_is_left(summary: &WorldSummary, clean: &WorldSummary) -> bool {
    let mut without = summary.clone();
    let Some(application) = without.applications.first_mut() else {
        return false;
    };
    let before = application.passwords.len();
    application.passwords.retain(|name| {
        !name.starts_with(peering::phases::accept_peering::EPHEMERAL_PASSWORD_PREFIX)
    });
    before - application.passwords.len() == 1 && without == *clean
}

/// Moves the end of every short-lived accept-peering password into the past.
fn expire_ephemeral_passwords(harness: &Harness) {
    harness.sim.with_world(|world| {
        for password in world
            .applications
            .iter_mut()
            .flat_map(|application| application.password_credentials.iter_mut())
            .filter(|password| {
                password.display_name.as_deref().is_some_and(|name| {
                    name.starts_with(peering::phases::accept_peering::EPHEMERAL_PASSWORD_PREFIX)
                })
            })
        {
            password.end_time = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
        }
    });
}

/// The crashes the phases cannot yet repair on their own, with why. When the new stored
/// password reached the GitHub secret but the old one was not removed yet, the re-run finds
/// the secret and two passwords of that name and cannot tell which one the secret holds
/// (GitHub never returns a secret's value; its `updated_at` could tell, issue 8 B6), so it
/// keeps both: the old one, whose value nobody holds any more, stays until then.
fn known_gap(scenario: &Scenario, held: &HeldWrite, apply: bool) -> Option<&'static str> {
    let secret_replaced = held.service == "github" && apply;
    let old_password_kept = held.route.ends_with("/removePassword") && !apply;
    let between =
        scenario.setup == Setup::StoredSecretLost && (secret_replaced || old_password_kept);
    between.then_some(
        "the old stored password stays beside the new one until stored-secret repair reads the secret's updated_at",
    )
}

async fn crash_every_write_of(scenario: &Scenario) {
    let (writes, clean) = clean_run(scenario).await;
    assert!(!writes.is_empty(), "{}: the phase writes", scenario.name);
    for write in &writes {
        for apply in [false, true] {
            crash_at(scenario, write, apply, &clean).await;
        }
    }
}

async fn crash_scenarios(step: Step, modes: &[Mode]) {
    let mut ran = 0;
    for scenario in SCENARIOS
        .iter()
        .filter(|scenario| scenario.step == step && modes.contains(&scenario.mode))
    {
        crash_every_write_of(scenario).await;
        ran += 1;
    }
    assert!(ran > 0, "a scenario ran for {step:?} {modes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn prepare_tenant_converges_after_a_kill_at_any_write() {
    crash_scenarios(Step::Prepare, &[Mode::Ephemeral]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prepare_tenant_with_a_federated_or_stored_credential_converges_after_a_kill_at_any_write()
{
    crash_scenarios(Step::Prepare, &[Mode::Federated, Mode::Stored]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_peering_converges_after_a_kill_at_any_write() {
    crash_scenarios(Step::Request, &Mode::ALL).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn up_converges_after_a_kill_at_any_write() {
    crash_scenarios(Step::Up, &[Mode::Ephemeral]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn teardown_converges_after_a_kill_at_any_write() {
    crash_scenarios(Step::Teardown, &[Mode::Ephemeral, Mode::Stored]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_peering_converges_after_a_kill_at_any_write() {
    crash_scenarios(Step::Accept, &Mode::ALL).await;
}

/// Write-ahead records: prepare-tenant killed at any write, the write lost or applied, has
/// recorded in the state file everything it created and everything it was creating (its two
/// chains run concurrently, so other writes may be in flight), so teardown, run instead of a
/// re-run, leaves the tenant as it was before.
#[tokio::test(flavor = "multi_thread")]
async fn teardown_after_prepare_tenant_was_killed_at_any_write_removes_what_it_made() {
    let mut ran = 0;
    for scenario in SCENARIOS
        .iter()
        .filter(|scenario| scenario.step == Step::Prepare && scenario.setup == Setup::Earlier)
    {
        teardown_after_each_kill_of(scenario).await;
        ran += 1;
    }
    assert_eq!(
        ran,
        Mode::ALL.len(),
        "every credential mode's prepare-tenant"
    );
}

async fn teardown_after_each_kill_of(scenario: &Scenario) {
    let (writes, _) = clean_run(scenario).await;
    for (write, apply) in writes
        .iter()
        .flat_map(|write| [(write, false), (write, true)])
    {
        let fate = if apply { "applied" } else { "lost" };
        let case = format!(
            "{}: killed at {write}, the write {fate}, then teardown",
            scenario.name
        );
        let harness = Harness::start_with(steady()).await;
        let untouched = harness.summary();
        kill_at(&harness, scenario, write, apply, &case).await;
        // The VNet flags too: a run killed before its first record left no state file. The
        // GitHub token deletes a secret the killed run stored (stored mode).
        let ready = harness.ready().clone();
        let run = harness
            .teardown()
            .env(env_vars::GITHUB_TOKEN, ready.github_token.clone())
            .args([
                "--subscription-id",
                &ready.subscription_id,
                "--resource-group",
                &ready.resource_group,
                "--vnet-name",
                &ready.vnet_name,
            ])
            .run()
            .await;
        assert_eq!(run.code, 0, "{case}: teardown failed\n{}", run.stderr);
        assert_eq!(
            harness.summary(),
            untouched,
            "{case}: teardown left something the killed run made"
        );
        harness.assert_no_secret_leaked();
    }
}
