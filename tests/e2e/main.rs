//! End-to-end tests: the real step binaries against `cloud-sim`, asserting on exit codes,
//! outputs and the simulator's state afterwards.

mod bad_input;
mod busy_tenant;
mod ci_files;
mod concurrency;
mod crashes;
mod errors;
mod failures;
mod github_actions;
mod gitlab;
mod plan;
mod preflight;
mod procedure;
mod retries;
mod seed_replay;
mod status;
mod stored_secret;
mod teardown;
mod up;
