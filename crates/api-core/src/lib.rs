//! Shared plumbing of the API client crates: where the services live, the one HTTP client,
//! the one retry/wait module and the secret type.

pub mod endpoints;
pub mod env_vars;
pub mod http;
pub mod retry;
pub mod secret;

pub use endpoints::{AzureCloud, Endpoints};
pub use secret::Secret;
