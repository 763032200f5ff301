//! A replay session: runs `az` and `avn` with the environment a user would give them, records
//! each command with the simulator's requests it caused, and carries the saved values from one
//! step to the next as the document says.

use super::{
    AIVEN_APP_ID, Clis, CommandRun, ConnectionDetails, ReplayOptions, RequestCounts, SETUP,
    SeedValues,
};
use crate::process::{Measured, run_measured};
use api_core::env_vars;
use cloud_sim::{RequestRecord, Sim};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One word of a command line.
enum Word {
    Plain(String),
    /// A saved value, shown as `$name`.
    Value(&'static str, String),
    /// A secret, shown as `***`.
    Secret(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Az,
    Avn,
}

/// A command line of one of the two CLIs, built word by word.
struct Line {
    tool: Tool,
    words: Vec<Word>,
}

/// `az` followed by the space-separated plain words of `words`.
fn az(words: &str) -> Line {
    Line::new(Tool::Az, words)
}

/// `avn` followed by the space-separated plain words of `words`.
fn avn(words: &str) -> Line {
    Line::new(Tool::Avn, words)
}

impl Line {
    fn new(tool: Tool, words: &str) -> Line {
        Line {
            tool,
            words: words
                .split_whitespace()
                .map(|word| Word::Plain(word.to_string()))
                .collect(),
        }
    }

    /// One plain word (kept whole even with spaces).
    fn arg(mut self, text: &str) -> Line {
        self.words.push(Word::Plain(text.to_string()));
        self
    }

    /// A saved value, shown as `$name`.
    fn value(mut self, name: &'static str, text: &str) -> Line {
        self.words.push(Word::Value(name, text.to_string()));
        self
    }

    /// A secret, shown as `***`.
    fn secret(mut self, text: &str) -> Line {
        self.words.push(Word::Secret(text.to_string()));
        self
    }

    /// `flag` followed by a saved value.
    fn flag_value(self, flag: &str, name: &'static str, text: &str) -> Line {
        self.arg(flag).value(name, text)
    }
}

/// A replay in progress: the CLIs' scratch configuration, the commands run so far and the
/// values saved. [`super::replay`] runs the whole document; tests run single steps.
pub struct Session<'a> {
    sim: &'a Sim,
    clis: &'a Clis,
    options: &'a ReplayOptions,
    /// Holds the CLIs' configuration and token caches; removed when the session ends.
    _scratch: tempfile::TempDir,
    environment: Vec<(String, String)>,
    pub commands: Vec<CommandRun>,
    pub values: SeedValues,
    /// `$user_app_secret` (seed step 4); never shown, never part of [`SeedValues`].
    user_app_secret: String,
}

/// The environment of every CLI process: nothing of ours, only what a user would set.
fn cli_environment(
    sim: &Sim,
    clis: &Clis,
    scratch: &Path,
    options: &ReplayOptions,
) -> Vec<(String, String)> {
    let ready = sim.ready();
    let path = format!(
        "{}:{}",
        clis.bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pairs = [
        ("PATH", path),
        ("HOME", scratch.display().to_string()),
        // An isolated Azure CLI configuration; `core.instance_discovery=false` because MSAL
        // validates unknown authority hosts against login.microsoftonline.com otherwise.
        (
            env_vars::AZURE_CONFIG_DIR,
            scratch.join("azure").display().to_string(),
        ),
        (env_vars::AZURE_CORE_INSTANCE_DISCOVERY, "false".to_string()),
        (env_vars::AZURE_CORE_COLLECT_TELEMETRY, "false".to_string()),
        (env_vars::AZURE_CORE_SURVEY_MESSAGE, "false".to_string()),
        (env_vars::AZURE_CORE_NO_COLOR, "true".to_string()),
        // Both CLIs use python-requests, which trusts this bundle.
        (
            env_vars::REQUESTS_CA_BUNDLE,
            ready.ca_cert.display().to_string(),
        ),
        (
            env_vars::AIVEN_CONFIG_DIR,
            scratch.join("aiven").display().to_string(),
        ),
        (env_vars::AIVEN_WEB_URL, ready.aiven.clone()),
        (env_vars::AIVEN_AUTH_TOKEN, ready.aiven_token.clone()),
        // The document's avn commands have no --project: the user's default project.
        (env_vars::AIVEN_PROJECT, options.aiven_project.clone()),
        ("PYTHONDONTWRITEBYTECODE", "1".to_string()),
    ];
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

impl<'a> Session<'a> {
    pub fn new(sim: &'a Sim, clis: &'a Clis, options: &'a ReplayOptions) -> Session<'a> {
        let scratch = tempfile::tempdir().expect("a scratch directory for the CLIs' configuration");
        let environment = cli_environment(sim, clis, scratch.path(), options);
        Session {
            sim,
            clis,
            options,
            _scratch: scratch,
            environment,
            commands: Vec::new(),
            values: SeedValues::default(),
            user_app_secret: String::new(),
        }
    }

    /// Runs one command, records it, and returns its output.
    async fn run(&mut self, step: &'static str, line: Line) -> Result<Measured, String> {
        let (program, name) = match line.tool {
            Tool::Az => (self.clis.az(), "az"),
            Tool::Avn => (self.clis.avn(), "avn"),
        };
        let mut shown = vec![name.to_string()];
        let mut arguments = Vec::new();
        for word in line.words {
            match word {
                Word::Plain(text) => {
                    shown.push(shell_quoted(&text));
                    arguments.push(text);
                }
                Word::Value(saved, text) => {
                    shown.push(format!("${saved}"));
                    arguments.push(text);
                }
                Word::Secret(text) => {
                    shown.push("***".to_string());
                    arguments.push(text);
                }
            }
        }
        let mut command = Command::new(&program);
        command.env_clear().envs(self.environment.iter().cloned());
        command.args(&arguments);
        let before = self.sim.requests().len();
        let measured = tokio::task::spawn_blocking(move || run_measured(&mut command))
            .await
            .map_err(|error| format!("the command thread failed: {error}"))?
            .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
        let records: Vec<RequestRecord> = self.sim.requests().into_iter().skip(before).collect();
        self.commands.push(CommandRun {
            step,
            shown: shown.join(" "),
            code: measured.code,
            wall: measured.wall,
            peak_rss_kib: measured.peak_rss_kib,
            requests: RequestCounts::of(&records),
            records,
        });
        Ok(measured)
    }

    /// Runs a command that must succeed.
    async fn run_ok(&mut self, step: &'static str, line: Line) -> Result<Measured, String> {
        let measured = self.run(step, line).await?;
        if measured.code == 0 {
            Ok(measured)
        } else {
            let shown = &self.commands.last().expect("just recorded").shown;
            Err(format!(
                "`{shown}` exited with {}: {}",
                measured.code,
                last_lines(&measured.stderr, &measured.stdout)
            ))
        }
    }

    /// Points `az` at the simulator: not part of the seed (a user of the real cloud has it).
    /// `az cloud register` reads the endpoints from ARM's metadata document.
    pub async fn point_azure_cli_at_the_simulator(&mut self) -> Result<(), String> {
        let resource_manager = self.sim.ready().resource_manager.clone();
        let register = az("cloud register --name cloud-sim --endpoint-resource-manager");
        self.run_ok(SETUP, register.arg(&resource_manager)).await?;
        self.run_ok(SETUP, az("cloud set --name cloud-sim")).await?;
        Ok(())
    }

    /// Steps 1–14.
    pub async fn seed_procedure(&mut self) -> Result<(), String> {
        self.log_in_as_admin().await?;
        self.create_application().await?;
        self.prepare_permissions().await?;
        self.request_peering().await?;
        self.wait_for_pending_peer().await?;
        self.create_user_side_peering().await?;
        let interval = self.options.active_poll_interval;
        self.wait_for_state("14", "ACTIVE", interval).await?;
        Ok(())
    }

    /// Step 1: `az account clear` and a sign-in with an admin account (a service principal with
    /// the Application administrator role instead of the browser).
    async fn log_in_as_admin(&mut self) -> Result<(), String> {
        let ready = self.sim.ready().clone();
        self.run_ok("1", az("account clear")).await?;
        let login = az("login --service-principal")
            .flag_value("-u", "admin_client_id", &ready.admin_client_id)
            .arg("-p")
            .secret(&ready.admin_client_secret)
            .flag_value("--tenant", "admin_tenant_id", &ready.user_tenant_id);
        self.run_ok("1", login).await?;
        Ok(())
    }

    /// Steps 2–4: the multi-tenant app, its service principal and its password.
    async fn create_application(&mut self) -> Result<(), String> {
        let create = az("ad app create --display-name")
            .arg(&self.options.app_display_name)
            .arg("--sign-in-audience")
            .arg("AzureADMultipleOrgs")
            .arg("--key-type")
            .arg("Password");
        let created = self.run_ok("2", create).await?;
        self.values.user_app_id = json_text(&created.stdout, "/appId")?;
        let user_app_id = self.values.user_app_id.clone();
        let sp_create = az("ad sp create").flag_value("--id", "user_app_id", &user_app_id);
        let principal = self.run_ok("3", sp_create).await?;
        self.values.user_sp_id = json_text(&principal.stdout, "/id")?;
        let reset = az("ad app credential reset").flag_value("--id", "user_app_id", &user_app_id);
        let reset = self.run_ok("4", reset).await?;
        self.user_app_secret = json_text(&reset.stdout, "/password")?;
        Ok(())
    }

    /// Steps 5–10: the VNet's ids, the two roles and their assignments, the tenant id.
    async fn prepare_permissions(&mut self) -> Result<(), String> {
        let networks = self.run_ok("5", az("network vnet list")).await?;
        let networks = parse_json(&networks.stdout)?;
        let wanted = &self.options.vnet_name;
        let network = networks
            .as_array()
            .and_then(|networks| {
                networks.iter().find(|network| {
                    network["name"]
                        .as_str()
                        .is_some_and(|name| name.eq_ignore_ascii_case(wanted))
                })
            })
            .ok_or_else(|| format!("`az network vnet list` does not list {wanted}: {networks}"))?;
        let values = &mut self.values;
        values.user_vnet_id = json_text_of(network, "/id")?;
        values.user_resource_group = json_text_of(network, "/resourceGroup")?;
        values.user_vnet_name = json_text_of(network, "/name")?;
        values.user_subscription_id = values
            .user_vnet_id
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_string();

        let list = az("role definition list --name").arg("Network Contributor");
        let definitions = self.run_ok("6", list).await?;
        self.values.network_contributor_role_id = json_text(&definitions.stdout, "/0/id")?;
        let values = self.values.clone();
        let assign = role_assignment_create(
            (
                "network_contributor_role_id",
                &values.network_contributor_role_id,
            ),
            ("user_sp_id", &values.user_sp_id),
            &values.user_vnet_id,
        );
        self.run_ok("6", assign).await?;

        let aiven_principal = self
            .run_ok("7", az("ad sp create --id").arg(AIVEN_APP_ID))
            .await?;
        self.values.aiven_sp_id = json_text(&aiven_principal.stdout, "/id")?;

        let definition = serde_json::json!({
            "Name": self.options.aiven_role_name,
            "Description": "Allows creating a peering to vnets in scope (but not from)",
            "Actions": ["Microsoft.Network/virtualNetworks/peer/action"],
            "AssignableScopes": [format!("/subscriptions/{}", values.user_subscription_id)],
        });
        let create = az("role definition create --role-definition").arg(&definition.to_string());
        let created_role = self.run_ok("8", create).await?;
        self.values.aiven_role_id = json_text(&created_role.stdout, "/id")?;
        let assign = role_assignment_create(
            ("aiven_role_id", &self.values.aiven_role_id),
            ("aiven_sp_id", &self.values.aiven_sp_id),
            &values.user_vnet_id,
        );
        self.run_ok("9", assign).await?;

        let accounts = self.run_ok("10", az("account list")).await?;
        let accounts = parse_json(&accounts.stdout)?;
        let subscription = &values.user_subscription_id;
        self.values.user_tenant_id = accounts
            .as_array()
            .and_then(|accounts| {
                accounts
                    .iter()
                    .find(|account| account["id"].as_str() == Some(subscription))
            })
            .and_then(|account| account["tenantId"].as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("`az account list` does not list {subscription}: {accounts}"))?;
        Ok(())
    }

    /// `avn vpc peering-connection <action>` with the `--project-vpc-id` and `--peer-*`
    /// arguments that name the connection, lower-cased as the document says.
    fn connection_command(&self, action: &str) -> Line {
        let values = &self.values;
        avn(&format!("vpc peering-connection {action}"))
            .flag_value(
                "--project-vpc-id",
                "aiven_project_vpc_id",
                &values.aiven_project_vpc_id,
            )
            .flag_value(
                "--peer-cloud-account",
                "user_subscription_id",
                &values.user_subscription_id.to_lowercase(),
            )
            .flag_value(
                "--peer-resource-group",
                "user_resource_group",
                &values.user_resource_group.to_lowercase(),
            )
            .flag_value(
                "--peer-vpc",
                "user_vnet_name",
                &values.user_vnet_name.to_lowercase(),
            )
    }

    /// Step 11 (needs the values of steps 2–10 in [`Session::values`]).
    pub async fn request_peering(&mut self) -> Result<(), String> {
        self.values.aiven_project_vpc_id = self.options.aiven_project_vpc_id.clone();
        let create = self
            .connection_command("create")
            .flag_value(
                "--peer-azure-app-id",
                "user_app_id",
                &self.values.user_app_id.to_lowercase(),
            )
            .flag_value(
                "--peer-azure-tenant-id",
                "user_tenant_id",
                &self.values.user_tenant_id.to_lowercase(),
            );
        self.run_ok("11", create).await?;
        Ok(())
    }

    /// Step 12: `get -v` until PENDING_PEER; on INVALID_SPECIFICATION or REJECTED_BY_PEER the
    /// document says to fix the configuration and recreate the connection, which the replay
    /// does (delete, wait until it is gone, create) a few times.
    pub async fn wait_for_pending_peer(&mut self) -> Result<(), String> {
        let mut recreations = 0;
        loop {
            let interval = self.options.pending_poll_interval;
            match self.wait_for_state("12", "PENDING_PEER", interval).await {
                Ok(details) => {
                    self.values.aiven_tenant_id = details.field("TO-TENANT-ID")?;
                    self.values.aiven_vnet_id = details.field("TO-NETWORK-ID")?;
                    return Ok(());
                }
                Err(_) if recreations < 3 && self.recreatable() => {
                    recreations += 1;
                    self.recreate_connection().await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn recreatable(&self) -> bool {
        matches!(
            self.values.peering_state.as_str(),
            "INVALID_SPECIFICATION" | "REJECTED_BY_PEER"
        )
    }

    async fn recreate_connection(&mut self) -> Result<(), String> {
        self.run_ok("12", self.connection_command("delete")).await?;
        let deadline = Instant::now() + self.options.wait_limit;
        loop {
            let shown = self.get_connection("12").await?;
            if shown.is_none() || self.values.peering_state == "DELETED" {
                break;
            }
            if Instant::now() >= deadline {
                return Err("the deleted peering connection did not go away".to_string());
            }
            tokio::time::sleep(self.options.pending_poll_interval).await;
        }
        self.request_peering().await
    }

    /// Runs `avn vpc peering-connection get -v` until the connection is in `wanted`; a failure
    /// state ends the wait with an error.
    pub async fn wait_for_state(
        &mut self,
        step: &'static str,
        wanted: &str,
        interval: Duration,
    ) -> Result<ConnectionDetails, String> {
        let deadline = Instant::now() + self.options.wait_limit;
        loop {
            let shown = self.get_connection(step).await?;
            let state = self.values.peering_state.clone();
            match shown {
                Some(details) if state == wanted => return Ok(details),
                Some(details) if is_failure_state(&state) => {
                    return Err(format!(
                        "the peering connection is {state}: {}",
                        details.message
                    ));
                }
                _ => {}
            }
            if Instant::now() + interval > deadline {
                return Err(format!(
                    "the peering connection is still {state} after {:?}",
                    self.options.wait_limit
                ));
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// One `avn vpc peering-connection get -v`: `None` when the connection does not exist.
    async fn get_connection(
        &mut self,
        step: &'static str,
    ) -> Result<Option<ConnectionDetails>, String> {
        let get = self.connection_command("get -v");
        let shown = self.run(step, get).await?;
        if shown.code != 0 {
            if shown.stderr.contains("does not exist") {
                self.values.peering_state = String::new();
                return Ok(None);
            }
            return Err(format!(
                "`avn vpc peering-connection get -v` exited with {}: {}",
                shown.code,
                last_lines(&shown.stderr, &shown.stdout)
            ));
        }
        let details = ConnectionDetails::parse(&shown.stdout)?;
        self.values.peering_state = details.state.clone();
        Ok(Some(details))
    }

    /// Step 13: sign out, sign the app in to both tenants, create the peering; on an
    /// authorization error wait and repeat the step's commands, as the document says.
    async fn create_user_side_peering(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + self.options.wait_limit;
        loop {
            match self.user_side_peering_attempt().await {
                Ok(()) => return Ok(()),
                Err(error)
                    if is_authorization_error(&error)
                        && Instant::now() + self.options.retry_interval < deadline =>
                {
                    tokio::time::sleep(self.options.retry_interval).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn user_side_peering_attempt(&mut self) -> Result<(), String> {
        let values = self.values.clone();
        let secret = self.user_app_secret.clone();
        self.run_ok("13", az("account clear")).await?;
        for (tenant_name, tenant) in [
            ("user_tenant_id", &values.user_tenant_id),
            ("aiven_tenant_id", &values.aiven_tenant_id),
        ] {
            let login = az("login --service-principal")
                .flag_value("-u", "user_app_id", &values.user_app_id)
                .arg("-p")
                .secret(&secret)
                .flag_value("--tenant", tenant_name, tenant);
            self.run_ok("13", login).await?;
        }
        let create = az("network vnet peering create --name")
            .arg(&self.options.peering_name)
            .flag_value("--remote-vnet", "aiven_vnet_id", &values.aiven_vnet_id)
            .flag_value("--vnet-name", "user_vnet_name", &values.user_vnet_name)
            .flag_value(
                "--resource-group",
                "user_resource_group",
                &values.user_resource_group,
            )
            .flag_value(
                "--subscription",
                "user_subscription_id",
                &values.user_subscription_id,
            )
            .arg("--allow-vnet-access");
        self.run_ok("13", create).await?;
        Ok(())
    }
}

/// `az role assignment create --role … --assignee-object-id … --scope $user_vnet_id`.
fn role_assignment_create(
    (role_name, role): (&'static str, &str),
    (principal_name, principal): (&'static str, &str),
    scope: &str,
) -> Line {
    az("role assignment create")
        .flag_value("--role", role_name, role)
        .flag_value("--assignee-object-id", principal_name, principal)
        .flag_value("--scope", "user_vnet_id", scope)
}

/// States the connection does not leave by waiting.
fn is_failure_state(state: &str) -> bool {
    matches!(
        state,
        "INVALID_SPECIFICATION" | "REJECTED_BY_PEER" | "DELETED_BY_PEER" | "ERROR" | "DELETED"
    )
}

/// The error of step 13 that the document says to wait out ("If access was recently granted").
fn is_authorization_error(error: &str) -> bool {
    error.contains("AuthorizationFailed") || error.contains("does not have authorization")
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|error| format!("the CLI did not print JSON ({error})"))
}

/// A string field of a CLI's JSON output, by JSON pointer.
fn json_text(text: &str, pointer: &str) -> Result<String, String> {
    json_text_of(&parse_json(text)?, pointer)
}

fn json_text_of(value: &Value, pointer: &str) -> Result<String, String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {pointer} in the CLI's output"))
}

/// The end of a failed command's output, for the error message (CLIs print errors last).
fn last_lines(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.trim().lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

fn shell_quoted(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_./:=@,".contains(character))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_words_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_quoted("--id"), "--id");
        assert_eq!(shell_quoted("Network Contributor"), "'Network Contributor'");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
    }
}
