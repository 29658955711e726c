//! Benchmark: fleet on simulated hosts (the in-memory engine), from 50 to 2,000 hosts.
//!
//! Run with `cargo bench --bench simulation`. Every host is a `MemoryEngine` that takes a
//! realistic latency on every call (2 ms unless `FLEET_SIM_LATENCY_MS` says otherwise), and the
//! pipeline is fleet's own, called as `fleet plan` and `fleet apply` call it: observe every host
//! (in parallel), plan, take the project lock on every host, apply under its fence.
//!
//! For each fleet size (`FLEET_SIM_HOSTS`, default `50,500,2000`, `0` for none; 20 replicas per host, four
//! services spread over four zones) it measures planning a fresh fleet, deploying it, and
//! planning it again once it runs; then a rolling update of `FLEET_SIM_ROLLOUT` replicas
//! (default 10,000 of one service over 500 hosts, `parallelism: 100`, 0 to skip) whose image
//! changes. Health checks pass after `FLEET_SIM_HEALTH` (default `1s`).
//!
//! Each phase reports wall time, process CPU time (`getrusage`), the CPU spent inside engine
//! calls (the simulation runs in this process: every poll of an engine call is timed on its
//! thread's CPU clock, so fleet's own share is the rest), and the peak heap above what was
//! allocated when the phase started (a counting global allocator). The tokio runtime has two
//! workers; as in the CLI, the pipeline itself runs in `block_on` on the main thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::stream::BoxStream;

use fleet::apply::{self, Options, Progress};
use fleet::engine::memory::{Behaviour, MemoryEngine, Registry};
use fleet::engine::{
    ArchiveStream, ContainerEvent, Create, Credentials, Engine, EngineError, EngineFacts, HostFile,
    ImageFacts, Listed, Probe, PullError, SharedEngine, VolumeInfo,
};
use fleet::lock::{self, Fence, Hold, Holder};
use fleet::observe::{HostState, Observed, observe_host};
use fleet::payload::Payload;
use fleet::plan::{self, Action, Plan};
use fleet::spec::model::{Network, Volume};
use fleet::spec::{Desired, MemoryFiles, load};

// ---- heap: a counting allocator ----

struct Counting;

static HEAP: AtomicUsize = AtomicUsize::new(0);
static HEAP_PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = HEAP.fetch_add(bytes, Ordering::Relaxed) + bytes;
    HEAP_PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HEAP.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                HEAP.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---- CPU clocks ----

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// CPU time of the whole process (every thread, user and system).
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    // SAFETY: clock_gettime fills the struct it is given.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// What one read of the thread clock costs (the metering's own overhead).
fn thread_clock_cost_ns() -> f64 {
    let n = 200_000;
    let start = thread_cpu_ns();
    for _ in 0..n {
        std::hint::black_box(thread_cpu_ns());
    }
    (thread_cpu_ns() - start) as f64 / n as f64
}

// ---- the engine, metered ----

/// CPU spent inside engine calls, summed over every host.
#[derive(Default)]
struct Meter {
    ns: AtomicU64,
    polls: AtomicU64,
    calls: AtomicU64,
}

impl Meter {
    fn read(&self) -> (u64, u64, u64) {
        (
            self.ns.load(Ordering::Relaxed),
            self.polls.load(Ordering::Relaxed),
            self.calls.load(Ordering::Relaxed),
        )
    }
}

/// A simulated host whose every call has its polls timed on the polling thread's CPU clock:
/// that is the simulation's CPU (state, latency timer, answers), as opposed to fleet's.
struct Metered {
    inner: Arc<MemoryEngine>,
    meter: Arc<Meter>,
}

impl Metered {
    async fn metered<T>(&self, call: impl Future<Output = T>) -> T {
        self.meter.calls.fetch_add(1, Ordering::Relaxed);
        let mut call = std::pin::pin!(call);
        std::future::poll_fn(|cx| {
            let start = thread_cpu_ns();
            let poll = call.as_mut().poll(cx);
            let spent = thread_cpu_ns().saturating_sub(start);
            self.meter.ns.fetch_add(spent, Ordering::Relaxed);
            self.meter.polls.fetch_add(1, Ordering::Relaxed);
            poll
        })
        .await
    }
}

#[async_trait::async_trait]
impl Engine for Metered {
    async fn ping(&self) -> Result<Duration, EngineError> {
        self.metered(self.inner.ping()).await
    }
    async fn facts(&self) -> Result<EngineFacts, EngineError> {
        self.metered(self.inner.facts()).await
    }
    async fn list_project(&self, project: &str) -> Result<Vec<Listed>, EngineError> {
        self.metered(self.inner.list_project(project)).await
    }
    async fn has_image(&self, reference: &str) -> Result<bool, EngineError> {
        self.metered(self.inner.has_image(reference)).await
    }
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageFacts>, EngineError> {
        self.metered(self.inner.inspect_image(reference)).await
    }
    fn save_image(&self, reference: &str) -> ArchiveStream<'_> {
        self.inner.save_image(reference)
    }
    async fn load_image(&self, archive: ArchiveStream<'static>) -> Result<(), EngineError> {
        self.metered(self.inner.load_image(archive)).await
    }
    async fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        credentials: Option<Credentials>,
        idle: Duration,
    ) -> Result<(), PullError> {
        self.metered(self.inner.pull(reference, platform, credentials, idle))
            .await
    }
    async fn create(&self, name: &str, what: Create<'_>) -> Result<String, EngineError> {
        self.metered(self.inner.create(name, what)).await
    }
    async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.metered(self.inner.start(id)).await
    }
    async fn stop(&self, id: &str, grace: Option<Duration>) -> Result<(), EngineError> {
        self.metered(self.inner.stop(id, grace)).await
    }
    async fn remove(&self, id: &str) -> Result<(), EngineError> {
        self.metered(self.inner.remove(id)).await
    }
    async fn read_file(
        &self,
        id: &str,
        path: &str,
        limit: usize,
    ) -> Result<Option<String>, EngineError> {
        self.metered(self.inner.read_file(id, path, limit)).await
    }
    async fn write_file(
        &self,
        id: &str,
        dir: &str,
        name: &str,
        text: &str,
    ) -> Result<(), EngineError> {
        self.metered(self.inner.write_file(id, dir, name, text))
            .await
    }
    async fn pids(&self, id: &str) -> Result<Vec<String>, EngineError> {
        self.metered(self.inner.pids(id)).await
    }
    async fn log_tail(&self, id: &str, lines: usize) -> Result<String, EngineError> {
        self.metered(self.inner.log_tail(id, lines)).await
    }
    async fn signal(&self, id: &str, signal: &str) -> Result<(), EngineError> {
        self.metered(self.inner.signal(id, signal)).await
    }
    async fn probe(&self, id: &str) -> Result<Option<Probe>, EngineError> {
        self.metered(self.inner.probe(id)).await
    }
    fn container_events(
        &self,
        project: &str,
    ) -> BoxStream<'_, Result<ContainerEvent, EngineError>> {
        self.inner.container_events(project)
    }
    async fn ensure_network(
        &self,
        name: &str,
        declared: &Network,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.metered(self.inner.ensure_network(name, declared, labels))
            .await
    }
    async fn network_exists(&self, name: &str) -> Result<bool, EngineError> {
        self.metered(self.inner.network_exists(name)).await
    }
    async fn ensure_volume(
        &self,
        name: &str,
        declared: &Volume,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.metered(self.inner.ensure_volume(name, declared, labels))
            .await
    }
    async fn volumes_named(&self, part: &str) -> Result<Vec<VolumeInfo>, EngineError> {
        self.metered(self.inner.volumes_named(part)).await
    }
    async fn put_files(
        &self,
        dir: &str,
        image: &str,
        files: &[HostFile],
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        self.metered(self.inner.put_files(dir, image, files, labels))
            .await
    }
    async fn system_time(&self) -> Result<String, EngineError> {
        self.metered(self.inner.system_time()).await
    }
    async fn create_labelled_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        self.metered(self.inner.create_labelled_volume(name, labels))
            .await
    }
    async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<HashMap<String, String>>, EngineError> {
        self.metered(self.inner.volume_labels(name)).await
    }
    async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        self.metered(self.inner.remove_volume(name)).await
    }

    async fn query_socket(&self, path: &str, request: &str) -> Result<String, EngineError> {
        self.metered(self.inner.query_socket(path, request)).await
    }

    async fn cpu_usage(&self, id: &str) -> Result<fleet::engine::CpuUsage, EngineError> {
        self.metered(self.inner.cpu_usage(id)).await
    }
}

/// Progress goes nowhere (the CLI would print a line per step).
struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str) {}
    fn host_steps(&self, _: &str, _: usize) {}
    fn step_started(&self, _: &str, _: &str) {}
    fn step_done(&self, _: &str, _: &str, _: bool) {}
    fn note(&self, _: &str) {}
}

// ---- settings ----

struct Settings {
    sizes: Vec<usize>,
    latency: Duration,
    rollout: usize,
    health: String,
}

fn settings() -> Settings {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let sizes = var("FLEET_SIM_HOSTS").map_or_else(
        || vec![50, 500, 2000],
        |v| {
            v.split(',')
                .map(|n| n.trim().parse().expect("FLEET_SIM_HOSTS: e.g. 50,500"))
                .filter(|n| *n > 0)
                .collect()
        },
    );
    let latency_ms: f64 = var("FLEET_SIM_LATENCY_MS")
        .map_or(2.0, |v| v.parse().expect("FLEET_SIM_LATENCY_MS: e.g. 2"));
    let rollout = var("FLEET_SIM_ROLLOUT").map_or(10_000, |v| {
        v.parse().expect("FLEET_SIM_ROLLOUT: e.g. 10000")
    });
    let health = var("FLEET_SIM_HEALTH").unwrap_or_else(|| "1s".into());
    Settings {
        sizes,
        latency: Duration::from_secs_f64(latency_ms / 1000.0),
        rollout,
        health,
    }
}

// ---- the simulated fleet ----

const REPLICAS_PER_HOST: usize = 20;

/// `hosts` hosts over four zones; each service in `services` gets `per_host` replicas on every
/// host (at most that many per host, spread over the zones, so placement is forced to be even).
fn desired(hosts: usize, services: &[(&str, &str)], per_host: usize, health: &str) -> Desired {
    let mut yaml = String::from("project: sim\nhosts:\n");
    for h in 0..hosts {
        yaml.push_str(&format!(
            "  h{h:04}: {{ address: ssh://h{h:04}, labels: {{ zone: z{} }} }}\n",
            h % 4
        ));
    }
    yaml.push_str("services:\n");
    for (name, image) in services {
        yaml.push_str(&format!(
            "  {name}:
    image: {image}
    environment: {{ LOG_LEVEL: info }}
    healthcheck: {{ test: [CMD, /healthcheck], interval: {health}, retries: 3 }}
    deploy:
      replicas: {replicas}
      placement: {{ preferences: [{{ spread: node.labels.zone }}], max_replicas_per_node: {per_host} }}
      update_config: {{ parallelism: 100, monitor: 1s }}
",
            replicas = hosts * per_host,
        ));
    }
    let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml.as_str())]));
    loaded
        .desired
        .unwrap_or_else(|| panic!("invalid simulated state: {:#?}", loaded.diagnostics))
}

struct Sim {
    hosts: Vec<Arc<MemoryEngine>>,
    engines: BTreeMap<String, SharedEngine>,
    meter: Arc<Meter>,
}

fn simulate(desired: &Desired, registry: &Arc<Registry>, latency: Duration) -> Sim {
    let meter = Arc::new(Meter::default());
    let mut hosts = Vec::new();
    let mut engines = BTreeMap::new();
    for name in desired.hosts.keys() {
        let host = MemoryEngine::new(name, Arc::clone(registry));
        host.set_latency(latency);
        hosts.push(Arc::clone(&host));
        let metered: SharedEngine = Arc::new(Metered {
            inner: host,
            meter: Arc::clone(&meter),
        });
        engines.insert(name.clone(), metered);
    }
    Sim {
        hosts,
        engines,
        meter,
    }
}

/// Every host observed in parallel, each bounded, as `fleet plan` and `fleet apply` do.
async fn observe(desired: &Desired, engines: &BTreeMap<String, SharedEngine>) -> Observed {
    let project = desired.project.as_str();
    let seen = join_all(engines.iter().map(|(name, engine)| async move {
        let seen = tokio::time::timeout(
            Duration::from_secs(60),
            observe_host(engine.as_ref(), project),
        )
        .await;
        (name, seen)
    }))
    .await;
    let mut observed = Observed::default();
    for (name, seen) in seen {
        match seen {
            Ok(Ok(seen)) => observed.insert_reachable(name, seen),
            _ => panic!("{name}: not observed"),
        }
    }
    observed
}

fn containers(observed: &Observed) -> usize {
    observed
        .hosts
        .values()
        .map(|h| match h {
            HostState::Reachable { containers } => containers.len(),
            _ => 0,
        })
        .sum()
}

// ---- measuring ----

#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    /// CPU inside engine calls, less the metering's share.
    engine: Duration,
    /// The metering's own cost (two clock reads per poll).
    metering: Duration,
    calls: u64,
    /// Peak heap above the heap at the start of the phase.
    heap_peak: usize,
}

impl Sample {
    fn fleet(&self) -> Duration {
        self.cpu.saturating_sub(self.engine + self.metering)
    }
}

struct Meters {
    clock_cost_ns: f64,
}

impl Meters {
    fn measure<T>(&self, meter: &Meter, f: impl FnOnce() -> T) -> (T, Sample) {
        let heap_start = HEAP.load(Ordering::Relaxed);
        HEAP_PEAK.store(heap_start, Ordering::Relaxed);
        let (ns0, polls0, calls0) = meter.read();
        let cpu0 = process_cpu();
        let start = Instant::now();
        let out = f();
        let wall = start.elapsed();
        let cpu = process_cpu().saturating_sub(cpu0);
        let (ns1, polls1, calls1) = meter.read();
        let polls = (polls1 - polls0) as f64;
        // One clock read per poll lands inside the metered time, one outside it.
        let one_read = Duration::from_nanos((polls * self.clock_cost_ns) as u64);
        let engine = Duration::from_nanos(ns1 - ns0).saturating_sub(one_read);
        let sample = Sample {
            wall,
            cpu,
            engine,
            metering: one_read * 2,
            calls: calls1 - calls0,
            heap_peak: HEAP_PEAK.load(Ordering::Relaxed).saturating_sub(heap_start),
        };
        (out, sample)
    }
}

/// The pure `plan::plan` call alone: median wall time of a few runs.
fn pure_plan(desired: &Desired, observed: &Observed, runs: usize) -> Duration {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let plan = plan::plan(desired, observed, Some("c1")).expect("placeable");
            std::hint::black_box(&plan);
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

struct Row {
    phase: String,
    hosts: usize,
    /// Containers the phase is about (observed, created, or replaced).
    containers: usize,
    sample: Sample,
}

/// Takes the project lock on every host, applies `plan` under its fence (renewed meanwhile),
/// releases the lock: what `fleet apply` does once it has a plan. Also returns how long taking
/// the lock took (host after host, in name order, by design).
async fn apply_locked(desired: &Desired, plan: &Plan, sim: &Sim) -> (apply::Report, Duration) {
    let locking = Instant::now();
    let hold = Arc::new(Hold::new(
        &desired.project,
        Holder::me("apply"),
        lock::LOCK_TTL,
    ));
    lock::lock_all(&sim.engines, &hold, Duration::ZERO, &|_| {})
        .await
        .expect("the lock is free");
    let locking = locking.elapsed();
    let renewing = lock::keep_renewed(Arc::clone(&hold), sim.engines.clone());
    let fence = Fence::of([Arc::clone(&hold)]);
    let report = apply::apply(
        desired,
        &Payload::default(),
        plan,
        &sim.engines,
        &Options::default(),
        &Quiet,
        &fence,
        &AtomicBool::new(false),
    )
    .await;
    drop(renewing);
    hold.release_all(&sim.engines).await;
    (report, locking)
}

fn check(report: &apply::Report, what: &str) {
    assert!(
        report.success,
        "{what} failed: {:?}\n{:#?}",
        report.aborted,
        report
            .steps
            .iter()
            .filter(|s| !s.ok)
            .take(5)
            .collect::<Vec<_>>()
    );
}

fn main() {
    let settings = settings();
    let meters = Meters {
        clock_cost_ns: thread_clock_cost_ns(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let services = [
        ("api", "registry.example.com/api:1.0"),
        ("web", "registry.example.com/web:1.0"),
        ("worker", "registry.example.com/worker:1.0"),
        ("cache", "registry.example.com/cache:1.0"),
    ];
    let registry = Registry::new();
    for (_, image) in services {
        registry.publish(image, Behaviour::Serves);
    }
    println!(
        "fleet on simulated hosts: {:?} per engine call, health checks pass after {}, \
         {} replicas per host over {} services",
        settings.latency,
        settings.health,
        REPLICAS_PER_HOST,
        services.len()
    );

    let mut rows: Vec<Row> = Vec::new();
    let mut pure: Vec<(usize, &str, Duration)> = Vec::new();
    let mut resident: Vec<(usize, usize, usize)> = Vec::new();
    let mut locks: Vec<(usize, Duration)> = Vec::new();
    for &hosts in &settings.sizes {
        let desired = desired(
            hosts,
            &services,
            REPLICAS_PER_HOST / services.len(),
            &settings.health,
        );
        let replicas = hosts * REPLICAS_PER_HOST;
        let heap_empty = HEAP.load(Ordering::Relaxed);
        let sim = simulate(&desired, &registry, settings.latency);
        let heap_hosts = HEAP.load(Ordering::Relaxed);
        let runs = if hosts <= 500 { 5 } else { 3 };

        eprintln!("{hosts} hosts: planning a fresh fleet");
        let (plan, sample) = meters.measure(&sim.meter, || {
            runtime.block_on(async {
                let observed = observe(&desired, &sim.engines).await;
                plan::plan(&desired, &observed, Some("c1")).expect("placeable")
            })
        });
        assert_eq!(plan.count(Action::Create), replicas);
        rows.push(Row {
            phase: "plan, fresh (observe + plan)".into(),
            hosts,
            containers: replicas,
            sample,
        });
        let empty = runtime.block_on(observe(&desired, &sim.engines));
        pure.push((hosts, "fresh", pure_plan(&desired, &empty, runs)));

        eprintln!("{hosts} hosts: deploying {replicas} replicas");
        let ((report, locking), sample) = meters.measure(&sim.meter, || {
            runtime.block_on(apply_locked(&desired, &plan, &sim))
        });
        check(&report, "the deploy");
        locks.push((hosts, locking));
        assert!(
            sim.hosts
                .iter()
                .all(|h| h.containers().iter().filter(|c| c.running).count() == REPLICAS_PER_HOST),
            "every host runs {REPLICAS_PER_HOST} replicas"
        );
        drop((plan, report));
        rows.push(Row {
            phase: "apply, fresh deploy (lock + apply)".into(),
            hosts,
            containers: replicas,
            sample,
        });

        eprintln!("{hosts} hosts: planning the running fleet");
        let ((observed, plan), sample) = meters.measure(&sim.meter, || {
            runtime.block_on(async {
                let observed = observe(&desired, &sim.engines).await;
                let plan = plan::plan(&desired, &observed, Some("c1")).expect("placeable");
                (observed, plan)
            })
        });
        assert_eq!(containers(&observed), replicas);
        assert_eq!(plan.actions().count(), 0, "a deployed fleet plans nothing");
        rows.push(Row {
            phase: "plan, steady (observe + plan)".into(),
            hosts,
            containers: replicas,
            sample,
        });
        drop(plan);
        pure.push((hosts, "steady", pure_plan(&desired, &observed, runs)));
        drop(observed);
        // What the simulated hosts hold for their containers (not fleet's memory).
        resident.push((
            hosts,
            heap_hosts.saturating_sub(heap_empty) / hosts,
            HEAP.load(Ordering::Relaxed).saturating_sub(heap_hosts) / replicas,
        ));
        drop(sim);
    }

    let mut rollout_row = None;
    if settings.rollout > 0 {
        let hosts = settings.rollout.div_ceil(REPLICAS_PER_HOST);
        let before = [("app", "registry.example.com/app:1")];
        let after = [("app", "registry.example.com/app:2")];
        registry.publish(before[0].1, Behaviour::Serves);
        registry.publish(after[0].1, Behaviour::Serves);
        let v1 = desired(hosts, &before, REPLICAS_PER_HOST, &settings.health);
        let v2 = desired(hosts, &after, REPLICAS_PER_HOST, &settings.health);
        let replicas = hosts * REPLICAS_PER_HOST;
        let sim = simulate(&v1, &registry, settings.latency);
        eprintln!("rollout: deploying {replicas} replicas of one service on {hosts} hosts");
        runtime.block_on(async {
            let observed = observe(&v1, &sim.engines).await;
            let plan = plan::plan(&v1, &observed, Some("c1")).expect("placeable");
            check(
                &apply_locked(&v1, &plan, &sim).await.0,
                "the rollout's deploy",
            );
        });
        eprintln!("rollout: changing the image of {replicas} replicas, 100 at a time");
        let ((report, _), sample) = meters.measure(&sim.meter, || {
            runtime.block_on(async {
                let observed = observe(&v2, &sim.engines).await;
                let plan = plan::plan(&v2, &observed, Some("c2")).expect("placeable");
                assert_eq!(plan.count(Action::Replace), replicas);
                apply_locked(&v2, &plan, &sim).await
            })
        });
        check(&report, "the rollout");
        let again = runtime.block_on(async {
            let observed = observe(&v2, &sim.engines).await;
            assert_eq!(containers(&observed), replicas, "old replicas are removed");
            plan::plan(&v2, &observed, Some("c2")).expect("placeable")
        });
        assert_eq!(again.actions().count(), 0, "the rollout converged");
        let row = Row {
            phase: "rollout, image change (observe + plan + lock + apply)".into(),
            hosts,
            containers: replicas,
            sample,
        };
        rollout_row = Some(row);
        drop(sim);
    }

    print_results(&Results {
        rows: &rows,
        rollout: rollout_row.as_ref(),
        pure: &pure,
        resident: &resident,
        locks: &locks,
        meters: &meters,
    });
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

struct Results<'a> {
    rows: &'a [Row],
    rollout: Option<&'a Row>,
    /// The pure plan call: hosts, fresh or steady, median time.
    pure: &'a [(usize, &'a str, Duration)],
    /// Heap the simulated hosts hold: hosts, per host when empty, per running container.
    resident: &'a [(usize, usize, usize)],
    /// Wall time of taking the lock on every host, part of the deploy.
    locks: &'a [(usize, Duration)],
    meters: &'a Meters,
}

fn print_results(results: &Results<'_>) {
    let Results {
        rows,
        rollout,
        pure,
        resident,
        locks,
        meters,
    } = *results;
    println!();
    println!(
        "{:<40} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>8} {:>10} {:>8} {:>8}",
        "phase",
        "hosts",
        "ctrs",
        "wall",
        "CPU",
        "engine",
        "fleet",
        "fleet/c",
        "heap peak",
        "B/ctr",
        "calls"
    );
    for row in rows.iter().chain(rollout) {
        let s = &row.sample;
        let phase: String = row.phase.chars().take(40).collect();
        println!(
            "{:<40} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>6.0}µs {:>10} {:>8} {:>8}",
            phase,
            row.hosts,
            row.containers,
            ms(s.wall),
            ms(s.cpu),
            ms(s.engine),
            ms(s.fleet()),
            s.fleet().as_secs_f64() * 1e6 / row.containers as f64,
            mib(s.heap_peak),
            s.heap_peak / row.containers,
            s.calls,
        );
    }
    println!(
        "\nCPU: process CPU time; engine: inside engine calls (the simulation); fleet: the rest \
         (fleet, tokio, this harness); metering ({:.0} ns per clock read) is left out of both.",
        meters.clock_cost_ns
    );
    let metering: Duration = rows.iter().chain(rollout).map(|r| r.sample.metering).sum();
    println!("Metering cost over all phases: {}.", ms(metering));

    println!("\nGrowth from 500 to 2,000 hosts (4x the hosts):");
    let find = |phase: &str, hosts: usize| {
        rows.iter()
            .find(|r| r.phase == phase && r.hosts == hosts)
            .map(|r| r.sample)
    };
    let phases: Vec<&str> = {
        let mut p: Vec<&str> = rows.iter().map(|r| r.phase.as_str()).collect();
        p.dedup();
        p.sort();
        p.dedup();
        p
    };
    for phase in phases {
        if let (Some(a), Some(b)) = (find(phase, 500), find(phase, 2000)) {
            let ratio = |x: f64, y: f64| if x > 0.0 { y / x } else { f64::NAN };
            println!(
                "  {phase:<40} wall {:>5.1}x  fleet CPU {:>5.1}x  heap peak {:>5.1}x",
                ratio(a.wall.as_secs_f64(), b.wall.as_secs_f64()),
                ratio(a.fleet().as_secs_f64(), b.fleet().as_secs_f64()),
                ratio(a.heap_peak as f64, b.heap_peak as f64),
            );
        }
    }

    println!("\nThe pure plan::plan call (median; target for 500 hosts x 20: < 100 ms):");
    for (hosts, which, d) in pure {
        let smaller = pure
            .iter()
            .filter(|(h, w, _)| w == which && h < hosts)
            .max_by_key(|(h, _, _)| *h);
        let growth = smaller.map_or(String::new(), |(h, _, before)| {
            format!(
                " ({:.1}x the time of {h} hosts for {:.0}x the hosts)",
                d.as_secs_f64() / before.as_secs_f64(),
                *hosts as f64 / *h as f64
            )
        });
        println!(
            "  {hosts:>5} hosts x {REPLICAS_PER_HOST}, {which:<6}: {:>9}{growth}",
            ms(*d)
        );
    }
    println!(
        "\nTaking the project lock on every host, host after host (part of the deploy's wall time):"
    );
    for (hosts, d) in locks {
        let deploy =
            find("apply, fresh deploy (lock + apply)", *hosts).map_or(Duration::ZERO, |s| s.wall);
        println!(
            "  {hosts:>5} hosts: {:>9}, the rest of the deploy {:>9}",
            ms(*d),
            ms(deploy.saturating_sub(*d))
        );
    }
    println!(
        "\nHeap the simulated hosts hold (not fleet's): per empty host, per running container:"
    );
    for (hosts, per_host, per_container) in resident {
        println!("  {hosts:>5} hosts: {per_host} B, {per_container} B");
    }
    if let Some(row) = rollout {
        let per = row.sample.fleet().as_secs_f64() * 1000.0 / row.containers as f64;
        println!(
            "\nRollout: fleet CPU per replaced replica {per:.3} ms (target < 1 ms); \
             {} engine calls, {:.1} per replica.",
            row.sample.calls,
            row.sample.calls as f64 / row.containers as f64
        );
    }
}
