//! Benchmark: `fleet apply` on the testbed (`testbed/testbed.sh up 6`), beside Docker Swarm.
//!
//! 1. Project `bench100`: 100 replicas of fleet-demo:1 (health-checked) over every testbed host,
//!    from nothing to converged, then scaled down to 0 by a second commit.
//! 2. Project `benchroll`, on fh6 only: a rolling update of 4 replicas fleet-demo:1 -> :2
//!    (parallelism 1, start-first, monitor 5s; then parallelism 4, monitor 1s), and the same
//!    update of a Swarm service `benchroll` on the same engine with the same images, health check
//!    and update settings. fleet's overhead per step is the step's time minus the time its
//!    replica took to become healthy (from fleet's own step lines).
//!
//! Besides each command's wall time, a poller reports when the engine actually converged (4
//! running, healthy containers of the new image): `docker service update --detach=false` waits
//! one more `monitor` after that to check the tasks stay up.
//!
//! Run with `cargo bench --bench apply`. It touches only its own projects, the Swarm service
//! `benchroll` and a Swarm on fh6 that it creates itself (it refuses to start when fh6 is
//! already in a Swarm), and removes all of them on the way out, also after a failure.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `cargo bench` builds the binary with the release profile: this is `target/release/fleet`.
const FLEET: &str = env!("CARGO_BIN_EXE_fleet");
/// The one engine for the side-by-side rolling updates; also the only host that may join a Swarm.
const ROLL_HOST: usize = 6;
const ROLL_REPLICAS: usize = 4;
/// Timed rolling updates per configuration and tool (the median is reported).
const ROLL_RUNS: usize = 3;
const HEALTH: &str = r#"    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/"]
      interval: 1s
      start_interval: 100ms
      start_period: 10s
"#;

type Result<T, E = String> = std::result::Result<T, E>;

fn main() {
    let testbed = match Testbed::open() {
        Ok(testbed) => testbed,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!("fleet binary: {FLEET}");
    let mut table = Table::default();
    let mut failed = false;
    if let Err(e) = hundred(&testbed, &mut table) {
        eprintln!("error: 100 replicas: {e}");
        failed = true;
    }
    if let Err(e) = rolling(&testbed, &mut table) {
        eprintln!("error: rolling update: {e}");
        failed = true;
    }
    table.print();
    let leftovers = testbed.leftovers();
    if leftovers.is_empty() {
        println!("testbed clean: no bench100/benchroll containers, fh{ROLL_HOST} not in a Swarm");
    } else {
        eprintln!("error: left behind: {}", leftovers.join("; "));
        failed = true;
    }
    std::process::exit(i32::from(failed));
}

// ------------------------------------------------------------------------------------ scenarios

/// 100 replicas over every host from nothing, then the commit that scales them to 0.
fn hundred(testbed: &Testbed, table: &mut Table) -> Result<()> {
    const PROJECT: &str = "bench100";
    const REPLICAS: usize = 100;
    let _cleanup = Cleanup {
        testbed,
        project: PROJECT,
    };
    testbed.require_empty(PROJECT)?;
    let mut repo = Repo::new(PROJECT, &testbed.hosts_yaml(&testbed.all_hosts())?)?;
    let service = |replicas: usize| {
        format!(
            "  web:\n    image: fleet-demo:1\n{HEALTH}    deploy:\n      replicas: {replicas}\n      update_config:\n        monitor: 10s\n"
        )
    };

    repo.commit(&service(REPLICAS))?;
    let up = repo.apply(testbed)?;
    let (running, healthy, per_host) = testbed.census(PROJECT)?;
    let created = up.steps.iter().filter(|s| s.kind == "create").count();
    println!(
        "apply {REPLICAS} replicas: {:.1}s ({created} created; running per host {per_host:?}, {healthy} of {running} healthy)",
        up.seconds
    );
    if running != REPLICAS || healthy != REPLICAS {
        return Err(format!(
            "after the apply, {running} replicas run and {healthy} are healthy, not {REPLICAS}"
        ));
    }
    table.row(
        &format!("apply {REPLICAS} replicas, {} hosts", testbed.hosts),
        Some(up.seconds),
        None,
        None,
    );

    repo.commit(&service(0))?;
    let down = repo.apply(testbed)?;
    let removed = down.steps.iter().filter(|s| s.kind == "remove").count();
    let (running, _, _) = testbed.census(PROJECT)?;
    println!(
        "scale {REPLICAS} -> 0: {:.1}s ({removed} removed, {running} still running)",
        down.seconds
    );
    if running != 0 {
        return Err(format!("{running} replicas still run after scaling to 0"));
    }
    table.row(
        &format!("scale {REPLICAS} -> 0"),
        Some(down.seconds),
        None,
        None,
    );
    Ok(())
}

/// One rolling-update configuration, shared by both tools.
struct Rollout {
    parallelism: usize,
    monitor: &'static str,
}

const ROLLOUTS: [Rollout; 2] = [
    Rollout {
        parallelism: 1,
        monitor: "5s",
    },
    Rollout {
        parallelism: 4,
        monitor: "1s",
    },
];

impl Rollout {
    fn label(&self) -> String {
        format!(
            "roll {ROLL_REPLICAS}, parallelism {}, monitor {}",
            self.parallelism, self.monitor
        )
    }
}

/// Per configuration: the timed updates of each tool, and when the engine converged.
#[derive(Default)]
struct RollFigures {
    fleet: Vec<f64>,
    fleet_converged: Vec<f64>,
    overheads: Vec<f64>,
    outside: Vec<f64>,
    swarm: Vec<f64>,
    swarm_converged: Vec<f64>,
    error: Vec<String>,
}

fn rolling(testbed: &Testbed, table: &mut Table) -> Result<()> {
    let mut figures: Vec<RollFigures> = ROLLOUTS.iter().map(|_| RollFigures::default()).collect();
    // fleet first, on a plain engine; then the Swarm, which exists only for its own runs.
    for (rollout, figures) in ROLLOUTS.iter().zip(&mut figures) {
        if let Err(e) = fleet_rolling(testbed, rollout, figures) {
            figures.error.push(format!("fleet: {e}"));
        }
    }
    let swarm = Swarm::init(testbed);
    match &swarm {
        Ok(swarm) => {
            for (rollout, figures) in ROLLOUTS.iter().zip(&mut figures) {
                if let Err(e) = swarm_rolling(testbed, swarm, rollout, figures) {
                    figures.error.push(format!("swarm: {e}"));
                }
            }
        }
        Err(e) => eprintln!("error: no Swarm on fh{ROLL_HOST}: {e}"),
    }
    drop(swarm);

    let mut errors = Vec::new();
    for (rollout, figures) in ROLLOUTS.iter().zip(&figures) {
        let overhead = (!figures.overheads.is_empty()).then(|| {
            let mean = figures.overheads.iter().sum::<f64>() / figures.overheads.len() as f64;
            let max = figures.overheads.iter().copied().fold(f64::MIN, f64::max);
            (mean, max)
        });
        table.row(
            &rollout.label(),
            median(&figures.fleet),
            median(&figures.swarm),
            overhead,
        );
        table.row(
            "  ... until converged (poller)",
            median(&figures.fleet_converged),
            median(&figures.swarm_converged),
            None,
        );
        table.row(
            "  ... fleet outside its batches",
            median(&figures.outside),
            None,
            None,
        );
        errors.extend(
            figures
                .error
                .iter()
                .map(|e| format!("{}: {e}", rollout.label())),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn fleet_rolling(testbed: &Testbed, rollout: &Rollout, figures: &mut RollFigures) -> Result<()> {
    const PROJECT: &str = "benchroll";
    let _cleanup = Cleanup {
        testbed,
        project: PROJECT,
    };
    testbed.require_empty(PROJECT)?;
    let mut repo = Repo::new(PROJECT, &testbed.hosts_yaml(&[ROLL_HOST])?)?;
    let service = |image: &str, replicas: usize| {
        format!(
            "  web:\n    image: {image}\n{HEALTH}    deploy:\n      replicas: {replicas}\n      update_config:\n        parallelism: {}\n        order: start-first\n        monitor: {}\n",
            rollout.parallelism, rollout.monitor
        )
    };
    let label = format!("label=fleet.project={PROJECT}");

    repo.commit(&service("fleet-demo:1", ROLL_REPLICAS))?;
    let deployed = repo.apply(testbed)?;
    println!(
        "fleet, {}: deployed fleet-demo:1 in {:.1}s",
        rollout.label(),
        deployed.seconds
    );
    let mut result = Ok(());
    for run in 0..ROLL_RUNS {
        let image = ["fleet-demo:2", "fleet-demo:1"][run % 2];
        repo.commit(&service(image, ROLL_REPLICAS))?;
        let poller = Poller::start(testbed, ROLL_HOST, &label, image);
        let applied = repo.apply(testbed);
        let converged = poller.finish();
        let applied = match applied {
            Ok(applied) => applied,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let replaces: Vec<&Step> = applied
            .steps
            .iter()
            .filter(|s| s.kind == "replace")
            .collect();
        let overheads: Vec<f64> = replaces
            .iter()
            .filter_map(|s| Some(s.seconds - s.healthy_after?))
            .collect();
        // Steps in the order they ended, cut into batches as fleet cuts them.
        let batches: f64 = replaces
            .chunks(rollout.parallelism)
            .map(|batch| batch.iter().map(|s| s.seconds).fold(0.0, f64::max))
            .sum();
        println!(
            "fleet, {}: to {image} in {:.1}s, converged at {}, steps {}",
            rollout.label(),
            applied.seconds,
            secs(converged),
            replaces
                .iter()
                .map(|s| format!(
                    "{:.1}s (healthy after {})",
                    s.seconds,
                    secs(s.healthy_after)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if replaces.len() != ROLL_REPLICAS || overheads.len() != ROLL_REPLICAS {
            result = Err(format!(
                "expected {ROLL_REPLICAS} replace steps reporting `healthy after`, fleet printed:\n{}",
                applied.output
            ));
            break;
        }
        figures.fleet.push(applied.seconds);
        figures.fleet_converged.extend(converged);
        figures.overheads.extend(overheads);
        figures.outside.push(applied.seconds - batches);
    }

    // Leave the engine as it was: fleet itself removes its replicas.
    repo.commit(&service("fleet-demo:1", 0))?;
    let down = repo.apply(testbed)?;
    println!(
        "fleet, {}: scaled to 0 in {:.1}s",
        rollout.label(),
        down.seconds
    );
    result
}

fn swarm_rolling(
    testbed: &Testbed,
    swarm: &Swarm,
    rollout: &Rollout,
    figures: &mut RollFigures,
) -> Result<()> {
    let label = format!("label=com.docker.swarm.service.name={}", Swarm::SERVICE);
    let parallelism = rollout.parallelism.to_string();
    let mut create: Vec<&str> = vec![
        "service",
        "create",
        "--detach=false",
        "--no-resolve-image",
        "--name",
        Swarm::SERVICE,
        "--replicas",
    ];
    let replicas = ROLL_REPLICAS.to_string();
    create.push(&replicas);
    create.extend([
        "--health-cmd",
        "wget -qO- http://127.0.0.1:8080/",
        "--health-interval",
        "1s",
        "--health-start-period",
        "10s",
    ]);
    if swarm.start_interval {
        create.extend(["--health-start-interval", "100ms"]);
    }
    create.extend([
        "--update-parallelism",
        &parallelism,
        "--update-order",
        "start-first",
        "--update-monitor",
        rollout.monitor,
        "fleet-demo:1",
    ]);
    let created = testbed.docker(ROLL_HOST, &create, Duration::from_secs(120))?;
    println!(
        "swarm, {}: deployed fleet-demo:1 in {:.1}s",
        rollout.label(),
        created.seconds
    );
    let mut result = Ok(());
    for run in 0..ROLL_RUNS {
        let image = ["fleet-demo:2", "fleet-demo:1"][run % 2];
        let poller = Poller::start(testbed, ROLL_HOST, &label, image);
        let updated = testbed.docker(
            ROLL_HOST,
            &[
                "service",
                "update",
                "--detach=false",
                "--no-resolve-image",
                "--image",
                image,
                Swarm::SERVICE,
            ],
            Duration::from_secs(120),
        );
        let converged = poller.finish();
        let updated = match updated {
            Ok(updated) => updated,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        println!(
            "swarm, {}: to {image} in {:.1}s, converged at {}",
            rollout.label(),
            updated.seconds,
            secs(converged)
        );
        figures.swarm.push(updated.seconds);
        figures.swarm_converged.extend(converged);
    }
    swarm.remove_service()?;
    result
}

// ------------------------------------------------------------------------------------- testbed

struct Testbed {
    dir: PathBuf,
    hosts: usize,
}

impl Testbed {
    fn open() -> Result<Testbed> {
        let dir = PathBuf::from(
            std::env::var("FLEET_TESTBED_DIR").unwrap_or_else(|_| "/tmp/fleet-testbed".into()),
        );
        let hosts: usize = std::fs::read_to_string(dir.join("hosts"))
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .ok_or("the testbed is not up: run `testbed/testbed.sh up 6`")?;
        if hosts < ROLL_HOST {
            return Err(format!(
                "the testbed has {hosts} hosts; this benchmark needs fh{ROLL_HOST}: run `testbed/testbed.sh up 6`"
            ));
        }
        Ok(Testbed { dir, hosts })
    }

    fn all_hosts(&self) -> Vec<usize> {
        (1..=self.hosts).collect()
    }

    /// The `hosts:` section for fleet.yaml, copied from the testbed's inventory.
    fn hosts_yaml(&self, hosts: &[usize]) -> Result<String> {
        let path = self.dir.join("inventory.yaml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut blocks: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if let Some(name) = line
                .strip_prefix("  ")
                .filter(|l| !l.starts_with(' '))
                .and_then(|l| l.strip_suffix(':'))
            {
                blocks.push((name.to_string(), format!("{line}\n")));
            } else if line.starts_with("    ")
                && let Some((_, block)) = blocks.last_mut()
            {
                block.push_str(line);
                block.push('\n');
            }
        }
        let mut out = String::from("hosts:\n");
        for i in hosts {
            let name = format!("fh{i}");
            let (_, block) = blocks
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| format!("{} has no host {name}", path.display()))?;
            out.push_str(block);
        }
        Ok(out)
    }

    fn socket(&self, host: usize) -> String {
        format!(
            "unix://{}",
            self.dir.join(format!("fh{host}/docker.sock")).display()
        )
    }

    /// The docker CLI on one host's engine; fails unless it exits 0.
    fn docker(&self, host: usize, args: &[&str], limit: Duration) -> Result<Timed> {
        let mut cmd = Command::new("docker");
        cmd.args(["-H", &self.socket(host)]).args(args);
        let run = run(cmd, limit)?;
        if !run.output.status.success() {
            return Err(format!(
                "`docker {}` on fh{host}: {}",
                args.join(" "),
                String::from_utf8_lossy(&run.output.stderr).trim()
            ));
        }
        Ok(run)
    }

    fn lines(&self, host: usize, args: &[&str]) -> Result<Vec<String>> {
        let run = self.docker(host, args, Duration::from_secs(30))?;
        Ok(String::from_utf8_lossy(&run.output.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect())
    }

    /// Running replicas of a project (every host), how many are healthy, and per host.
    fn census(&self, project: &str) -> Result<(usize, usize, Vec<usize>)> {
        let label = format!("label=fleet.project={project}");
        let (mut running, mut healthy, mut per_host) = (0, 0, Vec::new());
        for host in self.all_hosts() {
            let lines = self.lines(host, &["ps", "--filter", &label, "--format", "{{.Status}}"])?;
            running += lines.len();
            healthy += lines.iter().filter(|l| l.contains("(healthy)")).count();
            per_host.push(lines.len());
        }
        Ok((running, healthy, per_host))
    }

    /// Refuses to start over containers of this project: they would be a previous run's, or
    /// someone else's.
    fn require_empty(&self, project: &str) -> Result<()> {
        let label = format!("label=fleet.project={project}");
        for host in self.all_hosts() {
            let ids = self.lines(host, &["ps", "-aq", "--filter", &label])?;
            if !ids.is_empty() {
                return Err(format!(
                    "fh{host} already holds {} containers of project {project}; remove them first",
                    ids.len()
                ));
            }
        }
        Ok(())
    }

    /// What this benchmark could have left behind, host by host.
    fn leftovers(&self) -> Vec<String> {
        let mut found = Vec::new();
        for host in self.all_hosts() {
            for project in ["bench100", "benchroll"] {
                let label = format!("label=fleet.project={project}");
                match self.lines(host, &["ps", "-aq", "--filter", &label]) {
                    Ok(ids) if ids.is_empty() => {}
                    Ok(ids) => found.push(format!("fh{host}: {} of {project}", ids.len())),
                    Err(e) => found.push(e),
                }
            }
        }
        match self.swarm_state() {
            Ok(state) if state == "inactive" => {}
            Ok(state) => found.push(format!("fh{ROLL_HOST}: Swarm {state}")),
            Err(e) => found.push(e),
        }
        found
    }

    fn swarm_state(&self) -> Result<String> {
        let lines = self.lines(
            ROLL_HOST,
            &["info", "--format", "{{.Swarm.LocalNodeState}}"],
        )?;
        Ok(lines.concat())
    }
}

/// Removes what a project left on the hosts straight through the engines when dropped
/// (containers, the lock of a killed run, fleet's networks), also while unwinding from a panic.
/// The normal path has already scaled to 0 with fleet itself; this is the safety net.
struct Cleanup<'a> {
    testbed: &'a Testbed,
    project: &'static str,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let label = format!("label=fleet.project={}", self.project);
        for host in self.testbed.all_hosts() {
            let t = self.testbed;
            if let Ok(ids) = t.lines(host, &["ps", "-aq", "--filter", &label])
                && !ids.is_empty()
            {
                eprintln!(
                    "cleanup: removing {} leftover containers of {} on fh{host}",
                    ids.len(),
                    self.project
                );
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                if let Err(e) = t.docker(host, &args, Duration::from_secs(60)) {
                    eprintln!("cleanup: {e}");
                }
            }
            let lock = format!("fleet-lock-{}", self.project);
            if let Ok(volumes) = t.lines(
                host,
                &["volume", "ls", "-q", "--filter", &format!("name=^{lock}$")],
            ) && !volumes.is_empty()
            {
                eprintln!("cleanup: removing the lock {lock} on fh{host}");
                let _ = t.docker(host, &["volume", "rm", &lock], Duration::from_secs(30));
            }
            if let Ok(networks) = t.lines(host, &["network", "ls", "-q", "--filter", &label]) {
                for id in networks {
                    let _ = t.docker(host, &["network", "rm", &id], Duration::from_secs(30));
                }
            }
        }
    }
}

/// A single-node Swarm on fh6, made by this benchmark and left (with its service) when dropped.
struct Swarm<'a> {
    testbed: &'a Testbed,
    /// Engines before API 1.44 (Docker 25) have no health-check start interval; the CLI
    /// refuses the flag, and fleet's `start_interval` is ignored by them alike.
    start_interval: bool,
    /// `docker_gwbridge` is made by `swarm init` and outlives `swarm leave`.
    made_gwbridge: bool,
}

impl<'a> Swarm<'a> {
    const SERVICE: &'static str = "benchroll";

    fn init(testbed: &'a Testbed) -> Result<Swarm<'a>> {
        let state = testbed.swarm_state()?;
        if state != "inactive" {
            return Err(format!(
                "fh{ROLL_HOST} is already in a Swarm ({state}), not made by this benchmark: \
                 not touching it"
            ));
        }
        let api = testbed.lines(
            ROLL_HOST,
            &["version", "--format", "{{.Server.APIVersion}}"],
        )?;
        let api = api.concat();
        let start_interval = api_at_least(&api, (1, 44));
        if !start_interval {
            println!(
                "note: fh{ROLL_HOST}'s engine speaks API {api}: no health-check start interval \
                 (needs 1.44); Swarm runs without it, fleet's start_interval is ignored by the engine"
            );
        }
        let gwbridge = testbed.lines(
            ROLL_HOST,
            &["network", "ls", "-q", "--filter", "name=^docker_gwbridge$"],
        )?;
        // The guard exists only once the Swarm does: a failed init may mean someone else's
        // Swarm appeared meanwhile, and that one is not ours to leave.
        testbed.docker(
            ROLL_HOST,
            &[
                "swarm",
                "init",
                "--advertise-addr",
                &format!("10.250.{ROLL_HOST}.2"),
            ],
            Duration::from_secs(60),
        )?;
        Ok(Swarm {
            testbed,
            start_interval,
            made_gwbridge: gwbridge.is_empty(),
        })
    }

    /// Removes the service and waits until its containers are gone.
    fn remove_service(&self) -> Result<()> {
        let t = self.testbed;
        let existing = t.lines(
            ROLL_HOST,
            &[
                "service",
                "ls",
                "-q",
                "--filter",
                &format!("name={}", Self::SERVICE),
            ],
        )?;
        if !existing.is_empty() {
            t.docker(
                ROLL_HOST,
                &["service", "rm", Self::SERVICE],
                Duration::from_secs(30),
            )?;
        }
        let label = format!("label=com.docker.swarm.service.name={}", Self::SERVICE);
        let start = Instant::now();
        loop {
            let ids = t.lines(ROLL_HOST, &["ps", "-aq", "--filter", &label])?;
            if ids.is_empty() {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "{} containers of the Swarm service are still there 60s after `service rm`",
                    ids.len()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Swarm<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.remove_service() {
            eprintln!("cleanup: {e}");
        }
        let t = self.testbed;
        if let Err(e) = t.docker(
            ROLL_HOST,
            &["swarm", "leave", "--force"],
            Duration::from_secs(60),
        ) {
            eprintln!("cleanup: {e}");
        }
        if self.made_gwbridge {
            let _ = t.docker(
                ROLL_HOST,
                &["network", "rm", "docker_gwbridge"],
                Duration::from_secs(30),
            );
        }
    }
}

fn api_at_least(version: &str, want: (u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= want
}

/// Watches one engine from the start of an update: the time at which exactly `ROLL_REPLICAS`
/// containers matching `filter` run, all of `image` and healthy.
struct Poller {
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Option<f64>>,
}

impl Poller {
    fn start(testbed: &Testbed, host: usize, filter: &str, image: &str) -> Poller {
        let done = Arc::new(AtomicBool::new(false));
        let (socket, filter, image) = (testbed.socket(host), filter.to_string(), image.to_string());
        let flag = Arc::clone(&done);
        let start = Instant::now();
        let thread = std::thread::spawn(move || {
            // The command returns before this gives up: allow it a moment to see the end state.
            let mut grace: Option<Instant> = None;
            while grace.is_none_or(|g| g.elapsed() < Duration::from_secs(2)) {
                if grace.is_none() && flag.load(Ordering::SeqCst) {
                    grace = Some(Instant::now());
                }
                let out = Command::new("docker")
                    .args(["-H", &socket, "ps", "--filter", &filter])
                    .args(["--format", "{{.Image}}\t{{.Status}}"])
                    .output();
                let at = start.elapsed().as_secs_f64();
                if let Ok(out) = out {
                    let text = String::from_utf8_lossy(&out.stdout).to_string();
                    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
                    let good = lines
                        .iter()
                        .filter(|l| l.starts_with(&format!("{image}\t")) && l.contains("(healthy)"))
                        .count();
                    if out.status.success() && lines.len() == ROLL_REPLICAS && good == ROLL_REPLICAS
                    {
                        return Some(at);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            None
        });
        Poller { done, thread }
    }

    fn finish(self) -> Option<f64> {
        self.done.store(true, Ordering::SeqCst);
        self.thread.join().ok().flatten()
    }
}

// ---------------------------------------------------------------------------------- fleet runs

/// A temporary git repository holding one project's fleet.yaml.
struct Repo {
    dir: tempfile::TempDir,
    head: String,
    commits: usize,
}

impl Repo {
    fn new(project: &str, hosts_yaml: &str) -> Result<Repo> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let repo = Repo {
            dir,
            head: format!("project: {project}\n{hosts_yaml}"),
            commits: 0,
        };
        repo.git(&["init", "-q"])?;
        Ok(repo)
    }

    fn git(&self, args: &[&str]) -> Result<()> {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.dir.path()).args(args);
        let run = run(cmd, Duration::from_secs(30))?;
        if !run.output.status.success() {
            return Err(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&run.output.stderr).trim()
            ));
        }
        Ok(())
    }

    /// Commits fleet.yaml with these services.
    fn commit(&mut self, services: &str) -> Result<()> {
        let yaml = format!("{}services:\n{services}", self.head);
        std::fs::write(self.dir.path().join("fleet.yaml"), yaml).map_err(|e| e.to_string())?;
        self.commits += 1;
        self.git(&["add", "fleet.yaml"])?;
        self.git(&[
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=b",
            "commit",
            "-q",
            "-m",
            &format!("bench {}", self.commits),
        ])
    }

    /// `fleet apply --yes`; fails unless fleet reports success.
    fn apply(&self, testbed: &Testbed) -> Result<Applied> {
        apply_in(self.dir.path(), testbed)
    }
}

fn apply_in(dir: &Path, testbed: &Testbed) -> Result<Applied> {
    let mut cmd = Command::new(FLEET);
    cmd.current_dir(dir)
        .args(["apply", "--yes"])
        .env(
            "FLEET_KNOWN_HOSTS",
            testbed.dir.join("known_hosts").as_os_str(),
        )
        .env("FLEET_SSH_CONFIG", "/dev/null")
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK");
    let run = run(cmd, Duration::from_secs(600))?;
    let stdout = String::from_utf8_lossy(&run.output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&run.output.stderr).to_string();
    if !run.output.status.success() {
        return Err(format!(
            "`fleet apply --yes` failed ({}):\n{stdout}{stderr}",
            run.output.status
        ));
    }
    Ok(Applied {
        seconds: run.seconds,
        steps: stdout.lines().filter_map(Step::parse).collect(),
        output: format!("{stdout}{stderr}"),
    })
}

struct Applied {
    seconds: f64,
    steps: Vec<Step>,
    output: String,
}

/// One step line of fleet's plain output, e.g.
/// `[   1.5s] fh6: ok replace web.0 benchroll-web-0-1a2b3c4d: healthy after 1.0s (1.5s)`.
#[derive(Debug, PartialEq)]
struct Step {
    kind: String,
    seconds: f64,
    healthy_after: Option<f64>,
}

impl Step {
    fn parse(line: &str) -> Option<Step> {
        let (_, rest) = line.split_once("] ")?;
        let (_host, rest) = rest.split_once(": ok ")?;
        let (kind, rest) = rest.split_once(' ')?;
        let seconds = rest.strip_suffix("s)")?.rsplit_once(" (")?.1.parse().ok()?;
        let healthy_after = rest
            .split_once("healthy after ")
            .and_then(|(_, t)| t.split_once('s'))
            .and_then(|(t, _)| t.parse().ok());
        Some(Step {
            kind: kind.to_string(),
            seconds,
            healthy_after,
        })
    }
}

// ------------------------------------------------------------------------------------- helpers

struct Timed {
    seconds: f64,
    output: Output,
}

/// Runs a command to the end, bounded: a hung SSH session or engine must not hang the benchmark.
fn run(mut cmd: Command, limit: Duration) -> Result<Timed> {
    let what = format!("{cmd:?}");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} did not finish within {limit:?} (a host or engine not answering?)"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("{what}: {e}")),
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    Ok(Timed {
        seconds,
        output: Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        },
    })
}

fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

fn secs(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "-".to_string(), |s| format!("{s:.1}s"))
}

#[derive(Default)]
struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    fn row(
        &mut self,
        scenario: &str,
        fleet: Option<f64>,
        swarm: Option<f64>,
        overhead: Option<(f64, f64)>,
    ) {
        self.rows.push([
            scenario.to_string(),
            secs(fleet),
            secs(swarm),
            overhead.map_or_else(
                || "-".to_string(),
                |(mean, max)| format!("{mean:.2}s / {max:.2}s"),
            ),
        ]);
    }

    fn print(&self) {
        println!();
        println!(
            "{:<40} {:>8} {:>8}  fleet overhead per step, mean / max",
            "scenario", "fleet", "swarm"
        );
        for [scenario, fleet, swarm, overhead] in &self.rows {
            println!("{scenario:<40} {fleet:>8} {swarm:>8}  {overhead}");
        }
        println!(
            "(rolling updates: median of {ROLL_RUNS}; overhead = step time - `healthy after`, both as fleet prints them, to 0.1s)"
        );
    }
}
