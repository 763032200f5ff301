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

/// GitHub Actions: the job's OIDC token service (`permissions: id-token: write`).
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// GitHub Actions: the bearer token for [`ACTIONS_ID_TOKEN_REQUEST_URL`].
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// GitHub Actions (and scripts): a token for the GitHub API.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";

/// The prefix of every variable of this tool; `PEERING_` + an output name in upper case is
/// that output's flag fallback (and its GitLab dotenv key).
pub const PEERING_PREFIX: &str = "PEERING_";

/// The variable that carries an output between jobs: `PEERING_` + the name in upper case.
pub fn for_output(output_name: &str) -> String {
    format!("{PEERING_PREFIX}{}", output_name.to_ascii_uppercase())
}

/// Log filter for the phase binaries (tracing `EnvFilter` syntax).
pub const PEERING_LOG: &str = "PEERING_LOG";
/// The state file shared by the phases.
pub const PEERING_STATE: &str = "PEERING_STATE";
/// A GitLab dotenv report to write the outputs to.
pub const PEERING_DOTENV: &str = "PEERING_DOTENV";
/// First pause between retries of slow-to-converge state.
pub const PEERING_RETRY_INTERVAL: &str = "PEERING_RETRY_INTERVAL";
/// Pause between checks of the Aiven connection's state.
pub const PEERING_POLL_INTERVAL: &str = "PEERING_POLL_INTERVAL";
/// The app's client secret, for `accept-peering --credential stored`.
pub const PEERING_USER_APP_SECRET: &str = "PEERING_USER_APP_SECRET";
/// A CI OIDC token given directly (GitLab `id_tokens`), for federated sign-in.
pub const PEERING_OIDC_TOKEN: &str = "PEERING_OIDC_TOKEN";
/// A GitHub token allowed to write Actions secrets (else `GITHUB_TOKEN`).
pub const PEERING_GITHUB_TOKEN: &str = "PEERING_GITHUB_TOKEN";

// Flag fallbacks that carry an output (`PEERING_` + the output name).
pub const PEERING_USER_TENANT_ID: &str = "PEERING_USER_TENANT_ID";
pub const PEERING_USER_SUBSCRIPTION_ID: &str = "PEERING_USER_SUBSCRIPTION_ID";
pub const PEERING_USER_RESOURCE_GROUP: &str = "PEERING_USER_RESOURCE_GROUP";
pub const PEERING_USER_VNET_NAME: &str = "PEERING_USER_VNET_NAME";
pub const PEERING_USER_VNET_ID: &str = "PEERING_USER_VNET_ID";
pub const PEERING_USER_VNET_LOCATION: &str = "PEERING_USER_VNET_LOCATION";
pub const PEERING_USER_APP_NAME: &str = "PEERING_USER_APP_NAME";
pub const PEERING_USER_APP_ID: &str = "PEERING_USER_APP_ID";
pub const PEERING_USER_APP_OBJECT_ID: &str = "PEERING_USER_APP_OBJECT_ID";
pub const PEERING_AIVEN_PROJECT: &str = "PEERING_AIVEN_PROJECT";
pub const PEERING_AIVEN_PROJECT_VPC_ID: &str = "PEERING_AIVEN_PROJECT_VPC_ID";
pub const PEERING_AIVEN_TENANT_ID: &str = "PEERING_AIVEN_TENANT_ID";
pub const PEERING_AIVEN_VNET_ID: &str = "PEERING_AIVEN_VNET_ID";
pub const PEERING_PEERING_NAME: &str = "PEERING_PEERING_NAME";

// Flag fallbacks of settings.
pub const PEERING_AIVEN_APP_ID: &str = "PEERING_AIVEN_APP_ID";
pub const PEERING_AIVEN_ROLE_NAME: &str = "PEERING_AIVEN_ROLE_NAME";
pub const PEERING_USER_ROLE: &str = "PEERING_USER_ROLE";
pub const PEERING_USER_ROLE_NAME: &str = "PEERING_USER_ROLE_NAME";
pub const PEERING_REPLICATION_TIMEOUT: &str = "PEERING_REPLICATION_TIMEOUT";
pub const PEERING_FEDERATED_SUBJECT: &str = "PEERING_FEDERATED_SUBJECT";
pub const PEERING_FEDERATED_ISSUER: &str = "PEERING_FEDERATED_ISSUER";
pub const PEERING_FEDERATE_THIS_JOB: &str = "PEERING_FEDERATE_THIS_JOB";
pub const PEERING_STORE_SECRET_IN: &str = "PEERING_STORE_SECRET_IN";
pub const PEERING_SECRET_NAME: &str = "PEERING_SECRET_NAME";
pub const PEERING_STORED_SECRET_LIFETIME: &str = "PEERING_STORED_SECRET_LIFETIME";
pub const PEERING_ROTATE_BEFORE: &str = "PEERING_ROTATE_BEFORE";
pub const PEERING_APP_ID: &str = "PEERING_APP_ID";
pub const PEERING_ACCEPT_WIDER_ROLE: &str = "PEERING_ACCEPT_WIDER_ROLE";
pub const PEERING_USER_PEER_NETWORK_CIDRS: &str = "PEERING_USER_PEER_NETWORK_CIDRS";
pub const PEERING_RECREATE: &str = "PEERING_RECREATE";
pub const PEERING_GRANT_GRACE: &str = "PEERING_GRANT_GRACE";
pub const PEERING_AIVEN_ROLE_ASSIGNED_AT: &str = "PEERING_AIVEN_ROLE_ASSIGNED_AT";
pub const PEERING_REQUEST_TIMEOUT: &str = "PEERING_REQUEST_TIMEOUT";
pub const PEERING_CREDENTIAL: &str = "PEERING_CREDENTIAL";
pub const PEERING_CREDENTIAL_LIFETIME: &str = "PEERING_CREDENTIAL_LIFETIME";
pub const PEERING_ACCEPT_TIMEOUT: &str = "PEERING_ACCEPT_TIMEOUT";
pub const PEERING_AWAIT_TIMEOUT: &str = "PEERING_AWAIT_TIMEOUT";
pub const PEERING_KEEP_APP: &str = "PEERING_KEEP_APP";
pub const PEERING_TEARDOWN_TIMEOUT: &str = "PEERING_TEARDOWN_TIMEOUT";
/// `--plan`: print the changes a phase would make and change nothing.
pub const PEERING_PLAN: &str = "PEERING_PLAN";

/// The default name of the GitHub Actions secret that `prepare-tenant --store-secret-in` writes
/// the app's password to; workflows pass it to the job as [`PEERING_USER_APP_SECRET`].
pub const AIVEN_PEERING_APP_SECRET: &str = "AIVEN_PEERING_APP_SECRET";

/// Test and CI tooling: where `.ci/run` installed the tools the tests use.
pub const PEERING_CI_TOOLS: &str = "PEERING_CI_TOOLS";
/// Set by CI systems; the tests fail instead of skipping when a tool is missing.
pub const CI: &str = "CI";
/// `1` makes `cargo test` run the seed replay with the real Azure CLI too (its install is
/// large; `.ci/run` runs the replay through `cargo xtask seed-replay` instead).
pub const PEERING_TEST_AZ_REPLAY: &str = "PEERING_TEST_AZ_REPLAY";

// Variables of the real CLIs that the seed replay (`tests::seed_replay`) sets for them, as a
// user of those CLIs would: the Azure CLI (azure-cli), the Aiven CLI (aiven-client) and
// python-requests under both.

/// Azure CLI: its configuration directory (profile, clouds, MSAL token cache).
pub const AZURE_CONFIG_DIR: &str = "AZURE_CONFIG_DIR";
/// Azure CLI: `core.instance_discovery`; `false` for an authority host Microsoft does not know.
pub const AZURE_CORE_INSTANCE_DISCOVERY: &str = "AZURE_CORE_INSTANCE_DISCOVERY";
/// Azure CLI: `core.collect_telemetry`.
pub const AZURE_CORE_COLLECT_TELEMETRY: &str = "AZURE_CORE_COLLECT_TELEMETRY";
/// Azure CLI: `core.survey_message`.
pub const AZURE_CORE_SURVEY_MESSAGE: &str = "AZURE_CORE_SURVEY_MESSAGE";
/// Azure CLI: `core.no_color`.
pub const AZURE_CORE_NO_COLOR: &str = "AZURE_CORE_NO_COLOR";
/// Aiven CLI: its configuration directory.
pub const AIVEN_CONFIG_DIR: &str = "AIVEN_CONFIG_DIR";
/// Aiven CLI: the default `--project`.
pub const AIVEN_PROJECT: &str = "AIVEN_PROJECT";
/// python-requests: the CA bundle to trust.
pub const REQUESTS_CA_BUNDLE: &str = "REQUESTS_CA_BUNDLE";

/// Reads a variable, treating an empty value as unset (CI systems export empty inputs).
pub fn non_empty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}
