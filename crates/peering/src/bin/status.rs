//! The `status` binary: a thin front end over the phase registry.

fn main() -> std::process::ExitCode {
    peering::cli::phase_main(peering::Phase::Status)
}
