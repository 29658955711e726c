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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::Serialize;

use crate::docker::create::{self, ReplicaIdentity};
use crate::docker::{Engine, EngineError, ProbeHealth, PullError, auth::DockerConfig};
use crate::lock::Fence;
use crate::plan::{Action, BalancerAction, Change, ContainerRef, NewContainer, Plan};
use crate::spec::Desired;
use crate::spec::model::{FailureAction, Mount, UpdateConfig, UpdateOrder};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fail_fast: false,
            pull: PullPolicy::Missing,
            call_timeout: Duration::from_secs(30),
            poll: Duration::from_millis(50),
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
    pub services: BTreeMap<String, ServiceReport>,
    pub hosts: BTreeMap<String, HostReport>,
    pub steps: Vec<StepRecord>,
    pub seconds: f64,
}

/// Why one operation failed.
#[derive(Debug)]
enum OpError {
    /// The host failed (it is marked and skipped from now on).
    Host(String),
    /// The operation itself failed (the engine refused, the replica is bad).
    Replica(String),
}

impl OpError {
    fn text(&self) -> &str {
        match self {
            OpError::Host(t) | OpError::Replica(t) => t,
        }
    }
}

/// Checks that need no host: what fleet cannot carry out at all.
pub fn unsupported(plan: &Plan) -> Vec<String> {
    let mut out = BTreeSet::new();
    for change in &plan.changes {
        if let Some(new) = &change.create {
            for mount in &new.spec.volumes {
                if let Mount::RepoBind { source, .. } = mount {
                    out.insert(format!(
                        "service `{}` mounts the repository path `{source}`: shipping repository \
                         files to hosts is not supported yet; use an absolute host path or build \
                         the file into the image",
                        change.service.as_deref().unwrap_or("?")
                    ));
                }
            }
        }
    }
    out.into_iter().collect()
}

/// The engine's stop timeout for a container that sets none.
const DOCKER_STOP_TIMEOUT: Duration = Duration::from_secs(10);

struct Run<'a> {
    desired: &'a Desired,
    plan: &'a Plan,
    engines: &'a BTreeMap<String, Arc<Engine>>,
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

/// Carries out `plan`. Hosts missing from `engines` are reported failed (unreachable).
pub async fn apply(
    desired: &Desired,
    plan: &Plan,
    engines: &BTreeMap<String, Arc<Engine>>,
    options: &Options,
    progress: &dyn Progress,
    fence: &Fence,
    stop: &AtomicBool,
) -> Report {
    let start = Instant::now();
    let run = Run {
        desired,
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
        run.host_failed(&u.host, &format!("unreachable: {}", u.reason));
    }
    for host in plan.changes.iter().map(|c| &c.host) {
        if !engines.contains_key(host) {
            run.host_failed(host, "not connected");
        }
    }
    let mut services: BTreeMap<String, ServiceReport> = BTreeMap::new();
    let mut per_host: BTreeMap<&str, usize> = BTreeMap::new();
    for host in plan
        .actions()
        .map(|c| &c.host)
        .chain(plan.balancer_actions().map(|b| &b.host))
    {
        *per_host.entry(host.as_str()).or_default() += 1;
    }
    for (host, n) in &per_host {
        progress.host_steps(host, *n);
    }

    let aborted = run.prepare().await;
    if aborted.is_none() {
        run.set_up_balancers().await;
        let order = service_order(desired);
        for level in order {
            let reports = join_all(level.iter().map(|name| run.service(name))).await;
            services.extend(level.into_iter().zip(reports));
        }
        run.prune().await;
        run.finish_balancers().await;
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
        services,
        hosts,
        steps,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Services grouped so that each group depends only on earlier groups.
fn service_order(desired: &Desired) -> Vec<Vec<String>> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut levels = Vec::new();
    while done.len() < desired.services.len() {
        let level: Vec<String> = desired
            .services
            .iter()
            .filter(|(name, s)| {
                !done.contains(name.as_str())
                    && s.depends_on
                        .keys()
                        .all(|d| done.contains(d) || !desired.services.contains_key(d))
            })
            .map(|(name, _)| name.clone())
            .collect();
        if level.is_empty() {
            // A cycle (the loader refuses them): run the rest together rather than never.
            levels.push(
                desired
                    .services
                    .keys()
                    .filter(|n| !done.contains(n.as_str()))
                    .cloned()
                    .collect(),
            );
            break;
        }
        done.extend(level.iter().cloned());
        levels.push(level);
    }
    levels
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
    fn host_failed(&self, host: &str, reason: &str) {
        let mut failed = self.failed_hosts.lock().unwrap_or_else(|e| e.into_inner());
        if !failed.contains_key(host) {
            failed.insert(host.to_string(), reason.to_string());
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

    fn engine(&self, host: &str) -> Result<&Engine, OpError> {
        if !self.host_ok(host) {
            return Err(OpError::Host("host failed earlier in this run".into()));
        }
        self.engines
            .get(host)
            .map(Arc::as_ref)
            .ok_or_else(|| OpError::Host("not connected".into()))
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
            let reason = lost.to_string();
            self.host_failed(host, &reason);
            return Err(OpError::Host(reason));
        }
        match tokio::time::timeout(limit, fut).await {
            Err(_) => {
                let reason = format!("no answer within {limit:?}");
                self.host_failed(host, &reason);
                Err(OpError::Host(reason))
            }
            Ok(Ok(v)) => Ok(v),
            Ok(Err(EngineError::Api(e))) => Err(OpError::Replica(api_text(&e))),
            Ok(Err(e)) => {
                let reason = crate::error::full_message(&e);
                self.host_failed(host, &reason);
                Err(OpError::Host(reason))
            }
        }
    }

    // ------------------------------------------------------------------------------ prepare

    /// Pulls images and creates networks and volumes. `Some(reason)` aborts the run: nothing has
    /// been changed on any container.
    async fn prepare(&self) -> Option<String> {
        let mut images: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut services: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for change in self.plan.actions() {
            if let (Some(new), Some(service)) = (&change.create, &change.service) {
                images
                    .entry(change.host.as_str())
                    .or_default()
                    .insert(new.spec.image.as_str());
                services
                    .entry(change.host.as_str())
                    .or_default()
                    .insert(service.as_str());
            }
        }
        for b in self.plan.balancer_actions() {
            if matches!(b.action, BalancerAction::Create | BalancerAction::Replace) {
                images
                    .entry(b.host.as_str())
                    .or_default()
                    .insert(self.desired.balancer.image.as_str());
            }
        }
        if !images.is_empty() {
            self.progress
                .phase("Preparing hosts (images, networks, volumes)");
        }
        let config = DockerConfig::load();
        let pulls = images.iter().map(|(host, images)| {
            let config = &config;
            async move {
                let mut errors = Vec::new();
                for image in images {
                    if let Err(e) = self.pull(host, image, config).await {
                        errors.push(e);
                    }
                }
                errors
            }
        });
        let errors: Vec<String> = join_all(pulls).await.into_iter().flatten().collect();
        if !errors.is_empty() {
            return Some(errors.join("; "));
        }
        if self.stopped() {
            return Some("stopped before any container was changed".into());
        }

        let resources = services
            .iter()
            .map(|(host, names)| async move { self.resources(host, names).await.err() });
        let errors: Vec<String> = join_all(resources).await.into_iter().flatten().collect();
        if !errors.is_empty() {
            return Some(errors.join("; "));
        }
        None
    }

    /// One image on one host. Registry errors are returned (they abort the run); host errors
    /// mark the host failed and are not.
    async fn pull(&self, host: &str, image: &str, config: &DockerConfig) -> Result<(), String> {
        let Ok(engine) = self.engine(host) else {
            return Ok(());
        };
        if self.options.pull == PullPolicy::Missing {
            match self
                .call(host, self.options.call_timeout, engine.has_image(image))
                .await
            {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(OpError::Host(_)) => return Ok(()),
                Err(OpError::Replica(e)) => return Err(format!("{host}: {image}: {e}")),
            }
        }
        self.progress
            .step_started(host, &format!("pulling {image}"));
        let started = Instant::now();
        let credentials = config.credentials(&create::registry_of(image));
        let result = engine
            .pull(image, credentials, Duration::from_secs(120))
            .await;
        let (ok, detail) = match &result {
            Ok(()) => (true, "pulled".to_string()),
            Err(PullError::Registry(e)) => (false, e.clone()),
            Err(PullError::Engine(e)) => {
                let reason = crate::error::full_message(e);
                self.host_failed(host, &reason);
                (false, reason)
            }
        };
        self.record(StepRecord {
            host: host.to_string(),
            kind: StepKind::Pull,
            service: None,
            slot: None,
            container: Some(image.to_string()),
            ok,
            detail: detail.clone(),
            seconds: started.elapsed().as_secs_f64(),
        });
        match result {
            Err(PullError::Registry(_)) => {
                Err(format!("pulling {image} on {host} failed: {detail}"))
            }
            _ => Ok(()),
        }
    }

    async fn resources(&self, host: &str, services: &BTreeSet<&str>) -> Result<(), String> {
        let Ok(engine) = self.engine(host) else {
            return Ok(());
        };
        let mut networks = BTreeSet::new();
        let mut volumes = BTreeSet::new();
        for name in services {
            let Some(service) = self.desired.services.get(*name) else {
                continue;
            };
            networks.extend(create::service_networks(service));
            for mount in &service.volumes {
                if let Mount::Volume {
                    source: Some(source),
                    ..
                } = mount
                {
                    volumes.insert(source.clone());
                }
            }
        }
        let project = self.desired.project.as_str();
        for key in networks {
            let declared = self.desired.networks.get(&key).cloned().unwrap_or_default();
            let name = create::network_name(self.desired, &key);
            let result = if declared.external {
                match self
                    .call(
                        host,
                        self.options.call_timeout,
                        engine.network_exists(&name),
                    )
                    .await
                {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(OpError::Replica(format!(
                        "the external network `{name}` does not exist"
                    ))),
                    Err(e) => Err(e),
                }
            } else {
                let mut labels = create::object_labels(project);
                labels.extend(declared.labels.clone());
                let request = bollard::models::NetworkCreateRequest {
                    name: name.clone(),
                    driver: declared.driver.clone(),
                    internal: Some(declared.internal),
                    options: Some(declared.driver_opts.clone().into_iter().collect()),
                    labels: Some(labels),
                    ..Default::default()
                };
                self.call(
                    host,
                    self.options.call_timeout,
                    engine.ensure_network(request),
                )
                .await
            };
            match result {
                Ok(()) => {}
                Err(OpError::Host(_)) => return Ok(()),
                Err(OpError::Replica(e)) => return Err(format!("{host}: network {name}: {e}")),
            }
        }
        for key in volumes {
            let declared = self.desired.volumes.get(&key).cloned().unwrap_or_default();
            let name = create::volume_name(self.desired, &key);
            let result = if declared.external {
                match self
                    .call(host, self.options.call_timeout, engine.volume_labels(&name))
                    .await
                {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err(OpError::Replica(format!(
                        "the external volume `{name}` does not exist"
                    ))),
                    Err(e) => Err(e),
                }
            } else {
                let mut labels = create::object_labels(project);
                labels.extend(declared.labels.clone());
                let request = bollard::models::VolumeCreateRequest {
                    name: Some(name.clone()),
                    driver: declared.driver.clone(),
                    driver_opts: Some(declared.driver_opts.clone().into_iter().collect()),
                    labels: Some(labels),
                    ..Default::default()
                };
                self.call(
                    host,
                    self.options.call_timeout,
                    engine.create_volume(request),
                )
                .await
                .map(|_| ())
            };
            match result {
                Ok(()) => {}
                Err(OpError::Host(_)) => return Ok(()),
                Err(OpError::Replica(e)) => return Err(format!("{host}: volume {name}: {e}")),
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------- replica steps

    /// Creates a replica (not started); returns its id.
    async fn create_replica(
        &self,
        host: &str,
        service: &str,
        slot: u32,
        new: &NewContainer,
    ) -> Result<String, OpError> {
        let engine = self.engine(host)?;
        let body = create::container_body(
            self.desired,
            &new.spec,
            &ReplicaIdentity {
                project: &self.desired.project,
                service,
                slot,
                spec_hash: &new.spec_hash,
                commit: self.plan.commit.as_deref(),
            },
        );
        self.call(
            host,
            self.options.call_timeout,
            engine.create_container(&new.name, body),
        )
        .await
    }

    /// Starts a created replica. On failure it is removed: a created, never started replica
    /// would be kept by the next plan as merely "stopped".
    async fn start_replica(&self, host: &str, id: &str) -> Result<(), OpError> {
        let engine = self.engine(host)?;
        let t = self.options.call_timeout;
        if let Err(e) = self.call(host, t, engine.start(id)).await {
            let _ = self.call(host, t, engine.remove(id)).await;
            return Err(e);
        }
        Ok(())
    }

    /// Waits until the replica is good: running and, if it has a health check, healthy, within
    /// `monitor`. Without a health check it must stay running for the whole window. The engine
    /// runs the first health check one `interval` after the start, so the window for a health
    /// check is `monitor` plus that interval (the engine's 30 s when not known); otherwise a
    /// monitor shorter than the interval could never pass.
    async fn wait_good(
        &self,
        host: &str,
        id: &str,
        monitor: Duration,
        health_interval: Option<Duration>,
    ) -> Result<String, OpError> {
        let engine = self.engine(host)?;
        let start = Instant::now();
        let health_window = monitor + health_interval.unwrap_or(Duration::from_secs(30));
        loop {
            let probe = self
                .call(host, self.options.call_timeout, engine.probe(id))
                .await?;
            let Some(probe) = probe else {
                return Err(OpError::Replica("the container disappeared".into()));
            };
            if probe.exited || probe.restarts > 0 {
                let mut text = format!("exited with code {}", probe.exit_code);
                if let Some(error) = probe.error {
                    text.push_str(&format!(": {error}"));
                }
                return Err(OpError::Replica(text));
            }
            match &probe.health {
                Some(ProbeHealth::Healthy) if probe.running => {
                    return Ok(format!(
                        "healthy after {:.2}s",
                        start.elapsed().as_secs_f64()
                    ));
                }
                Some(ProbeHealth::Unhealthy(output)) => {
                    let mut text = "unhealthy".to_string();
                    if !output.is_empty() {
                        text.push_str(&format!(": {}", first_line(output)));
                    }
                    return Err(OpError::Replica(text));
                }
                _ => {}
            }
            let window = if probe.health.is_some() {
                health_window
            } else {
                monitor
            };
            if start.elapsed() >= window {
                return match probe.health {
                    None if probe.running => {
                        Ok(format!("running for {:.1}s", start.elapsed().as_secs_f64()))
                    }
                    Some(_) => Err(OpError::Replica(format!(
                        "not healthy within the monitor window plus one health check interval \
                         ({window:?}); raise deploy.update_config.monitor or shorten the health \
                         check interval"
                    ))),
                    None => Err(OpError::Replica(format!(
                        "not running after the monitor window ({monitor:?})"
                    ))),
                };
            }
            tokio::time::sleep(self.options.poll).await;
        }
    }

    /// Stops a container gracefully (its own stop timeout applies), after taking it out of the
    /// balancers and letting it drain when it was in rotation.
    async fn halt(&self, host: &str, id: &str) -> Result<(), OpError> {
        let engine = self.engine(host)?;
        self.leave_rotation(host, id).await;
        // The engine takes up to the container's grace period; allow that plus the usual bound.
        let grace = self
            .desired
            .services
            .values()
            .filter_map(|s| s.stop_grace_period)
            .max()
            .unwrap_or_default()
            .max(DOCKER_STOP_TIMEOUT);
        self.call(
            host,
            grace + self.options.call_timeout,
            engine.stop(id, None),
        )
        .await
    }

    /// Stops and removes a container.
    async fn discard(&self, host: &str, id: &str) -> Result<(), OpError> {
        self.halt(host, id).await?;
        let engine = self.engine(host)?;
        self.call(host, self.options.call_timeout, engine.remove(id))
            .await
    }

    // ----------------------------------------------------------------------------- services

    async fn service(&self, name: &str) -> ServiceReport {
        let Some(service) = self.desired.services.get(name) else {
            return ServiceReport {
                status: ServiceStatus::Unchanged,
                detail: None,
            };
        };
        let changes: Vec<&Change> = self
            .plan
            .actions()
            .filter(|c| c.service.as_deref() == Some(name))
            .collect();
        if changes.is_empty() {
            return ServiceReport {
                status: ServiceStatus::Unchanged,
                detail: None,
            };
        }
        let update = &service.deploy.update_config;
        let rollback = &service.deploy.rollback_config;
        let of = |a: Action| changes.iter().copied().filter(move |c| c.action == a);
        let mut host_trouble = false;

        // Stopped replicas of the current spec: start them.
        let starts = of(Action::Start).map(|c| async move {
            let started = Instant::now();
            let id = c
                .container
                .as_ref()
                .map(|r| r.id.clone())
                .unwrap_or_default();
            let result = match self.engine(&c.host) {
                Err(e) => Err(e),
                Ok(engine) => match self
                    .call(&c.host, self.options.call_timeout, engine.start(&id))
                    .await
                {
                    Ok(()) => {
                        let good = self
                            .wait_good(&c.host, &id, update.monitor, health_interval(service))
                            .await;
                        match (good, &c.container, &c.service) {
                            (Ok(detail), Some(r), Some(s)) => self
                                .enter_rotation(&c.host, s, &id, &r.name)
                                .await
                                .map(|()| detail),
                            (good, ..) => good,
                        }
                    }
                    Err(e) => Err(e),
                },
            };
            self.record_result(
                c,
                StepKind::Start,
                c.container.as_ref().map(|r| r.name.clone()),
                &result,
                started,
            );
            result.is_ok()
        });
        join_all(starts).await;

        let total = of(Action::Create).count() + of(Action::Replace).count();
        let mut failures = 0usize;
        let mut touched: Vec<Touched> = Vec::new();
        let mut failure: Option<String> = None;

        // Scale up (and moves) first: new slots, all at once, checked like one batch (they only
        // add capacity). Then the rolling update, batch by batch.
        let creates: Vec<&Change> = of(Action::Create).collect();
        let replaces: Vec<&Change> = of(Action::Replace).collect();
        let size = match update.parallelism {
            0 => replaces.len().max(1),
            n => n as usize,
        };
        let batches = std::iter::once(creates.as_slice())
            .filter(|b| !b.is_empty())
            .chain(replaces.chunks(size));
        for (i, chunk) in batches.enumerate() {
            if failure.is_some() || self.stopped() {
                break;
            }
            if i > 0 && !update.delay.is_zero() {
                tokio::time::sleep(update.delay).await;
            }
            let results = join_all(chunk.iter().map(|c| self.replace_one(c, update))).await;
            for (t, result) in results {
                touched.push(t);
                match result {
                    Ok(()) => {}
                    Err(OpError::Host(_)) => host_trouble = true,
                    Err(OpError::Replica(e)) => {
                        failures += 1;
                        if update.failure_action != FailureAction::Continue
                            && too_many(failures, total, update.max_failure_ratio)
                        {
                            failure = Some(e);
                        }
                    }
                }
            }
        }

        if let Some(reason) = failure {
            let reason = format!("{failures} of {total} new replicas failed; last: {reason}");
            return match update.failure_action {
                FailureAction::Rollback => {
                    self.progress
                        .note(&format!("{name}: rolling back: {reason}"));
                    match self.roll_back(name, touched, rollback).await {
                        Ok(()) => ServiceReport {
                            status: ServiceStatus::RolledBack,
                            detail: Some(format!("rolled back to the previous replicas: {reason}")),
                        },
                        Err(e) => ServiceReport {
                            status: ServiceStatus::RollbackFailed,
                            detail: Some(format!("{reason}; the rollback failed too: {e}")),
                        },
                    }
                }
                // `continue` never sets `failure`.
                FailureAction::Pause | FailureAction::Continue => {
                    self.progress.note(&format!(
                        "{name}: rollout paused: {reason}; the failed replicas are left for \
                         inspection; fix the commit and run `fleet apply` again"
                    ));
                    // Slots that did succeed are done: retire their old replicas.
                    self.retire_old(name, &touched).await;
                    ServiceReport {
                        status: ServiceStatus::Paused,
                        detail: Some(reason),
                    }
                }
            };
        }

        if self.stopped() && (touched.len() < total) {
            self.retire_old(name, &touched).await;
            return ServiceReport {
                status: ServiceStatus::Skipped,
                detail: Some(format!(
                    "stopped after {} of {total} replicas",
                    touched.len()
                )),
            };
        }

        // Success: the old replicas go, then the surplus (scale down).
        self.retire_old(name, &touched).await;
        let removes = of(Action::Remove).map(|c| self.remove_one(c));
        let removed = join_all(removes).await;
        host_trouble |= removed.iter().any(|ok| !ok);
        let status = if failures > 0 || host_trouble {
            ServiceStatus::Degraded
        } else {
            ServiceStatus::Updated
        };
        ServiceReport {
            status,
            detail: (failures > 0)
                .then(|| {
                    format!("{failures} of {total} new replicas failed (within max_failure_ratio)")
                })
                .or_else(|| host_trouble.then(|| "some hosts failed".to_string())),
        }
    }

    /// One slot: a new replica (create) or a new replica in place of an old one (replace).
    async fn replace_one(
        &self,
        c: &Change,
        update: &UpdateConfig,
    ) -> (Touched, Result<(), OpError>) {
        let started = Instant::now();
        let service_name = c.service.clone().unwrap_or_default();
        let (Some(new), Some(slot)) = (&c.create, c.slot) else {
            // Only a hand-edited plan file gets here.
            let touched = Touched {
                host: c.host.clone(),
                slot: c.slot.unwrap_or_default(),
                old: None,
                new: None,
                new_name: String::new(),
                ok: false,
            };
            let error = OpError::Replica(format!(
                "the plan has a {:?} of `{service_name}` without a container to create",
                c.action
            ));
            return (touched, Err(error));
        };
        let service = c.service.clone().unwrap_or_default();
        let mut touched = Touched {
            host: c.host.clone(),
            slot,
            old: c.container.clone(),
            new: None,
            new_name: new.name.clone(),
            ok: false,
        };
        // A dead replica of the same spec has the same name: it must go first, and there is
        // nothing to roll back to.
        let same_name = c.container.as_ref().is_some_and(|old| old.name == new.name);
        // A fixed host port cannot be held by the old and the new replica at once on one host.
        let fixed_port = new.spec.ports.iter().any(|p| p.published.is_some());
        let stop_first = update.order == UpdateOrder::StopFirst || same_name || fixed_port;
        let interval = health_interval(&new.spec);
        let result = async {
            let id = match (stop_first, &c.container) {
                (true, Some(old)) if same_name => {
                    self.discard(&c.host, &old.id).await?;
                    touched.old = None;
                    self.create_replica(&c.host, &service, slot, new).await?
                }
                (true, Some(old)) => {
                    // The engine creates the new replica while the old one stops.
                    let (halted, created) = futures_util::future::join(
                        self.halt(&c.host, &old.id),
                        self.create_replica(&c.host, &service, slot, new),
                    )
                    .await;
                    match (halted, created) {
                        (Ok(()), Ok(id)) => id,
                        (Err(e), Ok(id)) => {
                            if let Ok(engine) = self.engine(&c.host) {
                                let t = self.options.call_timeout;
                                let _ = self.call(&c.host, t, engine.remove(&id)).await;
                            }
                            return Err(e);
                        }
                        (Err(e), Err(_)) | (Ok(()), Err(e)) => return Err(e),
                    }
                }
                _ => self.create_replica(&c.host, &service, slot, new).await?,
            };
            touched.new = Some(id.clone());
            self.start_replica(&c.host, &id).await?;
            // Stopping, creating and starting is the engine's work; say how long it took so
            // that fleet's own share of a batch can be told apart.
            let engine_time = started.elapsed();
            let detail = self
                .wait_good(&c.host, &id, update.monitor, interval)
                .await?;
            self.enter_rotation(&c.host, &service, &id, &new.name)
                .await?;
            let detail = format!("{detail}, engine {:.2}s", engine_time.as_secs_f64());
            if let (false, Some(old)) = (stop_first, &c.container) {
                self.halt(&c.host, &old.id).await?;
            }
            Ok(detail)
        }
        .await;
        let kind = if c.action == Action::Create {
            StepKind::Create
        } else {
            StepKind::Replace
        };
        self.record_result(c, kind, Some(new.name.clone()), &result, started);
        touched.ok = result.is_ok();
        (touched, result.map(|_| ()))
    }

    fn record_result(
        &self,
        c: &Change,
        kind: StepKind,
        container: Option<String>,
        result: &Result<String, OpError>,
        started: Instant,
    ) {
        self.record(StepRecord {
            host: c.host.clone(),
            kind,
            service: c.service.clone(),
            slot: c.slot,
            container,
            ok: result.is_ok(),
            detail: match result {
                Ok(d) => d.clone(),
                Err(e) => e.text().to_string(),
            },
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    /// Removes the old replicas of slots whose new replica is in place.
    async fn retire_old(&self, service: &str, touched: &[Touched]) {
        let tasks = touched.iter().filter(|t| t.ok).filter_map(|t| {
            let old = t.old.as_ref()?;
            Some(async move {
                let started = Instant::now();
                let result = self.discard(&t.host, &old.id).await;
                if let Err(e) = &result {
                    self.record(StepRecord {
                        host: t.host.clone(),
                        kind: StepKind::Remove,
                        service: Some(service.to_string()),
                        slot: Some(t.slot),
                        container: Some(old.name.clone()),
                        ok: false,
                        detail: format!("removing the previous replica failed: {}", e.text()),
                        seconds: started.elapsed().as_secs_f64(),
                    });
                }
            })
        });
        join_all(tasks).await;
    }

    /// Puts every touched slot back as it was: the old replica started again (it was only
    /// stopped), the new one removed; new slots removed.
    async fn roll_back(
        &self,
        service: &str,
        touched: Vec<Touched>,
        config: &UpdateConfig,
    ) -> Result<(), String> {
        // The previous spec's interval is not at hand; the current one is the best guess.
        let interval = self.desired.services.get(service).and_then(health_interval);
        // Nothing can be done on a host that failed; its slots converge on the next run.
        let (touched, lost): (Vec<Touched>, Vec<Touched>) =
            touched.into_iter().partition(|t| self.host_ok(&t.host));
        let batch = match config.parallelism {
            0 => touched.len().max(1),
            n => n as usize,
        };
        let mut errors: Vec<String> = lost
            .iter()
            .map(|t| format!("{}: slot {} not restored (host failed)", t.host, t.slot))
            .collect();
        for chunk in touched.chunks(batch) {
            let results = join_all(chunk.iter().map(|t| async move {
                let started = Instant::now();
                let result: Result<String, OpError> = async {
                    if config.order == UpdateOrder::StopFirst
                        && let Some(new) = &t.new
                    {
                        self.discard(&t.host, new).await?;
                    }
                    let detail = match &t.old {
                        Some(old) => {
                            let engine = self.engine(&t.host)?;
                            self.call(&t.host, self.options.call_timeout, engine.start(&old.id))
                                .await?;
                            let detail = self
                                .wait_good(&t.host, &old.id, config.monitor, interval)
                                .await?;
                            self.enter_rotation(&t.host, service, &old.id, &old.name)
                                .await?;
                            detail
                        }
                        None => "new slot removed".to_string(),
                    };
                    if config.order == UpdateOrder::StartFirst
                        && let Some(new) = &t.new
                    {
                        self.discard(&t.host, new).await?;
                    }
                    Ok(detail)
                }
                .await;
                self.record(StepRecord {
                    host: t.host.clone(),
                    kind: StepKind::Rollback,
                    service: Some(service.to_string()),
                    slot: Some(t.slot),
                    container: Some(
                        t.old
                            .as_ref()
                            .map(|o| o.name.clone())
                            .unwrap_or_else(|| t.new_name.clone()),
                    ),
                    // A rollback step that worked is not a failure of the run by itself; the
                    // service's status says it was rolled back.
                    ok: result.is_ok(),
                    detail: match &result {
                        Ok(d) => format!("restored ({d})"),
                        Err(e) => e.text().to_string(),
                    },
                    seconds: started.elapsed().as_secs_f64(),
                });
                result
            }))
            .await;
            errors.extend(
                results
                    .into_iter()
                    .filter_map(|r| r.err())
                    .map(|e| e.text().to_string()),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    async fn remove_one(&self, c: &Change) -> bool {
        let started = Instant::now();
        let Some(old) = &c.container else {
            return true;
        };
        let result = self
            .discard(&c.host, &old.id)
            .await
            .map(|()| "stopped and removed".to_string());
        self.record_result(
            c,
            StepKind::Remove,
            Some(old.name.clone()),
            &result,
            started,
        );
        result.is_ok()
    }

    /// Containers of services no longer in the commit, and imposters.
    async fn prune(&self) {
        if self.stopped() {
            return;
        }
        let orphans = self.plan.actions().filter(|c| {
            c.action == Action::Remove
                && c.service
                    .as_ref()
                    .is_none_or(|s| !self.desired.services.contains_key(s))
        });
        join_all(orphans.map(|c| self.remove_one(c))).await;
    }
}

/// The health check interval of a service's replicas, when fleet.yaml sets one.
fn health_interval(service: &crate::spec::model::Service) -> Option<Duration> {
    service.healthcheck.as_ref().and_then(|h| h.interval)
}

fn too_many(failures: usize, total: usize, ratio: f64) -> bool {
    total > 0 && failures as f64 / total as f64 > ratio
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn api_text(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_ratio_is_swarms() {
        assert!(too_many(1, 4, 0.0));
        assert!(!too_many(1, 4, 0.25));
        assert!(too_many(2, 4, 0.25));
        assert!(!too_many(0, 4, 0.0));
    }
}
