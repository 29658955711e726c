//! Benchmark: `fleet hosts` over N testbed hosts against the docker CLI over ssh
//! (`docker -H ssh://… info`, one host after another), side by side in one run.
//!
//! Needs the testbed (`testbed/testbed.sh up 6`). Run with `cargo bench --bench hosts`.
//! fleet probes hosts in parallel, so its wall time should stay near one host's latency as N
//! grows; the docker CLI's grows with N.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let dir = PathBuf::from(
        std::env::var("FLEET_TESTBED_DIR").unwrap_or_else(|_| "/tmp/fleet-testbed".into()),
    );
    let available: usize = std::fs::read_to_string(dir.join("hosts"))
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .expect("the testbed is not up: run `testbed/testbed.sh up 6`");
    let identity = dir.join("client/id_ed25519");
    let known_hosts = dir.join("known_hosts");

    // The docker CLI runs `ssh` from PATH, and OpenSSH ignores $HOME: put a wrapper first in
    // PATH that reads the testbed's client config.
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ssh_config");
    let wrapper = home.path().join("ssh");
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
        home.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::fs::write(
        &config,
        format!(
            "Host 10.250.*\n  User root\n  IdentityFile {}\n  UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
            identity.display(),
            known_hosts.display()
        ),
    )
    .unwrap();

    println!(
        "{:>5}  {:>14}  {:>22}",
        "hosts", "fleet hosts", "docker -H ssh:// info"
    );
    for n in [1, 2, 3, 6].into_iter().filter(|n| *n <= available) {
        let project = tempfile::tempdir().unwrap();
        let mut yaml = String::from("project: bench\nhosts:\n");
        for i in 1..=n {
            yaml.push_str(&format!(
                "  fh{i}:\n    address: ssh://root@10.250.{i}.2\n    docker_socket: {}\n    identity_file: {}\n",
                dir.join(format!("fh{i}/docker.sock")).display(),
                identity.display()
            ));
        }
        yaml.push_str("services: {}\n");
        std::fs::write(project.path().join("fleet.yaml"), yaml).unwrap();
        let fleet = time(5, || run_fleet(project.path(), &known_hosts));
        let docker = time(3, || {
            for i in 1..=n {
                let out = Command::new("docker")
                    .args([
                        "-H",
                        &format!("ssh://root@10.250.{i}.2"),
                        "info",
                        "--format",
                        "{{.ServerVersion}}",
                    ])
                    .env("PATH", &path)
                    .output()
                    .expect("docker CLI");
                assert!(
                    out.status.success(),
                    "docker -H ssh:// info: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        });
        println!("{n:>5}  {:>11.1?}  {:>19.1?}", fleet, docker);
    }
}

fn run_fleet(project: &Path, known_hosts: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .current_dir(project)
        .args([
            "--worktree",
            "-q",
            "hosts",
            "--known-hosts",
            known_hosts.to_str().unwrap(),
        ])
        .env_remove("SSH_AUTH_SOCK")
        .env("FLEET_SSH_CONFIG", "/dev/null")
        .output()
        .expect("run fleet");
    assert!(
        out.status.success(),
        "fleet hosts: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
