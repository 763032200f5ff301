//! The simulated world and every change the clock makes to it. HTTP handlers read and write the
//! world; the world never calls into the HTTP layer.
//!
//! `model` holds the types, `seed` the start state, `snapshot` the introspection view, `network`
//! the peering and long-running-operation transitions, `aiven` the Aiven platform's state machine.

pub(crate) mod aiven;
mod busy;
mod model;
pub(crate) mod network;
mod seed;
mod snapshot;

use std::time::Instant;

use crate::Delays;

pub use busy::{BUSY_HIDDEN_ROLE_NAME, BUSY_HIDDEN_SUBSCRIPTION_NAME};
pub use model::*;
pub(crate) use seed::seed_world;
pub(crate) use snapshot::snapshot;

/// Brings every clock-driven state up to date: finished ARM operations complete (and peering
/// states follow), then Aiven connections move along their state machine.
pub(crate) fn advance(world: &mut World, delays: &Delays, now: Instant) {
    network::complete_operations(world, now);
    aiven::drive_connections(world, delays, now);
}
