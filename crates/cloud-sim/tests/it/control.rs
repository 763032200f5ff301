//! Faults, the request log and the control listener.

use std::time::{Duration, Instant};

use cloud_sim::{FailMode, Faults, WriteSelector};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::start_instant;

#[tokio::test]
async fn transient_faults_use_each_service_shape_and_spare_token_requests() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let token = test.admin_token("arm").await;
    test.sim.set_faults(Faults {
        rate_429: 1.0,
        ..Faults::default()
    });
    let throttled = test
        .arm(
            Method::GET,
            &format!("{}?api-version=2024-05-01", ready.vnet_id),
            &token,
            None,
        )
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.header("retry-after"), Some("1"));
    assert!(
        throttled
            .header("x-ms-ratelimit-remaining-subscription-reads")
            .is_some(),
        "{:?}",
        throttled.headers
    );
    assert!(throttled.body["error"]["code"].is_string());
    let aiven = test
        .aiven(Method::GET, "/project/acme-prod/vpcs", None)
        .await;
    assert_eq!(aiven.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(aiven.body["errors"].is_array());
    // Token requests are never faulted.
    let _ = test.admin_token("graph").await;

    test.sim.set_faults(Faults {
        rate_503: 1.0,
        ..Faults::default()
    });
    let graph_token = test.admin_token("graph").await;
    let unavailable = test
        .graph(Method::GET, "/applications", &graph_token, None)
        .await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(unavailable.body["error"]["innerError"].is_object());

    test.sim.set_faults(Faults {
        rate_500: 1.0,
        ..Faults::default()
    });
    let failed = test
        .arm(
            Method::GET,
            &format!("{}?api-version=2024-05-01", ready.vnet_id),
            &token,
            None,
        )
        .await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);

    test.sim.set_faults(Faults {
        rate_drop: 1.0,
        ..Faults::default()
    });
    let dropped = test
        .client
        .get(format!(
            "{}{}?api-version=2024-05-01",
            ready.resource_manager, ready.vnet_id
        ))
        .bearer_auth(&token)
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "a dropped connection gives the client no answer"
    );

    test.sim.set_faults(Faults {
        latency: Duration::from_millis(200),
        ..Faults::default()
    });
    let started = Instant::now();
    let slow = test
        .arm(
            Method::GET,
            &format!("{}?api-version=2024-05-01", ready.vnet_id),
            &token,
            None,
        )
        .await;
    assert_eq!(slow.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn the_nth_write_fails_before_or_after_applying() {
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let count_apps = |name: &'static str| {
        let state = test.sim.state();
        state["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|application| application["displayName"] == name)
            .count()
    };
    test.sim.set_faults(Faults {
        fail_nth_write: Some(2),
        fail_mode: FailMode::Before,
        ..Faults::default()
    });
    let first = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "one"})),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "two"})),
        )
        .await;
    assert_eq!(second.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        count_apps("two"),
        0,
        "a write failed before applying leaves no trace"
    );
    let third = test
        .graph(
            Method::POST,
            "/applications",
            &token,
            Some(json!({"displayName": "two"})),
        )
        .await;
    assert_eq!(third.status, StatusCode::CREATED, "the fault fires once");

    test.sim.set_faults(Faults {
        fail_nth_write: Some(1),
        fail_mode: FailMode::After,
        ..Faults::default()
    });
    let crashed = test
        .client
        .post(format!("{}/v1.0/applications", test.ready().graph))
        .bearer_auth(&token)
        .json(&json!({"displayName": "three"}))
        .send()
        .await;
    assert!(crashed.is_err(), "the client gets no answer");
    assert_eq!(count_apps("three"), 1, "but the write was applied");

    let log = test.sim.requests();
    let faulted: Vec<_> = log.iter().filter(|record| record.fault.is_some()).collect();
    assert_eq!(faulted.len(), 2);
    assert!(
        faulted
            .iter()
            .all(|record| record.write && record.service == "graph")
    );
}

#[tokio::test]
async fn request_log_names_identities_but_never_secrets() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    let token = test.admin_token("arm").await;
    test.arm(
        Method::GET,
        &format!("{}?api-version=2024-05-01", ready.vnet_id),
        &token,
        None,
    )
    .await;
    test.aiven(Method::GET, "/project/acme-prod/vpcs", None)
        .await;
    let log = test.sim.requests();
    let token_request = log
        .iter()
        .find(|record| record.service == "identity")
        .unwrap();
    assert!(!token_request.write);
    assert_eq!(
        token_request.identity.as_deref(),
        Some(format!("{}/{}", ready.user_tenant_id, ready.admin_client_id).as_str())
    );
    let arm = log.iter().find(|record| record.service == "arm").unwrap();
    assert_eq!(arm.path, ready.vnet_id);
    assert_eq!(arm.status, 200);
    assert_eq!(
        arm.identity.as_deref(),
        Some(format!("{}/{}", ready.user_tenant_id, ready.admin_client_id).as_str())
    );
    let aiven = log.iter().find(|record| record.service == "aiven").unwrap();
    assert_eq!(aiven.identity.as_deref(), Some("aiven-token"));
    let log_text = serde_json::to_string(&log).unwrap();
    for secret in test.sim.issued_secrets() {
        assert!(
            !log_text.contains(&secret),
            "the request log leaks a secret"
        );
    }
}

#[tokio::test]
async fn control_listener_serves_state_requests_and_faults() {
    let test = start_instant().await;
    let control = test.ready().control.clone();
    let state = test
        .send(
            Method::GET,
            &format!("{control}/_sim/state"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(state.status, StatusCode::OK);
    assert_eq!(state.body["tenants"].as_array().unwrap().len(), 2);
    assert!(state.body["virtualNetworks"].as_array().unwrap().len() >= 2);
    let state_text = state.body.to_string();
    for secret in test.sim.issued_secrets() {
        assert!(!state_text.contains(&secret), "the state leaks a secret");
    }
    let faults = test
        .send(
            Method::PUT,
            &format!("{control}/_sim/faults"),
            None,
            Some(json!({"rate_429": 1.0, "latency": "10ms"})),
            &[],
        )
        .await;
    assert_eq!(faults.status, StatusCode::OK, "{}", faults.body);
    let throttled = test
        .aiven(Method::GET, "/project/acme-prod/vpcs", None)
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let bad = test
        .send(
            Method::PUT,
            &format!("{control}/_sim/faults"),
            None,
            Some(json!({"rate_429": "lots"})),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let requests = test
        .send(
            Method::GET,
            &format!("{control}/_sim/requests"),
            None,
            None,
            &[],
        )
        .await;
    assert!(
        requests
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|record| record["status"] == 429)
    );
}

#[tokio::test]
async fn a_held_write_waits_for_the_test_then_applies_or_vanishes() {
    let test = start_instant().await;
    let token = test.admin_token("graph").await;
    let count_apps = |name: &'static str| {
        test.sim.state()["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|application| application["displayName"] == name)
            .count()
    };
    for (apply, name) in [(true, "kept"), (false, "lost")] {
        test.sim.set_faults(Faults {
            hold_write: Some(WriteSelector {
                method: Some("POST".into()),
                route: Some("/v1.0/applications".into()),
                occurrence: 2,
                ..WriteSelector::default()
            }),
            ..Faults::default()
        });
        let first = test
            .graph(
                Method::POST,
                "/applications",
                &token,
                Some(json!({"displayName": "first"})),
            )
            .await;
        assert_eq!(first.status, StatusCode::CREATED, "the first match passes");
        let client = test.client.clone();
        let url = format!("{}/v1.0/applications", test.ready().graph);
        let bearer = token.clone();
        // The client gives up (a killed process) while its write is held.
        let request = tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(bearer)
                .json(&json!({"displayName": name}))
                .send()
                .await
        });
        let held = test.sim.held_write().await;
        assert_eq!(
            (held.method.as_str(), held.route.as_str()),
            ("POST", "/v1.0/applications")
        );
        assert_eq!(
            count_apps(name),
            0,
            "nothing happens while the write is held"
        );
        request.abort();
        let released = test.sim.release_held_write(apply).await;
        assert_eq!(released, Some(held));
        assert_eq!(count_apps(name), usize::from(apply));
        let fault = if apply {
            "hold-applied"
        } else {
            "hold-dropped"
        };
        assert!(
            test.sim
                .requests()
                .iter()
                .any(|record| record.fault.as_deref() == Some(fault)
                    && record.route == "/v1.0/applications")
        );
        assert_eq!(
            test.sim.release_held_write(true).await,
            None,
            "released once"
        );
    }
}

#[tokio::test]
async fn token_requests_are_faulted_only_when_asked() {
    let test = start_instant().await;
    let ready = test.ready().clone();
    test.sim.set_faults(Faults {
        rate_503: 1.0,
        ..Faults::default()
    });
    let spared = test
        .secret_token(
            &ready.user_tenant_id,
            &ready.admin_client_id,
            &ready.admin_client_secret,
            &ready.resource_manager,
        )
        .await;
    assert_eq!(spared.status, StatusCode::OK, "{}", spared.body);
    test.sim.set_faults(Faults {
        rate_503: 1.0,
        token_faults: true,
        ..Faults::default()
    });
    let refused = test
        .secret_token(
            &ready.user_tenant_id,
            &ready.admin_client_id,
            &ready.admin_client_secret,
            &ready.resource_manager,
        )
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused.body["error"], "temporarily_unavailable",
        "{}",
        refused.body
    );
    let oidc = test
        .client
        .get(&ready.github_oidc_request_url)
        .bearer_auth(&ready.github_oidc_request_token)
        .send()
        .await
        .unwrap();
    assert_eq!(oidc.status(), StatusCode::SERVICE_UNAVAILABLE);
    let token_writes = test
        .sim
        .requests()
        .iter()
        .filter(|record| record.service == "identity" && record.write)
        .count();
    assert_eq!(token_writes, 0, "token requests are never writes");
}
