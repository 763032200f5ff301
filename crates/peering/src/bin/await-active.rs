//! The `await-active` step binary: a thin front end over [`peering::cli`].

fn main() -> std::process::ExitCode {
    peering::cli::await_active_main()
}
