//! Benchmark: shipping an image without a registry, on the testbed (`testbed/testbed.sh up 7`
//! or more).
//!
//! A ~200 MB image (fleet-demo:1 plus a layer of random bytes, a unique tag) is built on fh1,
//! whose engine stands in for the local one (DOCKER_HOST). It is then put on six hosts
//! (fh2..fh7) that lack it, three ways, each timed from nothing on the hosts:
//!
//! 1. `fleet apply --yes` of a service with `x-fleet: { image_source: local }` and one replica
//!    per host: the whole run (connect, lock, observe, plan, ship, create, start), and the
//!    shipping phase alone (the longest of the per-host ship steps, which run at once);
//! 2. `docker save | ssh host docker load`, one host after another (what one does by hand);
//! 3. the same pipelines to all six hosts at once (one save per host, as fleet does).
//!
//! Run with `cargo bench --bench ship_testbed`. It removes its containers and its image from
//! every host it touched, even when a step fails. Results: docs/benchmarks.md.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Cleanup, Repo, Testbed, fleet_env, unique_project};

const LOCAL: usize = 1;
const TARGETS: [usize; 6] = [2, 3, 4, 5, 6, 7];
const MB: usize = 200;
const ROUNDS: usize = 3;

fn docker(testbed: &Testbed, host: usize) -> Command {
    let mut command = Command::new("docker");
    command
        .arg("-H")
        .arg(format!("unix://{}", testbed.socket(host).display()));
    command
}

fn build(testbed: &Testbed, tag: &str) {
    let context = tempfile::tempdir().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut data = vec![0u8; MB * 1_000_000];
    for chunk in data.chunks_mut(8) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = chunk.len();
        chunk.copy_from_slice(&seed.to_le_bytes()[..n]);
    }
    std::fs::write(context.path().join("stamp"), &data).unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM fleet-demo:1\nCOPY stamp /stamp\n",
    )
    .unwrap();
    let out = docker(testbed, LOCAL)
        .args(["build", "-q", "-t", tag])
        .arg(context.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn remove_from_targets(testbed: &Testbed, tag: &str) {
    for host in TARGETS {
        let _ = docker(testbed, host)
            .args(["rmi", "-f", tag])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `docker save TAG | ssh root@host docker load` for one host.
fn pipeline(testbed: &Testbed, tag: &str, host: usize) -> std::process::Child {
    let script = format!(
        "docker -H unix://{} save {tag} | ssh -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes root@{} docker -H unix://{} load -q >/dev/null",
        testbed.socket(LOCAL).display(),
        testbed.identity().display(),
        testbed.known_hosts().display(),
        testbed.address(host),
        testbed.socket(host).display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .env_remove("SSH_AUTH_SOCK")
        .spawn()
        .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// No target host has an image of `tag`.
fn assert_absent(testbed: &Testbed, tag: &str) {
    for host in TARGETS {
        assert!(
            testbed
                .try_docker(host, &["image", "inspect", tag])
                .is_none(),
            "fh{host} has {tag}"
        );
    }
}

fn main() {
    let testbed = Testbed::get();
    assert!(
        testbed.hosts >= 7,
        "this benchmark needs `testbed/testbed.sh up 7`"
    );
    let tag = format!("{}:1", unique_project("fleet-ship-bench"));
    build(&testbed, &tag);
    let size = testbed.docker(LOCAL, &["image", "inspect", "--format", "{{.Size}}", &tag]);
    println!("image {tag}: {size} bytes, to fh2..fh7 ({ROUNDS} rounds, median)");
    remove_from_targets(&testbed, &tag);

    let (mut whole, mut phase, mut serial, mut parallel) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        // 1. fleet
        assert_absent(&testbed, &tag);
        let project = unique_project("ship-bench");
        {
            let _cleanup = Cleanup::of(&testbed, &TARGETS, &project);
            let repo = Repo::new();
            repo.commit(&format!(
                "project: {project}\n{}services:\n  web:\n    image: {tag}\n    x-fleet: {{ image_source: local }}\n    deploy:\n      replicas: 6\n      placement: {{ max_replicas_per_node: 1 }}\n",
                testbed.hosts_yaml(&TARGETS)
            ));
            let known = testbed.known_hosts().display().to_string();
            let local = format!("unix://{}", testbed.socket(LOCAL).display());
            let started = Instant::now();
            let out = fleet_env(
                repo.path(),
                &["apply", "--yes", "--format", "json"],
                &[("FLEET_KNOWN_HOSTS", &known), ("DOCKER_HOST", &local)],
            );
            let took = started.elapsed().as_secs_f64();
            assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
            let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let ships: Vec<f64> = report["steps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["kind"] == "ship")
                .map(|s| s["seconds"].as_f64().unwrap())
                .collect();
            assert_eq!(ships.len(), 6, "{}", out.stdout);
            whole.push(took);
            phase.push(ships.iter().copied().fold(0.0, f64::max));
        }
        remove_from_targets(&testbed, &tag);

        // 2. by hand, one host after another
        assert_absent(&testbed, &tag);
        let started = Instant::now();
        for host in TARGETS {
            assert!(pipeline(&testbed, &tag, host).wait().unwrap().success());
        }
        serial.push(started.elapsed().as_secs_f64());
        remove_from_targets(&testbed, &tag);

        // 3. by hand, all at once
        let started = Instant::now();
        let children: Vec<_> = TARGETS
            .iter()
            .map(|h| pipeline(&testbed, &tag, *h))
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        parallel.push(started.elapsed().as_secs_f64());
        remove_from_targets(&testbed, &tag);
        std::thread::sleep(Duration::from_secs(1));
    }
    let _ = testbed.try_docker(LOCAL, &["rmi", "-f", &tag]);
    println!(
        "fleet apply, whole run:            {:6.1} s  {whole:.1?}",
        median(whole.clone())
    );
    println!(
        "fleet apply, shipping phase:       {:6.1} s  {phase:.1?}",
        median(phase.clone())
    );
    println!(
        "docker save | ssh load, in turn:   {:6.1} s  {serial:.1?}",
        median(serial.clone())
    );
    println!(
        "docker save | ssh load, at once:   {:6.1} s  {parallel:.1?}",
        median(parallel.clone())
    );
}
