//! `--plan` on the procedure's phases and on teardown: before each phase runs and after the
//! whole procedure, a plan makes no write request (the simulator's request log) and leaves the
//! state file as it was, and the changes it lists are the ones the real run then makes (its
//! step summary's created, changed and removed rows). A plan that cannot see past an earlier
//! phase, or knows the run would fail, exits 1 and says why.

use crate::procedure::Mode;
use api_core::env_vars;
use cloud_sim::{Delays, SimConfig};
use tests::{Harness, Phase, Run};

/// No delays: with role propagation under way, request-peering may meet Aiven's early
/// INVALID_SPECIFICATION and re-create the connection, a retry no plan can foresee.
async fn steady_harness() -> Harness {
    Harness::start_with(SimConfig {
        delays: Delays::zero(),
        ..SimConfig::default()
    })
    .await
}

/// One change: (what, resource kind, name), what being create, update or delete.
type Change = (String, String, String);

/// The changes a `--plan-json` run lists (reuse and wait rows are not changes).
fn planned(run: &Run) -> Vec<Change> {
    let plan: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("the plan is JSON ({error}):\n{}", run.stdout));
    let mut changes: Vec<Change> = plan["changes"]
        .as_array()
        .expect("the plan lists its changes")
        .iter()
        .map(|change| {
            let text = |field: &str| change[field].as_str().unwrap_or_default().to_string();
            (text("change"), text("resource"), text("name"))
        })
        .filter(|(change, _, _)| ["create", "update", "delete"].contains(&change.as_str()))
        .collect();
    changes.sort();
    changes
}

/// The changes a real run made, from the rows of its step summary.
fn made(summary: &str) -> Vec<Change> {
    let mut changes: Vec<Change> = summary
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let change = match *cells.get(2)? {
                "created" => "create",
                "changed" => "update",
                "removed" => "delete",
                _ => return None,
            };
            Some((
                change.to_string(),
                cells[0].to_string(),
                cells[1].to_string(),
            ))
        })
        .collect();
    changes.sort();
    changes
}

/// Runs `phase` with `--plan-json`, checking it wrote nothing anywhere; returns the run.
async fn plan(harness: &Harness, phase: Phase<'_>, expected_code: i32) -> Run {
    let state_before = std::fs::read(harness.state_file()).ok();
    let writes_before = harness.write_count();
    let run = phase.arg("--plan-json").run().await;
    run.assert_code(expected_code);
    assert_eq!(
        harness.writes_since(writes_before),
        Vec::<String>::new(),
        "a plan makes no write request\n{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(harness.state_file()).ok(),
        state_before,
        "a plan leaves the state file as it was"
    );
    run
}

/// Plans `phase`, runs it for real with a step summary, and compares the two.
async fn plan_then_run<'a>(
    harness: &'a Harness,
    phase: impl Fn() -> Phase<'a>,
    what: &str,
) -> Vec<Change> {
    let planned = planned(&plan(harness, phase(), 0).await);
    let summary = harness.path(&format!("summary-{what}.md"));
    let _ = std::fs::remove_file(&summary);
    let writes_before = harness.write_count();
    phase()
        .env(env_vars::GITHUB_STEP_SUMMARY, summary.display().to_string())
        .run()
        .await
        .assert_success();
    let made = made(&std::fs::read_to_string(&summary).expect("the run wrote its summary"));
    assert_eq!(
        planned, made,
        "{what}: the plan lists the changes the run made"
    );
    assert_eq!(
        made.is_empty(),
        harness.writes_since(writes_before).is_empty(),
        "{what}: a run that changes something writes, and only then"
    );
    planned
}

async fn plans_match_the_runs(mode: Mode) {
    let harness = steady_harness().await;
    let prepared = plan_then_run(&harness, || mode.prepare(&harness), "prepare-tenant").await;
    let kinds: Vec<&str> = prepared.iter().map(|(_, kind, _)| kind.as_str()).collect();
    for kind in [
        "app registration",
        "service principal",
        "custom role",
        "role assignment",
    ] {
        assert!(
            kinds.contains(&kind),
            "{mode:?}: the first plan creates a {kind}: {prepared:?}"
        );
    }
    let requested = plan_then_run(&harness, || harness.request_peering(), "request-peering").await;
    assert_eq!(
        requested.len(),
        1,
        "{mode:?}: one connection: {requested:?}"
    );
    let accepted = plan_then_run(&harness, || mode.accept(&harness), "accept-peering").await;
    assert_eq!(
        accepted.len(),
        1,
        "{mode:?}: one VNet peering: {accepted:?}"
    );
    let awaited = plan(&harness, harness.await_active(), 0).await;
    assert!(planned(&awaited).is_empty(), "await-active only waits");
    harness.await_active().run().await.assert_success();

    // After the procedure every plan is empty, and says the objects are reused.
    for phase in [
        mode.prepare(&harness),
        harness.request_peering(),
        mode.accept(&harness),
        harness.await_active(),
    ] {
        let run = plan(&harness, phase, 0).await;
        assert_eq!(
            planned(&run),
            Vec::<Change>::new(),
            "{mode:?}: nothing left to do"
        );
        assert!(run.stdout.contains("\"reuse\""), "{}", run.stdout);
    }

    // The GitHub token deletes the secret a stored-mode prepare-tenant made.
    let github_token = harness.ready().github_token.clone();
    let teardown = || {
        harness
            .teardown()
            .env(env_vars::GITHUB_TOKEN, github_token.clone())
    };
    let removed = plan_then_run(&harness, teardown, "teardown").await;
    assert!(removed.len() >= prepared.len(), "{removed:?}");
    let run = plan(&harness, teardown(), 0).await;
    assert_eq!(
        planned(&run),
        Vec::<Change>::new(),
        "nothing left to remove"
    );
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_before_and_after_each_phase_write_nothing_and_list_what_the_run_makes() {
    plans_match_the_runs(Mode::Ephemeral).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_with_federated_and_stored_credentials_list_what_the_run_makes() {
    plans_match_the_runs(Mode::Federated).await;
    plans_match_the_runs(Mode::Stored).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_that_needs_an_earlier_phase_names_it_and_exits_1() {
    let harness = Harness::start().await;
    for phase in [harness.request_peering(), harness.accept_peering()] {
        let run = plan(&harness, phase, 1).await;
        assert!(
            run.stderr.contains("run prepare-tenant first"),
            "{}",
            run.stderr
        );
    }
    harness.prepare_tenant().run().await.assert_success();
    let run = plan(&harness, harness.accept_peering(), 1).await;
    assert!(
        run.stderr.contains("cannot plan accept-peering yet")
            && run.stderr.contains("run request-peering first"),
        "{}",
        run.stderr
    );
    // Bad input stays bad input (2), plan or not.
    plan(
        &harness,
        harness
            .request_peering()
            .args(["--project-vpc-id", "not-a-guid"]),
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_of_a_run_that_would_fail_says_why_and_a_recreate_plan_lists_delete_and_create() {
    let harness = steady_harness().await;
    harness.prepare_tenant().run().await.assert_success();
    harness.request_peering().run().await.assert_success();
    harness.with_live_connections(|connection| {
        connection.state = "INVALID_SPECIFICATION".to_string();
        connection.state_info = serde_json::json!({
            "message": "The peer network range overlaps with the project VPC network",
            "type": "invalid-specification",
        });
    });
    // Past the grant grace: within it, an INVALID_SPECIFICATION right after the Aiven app's
    // assignment is taken for role propagation and re-created without --recreate.
    let run = plan(
        &harness,
        harness.request_peering().args(["--grant-grace", "1ms"]),
        1,
    )
    .await;
    assert!(
        run.stderr.contains("the real run would fail"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("AZP-AIVEN-INVALID-SPEC"),
        "{}",
        run.stderr
    );
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(plan["would_fail"]["code"], "AZP-AIVEN-INVALID-SPEC");

    let recreated = plan_then_run(
        &harness,
        || harness.request_peering().arg("--recreate"),
        "request-peering --recreate",
    )
    .await;
    let changes: Vec<&str> = recreated
        .iter()
        .map(|(change, _, _)| change.as_str())
        .collect();
    assert_eq!(changes, ["create", "delete"], "{recreated:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_in_github_actions_goes_to_the_step_summary_as_a_table() {
    let harness = Harness::start().await;
    let summary = harness.path("summary.md");
    let run = harness
        .prepare_tenant()
        .arg("--plan")
        .env(env_vars::GITHUB_STEP_SUMMARY, summary.display().to_string())
        .run()
        .await;
    run.assert_success();
    assert!(
        run.stdout.starts_with("plan of prepare-tenant:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("nothing was changed"), "{}", run.stdout);
    let written = std::fs::read_to_string(&summary).expect("the plan's summary");
    assert!(
        written.contains("### prepare-tenant --plan (nothing was changed)"),
        "{written}"
    );
    assert!(written.contains("| app registration |"), "{written}");
    assert!(written.contains("| create |"), "{written}");
    assert!(
        !harness.state_file().exists(),
        "a plan writes no state file"
    );
}
