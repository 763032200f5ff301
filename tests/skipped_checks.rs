//! Says which tool-dependent tests skipped in this `cargo test` run (their tools are missing),
//! and how to install the tools. A plain program (`harness = false`), so cargo shows its
//! output instead of capturing it.

fn main() {
    let missing: Vec<&tests::tools::Tool> = tests::tools::ALL
        .into_iter()
        .filter(|tool| tool.find().is_none())
        .collect();
    if missing.is_empty() {
        println!("tool-dependent checks: all tools present, none skipped");
        return;
    }
    let skipped: Vec<&str> = missing
        .iter()
        .flat_map(|tool| tool.needed_by.iter().copied())
        .collect();
    let names: Vec<&str> = missing.iter().map(|tool| tool.name).collect();
    println!(
        "SKIPPED {} tool-dependent checks (missing: {}): {}",
        skipped.len(),
        names.join(", "),
        skipped.join(", ")
    );
    println!(
        "install the tools with `{}` (into target/ci-tools), then run cargo test again",
        tests::tools::INSTALL_COMMAND
    );
}
