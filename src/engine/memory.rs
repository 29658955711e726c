//! A simulated host: an [`Engine`] kept in memory, for unit tests and benchmarks.
//!
//! It does what a Docker Engine does with what fleet sends it, as far as fleet can tell:
//! containers are created, started, stopped and removed; names are unique; a container's health
//! check passes or fails over time and its process may exit (after which its restart policy
//! applies); events are sent for each of these; volumes are created atomically with a creation
//! time on the host's clock, which is what the lock relies on. What an image does is said once
//! for every host in a [`Registry`] ([`Behaviour`]); an image not in it cannot be pulled.
//!
//! Faults are driven from the test: a latency on every call, calls the engine refuses, a host
//! whose engine is down (every call fails at once) or that stops answering (every call hangs),
//! either at once or after a number of changes, which is how a test kills a run at a chosen
//! step. Time is tokio's, so a test on a paused clock runs a 30 s health check in no time.
//!
//! It is not a replacement for the testbed: nothing here proves fleet right against a real
//! engine. It makes the logic above the seam testable without root and fast.

mod faults;
mod files;
mod images;
mod life;
mod meters;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;

use super::{
    ArchiveStream, ContainerEvent, Create, Credentials, Engine, EngineError, EngineFacts, HostFile,
    ImageFacts, Listed, ListedPort, Probe, PullError, VolumeInfo,
};
use crate::spec::model::{Network, Protocol, Restart, Volume};
use life::Sim;
pub use life::{Behaviour, Registry};

/// Calls that change something on the host (counted for [`MemoryEngine::stop_answering_after`]).
pub const CHANGES: &[&str] = &[
    "pull",
    "load_image",
    "create",
    "start",
    "stop",
    "remove",
    "write_file",
    "signal",
    "ensure_network",
    "ensure_volume",
    "create_labelled_volume",
    "remove_volume",
];

/// How the host answers calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Normally,
    /// Every call fails at once, as with a stopped engine.
    Down,
    /// Every call hangs, as with a host cut off.
    Silent,
}

/// One simulated host.
pub struct MemoryEngine {
    name: String,
    registry: Arc<Registry>,
    state: Arc<Mutex<HostState>>,
    events: broadcast::Sender<ContainerEvent>,
    latency: Mutex<Duration>,
    answer: Mutex<Answer>,
    /// Changes left before the host goes silent, and whom to tell.
    silent_after: Mutex<Option<(u64, Arc<Notify>)>>,
    /// Calls (by name) the engine refuses, how many more times.
    refusals: Mutex<HashMap<&'static str, usize>>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
    /// The host clock's offset from the simulation's, in seconds.
    clock_skew: Mutex<i64>,
    epoch: (Instant, u64),
}

#[derive(Default)]
pub(super) struct HostState {
    containers: BTreeMap<String, Sim>,
    images: HashSet<String>,
    /// Id and size of images built or loaded (others are `sha256:REFERENCE`, 0 bytes).
    image_facts: HashMap<String, ImageFacts>,
    /// Bytes of an image load after which the host's link is cut (a test's fault).
    load_cut_after: Option<u64>,
    /// Files fleet wrote on the host, by path.
    host_files: BTreeMap<String, HostFile>,
    /// Every pull, with the platform it asked for.
    pulls: Vec<(String, Option<String>)>,
    networks: BTreeMap<String, HashMap<String, String>>,
    volumes: BTreeMap<String, (u64, HashMap<String, String>)>,
    next_port: u16,
    meters: meters::Meters,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a test sees of one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    pub running: bool,
    pub restarts: i64,
}

impl MemoryEngine {
    pub fn new(name: &str, registry: Arc<Registry>) -> Arc<MemoryEngine> {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Arc::new(MemoryEngine {
            name: name.to_string(),
            registry,
            state: Arc::new(Mutex::new(HostState {
                next_port: 32768,
                ..HostState::default()
            })),
            events: broadcast::channel(4096).0,
            latency: Mutex::new(Duration::ZERO),
            answer: Mutex::new(Answer::Normally),
            silent_after: Mutex::new(None),
            refusals: Mutex::new(HashMap::new()),
            calls: Mutex::new(BTreeMap::new()),
            clock_skew: Mutex::new(0),
            epoch: (Instant::now(), unix),
        })
    }

    // ---- what happens on the host without fleet ----

    /// The container's process dies (as with `docker kill`); its restart policy applies.
    pub fn kill(&self, id: &str) {
        life::exit(&self.state, &self.events, id, 137, "killed");
    }

    /// As `kill`, but as Docker does it: `kill` and `die` go out at once, and the engine still
    /// shows the container running for `lag` after them (its restart policy is not applied).
    pub fn kill_seen_late(&self, id: &str, lag: Duration) {
        if let Some(sim) = lock(&self.state).containers.get(id) {
            life::emit(&self.events, "kill", sim);
            life::emit(&self.events, "die", sim);
        }
        let state = Arc::clone(&self.state);
        let id = id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(lag).await;
            if let Some(sim) = lock(&state).containers.get_mut(&id)
                && sim.running()
            {
                sim.stop_now(137);
            }
        });
    }

    /// The container is removed by someone else (`docker rm -f`).
    pub fn remove_behind(&self, id: &str) {
        let removed = lock(&self.state).containers.remove(id);
        if let Some(sim) = removed {
            life::emit(&self.events, "destroy", &sim);
        }
    }

    /// Runs a container fleet did not create, with these labels; returns its id.
    pub fn run_other(&self, name: &str, image: &str, labels: HashMap<String, String>) -> String {
        let id = new_id();
        let mut state = lock(&self.state);
        let mut sim = Sim::new(&id, name, image, labels, Behaviour::Serves, None);
        // Announced like any container (`docker run`): a watcher hears of it at once.
        life::emit(&self.events, "create", &sim);
        sim.start_now();
        life::emit(&self.events, "start", &sim);
        state.containers.insert(id.clone(), sim);
        id
    }

    /// Makes the image present on the host without a pull.
    pub fn preload(&self, reference: &str) {
        lock(&self.state).images.insert(reference.to_string());
    }

    // ---- what a test reads ----

    /// Every container on the host, by name.
    pub fn containers(&self) -> Vec<Seen> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        let mut out: Vec<Seen> = state
            .containers
            .values_mut()
            .map(|sim| {
                life::advance_and_emit(&self.events, sim, now);
                Seen {
                    id: sim.id.clone(),
                    name: sim.name.clone(),
                    image: sim.image.clone(),
                    labels: sim.labels.clone(),
                    running: sim.running(),
                    restarts: sim.restarts,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// How many times each call was made.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.calls).clone()
    }

    /// The images pulled so far, in order, with the platform each pull asked for.
    pub fn pulls(&self) -> Vec<(String, Option<String>)> {
        lock(&self.state).pulls.clone()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    // ---- the engine's side ----

    /// What every call goes through: latency, the host's answer, refusals, kill points.
    async fn enter(&self, call: &'static str) -> Result<(), EngineError> {
        *lock(&self.calls).entry(call).or_default() += 1;
        let latency = *lock(&self.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let answer = *lock(&self.answer);
        match answer {
            Answer::Normally => {}
            Answer::Down => {
                return Err(EngineError::EngineDown {
                    socket: format!("memory://{}", self.name),
                    source: "connection refused (simulated)".into(),
                });
            }
            Answer::Silent => std::future::pending::<()>().await,
        }
        let refuse = {
            let mut refusals = lock(&self.refusals);
            let left = refusals.get_mut(call).filter(|n| **n > 0);
            left.map(|n| *n -= 1).is_some()
        };
        if refuse {
            return Err(refused(&format!("{call} refused (simulated)")));
        }
        if CHANGES.contains(&call) {
            let tripped = {
                let mut after = lock(&self.silent_after);
                match after.as_mut() {
                    Some((0, notify)) => Some(Arc::clone(notify)),
                    Some((left, _)) => {
                        *left -= 1;
                        None
                    }
                    None => None,
                }
            };
            if let Some(notify) = tripped {
                *lock(&self.answer) = Answer::Silent;
                notify.notify_one();
                std::future::pending::<()>().await;
            }
        }
        Ok(())
    }

    fn now_unix(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.epoch.0);
        let secs = self.epoch.1 + elapsed.as_secs();
        secs.saturating_add_signed(*lock(&self.clock_skew))
    }

    /// The simulation's time in seconds, with the fraction (for CPU counters).
    fn now_secs(&self) -> f64 {
        Instant::now()
            .saturating_duration_since(self.epoch.0)
            .as_secs_f64()
    }

    fn with_container<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Sim, &mut HostState) -> T,
    ) -> Option<T> {
        let mut state = lock(&self.state);
        let key = state.resolve(id)?;
        let mut sim = state.containers.remove(&key)?;
        life::advance_and_emit(&self.events, &mut sim, Instant::now());
        let out = f(&mut sim, &mut state);
        state.containers.insert(key, sim);
        Some(out)
    }
}

impl HostState {
    /// The id of a container named by id or by name.
    fn resolve(&self, id_or_name: &str) -> Option<String> {
        if self.containers.contains_key(id_or_name) {
            return Some(id_or_name.to_string());
        }
        self.containers
            .values()
            .find(|c| c.name == id_or_name)
            .map(|c| c.id.clone())
    }
}

fn new_id() -> String {
    format!("{:064x}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

fn refused(message: &str) -> EngineError {
    EngineError::Api {
        message: Some(message.to_string()),
        source: message.to_string().into(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait::async_trait]
impl Engine for MemoryEngine {
    async fn ping(&self) -> Result<Duration, EngineError> {
        self.enter("ping").await?;
        Ok(*lock(&self.latency))
    }

    async fn facts(&self) -> Result<EngineFacts, EngineError> {
        self.enter("facts").await?;
        Ok(EngineFacts {
            version: "memory".into(),
            api_version: "1.47".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpus: 2,
            memory_bytes: 1 << 30,
        })
    }

    async fn list_project(&self, project: &str) -> Result<Vec<Listed>, EngineError> {
        self.enter("list").await?;
        let now = Instant::now();
        let mut state = lock(&self.state);
        Ok(state
            .containers
            .values_mut()
            .filter(|c| c.labels.get(crate::labels::PROJECT).map(String::as_str) == Some(project))
            .map(|sim| {
                life::advance_and_emit(&self.events, sim, now);
                Listed {
                    id: sim.id.clone(),
                    name: sim.name.clone(),
                    labels: sim.labels.clone(),
                    state: sim.state_word().into(),
                    status: sim.status_text(now),
                    image_id: format!("sha256:{}", sim.image),
                    created: 0,
                    ports: sim
                        .ports
                        .iter()
                        .map(|&(container, host, ref protocol)| ListedPort {
                            container,
                            host: Some(host),
                            protocol: protocol.clone(),
                        })
                        .collect(),
                }
            })
            .collect())
    }

    async fn has_image(&self, reference: &str) -> Result<bool, EngineError> {
        self.enter("has_image").await?;
        Ok(lock(&self.state).images.contains(reference))
    }

    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageFacts>, EngineError> {
        self.enter("inspect_image").await?;
        Ok(self.image_facts(reference))
    }

    fn save_image(&self, reference: &str) -> ArchiveStream<'_> {
        self.save(reference)
    }

    async fn load_image(&self, archive: ArchiveStream<'static>) -> Result<(), EngineError> {
        self.enter("load_image").await?;
        self.load(archive).await
    }

    async fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        _credentials: Option<Credentials>,
        idle: Duration,
    ) -> Result<(), PullError> {
        // A pull streams progress; from a host that goes silent none comes, and the pull fails
        // after `idle`, as the Docker engine's does.
        tokio::time::timeout(idle, self.enter("pull"))
            .await
            .map_err(|_| EngineError::Timeout(idle))??;
        if self.registry.behaviour(reference).is_none() {
            return Err(PullError::Registry(format!(
                "manifest for {reference} not found: manifest unknown"
            )));
        }
        let mut state = lock(&self.state);
        state.images.insert(reference.to_string());
        state
            .pulls
            .push((reference.to_string(), platform.map(str::to_string)));
        Ok(())
    }

    async fn create(&self, name: &str, what: Create<'_>) -> Result<String, EngineError> {
        self.enter("create").await?;
        let labels = what.labels();
        let image = what.image().to_string();
        let mut state = lock(&self.state);
        if let Some(existing) = state.containers.values().find(|c| c.name == name) {
            return if labels
                .iter()
                .all(|(k, v)| existing.labels.get(k) == Some(v))
            {
                Ok(existing.id.clone())
            } else {
                Err(refused(&format!(
                    "Conflict. The container name \"/{name}\" is already in use"
                )))
            };
        }
        if !state.images.contains(&image) {
            return Err(refused(&format!("No such image: {image}")));
        }
        let behaviour = self.registry.behaviour(&image).unwrap_or(Behaviour::Serves);
        let id = new_id();
        let mut sim = Sim::new(&id, name, &image, labels, behaviour, None);
        match what {
            Create::Replica {
                desired,
                host,
                service,
                identity,
                ..
            } => {
                // As the engine's mount API does, a bind of a missing file is refused; what
                // is bound is what the container reads.
                for bound in
                    crate::contract::mounted_files(desired, host, identity.service, service)
                {
                    let seen = files::bound(&state.host_files, &bound.source, &bound.target);
                    if seen.is_empty() {
                        return Err(files::missing_bind(&bound.source));
                    }
                    sim.files.extend(seen);
                    sim.binds.push(bound.source);
                }
                sim.health = life::HealthPlan::of(service.healthcheck.as_ref());
                sim.restart = service.restart.clone();
                let balanced = service.expose_via.as_ref().map(|e| (e.port, None, "tcp"));
                let ports = service
                    .ports
                    .iter()
                    .map(|p| {
                        let protocol = match p.protocol {
                            Protocol::Tcp => "tcp",
                            Protocol::Udp => "udp",
                        };
                        (p.target, p.published, protocol)
                    })
                    .chain(balanced);
                for (target, published, protocol) in ports {
                    let host = published.unwrap_or_else(|| {
                        state.next_port = state.next_port.wrapping_add(1).max(32768);
                        state.next_port
                    });
                    sim.ports.push((target, host, protocol.to_string()));
                }
            }
            Create::Balancer { .. } => {
                sim.restart = Restart::UnlessStopped;
                sim.balancer = true;
            }
        }
        life::emit(&self.events, "create", &sim);
        state.containers.insert(id.clone(), sim);
        Ok(id)
    }

    async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.enter("start").await?;
        let missing = {
            let state = lock(&self.state);
            state.containers.get(id).and_then(|sim| {
                sim.binds
                    .iter()
                    .find(|p| files::bound(&state.host_files, p, "").is_empty())
                    .cloned()
            })
        };
        if let Some(path) = missing {
            return Err(files::missing_bind(&path));
        }
        let started = self.with_container(id, |sim, _| {
            if sim.running() {
                return None;
            }
            // As the Docker engine does on a start through its API: the count starts over.
            sim.restarts = 0;
            sim.start_now();
            Some(sim.clone())
        });
        match started {
            None => Err(refused(&format!("No such container: {id}"))),
            Some(None) => Ok(()),
            Some(Some(sim)) => {
                life::emit(&self.events, "start", &sim);
                life::follow(Arc::clone(&self.state), self.events.clone(), &sim);
                Ok(())
            }
        }
    }

    async fn stop(&self, id: &str, _grace: Option<Duration>) -> Result<(), EngineError> {
        self.enter("stop").await?;
        let stopped = self.with_container(id, |sim, _| {
            let was = sim.running();
            sim.stop_now(0);
            was.then(|| sim.clone())
        });
        if let Some(Some(sim)) = stopped {
            // Docker signals the process first (SIGTERM): `kill`, then `die` and `stop`.
            life::emit(&self.events, "kill", &sim);
            life::emit(&self.events, "die", &sim);
            life::emit(&self.events, "stop", &sim);
        }
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), EngineError> {
        self.enter("remove").await?;
        let mut state = lock(&self.state);
        if let Some(key) = state.resolve(id) {
            if let Some(sim) = state.containers.remove(&key) {
                life::emit(&self.events, "destroy", &sim);
            }
        }
        Ok(())
    }

    async fn read_file(
        &self,
        id: &str,
        path: &str,
        limit: usize,
    ) -> Result<Option<String>, EngineError> {
        self.enter("read_file").await?;
        Ok(self
            .with_container(id, |sim, _| sim.files.get(path).cloned())
            .flatten()
            .filter(|text| text.len() <= limit))
    }

    async fn write_file(
        &self,
        id: &str,
        dir: &str,
        name: &str,
        text: &str,
    ) -> Result<(), EngineError> {
        self.enter("write_file").await?;
        self.with_container(id, |sim, _| {
            sim.files.insert(format!("{dir}/{name}"), text.to_string());
        })
        .ok_or_else(|| refused(&format!("No such container: {id}")))
    }

    async fn pids(&self, id: &str) -> Result<Vec<String>, EngineError> {
        self.enter("pids").await?;
        Ok(self
            .with_container(id, |sim, _| sim.pids())
            .unwrap_or_default())
    }

    async fn log_tail(&self, id: &str, _lines: usize) -> Result<String, EngineError> {
        self.enter("log_tail").await?;
        Ok(self
            .with_container(id, |sim, _| sim.log.clone())
            .unwrap_or_default())
    }

    async fn signal(&self, id: &str, signal: &str) -> Result<(), EngineError> {
        self.enter("signal").await?;
        let running = self
            .with_container(id, |sim, _| {
                if sim.running() && signal == crate::contract::BALANCER_RELOAD_SIGNAL {
                    sim.generation_of_workers += 1;
                }
                sim.running()
            })
            .ok_or_else(|| refused(&format!("No such container: {id}")))?;
        if !running {
            return Err(refused(&format!("Container {id} is not running")));
        }
        if signal == "SIGKILL" {
            self.kill(id);
        }
        Ok(())
    }

    async fn probe(&self, id: &str) -> Result<Option<Probe>, EngineError> {
        self.enter("probe").await?;
        let now = Instant::now();
        Ok(self.with_container(id, |sim, _| sim.probe(now)))
    }

    fn container_events(
        &self,
        project: &str,
    ) -> BoxStream<'_, Result<ContainerEvent, EngineError>> {
        let project = project.to_string();
        let receiver = self.events.subscribe();
        futures_util::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((Ok(event), receiver)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .filter(move |event| {
            let ours = match event {
                Ok(e) => e.labels.get(crate::labels::PROJECT) == Some(&project),
                Err(_) => true,
            };
            std::future::ready(ours)
        })
        .boxed()
    }

    async fn ensure_network(
        &self,
        name: &str,
        _declared: &Network,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.enter("ensure_network").await?;
        lock(&self.state)
            .networks
            .entry(name.to_string())
            .or_insert(labels);
        Ok(())
    }

    async fn network_exists(&self, name: &str) -> Result<bool, EngineError> {
        self.enter("network_exists").await?;
        Ok(lock(&self.state).networks.contains_key(name))
    }

    async fn ensure_volume(
        &self,
        name: &str,
        _declared: &Volume,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.enter("ensure_volume").await?;
        let now = self.now_unix();
        lock(&self.state)
            .volumes
            .entry(name.to_string())
            .or_insert((now, labels));
        Ok(())
    }

    async fn put_files(
        &self,
        dir: &str,
        image: &str,
        files: &[HostFile],
        _labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.enter("put_files").await?;
        let mut state = lock(&self.state);
        // The engine makes the helper container from the image (by reference, or by the id
        // this engine gives it: `sha256:` and the reference).
        let image = image.strip_prefix("sha256:").unwrap_or(image);
        if !state.images.contains(image) {
            return Err(refused(&format!("No such image: {image}")));
        }
        for file in files {
            state
                .host_files
                .insert(format!("{dir}/{}", file.name), file.clone());
        }
        Ok(())
    }

    async fn volumes_named(&self, part: &str) -> Result<Vec<VolumeInfo>, EngineError> {
        self.enter("volumes_named").await?;
        Ok(lock(&self.state)
            .volumes
            .iter()
            .filter(|(name, _)| name.contains(part))
            .map(|(name, (created, labels))| VolumeInfo {
                name: name.clone(),
                created_at: Some(crate::clock::rfc3339(*created)),
                labels: labels.clone(),
            })
            .collect())
    }

    async fn system_time(&self) -> Result<String, EngineError> {
        self.enter("system_time").await?;
        Ok(crate::clock::rfc3339(self.now_unix()))
    }

    async fn query_socket(&self, path: &str, _request: &str) -> Result<String, EngineError> {
        self.enter("query_socket").await?;
        lock(&self.state).meters.answer(path)
    }

    async fn cpu_usage(&self, id: &str) -> Result<super::CpuUsage, EngineError> {
        self.enter("cpu_usage").await?;
        let now = self.now_secs();
        lock(&self.state).meters.cpu(id, now)
    }

    async fn create_labelled_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        self.enter("create_labelled_volume").await?;
        let now = self.now_unix();
        let mut state = lock(&self.state);
        let (_, labels) = state
            .volumes
            .entry(name.to_string())
            .or_insert((now, labels));
        Ok(labels.clone())
    }

    async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<HashMap<String, String>>, EngineError> {
        self.enter("volume_labels").await?;
        Ok(lock(&self.state).volumes.get(name).map(|(_, l)| l.clone()))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        self.enter("remove_volume").await?;
        lock(&self.state).volumes.remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
