//! `accept-peering`'s flags and their conversion into an [`AcceptPeering`] request; the app's
//! credential (a secret or the CI's OIDC token) is taken from the environment only in `execute`.

use super::PhaseCli;
use super::common::{self, Common, PlanArgs, VnetArgs};
use crate::context::{self, Context};
use crate::error::{InputError, PhaseError};
use crate::input;
use crate::phases::accept_peering::{AcceptPeering, AppCredential, CredentialMode};
use crate::registry::Phase;
use crate::report::Report;
use crate::state::Outputs;
use api_core::{Secret, env_vars};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialChoice {
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
pub struct Args {
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Your tenant id; when empty, the job's AZURE_TENANT_ID.
    #[arg(long, env = env_vars::PEERING_USER_TENANT_ID)]
    pub user_tenant_id: Option<String>,
    /// Application id of your app registration.
    #[arg(long, env = env_vars::PEERING_USER_APP_ID)]
    pub user_app_id: Option<String>,
    /// Object id of your app registration (looked up from the app id if absent).
    #[arg(long, env = env_vars::PEERING_USER_APP_OBJECT_ID)]
    pub user_app_object_id: Option<String>,
    /// Aiven's tenant id (request-peering's aiven_tenant_id).
    #[arg(long, env = env_vars::PEERING_AIVEN_TENANT_ID)]
    pub aiven_tenant_id: Option<String>,
    /// Aiven's VNet resource id (request-peering's aiven_vnet_id).
    #[arg(long, env = env_vars::PEERING_AIVEN_VNET_ID)]
    pub aiven_vnet_id: Option<String>,
    /// Name of the peering on your VNet (default: aiven-<Aiven VNet name>; an existing peering to Aiven's VNet keeps its name).
    #[arg(long, env = env_vars::PEERING_PEERING_NAME)]
    pub peering_name: Option<String>,
    /// How your app signs in.
    #[arg(
        long,
        env = env_vars::PEERING_CREDENTIAL,
        value_enum,
        default_value = "ephemeral"
    )]
    pub credential: CredentialChoice,
    /// Lifetime of the ephemeral password.
    #[arg(
        long,
        env = env_vars::PEERING_CREDENTIAL_LIFETIME,
        default_value = "30m",
        value_name = "DURATION"
    )]
    pub credential_lifetime: String,
    /// How long to retry role propagation and Aiven's late grant.
    #[arg(
        long,
        env = env_vars::PEERING_ACCEPT_TIMEOUT,
        default_value = "20m",
        value_name = "DURATION"
    )]
    pub timeout: String,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub common: Common,
}

impl PhaseCli for Args {
    const PHASE: Phase = Phase::AcceptPeering;
    type Request = AcceptPeering;

    fn common(&self) -> &Common {
        &self.common
    }

    fn plan_args(&self) -> Option<&PlanArgs> {
        Some(&self.plan)
    }

    fn request(&self, state: &Outputs) -> Result<AcceptPeering, InputError> {
        let vnet = common::resolve_vnet(&self.vnet, state)?;
        let aiven_vnet = input::vnet_ref(
            "--aiven-vnet-id",
            &common::pick(
                &self.aiven_vnet_id,
                &state.aiven_vnet_id,
                "--aiven-vnet-id",
                env_vars::PEERING_AIVEN_VNET_ID,
            )?,
        )?;
        let peering_name = common::optional(&self.peering_name, &state.peering_name)
            .map(|name| input::peering_name("--peering-name", &name))
            .transpose()?;
        let credential = match self.credential {
            CredentialChoice::Ephemeral => CredentialMode::Ephemeral {
                lifetime: input::duration("--credential-lifetime", &self.credential_lifetime)?,
            },
            CredentialChoice::Stored => CredentialMode::Stored,
            CredentialChoice::Federated => CredentialMode::Federated,
        };
        self.common.cloud()?;
        Ok(AcceptPeering {
            tenant_id: common::user_tenant_id(
                &self.user_tenant_id,
                &state.user_tenant_id,
                env_vars::non_empty(env_vars::AZURE_TENANT_ID),
            )?,
            app_id: input::guid(
                "--user-app-id",
                &common::pick(
                    &self.user_app_id,
                    &state.user_app_id,
                    "--user-app-id",
                    env_vars::PEERING_USER_APP_ID,
                )?,
            )?,
            app_object_id: input::optional_guid(
                "--user-app-object-id",
                common::optional(&self.user_app_object_id, &state.user_app_object_id).as_deref(),
            )?,
            vnet,
            aiven_tenant_id: input::guid(
                "--aiven-tenant-id",
                &common::pick(
                    &self.aiven_tenant_id,
                    &state.aiven_tenant_id,
                    "--aiven-tenant-id",
                    env_vars::PEERING_AIVEN_TENANT_ID,
                )?,
            )?,
            aiven_vnet,
            peering_name,
            aiven_connection: common::optional(&None, &state.aiven_project)
                .zip(common::optional(&None, &state.aiven_project_vpc_id)),
            credential,
            timeout: input::duration("--timeout", &self.timeout)?,
            pacing: self.common.pacing(None)?,
        })
    }

    fn patience(request: &Self::Request) -> std::time::Duration {
        request.timeout
    }

    async fn execute(
        request: AcceptPeering,
        common: &Common,
        report: &mut Report,
    ) -> Result<(), PhaseError> {
        let context = Context::from_env(common.cloud()?)?;
        // With the Aiven token at hand, Aiven's side is checked before anything is written.
        if let (Some((project, vpc_id)), Ok(token)) =
            (&request.aiven_connection, context::aiven_token())
        {
            let aiven = context.aiven(token);
            crate::phases::preflight::aiven_side_ready(&aiven, project, vpc_id, &request.vnet)
                .await?;
        }
        let app_credential = match &request.credential {
            CredentialMode::Ephemeral { .. } => AppCredential::Minted,
            CredentialMode::Federated => AppCredential::Federated(std::sync::Arc::new(
                crate::oidc::CiToken::from_env(&context.http)?,
            )),
            CredentialMode::Stored => AppCredential::Secret(
                env_vars::non_empty(env_vars::PEERING_USER_APP_SECRET)
                    .map(Secret::new)
                    .inspect(crate::report::mask_in_ci_logs)
                    .ok_or_else(|| {
                        InputError::new(
                            env_vars::PEERING_USER_APP_SECRET,
                            "--credential stored needs the app's client secret in PEERING_USER_APP_SECRET",
                        )
                    })?,
            ),
        };
        let admin = match (
            &request.credential,
            context::admin_credential_source(&context),
        ) {
            (CredentialMode::Ephemeral { .. }, Ok(source)) => Some(context.credential(source)?),
            (CredentialMode::Ephemeral { .. }, Err(error)) => return Err(error.into()),
            // Other modes use the admin identity only when it is fully configured.
            (_, Ok(source @ azure_api::CredentialSource::ClientSecret { .. })) => {
                Some(context.credential(source)?)
            }
            _ => None,
        };
        let make = |source| context.credential(source);
        crate::phases::accept_peering::accept_peering(
            admin.as_ref(),
            &make,
            app_credential,
            &request,
            report,
        )
        .await
    }
}
