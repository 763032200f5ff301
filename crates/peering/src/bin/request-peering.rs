//! The `request-peering` step binary: a thin front end over [`peering::cli`].

fn main() -> std::process::ExitCode {
    peering::cli::request_peering_main()
}
