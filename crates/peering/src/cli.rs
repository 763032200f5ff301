//! Command-line front ends of the four step binaries: flags (with `PEERING_*` environment
//! fallbacks and the state file as last resort) → a typed request → one phase function →
//! outputs and an exit code.

use crate::context::{self, Context};
use crate::error::PhaseError;
use crate::input;
use crate::phases::Pacing;
use crate::phases::accept_peering::{AcceptPeering, AppCredential};
use crate::phases::await_active::AwaitActive;
use crate::phases::prepare_tenant::{FederatedSubject, PrepareTenant, StoredSecret, UserRole};
use crate::phases::request_peering::RequestPeering;
use crate::report::{Report, Sinks};
use crate::state::Outputs;
use api_core::{AzureCloud, Secret, env_vars};
use azure_api::{Arm, Graph};
use clap::{Args, Parser, ValueEnum};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags every phase has.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// JSON state file: read for inputs a flag does not give, and merged with this phase's outputs.
    #[arg(long, env = "PEERING_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Azure cloud whose default endpoints to use; AZURE_AUTHORITY_HOST, AZURE_RESOURCE_MANAGER_ENDPOINT and AZURE_GRAPH_ENDPOINT override each.
    #[arg(
        long,
        env = "AZURE_CLOUD",
        default_value = "public",
        value_name = "public|china|usgovernment"
    )]
    pub azure_cloud: String,
    /// Also write the outputs as a GitLab dotenv report (PEERING_<NAME>=value); defaults to peering.env when GITLAB_CI is set.
    #[arg(long, env = "PEERING_DOTENV", value_name = "FILE")]
    pub dotenv: Option<PathBuf>,
    /// First pause between retries of slow-to-converge state (grows by half each time, up to 15s).
    #[arg(
        long,
        env = "PEERING_RETRY_INTERVAL",
        default_value = "2s",
        value_name = "DURATION"
    )]
    pub retry_interval: String,
}

/// The user's VNet, named by its parts or by its resource id.
#[derive(Debug, Clone, Args)]
pub struct VnetArgs {
    /// Subscription of the VNet (GUID).
    #[arg(
        long,
        alias = "user-subscription-id",
        env = "PEERING_USER_SUBSCRIPTION_ID"
    )]
    pub subscription_id: Option<String>,
    /// Resource group of the VNet.
    #[arg(
        long,
        alias = "user-resource-group",
        env = "PEERING_USER_RESOURCE_GROUP"
    )]
    pub resource_group: Option<String>,
    /// Name of the VNet.
    #[arg(long, alias = "user-vnet-name", env = "PEERING_USER_VNET_NAME")]
    pub vnet_name: Option<String>,
    /// Resource id of the VNet, instead of the three flags above.
    #[arg(long, alias = "user-vnet-id", env = "PEERING_USER_VNET_ID")]
    pub vnet_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UserRoleChoice {
    /// A custom role with only the peering actions on the VNet.
    LeastPrivilege,
    /// The built-in Network Contributor role, as Aiven's manual procedure does.
    NetworkContributor,
}

/// Seed steps 1–10: app registration, service principals, roles and role assignments in the user tenant.
#[derive(Debug, Parser)]
#[command(name = "prepare-tenant", version)]
pub struct PrepareTenantArgs {
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Display name of the multi-tenant app registration to find or create.
    #[arg(long, env = "PEERING_USER_APP_NAME")]
    pub app_name: Option<String>,
    /// Application id of Aiven's app.
    #[arg(long, env = "PEERING_AIVEN_APP_ID", default_value = azure_api::AIVEN_APP_ID)]
    pub aiven_app_id: String,
    /// Name of the custom role holding only peer/action, for Aiven's service principal (unique per tenant; reused if it exists).
    #[arg(
        long,
        env = "PEERING_AIVEN_ROLE_NAME",
        default_value = "Aiven VNet peering target"
    )]
    pub aiven_role_name: String,
    /// Role of your app's service principal on the VNet.
    #[arg(
        long,
        env = "PEERING_USER_ROLE",
        value_enum,
        default_value = "least-privilege"
    )]
    pub user_role: UserRoleChoice,
    /// Name of the least-privilege custom role for your app's service principal.
    #[arg(
        long,
        env = "PEERING_USER_ROLE_NAME",
        default_value = "Aiven VNet peering initiator"
    )]
    pub user_role_name: String,
    /// How long to retry Microsoft Graph replication lag.
    #[arg(
        long,
        env = "PEERING_REPLICATION_TIMEOUT",
        default_value = "5m",
        value_name = "DURATION"
    )]
    pub replication_timeout: String,
    /// Let CI jobs with this OIDC subject sign in as the app (federated mode), e.g. repo:acme/infra:environment:production; comma-separated for several.
    #[arg(long, env = "PEERING_FEDERATED_SUBJECT", value_delimiter = ',')]
    pub federated_subject: Vec<String>,
    /// Issuer of --federated-subject: GitHub's by default, your GitLab instance URL for GitLab.
    #[arg(
        long,
        env = "PEERING_FEDERATED_ISSUER",
        default_value = "https://token.actions.githubusercontent.com"
    )]
    pub federated_issuer: String,
    /// Also trust this very job's OIDC identity (issuer and subject read from its token).
    #[arg(long, env = "PEERING_FEDERATE_THIS_JOB")]
    pub federate_this_job: bool,
    /// Stored mode: keep a long-lived app password in this GitHub Actions secret scope, owner/repo or owner/repo:environment (needs GITHUB_TOKEN with secrets write).
    #[arg(
        long,
        env = "PEERING_STORE_SECRET_IN",
        value_name = "OWNER/REPO[:ENVIRONMENT]"
    )]
    pub store_secret_in: Option<String>,
    /// Name of the GitHub secret for --store-secret-in.
    #[arg(
        long,
        env = "PEERING_SECRET_NAME",
        default_value = "AIVEN_PEERING_APP_SECRET"
    )]
    pub secret_name: String,
    /// Lifetime of the stored app password.
    #[arg(
        long,
        env = "PEERING_STORED_SECRET_LIFETIME",
        default_value = "180days",
        value_name = "DURATION"
    )]
    pub stored_secret_lifetime: String,
    #[command(flatten)]
    pub common: Common,
}

/// Seed steps 11–12: ask Aiven for the peering connection and wait for Aiven's side (PENDING_PEER).
#[derive(Debug, Parser)]
#[command(name = "request-peering", version)]
pub struct RequestPeeringArgs {
    /// Aiven project.
    #[arg(long, alias = "aiven-project", env = "PEERING_AIVEN_PROJECT")]
    pub project: Option<String>,
    /// Aiven project VPC id; default: the project's single VPC in the VNet's region.
    #[arg(
        long,
        alias = "aiven-project-vpc-id",
        env = "PEERING_AIVEN_PROJECT_VPC_ID"
    )]
    pub project_vpc_id: Option<String>,
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Application id of your app registration (prepare-tenant's user_app_id).
    #[arg(long, env = "PEERING_USER_APP_ID")]
    pub user_app_id: Option<String>,
    /// Your tenant id (prepare-tenant's user_tenant_id).
    #[arg(long, env = "PEERING_USER_TENANT_ID")]
    pub user_tenant_id: Option<String>,
    /// Region of the VNet, to pick the project VPC (prepare-tenant's user_vnet_location).
    #[arg(long, env = "PEERING_USER_VNET_LOCATION")]
    pub user_vnet_location: Option<String>,
    /// Extra user peer network CIDRs, comma-separated.
    #[arg(long, env = "PEERING_USER_PEER_NETWORK_CIDRS", value_delimiter = ',')]
    pub user_peer_network_cidrs: Vec<String>,
    /// Delete and re-create a connection that failed (INVALID_SPECIFICATION, REJECTED_BY_PEER…).
    #[arg(long, env = "PEERING_RECREATE")]
    pub recreate: bool,
    /// For a connection this run created: how long an INVALID_SPECIFICATION about the peer/action grant is taken for Azure role propagation and the connection re-created.
    #[arg(
        long,
        env = "PEERING_GRANT_GRACE",
        default_value = "10m",
        value_name = "DURATION"
    )]
    pub grant_grace: String,
    /// How long to wait for PENDING_PEER.
    #[arg(
        long,
        env = "PEERING_REQUEST_TIMEOUT",
        default_value = "15m",
        value_name = "DURATION"
    )]
    pub timeout: String,
    /// Pause between checks of the connection state.
    #[arg(
        long,
        env = "PEERING_POLL_INTERVAL",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub poll_interval: String,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialMode {
    /// Mint a password for minutes with the admin identity, use it, remove it.
    Ephemeral,
    /// Use the app's client secret from PEERING_USER_APP_SECRET.
    Stored,
    /// Sign in with the CI's OIDC token (GitHub Actions id-token, PEERING_OIDC_TOKEN, or AZURE_FEDERATED_TOKEN_FILE).
    Federated,
}

/// Seed step 13: your app creates the peering from your VNet to Aiven's VNet.
#[derive(Debug, Parser)]
#[command(name = "accept-peering", version)]
pub struct AcceptPeeringArgs {
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Your tenant id.
    #[arg(long, env = "PEERING_USER_TENANT_ID")]
    pub user_tenant_id: Option<String>,
    /// Application id of your app registration.
    #[arg(long, env = "PEERING_USER_APP_ID")]
    pub user_app_id: Option<String>,
    /// Object id of your app registration (looked up from the app id if absent).
    #[arg(long, env = "PEERING_USER_APP_OBJECT_ID")]
    pub user_app_object_id: Option<String>,
    /// Aiven's tenant id (request-peering's aiven_tenant_id).
    #[arg(long, env = "PEERING_AIVEN_TENANT_ID")]
    pub aiven_tenant_id: Option<String>,
    /// Aiven's VNet resource id (request-peering's aiven_vnet_id).
    #[arg(long, env = "PEERING_AIVEN_VNET_ID")]
    pub aiven_vnet_id: Option<String>,
    /// Name of the peering on your VNet (default: aiven-<Aiven VNet name>; an existing peering to Aiven's VNet keeps its name).
    #[arg(long, env = "PEERING_PEERING_NAME")]
    pub peering_name: Option<String>,
    /// How your app signs in.
    #[arg(
        long,
        env = "PEERING_CREDENTIAL",
        value_enum,
        default_value = "ephemeral"
    )]
    pub credential: CredentialMode,
    /// Lifetime of the ephemeral password.
    #[arg(
        long,
        env = "PEERING_CREDENTIAL_LIFETIME",
        default_value = "30m",
        value_name = "DURATION"
    )]
    pub credential_lifetime: String,
    /// How long to retry role propagation and Aiven's late grant.
    #[arg(
        long,
        env = "PEERING_ACCEPT_TIMEOUT",
        default_value = "20m",
        value_name = "DURATION"
    )]
    pub timeout: String,
    #[command(flatten)]
    pub common: Common,
}

/// Seed step 14: wait until the Aiven peering connection is ACTIVE.
#[derive(Debug, Parser)]
#[command(name = "await-active", version)]
pub struct AwaitActiveArgs {
    /// Aiven project.
    #[arg(long, alias = "aiven-project", env = "PEERING_AIVEN_PROJECT")]
    pub project: Option<String>,
    /// Aiven project VPC id.
    #[arg(
        long,
        alias = "aiven-project-vpc-id",
        env = "PEERING_AIVEN_PROJECT_VPC_ID"
    )]
    pub project_vpc_id: Option<String>,
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// How long to wait for ACTIVE.
    #[arg(
        long,
        env = "PEERING_AWAIT_TIMEOUT",
        default_value = "30m",
        value_name = "DURATION"
    )]
    pub timeout: String,
    /// Pause between checks (at least 1s, so the API is not hammered).
    #[arg(
        long,
        env = "PEERING_POLL_INTERVAL",
        default_value = "15s",
        value_name = "DURATION"
    )]
    pub poll_interval: String,
    #[command(flatten)]
    pub common: Common,
}

/// A value from a flag (or its environment variable), else from the state file.
fn pick(flag: &Option<String>, state: &Option<String>, name: &str) -> Result<String, PhaseError> {
    flag.as_ref()
        .filter(|value| !value.trim().is_empty())
        .or(state.as_ref())
        .cloned()
        .ok_or_else(|| {
            let variable = format!("PEERING_{}", name.trim_start_matches("--").replace('-', "_").to_ascii_uppercase());
            PhaseError::input(name, format!("missing: give {name}, set {variable}, or pass --state with the previous phase's state file"))
        })
}

impl Common {
    fn load_state(&self) -> Result<Outputs, PhaseError> {
        match &self.state {
            Some(path) => Outputs::load(path),
            None => Ok(Outputs::default()),
        }
    }

    fn cloud(&self) -> Result<AzureCloud, PhaseError> {
        self.azure_cloud
            .parse()
            .map_err(|error: api_core::endpoints::EndpointError| {
                PhaseError::input("--azure-cloud", error.to_string())
            })
    }

    fn pacing(&self, replication_timeout: Option<&str>) -> Result<Pacing, PhaseError> {
        let mut pacing = Pacing {
            interval: input::duration("--retry-interval", &self.retry_interval)?,
            ..Pacing::default()
        };
        if let Some(timeout) = replication_timeout {
            pacing.replication_timeout = input::duration("--replication-timeout", timeout)?;
        }
        Ok(pacing)
    }

    fn sinks(&self) -> Sinks {
        let dotenv = self.dotenv.clone().or_else(|| {
            env_vars::non_empty(env_vars::GITLAB_CI).map(|_| PathBuf::from("peering.env"))
        });
        Sinks {
            state_file: self.state.clone(),
            github_output: env_vars::non_empty(env_vars::GITHUB_OUTPUT).map(PathBuf::from),
            github_step_summary: env_vars::non_empty(env_vars::GITHUB_STEP_SUMMARY)
                .map(PathBuf::from),
            dotenv,
        }
    }
}

/// The VNet's parts, from `--vnet-id` or the three flags, falling back to the state file.
fn resolve_vnet(args: &VnetArgs, state: &Outputs) -> Result<input::VnetId, PhaseError> {
    if let Some(id) = args
        .vnet_id
        .as_ref()
        .filter(|value| !value.trim().is_empty())
    {
        let parsed = input::vnet_id("--vnet-id", id)?;
        if let Some(subscription) = &args.subscription_id
            && input::guid("--subscription-id", subscription)? != parsed.subscription_id
        {
            return Err(PhaseError::input(
                "--subscription-id",
                "differs from the subscription in --vnet-id",
            ));
        }
        return Ok(parsed);
    }
    let has_parts =
        args.subscription_id.is_some() || args.resource_group.is_some() || args.vnet_name.is_some();
    if !has_parts && let Some(id) = &state.user_vnet_id {
        return input::vnet_id("user_vnet_id in the state file", id);
    }
    Ok(input::VnetId {
        subscription_id: input::guid(
            "--subscription-id",
            &pick(
                &args.subscription_id,
                &state.user_subscription_id,
                "--subscription-id",
            )?,
        )?,
        resource_group: input::azure_name(
            "--resource-group",
            &pick(
                &args.resource_group,
                &state.user_resource_group,
                "--resource-group",
            )?,
        )?,
        vnet_name: input::azure_name(
            "--vnet-name",
            &pick(&args.vnet_name, &state.user_vnet_name, "--vnet-name")?,
        )?,
    })
}

/// CI systems export unset inputs as empty variables; clap would take them as empty values and
/// hide the defaults, so empty `PEERING_*` and `AZURE_CLOUD` variables are removed before parsing.
fn scrub_empty_environment() {
    let empty: Vec<String> = std::env::vars_os()
        .filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let ours = name.starts_with("PEERING_") || name == env_vars::AZURE_CLOUD;
            (ours && value.to_string_lossy().trim().is_empty()).then_some(name)
        })
        .collect();
    for name in empty {
        // SAFETY: called at the start of main, before any other thread exists.
        unsafe { std::env::remove_var(name) };
    }
}

/// Parses a phase's flags after scrubbing empty environment values.
fn parse_args<T: Parser>() -> T {
    scrub_empty_environment();
    T::parse()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(env_vars::PEERING_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn in_github_actions() -> bool {
    env_vars::non_empty(env_vars::GITHUB_ACTIONS).is_some_and(|value| value == "true")
}

/// Runs one phase: logging, runtime, outputs, error report and exit code.
fn run<F, Fut>(phase: &'static str, common: &Common, body: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Report, PhaseError>>,
{
    init_logging();
    let github = in_github_actions();
    if github {
        println!("::group::{phase}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(crate::error::exit::FAILED);
        }
    };
    let result = runtime.block_on(body());
    if github {
        println!("::endgroup::");
    }
    let result = result.and_then(|report| {
        common.sinks().write(&report)?;
        Ok(report)
    });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{phase} {}: {error}", error.title());
            if github {
                println!(
                    "::error title={phase} {}::{}",
                    error.title(),
                    error.to_string().replace('\n', "%0A")
                );
            }
            error.exit_code()
        }
    }
}

pub fn prepare_tenant_main() -> ExitCode {
    let args: PrepareTenantArgs = parse_args();
    run("prepare-tenant", &args.common, || async {
        let state = args.common.load_state()?;
        let vnet = resolve_vnet(&args.vnet, &state)?;
        let app_name = match args.app_name.as_ref().or(state.user_app_name.as_ref()) {
            Some(name) => input::display_name("--app-name", name)?,
            None => format!("aiven-peering-{}", vnet.vnet_name.to_ascii_lowercase()),
        };
        let user_role = match args.user_role {
            UserRoleChoice::LeastPrivilege => UserRole::LeastPrivilege {
                role_name: input::display_name("--user-role-name", &args.user_role_name)?,
            },
            UserRoleChoice::NetworkContributor => UserRole::NetworkContributor,
        };
        let context = Context::from_env(args.common.cloud()?)?;
        let mut federated = Vec::new();
        let issuer = args.federated_issuer.trim().to_string();
        match reqwest::Url::parse(&issuer) {
            Ok(url)
                if url.scheme() == "https" && url.query().is_none() && url.fragment().is_none() => {
            }
            _ => {
                return Err(PhaseError::input(
                    "--federated-issuer",
                    format!("{issuer:?} is not an https issuer URL"),
                ));
            }
        }
        for subject in args
            .federated_subject
            .iter()
            .map(|subject| subject.trim())
            .filter(|subject| !subject.is_empty())
        {
            if subject.chars().any(char::is_control) || subject.len() > 600 {
                return Err(PhaseError::input(
                    "--federated-subject",
                    format!("{subject:?} is not an OIDC subject"),
                ));
            }
            federated.push(FederatedSubject {
                issuer: issuer.clone(),
                subject: subject.to_string(),
            });
        }
        if args.federate_this_job {
            let token = crate::oidc::CiToken::from_env(&context.http)?
                .fetch()
                .await
                .map_err(|error| {
                    PhaseError::failed(format!("cannot read this job's OIDC token: {error}"))
                })?;
            let (issuer, subject) = github_api::jwt_issuer_and_subject(token.expose())
                .ok_or_else(|| PhaseError::failed("this job's OIDC token has no iss/sub claims"))?;
            tracing::info!("this job signs in as {subject} (issuer {issuer})");
            federated.push(FederatedSubject { issuer, subject });
        }
        let stored_secret = match &args.store_secret_in {
            None => None,
            Some(scope) => {
                let target = github_api::SecretTarget::parse(scope.trim()).ok_or_else(|| {
                    PhaseError::input(
                        "--store-secret-in",
                        format!("{scope:?} is not owner/repo or owner/repo:environment"),
                    )
                })?;
                let name = args.secret_name.trim().to_string();
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|character| character.is_ascii_alphanumeric() || character == '_')
                    || name.starts_with("GITHUB_")
                {
                    return Err(PhaseError::input(
                        "--secret-name",
                        format!(
                            "{name:?} is not a GitHub secret name (letters, digits, _; not GITHUB_…)"
                        ),
                    ));
                }
                let token = env_vars::non_empty("PEERING_GITHUB_TOKEN")
                    .or_else(|| env_vars::non_empty("GITHUB_TOKEN"))
                    .map(Secret::new)
                    .ok_or_else(|| PhaseError::input("GITHUB_TOKEN", "--store-secret-in needs a GitHub token with secrets write permission in PEERING_GITHUB_TOKEN or GITHUB_TOKEN"))?;
                Some(StoredSecret {
                    github: github_api::GitHub::new(&context.endpoints.github, &token)
                        .map_err(|error| PhaseError::failed(error.to_string()))?,
                    target,
                    name,
                    lifetime: input::duration(
                        "--stored-secret-lifetime",
                        &args.stored_secret_lifetime,
                    )?,
                })
            }
        };
        let request = PrepareTenant {
            federated,
            stored_secret,
            subscription_id: vnet.subscription_id,
            resource_group: vnet.resource_group,
            vnet_name: vnet.vnet_name,
            app_name,
            aiven_app_id: input::guid("--aiven-app-id", &args.aiven_app_id)?,
            aiven_role_name: input::display_name("--aiven-role-name", &args.aiven_role_name)?,
            user_role,
            pacing: args.common.pacing(Some(&args.replication_timeout))?,
        };
        let admin = context.credential(context::admin_credential_source()?)?;
        tracing::info!("signing in as {}", admin.describe());
        crate::phases::prepare_tenant::prepare_tenant(
            &Arm::new(admin.clone()),
            &Graph::new(admin),
            &request,
        )
        .await
    })
}

pub fn request_peering_main() -> ExitCode {
    let args: RequestPeeringArgs = parse_args();
    run("request-peering", &args.common, || async {
        let state = args.common.load_state()?;
        let vnet = resolve_vnet(&args.vnet, &state)?;
        let project = input::aiven_project(
            "--project",
            &pick(&args.project, &state.aiven_project, "--project")?,
        )?;
        let project_vpc_id = match args
            .project_vpc_id
            .as_ref()
            .or(state.aiven_project_vpc_id.as_ref())
        {
            Some(id) => Some(input::guid("--project-vpc-id", id)?),
            None => None,
        };
        let request = RequestPeering {
            project,
            project_vpc_id,
            subscription_id: vnet.subscription_id,
            resource_group: vnet.resource_group,
            vnet_name: vnet.vnet_name,
            vnet_location: args
                .user_vnet_location
                .clone()
                .or(state.user_vnet_location.clone()),
            app_id: input::guid(
                "--user-app-id",
                &pick(&args.user_app_id, &state.user_app_id, "--user-app-id")?,
            )?,
            tenant_id: input::guid(
                "--user-tenant-id",
                &pick(
                    &args.user_tenant_id,
                    &state.user_tenant_id,
                    "--user-tenant-id",
                )?,
            )?,
            user_peer_network_cidrs: args
                .user_peer_network_cidrs
                .iter()
                .map(|cidr| cidr.trim().to_string())
                .filter(|cidr| !cidr.is_empty())
                .collect(),
            recreate: args.recreate,
            grant_grace: input::duration("--grant-grace", &args.grant_grace)?,
            timeout: input::duration("--timeout", &args.timeout)?,
            poll_interval: input::duration("--poll-interval", &args.poll_interval)?,
        };
        // Every phase accepts --retry-interval; this one paces itself by --poll-interval.
        args.common.pacing(None)?;
        let token = context::aiven_token()?;
        let context = Context::from_env(args.common.cloud()?)?;
        crate::phases::request_peering::request_peering(&context.aiven(token), &request).await
    })
}

pub fn accept_peering_main() -> ExitCode {
    let args: AcceptPeeringArgs = parse_args();
    run("accept-peering", &args.common, || async {
        let state = args.common.load_state()?;
        let vnet = resolve_vnet(&args.vnet, &state)?;
        let aiven_vnet_id = pick(&args.aiven_vnet_id, &state.aiven_vnet_id, "--aiven-vnet-id")?;
        input::vnet_id("--aiven-vnet-id", &aiven_vnet_id)?;
        let peering_name = match args.peering_name.as_ref().or(state.peering_name.as_ref()) {
            Some(name) => Some(input::azure_name("--peering-name", name)?),
            None => None,
        };
        let credential = match args.credential {
            CredentialMode::Ephemeral => AppCredential::Ephemeral {
                lifetime: input::duration("--credential-lifetime", &args.credential_lifetime)?,
            },
            CredentialMode::Federated => AppCredential::Federated(std::sync::Arc::new(crate::oidc::CiToken::from_env(&Context::from_env(args.common.cloud()?)?.http)?)),
            CredentialMode::Stored => AppCredential::Secret(
                env_vars::non_empty("PEERING_USER_APP_SECRET")
                    .map(Secret::new)
                    .inspect(crate::report::mask_in_ci_logs)
                    .ok_or_else(|| PhaseError::input("PEERING_USER_APP_SECRET", "--credential stored needs the app's client secret in PEERING_USER_APP_SECRET"))?,
            ),
        };
        let request = AcceptPeering {
            tenant_id: input::guid(
                "--user-tenant-id",
                &pick(
                    &args.user_tenant_id,
                    &state.user_tenant_id,
                    "--user-tenant-id",
                )?,
            )?,
            app_id: input::guid(
                "--user-app-id",
                &pick(&args.user_app_id, &state.user_app_id, "--user-app-id")?,
            )?,
            app_object_id: match args
                .user_app_object_id
                .as_ref()
                .or(state.user_app_object_id.as_ref())
            {
                Some(id) => Some(input::guid("--user-app-object-id", id)?),
                None => None,
            },
            subscription_id: vnet.subscription_id,
            resource_group: vnet.resource_group,
            vnet_name: vnet.vnet_name,
            aiven_tenant_id: input::guid(
                "--aiven-tenant-id",
                &pick(
                    &args.aiven_tenant_id,
                    &state.aiven_tenant_id,
                    "--aiven-tenant-id",
                )?,
            )?,
            aiven_vnet_id,
            peering_name,
            credential,
            timeout: input::duration("--timeout", &args.timeout)?,
            pacing: args.common.pacing(None)?,
        };
        let context = Context::from_env(args.common.cloud()?)?;
        let admin = match (&request.credential, context::admin_credential_source()) {
            (AppCredential::Ephemeral { .. }, Ok(source)) => Some(context.credential(source)?),
            (AppCredential::Ephemeral { .. }, Err(error)) => return Err(error),
            // Other modes use the admin identity only when it is fully configured.
            (_, Ok(source @ azure_api::CredentialSource::ClientSecret { .. })) => {
                Some(context.credential(source)?)
            }
            _ => None,
        };
        let make = |source| context.credential(source);
        crate::phases::accept_peering::accept_peering(admin.as_ref(), &make, &request).await
    })
}

pub fn await_active_main() -> ExitCode {
    let args: AwaitActiveArgs = parse_args();
    run("await-active", &args.common, || async {
        let state = args.common.load_state()?;
        let vnet = resolve_vnet(&args.vnet, &state)?;
        let poll_interval = input::duration("--poll-interval", &args.poll_interval)?;
        if poll_interval < std::time::Duration::from_millis(100) {
            return Err(PhaseError::input(
                "--poll-interval",
                "must be at least 100ms",
            ));
        }
        let request = AwaitActive {
            project: input::aiven_project(
                "--project",
                &pick(&args.project, &state.aiven_project, "--project")?,
            )?,
            project_vpc_id: input::guid(
                "--project-vpc-id",
                &pick(
                    &args.project_vpc_id,
                    &state.aiven_project_vpc_id,
                    "--project-vpc-id",
                )?,
            )?,
            subscription_id: vnet.subscription_id,
            resource_group: vnet.resource_group,
            vnet_name: vnet.vnet_name,
            timeout: input::duration("--timeout", &args.timeout)?,
            poll_interval,
        };
        let token = context::aiven_token()?;
        let context = Context::from_env(args.common.cloud()?)?;
        crate::phases::await_active::await_active(&context.aiven(token), &request).await
    })
}

/// The clap definition of every phase, by binary name (for generated actions and docs).
pub fn commands() -> Vec<(&'static str, clap::Command)> {
    use clap::CommandFactory;
    vec![
        ("prepare-tenant", PrepareTenantArgs::command()),
        ("request-peering", RequestPeeringArgs::command()),
        ("accept-peering", AcceptPeeringArgs::command()),
        ("await-active", AwaitActiveArgs::command()),
    ]
}

/// Environment-only inputs of a phase (credentials never travel as flags): name, variable,
/// description.
pub fn credential_inputs(phase: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    const ADMIN: &[(&str, &str, &str)] = &[
        (
            "azure-tenant-id",
            env_vars::AZURE_TENANT_ID,
            "Tenant of the user-tenant admin identity",
        ),
        (
            "azure-client-id",
            env_vars::AZURE_CLIENT_ID,
            "Client id of the user-tenant admin identity",
        ),
        (
            "azure-client-secret",
            env_vars::AZURE_CLIENT_SECRET,
            "Client secret of the user-tenant admin identity (pass a secret)",
        ),
    ];
    const AIVEN: &[(&str, &str, &str)] = &[(
        "aiven-token",
        env_vars::AIVEN_AUTH_TOKEN,
        "Aiven API token (pass a secret)",
    )];
    const ACCEPT: &[(&str, &str, &str)] = &[
        (
            "azure-tenant-id",
            env_vars::AZURE_TENANT_ID,
            "Tenant of the user-tenant admin identity (ephemeral mode)",
        ),
        (
            "azure-client-id",
            env_vars::AZURE_CLIENT_ID,
            "Client id of the user-tenant admin identity (ephemeral mode)",
        ),
        (
            "azure-client-secret",
            env_vars::AZURE_CLIENT_SECRET,
            "Client secret of the user-tenant admin identity (ephemeral mode; pass a secret)",
        ),
        (
            "user-app-secret",
            "PEERING_USER_APP_SECRET",
            "Client secret of your app registration (stored mode; pass a secret)",
        ),
    ];
    match phase {
        "prepare-tenant" => ADMIN,
        "request-peering" | "await-active" => AIVEN,
        "accept-peering" => ACCEPT,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clap_definitions_are_consistent() {
        for (_, command) in commands() {
            command.debug_assert();
        }
    }

    // Regression: CI systems export unset inputs as empty variables, which must not count.
    #[test]
    fn an_empty_environment_value_is_treated_as_absent() {
        // SAFETY: this test is the only one in this binary that touches this variable.
        unsafe { std::env::set_var("PEERING_AIVEN_ROLE_NAME", "") };
        scrub_empty_environment();
        let parsed = PrepareTenantArgs::try_parse_from(["prepare-tenant"]).unwrap();
        unsafe { std::env::remove_var("PEERING_AIVEN_ROLE_NAME") };
        assert_eq!(parsed.aiven_role_name, "Aiven VNet peering target");
    }
}
