//! `fleet watch` against real engines over SSH: healing, drift, imposters, commits followed
//! (and bad ones refused), signed webhooks, host loss and return, SIGTERM mid-rollout, standby,
//! and crash-loop backoff (the soak is in testbed_chaos.rs). The daemon runs as a real child process; the tests
//! read its /status and /metrics over HTTP and the hosts with the docker CLI.

mod common;

use std::time::{Duration, Instant};

use common::watch::{Watch, containers, converged_at, healthy, service, state};
use common::{Cleanup, Repo, Testbed, unique_project};

#[test]
fn heals_kills_removals_stops_and_removes_imposters() {
    let testbed = Testbed::get();
    let hosts = [1, 2];
    let project = unique_project("wheal");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let unmanaged = testbed.docker(1, &["run", "-d", "--label", "app=mine", "fleet-demo:1"]);
    let repo = Repo::new();
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        &service("fleet-demo:1", 2, ""),
    ));
    let watch = Watch::start(&testbed, &repo, 19301, &[]);
    watch.wait_for("2 healthy replicas", Duration::from_secs(60), |s| {
        converged_at(s, 2)
    });
    let (code, _) = watch.http("GET", "/readyz", &[], "");
    assert_eq!(code, 200, "ready once the commit is applied");

    // docker kill: the same container is started again.
    let victim = containers(&testbed, &[1], &project)[0].1.clone();
    let killed = Instant::now();
    testbed.docker(1, &["kill", &victim]);
    watch.wait_for("the killed replica healed", Duration::from_secs(20), |s| {
        converged_at(s, 2)
            && testbed.docker(1, &["inspect", "-f", "{{.State.Running}}", &victim]) == "true"
    });
    let heal = killed.elapsed();

    // docker rm: a new one is created.
    let victim = containers(&testbed, &[2], &project)[0].1.clone();
    testbed.docker(2, &["rm", "-f", &victim]);
    watch.wait_for(
        "the removed replica recreated",
        Duration::from_secs(20),
        |s| converged_at(s, 2) && containers(&testbed, &[2], &project).len() == 1,
    );
    assert_ne!(containers(&testbed, &[2], &project)[0].1, victim);

    // docker stop: started again.
    let victim = containers(&testbed, &[2], &project)[0].1.clone();
    testbed.docker(2, &["stop", "-t", "1", &victim]);
    watch.wait_for(
        "the stopped replica started",
        Duration::from_secs(20),
        |s| {
            converged_at(s, 2)
                && testbed.docker(2, &["inspect", "-f", "{{.State.Running}}", &victim]) == "true"
        },
    );

    // A hand-made container with the project's labels is removed.
    let imposter = testbed.docker(
        1,
        &[
            "run",
            "-d",
            "--label",
            &format!("fleet.project={project}"),
            "--label",
            "fleet.managed=true",
            "fleet-demo:1",
        ],
    );
    watch.wait_for("the imposter removed", Duration::from_secs(20), |_| {
        !containers(&testbed, &[1], &project)
            .iter()
            .any(|c| imposter.starts_with(&c.1))
    });

    assert_eq!(
        testbed.docker(
            1,
            &[
                "inspect",
                "-f",
                "{{.State.Status}} {{.RestartCount}}",
                &unmanaged
            ]
        ),
        "running 0",
        "the unmanaged container was touched"
    );
    testbed.docker(1, &["rm", "-f", &unmanaged]);
    assert!(
        watch.metric("fleet_heals_total") >= 3.0,
        "{}",
        watch.http("GET", "/metrics", &[], "").1
    );
    assert!(watch.metric("fleet_drift_corrections_total") >= 1.0);
    eprintln!("kill -> healthy again: {:.2}s", heal.as_secs_f64());
    assert_eq!(containers(&testbed, &hosts, &project).len(), 2);
}

#[test]
fn follows_commits_refuses_bad_ones_and_unsigned_webhooks() {
    let testbed = Testbed::get();
    let hosts = [3];
    let project = unique_project("wgit");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        &service("fleet-demo:1", 2, ""),
    ));
    // Reading the repository once a minute: only the webhook makes it look sooner.
    let watch = Watch::start(&testbed, &repo, 19302, &["--interval", "60s"]);
    watch.wait_for("2 healthy replicas", Duration::from_secs(60), |s| {
        converged_at(s, 2)
    });

    // Unsigned and wrongly signed deliveries: 401, and nothing read.
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        &service("fleet-demo:2", 2, ""),
    ));
    let body = r#"{"ref":"refs/heads/main"}"#;
    let (code, _) = watch.http("POST", "/hooks/git", &[], body);
    assert_eq!(code, 401);
    let wrong = fleet::watch::webhook::sign(b"not the secret", body.as_bytes());
    let (code, _) = watch.http(
        "POST",
        "/hooks/git",
        &[("X-Hub-Signature-256", &wrong)],
        body,
    );
    assert_eq!(code, 401);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        containers(&testbed, &hosts, &project)
            .iter()
            .all(|c| c.2 == "fleet-demo:1"),
        "a refused webhook must not trigger a rollout"
    );
    assert_eq!(
        watch.metric("fleet_webhooks_total{result=\"rejected\"}"),
        2.0
    );

    // A signed delivery: the new commit is rolled out.
    let good = fleet::watch::webhook::sign(b"s3cret", body.as_bytes());
    let (code, _) = watch.http(
        "POST",
        "/hooks/git",
        &[("X-Hub-Signature-256", &good)],
        body,
    );
    assert_eq!(code, 202);
    // Converged on demo:2 and the pass that did it recorded (the status is written after it).
    watch.wait_for("demo:2 rolled out", Duration::from_secs(30), |s| {
        converged_at(s, 2)
            && s["applied_commit"] == s["tip_commit"]
            && containers(&testbed, &hosts, &project)
                .iter()
                .all(|c| c.2 == "fleet-demo:2")
    });

    // An invalid commit: not applied, the error names file and line, demo:2 keeps serving.
    let applied = watch.status().unwrap()["applied_commit"].clone();
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        &service("fleet-demo:1", 2, "").replace("replicas: 2", "replicas: two"),
    ));
    let (code, _) = watch.http(
        "POST",
        "/hooks/git",
        &[("X-Hub-Signature-256", &good)],
        body,
    );
    assert_eq!(code, 202);
    let status = watch.wait_for(
        "the invalid commit reported",
        Duration::from_secs(20),
        |s| s["tip_error"]["kind"] == "invalid",
    );
    let message = status["tip_error"]["messages"][0].as_str().unwrap();
    assert!(
        message.starts_with("fleet.yaml:") && message.contains("deploy.replicas"),
        "{message}"
    );
    assert_eq!(status["applied_commit"], applied);
    std::thread::sleep(Duration::from_secs(2));
    let now = containers(&testbed, &hosts, &project);
    assert!(
        now.iter()
            .all(|c| c.2 == "fleet-demo:2" && c.3 == "running"),
        "{now:?}"
    );

    // A commit removing every replica: the mass-deletion guard holds it back.
    repo.commit(&state(&testbed, &project, &hosts, "services: {}\n"));
    let (code, _) = watch.http(
        "POST",
        "/hooks/git",
        &[("X-Hub-Signature-256", &good)],
        body,
    );
    assert_eq!(code, 202);
    let status = watch.wait_for("the mass delete refused", Duration::from_secs(20), |s| {
        s["tip_error"]["kind"] == "mass_delete"
    });
    assert!(
        status["tip_error"]["messages"][0]
            .as_str()
            .unwrap()
            .contains("allow_mass_delete")
    );
    assert_eq!(containers(&testbed, &hosts, &project).len(), 2);
}

#[test]
fn link_cut_moves_replicas_and_the_return_restores_the_spread() {
    let testbed = Testbed::get();
    let hosts = [4, 5, 6];
    let project = unique_project("wlost");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let body = format!(
        "watch: {{ host_down_after: 3s }}\n{}",
        service("fleet-demo:1", 3, "")
    );
    repo.commit(&state(&testbed, &project, &hosts, &body));
    let watch = Watch::start(&testbed, &repo, 19303, &[]);
    watch.wait_for("3 healthy replicas", Duration::from_secs(60), |s| {
        converged_at(s, 3)
    });
    let per_host = |h: usize| {
        containers(&testbed, &[h], &project)
            .iter()
            .filter(|c| c.3 == "running")
            .count()
    };
    assert_eq!((per_host(4), per_host(5), per_host(6)), (1, 1, 1));

    let cut = Instant::now();
    let restore = testbed.inject("link-down", "link-up", 5);
    let status = watch.wait_for("fh5's replica moved", Duration::from_secs(40), |s| {
        s["hosts"]["fh5"]["down"] == true && healthy(s, "web") == 3
    });
    let moved_after = cut.elapsed();
    assert_eq!(per_host(4) + per_host(6), 3, "{status}");
    assert!(
        moved_after >= Duration::from_secs(3),
        "moved before host_down_after: {moved_after:?}"
    );

    drop(restore);
    watch.wait_for("fh5 back with its share", Duration::from_secs(40), |s| {
        s["hosts"]["fh5"]["reachable"] == true && converged_at(s, 3) && per_host(5) == 1
    });
    assert_eq!((per_host(4), per_host(5), per_host(6)), (1, 1, 1));
    assert_eq!(
        containers(&testbed, &hosts, &project).len(),
        3,
        "no surplus left"
    );
    assert!(watch.metric("fleet_hosts_declared_down_total") >= 1.0);
    eprintln!(
        "link cut -> replica healthy elsewhere: {:.1}s",
        moved_after.as_secs_f64()
    );
}

/// Issue 19's measurement, as a bound: with `host_down_after: 6s`, the replicas of a cut-off
/// host are healthy elsewhere within 15 s of the cut (it took 30 s when every probe of the
/// unreachable host was a reconnect waiting out its connect timeout).
#[test]
fn a_link_cut_host_is_declared_down_on_time_and_its_replicas_are_healthy_elsewhere_within_15s() {
    let testbed = Testbed::get();
    let hosts = [3, 4, 5];
    let project = unique_project("wdown");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let body = format!(
        "watch: {{ host_down_after: 6s }}\n{}",
        service("fleet-demo:1", 6, "")
    );
    repo.commit(&state(&testbed, &project, &hosts, &body));
    let watch = Watch::start(&testbed, &repo, 19307, &[]);
    watch.wait_for("6 healthy replicas", Duration::from_secs(60), |s| {
        converged_at(s, 6)
    });
    let per_host = |h: usize| {
        containers(&testbed, &[h], &project)
            .iter()
            .filter(|c| c.3 == "running")
            .count()
    };
    assert_eq!((per_host(3), per_host(4), per_host(5)), (2, 2, 2));

    let cut = Instant::now();
    let _restore = testbed.inject("link-down", "link-up", 5);
    let down = watch.wait_for("fh5 declared down", Duration::from_secs(30), |s| {
        s["hosts"]["fh5"]["down"] == true
    });
    let declared = cut.elapsed();
    watch.wait_for(
        "fh5's replicas healthy elsewhere",
        Duration::from_secs(30),
        |s| healthy(s, "web") == 6 && s["hosts"]["fh5"]["down"] == true,
    );
    let moved = cut.elapsed();
    eprintln!(
        "link cut -> declared down {:.1}s -> 6 healthy {:.1}s",
        declared.as_secs_f64(),
        moved.as_secs_f64()
    );
    assert!(
        declared >= Duration::from_secs(5),
        "down before host_down_after: {declared:?}\n{down}"
    );
    assert!(
        declared <= Duration::from_secs(6 + 2 + 3),
        "declared down {declared:?} after the cut: host_down_after (6s) plus at most a probe interval and a ping timeout\n{}",
        watch.log()
    );
    assert!(
        moved <= Duration::from_secs(15),
        "replicas healthy elsewhere {moved:?} after the cut\n{}",
        watch.log()
    );
    assert_eq!(per_host(3) + per_host(4), 6);
}

#[test]
fn sigterm_mid_rollout_keeps_old_replicas_and_a_restart_converges() {
    let testbed = Testbed::get();
    let hosts = [1, 2];
    let project = unique_project("wterm");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let rollout =
        "      update_config: { order: stop-first, parallelism: 1, delay: 1s, monitor: 1s }\n";
    let svc = |image: &str| {
        service(image, 4, "").replace(
            "      update_config: { order: start-first, monitor: 1s }\n",
            rollout,
        )
    };
    repo.commit(&state(&testbed, &project, &hosts, &svc("fleet-demo:1")));
    let mut first = Watch::start(&testbed, &repo, 19304, &[]);
    first.wait_for("4 healthy replicas", Duration::from_secs(60), |s| {
        converged_at(s, 4)
    });

    // A second daemon for the project stands by.
    let second = Watch::start(&testbed, &repo, 19305, &[]);
    second.wait_for("standby", Duration::from_secs(20), |s| {
        s["role"] == "standby"
    });
    let (code, text) = second.http("GET", "/readyz", &[], "");
    assert_eq!(code, 503, "{text}");

    repo.commit(&state(&testbed, &project, &hosts, &svc("fleet-demo:2")));
    let start = Instant::now();
    while !containers(&testbed, &hosts, &project)
        .iter()
        .any(|c| c.2 == "fleet-demo:2")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the rollout never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = first.terminate(Duration::from_secs(40));
    assert_eq!(code, Some(0), "log:\n{}", first.log());
    // Every slot still has a serving replica, old or new: no batch left half-done.
    let running = containers(&testbed, &hosts, &project)
        .iter()
        .filter(|c| c.3 == "running")
        .count();
    assert!(
        running >= 4,
        "only {running} replicas running after SIGTERM:\n{}",
        first.log()
    );

    // The standby takes over and finishes the rollout.
    second.wait_for(
        "the standby finished the rollout",
        Duration::from_secs(90),
        |s| {
            s["role"] == "leader"
                && converged_at(s, 4)
                && containers(&testbed, &hosts, &project)
                    .iter()
                    .all(|c| c.2 == "fleet-demo:2")
        },
    );
    assert_eq!(containers(&testbed, &hosts, &project).len(), 4);
}

#[test]
fn a_crash_looping_replica_backs_off() {
    let testbed = Testbed::get();
    let hosts = [3];
    let project = unique_project("wloop");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        "services:\n  crash:\n    image: fleet-demo:1\n    command: ['sh', '-c', 'sleep 1; exit 3']\n    deploy: { update_config: { monitor: 0s } }\n",
    ));
    let watch = Watch::start(&testbed, &repo, 19306, &[]);
    let status = watch.wait_for("a backoff shown", Duration::from_secs(40), |s| {
        s["backoff"][0]["crashes"].as_u64().unwrap_or(0) >= 2
            && s["backoff"][0]["retry_in_seconds"].as_f64().unwrap_or(0.0) > 1.0
    });
    assert_eq!(status["backoff"][0]["service"], "crash");
    // While backing off, nothing restarts it: the count of starts stays put for a while.
    let starts = |_: ()| {
        let id = &containers(&testbed, &hosts, &project)[0].1;
        testbed.docker(3, &["inspect", "-f", "{{.State.StartedAt}}", id])
    };
    let before = starts(());
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(starts(()), before, "restarted during the backoff");
}

/// A replica whose health check starts failing (its /health file removed) is replaced by the
/// daemon, start-first, while requests through the balancers keep succeeding; the replacement
/// is counted in /metrics.
#[test]
fn an_unhealthy_replica_is_replaced_while_traffic_through_the_balancers_fails_nothing() {
    let testbed = Testbed::get();
    let hosts = [1, 2];
    let project = unique_project("wsick");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let port = 18_471;
    let body = format!(
        "balancer: {{ image: fleet-haproxy:2.6 }}\nservices:\n  web:\n    image: fleet-demo:1\n    \
         command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM INT; echo ok > /www/health; httpd -f -p 8080 -h /www & wait\"]\n    \
         healthcheck: {{ test: [CMD, wget, -qO-, 'http://127.0.0.1:8080/health'], interval: 1s, timeout: 1s, retries: 2 }}\n    \
         deploy: {{ replicas: 2, update_config: {{ order: start-first, monitor: 1s }} }}\n    \
         x-fleet: {{ expose: {{ port: 8080, host_port: {port}, drain: 1s, health_path: / }} }}\n"
    );
    repo.commit(&state(&testbed, &project, &hosts, &body));
    let watch = Watch::start(&testbed, &repo, 19308, &[]);
    watch.wait_for("2 healthy replicas", Duration::from_secs(60), |s| {
        converged_at(s, 2)
    });
    let target: std::net::SocketAddr = format!("{}:{port}", testbed.address(1)).parse().unwrap();
    let traffic = common::traffic::Traffic::start(target, "/", 20, Duration::from_secs(60));

    let sick = containers(&testbed, &[2], &project)
        .into_iter()
        .find(|c| c.3 == "running" && !c.2.contains("haproxy"))
        .expect("a replica on fh2");
    testbed.docker(2, &["exec", &sick.1, "rm", "/www/health"]);
    let replaced = watch.wait_for("the sick replica replaced", Duration::from_secs(45), |s| {
        converged_at(s, 2)
            && !containers(&testbed, &[2], &project)
                .iter()
                .any(|c| sick.1.starts_with(&c.1) || c.1.starts_with(&sick.1))
    });
    std::thread::sleep(Duration::from_secs(2));
    let outcomes = traffic.finish();
    let failed = common::traffic::failures(&outcomes);
    assert!(outcomes.len() > 100, "only {} requests", outcomes.len());
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        outcomes.len()
    );
    assert_eq!(
        watch.metric("fleet_unhealthy_replacements_total"),
        1.0,
        "{replaced}"
    );
    assert!(
        watch
            .log()
            .contains("replacing a replica whose health check fails"),
        "{}",
        watch.log()
    );
}

/// `fleet apply --notify` and `watch.notify` deliver to a webhook: the apply's outcome (Slack
/// format), the daemon's rollout of a new commit and its refusal of an invalid one (JSON),
/// counted in /metrics; the URL's token never appears in the daemon's log.
#[test]
fn notifications_reach_a_webhook_for_an_apply_a_rollout_and_a_refused_commit() {
    let testbed = Testbed::get();
    let hosts = [3];
    let project = unique_project("wnotify");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let hook = common::Receiver::start("/hooks/t0ken-9f3b");
    let body = |image: &str| {
        format!(
            "watch:\n  notify:\n    - {{ url: '{}', format: json, events: [rollout, rollback, commit_refused] }}\n{}",
            hook.url,
            service(image, 1, "")
        )
    };
    repo.commit(&state(&testbed, &project, &hosts, &body("fleet-demo:1")));
    let slack = common::Receiver::start("/services/T000/B000/s3cret");
    let applied = common::fleet_on(
        &testbed,
        &repo,
        &[
            "apply",
            "--yes",
            "--notify",
            &slack.url,
            "--notify-format",
            "slack",
        ],
    );
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let text = slack.wait_for("rollout", Duration::from_secs(10));
    assert!(
        text.contains(&format!(
            "*fleet* `{project}`: rollout: fleet apply succeeded"
        )),
        "{text}"
    );
    assert!(!applied.stderr.contains("s3cret"), "{}", applied.stderr);

    let watch = Watch::start(&testbed, &repo, 19309, &[]);
    watch.wait_for("1 healthy", Duration::from_secs(60), |s| converged_at(s, 1));
    repo.commit(&state(&testbed, &project, &hosts, &body("fleet-demo:2")));
    let rollout = hook.wait_for("\"event\":\"rollout\"", Duration::from_secs(60));
    let rollout: serde_json::Value = serde_json::from_str(&rollout).unwrap();
    assert_eq!(rollout["project"], project.as_str());
    assert!(
        rollout["message"]
            .as_str()
            .unwrap()
            .contains("runs this commit now"),
        "{rollout}"
    );

    repo.commit(&format!(
        "{}  oops: [\n",
        state(&testbed, &project, &hosts, &body("fleet-demo:2"))
    ));
    let refused = hook.wait_for("\"event\":\"commit_refused\"", Duration::from_secs(30));
    assert!(refused.contains("invalid"), "{refused}");
    assert!(watch.metric("fleet_notifications_total{result=\"sent\"}") >= 2.0);
    assert!(
        !watch.log().contains("t0ken-9f3b"),
        "the URL's token is in the log"
    );
}
