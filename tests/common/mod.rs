//! Shared helpers of the integration tests: the fleet binary as a user runs it, fixture git
//! repositories, and, for the tests that run against the real testbed (testbed/testbed.sh),
//! the testbed itself. Nothing here needs the testbed until [`Testbed::get`] is called, so
//! tests that run anywhere (`cli_validate`) use it too.
#![allow(dead_code)]

pub mod proxy;
pub mod traffic;
pub mod watch;
pub mod workflow;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The running testbed. Tests that need it fail (never skip) when it is not up, with the
/// command that brings it up.
pub struct Testbed {
    pub dir: PathBuf,
    pub hosts: usize,
}

impl Testbed {
    pub fn get() -> Testbed {
        let dir = PathBuf::from(
            std::env::var("FLEET_TESTBED_DIR").unwrap_or_else(|_| "/tmp/fleet-testbed".into()),
        );
        let hosts: usize = std::fs::read_to_string(dir.join("hosts"))
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("the testbed is not up at {}: run `testbed/testbed.sh up 6` (scripts/test does)", dir.display()));
        assert!(
            hosts >= 6,
            "these tests need 6 testbed hosts; run `testbed/testbed.sh up 6`"
        );
        Testbed { dir, hosts }
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    pub fn identity(&self) -> PathBuf {
        self.dir.join("client/id_ed25519")
    }

    pub fn address(&self, i: usize) -> String {
        format!("10.250.{i}.2")
    }

    pub fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("fh{i}/docker.sock"))
    }

    /// fleet.yaml `hosts:` entries for the given testbed hosts.
    pub fn hosts_yaml(&self, hosts: &[usize]) -> String {
        let mut out = String::from("hosts:\n");
        for i in hosts {
            out.push_str(&format!(
                "  fh{i}:\n    address: ssh://root@{}\n    docker_socket: {}\n    identity_file: {}\n    labels: {{ zone: z{i} }}\n",
                self.address(*i),
                self.socket(*i).display(),
                self.identity().display()
            ));
        }
        out
    }

    /// The host and name of each running container of `project` on `hosts` (of `service` when
    /// given).
    pub fn running(
        &self,
        hosts: &[usize],
        project: &str,
        service: Option<&str>,
    ) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for &host in hosts {
            let mut args = vec![
                "ps".to_string(),
                "--filter".to_string(),
                format!("label=fleet.project={project}"),
            ];
            if let Some(service) = service {
                args.push("--filter".into());
                args.push(format!("label=fleet.service={service}"));
            }
            args.extend(["--format".to_string(), "{{.Names}}".to_string()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let names = self.docker(host, &args);
            out.extend(names.lines().map(|n| (host, n.to_string())));
        }
        out
    }

    /// Runs a testbed fault helper (`sshd-stop 4`, ...).
    pub fn fault(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testbed/testbed.sh");
        let status = Command::new(script)
            .args(args)
            .env("FLEET_TESTBED_DIR", &self.dir)
            .status()
            .expect("run testbed.sh");
        assert!(status.success(), "testbed.sh {args:?} failed");
    }

    /// The docker CLI against one host's engine directly (test setup only).
    pub fn docker(&self, i: usize, args: &[&str]) -> String {
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket(i).display()))
            .args(args)
            .output()
            .expect("docker CLI");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The docker CLI against one host's engine, for what may fail (a host under a fault):
    /// its stdout, or `None` when it failed.
    pub fn try_docker(&self, i: usize, args: &[&str]) -> Option<String> {
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket(i).display()))
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// How many logins host `i`'s sshd has accepted so far.
    pub fn accepted_logins(&self, i: usize) -> usize {
        std::fs::read_to_string(self.dir.join(format!("fh{i}/sshd.log")))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Accepted publickey"))
            .count()
    }
}

impl Testbed {
    /// Injects a fault on host `i` (`sshd-stop`, `link-down`, `dockerd-stop`) and undoes it with
    /// `undo` when the returned guard drops, even when the test fails.
    pub fn inject(&self, fault: &str, undo: &'static str, i: usize) -> Restore<'_> {
        self.fault(&[fault, &i.to_string()]);
        Restore {
            testbed: self,
            args: vec![undo],
            host: i.to_string(),
        }
    }
}

/// Restores a testbed fault when the test ends, even when it fails.
pub struct Restore<'a> {
    pub testbed: &'a Testbed,
    pub args: Vec<&'static str>,
    pub host: String,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let mut args: Vec<&str> = self.args.clone();
        args.push(&self.host);
        self.testbed.fault(&args);
    }
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs the fleet binary in `dir` with a clean SSH environment (no agent, no user config).
pub fn fleet(dir: &Path, args: &[&str]) -> Output {
    fleet_env(dir, args, &[])
}

pub fn fleet_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .current_dir(dir)
        .args(args)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("FLEET_KNOWN_HOSTS")
        .env("FLEET_SSH_CONFIG", "/dev/null")
        .env("TERM", "dumb")
        // Last, so a test can put back what the defaults above take away.
        .envs(env.iter().copied())
        .output()
        .expect("run fleet");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Runs the fleet binary in a repository whose hosts are the testbed's (its known_hosts).
pub fn fleet_on(testbed: &Testbed, repo: &Repo, args: &[&str]) -> Output {
    let known = testbed.known_hosts();
    fleet_env(
        repo.path(),
        args,
        &[("FLEET_KNOWN_HOSTS", known.to_str().unwrap())],
    )
}

/// A project directory with this fleet.yaml, read with --worktree.
pub fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fleet.yaml"), yaml).unwrap();
    dir
}

/// A project name no other test uses, so label counts are exact.
pub fn unique_project(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A git repository (default branch `main`) holding fleet.yaml; every `commit` is a new desired
/// state.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        Repo { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Commits `yaml` as fleet.yaml (a commit even when nothing changed).
    pub fn commit(&self, yaml: &str) {
        self.write("fleet.yaml", yaml);
        git(self.path(), &["add", "-A"]);
        git(
            self.path(),
            &["commit", "-q", "--allow-empty", "-m", "state"],
        );
    }

    /// Writes a file of the work tree (not committed), creating its directories.
    pub fn write(&self, path: &str, text: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// Commits everything in the work tree with this message; returns the commit's hash.
    pub fn commit_all(&self, message: &str) -> String {
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", message]);
        git(self.path(), &["rev-parse", "HEAD"])
    }
}

/// Runs git in `dir` without the system's or the user's configuration (a fixed identity, `main`
/// as the default branch); returns its stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Removes the project's containers, networks and lock from the hosts when dropped.
pub struct Cleanup<'a> {
    testbed: &'a Testbed,
    hosts: Vec<usize>,
    project: String,
}

impl<'a> Cleanup<'a> {
    /// Guards a project on the given hosts: whatever the test leaves there goes at the end.
    pub fn of(testbed: &'a Testbed, hosts: &[usize], project: &str) -> Cleanup<'a> {
        Cleanup {
            testbed,
            hosts: hosts.to_vec(),
            project: project.to_string(),
        }
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for &host in &self.hosts {
            let docker = |args: &[&str]| {
                Command::new("docker")
                    .arg("-H")
                    .arg(format!("unix://{}", self.testbed.socket(host).display()))
                    .args(args)
                    .stderr(Stdio::null())
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                    .unwrap_or_default()
            };
            let filter = format!("label=fleet.project={}", self.project);
            let ids = docker(&["ps", "-aq", "--filter", &filter]);
            for id in ids.split_whitespace() {
                docker(&["rm", "-f", id]);
            }
            let nets = docker(&["network", "ls", "-q", "--filter", &filter]);
            for id in nets.split_whitespace() {
                docker(&["network", "rm", id]);
            }
            // The lock's and the watch lease's terms (fleet-lock-PROJECT[.watch][.N]).
            let prefix = format!("fleet-lock-{}", self.project);
            let volumes = docker(&["volume", "ls", "-q", "--filter", &format!("name={prefix}")]);
            for name in volumes.split_whitespace() {
                let rest = &name[prefix.len().min(name.len())..];
                if name.starts_with(&prefix) && (rest.is_empty() || rest.starts_with('.')) {
                    docker(&["volume", "rm", name]);
                }
            }
        }
        // The files fleet wrote on the hosts (secrets, certificates with their keys, data
        // directories): the testbed's hosts share this machine's filesystem.
        for root in ["/run/fleet", "/var/lib/fleet"] {
            let _ = std::fs::remove_dir_all(Path::new(root).join(&self.project));
        }
    }
}

/// A webhook receiver on loopback: answers 200 to every POST and keeps the bodies.
pub struct Receiver {
    pub url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn start(path: &str) -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Receiver { url, bodies }
    }

    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    /// Waits up to `limit` for a body containing `text`.
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(b) = self.bodies().into_iter().find(|b| b.contains(text)) {
                return b;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no notification with {text:?} within {limit:?}: {:?}",
            self.bodies()
        );
    }
}

/// A process's resident memory (KiB, VmRSS) and the CPU time it has used (user + system,
/// seconds), from /proc; zeros when it cannot be read.
pub fn proc_usage(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15; after the ")" they are the 12th and 13th.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // In clock ticks of USER_HZ, 100 on Linux.
    (rss, ticks as f64 / 100.0)
}
