//! Server-driven paging as Resource Manager (`nextLink`) and Graph (`@odata.nextLink`) do it:
//! a list answer holds one page and, while more remain, an absolute link to the next one that
//! carries the original query plus an opaque skip token. Pages are small on purpose (the
//! `page_size` knob): a client that reads only the first page misses objects at once.

use serde_json::Value;

/// The query parameter of the skip token.
const SKIP_TOKEN: &str = "$skiptoken";

/// One page of a list.
pub(crate) struct Page {
    pub values: Vec<Value>,
    /// The absolute URL of the next page, while more remain.
    pub next_link: Option<String>,
}

/// Where the list was asked for: the service's base URL, the path and the decoded query.
pub(crate) struct ListRequest<'a> {
    pub base_url: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub page_size: usize,
}

/// Cuts `values` (the whole list, in a stable order) to the page the request's skip token
/// names. `Err` names a skip token the simulator did not issue.
pub(crate) fn page(request: &ListRequest, mut values: Vec<Value>) -> Result<Page, String> {
    let skip = match request
        .query
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(SKIP_TOKEN))
    {
        None => 0,
        Some((_, token)) => {
            decode_token(token).ok_or_else(|| format!("The skip token '{token}' is not valid."))?
        }
    };
    // Graph lets a client ask for smaller pages; larger ones are the server's call.
    let asked = request
        .query
        .iter()
        .find(|(name, _)| name == "$top")
        .and_then(|(_, top)| top.parse::<usize>().ok())
        .filter(|top| *top > 0);
    let page_size = asked
        .map_or(request.page_size, |top| top.min(request.page_size))
        .max(1);
    let total = values.len();
    let start = skip.min(total);
    let end = (start + page_size).min(total);
    let values: Vec<Value> = values.drain(start..end).collect();
    let next_link = (end < total).then(|| next_link(request, end));
    Ok(Page { values, next_link })
}

fn next_link(request: &ListRequest, skip: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in request.query {
        if !name.eq_ignore_ascii_case(SKIP_TOKEN) {
            query.append_pair(name, value);
        }
    }
    query.append_pair(SKIP_TOKEN, &encode_token(skip));
    format!("{}{}?{}", request.base_url, request.path, query.finish())
}

/// Skip tokens look opaque, as the real ones do, so that no client parses them.
fn encode_token(skip: usize) -> String {
    format!("sk{:x}", skip ^ 0x5a5a)
}

fn decode_token(token: &str) -> Option<usize> {
    let hex = token.strip_prefix("sk")?;
    usize::from_str_radix(hex, 16)
        .ok()
        .map(|value| value ^ 0x5a5a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query_of(link: &str) -> Vec<(String, String)> {
        let query = link.split_once('?').map(|(_, query)| query).unwrap_or("");
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    #[test]
    fn pages_follow_each_other_to_the_end_and_keep_the_query() {
        let values: Vec<Value> = (0..5).map(|number| json!(number)).collect();
        let mut query = vec![("api-version".to_string(), "2022-04-01".to_string())];
        let mut seen = Vec::new();
        loop {
            let request = ListRequest {
                base_url: "https://h",
                path: "/x",
                query: &query,
                page_size: 2,
            };
            let page = page(&request, values.clone()).unwrap();
            seen.extend(page.values);
            match page.next_link {
                Some(link) => {
                    assert!(link.starts_with("https://h/x?api-version=2022-04-01&"));
                    query = query_of(&link);
                }
                None => break,
            }
        }
        assert_eq!(seen, values);
        let bad = vec![("$skiptoken".to_string(), "zz".to_string())];
        let request = ListRequest {
            base_url: "https://h",
            path: "/x",
            query: &bad,
            page_size: 2,
        };
        assert!(page(&request, values).is_err());
    }
}
