//! Tests of `apply` on simulated hosts ([`crate::engine::memory`]), on tokio's paused clock: a
//! rollout's monitors, delays and timeouts take no time. `harness` builds the fleet and runs
//! the pipeline; each other file covers one part of the acceptance list.

mod failures;
mod files;
mod harness;
mod hosts;
mod kill;
mod ship;
mod tls;
mod update_config;

use super::*;

#[test]
fn the_failure_ratio_is_swarms() {
    assert!(too_many(1, 4, 0.0));
    assert!(!too_many(1, 4, 0.25));
    assert!(too_many(2, 4, 0.25));
    assert!(!too_many(0, 4, 0.0));
}
