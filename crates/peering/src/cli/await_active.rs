//! `await-active`'s flags and their conversion into an [`AwaitActive`] request.

use super::PhaseCli;
use super::common::{self, Common, PlanArgs, VnetArgs};
use crate::context::{self, Context};
use crate::error::{InputError, PhaseError};
use crate::input;
use crate::phases::await_active::AwaitActive;
use crate::registry::Phase;
use crate::report::Report;
use crate::state::Outputs;
use api_core::env_vars;
use clap::Parser;

/// Seed step 14: wait until the Aiven peering connection is ACTIVE.
#[derive(Debug, Parser)]
#[command(name = "await-active", version)]
pub struct Args {
    /// Aiven project.
    #[arg(long, alias = "aiven-project", env = env_vars::PEERING_AIVEN_PROJECT)]
    pub project: Option<String>,
    /// Aiven project VPC id.
    #[arg(long, alias = "aiven-project-vpc-id", env = env_vars::PEERING_AIVEN_PROJECT_VPC_ID)]
    pub project_vpc_id: Option<String>,
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// How long to wait for ACTIVE.
    #[arg(
        long,
        env = env_vars::PEERING_AWAIT_TIMEOUT,
        default_value = "30m",
        value_name = "DURATION"
    )]
    pub timeout: String,
    /// First pause between checks (at least 100ms); later pauses are a tenth of the time waited, up to 60s, so a 15-minute wait makes at most 60 checks.
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
    const PHASE: Phase = Phase::AwaitActive;
    type Request = AwaitActive;

    fn common(&self) -> &Common {
        &self.common
    }

    fn plan_args(&self) -> Option<&PlanArgs> {
        Some(&self.plan)
    }

    fn request(&self, state: &Outputs) -> Result<AwaitActive, InputError> {
        let vnet = common::resolve_vnet(&self.vnet, state)?;
        let poll_interval = input::interval("--poll-interval", &self.poll_interval)?;
        self.common.pacing(None)?;
        self.common.cloud()?;
        Ok(AwaitActive {
            project: input::aiven_project(
                "--project",
                &common::pick(
                    &self.project,
                    &state.aiven_project,
                    "--project",
                    env_vars::PEERING_AIVEN_PROJECT,
                )?,
            )?,
            project_vpc_id: input::guid(
                "--project-vpc-id",
                &common::pick(
                    &self.project_vpc_id,
                    &state.aiven_project_vpc_id,
                    "--project-vpc-id",
                    env_vars::PEERING_AIVEN_PROJECT_VPC_ID,
                )?,
            )?,
            vnet,
            timeout: input::duration("--timeout", &self.timeout)?,
            poll_interval,
        })
    }

    fn patience(request: &Self::Request) -> std::time::Duration {
        request.timeout
    }

    async fn execute(
        request: AwaitActive,
        common: &Common,
        report: &mut Report,
    ) -> Result<(), PhaseError> {
        let token = context::aiven_token()?;
        let context = Context::from_env(common.cloud()?)?;
        crate::phases::await_active::await_active(&context.aiven(token), &request, report).await
    }
}
