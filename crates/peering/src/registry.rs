//! The one list of phases. Everything that needs "every phase" (the multicall executable, the
//! generated actions, `xtask dist`/`bench`/`demo`, the test harness) iterates [`PHASES`]
//! instead of matching on names. Adding a phase is: its module under `phases/`, its flags under
//! `cli/`, one entry here, and its test file.

use crate::state::{OUTPUTS, OutputSpec};
use api_core::env_vars;
use std::ffi::OsString;
use std::process::ExitCode;

/// A phase of the procedure, one executable name each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    PrepareTenant,
    RequestPeering,
    AcceptPeering,
    AwaitActive,
    Status,
    Teardown,
}

/// What a phase is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    /// A step of the procedure, run in registry order to reach an ACTIVE peering.
    Procedure,
    /// Reads and reports; never writes.
    Inspect,
    /// Undoes what the procedure made.
    Undo,
}

/// A secret or identity a phase reads only from the environment (never a flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialInput {
    /// The action input's name.
    pub input: &'static str,
    pub variable: &'static str,
    pub description: &'static str,
}

/// Everything the rest of the project needs to know about a phase.
pub struct PhaseSpec {
    pub phase: Phase,
    /// The executable's name, also the action's directory under `actions/`.
    pub name: &'static str,
    pub kind: PhaseKind,
    /// The steps of Aiven's manual procedure it carries out.
    pub seed_steps: &'static str,
    /// Identities and secrets it reads from the environment.
    pub credentials: &'static [CredentialInput],
    /// Its clap definition (for `--help`, generated actions and docs).
    pub command: fn() -> clap::Command,
    /// Parses the arguments (the first is the program name), runs it, maps the outcome to an
    /// exit code.
    pub main: fn(Vec<OsString>) -> ExitCode,
}

const ADMIN: &[CredentialInput] = &[
    CredentialInput {
        input: "azure-tenant-id",
        variable: env_vars::AZURE_TENANT_ID,
        description: "Tenant of the user-tenant admin identity",
    },
    CredentialInput {
        input: "azure-client-id",
        variable: env_vars::AZURE_CLIENT_ID,
        description: "Client id of the user-tenant admin identity",
    },
    CredentialInput {
        input: "azure-client-secret",
        variable: env_vars::AZURE_CLIENT_SECRET,
        description: "Client secret of the user-tenant admin identity (pass a secret; without it the job's OIDC token is used)",
    },
];

const AIVEN: &[CredentialInput] = &[CredentialInput {
    input: "aiven-token",
    variable: env_vars::AIVEN_AUTH_TOKEN,
    description: "Aiven API token (pass a secret)",
}];

const REQUEST: &[CredentialInput] = &[
    AIVEN[0],
    CredentialInput {
        input: "azure-tenant-id",
        variable: env_vars::AZURE_TENANT_ID,
        description: "Your tenant id when user-tenant-id is empty: GitHub drops a job output equal to a secret, such as secrets.AZURE_TENANT_ID",
    },
];

const READER: &[CredentialInput] = &[
    CredentialInput {
        input: "azure-tenant-id",
        variable: env_vars::AZURE_TENANT_ID,
        description: "Tenant of an identity that can read the user tenant (Reader on the VNet, directory read)",
    },
    CredentialInput {
        input: "azure-client-id",
        variable: env_vars::AZURE_CLIENT_ID,
        description: "Client id of that identity",
    },
    CredentialInput {
        input: "azure-client-secret",
        variable: env_vars::AZURE_CLIENT_SECRET,
        description: "Client secret of that identity (pass a secret; without it the job's OIDC token is used)",
    },
    CredentialInput {
        input: "aiven-token",
        variable: env_vars::AIVEN_AUTH_TOKEN,
        description: "Aiven API token, read-only is enough (pass a secret)",
    },
];

const TEARDOWN: &[CredentialInput] = &[
    CredentialInput {
        input: "azure-tenant-id",
        variable: env_vars::AZURE_TENANT_ID,
        description: "Tenant of the user-tenant admin identity",
    },
    CredentialInput {
        input: "azure-client-id",
        variable: env_vars::AZURE_CLIENT_ID,
        description: "Client id of the user-tenant admin identity",
    },
    CredentialInput {
        input: "azure-client-secret",
        variable: env_vars::AZURE_CLIENT_SECRET,
        description: "Client secret of the user-tenant admin identity (pass a secret; without it the job's OIDC token is used)",
    },
    CredentialInput {
        input: "aiven-token",
        variable: env_vars::AIVEN_AUTH_TOKEN,
        description: "Aiven API token, to delete the peering connection (pass a secret)",
    },
];

const ACCEPT: &[CredentialInput] = &[
    CredentialInput {
        input: "azure-tenant-id",
        variable: env_vars::AZURE_TENANT_ID,
        description: "Tenant of the user-tenant admin identity (ephemeral mode), and your tenant id when user-tenant-id is empty",
    },
    CredentialInput {
        input: "azure-client-id",
        variable: env_vars::AZURE_CLIENT_ID,
        description: "Client id of the user-tenant admin identity (ephemeral mode)",
    },
    CredentialInput {
        input: "azure-client-secret",
        variable: env_vars::AZURE_CLIENT_SECRET,
        description: "Client secret of the user-tenant admin identity (ephemeral mode; pass a secret)",
    },
    CredentialInput {
        input: "user-app-secret",
        variable: env_vars::PEERING_USER_APP_SECRET,
        description: "Client secret of your app registration (stored mode; pass a secret)",
    },
];

/// Every phase, in the order the procedure runs them.
pub static PHASES: &[PhaseSpec] = &[
    PhaseSpec {
        phase: Phase::PrepareTenant,
        name: "prepare-tenant",
        kind: PhaseKind::Procedure,
        seed_steps: "1–10",
        credentials: ADMIN,
        command: crate::cli::command_of::<crate::cli::prepare_tenant::Args>,
        main: crate::cli::main_of::<crate::cli::prepare_tenant::Args>,
    },
    PhaseSpec {
        phase: Phase::RequestPeering,
        name: "request-peering",
        kind: PhaseKind::Procedure,
        seed_steps: "11–12",
        credentials: REQUEST,
        command: crate::cli::command_of::<crate::cli::request_peering::Args>,
        main: crate::cli::main_of::<crate::cli::request_peering::Args>,
    },
    PhaseSpec {
        phase: Phase::AcceptPeering,
        name: "accept-peering",
        kind: PhaseKind::Procedure,
        seed_steps: "13",
        credentials: ACCEPT,
        command: crate::cli::command_of::<crate::cli::accept_peering::Args>,
        main: crate::cli::main_of::<crate::cli::accept_peering::Args>,
    },
    PhaseSpec {
        phase: Phase::AwaitActive,
        name: "await-active",
        kind: PhaseKind::Procedure,
        seed_steps: "14",
        credentials: AIVEN,
        command: crate::cli::command_of::<crate::cli::await_active::Args>,
        main: crate::cli::main_of::<crate::cli::await_active::Args>,
    },
    PhaseSpec {
        phase: Phase::Status,
        name: "status",
        kind: PhaseKind::Inspect,
        seed_steps: "—",
        credentials: READER,
        command: crate::cli::command_of::<crate::cli::status::Args>,
        main: crate::cli::main_of::<crate::cli::status::Args>,
    },
    PhaseSpec {
        phase: Phase::Teardown,
        name: "teardown",
        kind: PhaseKind::Undo,
        seed_steps: "—",
        credentials: TEARDOWN,
        command: crate::cli::command_of::<crate::cli::teardown::Args>,
        main: crate::cli::main_of::<crate::cli::teardown::Args>,
    },
];

impl Phase {
    pub fn spec(self) -> &'static PhaseSpec {
        PHASES
            .iter()
            .find(|spec| spec.phase == self)
            .expect("every phase has an entry in PHASES")
    }

    /// The executable's name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The phase an executable name stands for (`prepare-tenant`, or `prepare-tenant.exe`).
    pub fn from_name(name: &str) -> Option<Phase> {
        let name = name.strip_suffix(".exe").unwrap_or(name);
        PHASES
            .iter()
            .find(|spec| spec.name == name)
            .map(|spec| spec.phase)
    }

    /// The steps of the procedure, in the order they run.
    pub fn procedure() -> impl Iterator<Item = Phase> {
        PHASES
            .iter()
            .filter(|spec| spec.kind == PhaseKind::Procedure)
            .map(|spec| spec.phase)
    }

    /// The outputs this phase writes, in table order.
    pub fn outputs(self) -> impl Iterator<Item = &'static OutputSpec> {
        OUTPUTS.iter().filter(move |output| output.phase == self)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_has_one_entry_and_a_consistent_command() {
        for spec in PHASES {
            assert_eq!(spec.phase.name(), spec.name);
            assert_eq!(Phase::from_name(spec.name), Some(spec.phase));
            let command = (spec.command)();
            assert_eq!(command.get_name(), spec.name);
            command.debug_assert();
        }
        assert_eq!(
            Phase::from_name("await-active.exe"),
            Some(Phase::AwaitActive)
        );
        assert_eq!(Phase::from_name("teardown-everything"), None);
    }

    #[test]
    fn every_output_belongs_to_a_phase_that_writes_it() {
        let written: usize = PHASES.iter().map(|spec| spec.phase.outputs().count()).sum();
        assert_eq!(written, OUTPUTS.len());
    }
}
