//! Benchmark: `fleet apply` on the testbed (`testbed/testbed.sh up 6`).
//!
//! 1. Deploy 100 containers over every testbed host from nothing, then scale them to 0.
//! 2. A rolling update of 4 replicas (fleet-demo:1 -> :2, same health check) on one engine (fh6),
//!    side by side with a Docker Swarm service on the same engine and image with the same
//!    parallelism, order and monitor: Swarm's defaults (parallelism 1, stop-first, monitor 5s)
//!    and parallelism 4 with monitor 1s. For fleet, the time beyond the health checks is
//!    reported per batch: a step's duration minus the time its replica took to become healthy
//!    (target: under 0.3 s).
//!
//! Run with `cargo bench --bench apply_testbed`. It cleans up what it made (containers, the
//! Swarm, which it leaves) even when a step fails.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use common::Repo;

const HEALTH: &str = "    healthcheck:
      test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/']
      interval: 1s
      start_period: 10s
";

struct Testbed {
    dir: PathBuf,
    hosts: usize,
}

impl Testbed {
    fn hosts_yaml(&self, hosts: &[usize]) -> String {
        let mut out = String::from("hosts:\n");
        for i in hosts {
            out.push_str(&format!(
                "  fh{i}:\n    address: ssh://root@10.250.{i}.2\n    docker_socket: {}\n    identity_file: {}\n",
                self.dir.join(format!("fh{i}/docker.sock")).display(),
                self.dir.join("client/id_ed25519").display()
            ));
        }
        out
    }

    fn docker(&self, host: usize, args: &[&str]) -> Result<String, String> {
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!(
                "unix://{}",
                self.dir.join(format!("fh{host}/docker.sock")).display()
            ))
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!(
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// `fleet apply --yes`: wall time and stdout.
fn apply(repo: &Repo, testbed: &Testbed) -> (Duration, String) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .current_dir(repo.path())
        .args(["apply", "--yes"])
        .env_remove("SSH_AUTH_SOCK")
        .env("FLEET_SSH_CONFIG", "/dev/null")
        .env("FLEET_KNOWN_HOSTS", testbed.dir.join("known_hosts"))
        .output()
        .expect("run fleet");
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "fleet apply failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, stdout)
}

/// Per replaced replica: (fleet's own seconds, engine seconds) from lines like
/// `[   1.5s] fh6: ok replace web.0 name: healthy after 1.02s, engine 0.38s (1.45s)`: the step
/// minus the wait for health minus the engine's stop/create/start calls.
fn overheads(stdout: &str) -> Vec<(f64, f64)> {
    stdout
        .lines()
        .filter(|l| l.contains(": ok replace "))
        .filter_map(|l| {
            let rest = l.split("healthy after ").nth(1)?;
            let (healthy, rest) = rest.split_once("s, engine ")?;
            let (engine, rest) = rest.split_once("s (")?;
            let step = rest.strip_suffix("s)")?;
            let (healthy, engine, step): (f64, f64, f64) = (
                healthy.parse().ok()?,
                engine.parse().ok()?,
                step.parse().ok()?,
            );
            Some((step - healthy - engine, engine))
        })
        .collect()
}

fn hundred(testbed: &Testbed) {
    let hosts: Vec<usize> = (1..=testbed.hosts).collect();
    let repo = Repo::new();
    let state = |replicas: u32| {
        format!(
            "project: bench-apply100\n{}services:\n  web:\n    image: fleet-demo:1\n    deploy:\n      replicas: {replicas}\n      update_config: {{ monitor: 1s }}\n",
            testbed.hosts_yaml(&hosts)
        )
    };
    repo.commit(&state(100));
    let (up, _) = apply(&repo, testbed);
    repo.commit(&state(0));
    let (down, _) = apply(&repo, testbed);
    println!(
        "fleet apply, 100 containers over {} hosts: create {up:.1?} (monitor 1s included), remove {down:.1?}",
        hosts.len()
    );
}

struct Swarm<'a>(&'a Testbed);

impl Drop for Swarm<'_> {
    fn drop(&mut self) {
        let _ = self.0.docker(6, &["service", "rm", "bench-roll"]);
        let _ = self.0.docker(6, &["swarm", "leave", "--force"]);
    }
}

fn swarm_roll(testbed: &Testbed, parallelism: u32, order: &str, monitor: &str) -> Duration {
    let _swarm = Swarm(testbed);
    testbed
        .docker(6, &["swarm", "init", "--advertise-addr", "10.250.6.2"])
        .expect("swarm init");
    testbed
        .docker(
            6,
            &[
                "service",
                "create",
                "--detach=false",
                "--quiet",
                "--no-resolve-image",
                "--name",
                "bench-roll",
                "--replicas",
                "4",
                "--health-cmd",
                "wget -qO- http://127.0.0.1:8080/",
                "--health-interval",
                "1s",
                "--health-start-period",
                "10s",
                "--update-parallelism",
                &parallelism.to_string(),
                "--update-order",
                order,
                "--update-monitor",
                monitor,
                "fleet-demo:1",
            ],
        )
        .expect("service create");
    let start = Instant::now();
    testbed
        .docker(
            6,
            &[
                "service",
                "update",
                "--detach=false",
                "--quiet",
                "--no-resolve-image",
                "--image",
                "fleet-demo:2",
                "bench-roll",
            ],
        )
        .expect("service update");
    start.elapsed()
}

fn fleet_roll(
    testbed: &Testbed,
    parallelism: u32,
    order: &str,
    monitor: &str,
) -> (Duration, Vec<(f64, f64)>) {
    let repo = Repo::new();
    let state = |image: &str, replicas: u32| {
        format!(
            "project: bench-roll\n{}services:\n  web:\n    image: {image}\n{HEALTH}    deploy:\n      replicas: {replicas}\n      update_config: {{ parallelism: {parallelism}, order: {order}, monitor: {monitor} }}\n",
            testbed.hosts_yaml(&[6])
        )
    };
    repo.commit(&state("fleet-demo:1", 4));
    apply(&repo, testbed);
    repo.commit(&state("fleet-demo:2", 4));
    let (elapsed, stdout) = apply(&repo, testbed);
    repo.commit(&state("fleet-demo:2", 0));
    apply(&repo, testbed);
    (elapsed, overheads(&stdout))
}

fn main() {
    let dir = PathBuf::from(
        std::env::var("FLEET_TESTBED_DIR").unwrap_or_else(|_| "/tmp/fleet-testbed".into()),
    );
    let hosts: usize = std::fs::read_to_string(dir.join("hosts"))
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .expect("the testbed is not up: testbed/testbed.sh up 6");
    assert!(hosts >= 6, "needs 6 testbed hosts");
    let testbed = Testbed { dir, hosts };

    hundred(&testbed);

    println!(
        "\nrolling update of 4 replicas on fh6, fleet-demo:1 -> :2, health check every 1s (the testbed's engines, API 1.41, have no start_interval):"
    );
    println!(
        "{:<36} {:>8} {:>8}  per replaced replica, mean/max: fleet's own; engine stop+create+start",
        "update_config", "fleet", "swarm"
    );
    for (parallelism, order, monitor) in [
        (1, "stop-first", "5s"),
        (4, "stop-first", "1s"),
        (1, "start-first", "5s"),
    ] {
        let (fleet, over) = fleet_roll(&testbed, parallelism, order, monitor);
        let swarm = swarm_roll(&testbed, parallelism, order, monitor);
        let n = over.len().max(1) as f64;
        let own: Vec<f64> = over.iter().map(|o| o.0).collect();
        let engine: Vec<f64> = over.iter().map(|o| o.1).collect();
        let max = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
        println!(
            "{:<36} {:>7.1}s {:>7.1}s  {:.2}s/{:.2}s; {:.2}s/{:.2}s",
            format!("parallelism {parallelism}, {order}, monitor {monitor}"),
            fleet.as_secs_f64(),
            swarm.as_secs_f64(),
            own.iter().sum::<f64>() / n,
            max(&own),
            engine.iter().sum::<f64>() / n,
            max(&engine),
        );
    }
}
