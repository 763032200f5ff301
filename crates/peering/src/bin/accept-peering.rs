//! The `accept-peering` step binary: a thin front end over [`peering::cli`].

fn main() -> std::process::ExitCode {
    peering::cli::accept_peering_main()
}
