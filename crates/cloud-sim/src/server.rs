//! Listeners: one TLS accept loop per service, the request log (with the faults `faults`
//! decides) and the background driver of clock-based state.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::faults::{
    Candidate, FaultDecision, HeldWrite, Holds, decide_fault, fault_response, is_faultable,
    is_write, new_fault_state, route_of,
};
use crate::http::{FaultLabel, RequestIdentity};
use crate::{
    Ready, RequestRecord, Service, Shared, Sim, SimConfig, SimError, TenantPreset, Urls, lock, tls,
    world,
};

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DroppedConnection {}

pub(crate) async fn start(config: SimConfig) -> Result<Sim, SimError> {
    let started = Instant::now();
    let tls_material = tls::generate_tls_material()?;

    let mut listeners = Vec::new();
    for (index, service) in Service::ALL.iter().enumerate() {
        let port = if config.port == 0 {
            0
        } else {
            config
                .port
                .checked_add(index as u16)
                .ok_or(SimError::PortRange(config.port))?
        };
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|source| SimError::Bind {
                service: service.label(),
                port,
                source,
            })?;
        let bound_port = listener
            .local_addr()
            .map_err(|source| SimError::Bind {
                service: service.label(),
                port,
                source,
            })?
            .port();
        listeners.push((
            *service,
            listener,
            format!("https://127.0.0.1:{bound_port}"),
        ));
    }
    let url_of = |wanted: Service| {
        listeners
            .iter()
            .find(|(service, _, _)| *service == wanted)
            .map(|(_, _, url)| url.clone())
            .unwrap_or_default()
    };
    let urls = Urls {
        authority_host: url_of(Service::Identity),
        resource_manager: url_of(Service::ResourceManager),
        graph: url_of(Service::Graph),
        aiven: url_of(Service::Aiven),
        github: url_of(Service::Github),
        control: url_of(Service::Control),
    };

    let (ca_cert, temporary_directory) = match &config.ca_cert_path {
        Some(path) => (path.clone(), None),
        None => {
            let directory =
                std::env::temp_dir().join(format!("cloud-sim-{}", uuid::Uuid::new_v4()));
            (directory.join("ca.pem"), Some(directory))
        }
    };
    if let Some(parent) = ca_cert
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| SimError::WriteCaCertificate {
            path: ca_cert.clone(),
            source,
        })?;
    }
    std::fs::write(&ca_cert, &tls_material.ca_pem).map_err(|source| {
        SimError::WriteCaCertificate {
            path: ca_cert.clone(),
            source,
        }
    })?;

    let (seeded_world, seed_secrets) = world::seed_world(started, config.tenant);
    let github_api_prefix = match config.tenant {
        TenantPreset::Quiet => "",
        TenantPreset::Busy => "/api/v3",
    };
    let fixtures = seeded_world.fixtures.clone();
    let ready = Ready {
        ca_cert,
        authority_host: urls.authority_host.clone(),
        resource_manager: urls.resource_manager.clone(),
        graph: urls.graph.clone(),
        aiven: urls.aiven.clone(),
        github: format!("{}{github_api_prefix}", urls.github),
        control: urls.control.clone(),
        user_tenant_id: fixtures.user_tenant_id.clone(),
        admin_client_id: fixtures.admin_app_id.clone(),
        admin_client_secret: seed_secrets.admin_client_secret,
        subscription_id: fixtures.user_subscription_id.clone(),
        resource_group: fixtures.resource_group.clone(),
        vnet_name: fixtures.vnet_name.clone(),
        vnet_id: world::virtual_network_id(
            &fixtures.user_subscription_id,
            &fixtures.resource_group,
            &fixtures.vnet_name,
        ),
        vnet_location: fixtures.vnet_location.clone(),
        aiven_token: seeded_world.aiven_token.clone(),
        aiven_project: fixtures.aiven_project.clone(),
        project_vpc_id: fixtures.project_vpc_id.clone(),
        aiven_tenant_id: fixtures.aiven_tenant_id.clone(),
        aiven_app_id: world::AIVEN_APP_ID.to_string(),
        github_repository: fixtures.github_repository.clone(),
        github_token: seeded_world.github.token.clone(),
        github_readonly_token: seeded_world.github.readonly_token.clone(),
        github_secrets_read_token: seeded_world.github.secrets_read_token.clone(),
        github_oidc_request_url: format!("{}/_oidc/token?api-version=2.0", urls.github),
        github_oidc_request_token: seeded_world.github.oidc_request_token.clone(),
    };

    let shared = Arc::new(Shared {
        world: Mutex::new(seeded_world),
        delays: config.delays.clone(),
        faults: Mutex::new(new_fault_state(config.faults.clone())),
        requests: Mutex::new(Vec::new()),
        holds: Holds::default(),
        urls,
        started,
        page_size: config.page_size.max(1),
        github_api_prefix,
    });

    let (shutdown_sender, shutdown_receiver) = watch::channel(false);
    let acceptor = TlsAcceptor::from(tls_material.server_config.clone());
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    for (service, listener, _) in listeners {
        let router = router_for(service, shared.clone());
        tasks.push(tokio::spawn(accept_loop(
            listener,
            acceptor.clone(),
            service,
            router,
            shared.clone(),
            shutdown_receiver.clone(),
        )));
    }
    tasks.push(tokio::spawn(drive_clock(shared.clone(), shutdown_receiver)));

    Ok(Sim {
        shared,
        ready,
        shutdown_sender,
        tasks,
        temporary_directory,
    })
}

fn router_for(service: Service, shared: Arc<Shared>) -> Router {
    match service {
        Service::Identity => crate::identity::router(shared),
        Service::ResourceManager => crate::arm::router(shared),
        Service::Graph => crate::graph::router(shared),
        Service::Aiven => crate::aiven::router(shared),
        Service::Github => crate::github::router(shared),
        Service::Control => crate::control::router(shared),
    }
}

/// Advances Aiven connections and ARM operations even when nobody asks.
async fn drive_clock(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            _ = interval.tick() => {
                drop(shared.world());
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    service: Service,
    router: Router,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let shared = shared.clone();
        let mut connection_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
            let Ok(Ok(tls_stream)) = handshake else {
                return;
            };
            let service_function = hyper::service::service_fn(move |request: Request<Incoming>| {
                handle_request(shared.clone(), service, router.clone(), request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls_stream), service_function);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = connection_shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(1), connection).await;
                }
            }
        });
    }
}

/// What the request log says about one request, before its outcome is known.
#[derive(Clone)]
struct RecordBase {
    method: String,
    service: Service,
    path: String,
    route: String,
    is_write: bool,
}

impl RecordBase {
    fn log(&self, shared: &Shared, status: u16, identity: Option<String>, fault: Option<&str>) {
        let record = RequestRecord {
            method: self.method.clone(),
            service: self.service.label().to_string(),
            path: self.path.clone(),
            route: self.route.clone(),
            status,
            identity,
            write: self.is_write,
            fault: fault.map(str::to_string),
            at_millis: shared.started.elapsed().as_millis() as u64,
        };
        lock(&shared.requests).push(record);
    }
}

/// Runs a request through the service's router; the caller's identity comes back beside the
/// response.
async fn answer(router: Router, request: Request<Body>) -> (Response<Body>, Option<String>) {
    let response = match tower::ServiceExt::oneshot(router, request).await {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    };
    let (mut parts, body) = response.into_parts();
    let identity = parts
        .extensions
        .remove::<RequestIdentity>()
        .map(|identity| identity.0);
    (Response::from_parts(parts, body), identity)
}

async fn handle_request(
    shared: Arc<Shared>,
    service: Service,
    router: Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, DroppedConnection> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let base = RecordBase {
        method: method.to_string(),
        service,
        route: route_of(&path),
        is_write: is_write(service, &path, &method),
        path,
    };

    let (latency, decision) = if is_faultable(&shared, service, &base.path) {
        decide_fault(
            &shared,
            &Candidate {
                method: &base.method,
                service,
                route: &base.route,
                is_write: base.is_write,
            },
        )
    } else {
        (Duration::ZERO, FaultDecision::None)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let mut drop_after_answer = false;
    let mut gateway_timeout_after_answer = false;
    match decision {
        FaultDecision::None => {}
        FaultDecision::Drop => {
            base.log(&shared, 0, None, Some("drop"));
            return Err(DroppedConnection);
        }
        FaultDecision::Status(status, label) => {
            base.log(&shared, status.as_u16(), None, Some(label));
            return Ok(fault_response(service, status, method != Method::GET));
        }
        FaultDecision::FailWriteBefore => {
            base.log(&shared, 500, None, Some("fail-write-before"));
            return Ok(fault_response(
                service,
                StatusCode::INTERNAL_SERVER_ERROR,
                true,
            ));
        }
        FaultDecision::FailWriteAfter => drop_after_answer = true,
        FaultDecision::FailWriteGatewayTimeout => gateway_timeout_after_answer = true,
        FaultDecision::Hold => return hold(shared, base, router, request).await,
    }

    let (mut response, identity) = answer(router, request.map(Body::new)).await;
    let handler_fault = response
        .extensions_mut()
        .remove::<FaultLabel>()
        .map(|label| label.0);
    if drop_after_answer {
        base.log(
            &shared,
            response.status().as_u16(),
            identity,
            Some("fail-write-after"),
        );
        return Err(DroppedConnection);
    }
    if gateway_timeout_after_answer {
        base.log(&shared, 504, identity, Some("fail-write-gateway-timeout"));
        return Ok(fault_response(service, StatusCode::GATEWAY_TIMEOUT, true));
    }
    base.log(&shared, response.status().as_u16(), identity, handler_fault);
    Ok(response)
}

/// Keeps a write unanswered until the test releases it, then applies it (its answer goes to a
/// client that is most likely gone) or drops it. The body is read first and the decision waited
/// for in a task of its own, so the client's death cannot cut the write short.
async fn hold(
    shared: Arc<Shared>,
    base: RecordBase,
    router: Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, DroppedConnection> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(Body::new(body), usize::MAX).await else {
        base.log(&shared, 0, None, Some("hold-body-lost"));
        return Err(DroppedConnection);
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let released = shared.holds.hold(HeldWrite {
        method: base.method.clone(),
        service: base.service.label().to_string(),
        path: base.path.clone(),
        route: base.route.clone(),
    });
    let task = tokio::spawn(async move {
        let Ok(release) = released.await else {
            base.log(&shared, 0, None, Some("hold-dropped"));
            return None;
        };
        let outcome = if release.apply {
            let (response, identity) = answer(router, request).await;
            base.log(
                &shared,
                response.status().as_u16(),
                identity,
                Some("hold-applied"),
            );
            Some(response)
        } else {
            base.log(&shared, 0, None, Some("hold-dropped"));
            None
        };
        let _ = release.done.send(());
        outcome
    });
    match task.await {
        Ok(Some(response)) => Ok(response),
        _ => Err(DroppedConnection),
    }
}
