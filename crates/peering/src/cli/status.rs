//! `status`'s flags and their conversion into a [`Status`] request; `execute` reads both sides
//! with read rights only and prints one table and the next step (or JSON with `--json`).

use super::PhaseCli;
use super::common::{self, Common, VnetArgs};
use crate::context::{self, Context};
use crate::error::{InputError, PhaseError};
use crate::input;
use crate::phases::status::{AivenSide, Observation, Status, next_step, read_status};
use crate::registry::Phase;
use crate::report::{Change, Report};
use crate::state::Outputs;
use api_core::env_vars;
use azure_api::{Arm, Graph};
use clap::Parser;

/// Where the procedure stands and what to run next; reads only, writes nothing. Exit 0 when the peering is ACTIVE and your side Connected and in sync, 1 otherwise.
#[derive(Debug, Parser)]
#[command(name = "status", version)]
pub struct Args {
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Display name of the app registration (default: aiven-peering-<vnet name>).
    #[arg(long, env = env_vars::PEERING_USER_APP_NAME)]
    pub app_name: Option<String>,
    /// Application id of your app registration (prepare-tenant's user_app_id).
    #[arg(long, env = env_vars::PEERING_USER_APP_ID)]
    pub user_app_id: Option<String>,
    /// Application id of Aiven's app.
    #[arg(long, env = env_vars::PEERING_AIVEN_APP_ID, default_value = azure_api::AIVEN_APP_ID)]
    pub aiven_app_id: String,
    /// Name of the custom role of Aiven's service principal.
    #[arg(
        long,
        env = env_vars::PEERING_AIVEN_ROLE_NAME,
        default_value = "Aiven VNet peering target"
    )]
    pub aiven_role_name: String,
    /// Name of the custom role of your app's service principal.
    #[arg(
        long,
        env = env_vars::PEERING_USER_ROLE_NAME,
        default_value = "Aiven VNet peering initiator"
    )]
    pub user_role_name: String,
    /// Aiven project (request-peering's aiven_project); without it the Aiven side is not read.
    #[arg(long, alias = "aiven-project", env = env_vars::PEERING_AIVEN_PROJECT)]
    pub project: Option<String>,
    /// Aiven project VPC id; default: every VPC of the project is searched.
    #[arg(long, alias = "aiven-project-vpc-id", env = env_vars::PEERING_AIVEN_PROJECT_VPC_ID)]
    pub project_vpc_id: Option<String>,
    /// Print the findings and the next step as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: Common,
}

/// The request, and how to print it.
#[derive(Debug)]
pub struct StatusRequest {
    pub status: Status,
    pub json: bool,
}

impl PhaseCli for Args {
    const PHASE: Phase = Phase::Status;
    type Request = StatusRequest;

    fn common(&self) -> &Common {
        &self.common
    }

    fn request(&self, state: &Outputs) -> Result<StatusRequest, InputError> {
        let vnet = common::resolve_vnet(&self.vnet, state)?;
        let app_name = match common::optional(&self.app_name, &state.user_app_name) {
            Some(name) => input::display_name("--app-name", &name)?,
            None => format!("aiven-peering-{}", vnet.name.to_ascii_lowercase()),
        };
        self.common.cloud()?;
        self.common.pacing(None)?;
        Ok(StatusRequest {
            status: Status {
                vnet,
                app_id: input::optional_guid(
                    "--user-app-id",
                    common::optional(&self.user_app_id, &state.user_app_id).as_deref(),
                )?,
                app_name,
                aiven_app_id: input::guid("--aiven-app-id", &self.aiven_app_id)?,
                user_role_name: input::display_name("--user-role-name", &self.user_role_name)?,
                aiven_role_name: input::display_name("--aiven-role-name", &self.aiven_role_name)?,
                project: common::optional(&self.project, &state.aiven_project)
                    .map(|project| input::aiven_project("--project", &project))
                    .transpose()?,
                project_vpc_id: input::optional_guid(
                    "--project-vpc-id",
                    common::optional(&self.project_vpc_id, &state.aiven_project_vpc_id).as_deref(),
                )?,
                aiven_vnet_id: state.aiven_vnet_id.clone(),
            },
            json: self.json,
        })
    }

    async fn execute(
        request: StatusRequest,
        common: &Common,
        report: &mut Report,
    ) -> Result<(), PhaseError> {
        report.read_only = true;
        let context = Context::from_env(common.cloud()?)?;
        let aiven = match &request.status.project {
            Some(_) => Some(context.aiven(context::aiven_token()?)),
            None => None,
        };
        let admin = context.credential(context::admin_credential_source(&context)?)?;
        tracing::info!("reading as {}", admin.describe());
        let seen = read_status(
            &Arm::new(admin.clone()),
            &Graph::new(admin),
            aiven.as_ref(),
            &request.status,
        )
        .await?;
        let next = next_step(&seen);
        let rows = crate::phases::status::rows(&seen);
        if request.json {
            println!("{}", json(&seen, &rows, &next));
        } else {
            print!("{}", table(&rows));
            println!("{}", next.line());
        }
        for (resource, name, state) in &rows {
            let change = if state.starts_with("missing") {
                Change::Missing
            } else {
                Change::AlreadyPresent
            };
            report.resources.push(crate::report::Resource {
                kind: resource.clone(),
                name: name.clone(),
                id: state.clone(),
                change,
            });
        }
        report.next_step = Some(next.line());
        report.exit_code = if next.is_done() {
            crate::error::exit::DONE
        } else {
            crate::error::exit::FAILED
        };
        Ok(())
    }
}

/// The rows as an aligned plain-text table.
fn table(rows: &[(String, String, String)]) -> String {
    let width = |column: fn(&(String, String, String)) -> &String| {
        rows.iter()
            .map(|row| column(row).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (first, second) = (width(|row| &row.0), width(|row| &row.1));
    rows.iter()
        .map(|(resource, name, state)| format!("{resource:<first$}  {name:<second$}  {state}\n"))
        .collect()
}

fn json(
    seen: &Observation,
    rows: &[(String, String, String)],
    next: &crate::phases::status::Next,
) -> String {
    let aiven_state = match &seen.aiven {
        AivenSide::Connection { state, .. } => Some(state.to_string()),
        _ => None,
    };
    let value = serde_json::json!({
        "ready": next.is_done(),
        "next": next.line(),
        "aiven_state": aiven_state,
        "user_peering_state": seen.user_peering.as_ref().map(|peering| peering.state.clone()),
        "user_peering_sync_level": seen.user_peering.as_ref().and_then(|peering| peering.sync_level.clone()),
        "resources": rows.iter().map(|(resource, name, state)| serde_json::json!({
            "resource": resource, "name": name, "state": state,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&value).expect("JSON serializes")
}
