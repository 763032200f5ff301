//! What every phase's command line shares: the common flags, the VNet flags, and how a value is
//! resolved from a flag, its environment variable or the state file.

use crate::error::InputError;
use crate::input;
use crate::phases::Pacing;
use crate::report::Sinks;
use crate::state::{OUTPUTS, Outputs};
use api_core::{AzureCloud, env_vars};
use azure_api::VnetRef;
use clap::Args;
use std::path::PathBuf;

/// Flags every phase has.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// JSON state file: read for inputs a flag does not give, and merged with this phase's outputs.
    #[arg(long, env = env_vars::PEERING_STATE, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Azure cloud whose default endpoints to use; AZURE_AUTHORITY_HOST, AZURE_RESOURCE_MANAGER_ENDPOINT and AZURE_GRAPH_ENDPOINT override each.
    #[arg(
        long,
        env = env_vars::AZURE_CLOUD,
        default_value = "public",
        value_name = "public|china|usgovernment"
    )]
    pub azure_cloud: String,
    /// Also write the outputs as a GitLab dotenv report (PEERING_<NAME>=value); defaults to peering.env when GITLAB_CI is set.
    #[arg(long, env = env_vars::PEERING_DOTENV, value_name = "FILE")]
    pub dotenv: Option<PathBuf>,
    /// First pause between retries of slow-to-converge state (replication, propagation); later pauses are a tenth of the time waited, up to 60s.
    #[arg(
        long,
        env = env_vars::PEERING_RETRY_INTERVAL,
        default_value = "1s",
        value_name = "DURATION"
    )]
    pub retry_interval: String,
    /// Print the cause and the fix of an error code (AZP-…) and exit.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,
}

/// `--plan`, on the procedure phases and teardown.
#[derive(Debug, Clone, Default, Args)]
pub struct PlanArgs {
    /// Only read: print the changes this phase would make (create, update, reuse or delete, each with its name and scope), make no write request, and exit 0 (or 1 when the run would fail, saying why).
    #[arg(long, env = env_vars::PEERING_PLAN)]
    pub plan: bool,
    /// Print the plan as JSON instead of a table (implies --plan).
    #[arg(long = "plan-json")]
    pub plan_json: bool,
}

/// The user's VNet, named by its parts or by its resource id.
#[derive(Debug, Clone, Args)]
pub struct VnetArgs {
    /// Subscription of the VNet (GUID).
    #[arg(long, alias = "user-subscription-id", env = env_vars::PEERING_USER_SUBSCRIPTION_ID)]
    pub subscription_id: Option<String>,
    /// Resource group of the VNet.
    #[arg(long, alias = "user-resource-group", env = env_vars::PEERING_USER_RESOURCE_GROUP)]
    pub resource_group: Option<String>,
    /// Name of the VNet.
    #[arg(long, alias = "user-vnet-name", env = env_vars::PEERING_USER_VNET_NAME)]
    pub vnet_name: Option<String>,
    /// Resource id of the VNet, instead of the three flags above.
    #[arg(long, alias = "user-vnet-id", env = env_vars::PEERING_USER_VNET_ID)]
    pub vnet_id: Option<String>,
}

/// A flag's value, else the state file's, else an error naming the flag and its variable.
pub fn pick(
    flag_value: &Option<String>,
    state_value: &Option<String>,
    flag: &str,
    variable: &str,
) -> Result<String, InputError> {
    optional(flag_value, state_value).ok_or_else(|| {
        // A value an earlier phase learns names that phase, so the message says what to run.
        let output = flag.trim_start_matches('-').replace('-', "_");
        let producer = OUTPUTS
            .iter()
            .find(|spec| spec.name == output)
            .map(|spec| format!(" ({} writes it: run {} first)", spec.phase, spec.phase))
            .unwrap_or_default();
        InputError::new(
            flag,
            format!(
                "missing: give {flag}, set {variable}, or pass --state with the previous phase's state file{producer}"
            ),
        )
    })
}

/// The user tenant id: the flag (or `PEERING_USER_TENANT_ID`), else the state file's, else the
/// job's own `AZURE_TENANT_ID` (`job_tenant`). GitHub drops a job output whose value equals a
/// secret of the job, and Azure's login docs keep the tenant id as a secret, so the output
/// `user_tenant_id` may arrive empty in the next job.
pub fn user_tenant_id(
    flag_value: &Option<String>,
    state_value: &Option<String>,
    job_tenant: Option<String>,
) -> Result<String, InputError> {
    let value = optional(flag_value, state_value)
        .or(job_tenant.filter(|value| !value.trim().is_empty()))
        .ok_or_else(|| {
            InputError::new(
                "--user-tenant-id",
                format!(
                    "missing: give --user-tenant-id, set {} (or the job's {}), or pass --state with the previous phase's state file",
                    env_vars::PEERING_USER_TENANT_ID,
                    env_vars::AZURE_TENANT_ID
                ),
            )
        })?;
    input::guid("--user-tenant-id", &value)
}

/// A flag's value, else the state file's, else nothing. Blank values count as absent.
pub fn optional(flag_value: &Option<String>, state_value: &Option<String>) -> Option<String> {
    flag_value
        .as_ref()
        .filter(|value| !value.trim().is_empty())
        .or(state_value
            .as_ref()
            .filter(|value| !value.trim().is_empty()))
        .cloned()
}

impl Common {
    pub fn load_state(&self) -> Result<Outputs, InputError> {
        match &self.state {
            Some(path) => Outputs::load(path),
            None => Ok(Outputs::default()),
        }
    }

    pub fn cloud(&self) -> Result<AzureCloud, InputError> {
        self.azure_cloud
            .parse()
            .map_err(|error: api_core::endpoints::EndpointError| {
                InputError::new("--azure-cloud", error.to_string())
            })
    }

    pub fn pacing(&self, replication_timeout: Option<&str>) -> Result<Pacing, InputError> {
        let mut pacing = Pacing {
            interval: input::interval("--retry-interval", &self.retry_interval)?,
            ..Pacing::default()
        };
        if let Some(timeout) = replication_timeout {
            pacing.replication_timeout = input::duration("--replication-timeout", timeout)?;
        }
        Ok(pacing)
    }

    pub fn sinks(&self) -> Sinks {
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

/// The VNet the state file belongs to, if it names one.
fn state_vnet(state: &Outputs) -> Result<Option<VnetRef>, InputError> {
    if let Some(id) = &state.user_vnet_id {
        return input::vnet_ref("user_vnet_id in the state file", id).map(Some);
    }
    match (
        &state.user_subscription_id,
        &state.user_resource_group,
        &state.user_vnet_name,
    ) {
        (Some(subscription), Some(group), Some(name)) => Ok(Some(VnetRef::new(
            input::guid("user_subscription_id in the state file", subscription)?,
            input::azure_name("user_resource_group in the state file", group)?,
            input::azure_name("user_vnet_name in the state file", name)?,
        ))),
        _ => Ok(None),
    }
}

/// The VNet, from `--vnet-id` or the three flags, falling back to the state file. A state file
/// belongs to one VNet: flags naming another one are refused, naming both.
pub fn resolve_vnet(args: &VnetArgs, state: &Outputs) -> Result<VnetRef, InputError> {
    let from_state = state_vnet(state)?;
    let from_flags = vnet_from_flags(args, from_state.as_ref())?;
    if let (Some(flags), Some(recorded)) = (&from_flags, &from_state)
        && !flags.same_as(recorded)
    {
        return Err(InputError::new(
            "--state",
            format!(
                "the state file belongs to VNet {recorded}, but the flags name VNet {flags}; use one state file per VNet"
            ),
        )
        .with_code(crate::catalog::Code::StateFileOtherVnet));
    }
    from_flags.or(from_state).ok_or_else(|| {
        let vnet_outputs: Vec<&str> = OUTPUTS
            .iter()
            .filter(|output| output.identifies_vnet)
            .map(|output| output.name)
            .collect();
        InputError::new(
            "--vnet-id",
            format!(
                "missing: give --vnet-id or --subscription-id, --resource-group and --vnet-name (variables {}, {}, {}), or pass --state with a state file that has {}",
                env_vars::PEERING_USER_SUBSCRIPTION_ID,
                env_vars::PEERING_USER_RESOURCE_GROUP,
                env_vars::PEERING_USER_VNET_NAME,
                vnet_outputs.join(", ")
            ),
        )
    })
}

/// The VNet the flags name, completed from the state file's parts where the flags give only some.
fn vnet_from_flags(
    args: &VnetArgs,
    recorded: Option<&VnetRef>,
) -> Result<Option<VnetRef>, InputError> {
    let given = |value: &Option<String>| value.clone().filter(|value| !value.trim().is_empty());
    if let Some(id) = given(&args.vnet_id) {
        let parsed = input::vnet_ref("--vnet-id", &id)?;
        if let Some(subscription) = given(&args.subscription_id)
            && input::guid("--subscription-id", &subscription)? != parsed.subscription_id
        {
            return Err(InputError::new(
                "--subscription-id",
                "differs from the subscription in --vnet-id",
            ));
        }
        return Ok(Some(parsed));
    }
    let (subscription, group, name) = (
        given(&args.subscription_id),
        given(&args.resource_group),
        given(&args.vnet_name),
    );
    if subscription.is_none() && group.is_none() && name.is_none() {
        return Ok(None);
    }
    let part = |value: Option<String>, recorded: Option<&str>, flag: &str, variable: &str| {
        pick(&value, &recorded.map(str::to_string), flag, variable)
    };
    Ok(Some(VnetRef::new(
        input::guid(
            "--subscription-id",
            &part(
                subscription,
                recorded.map(|vnet| vnet.subscription_id.as_str()),
                "--subscription-id",
                env_vars::PEERING_USER_SUBSCRIPTION_ID,
            )?,
        )?,
        input::azure_name(
            "--resource-group",
            &part(
                group,
                recorded.map(|vnet| vnet.resource_group.as_str()),
                "--resource-group",
                env_vars::PEERING_USER_RESOURCE_GROUP,
            )?,
        )?,
        input::azure_name(
            "--vnet-name",
            &part(
                name,
                recorded.map(|vnet| vnet.name.as_str()),
                "--vnet-name",
                env_vars::PEERING_USER_VNET_NAME,
            )?,
        )?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBSCRIPTION: &str = "8e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c";
    const OTHER: &str = "1e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c";

    fn flags(subscription: &str, group: &str, name: &str) -> VnetArgs {
        let given = |value: &str| (!value.is_empty()).then(|| value.to_string());
        VnetArgs {
            subscription_id: given(subscription),
            resource_group: given(group),
            vnet_name: given(name),
            vnet_id: None,
        }
    }

    fn state(subscription: &str, group: &str, name: &str) -> Outputs {
        Outputs {
            user_vnet_id: Some(VnetRef::new(subscription, group, name).id()),
            ..Default::default()
        }
    }

    // Regression: a user_tenant_id dropped from the job outputs (it equals a secret) made the
    // next phases exit 2.
    #[test]
    fn the_user_tenant_falls_back_to_the_jobs_own_tenant() {
        let job = Some(SUBSCRIPTION.to_string());
        let empty = Some(String::new());
        assert_eq!(
            user_tenant_id(&empty, &None, job.clone()).unwrap(),
            SUBSCRIPTION
        );
        assert_eq!(
            user_tenant_id(&Some(OTHER.to_string()), &None, job).unwrap(),
            OTHER,
            "an input wins"
        );
        let missing = user_tenant_id(&empty, &None, None).unwrap_err();
        assert_eq!(missing.input, "--user-tenant-id");
        assert!(
            missing.reason.contains(env_vars::AZURE_TENANT_ID),
            "{missing}"
        );
    }

    #[test]
    fn the_vnet_comes_from_flags_or_the_state_file() {
        let from_flags = resolve_vnet(&flags(SUBSCRIPTION, "RG", "Net"), &Outputs::default());
        assert_eq!(from_flags.unwrap(), VnetRef::new(SUBSCRIPTION, "RG", "Net"));
        let from_state = resolve_vnet(&flags("", "", ""), &state(SUBSCRIPTION, "RG", "Net"));
        assert_eq!(from_state.unwrap(), VnetRef::new(SUBSCRIPTION, "RG", "Net"));
        // The same VNet in another case is the same VNet.
        let same = resolve_vnet(
            &flags(SUBSCRIPTION, "rg", "net"),
            &state(SUBSCRIPTION, "RG", "Net"),
        );
        assert!(same.is_ok());
        let missing = resolve_vnet(&flags("", "", ""), &Outputs::default()).unwrap_err();
        assert_eq!(missing.input, "--vnet-id");
    }

    // Regression: prepare-tenant merged a second VNet's objects into the first VNet's state file.
    #[test]
    fn a_state_file_of_another_vnet_is_refused_naming_both() {
        for (subscription, group, name) in [(OTHER, "RG", "Net"), (SUBSCRIPTION, "RG", "Other")] {
            let error = resolve_vnet(
                &flags(subscription, group, name),
                &state(SUBSCRIPTION, "RG", "Net"),
            )
            .unwrap_err();
            assert_eq!(error.input, "--state");
            assert!(error.reason.contains("virtualNetworks/Net"), "{error}");
            assert!(
                error.reason.contains(&format!("virtualNetworks/{name}")),
                "{error}"
            );
        }
    }
}
