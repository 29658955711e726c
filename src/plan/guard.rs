//! What a run refuses to carry out although the planner would: a plan that removes most of
//! what runs (`fleet apply` and `fleet watch`). Pure, like the planner.

use std::collections::BTreeSet;

use super::{Action, Plan};
use crate::observe::{HostState, Observed, Owner, RunState};

/// How many of the running replicas `plan` removes, and how many run: `Some` only when it
/// removes more than half of them (the mass-delete guard of `fleet apply` and `fleet watch`: a
/// commit that empties the fleet is more often a mistake than a wish).
pub fn mass_delete(plan: &Plan, observed: &Observed) -> Option<MassDelete> {
    let running: BTreeSet<&str> = observed
        .hosts
        .values()
        .filter_map(|h| match h {
            HostState::Reachable { containers } => Some(containers),
            _ => None,
        })
        .flatten()
        .filter(|c| c.state == RunState::Running && matches!(c.owner, Owner::Replica { .. }))
        .map(|c| c.id.as_str())
        .collect();
    let removed = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Remove)
        // Autoscaled counts are the daemon's within bounds from git, not a commit's mistake.
        .filter(|c| {
            !plan
                .autoscaled
                .iter()
                .any(|a| c.service.as_deref() == Some(a.service.as_str()))
        })
        .filter(|c| {
            c.container
                .as_ref()
                .is_some_and(|r| running.contains(r.id.as_str()))
        })
        .count();
    (!running.is_empty() && removed * 2 > running.len()).then_some(MassDelete {
        removed,
        running: running.len(),
    })
}

/// What [`mass_delete`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MassDelete {
    pub removed: usize,
    pub running: usize,
}
