//! Shared helpers of the integration tests: starting the simulator, an HTTPS client trusting its
//! CA, and small request wrappers for each service.

use std::sync::Once;
use std::time::{Duration, Instant};

use cloud_sim::{Delays, Ready, Sim, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

static INSTALL_PROVIDER: Once = Once::new();

/// reqwest is built with `rustls-no-provider`: install ring once per test binary.
pub fn install_crypto_provider() {
    INSTALL_PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub fn client_trusting(ca_path: &std::path::Path) -> reqwest::Client {
    install_crypto_provider();
    let pem = std::fs::read(ca_path).expect("the simulator wrote its ca certificate");
    let certificate = reqwest::Certificate::from_pem(&pem).expect("the ca certificate is pem");
    reqwest::Client::builder()
        .tls_certs_only([certificate])
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the reqwest client builds")
}

pub struct TestSim {
    pub sim: Sim,
    pub client: reqwest::Client,
}

/// A simulator with the given delays.
pub async fn start_with(delays: Delays) -> TestSim {
    start_config(SimConfig {
        delays,
        ..SimConfig::default()
    })
    .await
}

/// A simulator with the given configuration.
pub async fn start_config(config: SimConfig) -> TestSim {
    let sim = Sim::start(config).await.expect("the simulator starts");
    let client = client_trusting(&sim.ready().ca_cert);
    TestSim { sim, client }
}

/// A simulator without any delay: for tests of one behaviour.
pub async fn start_instant() -> TestSim {
    start_with(Delays::zero()).await
}

/// A simulator with `SimConfig::fast()` delays.
pub async fn start_fast() -> TestSim {
    start_with(Delays::fast()).await
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl TestSim {
    pub fn ready(&self) -> &Ready {
        self.sim.ready()
    }

    pub async fn send(
        &self,
        method: Method,
        url: &str,
        authorization: Option<&str>,
        body: Option<Value>,
        extra_headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.request(method, url);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the simulator answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the body is readable");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Raw token request.
    pub async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> Answer {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.ready().authority_host);
        let response = self
            .client
            .post(url)
            .form(form)
            .send()
            .await
            .expect("the identity listener answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn secret_token(
        &self,
        tenant: &str,
        client_id: &str,
        secret: &str,
        resource: &str,
    ) -> Answer {
        let scope = format!("{resource}/.default");
        self.token_request(
            tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", &scope),
            ],
        )
        .await
    }

    /// A token for the seeded admin app: `arm` or `graph`.
    pub async fn admin_token(&self, resource: &str) -> String {
        let ready = self.ready().clone();
        let base = if resource == "graph" {
            ready.graph.clone()
        } else {
            ready.resource_manager.clone()
        };
        let answer = self
            .secret_token(
                &ready.user_tenant_id,
                &ready.admin_client_id,
                &ready.admin_client_secret,
                &base,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn arm(
        &self,
        method: Method,
        path_and_query: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}{path_and_query}", self.ready().resource_manager);
        self.send(method, &url, Some(&format!("Bearer {token}")), body, &[])
            .await
    }

    pub async fn graph(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}/v1.0{path}", self.ready().graph);
        self.send(method, &url, Some(&format!("Bearer {token}")), body, &[])
            .await
    }

    pub async fn aiven(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let url = format!("{}/v1{path}", self.ready().aiven);
        let authorization = format!("aivenv1 {}", self.ready().aiven_token);
        self.send(method, &url, Some(&authorization), body, &[])
            .await
    }

    /// Every item of an ARM (`nextLink`) or Graph (`@odata.nextLink`) list, following the links
    /// from `url` to the last page; also returns how many pages there were.
    pub async fn all_pages(&self, url: &str, token: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut next = Some(url.to_string());
        while let Some(url) = next.take() {
            let answer = self
                .send(
                    Method::GET,
                    &url,
                    Some(&format!("Bearer {token}")),
                    None,
                    &[],
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{url}: {}", answer.body);
            pages += 1;
            items.extend(answer.body["value"].as_array().cloned().unwrap_or_default());
            next = answer.body["nextLink"]
                .as_str()
                .or(answer.body["@odata.nextLink"].as_str())
                .map(str::to_string);
        }
        (items, pages)
    }

    /// Waits out a simulated delay as the simulator may draw it for any one object (up to
    /// `spread_percent` longer), with a little slack.
    pub async fn wait(&self, delay: Duration) {
        let spread = f64::from(self.sim.delays().spread_percent.min(100)) / 100.0;
        tokio::time::sleep(delay.mul_f64(1.0 + spread) + Duration::from_millis(60)).await;
    }

    /// Creates a multi-tenant application with a service principal and a usable password, as the
    /// prepare phase does; returns (app id, object id, service principal id, secret).
    pub async fn create_user_application(
        &self,
        graph_token: &str,
    ) -> (String, String, String, String) {
        let delays = self.sim.delays().clone();
        let created = self
            .graph(
                Method::POST,
                "/applications",
                graph_token,
                Some(
                    json!({"displayName": "peering-app", "signInAudience": "AzureADMultipleOrgs"}),
                ),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let app_id = created.body["appId"].as_str().unwrap().to_string();
        let object_id = created.body["id"].as_str().unwrap().to_string();
        self.wait(delays.graph_replication_lag).await;
        let principal = self
            .graph(
                Method::POST,
                "/servicePrincipals",
                graph_token,
                Some(json!({"appId": app_id})),
            )
            .await;
        assert_eq!(principal.status, StatusCode::CREATED, "{}", principal.body);
        let principal_id = principal.body["id"].as_str().unwrap().to_string();
        let password = self
            .graph(
                Method::POST,
                &format!("/applications/{object_id}/addPassword"),
                graph_token,
                Some(json!({"passwordCredential": {"displayName": "peering"}})),
            )
            .await;
        assert_eq!(password.status, StatusCode::OK, "{}", password.body);
        let secret = password.body["secretText"].as_str().unwrap().to_string();
        self.wait(
            delays
                .graph_replication_lag
                .max(delays.password_propagation),
        )
        .await;
        (app_id, object_id, principal_id, secret)
    }

    /// Assigns a role with `principalType: ServicePrincipal`.
    pub async fn assign_role(
        &self,
        arm_token: &str,
        scope: &str,
        role_guid: &str,
        principal_id: &str,
    ) -> Answer {
        let subscription = &self.ready().subscription_id;
        let started = Instant::now();
        loop {
            let answer = self.arm(
                Method::PUT,
                &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01", uuid::Uuid::new_v4()),
                arm_token,
                Some(json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
                    "principalId": principal_id,
                    "principalType": "ServicePrincipal",
                }})),
            )
            .await;
            // A principal or custom role made moments ago is unknown to RBAC for a while, as
            // in Azure: clients retry.
            let lagging = answer.status == StatusCode::BAD_REQUEST
                && ["PrincipalNotFound", "RoleDefinitionDoesNotExist"]
                    .contains(&answer.body["error"]["code"].as_str().unwrap_or_default());
            if !lagging || started.elapsed() > Duration::from_secs(10) {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Polls `check` until it returns `Some`, at most `limit`.
pub async fn poll<T, F, Fut>(limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}
