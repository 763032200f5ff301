//! Small HTTP helpers shared by the simulated services: JSON answers, headers, query parsing,
//! bearer tokens and the identity tag the request log reads.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};
use serde_json::Value;

/// Who made a request, attached to the response for the request log (then removed).
#[derive(Clone, Debug)]
pub(crate) struct RequestIdentity(pub String);

/// An injected fault a handler decided on, attached to the response for the request log (then
/// removed).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FaultLabel(pub &'static str);

pub(crate) fn with_fault_label(
    mut response: Response<Body>,
    label: &'static str,
) -> Response<Body> {
    response.extensions_mut().insert(FaultLabel(label));
    response
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response<Body> {
    let text = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

pub(crate) fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

pub(crate) fn with_header(mut response: Response<Body>, name: &str, value: &str) -> Response<Body> {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
    response
}

pub(crate) fn with_identity(
    mut response: Response<Body>,
    identity: Option<String>,
) -> Response<Body> {
    if let Some(identity) = identity {
        response.extensions_mut().insert(RequestIdentity(identity));
    }
    response
}

/// The decoded query parameters, in order; a name may repeat.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(candidate, _)| candidate == name)
        .map(|(_, value)| value.as_str())
}

pub(crate) fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The token after `scheme ` in the Authorization header (scheme compared case-insensitively).
pub(crate) fn authorization_token<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let value = header_text(headers, "authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if schemes
        .iter()
        .any(|expected| scheme.eq_ignore_ascii_case(expected))
    {
        let token = token.trim();
        (!token.is_empty()).then_some(token)
    } else {
        None
    }
}

/// Percent-decodes one path segment; invalid escapes stay as they are, invalid UTF-8 is replaced.
pub(crate) fn decode_segment(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%' && index + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[index + 1..index + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Splits a path into decoded segments, ignoring empty ones (so a trailing slash is harmless).
pub(crate) fn path_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(decode_segment)
        .collect()
}

/// Parses a JSON body; `None` when it is not valid JSON.
pub(crate) fn parse_json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// True when `text` is a canonical GUID.
pub(crate) fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok() && text.len() == 36
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_decoded_without_panicking() {
        assert_eq!(
            decode_segment("applications(appId=%27abc%27)"),
            "applications(appId='abc')"
        );
        assert_eq!(decode_segment("a&b=c%"), "a&b=c%");
        assert_eq!(decode_segment("%zz%4"), "%zz%4");
        assert_eq!(decode_segment("%E2%82%AC"), "€");
    }
}
