//! `fleet apply` against real engines over SSH: deploy, scale, rolling updates (with the number
//! of serving replicas sampled throughout), rollback, failed pulls, locks, killed runs and a
//! host cut mid-apply. Every test uses its own project name; unmanaged containers sit next to
//! the fleet's and must never be touched.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Cleanup, Output, Repo, Testbed, fleet_on, unique_project};

fn apply(testbed: &Testbed, repo: &Repo) -> Output {
    fleet_on(testbed, repo, &["apply", "--yes"])
}

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(
        out.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

/// `fleet plan --detailed-exitcode` says the fleet matches the commit.
fn assert_converged(testbed: &Testbed, repo: &Repo) {
    let out = fleet_on(testbed, repo, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        out.code, 0,
        "not converged:\n{}\n{}",
        out.stdout, out.stderr
    );
}

#[derive(Clone, Debug, PartialEq)]
struct Seen {
    host: usize,
    id: String,
    name: String,
    image: String,
    state: String,
    status: String,
    slot: String,
}

/// Every container of the project on the given hosts (running or not).
fn containers(testbed: &Testbed, hosts: &[usize], project: &str) -> Vec<Seen> {
    let mut out = Vec::new();
    for &host in hosts {
        let text = testbed.docker(
            host,
            &[
                "ps",
                "-a",
                "--no-trunc",
                "--filter",
                &format!("label=fleet.project={project}"),
                "--format",
                "{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.State}}\t{{.Status}}\t{{.Label \"fleet.slot\"}}",
            ],
        );
        for line in text.lines().filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            out.push(Seen {
                host,
                id: f[0].into(),
                name: f[1].into(),
                image: f[2].into(),
                state: f[3].into(),
                status: f[4].into(),
                slot: f[5].into(),
            });
        }
    }
    out
}

/// Replicas that serve: running and, when they have a health check, healthy.
fn serving(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|c| {
            c.state == "running" && (!c.status.contains("(") || c.status.contains("(healthy)"))
        })
        .count()
}

/// What a replica answers on its port, asked from inside it.
fn answer(testbed: &Testbed, c: &Seen) -> String {
    testbed.docker(
        c.host,
        &["exec", &c.id, "wget", "-qO-", "http://127.0.0.1:8080/"],
    )
}

/// An unmanaged container on a host (no fleet labels), removed when dropped.
struct Unmanaged<'a> {
    testbed: &'a Testbed,
    host: usize,
    id: String,
}

impl<'a> Unmanaged<'a> {
    fn start(testbed: &'a Testbed, host: usize) -> Unmanaged<'a> {
        let id = testbed.docker(host, &["run", "-d", "--label", "app=mine", "fleet-demo:1"]);
        Unmanaged { testbed, host, id }
    }

    fn assert_untouched(&self) {
        let state = self.testbed.docker(
            self.host,
            &[
                "inspect",
                "-f",
                "{{.State.Status}} {{.RestartCount}}",
                &self.id,
            ],
        );
        assert_eq!(state, "running 0", "the unmanaged container was touched");
    }
}

impl Drop for Unmanaged<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .arg("-H")
            .arg(format!(
                "unix://{}",
                self.testbed.socket(self.host).display()
            ))
            .args(["rm", "-f", &self.id])
            .output();
    }
}

fn web_service(image: &str, replicas: u32, update: &str) -> String {
    format!(
        "services:
  web:
    image: {image}
    ports: ['8080']
    healthcheck:
      test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/']
      interval: 1s
      start_interval: 100ms
      start_period: 10s
    deploy:
      replicas: {replicas}
      placement:
        preferences: [{{ spread: node.labels.zone }}]
      update_config: {{ {update} }}
"
    )
}

/// Samples the number of serving replicas on `hosts` until `done` is set; returns the minimum.
fn sample_serving(
    testbed: &Testbed,
    hosts: Vec<usize>,
    project: String,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, usize)> {
    let testbed = Testbed {
        dir: testbed.dir.clone(),
        hosts: testbed.hosts,
    };
    std::thread::spawn(move || {
        let (mut min, mut samples) = (usize::MAX, 0);
        while !done.load(Ordering::SeqCst) {
            min = min.min(serving(&containers(&testbed, &hosts, &project)));
            samples += 1;
        }
        (min, samples)
    })
}

#[test]
fn deploy_then_scale_up_and_down_keeps_placement_and_spares_unmanaged_containers() {
    let testbed = Testbed::get();
    let project = unique_project("scale");
    let hosts = [1, 2, 3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let bystander = Unmanaged::start(&testbed, 1);
    let repo = Repo::new();
    let state = |replicas: u32| {
        format!(
            "project: {project}\n{}{}  api:\n    image: fleet-demo:2\n    deploy: {{ replicas: 2 }}\n",
            testbed.hosts_yaml(&hosts),
            web_service("fleet-demo:1", replicas, "parallelism: 2, monitor: 5s")
        )
    };

    repo.commit(&state(4));
    let out = apply(&testbed, &repo);
    assert_ok(&out, "first deploy");
    assert!(
        out.stdout.contains("Apply complete: 6 created"),
        "{}",
        out.stdout
    );
    assert_converged(&testbed, &repo);
    let seen = containers(&testbed, &hosts, &project);
    assert_eq!(seen.len(), 6);
    assert_eq!(serving(&seen), 6);
    let web: Vec<&Seen> = seen.iter().filter(|c| c.image == "fleet-demo:1").collect();
    // Spread over the three zones: 2/1/1.
    let mut per_host: BTreeMap<usize, usize> = BTreeMap::new();
    for c in &web {
        *per_host.entry(c.host).or_default() += 1;
    }
    assert_eq!(per_host.len(), 3, "{per_host:?}");
    assert_eq!(answer(&testbed, web[0]), "demo 1");

    repo.commit(&state(6));
    let out = apply(&testbed, &repo);
    assert_ok(&out, "scale to 6");
    assert!(
        out.stdout.contains("2 created, 0 replaced"),
        "{}",
        out.stdout
    );
    let after = containers(&testbed, &hosts, &project);
    // The four existing replicas were kept as they were.
    for c in &web {
        assert!(
            after.iter().any(|a| a.id == c.id),
            "{} was replaced",
            c.name
        );
    }
    assert_eq!(
        after.iter().filter(|c| c.image == "fleet-demo:1").count(),
        6
    );
    assert_converged(&testbed, &repo);

    repo.commit(&state(2));
    let out = apply(&testbed, &repo);
    assert_ok(&out, "scale to 2");
    assert!(out.stdout.contains("4 removed"), "{}", out.stdout);
    let after = containers(&testbed, &hosts, &project);
    let mut slots: Vec<&str> = after
        .iter()
        .filter(|c| c.image == "fleet-demo:1")
        .map(|c| c.slot.as_str())
        .collect();
    slots.sort();
    assert_eq!(slots, ["0", "1"], "the highest slots go first");
    assert_eq!(after.len(), 4, "api's two replicas stay");
    assert_converged(&testbed, &repo);
    bystander.assert_untouched();
}

fn rolling_update(order: &str, parallelism: usize) -> (usize, usize) {
    let testbed = Testbed::get();
    let project = unique_project(&format!("roll-{order}"));
    let hosts = [1, 2, 3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let bystander = Unmanaged::start(&testbed, 2);
    let repo = Repo::new();
    let update = format!("parallelism: {parallelism}, order: {order}, monitor: 5s");
    let state = |image: &str| {
        format!(
            "project: {project}\n{}{}",
            testbed.hosts_yaml(&hosts),
            web_service(image, 4, &update)
        )
    };
    repo.commit(&state("fleet-demo:1"));
    assert_ok(&apply(&testbed, &repo), "deploy");
    assert_eq!(serving(&containers(&testbed, &hosts, &project)), 4);

    repo.commit(&state("fleet-demo:2"));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = sample_serving(&testbed, hosts.to_vec(), project.clone(), Arc::clone(&done));
    let out = apply(&testbed, &repo);
    done.store(true, Ordering::SeqCst);
    let (min, samples) = sampler.join().unwrap();
    assert_ok(&out, "rolling update");
    assert!(out.stdout.contains("4 replaced"), "{}", out.stdout);
    let after = containers(&testbed, &hosts, &project);
    assert_eq!(after.len(), 4, "old replicas removed: {after:?}");
    for c in &after {
        assert_eq!(c.image, "fleet-demo:2");
        assert_eq!(answer(&testbed, c), "demo 2");
    }
    assert_converged(&testbed, &repo);
    bystander.assert_untouched();
    assert!(
        samples >= 5,
        "too few samples ({samples}) to judge availability"
    );
    (min, samples)
}

#[test]
fn start_first_rolling_update_never_drops_below_the_replica_count() {
    let (min, samples) = rolling_update("start-first", 1);
    assert!(
        min >= 4,
        "only {min} replicas served at some point ({samples} samples)"
    );
}

#[test]
fn stop_first_rolling_update_drops_at_most_parallelism_replicas() {
    let (min, samples) = rolling_update("stop-first", 2);
    assert!(
        min >= 2,
        "only {min} replicas served at some point ({samples} samples)"
    );
}

#[test]
fn a_failing_health_check_rolls_back_and_the_old_version_keeps_serving() {
    let testbed = Testbed::get();
    let project = unique_project("rollback");
    let hosts = [1, 2, 3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let good = format!(
        "project: {project}\n{}{}",
        testbed.hosts_yaml(&hosts),
        web_service(
            "fleet-demo:1",
            3,
            "parallelism: 1, order: start-first, failure_action: rollback, monitor: 3s"
        )
    );
    repo.commit(&good);
    assert_ok(&apply(&testbed, &repo), "deploy");
    let before = containers(&testbed, &hosts, &project);

    // Version 2 whose health check can never pass.
    let bad = good
        .replace("fleet-demo:1", "fleet-demo:2")
        .replace("'http://127.0.0.1:8080/'", "'http://127.0.0.1:9/'");
    repo.commit(&bad);
    let out = apply(&testbed, &repo);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ROLLED BACK"), "{}", out.stdout);
    assert!(!out.stdout.contains("Apply complete"), "{}", out.stdout);

    let after = containers(&testbed, &hosts, &project);
    let ids = |v: &[Seen]| {
        let mut ids: Vec<String> = v.iter().map(|c| c.id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&after), ids(&before), "exactly the old replicas remain");
    assert_eq!(serving(&after), 3);
    for c in &after {
        assert_eq!(answer(&testbed, c), "demo 1");
    }
    // The commit is still not applied: plan says so.
    let plan = fleet_on(&testbed, &repo, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stdout);
}

#[test]
fn a_failed_pull_aborts_before_anything_changes() {
    let testbed = Testbed::get();
    let project = unique_project("pull");
    let hosts = [1, 2];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let state = |image: &str, replicas: u32| {
        format!(
            "project: {project}\n{}services:\n  web:\n    image: {image}\n    deploy: {{ replicas: {replicas} }}\n",
            testbed.hosts_yaml(&hosts)
        )
    };
    repo.commit(&state("fleet-demo:1", 2));
    assert_ok(&apply(&testbed, &repo), "deploy");
    let before = containers(&testbed, &hosts, &project);

    // A registry on a testbed address where nothing listens: refused at once, no traffic
    // leaves the testbed. Scaling up at the same time must not happen either.
    let missing = format!("{}:5999/fleet/nope:1", testbed.address(1));
    repo.commit(&state(&missing, 3));
    let out = apply(&testbed, &repo);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Apply aborted before changing any container"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&missing),
        "names the image: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("fh1: FAILED pull") || out.stdout.contains("fh2: FAILED pull"),
        "names the host: {}",
        out.stdout
    );
    // Same containers, same state ("Up N seconds" moves on by itself, so it is left out).
    let key = |v: Vec<Seen>| -> Vec<(String, String, String)> {
        v.into_iter().map(|c| (c.id, c.image, c.state)).collect()
    };
    assert_eq!(key(containers(&testbed, &hosts, &project)), key(before));
}

#[test]
fn a_held_lock_makes_apply_wait_then_fail_and_can_be_broken() {
    let testbed = Testbed::get();
    let project = unique_project("lock");
    let hosts = [3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&format!(
        "project: {project}\n{}services:\n  web: {{ image: fleet-demo:1 }}\n",
        testbed.hosts_yaml(&hosts)
    ));
    // A lock of a run on another machine, just taken: held until it is 30 s old without a
    // renewal, so the 2 s waited here end in a failure that names the holder.
    testbed.docker(
        3,
        &[
            "volume",
            "create",
            "--label",
            "fleet.managed=true",
            "--label",
            &format!("fleet.project={project}"),
            "--label",
            "fleet.lock.holder=ci@runner-7 pid 4242",
            "--label",
            "fleet.lock.since=2026-01-01T00:00:00Z",
            "--label",
            "fleet.lock.command=apply",
            "--label",
            "fleet.lock.token=other",
            "--label",
            "fleet.lock.machine=runner-7",
            "--label",
            "fleet.lock.pid=4242",
            &format!("fleet-lock-{project}"),
        ],
    );
    let out = fleet_on(&testbed, &repo, &["apply", "--yes", "--lock-timeout", "2s"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("held by ci@runner-7 pid 4242"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("since 2026-01-01T00:00:00Z"),
        "{}",
        out.stderr
    );
    assert!(
        out.elapsed >= Duration::from_secs(2),
        "waited {:?}",
        out.elapsed
    );
    assert!(containers(&testbed, &hosts, &project).is_empty());

    let status = fleet_on(&testbed, &repo, &["lock", "status"]);
    assert!(
        status.stdout.contains("fh3: locked by ci@runner-7"),
        "{}",
        status.stdout
    );
    let broken = fleet_on(&testbed, &repo, &["lock", "break", "--yes"]);
    assert_ok(&broken, "lock break");
    assert!(
        broken.stdout.contains("fh3: locked by ci@runner-7"),
        "shows what it breaks"
    );
    assert!(broken.stdout.contains("fh3: lock removed"));

    assert_ok(&apply(&testbed, &repo), "apply after the break");
    let status = fleet_on(&testbed, &repo, &["lock", "status"]);
    assert!(
        status.stdout.contains("fh3: free"),
        "released: {}",
        status.stdout
    );
}

#[test]
fn two_concurrent_applies_take_turns() {
    let testbed = Testbed::get();
    let project = unique_project("turns");
    let hosts = [1, 2];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&format!(
        "project: {project}\n{}{}",
        testbed.hosts_yaml(&hosts),
        web_service("fleet-demo:1", 3, "monitor: 5s")
    ));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| apply(&testbed, &repo));
        let b = s.spawn(|| apply(&testbed, &repo));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ok(&a, "first apply");
    assert_ok(&b, "second apply");
    let waited = [&a, &b]
        .iter()
        .filter(|o| o.stderr.contains("Waiting up to"))
        .count();
    assert_eq!(waited, 1, "exactly one waited:\n{}\n{}", a.stderr, b.stderr);
    let seen = containers(&testbed, &hosts, &project);
    assert_eq!(seen.len(), 3, "no duplicates: {seen:?}");
    assert_converged(&testbed, &repo);
}

#[test]
fn an_apply_killed_at_any_point_converges_on_the_next_run() {
    let testbed = Testbed::get();
    let project = unique_project("killed");
    let hosts = [1, 2, 3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let bystander = Unmanaged::start(&testbed, 3);
    let repo = Repo::new();
    let state = |image: &str, replicas: u32, order: &str| {
        format!(
            "project: {project}\n{}{}",
            testbed.hosts_yaml(&hosts),
            web_service(image, replicas, &format!("order: {order}, monitor: 5s"))
        )
    };
    let known = testbed.known_hosts();
    let states = [
        state("fleet-demo:1", 4, "start-first"),
        state("fleet-demo:2", 4, "start-first"),
        state("fleet-demo:1", 5, "stop-first"),
        state("fleet-demo:2", 3, "stop-first"),
    ];
    for (i, (yaml, kill_after)) in states.iter().zip([300u64, 900, 1700, 2600]).enumerate() {
        repo.commit(yaml);
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleet"))
            .current_dir(repo.path())
            .args(["apply", "--yes"])
            .env_remove("SSH_AUTH_SOCK")
            .env("FLEET_SSH_CONFIG", "/dev/null")
            .env("FLEET_KNOWN_HOSTS", &known)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(kill_after));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let out = apply(&testbed, &repo);
        assert_ok(
            &out,
            &format!("re-run {i} after kill -9 at {kill_after} ms"),
        );
        assert_converged(&testbed, &repo);
        let seen = containers(&testbed, &hosts, &project);
        let replicas = [4, 4, 5, 3][i];
        assert_eq!(seen.len(), replicas, "no duplicates or orphans: {seen:?}");
        let mut slots: Vec<&str> = seen.iter().map(|c| c.slot.as_str()).collect();
        slots.sort();
        slots.dedup();
        assert_eq!(slots.len(), replicas, "one container per slot");
        assert_eq!(serving(&seen), replicas);
    }
    bystander.assert_untouched();
}

#[test]
fn link_cut_mid_apply_spares_the_other_hosts_and_a_rerun_converges() {
    let testbed = Testbed::get();
    let project = unique_project("cut");
    let hosts = [4, 5, 6];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let state = |image: &str| {
        format!(
            "project: {project}\n{}{}",
            testbed.hosts_yaml(&hosts),
            web_service(image, 6, "parallelism: 1, order: start-first, monitor: 5s")
        )
    };
    repo.commit(&state("fleet-demo:1"));
    assert_ok(&apply(&testbed, &repo), "deploy");

    repo.commit(&state("fleet-demo:2"));
    let start = Instant::now();
    let out = std::thread::scope(|s| {
        let cutter = s.spawn(|| {
            // Into the rollout: fh4's replicas are being replaced, fh5's are next.
            std::thread::sleep(Duration::from_millis(1500));
            testbed.inject("link-down", "link-up", 5)
        });
        let out = fleet_on(&testbed, &repo, &["apply", "--yes", "--call-timeout", "3s"]);
        let restore = cutter.join().unwrap();
        (out, restore)
    });
    let (out, restore) = out;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("host fh5: FAILED"), "{}", out.stdout);
    assert!(
        start.elapsed() < Duration::from_secs(40),
        "took {:?}\n{}\n{}",
        start.elapsed(),
        out.stdout,
        out.stderr
    );
    // The other hosts completed: their replicas run version 2 only.
    for host in [4, 6] {
        let seen = containers(&testbed, &[host], &project);
        assert!(!seen.is_empty());
        for c in &seen {
            assert_eq!(c.image, "fleet-demo:2", "{host}: {seen:?}");
        }
    }
    drop(restore); // link back up
    let out = apply(&testbed, &repo);
    assert_ok(&out, "re-run after the link is back");
    assert_converged(&testbed, &repo);
    let seen = containers(&testbed, &hosts, &project);
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(seen.iter().all(|c| c.image == "fleet-demo:2"));
}

#[test]
fn without_a_terminal_apply_refuses_to_proceed_without_yes() {
    let testbed = Testbed::get();
    let project = unique_project("noyes");
    let hosts = [2];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&format!(
        "project: {project}\n{}services:\n  web: {{ image: fleet-demo:1 }}\n",
        testbed.hosts_yaml(&hosts)
    ));
    let out = fleet_on(&testbed, &repo, &["apply"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(
        out.stdout.contains("+ web[0] on fh2: create"),
        "shows the plan first"
    );
    assert!(containers(&testbed, &hosts, &project).is_empty());
}

#[test]
fn a_saved_plan_is_applied_only_while_it_is_current() {
    let testbed = Testbed::get();
    let project = unique_project("saved");
    let hosts = [2];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let state = |replicas: u32| {
        format!(
            "project: {project}\n{}services:\n  web:\n    image: fleet-demo:1\n    deploy: {{ replicas: {replicas} }}\n",
            testbed.hosts_yaml(&hosts)
        )
    };
    repo.commit(&state(1));
    let plan_file = repo.path().join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    assert_ok(
        &fleet_on(&testbed, &repo, &["plan", "--out", plan_arg]),
        "plan",
    );
    // The hosts change behind the plan's back: stale.
    testbed.docker(
        2,
        &[
            "create",
            "--label",
            &format!("fleet.project={project}"),
            "fleet-demo:1",
        ],
    );
    let out = fleet_on(&testbed, &repo, &["apply", "--yes", plan_arg]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("plan is stale: the hosts changed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("fleet plan --out"), "says what to run");

    // A fresh plan applies; then a new commit makes it stale again.
    assert_ok(
        &fleet_on(&testbed, &repo, &["plan", "--out", plan_arg]),
        "plan",
    );
    let out = fleet_on(&testbed, &repo, &["apply", "--yes", plan_arg]);
    assert_ok(&out, "apply the saved plan");
    assert_eq!(
        containers(&testbed, &hosts, &project).len(),
        1,
        "imposter removed"
    );
    assert_ok(
        &fleet_on(&testbed, &repo, &["plan", "--out", plan_arg]),
        "plan",
    );
    repo.commit(&state(2));
    let out = fleet_on(&testbed, &repo, &["apply", "--yes", plan_arg]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("plan is stale: the desired state changed since it was made"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_fixed_host_port_is_replaced_stop_first_even_when_start_first_is_asked() {
    let testbed = Testbed::get();
    let project = unique_project("fixedport");
    let hosts = [2];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let state = |image: &str| {
        format!(
            "project: {project}\n{}services:\n  web:\n    image: {image}\n    ports: ['18080:8080']\n    deploy:\n      update_config: {{ order: start-first, failure_action: rollback, monitor: 1s }}\n",
            testbed.hosts_yaml(&hosts)
        )
    };
    repo.commit(&state("fleet-demo:1"));
    assert_ok(&apply(&testbed, &repo), "deploy");
    repo.commit(&state("fleet-demo:2"));
    let out = apply(&testbed, &repo);
    assert_ok(&out, "update with a fixed port");
    let seen = containers(&testbed, &hosts, &project);
    assert_eq!(seen.len(), 1);
    assert_eq!(answer(&testbed, &seen[0]), "demo 2");
}
