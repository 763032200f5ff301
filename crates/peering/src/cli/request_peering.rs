//! `request-peering`'s flags and their conversion into a [`RequestPeering`] request.

use super::PhaseCli;
use super::common::{self, Common, PlanArgs, VnetArgs};
use crate::context::{self, Context};
use crate::error::{InputError, PhaseError};
use crate::input;
use crate::phases::request_peering::{GrantReader, RequestPeering};
use crate::registry::Phase;
use crate::report::Report;
use crate::state::Outputs;
use api_core::env_vars;
use azure_api::{Arm, Graph};
use clap::Parser;

/// Seed steps 11–12: ask Aiven for the peering connection and wait for Aiven's side (PENDING_PEER).
#[derive(Debug, Parser)]
#[command(name = "request-peering", version)]
pub struct Args {
    /// Aiven project.
    #[arg(long, alias = "aiven-project", env = env_vars::PEERING_AIVEN_PROJECT)]
    pub project: Option<String>,
    /// Aiven project VPC id; default: the project's single VPC in the VNet's region.
    #[arg(long, alias = "aiven-project-vpc-id", env = env_vars::PEERING_AIVEN_PROJECT_VPC_ID)]
    pub project_vpc_id: Option<String>,
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Application id of your app registration (prepare-tenant's user_app_id).
    #[arg(long, env = env_vars::PEERING_USER_APP_ID)]
    pub user_app_id: Option<String>,
    /// Your tenant id (prepare-tenant's user_tenant_id); when empty, the job's AZURE_TENANT_ID.
    #[arg(long, env = env_vars::PEERING_USER_TENANT_ID)]
    pub user_tenant_id: Option<String>,
    /// Region of the VNet, to pick the project VPC (prepare-tenant's user_vnet_location).
    #[arg(long, env = env_vars::PEERING_USER_VNET_LOCATION)]
    pub user_vnet_location: Option<String>,
    /// Extra user peer network CIDRs, comma-separated.
    #[arg(long, env = env_vars::PEERING_USER_PEER_NETWORK_CIDRS, value_delimiter = ',')]
    pub user_peer_network_cidrs: Vec<String>,
    /// Delete and re-create a connection that failed (INVALID_SPECIFICATION, REJECTED_BY_PEER…).
    #[arg(long, env = env_vars::PEERING_RECREATE)]
    pub recreate: bool,
    /// When prepare-tenant created Aiven's role assignment on the VNet (prepare-tenant's aiven_role_assigned_at).
    #[arg(long, env = env_vars::PEERING_AIVEN_ROLE_ASSIGNED_AT)]
    pub aiven_role_assigned_at: Option<String>,
    /// How long after Aiven's role assignment was created an INVALID_SPECIFICATION of a young connection is taken for Azure role propagation, and the connection re-created.
    #[arg(
        long,
        env = env_vars::PEERING_GRANT_GRACE,
        default_value = "10m",
        value_name = "DURATION"
    )]
    pub grant_grace: String,
    /// How long to wait for PENDING_PEER.
    #[arg(
        long,
        env = env_vars::PEERING_REQUEST_TIMEOUT,
        default_value = "15m",
        value_name = "DURATION"
    )]
    pub timeout: String,
    /// First pause between checks of the connection state; later pauses are a tenth of the time waited, up to 60s.
    #[arg(
        long,
        env = env_vars::PEERING_POLL_INTERVAL,
        default_value = "1s",
        value_name = "DURATION"
    )]
    pub poll_interval: String,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub common: Common,
}

impl PhaseCli for Args {
    const PHASE: Phase = Phase::RequestPeering;
    type Request = RequestPeering;

    fn common(&self) -> &Common {
        &self.common
    }

    fn plan_args(&self) -> Option<&PlanArgs> {
        Some(&self.plan)
    }

    fn request(&self, state: &Outputs) -> Result<RequestPeering, InputError> {
        let vnet = common::resolve_vnet(&self.vnet, state)?;
        let project = input::aiven_project(
            "--project",
            &common::pick(
                &self.project,
                &state.aiven_project,
                "--project",
                env_vars::PEERING_AIVEN_PROJECT,
            )?,
        )?;
        let project_vpc_id = input::optional_guid(
            "--project-vpc-id",
            common::optional(&self.project_vpc_id, &state.aiven_project_vpc_id).as_deref(),
        )?;
        // Every phase accepts --retry-interval; this one paces itself by --poll-interval.
        self.common.pacing(None)?;
        self.common.cloud()?;
        Ok(RequestPeering {
            project,
            project_vpc_id,
            vnet,
            vnet_location: common::optional(&self.user_vnet_location, &state.user_vnet_location),
            app_id: input::guid(
                "--user-app-id",
                &common::pick(
                    &self.user_app_id,
                    &state.user_app_id,
                    "--user-app-id",
                    env_vars::PEERING_USER_APP_ID,
                )?,
            )?,
            tenant_id: common::user_tenant_id(
                &self.user_tenant_id,
                &state.user_tenant_id,
                env_vars::non_empty(env_vars::AZURE_TENANT_ID),
            )?,
            user_peer_network_cidrs: self
                .user_peer_network_cidrs
                .iter()
                .map(|cidr| cidr.trim().to_string())
                .filter(|cidr| !cidr.is_empty())
                .collect(),
            vnet_cidrs: state
                .user_vnet_cidrs
                .iter()
                .flat_map(|cidrs| cidrs.split(','))
                .map(|cidr| cidr.trim().to_string())
                .filter(|cidr| !cidr.is_empty())
                .collect(),
            recreate: self.recreate,
            aiven_role_assigned_at: common::optional(
                &self.aiven_role_assigned_at,
                &state.aiven_role_assigned_at,
            )
            .map(|time| input::timestamp("--aiven-role-assigned-at", &time))
            .transpose()?,
            grant_grace: input::duration("--grant-grace", &self.grant_grace)?,
            timeout: input::duration("--timeout", &self.timeout)?,
            poll_interval: input::interval("--poll-interval", &self.poll_interval)?,
        })
    }

    fn patience(request: &Self::Request) -> std::time::Duration {
        request.timeout
    }

    async fn execute(
        request: RequestPeering,
        common: &Common,
        report: &mut Report,
    ) -> Result<(), PhaseError> {
        let token = context::aiven_token()?;
        let context = Context::from_env(common.cloud()?)?;
        // With an identity that may read role assignments, Aiven's grant is checked first.
        let admin = match context::admin_credential_source(&context) {
            Ok(source) => Some(context.credential(source)?),
            Err(_) => None,
        };
        let clients = admin
            .as_ref()
            .map(|admin| (Arm::new(admin.clone()), Graph::new(admin.clone())));
        let grant_reader = clients
            .as_ref()
            .map(|(arm, graph)| GrantReader { arm, graph });
        crate::phases::request_peering::request_peering(
            &context.aiven(token),
            grant_reader,
            &request,
            report,
        )
        .await
    }
}
