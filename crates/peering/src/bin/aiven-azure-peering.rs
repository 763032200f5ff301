//! The one executable of every phase: it runs the phase it is called by (`prepare-tenant`, a
//! link to it) or the one named by its first argument (`aiven-azure-peering prepare-tenant`).

fn main() -> std::process::ExitCode {
    peering::cli::multicall_main()
}
