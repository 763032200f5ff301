//! The names the shipped executable answers to, in one place: the archives' links, the image
//! and the consistency tests all read them from here.

/// The one executable every archive and the container image ship; each phase name is a link to it.
pub const EXECUTABLE: &str = peering::cli::MULTICALL_NAME;

/// The cargo binary of `crates/peering` that is shipped as [`EXECUTABLE`]: the multicall one.
/// (A stand-in such as `prepare-tenant` can be packaged under the same name while the multicall
/// binary is broken; the install tests read this line.)
pub const BUILT_BINARY: &str = "aiven-azure-peering";

/// The phase names, in registry order: one link per name in every archive.
pub fn phase_names() -> Vec<&'static str> {
    peering::PHASES.iter().map(|spec| spec.name).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_binary_is_the_multicall_executable() {
        assert_eq!(super::BUILT_BINARY, super::EXECUTABLE);
    }

    #[test]
    fn the_phase_names_are_unique_and_never_the_executable_itself() {
        let names = super::phase_names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
        assert!(!names.contains(&super::EXECUTABLE));
        assert_eq!(names[0], "prepare-tenant");
    }
}
