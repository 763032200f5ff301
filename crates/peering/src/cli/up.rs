//! `up`: the four phases of the procedure in one process, with one state file. Each phase is
//! its own `Args` → `request()` → `execute()` exactly as when it runs alone, and writes the
//! same outputs, state-file entry and step summary; `up` only carries what one phase learned
//! to the next in memory (so it works without `--state` too). A re-run after a failure
//! continues: every phase looks before it writes, so the finished ones write nothing again.
//!
//! The phases run one after another, not overlapped across their boundaries: request-peering
//! could start once Aiven's assignment exists, but Aiven checks it when the connection leaves
//! APPROVED, one PENDING_PEER delay after its creation, and no API says when an assignment has
//! propagated. Created earlier, the connection fails (INVALID_SPECIFICATION) and costs a
//! re-creation and another PENDING_PEER delay. prepare-tenant ends when the user app's chain
//! does, which waits for directory replication besides the principal lag both chains wait for;
//! that is the earliest safe moment whenever replication ≥ propagation − PENDING_PEER delay
//! (the realistic and slow profiles: 2 s ≥ 5 s − 3 s), so an overlap would gain nothing there.

use super::common::{Common, PlanArgs, VnetArgs};
use super::{PhaseCli, accept_peering, await_active, prepare_tenant, request_peering};
use crate::error::PhaseError;
use crate::registry::Phase;
use crate::report::Report;
use crate::state::Outputs;
use api_core::env_vars;
use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;

/// Seed steps 1–14 in one job: prepare-tenant, request-peering, accept-peering and await-active in turn.
#[derive(Debug, Parser)]
#[command(name = "up", version)]
pub struct Args {
    #[command(flatten)]
    pub vnet: VnetArgs,
    /// Aiven project.
    #[arg(long, alias = "aiven-project", env = env_vars::PEERING_AIVEN_PROJECT)]
    pub project: Option<String>,
    /// Aiven project VPC id; default: the project's single VPC in the VNet's region.
    #[arg(long, alias = "aiven-project-vpc-id", env = env_vars::PEERING_AIVEN_PROJECT_VPC_ID)]
    pub project_vpc_id: Option<String>,
    /// Display name of the multi-tenant app registration to find or create. An existing app of this name is used only when the admin identity alone owns it.
    #[arg(long, env = env_vars::PEERING_USER_APP_NAME)]
    pub app_name: Option<String>,
    /// Use this existing app registration (application id), whoever owns it.
    #[arg(long, env = env_vars::PEERING_APP_ID, value_name = "GUID")]
    pub app_id: Option<String>,
    /// Application id of Aiven's app.
    #[arg(long, env = env_vars::PEERING_AIVEN_APP_ID, default_value = azure_api::AIVEN_APP_ID)]
    pub aiven_app_id: String,
    /// Name of the custom role holding only peer/action, for Aiven's service principal (unique per tenant; reused if it exists).
    #[arg(
        long,
        env = env_vars::PEERING_AIVEN_ROLE_NAME,
        default_value = "Aiven VNet peering target"
    )]
    pub aiven_role_name: String,
    /// Role of your app's service principal on the VNet.
    #[arg(
        long,
        env = env_vars::PEERING_USER_ROLE,
        value_enum,
        default_value = "least-privilege"
    )]
    pub user_role: prepare_tenant::UserRoleChoice,
    /// Name of the least-privilege custom role for your app's service principal.
    #[arg(
        long,
        env = env_vars::PEERING_USER_ROLE_NAME,
        default_value = "Aiven VNet peering initiator"
    )]
    pub user_role_name: String,
    /// Reuse an existing custom role of the given name even when it grants more than the tool asks for.
    #[arg(long, env = env_vars::PEERING_ACCEPT_WIDER_ROLE)]
    pub accept_wider_role: bool,
    /// How long to retry Microsoft Graph replication lag.
    #[arg(
        long,
        env = env_vars::PEERING_REPLICATION_TIMEOUT,
        default_value = "5m",
        value_name = "DURATION"
    )]
    pub replication_timeout: String,
    /// Let CI jobs with this OIDC subject sign in as the app (federated mode); comma-separated for several.
    #[arg(long, env = env_vars::PEERING_FEDERATED_SUBJECT, value_delimiter = ',')]
    pub federated_subject: Vec<String>,
    /// Issuer of --federated-subject: GitHub's by default, your GitLab instance URL for GitLab.
    #[arg(
        long,
        env = env_vars::PEERING_FEDERATED_ISSUER,
        default_value = prepare_tenant::GITHUB_ISSUER
    )]
    pub federated_issuer: String,
    /// Also trust this very job's OIDC identity (issuer and subject read from its token).
    #[arg(long, env = env_vars::PEERING_FEDERATE_THIS_JOB)]
    pub federate_this_job: bool,
    /// Extra user peer network CIDRs, comma-separated.
    #[arg(long, env = env_vars::PEERING_USER_PEER_NETWORK_CIDRS, value_delimiter = ',')]
    pub user_peer_network_cidrs: Vec<String>,
    /// Delete and re-create an Aiven connection that failed (INVALID_SPECIFICATION, REJECTED_BY_PEER…).
    #[arg(long, env = env_vars::PEERING_RECREATE)]
    pub recreate: bool,
    /// For a connection this run created: how long an INVALID_SPECIFICATION about the peer/action grant is taken for Azure role propagation and the connection re-created.
    #[arg(
        long,
        env = env_vars::PEERING_GRANT_GRACE,
        default_value = "10m",
        value_name = "DURATION"
    )]
    pub grant_grace: String,
    /// How long to wait for PENDING_PEER (request-peering's --timeout).
    #[arg(
        long,
        env = env_vars::PEERING_REQUEST_TIMEOUT,
        default_value = "15m",
        value_name = "DURATION"
    )]
    pub request_timeout: String,
    /// First pause between checks of the Aiven connection; later pauses are a tenth of the time waited, up to 60s.
    #[arg(
        long,
        env = env_vars::PEERING_POLL_INTERVAL,
        default_value = "1s",
        value_name = "DURATION"
    )]
    pub poll_interval: String,
    /// Name of the peering on your VNet (default: aiven-<Aiven VNet name>; an existing peering to Aiven's VNet keeps its name).
    #[arg(long, env = env_vars::PEERING_PEERING_NAME)]
    pub peering_name: Option<String>,
    /// How your app signs in to create the peering.
    #[arg(
        long,
        env = env_vars::PEERING_CREDENTIAL,
        value_enum,
        default_value = "ephemeral"
    )]
    pub credential: accept_peering::CredentialChoice,
    /// Lifetime of the ephemeral password.
    #[arg(
        long,
        env = env_vars::PEERING_CREDENTIAL_LIFETIME,
        default_value = "30m",
        value_name = "DURATION"
    )]
    pub credential_lifetime: String,
    /// How long to retry role propagation and Aiven's late grant (accept-peering's --timeout).
    #[arg(
        long,
        env = env_vars::PEERING_ACCEPT_TIMEOUT,
        default_value = "20m",
        value_name = "DURATION"
    )]
    pub accept_timeout: String,
    /// How long to wait for ACTIVE (await-active's --timeout).
    #[arg(
        long,
        env = env_vars::PEERING_AWAIT_TIMEOUT,
        default_value = "30m",
        value_name = "DURATION"
    )]
    pub await_timeout: String,
    #[command(flatten)]
    pub common: Common,
}

impl Args {
    fn prepare(&self) -> prepare_tenant::Args {
        prepare_tenant::Args {
            vnet: self.vnet.clone(),
            app_name: self.app_name.clone(),
            app_id: self.app_id.clone(),
            aiven_app_id: self.aiven_app_id.clone(),
            aiven_role_name: self.aiven_role_name.clone(),
            user_role: self.user_role,
            user_role_name: self.user_role_name.clone(),
            accept_wider_role: self.accept_wider_role,
            replication_timeout: self.replication_timeout.clone(),
            federated_subject: self.federated_subject.clone(),
            federated_issuer: self.federated_issuer.clone(),
            federate_this_job: self.federate_this_job,
            // A stored password lands in a GitHub secret this job cannot read back: the
            // stored mode is the four-job procedure's.
            store_secret_in: None,
            secret_name: env_vars::AIVEN_PEERING_APP_SECRET.to_string(),
            stored_secret_lifetime: "180days".to_string(),
            rotate_before: "30days".to_string(),
            // `up` runs; a plan is each phase's alone (a later phase's plan needs the
            // earlier phases' objects to exist).
            plan: PlanArgs::default(),
            common: self.common.clone(),
        }
    }

    fn request(&self) -> request_peering::Args {
        request_peering::Args {
            project: self.project.clone(),
            project_vpc_id: self.project_vpc_id.clone(),
            vnet: self.vnet.clone(),
            user_app_id: None,
            user_tenant_id: None,
            user_vnet_location: None,
            user_peer_network_cidrs: self.user_peer_network_cidrs.clone(),
            recreate: self.recreate,
            // Learned from prepare-tenant's outputs (in memory or in the state file).
            aiven_role_assigned_at: None,
            grant_grace: self.grant_grace.clone(),
            timeout: self.request_timeout.clone(),
            poll_interval: self.poll_interval.clone(),
            // `up` runs; a plan is each phase's alone (a later phase's plan needs the
            // earlier phases' objects to exist).
            plan: PlanArgs::default(),
            common: self.common.clone(),
        }
    }

    fn accept(&self) -> accept_peering::Args {
        accept_peering::Args {
            vnet: self.vnet.clone(),
            user_tenant_id: None,
            user_app_id: None,
            user_app_object_id: None,
            aiven_tenant_id: None,
            aiven_vnet_id: None,
            peering_name: self.peering_name.clone(),
            credential: self.credential,
            credential_lifetime: self.credential_lifetime.clone(),
            timeout: self.accept_timeout.clone(),
            // `up` runs; a plan is each phase's alone (a later phase's plan needs the
            // earlier phases' objects to exist).
            plan: PlanArgs::default(),
            common: self.common.clone(),
        }
    }

    fn await_active(&self) -> await_active::Args {
        await_active::Args {
            project: self.project.clone(),
            project_vpc_id: self.project_vpc_id.clone(),
            vnet: self.vnet.clone(),
            timeout: self.await_timeout.clone(),
            poll_interval: self.poll_interval.clone(),
            // `up` runs; a plan is each phase's alone (a later phase's plan needs the
            // earlier phases' objects to exist).
            plan: PlanArgs::default(),
            common: self.common.clone(),
        }
    }

    /// Every phase's flags checked before the first one runs, with what earlier phases will
    /// learn stood in for by well-formed placeholders: bad input stops `up` before any write.
    fn check(&self, state: &Outputs) -> Result<(), crate::error::InputError> {
        let placeholder = "00000000-0000-4000-8000-000000000000";
        let mut learned = state.clone();
        learned.merge(&Outputs {
            user_app_id: Some(placeholder.to_string()),
            user_tenant_id: Some(placeholder.to_string()),
            aiven_project_vpc_id: state
                .aiven_project_vpc_id
                .clone()
                .or_else(|| Some(placeholder.to_string())),
            aiven_tenant_id: Some(placeholder.to_string()),
            aiven_vnet_id: Some(format!(
                "/subscriptions/{placeholder}/resourceGroups/placeholder/providers/Microsoft.Network/virtualNetworks/placeholder"
            )),
            ..Default::default()
        });
        // The phases fill in only what they do not find already: keep the state's own values.
        learned.merge(state);
        // The phases name their own --timeout; `up` has one per phase.
        let timeout_is = |name: &'static str| {
            move |mut error: crate::error::InputError| {
                if error.input == "--timeout" {
                    error.input = name.to_string();
                }
                error
            }
        };
        self.prepare().request(state)?;
        self.request()
            .request(&learned)
            .map_err(timeout_is("--request-timeout"))?;
        self.accept()
            .request(&learned)
            .map_err(timeout_is("--accept-timeout"))?;
        self.await_active()
            .request(&learned)
            .map_err(timeout_is("--await-timeout"))?;
        Ok(())
    }
}

/// The clap definition of `up`.
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Runs one phase of `up` as its own executable would (log group, outputs, state file, step
/// summary), from the state `up` has so far; the state then takes in what it learned.
fn run_phase<C: PhaseCli>(args: C, state: &mut Outputs) -> Result<(), ExitCode> {
    let common = args.common().clone();
    let mut report = Report::new(C::PHASE);
    let result = super::run(C::PHASE, async {
        let request = args.request(state)?;
        C::execute(request, &common, &mut report).await
    });
    let failed = result.is_err();
    let code = super::finish(&common, &report, result);
    state.merge(&report.outputs);
    if failed { Err(code) } else { Ok(()) }
}

/// Parses `arguments` (the first is the program name) and runs the procedure.
pub fn main(arguments: Vec<OsString>) -> ExitCode {
    super::scrub_empty_environment();
    let args = Args::parse_from(arguments);
    if let Some(code) = &args.common.explain {
        return super::explain(code);
    }
    let checked = args
        .common
        .load_state()
        .and_then(|state| args.check(&state).map(|()| state));
    let mut state = match checked {
        Ok(state) => state,
        Err(error) => {
            super::init_logging();
            let report = Report::new(Phase::Up);
            return super::finish(&args.common, &report, Err(PhaseError::from(error)));
        }
    };
    let outcome = run_phase(args.prepare(), &mut state)
        .and_then(|()| run_phase(args.request(), &mut state))
        .and_then(|()| run_phase(args.accept(), &mut state))
        .and_then(|()| run_phase(args.await_active(), &mut state));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
