//! Benchmark: autoscaling on the testbed (`testbed/testbed.sh up 8`; only fh6, fh7 and fh8 are
//! used, the other hosts may be running tests meanwhile).
//!
//! 1. Reaction to a load step: service `web` (fleet-demo, health check every 1 s) behind the
//!    balancers of fh6..fh8, `autoscale: { min: 2, max: 8, requests_per_second: 5 }`. From a
//!    steady 8 req/s (4 per replica) the load steps to 38 req/s, spread over the three
//!    balancers: 8 replicas bring it under 5 per replica (4.75), 7 would not. Timed from the
//!    step: the first decision, the decision reaching 8 (both in /status as soon as the daemon
//!    makes them) and 8 healthy replicas. Three runs with the default `--autoscale-interval`
//!    (5 s), three with 1 s; between runs the load drops back and the service returns to 2
//!    after `scale_down_after` (10 s). Every request is checked; failures are counted.
//! 2. The daemon's cost: 20 replicas under `min: 20, max: 20` with `requests_per_second` and
//!    `cpu` targets, so every 5 s round reads the three balancers and the 20 replicas' CPU;
//!    resident memory and CPU time (from /proc) over 60 s idle after converging, then the same
//!    replicas watched by a daemon without `autoscale`.
//!
//! Run with `cargo bench --bench autoscale_testbed` (about 9 minutes). The daemon runs as a
//! child process with its default flags; everything made is removed even when a step fails.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::traffic::{Outcome, Traffic, failures};
use common::watch::{Launch, Watch, state};
use common::{Cleanup, Repo, Testbed};
use serde_json::Value;

const HOSTS: [usize; 3] = [6, 7, 8];
const PORT: u16 = 18_681;
/// Requests per second before the step and after it, per balancer (fh6, fh7, fh8).
const BASE: [u32; 3] = [3, 3, 2];
const EXTRA: [u32; 3] = [10, 10, 10];
const RUNS: usize = 3;

fn body(replicas: u32, autoscale: Option<&str>) -> String {
    let autoscale = autoscale.map_or_else(String::new, |a| format!("      autoscale: {a}\n"));
    format!(
        "balancer: {{ image: fleet-haproxy:2.6 }}\nservices:\n  web:\n    image: fleet-demo:1\n    \
         healthcheck: {{ test: [CMD, wget, -qO-, 'http://127.0.0.1:8080/'], interval: 1s, timeout: 1s, retries: 2 }}\n    \
         deploy: {{ replicas: {replicas}, update_config: {{ order: start-first, monitor: 1s }} }}\n    \
         x-fleet:\n      expose: {{ port: 8080, host_port: {PORT}, drain: 1s, health_path: / }}\n{autoscale}"
    )
}

fn daemon(testbed: &Testbed, repo: &Repo, port: u16, extra: &[&str]) -> Watch {
    let how = Launch {
        defaults: true,
        ..Launch::default()
    };
    Watch::launch(testbed, repo, port, extra, &how)
}

fn web(status: &Value) -> (u64, u64, u64) {
    let s = &status["services"]["web"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    (n("desired"), n("running"), n("healthy"))
}

/// What the daemon's latest evaluation wants (published before the pass that makes it so).
fn wanted(status: &Value) -> u64 {
    status["autoscale"]["web"]["desired"].as_u64().unwrap_or(0)
}

/// The daemon's latest value of a signal, per replica.
fn signal(status: &Value, name: &str) -> Option<f64> {
    status["autoscale"]["web"]["signals"]
        .as_array()?
        .iter()
        .find(|s| s["signal"] == name)?["value"]
        .as_f64()
}

fn load(testbed: &Testbed, rates: [u32; 3]) -> Vec<Traffic> {
    HOSTS
        .iter()
        .zip(rates)
        .map(|(&h, rate)| {
            let target: SocketAddr = format!("{}:{PORT}", testbed.address(h)).parse().unwrap();
            Traffic::start(target, "/", rate, Duration::from_secs(900))
        })
        .collect()
}

fn finish(streams: Vec<Traffic>) -> Vec<Outcome> {
    streams.into_iter().flat_map(Traffic::finish).collect()
}

struct Run {
    first: Duration,
    decided: Duration,
    healthy: Duration,
    per_replica: Option<f64>,
}

/// One step from 8 to 38 req/s and back; the service starts and ends at 2 healthy replicas.
fn step(testbed: &Testbed, watch: &Watch, round: Duration, outcomes: &mut Vec<Outcome>) -> Run {
    let start = Instant::now();
    let extra = load(testbed, EXTRA);
    let (mut first, mut decided) = (None, None);
    let healthy = loop {
        let elapsed = start.elapsed();
        if let Some(s) = watch.status() {
            if first.is_none() && wanted(&s) > 2 {
                first = Some(elapsed);
            }
            if decided.is_none() && wanted(&s) >= 8 {
                decided = Some(elapsed);
            }
            if web(&s) == (8, 8, 8) {
                break elapsed;
            }
        }
        assert!(
            elapsed < Duration::from_secs(90),
            "no 8 healthy replicas 90 s after the step: {:?}\n{}",
            watch.status(),
            watch.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // Two rounds at the new count: the daemon's own per-replica rate.
    std::thread::sleep(round * 2 + Duration::from_secs(1));
    let per_replica = watch
        .status()
        .and_then(|s| signal(&s, "requests_per_second"));
    outcomes.extend(finish(extra));
    watch.wait_for("back to 2", Duration::from_secs(120), |s| {
        web(s) == (2, 2, 2) && wanted(s) == 2
    });
    // The sampler sees the base load again before the next step.
    std::thread::sleep(round * 2 + Duration::from_secs(2));
    Run {
        first: first.unwrap_or(healthy),
        decided: decided.unwrap_or(healthy),
        healthy,
        per_replica,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn reaction(testbed: &Testbed, watch: &Watch, interval: &str, round: Duration) {
    watch.wait_for("2 healthy replicas", Duration::from_secs(120), |s| {
        web(s) == (2, 2, 2) && wanted(s) == 2
    });
    let base = load(testbed, BASE);
    // The sampler has a rate from the base load (two reads) before the first step.
    watch.wait_for("a rate", Duration::from_secs(60), |s| {
        signal(s, "requests_per_second").is_some()
    });
    std::thread::sleep(round);
    let mut outcomes = Vec::new();
    let runs: Vec<Run> = (0..RUNS)
        .map(|_| step(testbed, watch, round, &mut outcomes))
        .collect();
    outcomes.extend(finish(base));
    let secs = |f: fn(&Run) -> Duration| {
        let all: Vec<f64> = runs.iter().map(|r| f(r).as_secs_f64()).collect();
        let each = all
            .iter()
            .map(|s| format!("{s:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        format!("median {:5.1} s ({each})", median(all))
    };
    let rates = runs
        .iter()
        .map(|r| r.per_replica.map_or("-".into(), |v| format!("{v:.2}")))
        .collect::<Vec<_>>()
        .join(" ");
    let failed = failures(&outcomes);
    println!(
        "load step 8 -> 38 req/s (target 5 per replica), 2 -> 8 replicas on fh6..fh8, --autoscale-interval {interval}:\n  \
         first decision:         {}\n  \
         decision reaching 8:    {}\n  \
         8 replicas healthy:     {}\n  \
         per replica at 8 (daemon's reading): {rates} req/s\n  \
         requests: {} sent, {} failed{}",
        secs(|r| r.first),
        secs(|r| r.decided),
        secs(|r| r.healthy),
        outcomes.len(),
        failed.len(),
        failed
            .first()
            .map_or(String::new(), |f| format!(" (first: {f})"))
    );
}

/// RSS (MB) after converging and after `idle`, and CPU (% of one core) over `idle`.
fn cost(watch: &Watch, idle: Duration) -> (f64, f64, f64) {
    let pid = watch.child.id();
    let (rss_a, cpu_a) = common::proc_usage(pid);
    std::thread::sleep(idle);
    let (rss_b, cpu_b) = common::proc_usage(pid);
    assert!(rss_b > 0, "the daemon is gone\n{}", watch.log());
    (
        rss_a as f64 / 1024.0,
        rss_b as f64 / 1024.0,
        (cpu_b - cpu_a) / idle.as_secs_f64() * 100.0,
    )
}

fn converged(s: &Value, n: u64) -> bool {
    web(s) == (n, n, n) && s["last_reconcile"]["result"] == "converged"
}

fn main() {
    let testbed = Testbed::get();
    let project = format!("bscale{}", std::process::id());
    let _cleanup = Cleanup::of(&testbed, &HOSTS, &project);
    let repo = Repo::new();
    let scale = "{ min: 2, max: 8, requests_per_second: 5, scale_down_after: 10s }";
    repo.commit(&state(&testbed, &project, &HOSTS, &body(2, Some(scale))));

    // 1. Reaction to a load step, with the default interval, then with 1 s.
    for (interval, round, port) in [
        ("5s", Duration::from_secs(5), 19_381),
        ("1s", Duration::from_secs(1), 19_382),
    ] {
        let mut watch = daemon(&testbed, &repo, port, &["--autoscale-interval", interval]);
        reaction(&testbed, &watch, interval, round);
        // SIGTERM: the next daemon takes the lease at once.
        watch.terminate(Duration::from_secs(30));
    }

    // 2. The daemon's cost: 20 replicas, both signals read every 5 s; then without autoscale.
    let idle = Duration::from_secs(60);
    let both = "{ min: 20, max: 20, requests_per_second: 5, cpu: 50%, scale_down_after: 1m }";
    repo.commit(&state(&testbed, &project, &HOSTS, &body(20, Some(both))));
    let mut watch = daemon(&testbed, &repo, 19_383, &[]);
    watch.wait_for("20 healthy replicas", Duration::from_secs(180), |s| {
        converged(s, 20)
    });
    std::thread::sleep(Duration::from_secs(3));
    let (rss_a, rss_b, cpu) = cost(&watch, idle);
    let status = watch.status().unwrap_or_default();
    // Both signals read: the balancers' rate and the (warm) replicas' CPU.
    let (rps, cpu_signal) = (
        signal(&status, "requests_per_second"),
        signal(&status, "cpu"),
    );
    assert!(
        rps.is_some() && cpu_signal.is_some(),
        "a signal without data: {status}\n{}",
        watch.log()
    );
    watch.terminate(Duration::from_secs(30));
    println!(
        "daemon, 20 replicas on 3 hosts, 3 balancers + 20 CPU reads every 5 s: RSS {rss_a:.1} MB after converging, \
         {rss_b:.1} MB after {}s idle; idle CPU {cpu:.2}% of one core (signals: {:.2} req/s, cpu {:.1}% per replica)",
        idle.as_secs(),
        rps.unwrap_or_default(),
        cpu_signal.unwrap_or_default() * 100.0
    );

    repo.commit(&state(&testbed, &project, &HOSTS, &body(20, None)));
    let watch = daemon(&testbed, &repo, 19_384, &[]);
    watch.wait_for("20 healthy replicas", Duration::from_secs(180), |s| {
        converged(s, 20)
    });
    std::thread::sleep(Duration::from_secs(3));
    let (rss_a, rss_b, cpu) = cost(&watch, idle);
    println!(
        "daemon, the same 20 replicas without autoscale:                   RSS {rss_a:.1} MB after converging, \
         {rss_b:.1} MB after {}s idle; idle CPU {cpu:.2}% of one core",
        idle.as_secs()
    );
}
