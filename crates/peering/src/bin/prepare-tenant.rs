//! The `prepare-tenant` step binary: a thin front end over [`peering::cli`].

fn main() -> std::process::ExitCode {
    peering::cli::prepare_tenant_main()
}
