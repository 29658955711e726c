//! Executing: carries a [`Plan`] out on the hosts and reports truthfully what happened.
//!
//! Phases, in order: *prepare* (pull every needed image, create the project's networks and
//! volumes; a problem here aborts the run before any container is touched), *services* (per
//! service, in `depends_on` order: start, scale up, rolling update by `update_config`, then scale
//! down; rollback or pause on failure), *prune* (containers of deleted services and imposters).
//!
//! Every step is idempotent, so re-running after a crash converges: an old replica is only
//! stopped (kept for rollback) until its service's rollout succeeded, and a half-done slot is
//! seen by the next plan as two containers of which the better one is kept.
//!
//! A host that fails (unreachable, engine gone, timeouts) is marked failed and skipped from then
//! on; other hosts carry on unless `fail_fast`. A failure of a new replica (exits, unhealthy,
//! refused by the engine) counts against the service's `max_failure_ratio`.

mod balance;
mod error;
mod prepare;
mod replica;
mod rollout;
pub mod ship;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// tokio's clock: the same as std's in a run, and pausable in tests on the in-memory engine.
use tokio::time::Instant;

use futures_util::future::join_all;
use serde::Serialize;

use crate::contract::{self, ReplicaIdentity};
use crate::docker::auth::DockerConfig;
use crate::docker::create;
use crate::engine::{Create, Engine, EngineError, HostFile, ProbeHealth, PullError, SharedEngine};
use crate::lock::Fence;
use crate::payload::Payload;
use crate::plan::{Action, BalancerAction, Change, ContainerRef, NewContainer, Plan};
use crate::spec::Desired;
use crate::spec::model::{FailureAction, Mount, UpdateConfig, UpdateOrder};
use error::{
    Abort, BalancerState, HostFailure, NotRestored, OpError, PrepareFailure, ReplicaFailure,
    RollbackFailure,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    /// Pull only images the host does not have (Compose's default)
    Missing,
    /// Pull every image, to pick up a moved tag
    Always,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub fail_fast: bool,
    pub pull: PullPolicy,
    /// Bound on one ordinary API call (inspect, create, start).
    pub call_timeout: Duration,
    /// How often a new replica's state is read while waiting for it.
    pub poll: Duration,
    /// Where the plan's shipped images are read from (`None`: the run ships nothing).
    pub images: Option<Arc<ship::Sources>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fail_fast: false,
            pull: PullPolicy::Missing,
            call_timeout: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            images: None,
        }
    }
}

/// Where progress goes: bars on a terminal, lines otherwise (implemented by the CLI).
pub trait Progress: Send + Sync {
    /// A new phase of the run starts.
    fn phase(&self, text: &str);
    /// How many steps a host will see, once known.
    fn host_steps(&self, host: &str, steps: usize);
    /// A step on a host starts.
    fn step_started(&self, host: &str, text: &str);
    /// A step on a host ended.
    fn step_done(&self, host: &str, text: &str, ok: bool);
    /// A run-level line (rollback, pause, host failure).
    fn note(&self, text: &str);
    /// Bytes of an image sent to a host so far, of `total`.
    fn transferred(&self, _host: &str, _image: &str, _done: u64, _total: u64) {}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Unchanged,
    Updated,
    /// Some replicas failed within `max_failure_ratio`, or some hosts failed.
    Degraded,
    RolledBack,
    RollbackFailed,
    Paused,
    Failed,
    /// Not attempted (aborted before, or `--fail-fast` stopped the run).
    Skipped,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceReport {
    pub status: ServiceStatus,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HostReport {
    Ok,
    Failed { reason: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Pull,
    /// An image shipped from the machine running fleet (no registry).
    Ship,
    Start,
    Create,
    Replace,
    Remove,
    Rollback,
    /// A balancer created, started, reconfigured or removed.
    Balancer,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    pub host: String,
    pub kind: StepKind,
    pub service: Option<String>,
    pub slot: Option<u32>,
    /// The container acted on (the new one for create and replace).
    pub container: Option<String>,
    pub ok: bool,
    pub detail: String,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub project: String,
    pub commit: Option<String>,
    /// True only when every step succeeded on every host.
    pub success: bool,
    /// Why the run stopped before changing containers, if it did.
    pub aborted: Option<String>,
    /// Every failure in `aborted` is also a failed step (failed pulls), already shown as it
    /// happened: a summary need not say it again.
    #[serde(skip)]
    pub aborted_by_steps: bool,
    pub services: BTreeMap<String, ServiceReport>,
    pub hosts: BTreeMap<String, HostReport>,
    pub steps: Vec<StepRecord>,
    pub seconds: f64,
}

/// The engine's stop timeout for a container that sets none.
const DOCKER_STOP_TIMEOUT: Duration = Duration::from_secs(10);

struct Run<'a> {
    desired: &'a Desired,
    payload: &'a Payload,
    plan: &'a Plan,
    engines: &'a BTreeMap<String, SharedEngine>,
    options: &'a Options,
    progress: &'a dyn Progress,
    /// The locks this run must still hold on a host to change anything there.
    fence: &'a Fence,
    failed_hosts: Mutex<BTreeMap<String, String>>,
    steps: Mutex<Vec<StepRecord>>,
    /// Set by `--fail-fast` on the first failure, or by an interrupt: no new step starts.
    stop: &'a AtomicBool,
    fail_fast_tripped: AtomicBool,
    balancing: tokio::sync::Mutex<balance::Balancing>,
}

/// Carries out `plan`; `payload` holds the content of the secrets and configs it mounts. Hosts
/// missing from `engines` are reported failed (unreachable).
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    desired: &Desired,
    payload: &Payload,
    plan: &Plan,
    engines: &BTreeMap<String, SharedEngine>,
    options: &Options,
    progress: &dyn Progress,
    fence: &Fence,
    stop: &AtomicBool,
) -> Report {
    let start = Instant::now();
    let run = Run {
        desired,
        payload,
        plan,
        engines,
        options,
        progress,
        fence,
        failed_hosts: Mutex::new(BTreeMap::new()),
        steps: Mutex::new(Vec::new()),
        stop,
        fail_fast_tripped: AtomicBool::new(false),
        balancing: tokio::sync::Mutex::new(balance::Balancing::new(desired, plan)),
    };
    for u in &plan.unreachable {
        run.host_failed(&u.host, &HostFailure::Unreachable(u.reason.clone()));
    }
    for host in plan.changes.iter().map(|c| &c.host) {
        if !engines.contains_key(host) {
            run.host_failed(host, &HostFailure::NotConnected);
        }
    }
    let mut services: BTreeMap<String, ServiceReport> = BTreeMap::new();
    let mut per_host: BTreeMap<&str, usize> = BTreeMap::new();
    for host in plan
        .actions()
        .map(|c| &c.host)
        .chain(plan.balancer_actions().map(|b| &b.host))
        .chain(plan.ships.iter().flat_map(|s| &s.hosts))
    {
        *per_host.entry(host.as_str()).or_default() += 1;
    }
    for (host, n) in &per_host {
        progress.host_steps(host, *n);
    }

    let abort = run.prepare().await;
    let aborted_by_steps = matches!(&abort, Some(Abort::Prepare(failures))
        if failures.iter().all(|f| matches!(f, PrepareFailure::Pull { .. })));
    let aborted = abort.map(|abort| abort.to_string());
    if aborted.is_none() {
        run.set_up_balancers().await;
        let order = desired.dependency_levels();
        for level in order {
            let reports = join_all(level.iter().map(|name| run.service(name))).await;
            services.extend(level.into_iter().zip(reports));
        }
        run.prune().await;
        run.finish_balancers().await;
        run.blank_stale_secrets(&services).await;
    } else {
        for name in desired.services.keys() {
            services.insert(
                name.clone(),
                ServiceReport {
                    status: ServiceStatus::Skipped,
                    detail: aborted.clone(),
                },
            );
        }
    }
    let failed_hosts = run.failed_hosts.into_inner().unwrap_or_default();
    let steps = run.steps.into_inner().unwrap_or_default();
    let mut hosts = BTreeMap::new();
    for host in desired.hosts.keys() {
        hosts.insert(
            host.clone(),
            match failed_hosts.get(host) {
                Some(reason) => HostReport::Failed {
                    reason: reason.clone(),
                },
                None => HostReport::Ok,
            },
        );
    }
    let success = aborted.is_none()
        && failed_hosts.is_empty()
        && steps.iter().all(|s| s.ok)
        && services
            .values()
            .all(|s| matches!(s.status, ServiceStatus::Unchanged | ServiceStatus::Updated));
    Report {
        project: plan.project.clone(),
        commit: plan.commit.clone(),
        success,
        aborted,
        aborted_by_steps,
        services,
        hosts,
        steps,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// A slot changed during a rollout, with what is needed to undo it.
struct Touched {
    host: String,
    slot: u32,
    /// The replica that ran before (stopped, kept for rollback); `None` for a new slot.
    old: Option<ContainerRef>,
    /// The new replica, once created.
    new: Option<String>,
    new_name: String,
    /// The new replica is good.
    ok: bool,
}

impl Run<'_> {
    fn host_failed(&self, host: &str, failure: &HostFailure) {
        let mut failed = self.failed_hosts.lock().unwrap_or_else(|e| e.into_inner());
        if !failed.contains_key(host) {
            let reason = failure.to_string();
            failed.insert(host.to_string(), reason.clone());
            self.progress
                .note(&format!("{host}: host failed: {reason}"));
            self.trip();
        }
    }

    fn host_ok(&self, host: &str) -> bool {
        !self
            .failed_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(host)
    }

    fn trip(&self) {
        if self.options.fail_fast && !self.fail_fast_tripped.swap(true, Ordering::SeqCst) {
            self.progress
                .note("--fail-fast: stopping after the steps in progress");
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.fail_fast_tripped.load(Ordering::SeqCst)
    }

    fn record(&self, record: StepRecord) {
        let text = match (&record.service, record.slot) {
            (Some(s), Some(slot)) => format!("{s}.{slot}"),
            (Some(s), None) => s.clone(),
            _ => String::new(),
        };
        let line = format!(
            "{} {}{}{}: {} ({:.2}s)",
            format!("{:?}", record.kind).to_lowercase(),
            text,
            if text.is_empty() { "" } else { " " },
            record.container.as_deref().unwrap_or(""),
            record.detail,
            record.seconds
        );
        self.progress.step_done(&record.host, &line, record.ok);
        if !record.ok {
            self.trip();
        }
        self.steps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }

    /// Marks the host failed for this failure, which is returned as the operation's error.
    fn fail_host(&self, host: &str, failure: HostFailure) -> OpError {
        self.host_failed(host, &failure);
        OpError::Host(failure)
    }

    fn engine(&self, host: &str) -> Result<&dyn Engine, OpError> {
        if !self.host_ok(host) {
            return Err(OpError::Host(HostFailure::FailedEarlier));
        }
        self.engines
            .get(host)
            .map(Arc::as_ref)
            .ok_or(OpError::Host(HostFailure::NotConnected))
    }

    /// Runs one engine call with a bound; a transport failure marks the host failed. Nothing is
    /// sent once the run's lock on the host has run out (the call is never polled).
    async fn call<T>(
        &self,
        host: &str,
        limit: Duration,
        fut: impl Future<Output = Result<T, EngineError>>,
    ) -> Result<T, OpError> {
        if let Err(lost) = self.fence.check(host) {
            return Err(self.fail_host(host, HostFailure::Fenced(lost)));
        }
        match tokio::time::timeout(limit, fut).await {
            Err(_) => Err(self.fail_host(host, HostFailure::NoAnswer(limit))),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e @ EngineError::Api { .. })) => {
                Err(OpError::Replica(ReplicaFailure::Refused(e)))
            }
            Ok(Err(e)) => Err(self.fail_host(host, HostFailure::Engine(e))),
        }
    }
}

fn health_interval(service: &crate::spec::model::Service) -> Option<Duration> {
    service.healthcheck.as_ref().and_then(|h| h.interval)
}

fn too_many(failures: usize, total: usize, ratio: f64) -> bool {
    total > 0 && failures as f64 / total as f64 > ratio
}

#[cfg(test)]
mod tests;
