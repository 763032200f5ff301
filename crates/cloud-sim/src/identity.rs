//! Microsoft identity platform: the v2.0 token endpoint (client secret and federated client
//! assertion) and the OpenID configuration document, with AADSTS errors as the real service.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Response, StatusCode, Uri};
use serde_json::{Value, json};

use crate::Shared;
use crate::http::{json_response, path_segments, with_identity};
use crate::world::{Audience, IssuedToken, World, random_secret, sha256};

pub(crate) const CLIENT_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response<Body> {
    let segments = path_segments(uri.path());
    let segment_texts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method.clone(), segment_texts.as_slice()) {
        (Method::POST, [tenant, "oauth2", "v2.0", "token"]) => {
            token_endpoint(&shared, tenant, &body)
        }
        (Method::GET, [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            openid_configuration(&shared, tenant)
        }
        (_, [_, "oauth2", "v2.0", "token"]) => aad_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        ),
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": "not_found", "error_description": format!("the identity endpoint {} does not exist", uri.path())}),
        ),
    }
}

/// An AADSTS error in the token endpoint's shape.
pub(crate) fn aad_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> Response<Body> {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let timestamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace('T', " ");
    json_response(
        status,
        json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn tenant_not_found(tenant: &str) -> Response<Body> {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
    )
}

/// The pseudo-tenants of the v2.0 endpoint: any work account (`organizations`), any account
/// (`common`), personal accounts (`consumers`). MSAL reads their discovery documents (the Azure
/// CLI builds an `organizations` authority for `az account clear`); their issuer carries the
/// literal `{tenantid}` placeholder, filled per token by the real service.
const PSEUDO_TENANTS: [&str; 3] = ["common", "organizations", "consumers"];

fn openid_configuration(shared: &Shared, tenant: &str) -> Response<Body> {
    let authority = &shared.urls.authority_host;
    let (path_tenant, issuer_tenant, region_scope) = match PSEUDO_TENANTS
        .iter()
        .find(|pseudo| tenant.eq_ignore_ascii_case(pseudo))
    {
        Some(pseudo) => (pseudo.to_string(), "{tenantid}".to_string(), Value::Null),
        None => {
            let world = shared.world();
            let Some(tenant) = world.tenant(tenant) else {
                return tenant_not_found(tenant);
            };
            (tenant.id.clone(), tenant.id.clone(), json!("EU"))
        }
    };
    json_response(
        StatusCode::OK,
        json!({
            "token_endpoint": format!("{authority}/{path_tenant}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{authority}/{path_tenant}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{authority}/{issuer_tenant}/v2.0"),
            "request_uri_parameter_supported": false,
            "authorization_endpoint": format!("{authority}/{path_tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{authority}/{path_tenant}/oauth2/v2.0/devicecode"),
            "end_session_endpoint": format!("{authority}/{path_tenant}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
            "tenant_region_scope": region_scope,
            "cloud_instance_name": "microsoftonline.com",
        }),
    )
}

/// Maps a `<resource>/.default` scope to the audience it names, if the simulator serves it.
fn audience_for_resource(shared: &Shared, resource: &str) -> Option<Audience> {
    let resource = resource.trim_end_matches('/').to_ascii_lowercase();
    let resource_manager = [
        shared.urls.resource_manager.to_ascii_lowercase(),
        "https://management.azure.com".to_string(),
        "https://management.core.windows.net".to_string(),
    ];
    let graph = [
        shared.urls.graph.to_ascii_lowercase(),
        "https://graph.microsoft.com".to_string(),
    ];
    if resource_manager.contains(&resource) {
        Some(Audience::ResourceManager)
    } else if graph.contains(&resource) {
        Some(Audience::Graph)
    } else {
        None
    }
}

fn token_endpoint(shared: &Shared, tenant_in_path: &str, body: &[u8]) -> Response<Body> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let identity = field("client_id").map(|client_id| format!("{tenant_in_path}/{client_id}"));
    let response = token_flow(shared, tenant_in_path, &field);
    with_identity(response, identity)
}

fn token_flow<'a>(
    shared: &Shared,
    tenant_in_path: &str,
    field: &dyn Fn(&str) -> Option<&'a str>,
) -> Response<Body> {
    let mut world = shared.world();
    let Some(tenant_id) = world.tenant(tenant_in_path).map(|tenant| tenant.id.clone()) else {
        return tenant_not_found(tenant_in_path);
    };
    let Some(grant_type) = field("grant_type") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    if grant_type != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let Some(client_id) = field("client_id") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(scope) = field("scope") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let [single_scope] = scopes.as_slice() else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. Client credential flows take exactly one resource with /.default."
            ),
        );
    };
    let Some(resource) = single_scope.strip_suffix("/.default") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {single_scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let Some(audience) = audience_for_resource(shared, resource) else {
        let tenant_name = world
            .tenant(&tenant_id)
            .map(|tenant| tenant.display_name.clone())
            .unwrap_or_default();
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        );
    };

    let now = Instant::now();
    let application_not_found = |world: &World| {
        let tenant_name = world
            .tenant(&tenant_id)
            .map(|tenant| tenant.display_name.clone())
            .unwrap_or_default();
        aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    };
    let Some(application) = world
        .application_by_app_id(client_id)
        .filter(|application| application.visible_at <= now)
        .cloned()
    else {
        return application_not_found(&world);
    };
    if application.tenant_id != tenant_id && !application.is_multi_tenant() {
        return application_not_found(&world);
    }

    // Client authentication with the home-tenant credential.
    if let Some(secret) = field("client_secret") {
        let secret_hash = sha256(secret);
        let Some(credential) = application
            .password_credentials
            .iter()
            .find(|credential| credential.secret_sha256 == secret_hash)
        else {
            return invalid_secret(client_id);
        };
        if credential.usable_at > now {
            return invalid_secret(client_id);
        }
        if credential.end_time <= SystemTime::now() {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000222,
                &format!(
                    "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
                ),
            );
        }
    } else if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            );
        }
        if let Err(response) = check_federated_assertion(&world, &application, assertion) {
            return response;
        }
    } else {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }

    let Some(service_principal) = world
        .service_principal_for_app(&tenant_id, client_id)
        .cloned()
    else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            7000229,
            &format!(
                "The client application {client_id} is missing service principal in the tenant {tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
            ),
        );
    };
    if !service_principal.account_enabled {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            7000112,
            &format!("Application '{client_id}' is disabled."),
        );
    }

    let access_token = random_secret(120);
    let lifetime = shared.delays.token_lifetime;
    world.tokens.insert(
        access_token.clone(),
        IssuedToken {
            tenant_id: tenant_id.clone(),
            app_id: application.app_id.clone(),
            service_principal_id: service_principal.object_id.clone(),
            audience,
            issued_at: now,
            expires_at: now + lifetime,
        },
    );
    world.remember_secret(crate::world::SecretKind::AccessToken, &access_token);
    json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "ext_expires_in": lifetime.as_secs(),
            "access_token": access_token,
        }),
    )
}

fn invalid_secret(client_id: &str) -> Response<Body> {
    aad_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000215,
        &format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ),
    )
}

/// Verifies a federated client assertion issued by the simulator and matches it against the
/// application's federated identity credentials.
fn check_federated_assertion(
    world: &World,
    application: &crate::world::Application,
    assertion: &str,
) -> Result<(), Response<Body>> {
    let claims = crate::jwt::verify(&world.jwt_key, assertion).map_err(|error| match error {
        crate::jwt::JwtError::Malformed => aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ),
        crate::jwt::JwtError::BadSignature => aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.",
        ),
    })?;
    let claim = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
    let issuer = claim("iss");
    let subject = claim("sub");
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(audience)) => vec![audience.clone()],
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    // `exp` is in whole seconds and `iat` rounded down, so a token lives up to a second less
    // than its lifetime; the token endpoint accepts it through the second `exp` names (the
    // real one tolerates minutes of clock skew), so a one-second token issued at x.999 s is
    // not refused a millisecond later.
    let expiry = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if expiry < crate::jwt::unix_now() {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range. Request a fresh assertion for every token request.",
        ));
    }
    let with_issuer: Vec<_> = application
        .federated_identity_credentials
        .iter()
        .filter(|credential| credential.issuer == issuer)
        .collect();
    if with_issuer.is_empty() {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            700211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        ));
    }
    let with_subject: Vec<_> = with_issuer
        .into_iter()
        .filter(|credential| credential.subject == subject)
        .collect();
    if with_subject.is_empty() {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            700213,
            &format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        ));
    }
    let audience_matches = with_subject.iter().any(|credential| {
        credential
            .audiences
            .iter()
            .any(|allowed| audiences.contains(allowed))
    });
    if !audience_matches {
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
                audiences.join(",")
            ),
        ));
    }
    Ok(())
}
