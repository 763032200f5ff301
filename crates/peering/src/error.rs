//! What can end a phase, and the exit code each maps to. Client errors are kept as sources, so
//! the message printed at the end shows the whole chain (`{:#}`), down to the failed request.
//! A known failure carries its catalog code ([`crate::catalog`]): set where the phase knows it
//! (`with_code`), or recognised from the client error underneath (`code`).

use crate::catalog::Code;
use std::process::ExitCode;

/// Exit codes, a contract with CI users: 0 done, 1 failed, 2 invalid input, 3 timed out.
pub mod exit {
    pub const DONE: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const TIMED_OUT: u8 = 3;
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Bad or missing input, named the way the user gave it (a flag, a variable, a file); found
/// before any remote change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input {input}: {reason}")]
pub struct InputError {
    pub input: String,
    pub reason: String,
    /// The catalog code, when more precise than [`Code::InputInvalid`].
    pub code: Option<Code>,
}

impl InputError {
    pub fn new(input: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            reason: reason.into(),
            code: None,
        }
    }

    /// The same error, known as the catalog entry `code`.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    /// Bad or missing input; nothing was changed remotely.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A wait ran out of time; re-running the phase is safe. `last` is the last real error.
    #[error("{message}")]
    TimedOut {
        message: String,
        #[source]
        last: Option<Box<PhaseError>>,
    },
    #[error(transparent)]
    Azure(#[from] azure_api::AzureError),
    #[error(transparent)]
    Token(#[from] azure_api::TokenError),
    #[error(transparent)]
    Aiven(#[from] aiven_api::AivenError),
    #[error(transparent)]
    GitHub(#[from] github_api::GitHubError),
    /// Anything else; the message says why and what to do, the source what went wrong below.
    #[error("{message}")]
    Failed {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// A known failure: the error as it was, with its catalog code.
    #[error("{error}")]
    Known {
        code: Code,
        #[source]
        error: Box<PhaseError>,
    },
}

impl PhaseError {
    pub fn input(input: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Input(InputError::new(input, reason))
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
            source: None,
        }
    }

    /// A failure explained by `message`, caused by `source` (kept for the printed chain).
    pub fn because(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Failed {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The same error, known as the catalog entry `code`.
    pub fn with_code(self, code: Code) -> Self {
        match self {
            Self::Known { error, .. } => Self::Known { code, error },
            other => Self::Known {
                code,
                error: Box::new(other),
            },
        }
    }

    /// The catalog code of this failure: the one it was given, else the one recognised in the
    /// client errors below it (a time-out takes its last error's), else the generic code of
    /// its kind; `None` for a failure the catalog does not know.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Known { code, .. } => Some(*code),
            Self::Input(input) => Some(input.code.unwrap_or(Code::InputInvalid)),
            Self::TimedOut { last, .. } => Some(
                last.as_deref()
                    .and_then(recognised_code)
                    .unwrap_or(Code::WaitTimedOut),
            ),
            other => recognised_code(other),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_number())
    }

    /// The exit code as a number (0 done, 1 failed, 2 invalid input, 3 timed out).
    pub fn exit_number(&self) -> u8 {
        match self {
            Self::Input(_) => exit::INVALID_INPUT,
            Self::TimedOut { .. } => exit::TIMED_OUT,
            Self::Known { error, .. } => error.exit_number(),
            _ => exit::FAILED,
        }
    }

    /// A short title for CI annotations.
    pub fn title(&self) -> &'static str {
        match self.exit_number() {
            exit::INVALID_INPUT => "invalid input",
            exit::TIMED_OUT => "timed out",
            _ => "failed",
        }
    }

    /// The message and every source below it, joined by `: `; a source whose text the message
    /// above already holds is not repeated.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let line = cause.to_string();
            if !text.contains(&line) {
                text.push_str(": ");
                text.push_str(&line);
            }
            source = cause.source();
        }
        text
    }
}

/// The code of the first error in the chain (from `error` down) that the catalog knows.
fn recognised_code(error: &PhaseError) -> Option<Code> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = current {
        if let Some(code) = code_of(cause) {
            return Some(code);
        }
        current = cause.source();
    }
    None
}

/// The catalog code of one error of a client crate, by the service's own code.
fn code_of(error: &(dyn std::error::Error + 'static)) -> Option<Code> {
    // Transparent variants hand `source()` their inner error's source, so look inside them.
    match error.downcast_ref::<PhaseError>() {
        Some(PhaseError::Known { code, .. }) => return Some(*code),
        Some(PhaseError::Azure(azure)) => return azure_code(azure),
        Some(PhaseError::Token(token)) => return token_code(token),
        Some(PhaseError::GitHub(github)) => return code_of(github),
        _ => {}
    }
    if let Some(azure) = error.downcast_ref::<azure_api::AzureError>() {
        return azure_code(azure);
    }
    if let Some(token) = error.downcast_ref::<azure_api::TokenError>() {
        return token_code(token);
    }
    if let Some(github_api::GitHubError::SecretsForbidden { .. }) =
        error.downcast_ref::<github_api::GitHubError>()
    {
        return Some(Code::GitHubSecretsDenied);
    }
    None
}

fn azure_code(azure: &azure_api::AzureError) -> Option<Code> {
    {
        match azure {
            azure_api::AzureError::Api { code, url, .. } => match code.as_str() {
                "LinkedAuthorizationFailed" => Some(Code::LinkedAuthorizationFailed),
                "RemotePeeringIsDisconnected" => Some(Code::RemoteDisconnected),
                "AuthorizationFailed" if url.contains("/Microsoft.Authorization/") => {
                    Some(Code::RoleWriteDenied)
                }
                "AuthorizationFailed" if url.contains("/virtualNetworkPeerings/") => {
                    Some(Code::RoleNotEffective)
                }
                _ => None,
            },
            azure_api::AzureError::Token(token) => token_code(token),
            _ => None,
        }
    }
}

fn token_code(token: &azure_api::TokenError) -> Option<Code> {
    token
        .is_aadsts(azure_api::credential::aadsts::CLIENT_SECRET_EXPIRED)
        .then_some(Code::SecretExpired)
}

impl From<api_core::retry::WaitError<PhaseError>> for PhaseError {
    fn from(error: api_core::retry::WaitError<PhaseError>) -> Self {
        match error {
            api_core::retry::WaitError::Failed(error) => error,
            api_core::retry::WaitError::TimedOut {
                what,
                elapsed,
                attempts,
                last,
            } => Self::TimedOut {
                message: format!(
                    "timed out after {} waiting for {what} ({attempts} attempts); re-run the phase to keep waiting, or raise its --timeout",
                    humantime::format_duration(std::time::Duration::from_secs(elapsed.as_secs()))
                ),
                last: Some(Box::new(last)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_shows_every_cause_once() {
        let inner = PhaseError::failed("GET /x answered 500");
        let outer = PhaseError::because("cannot read the app", inner);
        assert_eq!(outer.chain(), "cannot read the app: GET /x answered 500");
        let repeated = PhaseError::because(
            "cannot read: GET /x answered 500",
            PhaseError::failed("GET /x answered 500"),
        );
        assert_eq!(repeated.chain(), "cannot read: GET /x answered 500");
    }

    #[test]
    fn a_code_is_kept_through_time_outs_and_sources() {
        let known = PhaseError::failed("no grant").with_code(Code::CidrOverlap);
        assert_eq!(known.code(), Some(Code::CidrOverlap));
        assert_eq!(known.to_string(), "no grant");
        let timed_out = PhaseError::TimedOut {
            message: "late".into(),
            last: Some(Box::new(PhaseError::because("wrapped", known))),
        };
        assert_eq!(timed_out.code(), Some(Code::CidrOverlap));
        assert_eq!(timed_out.exit_number(), exit::TIMED_OUT);
        let plain = PhaseError::TimedOut {
            message: "late".into(),
            last: None,
        };
        assert_eq!(plain.code(), Some(Code::WaitTimedOut));
        assert_eq!(PhaseError::failed("?").code(), None);
        let input = PhaseError::input("--x", "bad").with_code(Code::StateFileOtherVnet);
        assert_eq!(input.exit_number(), exit::INVALID_INPUT);
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        let code = |error: PhaseError| format!("{:?}", error.exit_code());
        assert_eq!(
            code(PhaseError::input("--x", "bad")),
            format!("{:?}", ExitCode::from(2))
        );
        assert_eq!(
            code(PhaseError::TimedOut {
                message: "late".into(),
                last: None
            }),
            format!("{:?}", ExitCode::from(3))
        );
        assert_eq!(
            code(PhaseError::failed("no")),
            format!("{:?}", ExitCode::from(1))
        );
    }
}
