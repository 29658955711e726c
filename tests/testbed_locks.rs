//! Locks and leases against real engines: the states faults leave behind (a lock volume without
//! labels, as an engine restart left one; a lock of another machine that stopped renewing),
//! judged alike by `fleet lock status`, `fleet apply` and `fleet watch`; the watch lease's
//! failover (leader killed on another machine, leader cut off from the hosts) without two
//! daemons ever acting at once; an engine restart under the daemon.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::traffic;
use common::watch::{Launch, Watch, containers, converged_at, service, state};
use common::{Cleanup, Repo, Testbed, fleet_on, unique_project};
use fleet::clock::parse_rfc3339;
use serde_json::Value;

fn one_web(testbed: &Testbed, project: &str, hosts: &[usize], replicas: u32) -> String {
    state(
        testbed,
        project,
        hosts,
        &service("fleet-demo:1", replicas, ""),
    )
}

#[test]
fn a_label_less_lock_is_judged_alike_by_lock_status_and_apply_and_taken_over_once_expired() {
    let testbed = Testbed::get();
    let project = unique_project("bare");
    let hosts = [3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&one_web(&testbed, &project, &hosts, 1));
    // What the engine restart left behind: the lock volume, without any labels.
    testbed.docker(3, &["volume", "create", &format!("fleet-lock-{project}")]);

    let status = fleet_on(&testbed, &repo, &["lock", "status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("fh3: locked by nobody")
            && status.stdout.contains("labels are lost"),
        "{}",
        status.stdout
    );
    let out = fleet_on(&testbed, &repo, &["apply", "--yes", "--lock-timeout", "1s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the lock on fh3 is a lock without a holder")
            && out.stderr.contains("labels are lost"),
        "apply names the same state as lock status: {}",
        out.stderr
    );
    assert!(containers(&testbed, &hosts, &project).is_empty());

    // Given the time, apply takes it over by itself: no `fleet lock break` needed.
    let out = fleet_on(
        &testbed,
        &repo,
        &["apply", "--yes", "--lock-timeout", "60s"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Taking over the lock on fh3"),
        "{}",
        out.stderr
    );
    assert!(
        out.elapsed < Duration::from_secs(40),
        "taken over once 30 s old, waited {:?}",
        out.elapsed
    );
    let status = fleet_on(&testbed, &repo, &["lock", "status"]);
    assert!(status.stdout.contains("fh3: free"), "{}", status.stdout);
    let volumes = testbed.docker(3, &["volume", "ls", "-q"]);
    assert!(
        !volumes
            .lines()
            .any(|v| v == format!("fleet-lock-{project}")),
        "the label-less volume is collected: {volumes}"
    );
}

#[test]
fn a_lock_of_another_machine_that_stopped_renewing_is_taken_over_once_expired() {
    let testbed = Testbed::get();
    let project = unique_project("expired");
    let hosts = [3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&one_web(&testbed, &project, &hosts, 1));
    // A CI runner's apply, killed: valid for 3 s, never renewed.
    let mut args = vec!["volume", "create"];
    let labels = [
        "fleet.managed=true".to_string(),
        format!("fleet.project={project}"),
        "fleet.lock.state=held".into(),
        "fleet.lock.holder=ci@runner-7 pid 4242".into(),
        "fleet.lock.since=2026-01-01T00:00:00Z".into(),
        "fleet.lock.command=apply".into(),
        "fleet.lock.token=runner-7-4242".into(),
        "fleet.lock.machine=runner-7".into(),
        "fleet.lock.pid=4242".into(),
        "fleet.lock.ttl=3".into(),
    ];
    for l in &labels {
        args.extend(["--label", l]);
    }
    let name = format!("fleet-lock-{project}.41");
    args.push(&name);
    testbed.docker(3, &args);

    let status = fleet_on(&testbed, &repo, &["lock", "status"]);
    assert!(
        status
            .stdout
            .contains("fh3: locked by ci@runner-7 pid 4242"),
        "{}",
        status.stdout
    );
    std::thread::sleep(Duration::from_secs(4));
    let status = fleet_on(&testbed, &repo, &["--format", "json", "lock", "status"]);
    let report: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(report[0]["lock"]["state"], "stale", "{report}");
    assert!(report[0]["lock"]["why"]["expired"].is_object(), "{report}");
    let out = fleet_on(&testbed, &repo, &["apply", "--yes", "--lock-timeout", "0"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Taking over the lock on fh3") && out.stderr.contains("expired"),
        "{}",
        out.stderr
    );
}

#[test]
fn fleet_watch_reports_a_blocking_lock_at_once_then_takes_over_a_label_less_one_and_converges() {
    let testbed = Testbed::get();
    let project = unique_project("wbare");
    let hosts = [1, 2];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&one_web(&testbed, &project, &hosts, 2));
    testbed.docker(2, &["volume", "create", &format!("fleet-lock-{project}")]);
    let watch = Watch::start(&testbed, &repo, 19341, &[]);
    let status = watch.wait_for("blocked_by fh2", Duration::from_secs(15), |s| {
        s["blocked_by"]["host"] == "fh2"
    });
    assert!(
        status["blocked_by"]["lock"]
            .as_str()
            .is_some_and(|l| l.contains("labels are lost")),
        "{status}"
    );
    let (code, body) = watch.http("GET", "/readyz", &[], "");
    assert_eq!(code, 503, "{body}");
    assert!(body.starts_with("blocked"), "{body}");
    assert_eq!(watch.metric("fleet_blocked "), 1.0);

    let started = Instant::now();
    watch.wait_for(
        "converged after the take-over",
        Duration::from_secs(60),
        |s| converged_at(s, 2) && s["blocked_by"].is_null(),
    );
    eprintln!("blocked, then converged {:?} later", started.elapsed());
    assert!(watch.metric("fleet_lock_takeovers_total") >= 1.0);
    let (code, _) = watch.http("GET", "/readyz", &[], "");
    assert_eq!(code, 200);
    let status = fleet_on(&testbed, &repo, &["lock", "status"]);
    assert!(
        status.stdout.contains("fh1: free") && status.stdout.contains("fh2: free"),
        "lock status agrees once the daemon released it: {}",
        status.stdout
    );
}

/// Every term of the watch lease seen on a host: number, creation (engine clock, seconds) and
/// the holder's machine.
fn lease_terms(testbed: &Testbed, host: usize, project: &str) -> Vec<(u64, u64, String)> {
    let prefix = format!("fleet-lock-{project}.watch.");
    let Some(names) = testbed.try_docker(
        host,
        &["volume", "ls", "-q", "--filter", &format!("name={prefix}")],
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in names.lines().filter(|n| n.starts_with(&prefix)) {
        let Ok(number) = name[prefix.len()..].parse::<u64>() else {
            continue;
        };
        let Some(text) = testbed.try_docker(
            host,
            &[
                "volume",
                "inspect",
                "--format",
                "{{.CreatedAt}} {{index .Labels \"fleet.lock.machine\"}} {{index .Labels \"fleet.lock.state\"}}",
                name,
            ],
        ) else {
            continue;
        };
        let mut fields = text.split_whitespace();
        let (Some(created), Some(machine), Some(state)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if state != "held" {
            continue;
        }
        let Some(created) = parse_rfc3339(created) else {
            continue;
        };
        out.push((number, created, machine.to_string()));
    }
    out
}

/// (host, term number) to (creation, holder's machine).
type Terms = BTreeMap<(usize, u64), (u64, String)>;

/// Records every held lease term that shows up on the hosts, in the background, so history that
/// is later collected is still checked.
struct History {
    seen: Arc<std::sync::Mutex<Terms>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    hosts: Vec<usize>,
    project: String,
}

impl History {
    fn record(hosts: &[usize], project: &str) -> History {
        let seen = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (hosts_list, project_name) = (hosts.to_vec(), project.to_string());
        let (s, st, hosts, project) = (
            Arc::clone(&seen),
            Arc::clone(&stop),
            hosts.to_vec(),
            project.to_string(),
        );
        let thread = std::thread::spawn(move || {
            let testbed = Testbed::get();
            while !st.load(Ordering::SeqCst) {
                for &h in &hosts {
                    for (n, created, machine) in lease_terms(&testbed, h, &project) {
                        s.lock().unwrap().insert((h, n), (created, machine));
                    }
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        History {
            seen,
            stop,
            thread: Some(thread),
            hosts: hosts_list,
            project: project_name,
        }
    }

    fn finish(mut self) -> Terms {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // One last look, so the newest terms are in.
        let testbed = Testbed::get();
        let mut seen = self.seen.lock().unwrap().clone();
        for &h in &self.hosts {
            for (n, created, machine) in lease_terms(&testbed, h, &self.project) {
                seen.insert((h, n), (created, machine));
            }
        }
        seen
    }
}

/// On each host, terms of different machines never overlap: a machine's first term after
/// another's is created no earlier than that one's expiry (`ttl`, less the engine's one-second
/// resolution). Returns the number of hand-overs seen.
fn assert_no_overlap(history: &Terms, ttl: u64) -> usize {
    let mut handovers = 0;
    let mut last: BTreeMap<usize, (u64, u64, String)> = BTreeMap::new();
    for ((host, number), (created, machine)) in history {
        if let Some((prev_number, prev_created, prev_machine)) = last.get(host)
            && prev_machine != machine
        {
            handovers += 1;
            assert!(
                *created + 1 >= prev_created + ttl,
                "fh{host}: term {number} of {machine} created at {created}, but term {prev_number} of {prev_machine} (created {prev_created}) was valid until {}",
                prev_created + ttl
            );
        }
        last.insert(*host, (*number, *created, machine.clone()));
    }
    handovers
}

/// Log lines of apply steps the daemon carried out (JSON logs), with their time.
fn steps_after(watch: &Watch, after: std::time::SystemTime) -> Vec<String> {
    watch
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["step"].is_string())
        .filter(|v| {
            v["timestamp"]
                .as_str()
                .and_then(humantime_secs)
                .is_some_and(|t| t >= after)
        })
        .map(|v| v.to_string())
        .collect()
}

fn humantime_secs(text: &str) -> Option<std::time::SystemTime> {
    let secs = parse_rfc3339(text)?;
    let frac: f64 = text
        .get(19..)
        .and_then(|r| r.strip_prefix('.'))
        .map(|r| r.trim_end_matches('Z'))
        .and_then(|r| format!("0.{r}").parse().ok())
        .unwrap_or(0.0);
    Some(std::time::UNIX_EPOCH + Duration::from_secs_f64(secs as f64 + frac))
}

const FAST_LEASE: [&str; 4] = ["--lease-ttl", "6s", "--lease-renew", "2s"];

#[test]
fn a_leader_killed_on_another_machine_is_replaced_within_the_lease_ttl_plus_a_probe() {
    let testbed = Testbed::get();
    let project = unique_project("wkill");
    let hosts = [4];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&one_web(&testbed, &project, &hosts, 2));
    let history = History::record(&hosts, &project);
    let machine_a = Launch {
        machine: Some("ctl-a"),
        ..Launch::default()
    };
    let mut leader = Watch::launch(&testbed, &repo, 19342, &FAST_LEASE, &machine_a);
    leader.wait_for("leader, converged", Duration::from_secs(60), |s| {
        s["role"] == "leader" && converged_at(s, 2)
    });
    let machine_b = Launch {
        machine: Some("ctl-b"),
        ..Launch::default()
    };
    let standby = Watch::launch(&testbed, &repo, 19343, &FAST_LEASE, &machine_b);
    standby.wait_for("standby", Duration::from_secs(20), |s| {
        s["role"] == "standby" && s["leader"].as_str().is_some_and(|l| l.contains("@ctl-a"))
    });

    let _ = leader.child.kill(); // SIGKILL: nothing is released
    let _ = leader.child.wait();
    let killed = Instant::now();
    standby.wait_for("the standby leads", Duration::from_secs(20), |s| {
        s["role"] == "leader"
    });
    let took = killed.elapsed();
    eprintln!("standby leads {took:?} after the leader's kill -9 (ttl 6 s, probe 0.5 s)");
    assert!(
        took <= Duration::from_millis(6_000 + 500 + 2_500),
        "within the ttl plus one probe (and the engine clock's second): {took:?}"
    );
    // And it acts: a killed replica is healed by the new leader.
    let (host, id, _, _) = containers(&testbed, &hosts, &project).remove(0);
    testbed.docker(host, &["kill", &id]);
    standby.wait_for("healed by the new leader", Duration::from_secs(30), |s| {
        converged_at(s, 2)
    });
    let history = history.finish();
    assert!(
        assert_no_overlap(&history, 6) >= 1,
        "the hand-over shows in the lease history: {history:?}"
    );
}

#[test]
fn a_leader_cut_off_from_the_hosts_stops_acting_and_the_standby_takes_over_without_overlap() {
    let testbed = Testbed::get();
    let project = unique_project("wcut");
    let hosts = [4, 5];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&one_web(&testbed, &project, &hosts, 2));

    // The leader reaches the hosts only through proxies the test can cut.
    let dir = tempfile::tempdir().unwrap();
    let proxies: Vec<(usize, Proxy)> = hosts
        .iter()
        .map(|&h| {
            let target = format!("{}:22", testbed.address(h)).parse().unwrap();
            (h, Proxy::start(target))
        })
        .collect();
    let known = std::fs::read_to_string(testbed.known_hosts()).unwrap();
    let mut config = String::new();
    let mut proxied_known = String::new();
    for (h, proxy) in &proxies {
        let address = testbed.address(*h);
        config.push_str(&format!(
            "Host {address}\n  HostName 127.0.0.1\n  Port {}\n",
            proxy.port
        ));
        for line in known.lines() {
            if let Some(key) = line.strip_prefix(&format!("{address} ")) {
                proxied_known.push_str(&format!("[127.0.0.1]:{} {key}\n", proxy.port));
            }
        }
    }
    let config_path = dir.path().join("ssh_config");
    let known_path = dir.path().join("known_hosts");
    std::fs::write(&config_path, config).unwrap();
    std::fs::write(&known_path, proxied_known).unwrap();

    let history = History::record(&hosts, &project);
    let leader = Watch::launch(
        &testbed,
        &repo,
        19344,
        &FAST_LEASE,
        &Launch {
            machine: Some("ctl-a"),
            ssh_config: Some(&config_path),
            known_hosts: Some(&known_path),
            ..Launch::default()
        },
    );
    leader.wait_for("leader, converged", Duration::from_secs(60), |s| {
        s["role"] == "leader" && converged_at(s, 2)
    });
    let standby = Watch::launch(
        &testbed,
        &repo,
        19345,
        &FAST_LEASE,
        &Launch {
            machine: Some("ctl-b"),
            ..Launch::default()
        },
    );
    standby.wait_for("standby", Duration::from_secs(20), |s| {
        s["role"] == "standby"
    });

    for (_, proxy) in &proxies {
        proxy.cut();
    }
    let cut = Instant::now();
    standby.wait_for("the standby leads", Duration::from_secs(30), |s| {
        s["role"] == "leader"
    });
    eprintln!(
        "standby leads {:?} after the leader was cut off",
        cut.elapsed()
    );
    // The cut-off leader knows it holds nothing any more.
    leader.wait_for(
        "the cut-off leader stands by",
        Duration::from_secs(15),
        |s| s["role"] == "standby",
    );
    let (host, id, _, _) = containers(&testbed, &hosts, &project).remove(0);
    testbed.docker(host, &["rm", "-f", &id]);
    standby.wait_for("healed by the new leader", Duration::from_secs(30), |s| {
        converged_at(s, 2)
    });

    // Back on the network: the old leader sees the new one and does nothing.
    let restored = std::time::SystemTime::now();
    for (_, proxy) in &proxies {
        proxy.restore();
    }
    leader.wait_for(
        "the old leader sees the new one",
        Duration::from_secs(30),
        |s| s["role"] == "standby" && s["leader"].as_str().is_some_and(|l| l.contains("@ctl-b")),
    );
    let (host, id, _, _) = containers(&testbed, &hosts, &project).remove(0);
    testbed.docker(host, &["kill", &id]);
    standby.wait_for("healed again", Duration::from_secs(30), |s| {
        converged_at(s, 2)
    });
    std::thread::sleep(Duration::from_secs(2));
    let acted = steps_after(&leader, restored);
    assert!(
        acted.is_empty(),
        "the old leader changed nothing after it came back: {acted:?}"
    );
    let history = history.finish();
    assert!(
        assert_no_overlap(&history, 6) >= 2,
        "both hosts handed over, never overlapping: {history:?}"
    );
    assert_eq!(containers(&testbed, &hosts, &project).len(), 2);
}

/// Requests through a balancer, one at a time, for `limit`; how many failed.
fn probe_balancer(address: &str, port: u16, limit: Duration) -> (usize, usize) {
    let target: std::net::SocketAddr = format!("{address}:{port}").parse().unwrap();
    let traffic = traffic::Traffic::start(target, "/", 20, limit);
    std::thread::sleep(limit);
    let outcomes = traffic.finish();
    (outcomes.len(), traffic::failures(&outcomes).len())
}

#[test]
fn an_engine_restart_heals_the_host_and_its_balancer_serves_again() {
    let testbed = Testbed::get();
    let project = unique_project("wrestart");
    let hosts = [5, 6];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let port = 18_460;
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        &format!(
            "balancer: {{ image: fleet-haproxy:2.6 }}\n{}",
            service(
                "fleet-demo:1",
                4,
                &format!(
                    "    x-fleet: {{ expose: {{ port: 8080, host_port: {port}, drain: 1s, health_path: / }} }}\n"
                ),
            )
        ),
    ));
    let watch = Watch::start(&testbed, &repo, 19346, &["-v"]);
    watch.wait_for("4 healthy", Duration::from_secs(90), |s| converged_at(s, 4));
    let (sent, failed) = probe_balancer(&testbed.address(6), port, Duration::from_secs(2));
    assert!(
        sent > 10 && failed == 0,
        "serving before: {failed} of {sent} failed"
    );

    testbed.fault(&["dockerd-stop", "6"]);
    std::thread::sleep(Duration::from_secs(2));
    testbed.fault(&["dockerd-start", "6"]);
    // The engine answers now (dockerd-start waits for it).
    let back = Instant::now();
    let on_fh6 = |s: &Value| converged_at(s, 4) && s["hosts"]["fh6"]["reachable"] == true;
    watch.wait_for(
        "converged after the engine restart",
        Duration::from_secs(60),
        on_fh6,
    );
    let running_on_fh6 = containers(&testbed, &[6], &project)
        .iter()
        .filter(|c| c.3 == "running")
        .count();
    // Two replicas and the balancer.
    assert_eq!(
        running_on_fh6,
        3,
        "{:?}",
        containers(&testbed, &[6], &project)
    );
    let converged = back.elapsed();
    let mut serving = None;
    while back.elapsed() < Duration::from_secs(60) {
        let (sent, failed) = probe_balancer(&testbed.address(6), port, Duration::from_secs(1));
        if sent > 5 && failed == 0 {
            serving = Some(back.elapsed());
            break;
        }
    }
    let kept = std::env::temp_dir().join(format!("{project}.log"));
    let _ = std::fs::write(&kept, watch.log());
    let serving = serving.expect("fh6's balancer serves again");
    eprintln!(
        "engine restart: converged {converged:?} and fh6's balancer serving {serving:?} after the engine answered"
    );
    assert!(
        serving < Duration::from_secs(15),
        "serving again within 15 s of the engine answering: {serving:?}\nlog:\n{}",
        watch.log()
    );
    assert_eq!(containers(&testbed, &hosts, &project).len(), 6);
}
