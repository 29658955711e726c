//! `fleet hosts` and the SSH transport against real Docker engines and real sshd servers.
//!
//! Host use, so that tests can run in parallel: fh1-fh3 stay healthy and are only read;
//! fh4 has its sshd stopped, fh5 its link cut, fh6 its engine stopped, each by one test.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Testbed, fleet, fleet_env, project, unique_project};
use fleet::docker::{DockerEngine, Endpoint};
use fleet::engine::Engine;
use fleet::ssh::{self, SshOptions};

fn fleet_yaml(testbed: &Testbed, project_name: &str, hosts: &[usize]) -> String {
    format!(
        "project: {project_name}\n{}services: {{}}\n",
        testbed.hosts_yaml(hosts)
    )
}

fn hosts_cmd<'a>(testbed: &'a Testbed, extra: &[&'a str]) -> Vec<String> {
    let mut args: Vec<String> = ["--worktree", "hosts", "--known-hosts"]
        .map(String::from)
        .to_vec();
    args.push(testbed.known_hosts().display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run(dir: &std::path::Path, args: &[String]) -> common::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fleet(dir, &args)
}

#[test]
fn hosts_reaches_every_host_and_counts_only_this_projects_containers() {
    let testbed = Testbed::get();
    let name = unique_project("hosts");
    // Two containers of this project on fh1, one of another project, one unmanaged.
    let mut made = Vec::new();
    for label in [
        format!("fleet.project={name}"),
        format!("fleet.project={name}"),
        "fleet.project=other".into(),
        "app=unmanaged".into(),
    ] {
        made.push(testbed.docker(1, &["create", "--label", &label, "fleet-demo:1"]));
    }
    let dir = project(&fleet_yaml(&testbed, &name, &[1, 2, 3]));
    let out = run(dir.path(), &hosts_cmd(&testbed, &["--format", "json"]));
    for id in &made {
        testbed.docker(1, &["rm", "-f", id]);
    }
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert_eq!(row["reachable"], true, "{row}");
        assert!(
            row["engine"]["version"]
                .as_str()
                .unwrap()
                .starts_with("20.10"),
            "{row}"
        );
        assert_eq!(row["engine"]["os"], "linux");
        assert!(row["engine"]["cpus"].as_i64().unwrap() >= 1);
        assert!(row["latency_ms"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(rows[0]["name"], "fh1");
    assert_eq!(rows[0]["managed_containers"], 2);
    assert_eq!(rows[1]["managed_containers"], 0);
}

#[test]
fn hosts_text_table_has_one_row_per_host() {
    let testbed = Testbed::get();
    let dir = project(&fleet_yaml(&testbed, "table", &[1, 2, 3]));
    let out = run(dir.path(), &hosts_cmd(&testbed, &[]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("HOST  ADDRESS"), "{}", out.stdout);
    for (i, line) in lines[1..].iter().enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], format!("fh{}", i + 1));
        assert_eq!(cols[1], format!("ssh://root@{}", testbed.address(i + 1)));
        assert_eq!(cols[2], "ok", "{line}");
    }
    assert_eq!(lines.len(), 4);
}

#[test]
fn unknown_host_key_is_refused_with_the_exact_line_to_add() {
    let testbed = Testbed::get();
    let dir = project(&fleet_yaml(&testbed, "unknown-key", &[2]));
    let empty = dir.path().join("known_hosts");
    std::fs::write(&empty, "").unwrap();
    let out = fleet(
        dir.path(),
        &[
            "--worktree",
            "hosts",
            "--known-hosts",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("unknown host key"), "{}", out.stdout);
    let key = std::fs::read_to_string(testbed.dir.join("fh2/host_key.pub")).unwrap();
    let key: Vec<&str> = key.split_whitespace().take(2).collect();
    let line = format!("    10.250.2.2 {} {}\n", key[0], key[1]);
    assert!(
        out.stderr.contains(&line),
        "expected the line {line:?} in:\n{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap(),
        "",
        "nothing may be recorded without --accept-new-host-keys"
    );

    // Trust on first use records the key, and the next run is strict and succeeds.
    let tofu = fleet(
        dir.path(),
        &[
            "--worktree",
            "hosts",
            "--known-hosts",
            empty.to_str().unwrap(),
            "--accept-new-host-keys",
        ],
    );
    assert_eq!(tofu.code, 0, "{}", tofu.stderr);
    let strict = fleet(
        dir.path(),
        &[
            "--worktree",
            "hosts",
            "--known-hosts",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(strict.code, 0, "{}", strict.stderr);
}

#[test]
fn changed_host_key_is_a_hard_error_naming_the_line() {
    let testbed = Testbed::get();
    let dir = project(&fleet_yaml(&testbed, "changed-key", &[3]));
    // fh3's address with fh2's key, on line 2.
    let other = std::fs::read_to_string(testbed.dir.join("fh2/host_key.pub")).unwrap();
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    let known = dir.path().join("known_hosts");
    std::fs::write(
        &known,
        format!("# pinned\n10.250.3.2 {} {}\n", other[0], other[1]),
    )
    .unwrap();
    let out = fleet(
        dir.path(),
        &[
            "--worktree",
            "hosts",
            "--known-hosts",
            known.to_str().unwrap(),
            "--accept-new-host-keys",
        ],
    );
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("host key changed"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("has CHANGED: it does not match line 2 of"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_key_the_host_does_not_accept_is_refused_clearly() {
    let testbed = Testbed::get();
    let dir = project("");
    let stranger = dir.path().join("stranger");
    let status = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            stranger.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let yaml = fleet_yaml(&testbed, "wrong-key", &[1]).replace(
        testbed.identity().to_str().unwrap(),
        stranger.to_str().unwrap(),
    );
    std::fs::write(dir.path().join("fleet.yaml"), yaml).unwrap();
    let out = run(dir.path(), &hosts_cmd(&testbed, &[]));
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("auth failed"), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "authentication failed for root@10.250.1.2 (tried: {})",
            stranger.display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn stopped_sshd_gives_connection_refused_without_hiding_other_hosts() {
    let testbed = Testbed::get();
    let _restore = testbed.inject("sshd-stop", "sshd-start", 4);
    let dir = project(&fleet_yaml(&testbed, "refused", &[1, 4]));
    let out = run(
        dir.path(),
        &hosts_cmd(&testbed, &["--connect-timeout", "5"]),
    );
    assert_eq!(out.code, 1);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert!(
        rows[1].starts_with("fh1") && rows[1].contains(" ok "),
        "{}",
        out.stdout
    );
    assert!(
        rows[2].starts_with("fh4") && rows[2].contains("connection refused"),
        "{}",
        out.stdout
    );
    assert!(
        out.elapsed < Duration::from_secs(5),
        "a refused connection should fail at once, took {:?}",
        out.elapsed
    );
}

#[test]
fn black_holed_host_times_out_and_never_hangs() {
    let testbed = Testbed::get();
    let _restore = testbed.inject("link-down", "link-up", 5);
    let dir = project(&fleet_yaml(&testbed, "blackhole", &[2, 5]));
    let out = run(
        dir.path(),
        &hosts_cmd(&testbed, &["--connect-timeout", "2"]),
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("fh5") && l.contains("timeout")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("fh2") && l.contains(" ok ")),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("no answer from root@10.250.5.2:22 within 2s"),
        "{}",
        out.stderr
    );
    assert!(
        out.elapsed < Duration::from_secs(8),
        "the connect timeout was 2 s but the run took {:?}",
        out.elapsed
    );
}

#[test]
fn stopped_engine_behind_a_live_sshd_is_reported_as_engine_down() {
    let testbed = Testbed::get();
    let _restore = testbed.inject("dockerd-stop", "dockerd-start", 6);
    let dir = project(&fleet_yaml(&testbed, "engine-down", &[6]));
    let out = run(dir.path(), &hosts_cmd(&testbed, &[]));
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("engine down"), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "the Docker engine at {} is not answering",
            testbed.socket(6).display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn proxy_jump_reaches_a_host_through_another() {
    let testbed = Testbed::get();
    let dir = project("");
    let config = dir.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host behind-fh1\n  HostName 10.250.2.2\n  User root\n  ProxyJump root@10.250.1.2\n\nHost *\n  IdentityFile {}\n",
            testbed.identity().display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!("project: jump\nhosts:\n  inner:\n    address: ssh://behind-fh1\n    docker_socket: {}\nservices: {{}}\n", testbed.socket(2).display()),
    )
    .unwrap();
    let before = std::fs::read_to_string(testbed.dir.join("fh2/sshd.log"))
        .unwrap_or_default()
        .len();
    let out = fleet(
        dir.path(),
        &[
            "--worktree",
            "hosts",
            "--known-hosts",
            testbed.known_hosts().to_str().unwrap(),
            "--ssh-config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // fh2 saw the login come from fh1's address: the connection went through the jump host.
    let log = std::fs::read_to_string(testbed.dir.join("fh2/sshd.log")).unwrap();
    assert!(
        log[before..].contains("Accepted publickey for root from 10.250.1.2"),
        "fh2 sshd log:\n{}",
        &log[before..]
    );
}

fn options(testbed: &Testbed) -> Arc<SshOptions> {
    let mut options =
        SshOptions::from_env(Some(testbed.known_hosts()), false, Duration::from_secs(5));
    options.use_agent = false;
    options.config_file = None;
    Arc::new(options)
}

async fn engine(testbed: &Testbed, i: usize, options: &Arc<SshOptions>) -> DockerEngine {
    let target = ssh::resolve(
        options,
        &testbed.address(i),
        Some("root"),
        None,
        Some(&testbed.identity()),
    )
    .unwrap();
    DockerEngine::connect(
        &Endpoint::Ssh {
            target,
            socket: testbed.socket(i).display().to_string(),
        },
        options,
    )
    .await
    .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_api_calls_share_one_ssh_connection() {
    let testbed = Testbed::get();
    let options = options(&testbed);
    let logins_before = testbed.accepted_logins(3);
    let engine = engine(&testbed, 3, &options).await;
    let calls = (0..200).map(|_| engine.facts());
    let results = tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(calls))
        .await
        .expect("200 calls over one connection did not finish in 60 s: channels are probably not multiplexed");
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 200 calls failed, first: {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(
        testbed.accepted_logins(3),
        logins_before + 1,
        "all calls must ride on one SSH login"
    );
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_stream_survives_sixty_idle_seconds() {
    use futures_util::StreamExt;
    let testbed = Testbed::get();
    let options = options(&testbed);
    let engine = engine(&testbed, 2, &options).await;
    let marker = unique_project("events");
    let engine = Arc::new(engine);
    let follower = Arc::clone(&engine);
    let followed = marker.clone();
    // Poll the stream from the start (it is lazy), forwarding what it yields.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut events = follower.container_events(&followed);
        while let Some(item) = events.next().await {
            let _ = tx.send(item.map_err(|e| e.to_string()));
        }
        let _ = tx.send(Err("the events stream ended".into()));
    });
    tokio::time::sleep(Duration::from_secs(61)).await;
    if let Ok(early) = rx.try_recv() {
        panic!("the stream yielded before anything happened: {early:?}");
    }
    let id = testbed.docker(
        2,
        &[
            "create",
            "--label",
            &format!("fleet.project={marker}"),
            "fleet-demo:1",
        ],
    );
    let event = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    testbed.docker(2, &["rm", "-f", &id]);
    reader.abort();
    let event = event
        .expect("no event within 10 s of creating a container: the idle stream died")
        .expect("channel closed");
    let event = event.expect("the events stream failed while idle");
    assert_eq!(event.action, "create");
    engine.close().await;
}

#[test]
fn encrypted_keys_open_with_fleet_ssh_passphrase() {
    let testbed = Testbed::get();
    let dir = project("");
    let key = dir.path().join("locked");
    let status = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "open sesame",
            "-f",
            key.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    // Authorise the key on fh1 (appending does not disturb the testbed's own key).
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let authorized = testbed.dir.join("fh1/authorized_keys");
    let mut keys = std::fs::read_to_string(&authorized).unwrap();
    keys.push_str(&public);
    std::fs::write(&authorized, keys).unwrap();
    let yaml = fleet_yaml(&testbed, "locked-key", &[1])
        .replace(testbed.identity().to_str().unwrap(), key.to_str().unwrap());
    std::fs::write(dir.path().join("fleet.yaml"), yaml).unwrap();
    let args = hosts_cmd(&testbed, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let without = fleet(dir.path(), &args);
    assert_eq!(without.code, 1);
    assert!(
        without
            .stderr
            .contains("(encrypted; set FLEET_SSH_PASSPHRASE)"),
        "{}",
        without.stderr
    );
    let wrong = fleet_env(dir.path(), &args, &[("FLEET_SSH_PASSPHRASE", "guess")]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stdout.contains("key file unreadable"),
        "{}",
        wrong.stdout
    );
    let right = fleet_env(
        dir.path(),
        &args,
        &[("FLEET_SSH_PASSPHRASE", "open sesame")],
    );
    assert_eq!(right.code, 0, "{}", right.stderr);
}

#[test]
fn a_server_that_forbids_socket_forwarding_is_reached_through_dial_stdio() {
    let testbed = Testbed::get();
    let dir = project("");
    let host_dir = testbed.dir.join("fh3");
    // A second sshd on fh3, port 2222, with socket forwarding disabled.
    let config = dir.path().join("sshd_config");
    let pid = dir.path().join("sshd.pid");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 10.250.3.2:2222\nHostKey {}\nAuthorizedKeysFile {}\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile {}\nAllowStreamLocalForwarding no\nSetEnv DOCKER_HOST=unix://{}\n",
            host_dir.join("host_key").display(),
            host_dir.join("authorized_keys").display(),
            pid.display(),
            testbed.socket(3).display()
        ),
    )
    .unwrap();
    let status = std::process::Command::new("nsenter")
        .args([
            "--net=/var/run/netns/fh3",
            "/usr/sbin/sshd",
            "-f",
            config.to_str().unwrap(),
            "-E",
        ])
        .arg(dir.path().join("sshd.log"))
        .status()
        .unwrap();
    assert!(status.success(), "could not start a second sshd on fh3");
    struct Kill(std::path::PathBuf);
    impl Drop for Kill {
        fn drop(&mut self) {
            if let Ok(pid) = std::fs::read_to_string(&self.0) {
                let _ = std::process::Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
    let _kill = Kill(pid.clone());
    for _ in 0..50 {
        if pid.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let key = std::fs::read_to_string(host_dir.join("host_key.pub")).unwrap();
    let key: Vec<&str> = key.split_whitespace().take(2).collect();
    let known = dir.path().join("known_hosts");
    std::fs::write(&known, format!("[10.250.3.2]:2222 {} {}\n", key[0], key[1])).unwrap();
    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!(
            "project: stdio\nhosts:\n  fh3:\n    address: ssh://root@10.250.3.2:2222\n    docker_socket: {}\n    identity_file: {}\nservices: {{}}\n",
            testbed.socket(3).display(),
            testbed.identity().display()
        ),
    )
    .unwrap();
    let out = fleet(
        dir.path(),
        &[
            "--worktree",
            "hosts",
            "--known-hosts",
            known.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.lines().nth(1).unwrap().contains(" ok "),
        "{}",
        out.stdout
    );
    let log = std::fs::read_to_string(dir.path().join("sshd.log")).unwrap_or_default();
    assert!(
        log.contains("refused streamlocal")
            || log.contains("streamlocal")
            || log.contains("prohibited"),
        "the server should have refused forwarding:\n{log}"
    );
}

#[test]
fn ssh_agent_keys_are_tried_first() {
    let testbed = Testbed::get();
    let dir = project("");
    // An agent holding the testbed key, and no key file anywhere fleet would look.
    let socket = dir.path().join("agent.sock");
    let agent = std::process::Command::new("ssh-agent")
        .args(["-a", socket.to_str().unwrap(), "-D"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Stop(agent);
    for _ in 0..50 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(testbed.identity())
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let yaml = format!(
        "project: agent\nhosts:\n  fh2:\n    address: ssh://root@10.250.2.2\n    docker_socket: {}\nservices: {{}}\n",
        testbed.socket(2).display()
    );
    std::fs::write(dir.path().join("fleet.yaml"), yaml).unwrap();
    let args = hosts_cmd(&testbed, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let home = dir.path().to_str().unwrap();
    let with_agent = fleet_env(
        dir.path(),
        &args,
        &[("SSH_AUTH_SOCK", socket.to_str().unwrap()), ("HOME", home)],
    );
    assert_eq!(with_agent.code, 0, "{}", with_agent.stderr);
    let without = fleet_env(dir.path(), &args, &[("HOME", home)]);
    assert_eq!(without.code, 1, "no agent and no key file: must fail");
    assert!(
        without.stderr.contains("(tried: no keys found)"),
        "{}",
        without.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_reestablished_when_next_needed() {
    let testbed = Testbed::get();
    let dir = project("");
    let host_dir = testbed.dir.join("fh1");
    // A private sshd on fh1:2223, so killing its sessions disturbs no other test.
    let (config, pid, log) = (
        dir.path().join("sshd_config"),
        dir.path().join("sshd.pid"),
        dir.path().join("sshd.log"),
    );
    std::fs::write(
        &config,
        format!(
            "ListenAddress 10.250.1.2:2223\nHostKey {}\nAuthorizedKeysFile {}\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile {}\n",
            host_dir.join("host_key").display(),
            host_dir.join("authorized_keys").display(),
            pid.display()
        ),
    )
    .unwrap();
    let started = std::process::Command::new("nsenter")
        .args([
            "--net=/var/run/netns/fh1",
            "/usr/sbin/sshd",
            "-f",
            config.to_str().unwrap(),
            "-E",
            log.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(started.success());
    for _ in 0..50 {
        if pid.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listener = std::fs::read_to_string(&pid).unwrap().trim().to_string();
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = std::process::Command::new("pkill")
                .args(["-P", &self.0])
                .status();
            let _ = std::process::Command::new("kill").arg(&self.0).status();
        }
    }
    let _kill = Kill(listener.clone());
    let key = std::fs::read_to_string(host_dir.join("host_key.pub")).unwrap();
    let key: Vec<&str> = key.split_whitespace().take(2).collect();
    let known = dir.path().join("known_hosts");
    std::fs::write(&known, format!("[10.250.1.2]:2223 {} {}\n", key[0], key[1])).unwrap();
    let mut options = SshOptions::from_env(Some(known), false, Duration::from_secs(5));
    options.use_agent = false;
    options.config_file = None;
    let options = Arc::new(options);
    let target = ssh::resolve(
        &options,
        "10.250.1.2",
        Some("root"),
        Some(2223),
        Some(&testbed.identity()),
    )
    .unwrap();
    let engine = DockerEngine::connect(
        &Endpoint::Ssh {
            target,
            socket: testbed.socket(1).display().to_string(),
        },
        &options,
    )
    .await
    .unwrap();
    engine.facts().await.expect("first call");

    // Drop the connection from the server side: kill the session processes, keep the listener.
    let killed = std::process::Command::new("pkill")
        .args(["-P", &listener])
        .status()
        .unwrap();
    assert!(killed.success(), "no session process to kill");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let again = tokio::time::timeout(Duration::from_secs(20), engine.facts())
        .await
        .expect("the call after the drop hung");
    assert!(again.is_ok(), "the call after the drop failed: {again:?}");
    let logins = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("Accepted publickey"))
        .count();
    assert_eq!(logins, 2, "one login, then one reconnection");
    engine.close().await;
}
