//! ARM's cloud metadata document, `GET /metadata/endpoints?api-version=2022-09-01`: served
//! without authentication, as the real service does, because clients read it to learn where to
//! sign in (the Azure CLI fetches it before `az cloud register` accepts a cloud).

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::json;

use super::arm_error;
use crate::Shared;
use crate::http::{json_response, query_pairs, query_value};

/// The api-versions of the metadata document that answer one cloud's object (older ones answer
/// a list of every cloud, which the simulator does not serve).
const METADATA_API_VERSIONS: [&str; 2] = ["2020-06-01", "2022-09-01"];

/// True for the metadata path (ARM ignores empty segments, so `//metadata/endpoints` counts).
pub(super) fn is_metadata_path(segments: &[String]) -> bool {
    matches!(segments, [first, second] if first.eq_ignore_ascii_case("metadata") && second.eq_ignore_ascii_case("endpoints"))
}

/// The document for the simulated cloud: its own sign-in, Resource Manager and Graph endpoints
/// with the public cloud's name and suffixes. AAD Graph (`graph`, `graphAudience`) is left out:
/// it is retired and the simulator does not serve it.
pub(super) fn endpoints(shared: &Shared, query: Option<&str>) -> Response<Body> {
    let query = query_pairs(query);
    let Some(api_version) = query_value(&query, "api-version") else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if !METADATA_API_VERSIONS.contains(&api_version) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{api_version}' is invalid. The supported versions are '{}'.",
                METADATA_API_VERSIONS.join(",")
            ),
        );
    }
    let urls = &shared.urls;
    json_response(
        StatusCode::OK,
        json!({
            "name": "AzureCloud",
            "portal": "https://portal.azure.com",
            "authentication": {
                "loginEndpoint": urls.authority_host,
                "audiences": [
                    format!("{}/", urls.resource_manager),
                    "https://management.core.windows.net/",
                    "https://management.azure.com/",
                ],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "resourceManager": format!("{}/", urls.resource_manager),
            "microsoftGraphResourceId": format!("{}/", urls.graph),
            "suffixes": {
                "acrLoginServer": "azurecr.io",
                "keyVaultDns": "vault.azure.net",
                "sqlServerHostname": "database.windows.net",
                "storage": "core.windows.net",
            },
        }),
    )
}
