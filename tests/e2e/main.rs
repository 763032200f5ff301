//! End-to-end tests: the real step binaries against `cloud-sim`, asserting on exit codes,
//! outputs and the simulator's state afterwards.

mod bad_input;
mod ci_files;
mod crashes;
mod errors;
mod failures;
mod github_actions;
mod gitlab;
mod plan;
mod preflight;
mod procedure;
mod seed_replay;
mod status;
mod teardown;
