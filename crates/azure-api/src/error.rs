//! Errors of the Azure clients: every one names the request and carries the service's code.

use crate::credential::TokenError;

/// A failed call to Graph or Resource Manager.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    #[error("{method} {url} answered {status} {code}: {message}")]
    Api {
        method: String,
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{method} {url} failed: {source}")]
    Transport {
        method: String,
        url: String,
        source: reqwest::Error,
    },
    #[error(
        "{method} {url} answered {status} with a body that is not what the API documents: {reason}"
    )]
    Decode {
        method: String,
        url: String,
        status: u16,
        reason: String,
    },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    Other(String),
}

impl AzureError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Api { message, .. } => Some(message),
            _ => None,
        }
    }

    pub fn is(&self, status: u16, code: &str) -> bool {
        self.status() == Some(status)
            && self
                .code()
                .is_some_and(|own| own.eq_ignore_ascii_case(code))
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether a write may have happened although it failed: the answer was lost, or a server
    /// or gateway error came back. Look for its effect before repeating it.
    pub fn may_have_acted(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Api { status, .. } => matches!(status, 500 | 502 | 504),
            _ => false,
        }
    }

    /// A write refused because the VNet is busy with someone else's change: it is `Updating`
    /// (`ReferencedResourceNotProvisioned`) or another operation runs on it
    /// (`AnotherOperationInProgress`). Both pass; retry.
    pub fn is_busy_resource(&self) -> bool {
        self.code().is_some_and(|code| {
            code.eq_ignore_ascii_case("ReferencedResourceNotProvisioned")
                || code.eq_ignore_ascii_case("AnotherOperationInProgress")
        })
    }
}
