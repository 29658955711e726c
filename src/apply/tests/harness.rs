//! The harness of the apply tests: a fleet of in-memory hosts made from a fleet.yaml, the whole
//! pipeline run on it as `fleet apply` runs it (observe, plan, lock, apply, release), a timeline
//! of the hosts' container events on the paused clock, and the checks of what the hosts run.
//!
//! Every host also runs two containers fleet must never touch: one without any label, and one
//! of another project (with fleet's labels of a `web` replica). Every check of an end state
//! checks that they are still there, as they were.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::apply::{self, Options, Progress, Report, ServiceStatus, StepKind, StepRecord};
use crate::engine::memory::{Behaviour, MemoryEngine, Registry, Seen};
use crate::engine::{Engine, SharedEngine};
use crate::lock::{self, Fence, Hold, Holder};
use crate::observe::{self, HostState, Observed};
use crate::payload::Payload;
use crate::plan::{self, Plan};
use crate::spec::{Desired, MemoryFiles};
use crate::{contract, labels};

pub const COMMIT: &str = "c0ffee";

/// The calls the memory engine counts as changes for `stop_answering_after`.
pub const CHANGING_CALLS: &[&str] = crate::engine::memory::CHANGES;

/// Longer than any run of these tests takes on the paused clock: a run that does not end by then
/// hangs (an unbounded call, or a host that never answers waited for).
const RUN_BOUND: Duration = Duration::from_secs(3600);

pub fn desired(yaml: &str) -> Desired {
    let loaded = crate::spec::load(&MemoryFiles::new([("fleet.yaml", yaml)]));
    loaded
        .desired
        .unwrap_or_else(|| panic!("invalid test state: {:#?}", loaded.diagnostics))
}

/// The options of every run here: a short call timeout, so a silent host fails fast.
pub fn options() -> Options {
    Options {
        call_timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

/// The spec hash the replicas of `service` get from `desired`.
pub fn hash_of(desired: &Desired, service: &str) -> String {
    contract::spec_hash(&desired.services[service])
}

/// A replica as a host runs it, read from its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    pub host: String,
    pub slot: u32,
    pub hash: String,
    pub id: String,
    pub running: bool,
}

/// What one run came to.
pub struct Outcome {
    pub report: Report,
    /// The run-level lines (rollback, pause, host failure) the run told its progress.
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn status(&self, service: &str) -> ServiceStatus {
        self.report.services[service].status
    }

    pub fn detail(&self, service: &str) -> String {
        self.report.services[service]
            .detail
            .clone()
            .unwrap_or_default()
    }

    pub fn steps(&self, kind: StepKind) -> Vec<&StepRecord> {
        self.report
            .steps
            .iter()
            .filter(|s| s.kind == kind)
            .collect()
    }

    /// The host's failure reason, `None` when the report says it is fine.
    pub fn host_failure(&self, host: &str) -> Option<String> {
        match &self.report.hosts[host] {
            apply::HostReport::Ok => None,
            apply::HostReport::Failed { reason } => Some(reason.clone()),
        }
    }
}

/// A run that may have been killed.
pub struct Killed {
    /// `None` when the run was killed.
    pub outcome: Option<Outcome>,
    /// Changing calls the host received during the run (for a killed run, the one it hung in
    /// included).
    pub made: u64,
}

/// Progress that keeps the run-level notes.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl Progress for Notes {
    fn phase(&self, _: &str) {}
    fn host_steps(&self, _: &str, _: usize) {}
    fn step_started(&self, _: &str, _: &str) {}
    fn step_done(&self, _: &str, _: &str, _: bool) {}
    fn note(&self, text: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text.to_string());
    }
}

/// Simulated hosts sharing one registry.
pub struct Fleet {
    project: String,
    pub registry: Arc<Registry>,
    hosts: BTreeMap<String, Arc<MemoryEngine>>,
    /// The containers no run may touch, as they were started.
    bystanders: Vec<(String, Seen)>,
    /// Repository files besides fleet.yaml (secrets, configs), by path.
    files: Mutex<Vec<(String, String)>>,
}

impl Fleet {
    /// One empty host per host of `yaml`, plus the two bystanders on each.
    pub fn new(yaml: &str) -> Fleet {
        let desired = desired(yaml);
        let registry = Registry::new();
        let mut hosts = BTreeMap::new();
        let mut bystanders = Vec::new();
        for name in desired.hosts.keys() {
            let host = MemoryEngine::new(name, Arc::clone(&registry));
            let unlabelled = host.run_other("postgres", "postgres:16", HashMap::new());
            let other_project = HashMap::from(
                [
                    (labels::MANAGED, "true"),
                    (labels::PROJECT, "other"),
                    (labels::SERVICE, "web"),
                    (labels::SLOT, "0"),
                    (labels::SPEC_HASH, "0123456789abcdef"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            let foreign = host.run_other("other-web-0-01234567", "web:1", other_project);
            for seen in host.containers() {
                if seen.id == unlabelled || seen.id == foreign {
                    bystanders.push((name.clone(), seen));
                }
            }
            hosts.insert(name.clone(), host);
        }
        assert_eq!(bystanders.len(), 2 * hosts.len());
        Fleet {
            project: desired.project,
            registry,
            hosts,
            bystanders,
            files: Mutex::new(Vec::new()),
        }
    }

    /// Puts a file in the repository the next states are read from (a plain secret here:
    /// decryption is the `secrets` module's, tested on its own).
    pub fn commit_file(&self, path: &str, text: &str) {
        let mut files = self.files.lock().unwrap();
        files.retain(|(p, _)| p != path);
        files.push((path.to_string(), text.to_string()));
    }

    fn repository(&self, yaml: &str) -> MemoryFiles {
        let files = self.files.lock().unwrap().clone();
        MemoryFiles::new(
            std::iter::once(("fleet.yaml", yaml))
                .chain(files.iter().map(|(p, t)| (p.as_str(), t.as_str()))),
        )
    }

    /// The desired state of `yaml` with the repository's files: loaded, its secrets' and
    /// configs' digests stamped.
    pub fn desired(&self, yaml: &str) -> Desired {
        let files = self.repository(yaml);
        let loaded = crate::spec::load(&files);
        let mut desired = loaded
            .desired
            .unwrap_or_else(|| panic!("invalid test state: {:#?}", loaded.diagnostics));
        self.payload(&desired).stamp(&mut desired);
        desired
    }

    /// The contents of the secrets and configs of `desired`, from the repository's files.
    pub fn payload(&self, desired: &Desired) -> Payload {
        let files = self.repository("");
        Payload::read(desired, &files, &|_, _, bytes| Ok(bytes.to_vec()))
            .unwrap_or_else(|e| panic!("unreadable files: {e:?}"))
    }

    /// Runs an unmanaged container (no labels) named as the replica `slot` of `service` will be
    /// under `desired`: creating that replica is refused (the name is taken), a failure of that
    /// one replica. The squatter is a bystander like the others.
    pub fn squat(&mut self, host: &str, desired: &Desired, service: &str, slot: u32) {
        let name =
            contract::container_name(&desired.project, service, slot, &hash_of(desired, service));
        let id = self.hosts[host].run_other(&name, "busybox", HashMap::new());
        let seen = self.hosts[host]
            .containers()
            .into_iter()
            .find(|c| c.id == id)
            .expect("the squatter runs");
        self.bystanders.push((host.to_string(), seen));
    }

    pub fn publish(&self, image: &str, behaviour: Behaviour) {
        self.registry.publish(image, behaviour);
    }

    pub fn host(&self, name: &str) -> &MemoryEngine {
        &self.hosts[name]
    }

    pub fn engines(&self) -> BTreeMap<String, SharedEngine> {
        self.hosts
            .iter()
            .map(|(name, host)| (name.clone(), Arc::clone(host) as SharedEngine))
            .collect()
    }

    /// Every container on every host, by host.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<Seen>> {
        self.hosts
            .iter()
            .map(|(name, host)| (name.clone(), host.containers()))
            .collect()
    }

    /// The replicas of `service` on every host, by slot then host.
    pub fn replicas(&self, service: &str) -> Vec<Replica> {
        let mut out: Vec<Replica> = self
            .hosts
            .iter()
            .flat_map(|(name, host)| {
                host.containers()
                    .into_iter()
                    .filter(|c| {
                        self.is_ours(c)
                            && c.labels.get(labels::SERVICE).map(String::as_str) == Some(service)
                    })
                    .map(move |c| Replica {
                        host: name.clone(),
                        slot: c.labels[labels::SLOT].parse().expect("a numeric slot"),
                        hash: c.labels[labels::SPEC_HASH].clone(),
                        id: c.id,
                        running: c.running,
                    })
            })
            .collect();
        out.sort_by(|a, b| (a.slot, &a.host, &a.hash).cmp(&(b.slot, &b.host, &b.hash)));
        out
    }

    fn is_ours(&self, c: &Seen) -> bool {
        c.labels.get(labels::PROJECT) == Some(&self.project)
            && c.labels.get(labels::MANAGED).map(String::as_str) == Some("true")
    }

    /// What the hosts run, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (name, containers) in self.snapshot() {
            for c in containers {
                out.push_str(&format!(
                    "\n  {name}: {} {} running={} hash={}",
                    c.name,
                    &c.id[c.id.len() - 4..],
                    c.running,
                    c.labels.get(labels::SPEC_HASH).map_or("-", String::as_str)
                ));
            }
        }
        out
    }

    /// Changing calls each host received so far.
    pub fn changes(&self) -> BTreeMap<String, u64> {
        self.hosts
            .iter()
            .map(|(name, host)| {
                let calls = host.calls();
                let n = CHANGING_CALLS
                    .iter()
                    .map(|c| calls.get(c).copied().unwrap_or(0))
                    .sum();
                (name.clone(), n)
            })
            .collect()
    }

    /// What every host runs for the project, as `fleet apply` observes it.
    pub async fn observe(&self) -> Observed {
        let mut observed = Observed::default();
        for (name, host) in &self.hosts {
            let seen = tokio::time::timeout(
                Duration::from_secs(5),
                observe::observe_host(host.as_ref(), &self.project),
            )
            .await;
            match seen {
                Ok(Ok(seen)) => observed.insert_reachable(name, seen),
                Ok(Err(e)) => {
                    observed.hosts.insert(
                        name.clone(),
                        HostState::Unreachable {
                            reason: e.to_string(),
                        },
                    );
                }
                Err(_) => {
                    observed.hosts.insert(
                        name.clone(),
                        HostState::Unreachable {
                            reason: "no answer".into(),
                        },
                    );
                }
            }
        }
        observed
    }

    pub async fn plan(&self, desired: &Desired) -> Plan {
        let observed = self.observe().await;
        plan::plan(desired, &observed, Some(COMMIT))
            .unwrap_or_else(|e| panic!("the test state is unplaceable: {e:?}"))
    }

    /// Takes the project lock on every host, as a run does before it observes.
    pub async fn lock(&self) -> Arc<Hold> {
        let hold = Arc::new(Hold::new(
            &self.project,
            Holder::me("apply"),
            lock::LOCK_TTL,
        ));
        lock::lock_all(&self.engines(), &hold, Duration::ZERO, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("taking the lock: {e}"));
        hold
    }

    /// One run of `fleet apply --yes`: lock, observe, plan, apply, release.
    pub async fn apply(&self, desired: &Desired) -> Outcome {
        self.apply_with(desired, &options()).await
    }

    pub async fn apply_with(&self, desired: &Desired, options: &Options) -> Outcome {
        let hold = self.lock().await;
        let plan = self.plan(desired).await;
        let outcome = self.apply_plan(desired, plan, options, &hold).await;
        hold.release_all(&self.engines()).await;
        outcome
    }

    /// Applies `plan` under `hold`'s fence.
    pub async fn apply_plan(
        &self,
        desired: &Desired,
        plan: Plan,
        options: &Options,
        hold: &Arc<Hold>,
    ) -> Outcome {
        let fence = Fence::of([Arc::clone(hold)]);
        let progress = Notes::default();
        let stop = AtomicBool::new(false);
        let engines = self.engines();
        let payload = self.payload(desired);
        let run = apply::apply(
            desired, &payload, &plan, &engines, options, &progress, &fence, &stop,
        );
        let report = tokio::time::timeout(RUN_BOUND, run)
            .await
            .expect("apply did not end: a call without a bound, or a silent host waited for");
        Outcome {
            report,
            notes: progress.0.into_inner().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// A run killed (dropped, as by `kill -9`) when `host` has carried out `changes` changes
    /// after the lock was taken; its outcome is `None` then. The host then answers again; the
    /// killed run's lock is left behind as a killed process leaves it.
    pub async fn apply_killed(&self, desired: &Desired, host: &str, changes: u64) -> Killed {
        let hold = self.lock().await;
        let plan = self.plan(desired).await;
        let before = self.changes()[host];
        let tripped = self.host(host).stop_answering_after(changes);
        let options = options();
        let outcome = tokio::select! {
            biased;
            () = tripped.notified() => None,
            outcome = self.apply_plan(desired, plan, &options, &hold) => Some(outcome),
        };
        let made = self.changes()[host] - before;
        self.host(host).answer_again();
        if outcome.is_some() {
            hold.release_all(&self.engines()).await;
        }
        Killed { outcome, made }
    }

    /// A run that must succeed: the fleet then runs exactly `yaml`.
    pub async fn deploy(&self, yaml: &str) -> Desired {
        let desired = self.desired(yaml);
        let outcome = self.apply(&desired).await;
        assert!(
            outcome.report.success,
            "deploying the starting state failed: {:#?}",
            outcome.report
        );
        self.assert_converged(&desired).await;
        desired
    }

    /// Every slot of every service runs exactly one container, of the current spec, and
    /// nothing else of the project is left; the bystanders are untouched; a further plan is
    /// empty.
    pub async fn assert_converged(&self, desired: &Desired) {
        for (name, service) in &desired.services {
            let hash = contract::spec_hash(service);
            let replicas = self.replicas(name);
            let slots: Vec<u32> = replicas.iter().map(|r| r.slot).collect();
            let wanted: Vec<u32> = (0..service.deploy.replicas).collect();
            assert_eq!(
                slots,
                wanted,
                "service {name}: one container per slot{}",
                self.describe()
            );
            for r in &replicas {
                assert!(
                    r.running && r.hash == hash,
                    "service {name} slot {}: running the current spec ({hash}){}",
                    r.slot,
                    self.describe()
                );
            }
        }
        let services: usize = desired
            .services
            .values()
            .map(|s| s.deploy.replicas as usize)
            .sum();
        // Balancers are checked by the plan below (one per ingress host, up to date).
        let ours = self
            .snapshot()
            .values()
            .flatten()
            .filter(|c| self.is_ours(c) && !c.labels.contains_key(labels::ROLE))
            .count();
        assert_eq!(
            ours,
            services,
            "no other container of the project{}",
            self.describe()
        );
        self.assert_bystanders_untouched();
        let again = self.plan(desired).await;
        assert!(
            again.is_empty(),
            "a further plan must be empty: {:#?}",
            again.actions().collect::<Vec<_>>()
        );
    }

    /// The containers fleet does not manage are there, running, as they were started.
    pub fn assert_bystanders_untouched(&self) {
        for (host, was) in &self.bystanders {
            let now = self.hosts[host]
                .containers()
                .into_iter()
                .find(|c| c.id == was.id);
            assert_eq!(
                now.as_ref(),
                Some(was),
                "{host}: the unmanaged container {} was touched",
                was.name
            );
        }
    }

    /// Starts recording the container events of every host, with their time.
    pub async fn record(&self) -> Timeline {
        let start = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for host in self.hosts.values() {
            let (host, log) = (Arc::clone(host), Arc::clone(&log));
            let project = self.project.clone();
            let subscribed = Arc::new(Notify::new());
            let told = Arc::clone(&subscribed);
            tasks.push(tokio::spawn(async move {
                let mut events = host.container_events(&project);
                told.notify_one();
                while let Some(Ok(e)) = events.next().await {
                    let label = |k: &str| e.labels.get(k).cloned().unwrap_or_default();
                    let event = Event {
                        at: start.elapsed(),
                        action: e.action.clone(),
                        slot: label(labels::SLOT).parse().unwrap_or(u32::MAX),
                        hash: label(labels::SPEC_HASH),
                    };
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(event);
                }
            }));
            subscribed.notified().await;
        }
        Timeline { log, tasks }
    }
}

/// One container event, as a host sent it.
#[derive(Clone, Debug)]
pub struct Event {
    /// Since the recording started, on the paused clock.
    pub at: Duration,
    /// `create`, `start`, `die`, `stop`, `destroy`, `health_status: healthy`, ...
    pub action: String,
    pub slot: u32,
    pub hash: String,
}

pub struct Timeline {
    log: Arc<Mutex<Vec<Event>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Timeline {
    /// The events so far, in the order each host sent them.
    pub async fn events(&self) -> Vec<Event> {
        // On the paused clock time moves only once every task is idle: the recorders have
        // taken every event sent so far.
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
