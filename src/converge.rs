//! The converge pipeline, shared by `fleet apply` and every `fleet watch` pass: take the
//! project lock on the hosts (renewed while the run lasts, every change fenced), observe them,
//! plan, carry the plan out, release.
//!
//! What differs between the two callers is policy, and it is theirs through [`Steer`]: how
//! long to wait for a held lock, how to plan (strictly, best effort, or a plan saved earlier),
//! whether to ask first, what to log and count. The order of the stages and the lock around
//! them are here, once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures_util::future::join_all;

use crate::apply::{self, Progress, Report};
use crate::engine::{EngineError, SharedEngine};
use crate::lock::{self, Fence, Hold, LockError, LockEvent};
use crate::observe::{self, HostState, Observed};
use crate::payload::Payload;
use crate::plan::Plan;
use crate::spec::Desired;

/// What one look at the hosts found.
pub struct Observation {
    pub observed: Observed,
    /// The engines that answered: the hosts the plan may change.
    pub engines: BTreeMap<String, SharedEngine>,
    /// The hosts that did not, with why, in host order.
    pub failed: Vec<(String, EngineError)>,
}

/// Observes every engine of a host in `desired` at once, each within `limit`. `unobserved`
/// holds the state of the hosts that are not in `engines` (not connected, down); a host that
/// fails now is unreachable.
pub async fn observe(
    desired: &Desired,
    engines: &BTreeMap<String, SharedEngine>,
    limit: Duration,
    unobserved: Observed,
) -> Observation {
    let project = desired.project.as_str();
    let results = join_all(
        engines
            .iter()
            .filter(|(name, _)| desired.hosts.contains_key(*name))
            .map(|(name, engine)| async move {
                let result =
                    tokio::time::timeout(limit, observe::observe_host(engine.as_ref(), project))
                        .await
                        .unwrap_or(Err(EngineError::Timeout(limit)));
                (name.clone(), Arc::clone(engine), result)
            }),
    )
    .await;
    let mut observation = Observation {
        observed: unobserved,
        engines: BTreeMap::new(),
        failed: Vec::new(),
    };
    for (name, engine, result) in results {
        match result {
            Ok(seen) => {
                observation.observed.insert_reachable(&name, seen);
                observation.engines.insert(name, engine);
            }
            Err(e) => {
                observation.observed.hosts.insert(
                    name.clone(),
                    HostState::Unreachable {
                        reason: e.short().to_string(),
                    },
                );
                observation.failed.push((name, e));
            }
        }
    }
    observation
}

/// The lock a run takes, and how.
pub struct Locking<'a> {
    /// The project lock, taken on every engine.
    pub hold: &'a Arc<Hold>,
    /// Held already and checked before every change too (the daemon's watch lease).
    pub also: &'a [Arc<Hold>],
    /// How long to wait for a lock someone else holds.
    pub wait: Duration,
    pub events: &'a (dyn Fn(LockEvent<'_>) + Sync),
}

/// How a run carries a plan out.
pub struct Execution<'a> {
    pub options: &'a apply::Options,
    pub progress: &'a dyn Progress,
    /// Set to stop starting new steps (an interrupt, or the daemon shutting down).
    pub stop: &'a AtomicBool,
    /// Bound on observing one host.
    pub observe_limit: Duration,
    /// The content of the secrets and configs the services mount.
    pub payload: &'a Payload,
}

/// The caller's policy at the points where `fleet apply` and `fleet watch` differ.
#[async_trait::async_trait]
pub trait Steer: Send {
    /// Why a run ended before changing anything.
    type Stop: Send;

    /// The plan to carry out, from what was just observed under the lock; `Err` ends the run
    /// with nothing changed (nothing to do, the plan is refused, the user declined).
    async fn plan(&mut self, observation: &Observation) -> Result<Plan, Self::Stop>;

    /// After the plan was carried out, still under the lock (the CLI checks the fleet now
    /// matches the commit).
    async fn applied(&mut self, _engines: &BTreeMap<String, SharedEngine>, _report: &Report) {}
}

/// How a run ended.
pub enum Outcome<S> {
    /// The lock could not be taken; nothing was observed or changed.
    Locked(LockError),
    /// The policy ended the run before any change.
    Stopped(S),
    Applied {
        /// Boxed: a plan is large beside the other outcomes.
        plan: Box<Plan>,
        report: Report,
        /// The engines the plan was carried out on.
        engines: BTreeMap<String, SharedEngine>,
    },
}

/// Lock, observe, plan, apply, release: one run on `engines` (the connected hosts);
/// `unobserved` holds the state of the hosts that are not connected.
pub async fn converge<S: Steer>(
    desired: &Desired,
    engines: &BTreeMap<String, SharedEngine>,
    unobserved: Observed,
    locking: Locking<'_>,
    execution: Execution<'_>,
    steer: &mut S,
) -> Outcome<S::Stop> {
    let hold = locking.hold;
    if let Err(e) = lock::lock_all(engines, hold, locking.wait, locking.events).await {
        return Outcome::Locked(e);
    }
    // Renewed for as long as the run lasts (a confirmation prompt included); every change
    // checks it is still held first.
    let renewing = lock::keep_renewed(Arc::clone(hold), engines.clone());
    let fence = Fence::of(locking.also.iter().cloned().chain([Arc::clone(hold)]));
    let outcome = locked(desired, engines, unobserved, &execution, &fence, steer).await;
    drop(renewing);
    hold.release_all(engines).await;
    outcome
}

async fn locked<S: Steer>(
    desired: &Desired,
    engines: &BTreeMap<String, SharedEngine>,
    unobserved: Observed,
    execution: &Execution<'_>,
    fence: &Fence,
    steer: &mut S,
) -> Outcome<S::Stop> {
    let observation = observe(desired, engines, execution.observe_limit, unobserved).await;
    let plan = match steer.plan(&observation).await {
        Ok(plan) => plan,
        Err(stop) => return Outcome::Stopped(stop),
    };
    let report = apply::apply(
        desired,
        execution.payload,
        &plan,
        &observation.engines,
        execution.options,
        execution.progress,
        fence,
        execution.stop,
    )
    .await;
    steer.applied(&observation.engines, &report).await;
    Outcome::Applied {
        plan: Box::new(plan),
        report,
        engines: observation.engines,
    }
}
