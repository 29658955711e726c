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

mod pass;
pub mod scale;
#[cfg(test)]
mod tests;
mod tip;
mod triggers;

pub use tip::Unreadable;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

// tokio's clock: the same as std's in the daemon, and pausable in tests on in-memory hosts.
use tokio::time::Instant;

use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::apply::{self, ServiceStatus as Outcome};
use crate::clock::now_rfc3339;
use crate::engine::SharedEngine;
use crate::lock::{self, Hold, Holder, LockError, LockEvent};
use crate::observe::{self, HostState, Observed, Owner, RunState};
use crate::payload::Payload;
use crate::plan::{self, Action, Plan};
use crate::source;
use crate::spec::Desired;
use crate::spec::model::Host;
use crate::ssh::SshOptions;
use backoff::Backoff;
use state::{
    HostStatus, PassResult, Reconcile, Role, ServiceStatus, Shared, TipError, TipErrorKind,
};

/// How the daemon runs; from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub request: source::Request,
    pub connect: Connect,
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
    /// How often autoscaled services' balancers and replicas are read.
    pub autoscale_interval: Duration,
    pub apply: apply::Options,
}

/// How the daemon reaches the hosts' engines.
#[derive(Clone)]
pub enum Connect {
    /// Over SSH (or locally), as fleet.yaml says.
    Ssh(SshOptions),
    /// Engines given by the caller, by host name: simulated hosts in tests and benchmarks. A
    /// host not among them never connects.
    Given(BTreeMap<String, SharedEngine>),
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connect::Ssh(options) => f.debug_tuple("Ssh").field(options).finish(),
            Connect::Given(engines) => f
                .debug_tuple("Given")
                .field(&engines.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// What wakes the loop.
pub enum Trigger {
    /// A verified webhook delivery: read the repository now.
    Webhook,
    Event(HostEvent),
    HostUp {
        host: String,
        engine: SharedEngine,
    },
    HostFailed {
        host: String,
        error: String,
        /// What to do about it, when known (the known_hosts line to add, ...).
        hint: Option<String>,
        /// When the probe that failed was started: the host has not been heard from since.
        since: Instant,
    },
    /// The lease task's verdict changed.
    Lease(lease::Role),
    /// The leader holds the lease on these hosts again: a pass may act there now.
    LeaseGained(Vec<String>),
    /// A round of autoscaling reads.
    Samples(Box<scale::Samples>),
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
/// The longest wait before a failed pass is tried again.
const RETRY_CAP: Duration = Duration::from_secs(10);
/// Events arriving together are handled by one pass.
const DEBOUNCE: Duration = Duration::from_millis(20);

struct Link {
    engine: Option<SharedEngine>,
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
    /// The content of its secrets and configs (empty when it is invalid).
    payload: Arc<Payload>,
}

/// The state the fleet is held to.
#[derive(Clone)]
struct Held {
    desired: Desired,
    commit: Option<String>,
    payload: Arc<Payload>,
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
    /// Commits whose rollout rolled back: attempts so far, and when to try again (the crash-loop
    /// delays); a newer commit is tried at once.
    failed: BTreeMap<Option<String>, (u32, Instant)>,
    backoff: Backoff,
    kills: HashMap<String, Instant>,
    /// Containers reported dead: the engine sends `die` before it marks them stopped, so a
    /// pass that still sees one running looks again shortly.
    dying: HashMap<String, Instant>,
    /// Why the newest of them died, for the passes that look again (see `dying`); cleared
    /// once none is seen running any more.
    settling_reason: Option<String>,
    /// The watch lease, and the task keeping it (from the moment the project is known).
    lease: Option<(Arc<Hold>, tokio::task::JoinHandle<()>)>,
    /// Where the lease task reports: a channel of its own, never full, so a pass that keeps the
    /// loop busy can never hold up a renewal.
    lease_events: Option<mpsc::UnboundedSender<Trigger>>,
    /// Reachable hosts, for the lease task.
    reachable: tokio::sync::watch::Sender<BTreeMap<String, SharedEngine>>,
    /// The project lock each pass takes: one holder for the daemon's life, so a lock it could
    /// not release (a host cut mid-pass) is simply its own again in the next pass.
    lock: Option<Arc<Hold>>,
    leading: bool,
    /// The last pass could not observe a host it may act on although its connection is up.
    observe_again: bool,
    project: Option<String>,
    retry_at: Option<Instant>,
    retries: u32,
    /// Where `watch.notify` of the held commit sends what happens (with the URLs it had).
    notifier: Option<(Vec<Option<String>>, crate::notify::Notifier)>,
    /// The autoscaled counts this daemon owns, and how it decides them.
    scaler: scale::Scaler,
    /// What the sampler reads, and the sampler.
    sampler: Option<(
        tokio::sync::watch::Sender<scale::Targets>,
        tokio::task::JoinHandle<()>,
    )>,
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
            settling_reason: None,
            lease: None,
            lease_events: None,
            reachable: tokio::sync::watch::Sender::new(BTreeMap::new()),
            notifier: None,
            scaler: scale::Scaler::default(),
            sampler: None,
            lock: None,
            leading: false,
            observe_again: false,
            project: None,
            retry_at: None,
            retries: 0,
        }
    }

    /// Runs until `shutdown` fires, then finishes the pass in progress (its in-flight batch
    /// completes and keeps its old replicas, see `apply`), releases the lease and returns.
    /// Returns at once with the error when the tracked revision cannot be read at start
    /// (nothing was ever held, so there is nothing to keep running).
    pub async fn run(
        mut self,
        mut triggers: mpsc::Receiver<Trigger>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), Unreadable> {
        let mut next_poll = Instant::now();
        let mut next_resync = Instant::now() + self.settings.resync;
        let mut dirty = true;
        let mut reason = String::from("start");
        let (lease_tx, mut lease_events) = mpsc::unbounded_channel();
        self.lease_events = Some(lease_tx);
        self.sampler = Some(scale::start(
            self.settings.autoscale_interval,
            self.reachable.subscribe(),
            self.triggers.clone(),
        ));
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = Instant::now();
            if now >= next_poll {
                if self.read_tip().await? {
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
                // Looking again at a container reported dead: the pass heals what died.
                reason = match &self.settling_reason {
                    Some(why) if !self.dying.is_empty() => why.clone(),
                    _ => "retry".into(),
                };
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
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => {}
            }
        }
        self.shutdown().await;
        Ok(())
    }
}

impl Daemon {
    fn reachable_engines(&self) -> BTreeMap<String, SharedEngine> {
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
    fn acting_engines(&self) -> BTreeMap<String, SharedEngine> {
        let Some((lease, _)) = &self.lease else {
            return BTreeMap::new();
        };
        self.reachable_engines()
            .into_iter()
            .filter(|(host, _)| lease.holds(host))
            .collect()
    }

    async fn shutdown(mut self) {
        self.shared.update(|s| s.role = Role::Stopping);
        info!("stopping: releasing the watch lease");
        for (_, (_, task)) in std::mem::take(&mut self.probers) {
            task.abort();
        }
        if let Some((_, task)) = self.sampler.take() {
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

fn short(commit: Option<&str>) -> String {
    commit.map_or_else(
        || "the working tree".to_string(),
        |c| c[..c.len().min(12)].to_string(),
    )
}

/// The watch lease is the lock of a pseudo-project no real project can be named (`.` is not
/// allowed in project names), so it reuses the lock mechanism and `fleet lock` shows it.
pub fn lease_project(project: &str) -> String {
    format!("{project}.watch")
}

impl Daemon {
    /// Decides from a round of autoscaling reads; a changed count wakes a pass.
    fn scale_round(&mut self, samples: scale::Samples) -> Option<String> {
        let held = self.held.as_ref()?;
        if !self.leading {
            return None;
        }
        let changes = self.scaler.round(&held.desired, samples);
        let status = self.scaler.status.clone();
        self.shared.update(|s| s.autoscale = status);
        let mut why = Vec::new();
        for (service, d) in &changes {
            scale::log(service, d);
            let direction = scale::direction(d);
            self.shared.count(|m| {
                *m.scale_events
                    .entry((service.clone(), direction))
                    .or_default() += 1;
            });
            let line = format!("{service} {} → {} ({})", d.current, d.desired, d.reason);
            self.notify("autoscale", format!("autoscale {line}"), None);
            why.push(line);
        }
        (!why.is_empty()).then(|| format!("autoscale {}", why.join("; ")))
    }

    /// After a pass planned with `autoscaled`: the counts are the daemon's, and the sampler
    /// reads what `observed` runs.
    fn scaled(
        &mut self,
        desired: &Desired,
        observed: &Observed,
        autoscaled: &[crate::autoscale::Autoscaled],
    ) {
        self.scaler.planned(autoscaled);
        let status = self.scaler.status.clone();
        self.shared.update(|s| s.autoscale = status);
        if let Some((targets, _)) = &self.sampler {
            targets.send_replace(scale::targets(desired, observed));
        }
    }

    /// Sends `event` to the held commit's `watch.notify` targets that want it; never waits.
    fn notify(&self, event: &'static str, message: String, host: Option<&str>) {
        let Some((_, notifier)) = &self.notifier else {
            return;
        };
        let (project, commit) = match &self.held {
            Some(h) => (h.desired.project.as_str(), h.commit.as_deref()),
            None => (self.project.as_deref().unwrap_or_default(), None),
        };
        let mut notice = crate::notify::Notice::new(event, project, commit, message);
        if let Some(host) = host {
            notice = notice.on(host);
        }
        notifier.notify(notice);
    }

    /// Starts a notifier for the held commit's `watch.notify`, unless the one running has the
    /// same targets.
    fn sync_notifier(&mut self) {
        let Some(held) = &self.held else { return };
        let urls = held.payload.notify_urls(&held.desired);
        if self.notifier.as_ref().is_some_and(|(u, n)| {
            *u == urls
                && n.targets().len() == held.desired.watch.notify.len()
                && n.targets()
                    .iter()
                    .zip(&held.desired.watch.notify)
                    .all(|(t, w)| t.format == w.format && t.events == w.events)
        }) {
            return;
        }
        let targets: Vec<crate::notify::Target> = held
            .desired
            .watch
            .notify
            .iter()
            .zip(&urls)
            .filter_map(|(w, url)| {
                Some(crate::notify::Target::new(
                    url.clone()?,
                    w.format,
                    w.events.clone(),
                ))
            })
            .collect();
        if targets.is_empty() {
            self.notifier = None;
            return;
        }
        let shared = Arc::clone(&self.shared);
        let report = Arc::new(
            move |delivery: crate::notify::Delivery,
                  target: &crate::notify::Target,
                  why: Option<&str>| {
                shared.count(|m| *m.notifications.entry(delivery.as_str()).or_default() += 1);
                if let Some(why) = why {
                    warn!(target = %target.label(), result = delivery.as_str(), error = %why, "notification not delivered");
                }
            },
        );
        self.notifier = Some((urls, crate::notify::Notifier::start(targets, report)));
    }
}
