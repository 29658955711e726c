//! Benchmark: validate a generated repository with 1000 services (target: under 200 ms).
//!
//! Run with `cargo bench --bench validate`. Measures the loader alone on in-memory files, and the
//! whole `fleet validate` command (process start, git read, load) on a committed repository.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fleet::spec::{MemoryFiles, load};

const SERVICES: usize = 1000;

fn generate() -> Vec<(String, String)> {
    let mut fleet = String::from("project: bench\nhosts:\n");
    for h in 0..20 {
        fleet.push_str(&format!(
            "  host-{h}: {{ address: ssh://deploy@10.0.{h}.10, labels: {{ zone: z{}, role: {} }} }}\n",
            h % 3,
            if h % 2 == 0 { "web" } else { "backend" }
        ));
    }
    fleet.push_str("include:\n");
    let mut files = Vec::new();
    for c in 0..10 {
        fleet.push_str(&format!("  - compose/part-{c}.yaml\n"));
        let mut compose = String::from("services:\n");
        for s in 0..SERVICES / 10 {
            compose.push_str(&format!(
                "  svc-{c}-{s}:
    image: registry.example.com/team/svc-{s}:1.{c}.0
    command: [\"serve\", \"--port\", \"8080\"]
    env_file: common.env
    environment: {{ SERVICE: svc-{c}-{s}, LOG_LEVEL: info }}
    ports: [\"8080\"]
    healthcheck: {{ test: [\"CMD\", \"wget\", \"-qO-\", \"http://127.0.0.1:8080/\"], interval: 5s, timeout: 2s, retries: 3 }}
    deploy:
      replicas: 3
      placement:
        constraints: [node.labels.role == {}]
        preferences: [{{ spread: node.labels.zone }}]
        max_replicas_per_node: 1
      update_config: {{ parallelism: 1, order: start-first, failure_action: rollback, monitor: 5s }}
      resources: {{ limits: {{ cpus: \"0.5\", memory: 256m }} }}
",
                if s % 2 == 0 { "web" } else { "backend" }
            ));
        }
        files.push((format!("compose/part-{c}.yaml"), compose));
    }
    files.push(("compose/common.env".into(), "REGION=eu\nTRACE=0\n".into()));
    files.push(("fleet.yaml".into(), fleet));
    files
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let files = generate();
    let memory = MemoryFiles::new(files.iter().map(|(p, c)| (p.as_str(), c.as_str())));
    let loaded = load(&memory);
    assert!(
        loaded
            .desired
            .as_ref()
            .is_some_and(|d| d.services.len() == SERVICES),
        "{:?}",
        &loaded.diagnostics[..loaded.diagnostics.len().min(3)]
    );

    let samples: Vec<Duration> = (0..20)
        .map(|_| {
            let start = Instant::now();
            let loaded = load(&memory);
            std::hint::black_box(&loaded);
            start.elapsed()
        })
        .collect();
    println!(
        "loader, {SERVICES} services in memory:        median {:>8.1?}",
        median(samples)
    );

    let repo = tempfile::tempdir().expect("temp dir");
    for (path, text) in &files {
        let full = repo.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "generated"]);
    let samples: Vec<Duration> = (0..10)
        .map(|_| {
            let start = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
                .args(["-q", "validate"])
                .current_dir(repo.path())
                .output()
                .expect("run fleet");
            let elapsed = start.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            elapsed
        })
        .collect();
    println!(
        "fleet validate, {SERVICES} services from git: median {:>8.1?} (target < 200ms)",
        median(samples)
    );
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args)
        .status()
        .expect("git");
    assert!(status.success());
}
