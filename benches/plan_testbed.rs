//! Benchmark: `fleet plan` on the testbed, every host holding 50 of the project's containers
//! (target: under 1 s), beside listing the same containers with the docker CLI over ssh, host
//! by host. Needs the testbed (`testbed/testbed.sh up 6`). Run with
//! `cargo bench --bench plan_testbed`; it removes the containers it made.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fleet::contract::{container_name, container_spec, spec_hash};
use fleet::spec::{MemoryFiles, load};

const PER_HOST: u32 = 50;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let dir = PathBuf::from(
        std::env::var("FLEET_TESTBED_DIR").unwrap_or_else(|_| "/tmp/fleet-testbed".into()),
    );
    let hosts: usize = std::fs::read_to_string(dir.join("hosts"))
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .expect("testbed is not up");
    let identity = dir.join("client/id_ed25519");
    let mut yaml = String::from("project: bench-plan\nhosts:\n");
    for i in 1..=hosts {
        yaml.push_str(&format!(
            "  fh{i}:\n    address: ssh://root@10.250.{i}.2\n    docker_socket: {}\n    identity_file: {}\n",
            dir.join(format!("fh{i}/docker.sock")).display(),
            identity.display()
        ));
    }
    let replicas = PER_HOST as usize * hosts;
    yaml.push_str(&format!("services:\n  web:\n    image: fleet-demo:1\n    deploy: {{ replicas: {replicas}, placement: {{ max_replicas_per_node: {PER_HOST} }} }}\n"));
    let desired = load(&MemoryFiles::new([("fleet.yaml", yaml.as_str())]))
        .desired
        .expect("valid");
    let spec = &desired.services["web"];
    let (hash, spec_json) = (spec_hash(spec), container_spec(spec).to_string());

    // 50 replicas per host, made as fleet would label them (created, not started: planning
    // reads them the same way and the machine stays idle).
    let start = Instant::now();
    std::thread::scope(|scope| {
        for i in 1..=hosts {
            let (hash, spec_json, dir) = (&hash, &spec_json, &dir);
            scope.spawn(move || {
                for n in 0..PER_HOST {
                    let slot = (i as u32 - 1) * PER_HOST + n;
                    let status = Command::new("docker")
                        .args([
                            "-H",
                            &format!(
                                "unix://{}",
                                dir.join(format!("fh{i}/docker.sock")).display()
                            ),
                            "create",
                            "-q",
                        ])
                        .args(["--name", &container_name("bench-plan", "web", slot, hash)])
                        .args([
                            "--label",
                            "fleet.managed=true",
                            "--label",
                            "fleet.project=bench-plan",
                            "--label",
                            "fleet.service=web",
                        ])
                        .args([
                            "--label",
                            &format!("fleet.slot={slot}"),
                            "--label",
                            &format!("fleet.spec-hash={hash}"),
                        ])
                        .args([
                            "--label",
                            &format!("fleet.spec={spec_json}"),
                            "fleet-demo:1",
                        ])
                        .stdout(std::process::Stdio::null())
                        .status()
                        .expect("docker");
                    assert!(status.success());
                }
            });
        }
    });
    println!("setup: {} containers in {:.1?}", replicas, start.elapsed());

    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("fleet.yaml"), &yaml).unwrap();
    let known = dir.join("known_hosts");
    let fleet = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
                    .current_dir(project.path())
                    .args([
                        "--worktree",
                        "-q",
                        "plan",
                        "--format",
                        "json",
                        "--known-hosts",
                        known.to_str().unwrap(),
                    ])
                    .env_remove("SSH_AUTH_SOCK")
                    .env("FLEET_SSH_CONFIG", "/dev/null")
                    .output()
                    .unwrap();
                let elapsed = t.elapsed();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let changes = plan["changes"].as_array().unwrap();
                assert_eq!(changes.len(), replicas, "every container observed");
                elapsed
            })
            .collect(),
    );

    // The docker CLI over ssh, host by host (OpenSSH reads the testbed's config through a wrapper).
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("ssh_config");
    std::fs::write(&config, format!("Host 10.250.*\n  User root\n  IdentityFile {}\n  UserKnownHostsFile {}\n  BatchMode yes\n", identity.display(), known.display())).unwrap();
    let wrapper = tmp.path().join("ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
            config.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        tmp.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let docker = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                for i in 1..=hosts {
                    let out = Command::new("docker")
                        .args([
                            "-H",
                            &format!("ssh://root@10.250.{i}.2"),
                            "ps",
                            "-aq",
                            "--filter",
                            "label=fleet.project=bench-plan",
                        ])
                        .env("PATH", &path)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                t.elapsed()
            })
            .collect(),
    );
    println!("fleet plan, {hosts} hosts x {PER_HOST} containers: median {fleet:.1?} (target < 1s)");
    println!("docker -H ssh:// ps, host by host:      median {docker:.1?}");

    for i in 1..=hosts {
        let sock = format!(
            "unix://{}",
            dir.join(format!("fh{i}/docker.sock")).display()
        );
        let ids = Command::new("docker")
            .args([
                "-H",
                &sock,
                "ps",
                "-aq",
                "--filter",
                "label=fleet.project=bench-plan",
            ])
            .output()
            .unwrap();
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            Command::new("docker")
                .args(["-H", &sock, "rm", "-f"])
                .args(&ids)
                .output()
                .unwrap();
        }
    }
}
