//! `up`: the four phases in one process reach the same end state as the four jobs, write
//! nothing when run again, stop on bad input before any write, and leak no secret. (Its
//! crash tests are in `crashes.rs`, beside the phases'.)

use crate::procedure::{Mode, assert_final_state};
use tests::Harness;

#[tokio::test(flavor = "multi_thread")]
async fn up_reaches_an_active_peering_like_the_four_phases() {
    let harness = Harness::start().await;
    let run = harness.up().run().await;
    run.assert_success();
    assert_eq!(run.output("peering_state"), "ACTIVE");
    assert_eq!(run.output("user_tenant_id"), harness.ready().user_tenant_id);
    assert_eq!(
        run.output("aiven_tenant_id"),
        harness.ready().aiven_tenant_id
    );
    assert_final_state(&harness);
    // The state file is the phases' own: any of them can take over from `up`.
    harness.await_active().run().await.assert_success();
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn up_run_again_writes_nothing_and_gives_the_same_outputs() {
    let harness = Harness::start().await;
    let first = harness.up().run().await;
    first.assert_success();
    let writes = harness.write_count();
    let again = harness.up().run().await;
    again.assert_success();
    // request-peering reads Aiven's tenant and VNet only in PENDING_PEER; an ACTIVE
    // connection may not carry them (the state file keeps them), as when it runs alone.
    let mut expected = first.outputs();
    expected.remove("aiven_tenant_id");
    expected.remove("aiven_vnet_id");
    assert_eq!(again.outputs(), expected);
    assert_eq!(harness.writes_since(writes), Vec::<String>::new());
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn up_continues_after_the_four_phases_or_a_part_of_them() {
    // Jobs that stopped after request-peering: `up` finishes the procedure from their state.
    let harness = Harness::start().await;
    Mode::Ephemeral
        .prepare(&harness)
        .run()
        .await
        .assert_success();
    harness.request_peering().run().await.assert_success();
    let writes = harness.write_count();
    harness.up().run().await.assert_success();
    let made: Vec<String> = harness.writes_since(writes);
    assert!(
        made.iter().all(|write| !write.contains("roleAssignments")),
        "the finished phases write nothing again: {made:#?}"
    );
    assert_final_state(&harness);
    harness.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread")]
async fn up_refuses_bad_input_of_any_phase_before_any_write() {
    let harness = Harness::start().await;
    for (flag, value) in [
        ("--poll-interval", "1ms"),
        ("--await-timeout", "soon"),
        ("--credential-lifetime", "forever"),
        ("--grant-grace", "a while"),
        ("--request-timeout", "ages"),
    ] {
        let run = harness.up().args([flag, value]).run().await;
        run.assert_code(2);
        assert!(run.stderr.contains(flag), "{flag}: {}", run.stderr);
    }
    assert_eq!(harness.write_count(), 0);
    harness.assert_no_secret_leaked();
}
