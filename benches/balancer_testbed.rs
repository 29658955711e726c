//! Benchmark: the balancers fleet deploys, on the testbed (`testbed/testbed.sh up 6`).
//!
//! Three replicas of fleet-demo (busybox httpd), one on each of fh1..fh3, behind the project's
//! HAProxy balancers (the testbed's Debian HAProxy 2.6 image). From the root namespace:
//! 1. Added latency: p50/p99 of 2000 sequential GETs (a new connection each) straight to one
//!    replica's published port, then the same through fh1's balancer (which forwards to the
//!    replicas on all three hosts), interleaved in rounds so machine noise hits both alike.
//! 2. Throughput: requests/s through fh1's balancer with 64 requests in flight for 10 s, next
//!    to the same load sent straight to the three replicas (round robin in the client).
//!
//! Run with `cargo bench --bench balancer_testbed`. It removes what it made even when a step
//! fails. Every number depends on this 2-core machine: the client, six engines and the
//! balancers share it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::traffic;
use common::{Cleanup, Repo, Testbed};

const PORT: u16 = 18190;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Sequential GETs, `n` per round, returning every latency.
async fn latencies(target: SocketAddr, n: usize) -> Result<Vec<Duration>, String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        traffic::get(target, "/").await?;
        out.push(start.elapsed());
    }
    Ok(out)
}

/// Requests answered in `span` with `in_flight` requests outstanding, spread over `targets`.
async fn throughput(targets: Vec<SocketAddr>, in_flight: usize, span: Duration) -> (usize, usize) {
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + span;
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (ok, failed, next, targets) =
                (ok.clone(), failed.clone(), next.clone(), targets.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let target = targets[next.fetch_add(1, Ordering::Relaxed) % targets.len()];
                    match traffic::get(target, "/").await {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

fn main() {
    let testbed = Testbed::get();
    let hosts = [1, 2, 3];
    let project = format!("blb{}", std::process::id());
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&format!(
        "project: {project}\n{}balancer: {{ image: fleet-haproxy:2.6 }}\nservices:\n  web:\n    \
         image: fleet-demo:1\n    deploy: {{ replicas: 3, placement: {{ max_replicas_per_node: 1 }} }}\n    \
         x-fleet: {{ expose: {{ port: 8080, host_port: {PORT}, health_path: / }} }}\n",
        testbed.hosts_yaml(&hosts)
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .current_dir(repo.path())
        .args(["apply", "--yes"])
        .env_remove("SSH_AUTH_SOCK")
        .env("FLEET_SSH_CONFIG", "/dev/null")
        .env("FLEET_KNOWN_HOSTS", testbed.known_hosts())
        .output()
        .expect("run fleet");
    if !out.status.success() {
        eprintln!("apply failed:\n{}", String::from_utf8_lossy(&out.stdout));
        std::process::exit(1);
    }
    // The replicas' published ports, straight from the engines.
    let direct: Vec<SocketAddr> = hosts
        .iter()
        .map(|&h| {
            let id = testbed.docker(
                h,
                &[
                    "ps",
                    "-q",
                    "--filter",
                    &format!("label=fleet.project={project}"),
                    "--filter",
                    "label=fleet.service=web",
                ],
            );
            let port = testbed.docker(h, &["port", id.trim(), "8080/tcp"]);
            let port = port
                .lines()
                .next()
                .unwrap_or_default()
                .rsplit(':')
                .next()
                .unwrap_or_default();
            format!("{}:{port}", testbed.address(h)).parse().unwrap()
        })
        .collect();
    let balancer: SocketAddr = format!("{}:{PORT}", testbed.address(1)).parse().unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Warm up both paths (and let the balancers' first checks pass).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let _ = latencies(balancer, 100).await;
        let _ = latencies(direct[1], 100).await;

        let (mut via, mut straight) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            straight.extend(latencies(direct[1], 200).await.expect("direct request failed"));
            via.extend(latencies(balancer, 200).await.expect("request through the balancer failed"));
        }
        straight.sort();
        via.sort();
        println!("latency, {} sequential requests each (new connection per request):", via.len());
        println!(
            "  direct to a replica on fh2:   p50 {:.3} ms  p99 {:.3} ms",
            percentile(&straight, 0.5),
            percentile(&straight, 0.99)
        );
        println!(
            "  through the balancer on fh1:  p50 {:.3} ms  p99 {:.3} ms",
            percentile(&via, 0.5),
            percentile(&via, 0.99)
        );
        println!(
            "  added by the balancer:        p50 {:+.3} ms  p99 {:+.3} ms",
            percentile(&via, 0.5) - percentile(&straight, 0.5),
            percentile(&via, 0.99) - percentile(&straight, 0.99)
        );

        let span = Duration::from_secs(10);
        let (ok, failed) = throughput(vec![balancer], 64, span).await;
        println!(
            "throughput through one balancer (64 in flight, {span:?}): {:.0} requests/s ({failed} failed)",
            ok as f64 / span.as_secs_f64()
        );
        let (ok, failed) = throughput(direct.clone(), 64, span).await;
        println!(
            "throughput straight to the 3 replicas (64 in flight, {span:?}): {:.0} requests/s ({failed} failed)",
            ok as f64 / span.as_secs_f64()
        );
    });
}
