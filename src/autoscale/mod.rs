//! Autoscaling: who owns an autoscaled service's replica count, and how `fleet watch` decides
//! it. Pure: the daemon's sampling (`watch::scale`) hands plain numbers in.
//!
//! With `x-fleet.autoscale` the count is the daemon's within `[min, max]`, and `deploy.replicas`
//! is only the starting count. Everyone else reads the count back from the hosts ([`settle`]):
//! the highest slot observed plus one, so `fleet plan`/`fleet apply` from CI keep what the daemon
//! decided, a new commit does not reset it, and a restarted daemon starts from it.

pub mod decide;
pub mod signals;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::observe::{Observed, Owner};
use crate::spec::Desired;

/// Counts the daemon decided, per service.
pub type Decided = BTreeMap<String, u32>;

/// Where an autoscaled service's count came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountFrom {
    /// What the hosts run (the highest slot observed, plus one).
    Hosts,
    /// Nothing runs yet: `deploy.replicas`.
    Start,
    /// The daemon's latest decision.
    Decided,
}

/// The count an autoscaled service is planned with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscaled {
    pub service: String,
    pub replicas: u32,
    pub min: u32,
    pub max: u32,
    pub from: CountFrom,
    /// The count before the bounds applied, when they changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clamped_from: Option<u32>,
}

/// The replicas of `service` the hosts run: the highest slot seen on a reachable host, plus one
/// (scaling down removes the highest slots, so the slots are `0..count`). `None` when none runs.
pub fn observed_count(observed: &Observed, service: &str) -> Option<u32> {
    observed
        .containers()
        .filter_map(|c| match &c.owner {
            Owner::Replica {
                service: s, slot, ..
            } if s == service => Some(*slot),
            _ => None,
        })
        .max()
        .map(|slot| slot.saturating_add(1))
}

/// The desired state with every autoscaled service's count settled (the daemon's decision, else
/// what the hosts run, else `deploy.replicas`; within the bounds), and what was settled.
pub fn settle<'a>(
    desired: &'a Desired,
    observed: &Observed,
    decided: &Decided,
) -> (Cow<'a, Desired>, Vec<Autoscaled>) {
    let mut settled = Vec::new();
    for (name, service) in &desired.services {
        let Some(scale) = &service.autoscale else {
            continue;
        };
        let (count, from) = match (decided.get(name), observed_count(observed, name)) {
            (Some(n), _) => (*n, CountFrom::Decided),
            (None, Some(n)) => (n, CountFrom::Hosts),
            (None, None) => (service.deploy.replicas, CountFrom::Start),
        };
        let replicas = scale.clamp(count);
        settled.push(Autoscaled {
            service: name.clone(),
            replicas,
            min: scale.min,
            max: scale.max,
            from,
            clamped_from: (replicas != count).then_some(count),
        });
    }
    if settled
        .iter()
        .all(|a| desired.services[&a.service].deploy.replicas == a.replicas)
    {
        return (Cow::Borrowed(desired), settled);
    }
    let mut owned = desired.clone();
    for a in &settled {
        if let Some(service) = owned.services.get_mut(&a.service) {
            service.deploy.replicas = a.replicas;
        }
    }
    (Cow::Owned(owned), settled)
}

#[cfg(test)]
mod tests;
