//! Every environment variable the project reads or writes, in one place.
//!
//! Flag fallbacks of the phase binaries are `PEERING_` followed by the upper-cased output name
//! (`--user-app-id` ⇐ `PEERING_USER_APP_ID`), so that a GitLab dotenv report written by one phase
//! feeds the next phase without any mapping.

/// Base URL of the Microsoft identity platform (`https://login.microsoftonline.com`).
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// Base URL of Azure Resource Manager (`https://management.azure.com`).
pub const AZURE_RESOURCE_MANAGER_ENDPOINT: &str = "AZURE_RESOURCE_MANAGER_ENDPOINT";
/// Base URL of Microsoft Graph without the version path (`https://graph.microsoft.com`).
pub const AZURE_GRAPH_ENDPOINT: &str = "AZURE_GRAPH_ENDPOINT";
/// Base URL of the Aiven API without `/v1` (`https://api.aiven.io`); the `avn` CLI's name.
pub const AIVEN_WEB_URL: &str = "AIVEN_WEB_URL";
/// Base URL of the GitHub REST API (`https://api.github.com`); set by GitHub Actions.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// Which Azure cloud's default endpoints to use: `public`, `china` or `usgovernment`.
pub const AZURE_CLOUD: &str = "AZURE_CLOUD";
/// A PEM bundle of extra certificate authorities to trust.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Admin identity: tenant of the service principal.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// Admin identity: application (client) id.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// Admin identity: client secret.
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// Admin identity: a file holding a federated (OIDC) token, re-read for every token request.
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";

/// Aiven API token, as the `avn` CLI names it.
pub const AIVEN_AUTH_TOKEN: &str = "AIVEN_AUTH_TOKEN";
/// Aiven API token, as the Terraform provider names it.
pub const AIVEN_TOKEN: &str = "AIVEN_TOKEN";

/// GitHub Actions: set to `true` on runners.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// GitHub Actions: the file step outputs are appended to.
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// GitHub Actions: the Markdown job summary file.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// GitLab CI: set on GitLab runners.
pub const GITLAB_CI: &str = "GITLAB_CI";

/// Log filter for the phase binaries (tracing `EnvFilter` syntax).
pub const PEERING_LOG: &str = "PEERING_LOG";
/// The state file shared by the phases.
pub const PEERING_STATE: &str = "PEERING_STATE";

/// Reads a variable, treating an empty value as unset (CI systems export empty inputs).
pub fn non_empty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}
