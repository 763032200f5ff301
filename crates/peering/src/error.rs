//! What can end a phase, and the exit code each maps to.

use std::process::ExitCode;

/// Exit codes, a contract with CI users: 0 done, 1 failed, 2 invalid input, 3 timed out.
pub mod exit {
    pub const DONE: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const TIMED_OUT: u8 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    /// Bad or missing input; nothing was changed remotely.
    #[error("invalid input {input}: {reason}")]
    Input { input: String, reason: String },
    /// A wait ran out of time; re-running the phase is safe.
    #[error("{0}")]
    TimedOut(String),
    /// Anything else; the message says why and what to do.
    #[error("{0}")]
    Failed(String),
}

impl PhaseError {
    pub fn input(input: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Input {
            input: input.into(),
            reason: reason.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Input { .. } => exit::INVALID_INPUT,
            Self::TimedOut(_) => exit::TIMED_OUT,
            Self::Failed(_) => exit::FAILED,
        })
    }

    /// A short title for CI annotations.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Input { .. } => "invalid input",
            Self::TimedOut(_) => "timed out",
            Self::Failed(_) => "failed",
        }
    }
}

impl From<azure_api::AzureError> for PhaseError {
    fn from(error: azure_api::AzureError) -> Self {
        Self::Failed(error.to_string())
    }
}

impl From<azure_api::TokenError> for PhaseError {
    fn from(error: azure_api::TokenError) -> Self {
        Self::Failed(error.to_string())
    }
}

impl From<aiven_api::AivenError> for PhaseError {
    fn from(error: aiven_api::AivenError) -> Self {
        Self::Failed(error.to_string())
    }
}

impl<E: std::fmt::Display> From<api_core::retry::WaitError<E>> for PhaseError {
    fn from(error: api_core::retry::WaitError<E>) -> Self {
        match error {
            api_core::retry::WaitError::Failed(error) => Self::Failed(error.to_string()),
            timed_out @ api_core::retry::WaitError::TimedOut { .. } => Self::TimedOut(format!(
                "{timed_out}; re-run the phase to keep waiting, or raise its --timeout"
            )),
        }
    }
}
