//! Integration tests of cloud-sim: every service over real HTTPS, trusting the generated CA.

mod aiven;
mod arm;
mod binary;
mod busy;
mod cli_compatibility;
mod control;
mod end_to_end;
mod github;
mod graph;
mod identity;
mod schema;
mod support;
