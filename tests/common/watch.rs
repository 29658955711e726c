//! A `fleet watch` daemon as a child process, read over its HTTP API, and the fleet.yaml
//! pieces the daemon tests share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Repo, Testbed};

/// A `fleet watch` child process with its own HTTP port and log file.
pub struct Watch {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

/// How a daemon is started besides its flags.
#[derive(Default)]
pub struct Launch<'a> {
    /// Run it with this host name in a UTS namespace of its own: another "machine" to the
    /// locks (they tell holders apart by machine and pid).
    pub machine: Option<&'a str>,
    /// An SSH config file instead of none (e.g. to reach the hosts through a proxy).
    pub ssh_config: Option<&'a std::path::Path>,
    /// A known_hosts file instead of the testbed's.
    pub known_hosts: Option<&'a std::path::Path>,
    /// Only `--listen` and the extra flags: the daemon with its own defaults (the benchmarks'
    /// figures), not the tests' short intervals.
    pub defaults: bool,
}

impl Watch {
    pub fn start(testbed: &Testbed, repo: &Repo, port: u16, extra: &[&str]) -> Watch {
        Watch::launch(testbed, repo, port, extra, &Launch::default())
    }

    pub fn launch(
        testbed: &Testbed,
        repo: &Repo,
        port: u16,
        extra: &[&str],
        how: &Launch<'_>,
    ) -> Watch {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("watch.log");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let listen = format!("127.0.0.1:{port}");
        let mut command = match how.machine {
            // A fresh UTS namespace with its own host name, then fleet.
            Some(machine) => {
                let mut c = Command::new("unshare");
                c.args([
                    "--uts",
                    "sh",
                    "-c",
                    "hostname \"$0\" && exec \"$@\"",
                    machine,
                ]);
                c.arg(env!("CARGO_BIN_EXE_fleet"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_fleet")),
        };
        let ssh_config = how
            .ssh_config
            .map_or_else(|| PathBuf::from("/dev/null"), |p| p.to_path_buf());
        let known = how
            .known_hosts
            .map_or_else(|| testbed.known_hosts(), |p| p.to_path_buf());
        command
            .current_dir(repo.path())
            .args(["watch", "--listen", &listen]);
        if !how.defaults {
            command.args([
                "--probe-interval",
                "500ms",
                "--connect-timeout",
                "2",
                "--log-format",
                "json",
                "--webhook-secret-file",
                secret.to_str().unwrap(),
            ]);
            // Read the repository every second unless the test says otherwise.
            if !extra.contains(&"--interval") {
                command.args(["--interval", "1s"]);
            }
        }
        let child = command
            .args(extra)
            .env_remove("SSH_AUTH_SOCK")
            .env("FLEET_SSH_CONFIG", ssh_config)
            .env("FLEET_KNOWN_HOSTS", known)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start fleet watch");
        Watch {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        http(self.port, method, path, headers, body)
    }

    pub fn status(&self) -> Option<Value> {
        let (code, body) = self.http("GET", "/status", &[], "");
        (code == 200)
            .then(|| serde_json::from_str(&body).ok())
            .flatten()
    }

    pub fn metric(&self, line_start: &str) -> f64 {
        let (_, text) = self.http("GET", "/metrics", &[], "");
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Waits until `ok` holds for /status; fails with the status and the log otherwise.
    pub fn wait_for(&self, what: &str, limit: Duration, ok: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < limit {
            if let Some(status) = self.status() {
                if ok(&status) {
                    return status;
                }
                last = Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "timed out after {limit:?} waiting for {what}\nlast status: {}\nlog:\n{}",
            last.map(|s| s.to_string()).unwrap_or_default(),
            self.log()
        );
    }

    /// SIGTERM, then the exit code (None when it did not exit within `limit`).
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on loopback; (status, body). Status 0 when nothing listens yet.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

pub fn service(image: &str, replicas: u32, extra: &str) -> String {
    format!(
        "services:
  web:
    image: {image}
    healthcheck:
      test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/']
      interval: 1s
      timeout: 1s
      retries: 2
    deploy:
      replicas: {replicas}
      update_config: {{ order: start-first, monitor: 1s }}
{extra}"
    )
}

pub fn state(testbed: &Testbed, project: &str, yaml_hosts: &[usize], body: &str) -> String {
    format!(
        "project: {project}\n{}{body}",
        testbed.hosts_yaml(yaml_hosts)
    )
}

/// (host, id, image, state) of every container of the project.
pub fn containers(
    testbed: &Testbed,
    hosts: &[usize],
    project: &str,
) -> Vec<(usize, String, String, String)> {
    let mut out = Vec::new();
    for &h in hosts {
        let text = testbed.docker(
            h,
            &[
                "ps",
                "-a",
                "--filter",
                &format!("label=fleet.project={project}"),
                "--format",
                "{{.ID}} {{.Image}} {{.State}}",
            ],
        );
        for line in text.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            out.push((h, f[0].to_string(), f[1].to_string(), f[2].to_string()));
        }
    }
    out
}

pub fn healthy(status: &Value, service: &str) -> u64 {
    status["services"][service]["healthy"].as_u64().unwrap_or(0)
}

pub fn converged_at(status: &Value, n: u64) -> bool {
    healthy(status, "web") == n
        && status["services"]["web"]["running"].as_u64() == Some(n)
        && status["last_reconcile"]["result"] == "converged"
}
