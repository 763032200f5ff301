//! Graph application credentials: passwords (`addPassword`, `removePassword`) and federated
//! identity credentials, with Graph's duplicate and count rules.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::{
    GraphRequest, bad_request, collection_response, graph_error, insufficient_privileges, not_found,
};
use crate::Shared;
use crate::http::{empty_response, is_guid, json_response};
use crate::world::{
    Application, FederatedIdentityCredential, PasswordCredential, World, new_guid, random_secret,
    rfc3339, sha256,
};

const MAX_FEDERATED_IDENTITY_CREDENTIALS: usize = 20;
const MAX_FEDERATED_CREDENTIAL_NAME: usize = 120;

pub(super) fn password_credential_json(credential: &PasswordCredential) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": credential.display_name,
        "endDateTime": rfc3339(credential.end_time),
        "hint": credential.hint,
        "keyId": credential.key_id,
        "secretText": null,
        "startDateTime": rfc3339(credential.start_time),
    })
}

fn federated_credential_json(
    shared: &Shared,
    application: &Application,
    credential: &FederatedIdentityCredential,
) -> Value {
    json!({
        "@odata.context": format!(
            "{}/v1.0/$metadata#applications('{}')/federatedIdentityCredentials/$entity",
            shared.urls.graph, application.object_id
        ),
        "id": credential.id,
        "name": credential.name,
        "issuer": credential.issuer,
        "subject": credential.subject,
        "audiences": credential.audiences,
        "description": credential.description,
    })
}

pub(super) fn add_password(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    let object = if request.body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match request.json_object() {
            Ok(object) => object,
            Err(response) => return response,
        }
    };
    let credential_input = match object.get("passwordCredential") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(input)) => input.clone(),
        Some(_) => {
            return bad_request("Invalid value specified for property 'passwordCredential'.");
        }
    };
    let display_name = match credential_input.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            return bad_request(
                "Invalid value specified for property 'displayName' of resource 'PasswordCredential'.",
            );
        }
    };
    let start_time = SystemTime::now();
    let end_time = match credential_input.get("endDateTime") {
        None | Some(Value::Null) => start_time + Duration::from_secs(2 * 365 * 24 * 3600),
        Some(Value::String(text)) => {
            match humantime::parse_rfc3339_weak(text.trim_end_matches('Z')) {
                Ok(time) => time,
                Err(_) => {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        &format!(
                            "Cannot convert the literal '{text}' to the expected type 'Edm.DateTimeOffset'."
                        ),
                    );
                }
            }
        }
        Some(_) => {
            return bad_request(
                "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.",
            );
        }
    };
    let secret_text = random_secret(40);
    let credential = PasswordCredential {
        key_id: new_guid(),
        display_name,
        hint: secret_text[..3].to_string(),
        start_time,
        end_time,
        usable_at: request.now
            + request
                .shared
                .delays
                .drawn(request.shared.delays.password_propagation, &secret_text),
        secret_sha256: sha256(&secret_text),
    };
    let mut body = password_credential_json(&credential);
    if let Some(object) = body.as_object_mut() {
        object.insert("secretText".to_string(), json!(secret_text));
        object.insert(
            "@odata.context".to_string(),
            json!(format!(
                "{}/v1.0/$metadata#microsoft.graph.passwordCredential",
                request.shared.urls.graph
            )),
        );
    }
    world.remember_secret(crate::world::SecretKind::Password, &secret_text);
    if let Some(stored) = world
        .applications
        .iter_mut()
        .find(|candidate| candidate.object_id == application.object_id)
    {
        stored.password_credentials.push(credential);
    }
    json_response(StatusCode::OK, body)
}

pub(super) fn remove_password(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let Some(key_id) = object
        .get("keyId")
        .and_then(Value::as_str)
        .filter(|key_id| is_guid(key_id))
    else {
        return bad_request("Invalid value specified for property 'keyId': a GUID is required.");
    };
    let Some(stored) = world
        .applications
        .iter_mut()
        .find(|candidate| candidate.object_id == application.object_id)
    else {
        return not_found(&application.object_id);
    };
    let before = stored.password_credentials.len();
    stored
        .password_credentials
        .retain(|credential| !credential.key_id.eq_ignore_ascii_case(key_id));
    if stored.password_credentials.len() == before {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("No password credential with keyId '{key_id}' exists on the application."),
        );
    }
    empty_response(StatusCode::NO_CONTENT)
}

pub(super) fn create_federated_credential(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    let object = match request.json_object() {
        Ok(object) => object,
        Err(response) => return response,
    };
    let text_field = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_string)
    };
    let (Some(name), Some(issuer), Some(subject)) = (
        text_field("name"),
        text_field("issuer"),
        text_field("subject"),
    ) else {
        return bad_request("Properties 'name', 'issuer' and 'subject' are required.");
    };
    let audiences: Vec<String> = match object.get("audiences") {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    // The name becomes part of a URL (`federatedIdentityCredentials/{name}`): at most 120
    // characters, URL-friendly.
    let url_friendly =
        |character: char| character.is_ascii_alphanumeric() || "-_.~".contains(character);
    if name.chars().count() > MAX_FEDERATED_CREDENTIAL_NAME || !name.chars().all(url_friendly) {
        return bad_request(&format!(
            "Invalid value specified for property 'name' of resource 'FederatedIdentityCredential': at most {MAX_FEDERATED_CREDENTIAL_NAME} URL-friendly characters (letters, digits, '-', '_', '.', '~')."
        ));
    }
    if audiences.len() != 1 {
        return bad_request("Property 'audiences' must hold exactly one value.");
    }
    let credentials = &application.federated_identity_credentials;
    if credentials
        .iter()
        .any(|credential| credential.name.eq_ignore_ascii_case(&name))
    {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            &format!("FederatedIdentityCredential with name {name} already exists."),
        );
    }
    if credentials
        .iter()
        .any(|credential| credential.issuer == issuer && credential.subject == subject)
    {
        return graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "FederatedIdentityCredential with the same issuer and subject already exists.",
        );
    }
    if credentials.len() >= MAX_FEDERATED_IDENTITY_CREDENTIALS {
        return bad_request(&format!(
            "Limit exceeded: an application may have at most {MAX_FEDERATED_IDENTITY_CREDENTIALS} federated identity credentials."
        ));
    }
    let credential = FederatedIdentityCredential {
        id: new_guid(),
        name,
        issuer,
        subject,
        audiences,
        description: text_field("description"),
    };
    let body = federated_credential_json(request.shared, application, &credential);
    if let Some(stored) = world
        .applications
        .iter_mut()
        .find(|candidate| candidate.object_id == application.object_id)
    {
        stored.federated_identity_credentials.push(credential);
    }
    json_response(StatusCode::CREATED, body)
}

pub(super) fn list_federated_credentials(
    request: &GraphRequest,
    application: &Application,
) -> Response<Body> {
    let values = application
        .federated_identity_credentials
        .iter()
        .map(|credential| {
            let mut value = federated_credential_json(request.shared, application, credential);
            if let Some(object) = value.as_object_mut() {
                object.remove("@odata.context");
            }
            value
        })
        .collect();
    collection_response(
        request,
        &format!(
            "applications('{}')/federatedIdentityCredentials",
            application.object_id
        ),
        values,
    )
}

/// A federated identity credential by id or by name, as Graph accepts either.
pub(super) fn get_federated_credential(
    request: &GraphRequest,
    application: &Application,
    credential_key: &str,
) -> Response<Body> {
    match application
        .federated_identity_credentials
        .iter()
        .find(|credential| credential.id == credential_key || credential.name == credential_key)
    {
        Some(credential) => json_response(
            StatusCode::OK,
            federated_credential_json(request.shared, application, credential),
        ),
        None => not_found(credential_key),
    }
}

pub(super) fn delete_federated_credential(
    request: &GraphRequest,
    world: &mut World,
    application: &Application,
    credential_key: &str,
) -> Response<Body> {
    if !request.caller.may_manage(application) {
        return insufficient_privileges();
    }
    let Some(stored) = world
        .applications
        .iter_mut()
        .find(|candidate| candidate.object_id == application.object_id)
    else {
        return not_found(&application.object_id);
    };
    let before = stored.federated_identity_credentials.len();
    stored
        .federated_identity_credentials
        .retain(|credential| credential.id != credential_key && credential.name != credential_key);
    if stored.federated_identity_credentials.len() == before {
        not_found(credential_key)
    } else {
        empty_response(StatusCode::NO_CONTENT)
    }
}
