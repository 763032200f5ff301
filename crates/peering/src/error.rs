//! What can end a phase, and the exit code each maps to. Client errors are kept as sources, so
//! the message printed at the end shows the whole chain (`{:#}`), down to the failed request.

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
}

impl InputError {
    pub fn new(input: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            reason: reason.into(),
        }
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

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Input(_) => exit::INVALID_INPUT,
            Self::TimedOut { .. } => exit::TIMED_OUT,
            _ => exit::FAILED,
        })
    }

    /// A short title for CI annotations.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Input(_) => "invalid input",
            Self::TimedOut { .. } => "timed out",
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
