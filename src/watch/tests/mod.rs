//! The daemon's decisions, tested on the real loop ([`Daemon::run`]) against in-memory hosts
//! ([`MemoryEngine`]) and a real git repository in a temporary directory: no root, no Docker.
//!
//! Every test runs on tokio's paused clock, so a 10 s crash-loop backoff or a 20 s
//! `host_down_after` costs nothing: the clock jumps to the next timer whenever every task
//! waits. Reading the repository (`spawn_blocking`) holds the clock still while it runs, so
//! the time a test sees is the daemon's own. Waits are bounded twice: in simulated time (what
//! the test is about) and in wall-clock time (a daemon that spins would otherwise never let the
//! clock move), and a wait that times out fails with what the daemon showed last.

mod autoscale;
mod commits;
mod healing;
mod hosts;
mod start;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::state::{Metrics, PassResult, Shared, Status};
use super::{Connect, Daemon, Settings, Trigger, Unreadable};
use crate::engine::SharedEngine;
use crate::engine::memory::{Behaviour, MemoryEngine, Registry, Seen};
use crate::labels;

/// The project every test deploys.
const PROJECT: &str = "shop";
/// A wait on the wall clock longer than this means the daemon spins or hangs.
const WALL_LIMIT: Duration = Duration::from_secs(5);

/// fleet.yaml's `hosts:` section for these host names (never dialled: engines are given).
fn hosts_yaml(names: &[&str]) -> String {
    let mut out = String::from("hosts:\n");
    for name in names {
        out.push_str(&format!("  {name}: {{address: ssh://{name}}}\n"));
    }
    out
}

/// A fleet.yaml with one service `web` on the given hosts. `extra` is added to the service
/// (indented by the caller to four spaces); a health check every second makes a replica good
/// one second after it starts.
fn fleet_yaml(hosts: &[&str], image: &str, replicas: u32, extra: &str) -> String {
    format!(
        "project: {PROJECT}\n{}services:\n  web:\n    image: {image}\n    restart: \"no\"\n    \
         healthcheck: {{test: [CMD, \"true\"], interval: 1s, retries: 1}}\n    \
         deploy:\n      replicas: {replicas}\n{extra}",
        hosts_yaml(hosts)
    )
}

/// A git repository whose HEAD is the tracked revision; each commit is a new desired state.
struct Repo {
    dir: tempfile::TempDir,
    repo: git2::Repository,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let repo = git2::Repository::init(dir.path()).expect("git init");
        Repo { dir, repo }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Commits `yaml` as fleet.yaml on top of HEAD; returns the commit id.
    fn commit(&self, yaml: &str) -> String {
        let blob = self.repo.blob(yaml.as_bytes()).expect("blob");
        let mut tree = self.repo.treebuilder(None).expect("tree builder");
        tree.insert("fleet.yaml", blob, 0o100644)
            .expect("tree entry");
        let tree = self
            .repo
            .find_tree(tree.write().expect("tree"))
            .expect("tree");
        let me = git2::Signature::now("test", "test@example.com").expect("signature");
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &me, &me, "state", &tree, &parents)
            .expect("commit")
            .to_string()
    }
}

/// Settings for a test: the repository is read when the test says so (a webhook) or every
/// 30 s, a full pass every minute, hosts pinged every second.
fn settings(repo: &Path, engines: BTreeMap<String, SharedEngine>) -> Settings {
    Settings {
        request: crate::source::Request {
            dir: repo.to_path_buf(),
            repo: None,
            rev: None,
            worktree: false,
        },
        connect: Connect::Given(engines),
        interval: Duration::from_secs(30),
        resync: Duration::from_secs(60),
        probe_interval: Duration::from_secs(1),
        host_down_after: None,
        allow_mass_delete: false,
        lease_ttl: Duration::from_secs(30),
        lease_renew: Duration::from_secs(10),
        autoscale_interval: Duration::from_secs(5),
        apply: crate::apply::Options::default(),
    }
}

/// The daemon's logs on the test's output when `FLEET_TEST_LOG` is set (`debug` for every
/// event), to see why a wait timed out.
fn logs() {
    if let Ok(level) = std::env::var("FLEET_TEST_LOG") {
        let level = level.parse().unwrap_or(tracing::Level::INFO);
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_test_writer()
            .try_init();
    }
}

/// The daemon's log lines as text, captured on this thread (the test's runtime runs every task
/// of the daemon on it) while the guard lives.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_max_level(tracing::Level::INFO)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
    }

    /// The lines containing every one of `words`.
    fn lines_with(&self, words: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| words.iter().all(|w| l.contains(w)))
            .map(str::to_string)
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A daemon running on in-memory hosts, and what a test drives and reads.
struct Fleet {
    hosts: BTreeMap<String, Arc<MemoryEngine>>,
    shared: Arc<Shared>,
    repo: Repo,
    triggers: mpsc::Sender<Trigger>,
    shutdown: watch::Sender<bool>,
    daemon: JoinHandle<Result<(), Unreadable>>,
}

impl Fleet {
    /// Starts a daemon on hosts of these names holding `yaml` (the first commit); `images`
    /// are published first. Returns once the first commit runs (every replica up and healthy).
    async fn start(hosts: &[&str], images: &[(&str, Behaviour)], yaml: &str) -> Fleet {
        logs();
        let registry = Registry::new();
        for (image, behaviour) in images {
            registry.publish(image, behaviour.clone());
        }
        let hosts: BTreeMap<String, Arc<MemoryEngine>> = hosts
            .iter()
            .map(|h| (h.to_string(), MemoryEngine::new(h, Arc::clone(&registry))))
            .collect();
        let engines = hosts
            .iter()
            .map(|(h, e)| (h.clone(), Arc::clone(e) as SharedEngine))
            .collect();
        let repo = Repo::new();
        let first = repo.commit(yaml);
        let settings = settings(repo.path(), engines);
        let shared = Arc::new(Shared::default());
        let (triggers, receiver) = mpsc::channel(1024);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let daemon = Daemon::new(
            settings,
            Arc::clone(&shared),
            triggers.clone(),
            Arc::new(AtomicBool::new(false)),
        );
        let daemon = tokio::spawn(daemon.run(receiver, shutdown_rx));
        let fleet = Fleet {
            hosts,
            shared,
            repo,
            triggers,
            shutdown,
            daemon,
        };
        let desired = crate::spec::load(&crate::spec::MemoryFiles::new([("fleet.yaml", yaml)]))
            .desired
            .expect("the first commit of a test loads");
        let want: u32 = desired
            .services
            .values()
            .map(|s| desired.target_replicas(s))
            .sum();
        // Applied, and a pass since has seen every replica healthy: nothing is in flight.
        fleet
            .until(
                "the first commit is applied",
                Duration::from_secs(60),
                |f| {
                    let status = f.status();
                    status.applied_commit.as_deref() == Some(first.as_str())
                        && status
                            .last_reconcile
                            .is_some_and(|r| r.result == PassResult::Converged)
                        && status.services.values().map(|s| s.healthy).sum::<u32>() == want
                        && f.running().len() == want as usize
                },
            )
            .await;
        let metrics = fleet.metrics();
        assert!(
            metrics.heals == 0
                && metrics.rollouts.get("ok") == Some(&(desired.services.len() as u64)),
            "{}",
            fleet.report("the first commit is rolled out, not healed into place")
        );
        fleet
    }

    fn host(&self, name: &str) -> &MemoryEngine {
        &self.hosts[name]
    }

    /// Commits a new fleet.yaml and tells the daemon (as a webhook would); returns the commit.
    async fn commit(&self, yaml: &str) -> String {
        let commit = self.repo.commit(yaml);
        self.triggers
            .send(Trigger::Webhook)
            .await
            .expect("the daemon runs");
        commit
    }

    fn status(&self) -> Status {
        self.shared.status()
    }

    fn metrics(&self) -> Metrics {
        self.shared
            .metrics
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// The project's replicas (not balancers, not imposters) running on every host.
    fn running(&self) -> Vec<(String, Seen)> {
        self.containers()
            .into_iter()
            .filter(|(_, c)| c.running && slot(c).is_some())
            .collect()
    }

    /// Every container on every host, with its host.
    fn containers(&self) -> Vec<(String, Seen)> {
        self.hosts
            .iter()
            .flat_map(|(name, e)| e.containers().into_iter().map(|c| (name.clone(), c)))
            .collect()
    }

    /// Waits until `done` holds, looking every 50 ms; fails after `within` of simulated time
    /// (or `WALL_LIMIT` of real time) with what the daemon shows and the hosts run.
    async fn until(&self, what: &str, within: Duration, mut done: impl FnMut(&Fleet) -> bool) {
        let deadline = Instant::now() + within;
        let wall = std::time::Instant::now() + WALL_LIMIT;
        loop {
            if done(self) {
                return;
            }
            if Instant::now() >= deadline || std::time::Instant::now() >= wall {
                panic!(
                    "{}",
                    self.report(&format!("timed out waiting until {what}"))
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Checks that `holds` stays true for `during` of simulated time, looking every 50 ms.
    async fn holds(&self, what: &str, during: Duration, mut holds: impl FnMut(&Fleet) -> bool) {
        let end = Instant::now() + during;
        let wall = std::time::Instant::now() + WALL_LIMIT;
        while Instant::now() < end {
            assert!(holds(self), "{}", self.report(&format!("no longer {what}")));
            assert!(
                std::time::Instant::now() < wall,
                "{}",
                self.report("the simulated clock does not move")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The failure message of a wait: the daemon's status and counters and the hosts' state.
    fn report(&self, headline: &str) -> String {
        let status = serde_json::to_string_pretty(&self.status()).unwrap_or_default();
        let m = self.metrics();
        let containers: Vec<String> = self
            .containers()
            .iter()
            .map(|(host, c)| {
                format!(
                    "{host}: {} {} {} slot={:?}",
                    c.name,
                    c.image,
                    if c.running { "running" } else { "stopped" },
                    slot(c)
                )
            })
            .collect();
        format!(
            "{headline}\nlast status: {status}\nheals={} drift={} rollouts={:?} failures={:?} reconciles={:?}\ncontainers:\n  {}",
            m.heals,
            m.drift_corrections,
            m.rollouts,
            m.failures,
            m.reconciles,
            containers.join("\n  ")
        )
    }

    /// Stops the daemon as SIGTERM would, and checks it returns and gives the lease back.
    async fn stop(self) {
        let Fleet {
            shutdown,
            daemon,
            shared,
            ..
        } = self;
        let _ = shutdown.send(true);
        tokio::time::timeout(Duration::from_secs(30), daemon)
            .await
            .expect("the daemon stops within 30 s of the shutdown signal")
            .expect("the daemon's task does not panic")
            .expect("the daemon read its repository at start");
        assert_eq!(shared.status().role, super::state::Role::Stopping);
    }
}

/// The replica slot of one of the project's replicas.
fn slot(c: &Seen) -> Option<u32> {
    match labels::ownership(PROJECT, &c.labels) {
        labels::Ownership::Container(labels::Owner::Replica { slot, .. }) => Some(slot),
        _ => None,
    }
}

/// Labels of a container with the project's labels but no slot: an imposter.
fn imposter_labels() -> HashMap<String, String> {
    HashMap::from([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::PROJECT.to_string(), PROJECT.to_string()),
        (labels::SERVICE.to_string(), "web".to_string()),
    ])
}
