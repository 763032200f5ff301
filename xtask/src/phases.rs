//! The names the shipped executable answers to, in one place: the archives' links, the image
//! and the consistency tests all read them from here.

/// The one executable every archive and the container image ship; each phase name is a link to it.
pub const EXECUTABLE: &str = "aiven-azure-peering";

/// The cargo binary of `crates/peering` that is shipped as [`EXECUTABLE`].
///
/// STAND-IN: `prepare-tenant` until the multicall `aiven-azure-peering` bin exists, so that the
/// packaging pipeline (archive, pin, install, image) runs end to end today. When the multicall
/// bin lands on main, set this to [`EXECUTABLE`]; nothing else changes.
pub const BUILT_BINARY: &str = "prepare-tenant";

/// The phase names, in procedure order: one link per name in every archive.
///
/// For now the phases with a command line plus the two planned ones; this body becomes the
/// phase registry.
pub fn phase_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = peering::cli::commands()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.extend(["status", "teardown"]);
    names
}

#[cfg(test)]
mod tests {
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
