//! Command-line front ends of the phases, in two stages (after ripgrep's low-level and
//! high-level arguments): clap flags with `PEERING_*` fallbacks and the state file as last
//! resort → a pure `request()` that validates and builds the typed request (no I/O, unit-tested)
//! → `execute()`, the one place that makes clients and tokens and calls the phase function.
//! This module runs that pipeline: logging, the runtime, output sinks, the error report and the
//! exit code. `multicall_main` is the one executable that answers to every phase's name.

pub mod accept_peering;
pub mod await_active;
pub mod common;
pub mod prepare_tenant;
pub mod request_peering;
pub mod status;
pub mod teardown;
pub mod up;

use crate::error::{InputError, PhaseError};
use crate::registry::{PHASES, Phase};
use crate::report::Report;
use crate::state::Outputs;
use api_core::env_vars;
use common::{Common, PlanArgs};
use std::ffi::OsString;
use std::future::Future;
use std::process::ExitCode;

/// One phase's command line.
pub trait PhaseCli: clap::Parser {
    const PHASE: Phase;
    /// The typed request the phase function takes.
    type Request;

    fn common(&self) -> &Common;

    /// `--plan`, on the phases that have it.
    fn plan_args(&self) -> Option<&PlanArgs> {
        None
    }

    /// Flags (already merged with their environment fallbacks) and the state file → the
    /// request. Pure: no network, no clients, no tokens; every input error is found here.
    fn request(&self, state: &Outputs) -> Result<Self::Request, InputError>;

    /// How long the phase may wait at most: an HTTP `Retry-After` is honoured up to it.
    fn patience(_request: &Self::Request) -> std::time::Duration {
        std::time::Duration::from_secs(30 * 60)
    }

    /// Makes the clients the phase needs and runs it, filling in `report` as it goes (so a
    /// failure still reports what was learned before it).
    fn execute(
        request: Self::Request,
        common: &Common,
        report: &mut Report,
    ) -> impl Future<Output = Result<(), PhaseError>>;
}

/// The clap definition of a phase.
pub fn command_of<C: PhaseCli>() -> clap::Command {
    <C as clap::CommandFactory>::command()
}

/// Parses `arguments` (the first is the program name) and runs the phase.
pub fn main_of<C: PhaseCli>(arguments: Vec<OsString>) -> ExitCode {
    scrub_empty_environment();
    let args = C::parse_from(arguments);
    if let Some(code) = &args.common().explain {
        return explain(code);
    }
    let common = args.common();
    let mut report = Report::new(C::PHASE);
    report.plan = args
        .plan_args()
        .filter(|plan| plan.plan || plan.plan_json)
        .map(|plan| match plan.plan_json {
            true => crate::report::PlanFormat::Json,
            false => crate::report::PlanFormat::Table,
        });
    let planning = report.planning();
    if !planning {
        report.state_file = common.state.clone();
    }
    let result = run(C::PHASE, async {
        let state = common.load_state()?;
        let request = args.request(&state).map_err(|error| match planning {
            true => plan_needs_an_earlier_phase(C::PHASE, error),
            false => PhaseError::from(error),
        })?;
        api_core::http::set_deadline(std::time::Instant::now() + C::patience(&request));
        C::execute(request, common, &mut report).await
    });
    finish(common, &report, result)
}

/// `--plan` of a phase whose input an earlier phase has not produced yet: the plan cannot go
/// past that point, and says which phase to run (or plan) first. Exit 1, not 2: the input is
/// not wrong, it just does not exist yet.
fn plan_needs_an_earlier_phase(phase: Phase, error: InputError) -> PhaseError {
    let flag = error.input.trim_start_matches('-').replace('-', "_");
    let earlier = crate::state::OUTPUTS
        .iter()
        .find(|output| output.name == flag || output.name == format!("user_{flag}"))
        .map(|output| output.phase)
        .filter(|earlier| *earlier != phase);
    match earlier {
        Some(earlier) if error.reason.starts_with("missing") => PhaseError::failed(format!(
            "cannot plan {phase} yet: {} is not known until {earlier} has run ({}); run {earlier} first (`{earlier} --plan` shows what it would make)",
            error.input, error.reason
        )),
        _ => PhaseError::from(error),
    }
}

/// The main of a single-phase executable.
pub fn phase_main(phase: Phase) -> ExitCode {
    (phase.spec().main)(std::env::args_os().collect())
}

/// The name of the one executable that carries every phase.
pub const MULTICALL_NAME: &str = "aiven-azure-peering";

/// The main of the multicall executable: the phase is the name it was called by
/// (`prepare-tenant`, a link to it), or its first argument (`aiven-azure-peering prepare-tenant`).
pub fn multicall_main() -> ExitCode {
    let mut arguments: Vec<OsString> = std::env::args_os().collect();
    let invoked_as = arguments
        .first()
        .and_then(|program| std::path::Path::new(program).file_name())
        .and_then(|name| name.to_str())
        .and_then(Phase::from_name);
    if let Some(phase) = invoked_as {
        return (phase.spec().main)(arguments);
    }
    let first = arguments.get(1).and_then(|argument| argument.to_str());
    if let Some(phase) = first.and_then(Phase::from_name) {
        arguments.remove(0);
        return (phase.spec().main)(arguments);
    }
    match first {
        Some("--explain") => match arguments.get(2).and_then(|code| code.to_str()) {
            Some(code) => explain(code),
            None => {
                eprintln!("error: --explain needs an error code (AZP-…)");
                ExitCode::from(crate::error::exit::INVALID_INPUT)
            }
        },
        Some("--version" | "-V") => {
            println!("{MULTICALL_NAME} {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h" | "help") => {
            print!("{}", multicall_usage());
            ExitCode::SUCCESS
        }
        other => {
            if let Some(other) = other {
                eprintln!("error: {other:?} is not a phase of {MULTICALL_NAME}\n");
            }
            eprint!("{}", multicall_usage());
            ExitCode::from(crate::error::exit::INVALID_INPUT)
        }
    }
}

/// `--explain CODE`: the catalog entry on stdout, or the list of codes and exit code 2.
fn explain(code: &str) -> ExitCode {
    match crate::catalog::explain(code) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(list) => {
            eprintln!("error: {list}");
            ExitCode::from(crate::error::exit::INVALID_INPUT)
        }
    }
}

/// The message a failed phase ends with: the code, the whole chain, the entry's cause and fix.
pub fn failure_text(phase: Phase, error: &PhaseError) -> String {
    let message = error.chain();
    match error.code() {
        Some(code) => {
            let entry = code.entry();
            format!(
                "error[{code}]: {phase} {}: {message}\n  cause: {}\n  fix: {}\n  (`{phase} --explain {code}` prints this again)\n",
                error.title(),
                entry.cause,
                entry.fix
            )
        }
        None => format!("error: {phase} {}: {message}\n", error.title()),
    }
}

fn multicall_usage() -> String {
    let mut text = format!(
        "{MULTICALL_NAME} {}: peer an Azure VNet with an Aiven project VPC\n\nUsage: {MULTICALL_NAME} <PHASE> [FLAGS]   (or call it by a phase's name)\n\nPhases:\n",
        env!("CARGO_PKG_VERSION")
    );
    for spec in PHASES {
        let about = (spec.command)()
            .get_about()
            .map(|about| about.to_string())
            .unwrap_or_default();
        text.push_str(&format!("  {:<16} {about}\n", spec.name));
    }
    text.push_str(&format!(
        "\n`{MULTICALL_NAME} <PHASE> --help` lists a phase's flags; `{MULTICALL_NAME} --explain CODE` explains an error code.\n"
    ));
    text
}

/// CI systems export unset inputs as empty variables; clap would take them as empty values and
/// hide the defaults, so empty `PEERING_*` and `AZURE_CLOUD` variables are removed before parsing.
fn scrub_empty_environment() {
    let empty: Vec<String> = std::env::vars_os()
        .filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let ours = name.starts_with(env_vars::PEERING_PREFIX) || name == env_vars::AZURE_CLOUD;
            (ours && value.to_string_lossy().trim().is_empty()).then_some(name)
        })
        .collect();
    for name in empty {
        // SAFETY: called at the start of main, before any other thread exists.
        unsafe { std::env::remove_var(name) };
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(env_vars::PEERING_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

pub(crate) fn in_github_actions() -> bool {
    env_vars::non_empty(env_vars::GITHUB_ACTIONS).is_some_and(|value| value == "true")
}

/// Runs one phase's body: logging, the runtime, and the CI log group around it.
fn run(phase: Phase, body: impl Future<Output = Result<(), PhaseError>>) -> Result<(), PhaseError> {
    init_logging();
    let github = in_github_actions();
    if github {
        println!("::group::{phase}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return Err(PhaseError::failed(format!(
                "cannot start the async runtime: {error}"
            )));
        }
    };
    let result = runtime.block_on(body);
    if github {
        println!("::endgroup::");
    }
    result
}

/// Writes what the phase learned (after a failure too, with the error and its code), reports
/// the error and maps the outcome to the exit code.
fn finish(common: &Common, report: &Report, result: Result<(), PhaseError>) -> ExitCode {
    let phase = report.phase;
    let github = in_github_actions();
    let failure = result.as_ref().err().map(|error| crate::state::Failure {
        phase: phase.name().to_string(),
        code: error.code().map(|code| code.id().to_string()),
        message: error.chain(),
    });
    // Bad input stops before anything is learned or changed: nothing to write.
    let learned =
        !matches!(&result, Err(error) if error.exit_number() == crate::error::exit::INVALID_INPUT);
    let written = if learned {
        common.sinks().write(report, failure.as_ref())
    } else {
        Ok(())
    };
    let result = result.and(written);
    match result {
        Ok(()) => ExitCode::from(report.exit_code),
        Err(error) => {
            let message = error.chain();
            if report.planning() {
                eprint!("the real run would fail: ");
            }
            eprint!("{}", failure_text(phase, &error));
            if github {
                let code = error
                    .code()
                    .map(|code| format!(" [{code}]"))
                    .unwrap_or_default();
                println!(
                    "::error title={phase} {}{code}::{}",
                    error.title(),
                    message
                        .replace('%', "%25")
                        .replace('\r', "%0D")
                        .replace('\n', "%0A")
                );
            }
            match report.planning() && error.exit_number() != crate::error::exit::INVALID_INPUT {
                // A plan that knows the run would fail says so with 1, whatever the failure.
                true => ExitCode::from(crate::error::exit::FAILED),
                false => error.exit_code(),
            }
        }
    }
}
