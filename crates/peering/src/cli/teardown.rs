//! `teardown`'s flags and their conversion into a [`Teardown`] request: what the state file
//! records this tool created, plus what `--force` names explicitly.

use super::PhaseCli;
use super::common::{self, Common, PlanArgs, VnetArgs};
use crate::context::{self, Context};
use crate::error::{InputError, PhaseError};
use crate::input;
use crate::phases::teardown::{Clients, Teardown, teardown};
use crate::registry::Phase;
use crate::report::Report;
use crate::state::{CreatedResource, Outputs, ResourceKind, StateFile};
use aiven_api::PeerTarget;
use api_core::env_vars;
use azure_api::{Arm, Graph, VnetRef};
use clap::Parser;

/// Undo the procedure: removes, in a safe order, only what the state file records this tool created (or what --force names).
#[derive(Debug, Parser)]
#[command(name = "teardown", version)]
pub struct Args {
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Aiven project (for --force connection).
    #[arg(long, alias = "aiven-project", env = env_vars::PEERING_AIVEN_PROJECT)]
    pub project: Option<String>,
    /// Aiven project VPC id (for --force connection).
    #[arg(long, alias = "aiven-project-vpc-id", env = env_vars::PEERING_AIVEN_PROJECT_VPC_ID)]
    pub project_vpc_id: Option<String>,
    /// Keep the app registration and its service principal for a later re-peering.
    #[arg(long, env = env_vars::PEERING_KEEP_APP)]
    pub keep_app: bool,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Also remove an object the state file does not record, named explicitly: connection, peering=NAME, assignment=ID, role=ID, app=OBJECT_ID, sp=OBJECT_ID, aiven-sp=OBJECT_ID.
    #[arg(long, value_name = "WHAT[=NAME]")]
    pub force: Vec<String>,
    /// How long to wait for Aiven to delete the connection.
    #[arg(
        long,
        env = env_vars::PEERING_TEARDOWN_TIMEOUT,
        default_value = "15m",
        value_name = "DURATION"
    )]
    pub timeout: String,
    /// Pause between checks of the connection's deletion.
    #[arg(
        long,
        env = env_vars::PEERING_POLL_INTERVAL,
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub poll_interval: String,
    #[command(flatten)]
    pub common: Common,
}

impl Args {
    /// The records `--force` names.
    fn forced(&self, vnet: &VnetRef, state: &Outputs) -> Result<Vec<CreatedResource>, InputError> {
        let mut forced = Vec::new();
        for item in &self.force {
            let (what, value) = match item.split_once('=') {
                Some((what, value)) => (what.trim(), Some(value.trim().to_string())),
                None => (item.trim(), None),
            };
            let named = |kind: ResourceKind| {
                value
                    .clone()
                    .filter(|value| !value.is_empty())
                    .map(|value| CreatedResource::new(kind, value.clone(), value))
                    .ok_or_else(|| InputError::new("--force", format!("{what} needs =NAME or =ID")))
            };
            forced.push(match what {
                "connection" => {
                    let project = common::pick(
                        &self.project,
                        &state.aiven_project,
                        "--project",
                        env_vars::PEERING_AIVEN_PROJECT,
                    )?;
                    let vpc = common::pick(
                        &self.project_vpc_id,
                        &state.aiven_project_vpc_id,
                        "--project-vpc-id",
                        env_vars::PEERING_AIVEN_PROJECT_VPC_ID,
                    )?;
                    let target = PeerTarget::new(&vnet.subscription_id, &vnet.resource_group, &vnet.name);
                    CreatedResource::new(
                        ResourceKind::PeeringConnection,
                        format!(
                            "{}/{}",
                            input::aiven_project("--project", &project)?,
                            input::guid("--project-vpc-id", &vpc)?
                        ),
                        target.to_string(),
                    )
                }
                "peering" => {
                    let name = named(ResourceKind::VnetPeering)?.name;
                    let name = input::peering_name("--force peering", &name)?;
                    CreatedResource::new(
                        ResourceKind::VnetPeering,
                        format!("{}/virtualNetworkPeerings/{name}", vnet.id()),
                        name,
                    )
                }
                "assignment" => named(ResourceKind::RoleAssignment)?,
                "role" => named(ResourceKind::CustomRole)?,
                "app" => guid_named(named(ResourceKind::Application)?)?,
                "sp" => guid_named(named(ResourceKind::ServicePrincipal)?)?,
                "aiven-sp" => guid_named(named(ResourceKind::AivenServicePrincipal)?)?,
                other => {
                    return Err(InputError::new(
                        "--force",
                        format!("{other:?} is not one of connection, peering, assignment, role, app, sp, aiven-sp"),
                    ));
                }
            });
        }
        Ok(forced)
    }
}

fn guid_named(record: CreatedResource) -> Result<CreatedResource, InputError> {
    input::guid("--force", &record.id)?;
    Ok(record)
}

impl PhaseCli for Args {
    const PHASE: Phase = Phase::Teardown;
    type Request = Teardown;

    fn common(&self) -> &Common {
        &self.common
    }

    fn plan_args(&self) -> Option<&PlanArgs> {
        Some(&self.plan)
    }

    fn request(&self, state: &Outputs) -> Result<Teardown, InputError> {
        let vnet = common::resolve_vnet(&self.vnet, state)?;
        self.common.cloud()?;
        self.common.pacing(None)?;
        Ok(Teardown {
            records: self.forced(&vnet, state)?,
            vnet,
            keep_app: self.keep_app,
            plan: self.plan.plan || self.plan.plan_json,
            state_file: self.common.state.clone(),
            timeout: input::duration("--timeout", &self.timeout)?,
            poll_interval: input::interval("--poll-interval", &self.poll_interval)?,
        })
    }

    async fn execute(
        mut request: Teardown,
        common: &Common,
        report: &mut Report,
    ) -> Result<(), PhaseError> {
        // What the state file records this tool created, after what --force named.
        if let Some(path) = &common.state {
            for record in StateFile::load(path)?.created {
                if !request.records.iter().any(|known| known.same_as(&record)) {
                    request.records.push(record);
                }
            }
        }
        if request.records.is_empty() {
            tracing::info!("the state file records nothing this tool created: nothing to remove");
        }
        let context = Context::from_env(common.cloud()?)?;
        let needs_aiven = request
            .records
            .iter()
            .any(|record| record.kind == ResourceKind::PeeringConnection);
        // A plan looks at the connection and the secret when the tokens are at hand, and
        // says it cannot tell otherwise; a run needs them.
        let aiven = match (needs_aiven, request.plan) {
            (true, false) => Some(context.aiven(context::aiven_token()?)),
            (true, true) => context::aiven_token()
                .ok()
                .map(|token| context.aiven(token)),
            (false, _) => None,
        };
        let needs_github = request
            .records
            .iter()
            .any(|record| record.kind == ResourceKind::GitHubSecret);
        let github_token = env_vars::non_empty(env_vars::PEERING_GITHUB_TOKEN)
            .or_else(|| env_vars::non_empty(env_vars::GITHUB_TOKEN))
            .map(api_core::Secret::new);
        let github = match (needs_github, request.plan, github_token) {
            (true, _, Some(token)) => Some(context.github(&token)?),
            // Asked before anything is removed: bad input changes nothing.
            (true, false, None) => {
                return Err(InputError::new(
                    env_vars::GITHUB_TOKEN,
                    "deleting the GitHub secret this tool created needs a GitHub token with secrets write permission in PEERING_GITHUB_TOKEN or GITHUB_TOKEN",
                )
                .into());
            }
            _ => None,
        };
        let admin = context.credential(context::admin_credential_source(&context)?)?;
        tracing::info!("signing in as {}", admin.describe());
        let (arm, graph) = (Arm::new(admin.clone()), Graph::new(admin));
        let clients = Clients {
            arm: &arm,
            graph: &graph,
            aiven: aiven.as_ref(),
            github: github.as_ref(),
        };
        teardown(&clients, &request, report).await
    }
}
