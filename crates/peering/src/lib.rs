//! Peer an Azure VNet with an Aiven project VPC: the phases of Aiven's procedure as
//! idempotent, resumable functions, and the command-line front ends of the step binaries.

pub mod catalog;
pub mod cli;
pub mod context;
pub mod error;
pub mod input;
pub mod oidc;
pub mod phases;
pub mod plan;
pub mod registry;
pub mod report;
pub mod state;

pub use error::{InputError, PhaseError};
pub use registry::{PHASES, Phase};
pub use state::Outputs;

/// The version every executable name reports with `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
