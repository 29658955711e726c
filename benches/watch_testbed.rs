//! Benchmark: `fleet watch` on the testbed (`testbed/testbed.sh up 6`).
//!
//! 1. Heal latency: `docker kill` of a replica until a replica of that slot is healthy again,
//!    side by side with a Docker Swarm service on the same engine (fh6), same image and same
//!    health check (interval 1s). Five kills each; the first and the median are reported.
//! 2. The daemon's resident memory and CPU while it watches 12 replicas over all six hosts:
//!    right after converging and after a minute of idling.
//!
//! Run with `cargo bench --bench watch_testbed`. It removes what it made (containers, the
//! Swarm, which it leaves) even when a step fails.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Cleanup, Repo, Testbed};

const SERVICE: &str = "services:
  web:
    image: fleet-demo:1
    healthcheck:
      test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/']
      interval: 1s
      timeout: 1s
      retries: 2
    deploy:
      replicas: REPLICAS
";

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn watch(testbed: &Testbed, repo: &Repo, port: u16) -> Daemon {
    Daemon(
        Command::new(env!("CARGO_BIN_EXE_fleet"))
            .current_dir(repo.path())
            .args(["watch", "--listen", &format!("127.0.0.1:{port}")])
            .env_remove("SSH_AUTH_SOCK")
            .env("FLEET_SSH_CONFIG", "/dev/null")
            .env("FLEET_KNOWN_HOSTS", testbed.known_hosts())
            .stdout(Stdio::null())
            // Kept for a look when a number is surprising.
            .stderr(
                std::fs::File::create(
                    std::env::temp_dir().join(format!("fleet-bench-watch-{port}.log")),
                )
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .expect("start fleet watch"),
    )
}

/// Polls `docker ps` on host 6 until a container matching `filter` is running and healthy;
/// returns its id.
fn wait_healthy(testbed: &Testbed, filter: &str, not: &str, limit: Duration) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let ids = testbed.docker(
            6,
            &["ps", "-q", "--filter", filter, "--filter", "health=healthy"],
        );
        if let Some(id) = ids
            .lines()
            .find(|id| !not.starts_with(*id) && !id.is_empty())
        {
            return Some(id.to_string());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

fn kill_and_time(testbed: &Testbed, filter: &str, rounds: usize) -> Vec<Duration> {
    let mut out = Vec::new();
    let mut current =
        wait_healthy(testbed, filter, "-", Duration::from_secs(90)).expect("a healthy replica");
    // Let the deploy that made it finish its monitor window first.
    std::thread::sleep(Duration::from_secs(3));
    for _ in 0..rounds {
        let finished =
            |id: &str| testbed.docker(6, &["inspect", "-f", "{{.State.FinishedAt}}", id]);
        let before = finished(&current);
        let start = Instant::now();
        testbed.docker(6, &["kill", &current]);
        // fleet restarts the same container, Swarm makes a new task: once the engine has
        // recorded the exit, wait for a healthy replica again, whichever container it is.
        let next = loop {
            if finished(&current) != before {
                break wait_healthy(testbed, filter, "", Duration::from_secs(120));
            }
            if start.elapsed() > Duration::from_secs(120) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let next = next.expect("healed within 120s");
        out.push(start.elapsed());
        current = next;
        // Let health settle so the next kill starts from a steady state.
        std::thread::sleep(Duration::from_secs(2));
    }
    out
}

fn median(d: &[Duration]) -> Duration {
    let mut v = d.to_vec();
    v.sort();
    v[v.len() / 2]
}

struct Swarm<'a>(&'a Testbed);

impl Drop for Swarm<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.0.socket(6).display()))
            .args(["swarm", "leave", "--force"])
            .output();
    }
}

fn main() {
    let testbed = Testbed::get();

    // 1. Heal latency on fh6, fleet first.
    let project = format!("bheal{}", std::process::id());
    let _cleanup = Cleanup::of(&testbed, &[6], &project);
    let repo = Repo::new();
    repo.commit(&format!(
        "project: {project}\n{}{}",
        testbed.hosts_yaml(&[6]),
        SERVICE.replace("REPLICAS", "1")
    ));
    let daemon = watch(&testbed, &repo, 19391);
    let fleet = kill_and_time(&testbed, &format!("label=fleet.project={project}"), 5);
    drop(daemon);
    drop(_cleanup);

    let _swarm = Swarm(&testbed);
    testbed.docker(6, &["swarm", "init", "--advertise-addr", "10.250.6.2"]);
    testbed.docker(
        6,
        &[
            "service",
            "create",
            "--detach=false",
            "--quiet",
            "--no-resolve-image",
            "--name",
            "bench-heal",
            "--health-cmd",
            "wget -qO- http://127.0.0.1:8080/",
            "--health-interval",
            "1s",
            "--health-timeout",
            "1s",
            "--health-retries",
            "2",
            "fleet-demo:1",
        ],
    );
    let swarm = kill_and_time(
        &testbed,
        "label=com.docker.swarm.service.name=bench-heal",
        5,
    );
    let _ = testbed.docker(6, &["service", "rm", "bench-heal"]);
    drop(_swarm);
    let secs = |d: &[Duration]| {
        d.iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "heal (kill -> healthy again), health interval 1s:\n  fleet watch: first {:.2}s, median {:.2}s ({})\n  Swarm:       first {:.2}s, median {:.2}s ({})\n  first failure: fleet {:.1}x faster",
        fleet[0].as_secs_f64(),
        median(&fleet).as_secs_f64(),
        secs(&fleet),
        swarm[0].as_secs_f64(),
        median(&swarm).as_secs_f64(),
        secs(&swarm),
        swarm[0].as_secs_f64() / fleet[0].as_secs_f64()
    );

    // 2. Memory and CPU, 12 replicas over all hosts.
    let hosts: Vec<usize> = (1..=testbed.hosts).collect();
    let project = format!("bmem{}", std::process::id());
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&format!(
        "project: {project}\n{}{}",
        testbed.hosts_yaml(&hosts),
        SERVICE.replace("REPLICAS", "12")
    ));
    let daemon = watch(&testbed, &repo, 19392);
    let start = Instant::now();
    loop {
        let running: usize = hosts
            .iter()
            .map(|h| {
                testbed
                    .docker(
                        *h,
                        &[
                            "ps",
                            "-q",
                            "--filter",
                            &format!("label=fleet.project={project}"),
                            "--filter",
                            "health=healthy",
                        ],
                    )
                    .lines()
                    .count()
            })
            .sum();
        if running == 12 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never converged"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    let pid = daemon.0.id();
    let (rss_converged, cpu_a) = common::proc_usage(pid);
    let idle = Duration::from_secs(60);
    std::thread::sleep(idle);
    let (rss_idle, cpu_b) = common::proc_usage(pid);
    println!(
        "daemon watching 12 replicas on {} hosts: RSS {:.1} MB after converging, {:.1} MB after {}s idle (target < 30 MB); idle CPU {:.2}% of one core",
        hosts.len(),
        rss_converged as f64 / 1024.0,
        rss_idle as f64 / 1024.0,
        idle.as_secs(),
        (cpu_b - cpu_a) / idle.as_secs_f64() * 100.0
    );
}
