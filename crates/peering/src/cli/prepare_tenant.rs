//! `prepare-tenant`'s flags and their conversion into a [`PrepareTenant`] request.

use super::PhaseCli;
use super::common::{self, Common, PlanArgs, VnetArgs};
use crate::context::{self, Context};
use crate::error::{InputError, PhaseError};
use crate::input;
use crate::phases::prepare_tenant::{FederatedSubject, PrepareTenant, StoredSecret, UserRole};
use crate::registry::Phase;
use crate::report::Report;
use crate::state::Outputs;
use api_core::{Secret, env_vars};
use azure_api::{Arm, Graph};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UserRoleChoice {
    /// A custom role with only the peering actions on the VNet.
    LeastPrivilege,
    /// The built-in Network Contributor role, as Aiven's manual procedure does.
    NetworkContributor,
}

/// The issuer of GitHub Actions' OIDC tokens, the default for `--federated-subject`.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Seed steps 1–10: app registration, service principals, roles and role assignments in the user tenant.
#[derive(Debug, Parser)]
#[command(name = "prepare-tenant", version)]
pub struct Args {
    #[command(flatten)]
    pub vnet: VnetArgs,
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
    pub user_role: UserRoleChoice,
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
    /// Let CI jobs with this OIDC subject sign in as the app (federated mode), e.g. repo:acme/infra:environment:production; comma-separated for several.
    #[arg(long, env = env_vars::PEERING_FEDERATED_SUBJECT, value_delimiter = ',')]
    pub federated_subject: Vec<String>,
    /// Issuer of --federated-subject: GitHub's by default, your GitLab instance URL for GitLab.
    #[arg(
        long,
        env = env_vars::PEERING_FEDERATED_ISSUER,
        default_value = GITHUB_ISSUER
    )]
    pub federated_issuer: String,
    /// Also trust this very job's OIDC identity (issuer and subject read from its token).
    #[arg(long, env = env_vars::PEERING_FEDERATE_THIS_JOB)]
    pub federate_this_job: bool,
    /// Stored mode: keep a long-lived app password in this GitHub Actions secret scope, owner/repo or owner/repo:environment (needs GITHUB_TOKEN with secrets write).
    #[arg(
        long,
        env = env_vars::PEERING_STORE_SECRET_IN,
        value_name = "OWNER/REPO[:ENVIRONMENT]"
    )]
    pub store_secret_in: Option<String>,
    /// Name of the GitHub secret for --store-secret-in.
    #[arg(
        long,
        env = env_vars::PEERING_SECRET_NAME,
        default_value = env_vars::AIVEN_PEERING_APP_SECRET
    )]
    pub secret_name: String,
    /// Lifetime of the stored app password.
    #[arg(
        long,
        env = env_vars::PEERING_STORED_SECRET_LIFETIME,
        default_value = "180days",
        value_name = "DURATION"
    )]
    pub stored_secret_lifetime: String,
    /// Replace the stored app password when it expires within this window.
    #[arg(
        long,
        env = env_vars::PEERING_ROTATE_BEFORE,
        default_value = "30days",
        value_name = "DURATION"
    )]
    pub rotate_before: String,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub common: Common,
}

impl Args {
    fn federated_subjects(&self) -> Result<Vec<FederatedSubject>, InputError> {
        let issuer = self.federated_issuer.trim().to_string();
        match reqwest::Url::parse(&issuer) {
            Ok(url)
                if url.scheme() == "https" && url.query().is_none() && url.fragment().is_none() => {
            }
            _ => {
                return Err(InputError::new(
                    "--federated-issuer",
                    format!("{issuer:?} is not an https issuer URL"),
                ));
            }
        }
        self.federated_subject
            .iter()
            .map(|subject| subject.trim())
            .filter(|subject| !subject.is_empty())
            .map(|subject| {
                if subject.chars().any(char::is_control) || subject.len() > 600 {
                    return Err(InputError::new(
                        "--federated-subject",
                        format!("{subject:?} is not an OIDC subject"),
                    ));
                }
                Ok(FederatedSubject {
                    issuer: issuer.clone(),
                    subject: subject.to_string(),
                })
            })
            .collect()
    }

    fn stored_secret(&self) -> Result<Option<StoredSecret>, InputError> {
        let Some(scope) = &self.store_secret_in else {
            return Ok(None);
        };
        let target = github_api::SecretTarget::parse(scope.trim()).ok_or_else(|| {
            InputError::new(
                "--store-secret-in",
                format!("{scope:?} is not owner/repo or owner/repo:environment"),
            )
        })?;
        let name = self.secret_name.trim().to_string();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '_')
            && !name.starts_with("GITHUB_");
        if !valid {
            return Err(InputError::new(
                "--secret-name",
                format!("{name:?} is not a GitHub secret name (letters, digits, _; not GITHUB_…)"),
            ));
        }
        Ok(Some(StoredSecret {
            target,
            name,
            lifetime: input::duration("--stored-secret-lifetime", &self.stored_secret_lifetime)?,
            rotate_before: input::duration("--rotate-before", &self.rotate_before)?,
        }))
    }
}

impl PhaseCli for Args {
    const PHASE: Phase = Phase::PrepareTenant;
    type Request = PrepareTenant;

    fn common(&self) -> &Common {
        &self.common
    }

    fn plan_args(&self) -> Option<&PlanArgs> {
        Some(&self.plan)
    }

    fn request(&self, state: &Outputs) -> Result<PrepareTenant, InputError> {
        let vnet = common::resolve_vnet(&self.vnet, state)?;
        let app_name = match common::optional(&self.app_name, &state.user_app_name) {
            Some(name) => input::display_name("--app-name", &name)?,
            None => format!("aiven-peering-{}", vnet.name.to_ascii_lowercase()),
        };
        let user_role = match self.user_role {
            UserRoleChoice::LeastPrivilege => UserRole::LeastPrivilege {
                role_name: input::display_name("--user-role-name", &self.user_role_name)?,
            },
            UserRoleChoice::NetworkContributor => UserRole::NetworkContributor,
        };
        self.common.cloud()?;
        Ok(PrepareTenant {
            vnet,
            app_name,
            // The state file records the app a first run made or adopted.
            app_id: common::optional(&self.app_id, &state.user_app_id)
                .map(|app_id| input::guid("--app-id", &app_id))
                .transpose()?,
            app_id_from_state: self.app_id.is_none() && state.user_app_id.is_some(),
            accept_wider_role: self.accept_wider_role,
            aiven_app_id: input::guid("--aiven-app-id", &self.aiven_app_id)?,
            aiven_role_name: input::display_name("--aiven-role-name", &self.aiven_role_name)?,
            user_role,
            federated: self.federated_subjects()?,
            federate_this_job: self.federate_this_job,
            stored_secret: self.stored_secret()?,
            pacing: self.common.pacing(Some(&self.replication_timeout))?,
        })
    }

    fn patience(request: &Self::Request) -> std::time::Duration {
        request.pacing.replication_timeout
    }

    async fn execute(
        mut request: PrepareTenant,
        common: &Common,
        report: &mut Report,
    ) -> Result<(), PhaseError> {
        let context = Context::from_env(common.cloud()?)?;
        let github = match &request.stored_secret {
            None => None,
            Some(_) => {
                let token = env_vars::non_empty(env_vars::PEERING_GITHUB_TOKEN)
                    .or_else(|| env_vars::non_empty(env_vars::GITHUB_TOKEN))
                    .map(Secret::new)
                    .ok_or_else(|| {
                        InputError::new(
                            env_vars::GITHUB_TOKEN,
                            "--store-secret-in needs a GitHub token with secrets write permission in PEERING_GITHUB_TOKEN or GITHUB_TOKEN",
                        )
                    })?;
                Some(context.github(&token)?)
            }
        };
        let admin = context.credential(context::admin_credential_source(&context)?)?;
        if request.federate_this_job {
            let token = crate::oidc::CiToken::from_env(&context.http)?
                .fetch()
                .await
                .map_err(|error| {
                    PhaseError::failed(format!("cannot read this job's OIDC token: {error}"))
                })?;
            let (issuer, subject) = github_api::jwt_issuer_and_subject(token.expose())
                .ok_or_else(|| PhaseError::failed("this job's OIDC token has no iss/sub claims"))?;
            tracing::info!("this job signs in as {subject} (issuer {issuer})");
            request.federated.push(FederatedSubject { issuer, subject });
        }
        tracing::info!("signing in as {}", admin.describe());
        crate::phases::prepare_tenant::prepare_tenant(
            &Arm::new(admin.clone()),
            &Graph::new(admin),
            github.as_ref(),
            &request,
            report,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn request(arguments: &str) -> Result<PrepareTenant, InputError> {
        let words = std::iter::once("prepare-tenant").chain(arguments.split_whitespace());
        Args::try_parse_from(words)
            .expect("flags parse")
            .request(&Outputs::default())
    }

    const VNET: &str = "--subscription-id 8e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c --resource-group RG --vnet-name Net";

    #[test]
    fn builds_the_request_from_flags() {
        let built = request(VNET).unwrap();
        assert_eq!(built.app_name, "aiven-peering-net");
        assert_eq!(built.vnet.name, "Net");
        assert_eq!(built.aiven_app_id, azure_api::AIVEN_APP_ID);
        let subjects = request(&format!(
            "{VNET} --federated-subject repo:a/b:environment:e,repo:a/b:pull_request"
        ))
        .unwrap()
        .federated;
        assert_eq!(subjects.len(), 2);
        assert_eq!(subjects[0].issuer, GITHUB_ISSUER);
    }

    #[test]
    fn bad_flags_name_themselves() {
        for (arguments, named) in [
            ("--app-name a/../b", "--app-name"),
            ("--aiven-app-id 55f300d4", "--aiven-app-id"),
            ("--app-id not-a-guid", "--app-id"),
            (
                "--store-secret-in a/b --rotate-before soon",
                "--rotate-before",
            ),
            (
                "--federated-issuer http://example.com",
                "--federated-issuer",
            ),
            ("--store-secret-in not-a-repo", "--store-secret-in"),
            (
                "--store-secret-in a/b --secret-name GITHUB_X",
                "--secret-name",
            ),
            ("--retry-interval 0s", "--retry-interval"),
            ("--azure-cloud mars", "--azure-cloud"),
        ] {
            let error = request(&format!("{VNET} {arguments}")).unwrap_err();
            assert_eq!(error.input, named, "{arguments}");
        }
    }
}
