//! The simulator's Aiven answers validated against Aiven's published OpenAPI schemas.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::start_with;

fn openapi_document() -> Value {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vendored = manifest.join("tests/data/aiven-vpc-openapi.json");
    let shared = manifest.join("../../../shared/specs/aiven-vpc-openapi.json");
    let path = if vendored.exists() { vendored } else { shared };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("the openapi document is json")
}

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved {reference}"))
        }
        None => schema,
    }
}

/// A small JSON-schema checker for the keywords the Aiven document uses.
fn validate(
    document: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    let schema = resolve(document, schema);
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let matches = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !matches {
            problems.push(format!("{path}: expected {kind}, got {value}"));
            return;
        }
    }
    if let (Some(options), Some(text)) =
        (schema.get("enum").and_then(Value::as_array), value.as_str())
        && !options.iter().any(|option| option == text)
    {
        problems.push(format!("{path}: '{text}' is not one of {options:?}"));
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if let Some(maximum) = schema.get("maxLength").and_then(Value::as_u64)
            && length > maximum
        {
            problems.push(format!("{path}: longer than {maximum}"));
        }
        if let Some(minimum) = schema.get("minLength").and_then(Value::as_u64)
            && length < minimum
        {
            problems.push(format!("{path}: shorter than {minimum}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or("");
            match object.get(name) {
                None => problems.push(format!("{path}: missing required '{name}'")),
                Some(Value::Null) => problems.push(format!("{path}: required '{name}' is null")),
                Some(_) => {}
            }
        }
        if let Some(properties) = properties {
            for (name, property_value) in object {
                if let Some(property_schema) = properties.get(name)
                    && !property_value.is_null()
                {
                    validate(
                        document,
                        property_schema,
                        property_value,
                        &format!("{path}.{name}"),
                        problems,
                    );
                }
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        if let Some(maximum) = schema.get("maxItems").and_then(Value::as_u64)
            && values.len() as u64 > maximum
        {
            problems.push(format!("{path}: more than {maximum} items"));
        }
        for (index, item) in values.iter().enumerate() {
            validate(document, items, item, &format!("{path}[{index}]"), problems);
        }
    }
}

fn response_schema<'a>(document: &'a Value, path: &str, method: &str) -> &'a Value {
    let schema = &document["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert!(!schema.is_null(), "no schema for {method} {path}");
    resolve(document, schema)
}

fn assert_valid(document: &Value, path: &str, method: &str, value: &Value) {
    let mut problems = Vec::new();
    validate(
        document,
        response_schema(document, path, method),
        value,
        "$",
        &mut problems,
    );
    assert!(
        problems.is_empty(),
        "{method} {path} answer {value} violates the schema: {problems:#?}"
    );
}

#[tokio::test]
async fn aiven_answers_match_the_openapi_schemas() {
    let document = openapi_document();
    let mut delays = cloud_sim::Delays::zero();
    delays.aiven_pending_peer_delay = std::time::Duration::from_millis(100);
    delays.aiven_delete_delay = std::time::Duration::from_millis(500);
    let test = start_with(delays).await;
    let ready = test.ready().clone();

    let listed = test
        .aiven(Method::GET, "/project/acme-prod/vpcs", None)
        .await;
    assert_valid(&document, "/project/{project}/vpcs", "get", &listed.body);

    let request = crate::aiven::connection_request(&test, &uuid::Uuid::new_v4().to_string());
    let mut request_problems = Vec::new();
    let request_schema = resolve(
        &document,
        &document["components"]["schemas"]["VpcPeeringConnectionCreateRequestBody"],
    );
    validate(
        &document,
        request_schema,
        &request,
        "$",
        &mut request_problems,
    );
    assert!(request_problems.is_empty(), "{request_problems:?}");

    let vpc_path = format!("/project/acme-prod/vpcs/{}", ready.project_vpc_id);
    let created = test
        .aiven(
            Method::POST,
            &format!("{vpc_path}/peering-connections"),
            Some(request),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_valid(
        &document,
        "/project/{project}/vpcs/{project_vpc_id}/peering-connections",
        "post",
        &created.body,
    );

    let read = test.aiven(Method::GET, &vpc_path, None).await;
    assert_valid(
        &document,
        "/project/{project}/vpcs/{project_vpc_id}",
        "get",
        &read.body,
    );
    // After the checks (INVALID_SPECIFICATION here: nothing was prepared) the shape still holds.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let checked = test.aiven(Method::GET, &vpc_path, None).await;
    assert_ne!(checked.body["peering_connections"][0]["state"], "APPROVED");
    assert_valid(
        &document,
        "/project/{project}/vpcs/{project_vpc_id}",
        "get",
        &checked.body,
    );

    let deleted = test
        .aiven(Method::DELETE, &format!(
            "{vpc_path}/peering-connections/peer-accounts/{}/peer-resource-groups/peering-rg/peer-vpcs/client-vnet",
            ready.subscription_id
        ), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_valid(
        &document,
        "/project/{project}/vpcs/{project_vpc_id}/peering-connections/peer-accounts/{peer_cloud_account}/peer-resource-groups/{peer_resource_group}/peer-vpcs/{peer_vpc}",
        "delete",
        &deleted.body,
    );
}
