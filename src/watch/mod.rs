//! `fleet watch`: the reconcile loop that holds the hosts to the newest good commit.
//!
//! Level-triggered: whatever woke it (a new commit, a webhook, a Docker event, a host coming or
//! going, a timer), a pass reads the tracked revision, observes every host, plans, and applies
//! under the project lock, exactly as `fleet apply` would. Passes are idempotent, so missing an
//! event costs at most one resync interval.
//!
//! One task per host keeps a connection, pings it and follows its Docker events; the loop owns
//! every decision (host down after `host_down_after`, crash-loop backoff, which commit is held),
//! so the state has a single writer. Only one daemon per project acts: it holds the watch lease
//! (`lease`: a lock like the apply lock, renewed in the background, expiring when not renewed);
//! others wait on standby and take over an expired lease. Every change a pass makes is fenced:
//! it is sent only while the lease and the pass's project lock on that host are still held.

pub mod backoff;
pub mod http;
pub mod lease;
mod link;
pub mod state;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::apply::{self, ServiceStatus as Outcome};
use crate::docker::{Engine, EngineError};
use crate::lock::{self, Fence, Hold, Holder, LockError, LockEvent};
use crate::observe::{self, HostState, Observed, Owner, RunState};
use crate::plan::{self, Action, Plan};
use crate::source;
use crate::spec::Desired;
use crate::spec::model::Host;
use crate::ssh::SshOptions;
use backoff::Backoff;
use state::{
    HostStatus, PassResult, Reconcile, Role, ServiceStatus, Shared, TipError, TipErrorKind,
    now_rfc3339,
};

/// How the daemon runs; from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub request: source::Request,
    pub ssh: SshOptions,
    /// How often the tracked revision is read.
    pub interval: Duration,
    /// How often a full pass runs even when nothing woke the loop.
    pub resync: Duration,
    /// How often each host is pinged.
    pub probe_interval: Duration,
    /// Overrides fleet.yaml's `watch.host_down_after`.
    pub host_down_after: Option<Duration>,
    pub allow_mass_delete: bool,
    /// How long the watch lease is valid without renewal; a standby takes over after it.
    pub lease_ttl: Duration,
    /// How often the leader renews the lease.
    pub lease_renew: Duration,
    pub apply: apply::Options,
}

/// What wakes the loop.
pub enum Trigger {
    /// A verified webhook delivery: read the repository now.
    Webhook,
    Event(HostEvent),
    HostUp {
        host: String,
        engine: Arc<Engine>,
    },
    HostFailed {
        host: String,
        error: String,
    },
    /// The lease task's verdict changed.
    Lease(lease::Role),
    /// The leader holds the lease on these hosts again: a pass may act there now.
    LeaseGained(Vec<String>),
}

/// A Docker event about one of the project's containers.
#[derive(Clone, Debug)]
pub struct HostEvent {
    pub host: String,
    pub action: String,
    pub container: String,
    pub service: Option<String>,
    pub slot: Option<u32>,
}

/// Consecutive failed probes needed (besides `host_down_after`) before a host is declared down.
const DOWN_AFTER_FAILURES: u32 = 3;
/// Bound on a ping; a host that does not answer within it counts as a failed probe.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// Bound on observing one host in a pass (a host cut off a moment ago is only known to be
/// silent once its ping fails; until then it can hold a pass up this long).
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(5);
/// A `die` within this long after a `kill` was asked for, not a crash.
const KILL_WINDOW: Duration = Duration::from_secs(60);
/// Events arriving together are handled by one pass.
const DEBOUNCE: Duration = Duration::from_millis(20);

struct Link {
    engine: Option<Arc<Engine>>,
    failures: u32,
    failing_since: Option<Instant>,
    down: bool,
    error: Option<String>,
    since: String,
}

impl Link {
    fn new() -> Link {
        Link {
            engine: None,
            failures: 0,
            failing_since: None,
            down: false,
            error: Some("connecting".into()),
            since: now_rfc3339(),
        }
    }
}

/// The newest commit read, and whether it loaded.
struct Tip {
    commit: Option<String>,
    desired: Result<Desired, Vec<String>>,
}

/// The state the fleet is held to.
#[derive(Clone)]
struct Held {
    desired: Desired,
    commit: Option<String>,
}

pub struct Daemon {
    settings: Settings,
    shared: Arc<Shared>,
    triggers: mpsc::Sender<Trigger>,
    stop: Arc<AtomicBool>,
    links: BTreeMap<String, Link>,
    probers: BTreeMap<String, (Host, tokio::task::JoinHandle<()>)>,
    held: Option<Held>,
    tip: Option<Tip>,
    /// Commits whose rollout failed (rolled back or paused): not retried until a newer one.
    /// Commits whose rollout rolled back: attempts so far and when to try again (backoff).
    failed: BTreeMap<Option<String>, (u32, Instant)>,
    backoff: Backoff,
    kills: HashMap<String, Instant>,
    /// Containers reported dead: the engine sends `die` before it marks them stopped, so a
    /// pass that still sees one running looks again shortly.
    dying: HashMap<String, Instant>,
    /// The watch lease, and the task keeping it (from the moment the project is known).
    lease: Option<(Arc<Hold>, tokio::task::JoinHandle<()>)>,
    /// Where the lease task reports: a channel of its own, never full, so a pass that keeps the
    /// loop busy can never hold up a renewal.
    lease_events: Option<mpsc::UnboundedSender<Trigger>>,
    /// Reachable hosts, for the lease task.
    reachable: tokio::sync::watch::Sender<BTreeMap<String, Arc<Engine>>>,
    /// The project lock each pass takes: one holder for the daemon's life, so a lock it could
    /// not release (a host cut mid-pass) is simply its own again in the next pass.
    lock: Option<Arc<Hold>>,
    leading: bool,
    project: Option<String>,
    retry_at: Option<Instant>,
    retries: u32,
}

impl Daemon {
    pub fn new(
        settings: Settings,
        shared: Arc<Shared>,
        triggers: mpsc::Sender<Trigger>,
        stop: Arc<AtomicBool>,
    ) -> Daemon {
        shared.update(|s| s.role = Role::Starting);
        Daemon {
            settings,
            shared,
            triggers,
            stop,
            links: BTreeMap::new(),
            probers: BTreeMap::new(),
            held: None,
            tip: None,
            failed: BTreeMap::new(),
            backoff: Backoff::default(),
            kills: HashMap::new(),
            dying: HashMap::new(),
            lease: None,
            lease_events: None,
            reachable: tokio::sync::watch::Sender::new(BTreeMap::new()),
            lock: None,
            leading: false,
            project: None,
            retry_at: None,
            retries: 0,
        }
    }

    /// Runs until `shutdown` fires, then finishes the pass in progress (its in-flight batch
    /// completes and keeps its old replicas, see `apply`), releases the lease and returns.
    pub async fn run(
        mut self,
        mut triggers: mpsc::Receiver<Trigger>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut next_poll = Instant::now();
        let mut next_resync = Instant::now() + self.settings.resync;
        let mut dirty = true;
        let mut reason = String::from("start");
        let (lease_tx, mut lease_events) = mpsc::unbounded_channel();
        self.lease_events = Some(lease_tx);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = Instant::now();
            if now >= next_poll {
                if self.read_tip().await {
                    dirty = true;
                    reason = "new commit".into();
                }
                next_poll = Instant::now() + self.settings.interval;
            }
            if now >= next_resync {
                dirty = true;
                reason = "resync".into();
                next_resync = now + self.settings.resync;
            }
            if self.retry_at.is_some_and(|at| now >= at) {
                self.retry_at = None;
                dirty = true;
                reason = "retry".into();
            }
            if dirty && self.leading {
                dirty = false;
                self.reconcile(&reason).await;
                continue;
            }
            let mut wake = next_poll.min(next_resync);
            if let Some(at) = self.retry_at {
                wake = wake.min(at);
            }
            tokio::select! {
                trigger = triggers.recv() => {
                    let Some(trigger) = trigger else { break };
                    let mut woke = self.take(trigger, &mut next_poll);
                    // Events come in bursts (kill, die, stop): one pass for the burst.
                    tokio::time::sleep(DEBOUNCE).await;
                    while let Ok(more) = triggers.try_recv() {
                        woke = self.take(more, &mut next_poll).or(woke);
                    }
                    if let Some(why) = woke {
                        dirty = true;
                        reason = why;
                    }
                }
                Some(trigger) = lease_events.recv() => {
                    if let Some(why) = self.take(trigger, &mut next_poll) {
                        dirty = true;
                        reason = why;
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.shutdown().await;
    }
}

/// How a pass ended, for status, metrics and the retry timer.
struct Pass {
    result: PassResult,
    changes: usize,
    detail: Option<String>,
    /// Try again soon (lock held, host trouble, failed steps).
    retry: bool,
    /// A deferred heal (crash-loop backoff) is due then.
    wake: Option<Instant>,
    /// The host whose project lock another holder has, and what `lock status` says of it.
    blocked: Option<(String, String)>,
}

impl Pass {
    fn new(result: PassResult) -> Pass {
        Pass {
            result,
            changes: 0,
            detail: None,
            retry: false,
            wake: None,
            blocked: None,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Pass {
        self.detail = Some(detail.into());
        self
    }
}

fn short(commit: Option<&str>) -> String {
    commit.map_or_else(
        || "the working tree".to_string(),
        |c| c[..c.len().min(12)].to_string(),
    )
}

impl Daemon {
    fn host_down_after(&self) -> Duration {
        self.settings.host_down_after.unwrap_or_else(|| {
            self.held
                .as_ref()
                .map(|h| h.desired.watch.host_down_after)
                .or_else(|| {
                    self.tip
                        .as_ref()
                        .and_then(|t| t.desired.as_ref().ok())
                        .map(|d| d.watch.host_down_after)
                })
                .unwrap_or(Duration::from_secs(60))
        })
    }

    /// Takes a trigger into account; says why a pass is needed, if one is.
    fn take(&mut self, trigger: Trigger, next_poll: &mut Instant) -> Option<String> {
        let now = Instant::now();
        match trigger {
            Trigger::Webhook => {
                *next_poll = now;
                Some("webhook".into())
            }
            Trigger::Event(e) => {
                self.shared.count(|m| m.events += 1);
                debug!(host = %e.host, action = %e.action, container = %&e.container[..e.container.len().min(12)], "docker event");
                match e.action.as_str() {
                    "kill" => {
                        self.kills.insert(e.container.clone(), now);
                        None
                    }
                    "die" => {
                        self.dying.insert(e.container.clone(), now);
                        let asked = self
                            .kills
                            .remove(&e.container)
                            .is_some_and(|t| now.duration_since(t) < KILL_WINDOW);
                        if let (false, Some(service), Some(slot)) = (asked, &e.service, e.slot) {
                            info!(host = %e.host, service = %service, slot, "replica exited on its own");
                            self.backoff.crashed((service.clone(), slot), now);
                        }
                        Some(format!(
                            "{} died on {}",
                            e.service.as_deref().unwrap_or("a container"),
                            e.host
                        ))
                    }
                    "oom" | "stop" | "destroy" | "start" | "create" => Some(format!(
                        "{} {} on {}",
                        e.service.as_deref().unwrap_or("a container"),
                        e.action,
                        e.host
                    )),
                    a if a.starts_with("health_status") => Some(format!(
                        "{} {} on {}",
                        e.service.as_deref().unwrap_or("a container"),
                        a,
                        e.host
                    )),
                    _ => None,
                }
            }
            Trigger::HostUp { host, engine } => {
                let link = self.links.entry(host.clone()).or_insert_with(Link::new);
                let was_down = link.down;
                link.engine = Some(engine);
                link.failures = 0;
                link.failing_since = None;
                link.down = false;
                link.error = None;
                link.since = now_rfc3339();
                self.publish_reachable();
                if was_down {
                    info!(host = %host, "host is back: removing its stale replicas and rebalancing");
                } else {
                    info!(host = %host, "host reachable");
                }
                Some(format!("host {host} up"))
            }
            Trigger::Lease(role) => {
                let was = self.leading;
                self.leading = role == lease::Role::Leader;
                self.shared.update(|s| match &role {
                    lease::Role::Leader => {
                        s.role = Role::Leader;
                        s.leader = None;
                    }
                    lease::Role::Standby { leader } => {
                        s.role = Role::Standby;
                        s.leader = Some(leader.clone());
                    }
                });
                (self.leading && !was).then(|| "became leader".to_string())
            }
            Trigger::LeaseGained(hosts) => {
                debug!(hosts = ?hosts, "watch lease held again");
                Some(format!("lease held on {}", hosts.join(", ")))
            }
            Trigger::HostFailed { host, error } => {
                let down_after = self.host_down_after();
                let link = self.links.entry(host.clone()).or_insert_with(Link::new);
                let had_engine = link.engine.take().is_some();
                link.failures += 1;
                let since = *link.failing_since.get_or_insert(now);
                if link.failures == 1 {
                    link.since = now_rfc3339();
                    warn!(host = %host, error = %error, "host unreachable");
                }
                link.error = Some(error);
                if had_engine {
                    self.publish_reachable();
                }
                let link = self.links.entry(host.clone()).or_insert_with(Link::new);
                if !link.down
                    && link.failures >= DOWN_AFTER_FAILURES
                    && now.duration_since(since) >= down_after
                {
                    link.down = true;
                    link.since = now_rfc3339();
                    warn!(host = %host, after = ?down_after, "host declared down: moving its replicas to other hosts");
                    self.shared.count(|m| m.hosts_down_total += 1);
                    return Some(format!("host {host} down"));
                }
                (link.failures == 1).then(|| format!("host {host} unreachable"))
            }
        }
    }

    /// Reads the tracked revision; true when it is new.
    async fn read_tip(&mut self) -> bool {
        type Read = Option<(Option<String>, Result<Desired, Vec<String>>)>;
        let request = self.settings.request.clone();
        let known = self.tip.as_ref().and_then(|t| t.commit.clone());
        let read = tokio::task::spawn_blocking(move || -> Result<Read, String> {
            let snapshot =
                source::open(&request).map_err(|e| crate::cli::hosts::full_message(&e))?;
            let commit = match snapshot.revision.kind {
                source::RevisionKind::Commit => snapshot.revision.commit.clone(),
                source::RevisionKind::Worktree => None,
            };
            if commit.is_some() && commit == known {
                return Ok(None);
            }
            let loaded = crate::spec::load(snapshot.files());
            let desired = loaded.desired.ok_or_else(|| {
                loaded
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| d.to_string())
                    .collect()
            });
            Ok(Some((commit, desired)))
        })
        .await
        .unwrap_or_else(|e| Err(format!("internal error: {e}")));
        let (commit, desired) = match read {
            Ok(Some(read)) => read,
            Ok(None) => return false,
            Err(message) => {
                warn!(error = %message, "cannot read the repository");
                self.shared
                    .count(|m| *m.failures.entry("source").or_default() += 1);
                self.shared.error("source", message);
                return false;
            }
        };
        if commit.is_none()
            && self
                .tip
                .as_ref()
                .is_some_and(|t| t.desired.as_ref().ok() == desired.as_ref().ok())
        {
            return false;
        }
        let desired = match (desired, &self.project) {
            (Ok(d), Some(project)) if d.project != *project => Err(vec![format!(
                "fleet.yaml: project changed from `{project}` to `{}`; a daemon follows one project: start a new one for it",
                d.project
            )]),
            (d, _) => d,
        };
        match &desired {
            Ok(d) => {
                info!(commit = %short(commit.as_deref()), project = %d.project, "read a new commit");
                self.project.get_or_insert_with(|| d.project.clone());
                self.start_lease();
                self.shared.update(|s| {
                    s.project = Some(d.project.clone());
                    s.tip_error = None;
                });
            }
            Err(messages) => {
                warn!(commit = %short(commit.as_deref()), errors = messages.len(), first = %messages.first().map(String::as_str).unwrap_or(""), "the new commit is invalid; the last good state stays");
                self.shared
                    .count(|m| *m.failures.entry("invalid_commit").or_default() += 1);
                self.shared.error(
                    "invalid_commit",
                    format!(
                        "commit {}: {}",
                        short(commit.as_deref()),
                        messages.join("; ")
                    ),
                );
                self.shared.update(|s| {
                    s.tip_error = Some(TipError {
                        commit: commit.clone(),
                        kind: TipErrorKind::Invalid,
                        messages: messages.clone(),
                    })
                });
            }
        }
        self.shared.update(|s| s.tip_commit = commit.clone());
        self.tip = Some(Tip { commit, desired });
        self.sync_probers();
        true
    }

    /// One prober per host of the held state and of the tip.
    fn sync_probers(&mut self) {
        let Some(project) = self.project.clone() else {
            return;
        };
        let mut wanted: BTreeMap<String, Host> = BTreeMap::new();
        if let Some(held) = &self.held {
            wanted.extend(held.desired.hosts.clone());
        }
        if let Some(Ok(d)) = self.tip.as_ref().map(|t| &t.desired) {
            wanted.extend(d.hosts.clone());
        }
        self.probers.retain(|name, (host, task)| {
            let keep = wanted.get(name) == Some(host);
            if !keep {
                task.abort();
            }
            keep
        });
        self.links.retain(|name, _| wanted.contains_key(name));
        for (name, host) in wanted {
            if self.probers.contains_key(&name) {
                continue;
            }
            self.links.insert(name.clone(), Link::new());
            let task = tokio::spawn(link::follow_host(
                name.clone(),
                host.clone(),
                Arc::new(self.settings.ssh.clone()),
                project.clone(),
                self.settings.probe_interval,
                self.triggers.clone(),
            ));
            self.probers.insert(name, (host, task));
        }
    }

    fn reachable_engines(&self) -> BTreeMap<String, Arc<Engine>> {
        self.links
            .iter()
            .filter_map(|(name, link)| link.engine.as_ref().map(|e| (name.clone(), Arc::clone(e))))
            .collect()
    }

    /// Tells the lease task which hosts are reachable now.
    fn publish_reachable(&self) {
        self.reachable.send_replace(self.reachable_engines());
    }

    /// Starts keeping the watch lease, once the project is known.
    fn start_lease(&mut self) {
        let Some(project) = &self.project else {
            return;
        };
        let Some(events) = self.lease_events.clone() else {
            return;
        };
        if self.lease.is_some() {
            return;
        }
        let hold = Arc::new(Hold::new(
            &lease_project(project),
            Holder::me("watch"),
            self.settings.lease_ttl,
        ));
        let task = tokio::spawn(lease::keep(
            Arc::clone(&hold),
            self.reachable.subscribe(),
            lease::Timing {
                renew: self.settings.lease_renew,
                probe: self.settings.probe_interval,
            },
            events,
        ));
        self.lease = Some((hold, task));
        self.lock = Some(Arc::new(Hold::new(
            project,
            Holder::me("watch"),
            lock::LOCK_TTL,
        )));
    }

    /// Reachable hosts whose watch lease this daemon holds: the only ones it acts on.
    fn acting_engines(&self) -> BTreeMap<String, Arc<Engine>> {
        let Some((lease, _)) = &self.lease else {
            return BTreeMap::new();
        };
        self.reachable_engines()
            .into_iter()
            .filter(|(host, _)| lease.holds(host))
            .collect()
    }

    async fn reconcile(&mut self, reason: &str) {
        let started = Instant::now();
        debug!(reason, "reconcile");
        let pass = self.pass().await;
        let seconds = started.elapsed().as_secs_f64();
        self.shared.count(|m| {
            *m.reconciles.entry(pass.result.as_str()).or_default() += 1;
            m.reconcile_seconds.observe(seconds);
        });
        if pass.changes > 0 || pass.result != PassResult::Converged {
            info!(
                reason,
                result = pass.result.as_str(),
                changes = pass.changes,
                seconds = format!("{seconds:.2}"),
                detail = pass.detail.as_deref().unwrap_or(""),
                "reconcile"
            );
        }
        self.shared.update(|s| {
            s.last_reconcile = Some(Reconcile {
                at: now_rfc3339(),
                reason: reason.to_string(),
                seconds,
                result: pass.result,
                changes: pass.changes,
                detail: pass.detail.clone(),
            })
        });
        match &pass.blocked {
            Some((host, lock)) => {
                let first = self.shared.status().blocked_by.is_none();
                if first {
                    warn!(host = %host, lock = %lock, "blocked: another holder has the project lock; nothing is changed until it is released or taken over");
                    self.shared.error("blocked", lock.clone());
                }
                self.shared.update(|s| {
                    let since = s
                        .blocked_by
                        .as_ref()
                        .map_or_else(now_rfc3339, |b| b.since.clone());
                    s.blocked_by = Some(state::BlockedBy {
                        host: host.clone(),
                        lock: lock.clone(),
                        since,
                    });
                });
            }
            None if pass.result != PassResult::Idle => {
                if self.shared.status().blocked_by.is_some() {
                    info!("no longer blocked by the project lock");
                }
                self.shared.update(|s| s.blocked_by = None);
            }
            None => {}
        }
        let now = Instant::now();
        self.retry_at = None;
        if pass.retry {
            self.retries = (self.retries + 1).min(5);
            // Blocked by a lock: look again soon (it is released, or it expires and is taken
            // over); other trouble backs off further.
            let delay = if pass.blocked.is_some() {
                Duration::from_secs(1 << (self.retries - 1)).min(Duration::from_secs(5))
            } else {
                Duration::from_secs(1 << self.retries).min(Duration::from_secs(30))
            };
            self.retry_at = Some(now + delay);
        } else {
            self.retries = 0;
        }
        if let Some(wake) = pass.wake {
            self.retry_at = Some(self.retry_at.map_or(wake, |at| at.min(wake)));
        }
    }

    /// Observes the given engines (bounded per host); hosts without a working link are
    /// unreachable, or down when declared so.
    async fn observe(
        &self,
        desired: &Desired,
        engines: &BTreeMap<String, Arc<Engine>>,
    ) -> (Observed, BTreeMap<String, Arc<Engine>>) {
        let project = desired.project.as_str();
        let results = futures_util::future::join_all(
            engines
                .iter()
                .filter(|(n, _)| desired.hosts.contains_key(*n))
                .map(|(name, engine)| async move {
                    let result = tokio::time::timeout(
                        OBSERVE_TIMEOUT,
                        observe::observe_host(engine, project),
                    )
                    .await
                    .unwrap_or(Err(EngineError::Timeout(OBSERVE_TIMEOUT)));
                    (name.clone(), Arc::clone(engine), result)
                }),
        )
        .await;
        let mut observed = Observed::default();
        let mut usable = BTreeMap::new();
        for name in desired.hosts.keys() {
            let link = self.links.get(name);
            let state = match link {
                Some(link) if link.down => HostState::Down {
                    reason: link.error.clone().unwrap_or_else(|| "unreachable".into()),
                },
                Some(link) if link.engine.is_some() => HostState::Unreachable {
                    reason: "this daemon does not hold the watch lease on it (yet)".into(),
                },
                _ => HostState::Unreachable {
                    reason: link
                        .and_then(|l| l.error.clone())
                        .unwrap_or_else(|| "not connected yet".into()),
                },
            };
            observed.hosts.insert(name.clone(), state);
        }
        for (name, engine, result) in results {
            match result {
                Ok(containers) => {
                    observed.insert_reachable(&name, containers);
                    usable.insert(name, engine);
                }
                Err(e) => {
                    debug!(host = %name, error = %e, "observing failed");
                    observed.hosts.insert(
                        name,
                        HostState::Unreachable {
                            reason: e.short().to_string(),
                        },
                    );
                }
            }
        }
        (observed, usable)
    }

    /// Whether a new commit may be applied: placeable, supported, and not a mass deletion.
    fn vet(&self, candidate: &Held, observed: &Observed) -> Result<(), TipError> {
        let refuse = |kind: TipErrorKind, messages: Vec<String>| TipError {
            commit: candidate.commit.clone(),
            kind,
            messages,
        };
        let (plan, unplaceable) =
            plan::plan_best_effort(&candidate.desired, observed, candidate.commit.as_deref());
        if !unplaceable.is_empty() {
            return Err(refuse(
                TipErrorKind::Unplaceable,
                unplaceable.iter().map(|e| e.to_string()).collect(),
            ));
        }
        let unsupported = apply::unsupported(&plan);
        if !unsupported.is_empty() {
            return Err(refuse(TipErrorKind::Unsupported, unsupported));
        }
        if self.settings.allow_mass_delete || candidate.desired.watch.allow_mass_delete {
            return Ok(());
        }
        let running: BTreeSet<&str> = seen(observed)
            .filter(|c| c.state == RunState::Running && matches!(c.owner, Owner::Replica { .. }))
            .map(|c| c.id.as_str())
            .collect();
        let removed = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Remove)
            .filter(|c| {
                c.container
                    .as_ref()
                    .is_some_and(|r| running.contains(r.id.as_str()))
            })
            .count();
        if !running.is_empty() && removed * 2 > running.len() {
            return Err(refuse(
                TipErrorKind::MassDelete,
                vec![format!(
                    "commit {} would remove {removed} of the {} running replicas (more than half); \
                     it is not applied. If that is intended, set `watch: {{ allow_mass_delete: true }}` \
                     in fleet.yaml or restart fleet watch with --allow-mass-delete",
                    short(candidate.commit.as_deref()),
                    running.len()
                )],
            ));
        }
        Ok(())
    }

    /// When to look again because a container reported dead still shows as running.
    fn settling(&mut self, observed: &Observed) -> Option<Instant> {
        let now = Instant::now();
        let running: BTreeSet<&str> = seen(observed)
            .filter(|c| c.state == RunState::Running)
            .map(|c| c.id.as_str())
            .collect();
        self.dying.retain(|id, at| {
            running.contains(id.as_str()) && now.duration_since(*at) < Duration::from_secs(10)
        });
        (!self.dying.is_empty()).then(|| now + Duration::from_millis(50))
    }

    /// Leaves out heals of slots in crash-loop backoff; returns when the first is due.
    fn defer_crash_loops(&self, plan: &mut Plan) -> Option<Instant> {
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        plan.changes.retain(|c| {
            if !matches!(c.action, Action::Start | Action::Create | Action::Replace) {
                return true;
            }
            let (Some(service), Some(slot)) = (&c.service, c.slot) else {
                return true;
            };
            match self.backoff.wait_until(&(service.clone(), slot), now) {
                Some(at) => {
                    debug!(service = %service, slot, in_seconds = at.duration_since(now).as_secs_f64(), "crash-loop backoff");
                    wake = Some(wake.map_or(at, |w| w.min(at)));
                    false
                }
                None => true,
            }
        });
        wake
    }

    fn show(&self, target: &Held, observed: &Observed, unplaceable: &[plan::PlanError]) {
        let mut services = BTreeMap::new();
        for (name, service) in &target.desired.services {
            let desired = target.desired.target_replicas(service);
            let mut status = ServiceStatus {
                desired,
                ..ServiceStatus::default()
            };
            for state in observed.hosts.values() {
                let HostState::Reachable { containers } = state else {
                    continue;
                };
                for c in containers {
                    if !matches!(&c.owner, Owner::Replica { service, .. } if service == name) {
                        continue;
                    }
                    if c.state == RunState::Running {
                        status.running += 1;
                        if matches!(c.health, None | Some(observe::Health::Healthy)) {
                            status.healthy += 1;
                        }
                    }
                }
            }
            services.insert(name.clone(), status);
        }
        let hosts = self
            .links
            .iter()
            .map(|(name, link)| {
                (
                    name.clone(),
                    HostStatus {
                        reachable: link.engine.is_some()
                            && matches!(
                                observed.hosts.get(name),
                                Some(HostState::Reachable { .. })
                            ),
                        down: link.down,
                        consecutive_failures: link.failures,
                        error: link.error.clone(),
                        since: Some(link.since.clone()),
                    },
                )
            })
            .collect();
        let backoff = self.backoff.report(Instant::now());
        self.shared.update(|s| {
            s.services = services;
            s.hosts = hosts;
            s.backoff = backoff;
            s.unplaceable = unplaceable.iter().map(|e| e.to_string()).collect();
        });
    }

    fn adopt(&mut self, new: Held) {
        if self.held.as_ref().map(|h| &h.commit) != Some(&new.commit) {
            info!(commit = %short(new.commit.as_deref()), "the fleet is held to this commit now");
        }
        self.shared.update(|s| {
            s.applied_commit = new.commit.clone();
            if s.tip_error.as_ref().is_some_and(|e| e.commit == new.commit)
                || s.tip_commit == new.commit
            {
                s.tip_error = None;
            }
        });
        self.held = Some(new);
        self.sync_probers();
    }

    /// One pass: choose the state, observe, plan, and apply under the lock when needed.
    async fn pass(&mut self) -> Pass {
        let candidate = match &self.tip {
            Some(Tip {
                commit,
                desired: Ok(d),
            }) if self
                .failed
                .get(commit)
                .is_none_or(|(_, at)| *at <= Instant::now())
                && self
                    .held
                    .as_ref()
                    .is_none_or(|h| h.commit != *commit || h.desired != *d) =>
            {
                Some(Held {
                    desired: d.clone(),
                    commit: commit.clone(),
                })
            }
            _ => None,
        };
        let Some(basis) = candidate.clone().or_else(|| self.held.clone()) else {
            return Pass::new(PassResult::Idle).detail("no valid commit yet");
        };
        let engines = self.acting_engines();
        let (observed, engines) = self.observe(&basis.desired, &engines).await;
        let mut adopting = None;
        if let Some(candidate) = candidate {
            match self.vet(&candidate, &observed) {
                Ok(()) => adopting = Some(candidate),
                Err(error) => {
                    let message = error.messages.join("; ");
                    let known = self
                        .shared
                        .status()
                        .tip_error
                        .is_some_and(|e| e.commit == error.commit && e.kind == error.kind);
                    if !known {
                        warn!(commit = %short(error.commit.as_deref()), kind = error.kind.as_str(), %message, "not applying the new commit; the last good state stays");
                        self.shared
                            .count(|m| *m.failures.entry("rejected_commit").or_default() += 1);
                        self.shared.error(error.kind.as_str(), message);
                    }
                    self.shared.update(|s| s.tip_error = Some(error));
                }
            }
        }
        let Some(target) = adopting.clone().or_else(|| self.held.clone()) else {
            return Pass::new(PassResult::Idle).detail("no applicable commit yet");
        };
        let observed = if adopting.is_none() && candidate_differs(&basis, &target) {
            // The candidate was refused: observe for the held state's hosts instead.
            self.observe(&target.desired, &engines).await.0
        } else {
            observed
        };
        let (mut plan, unplaceable) =
            plan::plan_best_effort(&target.desired, &observed, target.commit.as_deref());
        let wake = if adopting.is_some() {
            None
        } else {
            self.defer_crash_loops(&mut plan)
        };
        let deferred = wake.is_some();
        let wake = match (wake, self.settling(&observed)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.show(&target, &observed, &unplaceable);
        if plan.is_empty() {
            if let Some(new) = adopting {
                self.adopt(new);
            }
            let mut pass = Pass::new(if deferred {
                PassResult::Backoff
            } else {
                PassResult::Converged
            });
            pass.wake = wake;
            pass.retry =
                !plan.unreachable.is_empty() && plan.held_back.iter().any(|h| !h.slots.is_empty());
            return pass;
        }
        let (Some(lock), Some((lease, _))) = (self.lock.clone(), &self.lease) else {
            return Pass::new(PassResult::Idle);
        };
        let fence = Fence::of([Arc::clone(lease), Arc::clone(&lock)]);
        let shared = Arc::clone(&self.shared);
        let events = move |event: LockEvent<'_>| {
            if let LockEvent::TookOver { host, state } = event {
                info!(host, taken_over = %state, "took over the project lock");
                shared.count(|m| m.lock_takeovers += 1);
            }
        };
        // One try per host, no waiting: a held lock is reported at once and retried.
        match lock::lock_all(&engines, &lock, Duration::ZERO, &events).await {
            Ok(()) => {}
            Err(LockError::Held { host, state, .. }) => {
                let detail = format!("the project lock on {host} is {state}");
                let mut pass = Pass::new(PassResult::Blocked).detail(detail.clone());
                pass.blocked = Some((host, detail));
                pass.retry = true;
                return pass;
            }
            Err(e) => {
                let mut pass =
                    Pass::new(PassResult::Failed).detail(crate::cli::hosts::full_message(&e));
                pass.retry = true;
                return pass;
            }
        }
        let renewing = lock::keep_renewed(Arc::clone(&lock), engines.clone());
        let mut pass = self
            .locked(&target, adopting.is_some(), &engines, &fence)
            .await;
        drop(renewing);
        lock.release_all(&engines).await;
        if let Some(new) = adopting {
            let detail = pass.detail.clone().unwrap_or_default();
            let error = |message: String| TipError {
                commit: new.commit.clone(),
                kind: TipErrorKind::RolloutFailed,
                messages: vec![message],
            };
            match pass.result {
                // The previous replicas are back: hold to them, try the commit again later.
                PassResult::RolledBack => {
                    let attempts = self.failed.get(&new.commit).map_or(0, |f| f.0) + 1;
                    let wait = backoff::delay(attempts + 1);
                    let at = Instant::now() + wait;
                    self.failed.insert(new.commit.clone(), (attempts, at));
                    let message = format!(
                        "{detail} (attempt {attempts}; trying again in {}s unless a newer commit comes)",
                        wait.as_secs()
                    );
                    self.shared.update(|s| s.tip_error = Some(error(message)));
                    pass.wake = Some(at);
                }
                // Paused as update_config says: the fleet is partly on the new commit; hold to
                // it and keep converging (crashing replicas back off).
                PassResult::RolloutPaused => {
                    self.adopt(new.clone());
                    self.shared.update(|s| s.tip_error = Some(error(detail)));
                    pass.retry = true;
                }
                PassResult::Stopped => {}
                _ => {
                    self.failed.remove(&new.commit);
                    self.adopt(new);
                }
            }
        }
        pass.wake = pass.wake.or(wake);
        pass
    }

    /// Under the lock: observe again (the world may have moved while waiting), plan, apply.
    async fn locked(
        &mut self,
        target: &Held,
        adopting: bool,
        engines: &BTreeMap<String, Arc<Engine>>,
        fence: &Fence,
    ) -> Pass {
        let (observed, engines) = self.observe(&target.desired, engines).await;
        let (mut plan, _) =
            plan::plan_best_effort(&target.desired, &observed, target.commit.as_deref());
        let wake = if adopting {
            None
        } else {
            self.defer_crash_loops(&mut plan)
        };
        if plan.is_empty() {
            let mut pass = Pass::new(PassResult::Converged);
            pass.wake = wake;
            return pass;
        }
        let changes = plan.actions().count();
        info!(
            commit = %short(target.commit.as_deref()),
            create = plan.count(Action::Create),
            replace = plan.count(Action::Replace),
            start = plan.count(Action::Start),
            remove = plan.count(Action::Remove),
            "applying"
        );
        let report = apply::apply(
            &target.desired,
            &plan,
            &engines,
            &self.settings.apply,
            &LogProgress,
            fence,
            &self.stop,
        )
        .await;
        let ok_steps = |kinds: &[apply::StepKind]| {
            report
                .steps
                .iter()
                .filter(|s| s.ok && kinds.contains(&s.kind))
                .count() as u64
        };
        let failed_services: Vec<String> = report
            .services
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s.status,
                    Outcome::RolledBack
                        | Outcome::RollbackFailed
                        | Outcome::Paused
                        | Outcome::Failed
                )
            })
            .map(|(name, s)| format!("{name}: {}", s.detail.as_deref().unwrap_or("failed")))
            .collect();
        if adopting {
            self.shared.count(|m| {
                for s in report.services.values() {
                    let result = match s.status {
                        Outcome::Unchanged | Outcome::Skipped => continue,
                        Outcome::Updated => "ok",
                        Outcome::Degraded => "degraded",
                        Outcome::RolledBack => "rolled_back",
                        Outcome::RollbackFailed | Outcome::Paused | Outcome::Failed => "failed",
                    };
                    *m.rollouts.entry(result).or_default() += 1;
                }
            });
        } else {
            let heals = ok_steps(&[apply::StepKind::Start, apply::StepKind::Create]);
            let drift = ok_steps(&[apply::StepKind::Replace, apply::StepKind::Remove]);
            self.shared.count(|m| {
                m.heals += heals;
                m.drift_corrections += drift;
            });
        }
        let mut pass = Pass::new(PassResult::Applied);
        pass.changes = changes;
        pass.wake = wake;
        if self.stop.load(Ordering::SeqCst) {
            pass.result = PassResult::Stopped;
        } else if adopting && !failed_services.is_empty() {
            let rolled_back = report
                .services
                .values()
                .any(|s| matches!(s.status, Outcome::RolledBack | Outcome::RollbackFailed));
            pass.result = if rolled_back {
                PassResult::RolledBack
            } else {
                PassResult::RolloutPaused
            };
            pass.detail = Some(failed_services.join("; "));
            self.shared
                .count(|m| *m.failures.entry("rollout").or_default() += 1);
            self.shared
                .error("rollout_failed", failed_services.join("; "));
        } else if !report.success && !only_known_hosts_failed(&report, &plan) {
            pass.result = PassResult::Failed;
            pass.retry = true;
            let failed: Vec<String> = report
                .steps
                .iter()
                .filter(|s| !s.ok)
                .map(|s| {
                    format!(
                        "{} on {}: {}",
                        s.service.as_deref().unwrap_or("-"),
                        s.host,
                        s.detail
                    )
                })
                .chain(failed_services)
                .collect();
            pass.detail = Some(failed.join("; "));
            self.shared
                .count(|m| *m.failures.entry("apply").or_default() += 1);
            self.shared.error("apply", failed.join("; "));
        }
        pass
    }

    async fn shutdown(mut self) {
        self.shared.update(|s| s.role = Role::Stopping);
        info!("stopping: releasing the watch lease");
        for (_, (_, task)) in std::mem::take(&mut self.probers) {
            task.abort();
        }
        if let Some((lease, task)) = self.lease.take() {
            task.abort();
            let engines = self.reachable_engines();
            // Also a project lock a pass could not release when a host was cut off.
            if let Some(lock) = &self.lock {
                lock.release_all(&engines).await;
            }
            lease.release_all(&engines).await;
        }
        info!("stopped");
    }
}

/// Whether the only trouble in a report is hosts the plan already knew were unreachable: for the
/// daemon that is the state of the world, not a failed pass.
fn only_known_hosts_failed(report: &apply::Report, plan: &Plan) -> bool {
    let known: BTreeSet<&str> = plan.unreachable.iter().map(|u| u.host.as_str()).collect();
    report.steps.iter().all(|s| s.ok)
        && report.services.values().all(|s| {
            matches!(
                s.status,
                Outcome::Unchanged | Outcome::Updated | Outcome::Degraded
            )
        })
        && report
            .hosts
            .iter()
            .all(|(name, h)| matches!(h, apply::HostReport::Ok) || known.contains(name.as_str()))
}

/// Every container observed on a reachable host.
fn seen(observed: &Observed) -> impl Iterator<Item = &observe::Container> {
    observed
        .hosts
        .values()
        .filter_map(|h| match h {
            HostState::Reachable { containers } => Some(containers),
            _ => None,
        })
        .flatten()
}

fn candidate_differs(basis: &Held, target: &Held) -> bool {
    basis.commit != target.commit || basis.desired != target.desired
}

/// The watch lease is the lock of a pseudo-project no real project can be named (`.` is not
/// allowed in project names), so it reuses the lock mechanism and `fleet lock` shows it.
pub fn lease_project(project: &str) -> String {
    format!("{project}.watch")
}

/// Apply progress as log lines.
struct LogProgress;

impl apply::Progress for LogProgress {
    fn phase(&self, text: &str) {
        debug!(phase = text, "apply");
    }
    fn host_steps(&self, _host: &str, _steps: usize) {}
    fn step_started(&self, host: &str, text: &str) {
        debug!(host, step = text, "started");
    }
    fn step_done(&self, host: &str, text: &str, ok: bool) {
        if ok {
            info!(host, step = text, "done");
        } else {
            warn!(host, step = text, "failed");
        }
    }
    fn note(&self, text: &str) {
        warn!("{text}");
    }
}
