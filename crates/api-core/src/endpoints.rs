//! Where the services live: the public clouds by default, any base URL by environment.

use crate::env_vars;
use url::Url;

/// A base URL that is not usable.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{variable} is not a valid URL ({value}): {reason}")]
    Invalid {
        variable: &'static str,
        value: String,
        reason: String,
    },
    #[error(
        "{variable} uses plain http ({value}): only https is allowed, except for loopback addresses"
    )]
    PlainHttp {
        variable: &'static str,
        value: String,
    },
    #[error("{variable} must be a bare base URL without path, query or fragment, got {value}")]
    HasPath {
        variable: &'static str,
        value: String,
    },
    #[error("unknown Azure cloud {0:?}: expected public, china or usgovernment")]
    UnknownCloud(String),
}

/// The Azure clouds whose endpoints are built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AzureCloud {
    #[default]
    Public,
    China,
    UsGovernment,
}

impl std::str::FromStr for AzureCloud {
    type Err = EndpointError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "public" | "azurecloud" | "azurepubliccloud" => Ok(Self::Public),
            "china" | "azurechinacloud" => Ok(Self::China),
            "usgovernment" | "azureusgovernment" | "usgov" => Ok(Self::UsGovernment),
            _ => Err(EndpointError::UnknownCloud(value.to_string())),
        }
    }
}

impl AzureCloud {
    fn defaults(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Public => (
                "https://login.microsoftonline.com",
                "https://management.azure.com",
                "https://graph.microsoft.com",
            ),
            Self::China => (
                "https://login.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
            Self::UsGovernment => (
                "https://login.microsoftonline.us",
                "https://management.usgovcloudapi.net",
                "https://graph.microsoft.us",
            ),
        }
    }
}

/// Base URLs of every service the tool talks to, each without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authority_host: Url,
    pub resource_manager: Url,
    pub graph: Url,
    pub aiven: Url,
    /// `GITHUB_API_URL` as given, checked only by [`Endpoints::github`], so that phases that
    /// never call GitHub do not fail on it.
    pub github_api_url: String,
}

impl Endpoints {
    /// The cloud's defaults, each overridden by its environment variable when set.
    pub fn from_env(cloud: AzureCloud) -> Result<Self, EndpointError> {
        let (authority, arm, graph) = cloud.defaults();
        let pick = |variable: &'static str, default: &str| {
            let value = env_vars::non_empty(variable).unwrap_or_else(|| default.to_string());
            parse_base_url(variable, &value)
        };
        Ok(Self {
            authority_host: pick(env_vars::AZURE_AUTHORITY_HOST, authority)?,
            resource_manager: pick(env_vars::AZURE_RESOURCE_MANAGER_ENDPOINT, arm)?,
            graph: pick(env_vars::AZURE_GRAPH_ENDPOINT, graph)?,
            aiven: pick(env_vars::AIVEN_WEB_URL, "https://api.aiven.io")?,
            github_api_url: env_vars::non_empty(env_vars::GITHUB_API_URL)
                .unwrap_or_else(|| "https://api.github.com".to_string()),
        })
    }

    /// The GitHub REST API base: `https://api.github.com`, or an Enterprise Server's
    /// `https://HOST/api/v3` (a path is allowed here, unlike for the other services).
    pub fn github(&self) -> Result<Url, EndpointError> {
        parse_api_base(env_vars::GITHUB_API_URL, &self.github_api_url)
    }

    /// The OAuth scope for Resource Manager tokens: the configured endpoint + `/.default`.
    pub fn arm_scope(&self) -> String {
        format!("{}/.default", base_string(&self.resource_manager))
    }

    /// The OAuth scope for Graph tokens: the configured endpoint + `/.default`.
    pub fn graph_scope(&self) -> String {
        format!("{}/.default", base_string(&self.graph))
    }
}

/// The URL as a string without the trailing slash `Url` adds to an empty path.
pub fn base_string(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// Parses a bare base URL, refusing plain http except on loopback.
pub fn parse_base_url(variable: &'static str, value: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(value.trim()).map_err(|error| EndpointError::Invalid {
        variable,
        value: value.to_string(),
        reason: error.to_string(),
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(EndpointError::PlainHttp {
                variable,
                value: value.to_string(),
            });
        }
        other => {
            return Err(EndpointError::Invalid {
                variable,
                value: value.to_string(),
                reason: format!("unsupported scheme {other}"),
            });
        }
    }
    if !url.path().trim_end_matches('/').is_empty()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(EndpointError::HasPath {
            variable,
            value: value.to_string(),
        });
    }
    Ok(url)
}

/// Parses a base URL that may carry a path prefix (`https://HOST/api/v3`), with the same scheme
/// rules as [`parse_base_url`]; the trailing slash is dropped.
pub fn parse_api_base(variable: &'static str, value: &str) -> Result<Url, EndpointError> {
    let trimmed = value.trim().trim_end_matches('/');
    let without_path = Url::parse(trimmed)
        .map(|mut url| {
            url.set_path("");
            url
        })
        .map_err(|error| EndpointError::Invalid {
            variable,
            value: value.to_string(),
            reason: error.to_string(),
        })?;
    let url = Url::parse(trimmed).expect("parsed above");
    if url.query().is_some() || url.fragment().is_some() {
        return Err(EndpointError::HasPath {
            variable,
            value: value.to_string(),
        });
    }
    parse_base_url(variable, without_path.as_str())?;
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(parse_base_url("X", "http://127.0.0.1:8080").is_ok());
        assert!(parse_base_url("X", "http://localhost:1").is_ok());
        assert!(matches!(
            parse_base_url("X", "http://example.com"),
            Err(EndpointError::PlainHttp { .. })
        ));
        assert!(matches!(
            parse_base_url("X", "https://graph.microsoft.com/v1.0"),
            Err(EndpointError::HasPath { .. })
        ));
        assert!(parse_base_url("X", "https://graph.microsoft.com/").is_ok());
    }

    #[test]
    fn scopes_follow_the_configured_endpoints() {
        let endpoints = Endpoints {
            authority_host: parse_base_url("A", "https://login.microsoftonline.us").unwrap(),
            resource_manager: parse_base_url("A", "https://127.0.0.1:4443").unwrap(),
            graph: parse_base_url("A", "https://graph.microsoft.us").unwrap(),
            aiven: parse_base_url("A", "https://api.aiven.io").unwrap(),
            github_api_url: "https://api.github.com".into(),
        };
        assert_eq!(endpoints.arm_scope(), "https://127.0.0.1:4443/.default");
        assert_eq!(
            endpoints.graph_scope(),
            "https://graph.microsoft.us/.default"
        );
    }

    // Regression: GitHub Enterprise Server's API lives under a path.
    #[test]
    fn the_github_api_may_live_under_a_path() {
        let url = parse_api_base("GITHUB_API_URL", "https://ghe.example.com/api/v3/").unwrap();
        assert_eq!(url.as_str(), "https://ghe.example.com/api/v3");
        assert!(parse_api_base("GITHUB_API_URL", "http://ghe.example.com/api/v3").is_err());
        assert!(parse_api_base("GITHUB_API_URL", "https://ghe.example.com/api/v3?x=1").is_err());
        assert!(parse_api_base("GITHUB_API_URL", "not a url").is_err());
    }

    #[test]
    fn cloud_names() {
        assert_eq!("China".parse::<AzureCloud>().unwrap(), AzureCloud::China);
        assert!("mars".parse::<AzureCloud>().is_err());
    }
}
