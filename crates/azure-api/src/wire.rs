//! Sending one request to Graph or Resource Manager and turning the answer into a typed value
//! or an [`AzureError`] with the service's error code.

use crate::error::AzureError;
use api_core::Secret;
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;
use url::Url;

pub(crate) struct Call<'a> {
    pub http: &'a reqwest::Client,
    pub method: Method,
    pub url: Url,
    pub token: &'a Secret,
    pub body: Option<serde_json::Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Call<'_> {
    pub async fn send(self) -> Result<Response, AzureError> {
        let method = self.method.clone();
        let url = self.url.clone();
        let mut builder = self
            .http
            .request(self.method, self.url)
            .bearer_auth(self.token.expose());
        for (name, value) in self.headers {
            let mut header = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|error| AzureError::Other(format!("bad header {name}: {error}")))?;
            if name.eq_ignore_ascii_case("x-ms-authorization-auxiliary") {
                header.set_sensitive(true);
            }
            builder = builder.header(name, header);
        }
        if let Some(body) = self.body {
            builder = builder.json(&body);
        }
        let request = builder.build().map_err(|source| AzureError::Transport {
            method: method.to_string(),
            url: display_url(&url),
            source,
        })?;
        api_core::http::execute(self.http, request)
            .await
            .map_err(|source| AzureError::Transport {
                method: method.to_string(),
                url: display_url(&url),
                source,
            })
    }

    /// Sends and decodes a success body; an error status becomes [`AzureError::Api`].
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, AzureError> {
        let method = self.method.to_string();
        let url = display_url(&self.url);
        let response = self.send().await?;
        decode(&method, &url, response).await
    }

    /// Sends and expects success without needing the body.
    pub async fn empty(self) -> Result<u16, AzureError> {
        let method = self.method.to_string();
        let url = display_url(&self.url);
        let response = self.send().await?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            Ok(status)
        } else {
            Err(api_error(&method, &url, response).await)
        }
    }
}

/// The URL without its query, for messages.
pub(crate) fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

pub(crate) async fn decode<T: DeserializeOwned>(
    method: &str,
    url: &str,
    response: Response,
) -> Result<T, AzureError> {
    let status = response.status();
    if !status.is_success() {
        return Err(api_error(method, url, response).await);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|source| AzureError::Transport {
            method: method.to_string(),
            url: url.to_string(),
            source,
        })?;
    serde_json::from_slice(&bytes).map_err(|error| AzureError::Decode {
        method: method.to_string(),
        url: url.to_string(),
        status: status.as_u16(),
        reason: error.to_string(),
    })
}

/// Reads `{"error":{"code","message"}}`, the shape both Graph and Resource Manager use.
pub(crate) async fn api_error(method: &str, url: &str, response: Response) -> AzureError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let error = parsed.as_ref().and_then(|value| value.get("error"));
    let code = error
        .and_then(|error| error.get("code"))
        .and_then(|code| code.as_str())
        .unwrap_or("Unknown")
        .to_string();
    let message = error
        .and_then(|error| error.get("message"))
        .and_then(|message| message.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(300).collect());
    AzureError::Api {
        method: method.to_string(),
        url: url.to_string(),
        status,
        code,
        message,
    }
}

/// One page of a collection: `{"value": [...]}` and, while more pages remain, the absolute URL
/// of the next one (`nextLink` in Resource Manager, `@odata.nextLink` in Graph).
#[derive(serde::Deserialize)]
pub(crate) struct Page<T> {
    pub value: Vec<T>,
    #[serde(rename = "nextLink", alias = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// The most pages one list may span before the client stops: a guard against a service that
/// links a page to itself.
const MAX_PAGES: usize = 10_000;

/// Every item of a paged collection: `fetch` reads one page, starting at `first`, and every
/// `nextLink` is followed to the last page. A link to another host than `first`'s is refused,
/// so a token is never sent elsewhere.
pub(crate) async fn all_pages<T, F, Fut>(first: Url, mut fetch: F) -> Result<Vec<T>, AzureError>
where
    F: FnMut(Url) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, AzureError>>,
{
    let mut items = Vec::new();
    let mut next = Some(first.clone());
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(AzureError::Other(format!(
                "{} has more than {MAX_PAGES} pages; stopped following its nextLink",
                display_url(&first)
            )));
        }
        let page = fetch(url).await?;
        items.extend(page.value);
        next = match page.next_link.filter(|link| !link.is_empty()) {
            None => None,
            Some(link) => Some(same_origin_link(&first, &link)?),
        };
    }
    Ok(items)
}

fn same_origin_link(first: &Url, link: &str) -> Result<Url, AzureError> {
    let url = Url::parse(link)
        .map_err(|error| AzureError::Other(format!("nextLink {link:?} is not a URL: {error}")))?;
    if url.origin() != first.origin() {
        return Err(AzureError::Other(format!(
            "refusing to follow nextLink {} to another host than {}",
            display_url(&url),
            display_url(first)
        )));
    }
    Ok(url)
}

/// Quotes a value for an OData `$filter` string literal.
pub(crate) fn odata_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_followed_to_the_last_and_only_on_the_same_host() {
        let first = Url::parse("https://management.example/list?api-version=1").unwrap();
        let items: Vec<u32> = all_pages(first.clone(), |url| async move {
            Ok(match url.query() {
                Some("api-version=1") => Page {
                    value: vec![1, 2],
                    next_link: Some("https://management.example/list?page=2".into()),
                },
                _ => Page {
                    value: vec![3],
                    next_link: None,
                },
            })
        })
        .await
        .unwrap();
        assert_eq!(items, [1, 2, 3]);
        let elsewhere: Result<Vec<u32>, _> = all_pages(first, |_| async {
            Ok(Page {
                value: vec![],
                next_link: Some("https://attacker.example/list".into()),
            })
        })
        .await;
        assert!(elsewhere.is_err());
    }
}
