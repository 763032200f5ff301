//! Typed clients for the Microsoft identity platform (through `azure_identity`), Microsoft
//! Graph v1.0 and Azure Resource Manager. Only this crate speaks to Azure.

pub mod arm;
pub mod credential;
pub mod error;
pub mod graph;
pub mod ids;
mod wire;

pub use arm::Arm;
pub use credential::{AssertionSource, Credential, CredentialSource, TokenError};
pub use error::AzureError;
pub use graph::Graph;
pub use ids::VnetRef;

/// The Aiven platform's multi-tenant application, whose service principal must exist in the
/// user's tenant (seed step 7).
pub const AIVEN_APP_ID: &str = "55f300d4-fc50-4c5e-9222-e90a6e2187fb";

/// Built-in role *Network Contributor*.
pub const NETWORK_CONTRIBUTOR_ROLE_ID: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";

/// API versions, pinned to stable versions of the public specifications.
pub mod api_version {
    pub const NETWORK: &str = "2024-05-01";
    pub const AUTHORIZATION: &str = "2022-04-01";
    pub const SUBSCRIPTIONS: &str = "2022-12-01";
}
