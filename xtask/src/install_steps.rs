//! The steps every generated action starts with: install the executable with `install.sh`,
//! restoring a cached source build (keyed on version and target) where no archive is pinned.

use std::fmt::Write as _;

/// The install steps of a composite action whose `install.sh` is at `install_script` (a path
/// starting with `$GITHUB_ACTION_PATH`).
pub fn install_steps(install_script: &str) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "    - id: install-plan");
    let _ = writeln!(text, "      name: Find aiven-azure-peering for this runner");
    let _ = writeln!(text, "      shell: bash");
    let _ = writeln!(text, "      run: bash \"{install_script}\" --plan");
    let _ = writeln!(
        text,
        "    - name: Restore the source build of aiven-azure-peering"
    );
    let _ = writeln!(
        text,
        "      if: steps.install-plan.outputs.source-build == 'true'"
    );
    let _ = writeln!(text, "      uses: actions/cache@v4");
    let _ = writeln!(text, "      with:");
    let _ = writeln!(
        text,
        "        path: ${{{{ steps.install-plan.outputs.directory }}}}"
    );
    let _ = writeln!(
        text,
        "        key: ${{{{ steps.install-plan.outputs.cache-key }}}}"
    );
    let _ = writeln!(text, "    - name: Install aiven-azure-peering");
    let _ = writeln!(text, "      shell: bash");
    let _ = writeln!(text, "      run: bash \"{install_script}\"");
    text
}
