//! Autoscaling on the testbed: `fleet watch` scales a service on the balancers' request counts
//! and on its replicas' CPU, within bounds from git, without failing a request, never inside
//! the scale-down window nor on missing data; `fleet apply` from CI keeps the daemon's count.

mod common;

use std::time::{Duration, Instant};

use common::traffic::{Traffic, failures};
use common::watch::{Watch, state};
use common::{Cleanup, Repo, Testbed, fleet_on, unique_project};
use serde_json::Value;

/// The count the daemon holds the service to, and how many run healthy.
fn counts(status: &Value) -> (u64, u64) {
    let web = &status["services"]["web"];
    (
        web["desired"].as_u64().unwrap_or(0),
        web["healthy"].as_u64().unwrap_or(0),
    )
}

fn web(port: u16, autoscale: &str, extra: &str) -> String {
    format!(
        "balancer: {{ image: fleet-haproxy:2.6 }}\nservices:\n  web:\n    image: fleet-demo:1\n    \
         healthcheck: {{ test: [CMD, wget, -qO-, 'http://127.0.0.1:8080/'], interval: 1s, timeout: 1s, retries: 2 }}\n    \
         deploy: {{ replicas: 1, update_config: {{ order: start-first, monitor: 1s }} }}\n    \
         x-fleet:\n      expose: {{ port: 8080, host_port: {port}, drain: 1s, health_path: / }}\n      \
         autoscale: {autoscale}\n{extra}"
    )
}

/// A load step above target through the balancers: replicas rise within 30 s and serve; `fleet
/// apply` from CI keeps the count; a commit lowering `max` clamps it; when the load drops nothing
/// goes before `scale_down_after`, then it goes to `min`; no request fails throughout.
#[test]
fn a_load_step_scales_up_fast_and_down_after_the_window_failing_no_request() {
    let testbed = Testbed::get();
    let hosts = [4, 5];
    let project = unique_project("scale");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let port = 18_651;
    let scale = |max: u32| {
        format!("{{ min: 1, max: {max}, requests_per_second: 4, scale_down_after: 20s }}")
    };
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        &web(port, &scale(4), ""),
    ));
    let watch = Watch::start(&testbed, &repo, 19_351, &["--autoscale-interval", "1s"]);
    watch.wait_for("1 healthy replica", Duration::from_secs(60), |s| {
        counts(s) == (1, 1)
    });
    let target: std::net::SocketAddr = format!("{}:{port}", testbed.address(4)).parse().unwrap();

    // 20 req/s against a target of 4 per replica: 5 wanted, 4 at most.
    let step = Instant::now();
    let high = Traffic::start(target, "/", 20, Duration::from_secs(300));
    let up = watch.wait_for("4 healthy replicas", Duration::from_secs(30), |s| {
        counts(s) == (4, 4)
    });
    let reaction = step.elapsed();
    assert_eq!(up["autoscale"]["web"]["max"], 4, "{up}");
    assert!(
        up["autoscale"]["web"]["last_change"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("requests_per_second")),
        "{up}"
    );

    // fleet status (no daemon needed) shows the bounds and the signals now, beside the targets.
    let status = fleet_on(&testbed, &repo, &["status"]);
    let line = status
        .stdout
        .lines()
        .find(|l| l.starts_with("web ") && l.contains("autoscaled 1-4"))
        .unwrap_or_else(|| panic!("{}{}", status.stdout, status.stderr))
        .to_string();
    let rate: f64 = line
        .split("requests_per_second ")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no rate in `{line}`"));
    // 20 req/s over 4 replicas.
    assert!((3.0..7.0).contains(&rate), "{line}");
    assert_eq!(status.code, 0, "{}", status.stdout);

    // CI applies the same commit: the daemon's count stays.
    let plan = fleet_on(&testbed, &repo, &["plan"]);
    assert!(
        plan.stdout.contains("web: 4 replicas (autoscaled, 1-4"),
        "{}{}",
        plan.stdout,
        plan.stderr
    );
    let apply = fleet_on(
        &testbed,
        &repo,
        &["apply", "--yes", "--lock-timeout", "60s"],
    );
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    std::thread::sleep(Duration::from_secs(3));
    let kept = watch.status().unwrap();
    assert_eq!(counts(&kept), (4, 4), "CI apply changed the count: {kept}");

    // A commit lowering max while the load is still high: clamped at once.
    repo.commit(&state(
        &testbed,
        &project,
        &hosts,
        &web(port, &scale(3), ""),
    ));
    watch.wait_for("clamped to 3", Duration::from_secs(30), |s| {
        counts(s) == (3, 3)
    });

    // The load drops to 2 req/s (1 replica's worth): nothing goes for 20 s, then down to 1.
    let high_outcomes = high.finish();
    let drop = Instant::now();
    let low = Traffic::start(target, "/", 2, Duration::from_secs(300));
    let mut first_decrease = None;
    while drop.elapsed() < Duration::from_secs(60) {
        let s = watch.status().unwrap();
        let (desired, healthy) = counts(&s);
        if desired < 3 && first_decrease.is_none() {
            first_decrease = Some(drop.elapsed());
        }
        if (desired, healthy) == (1, 1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let low_outcomes = low.finish();
    let status = watch.status().unwrap();
    assert_eq!(
        counts(&status),
        (1, 1),
        "not back at min: {status}\n{}",
        watch.log()
    );
    let first_decrease = first_decrease.unwrap();
    assert!(
        first_decrease >= Duration::from_secs(18),
        "scaled down {first_decrease:?} after the load dropped, inside the 20 s window\n{}",
        watch.log()
    );
    eprintln!(
        "reaction to the load step: {reaction:?}; first scale-down {first_decrease:?} after the drop"
    );

    for (phase, outcomes) in [("scale-up", &high_outcomes), ("scale-down", &low_outcomes)] {
        let failed = failures(outcomes);
        assert!(
            outcomes.len() > 40,
            "{phase}: only {} requests",
            outcomes.len()
        );
        assert!(
            failed.is_empty(),
            "{phase}: {} of {} failed: {failed:?}",
            failed.len(),
            outcomes.len()
        );
    }
    assert!(watch.metric("fleet_autoscale_events_total{service=\"web\",direction=\"up\"}") >= 1.0);
    assert!(
        watch.metric("fleet_autoscale_events_total{service=\"web\",direction=\"down\"}") >= 1.0
    );
    assert!(watch.log().contains("autoscale"), "{}", watch.log());
}

/// A service burning CPU at its limit scales on `cpu`, once its replicas are warm.
#[test]
fn a_cpu_bound_service_scales_on_cpu() {
    let testbed = Testbed::get();
    let hosts = [3];
    let project = unique_project("scpu");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let body = "services:\n  burn:\n    image: fleet-demo:1\n    \
         command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM INT; while :; do :; done & wait\"]\n    \
         deploy:\n      replicas: 1\n      resources: { limits: { cpus: '0.1' } }\n    \
         x-fleet:\n      autoscale: { min: 1, max: 3, cpu: 50% }\n";
    repo.commit(&state(&testbed, &project, &hosts, body));
    let watch = Watch::start(&testbed, &repo, 19_352, &["--autoscale-interval", "1s"]);
    let scaled = watch.wait_for("3 replicas", Duration::from_secs(120), |s| {
        s["services"]["burn"]["desired"] == 3 && s["services"]["burn"]["running"] == 3
    });
    let cpu = scaled["autoscale"]["burn"]["signals"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["signal"] == "cpu"))
        .cloned()
        .unwrap_or_default();
    // Each replica at its limit: about 100 % of it.
    let value = cpu["value"].as_f64().unwrap_or(0.0);
    assert!((0.6..1.4).contains(&value), "cpu {value}: {scaled}");
    assert!(
        watch.log().contains("autoscale") && watch.log().contains("cpu"),
        "{}",
        watch.log()
    );
}

/// A balancer whose counters cannot be read holds a scale-down back; once it can be read again
/// the idle service goes down to `min`.
#[test]
fn an_unreadable_balancer_holds_a_scale_down_back() {
    let testbed = Testbed::get();
    let hosts = [4, 5];
    let project = unique_project("sgap");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let port = 18_652;
    let autoscale = "{ min: 1, max: 4, requests_per_second: 4, scale_down_after: 10s }";
    let body = web(port, autoscale, "").replace("replicas: 1,", "replicas: 3,");
    repo.commit(&state(&testbed, &project, &hosts, &body));
    // The balancer on fh5 has no statistics socket from the start: its counters are unknown.
    let socket = format!("/run/fleet/{project}/.balancer-stats/fh5/stats.sock");
    let watch = Watch::start(&testbed, &repo, 19_353, &["--autoscale-interval", "1s"]);
    let mut removed = false;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) && !removed {
        removed = std::fs::remove_file(&socket).is_ok();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(removed, "the balancer on fh5 never opened {socket}");
    watch.wait_for("3 healthy replicas", Duration::from_secs(60), |s| {
        counts(s) == (3, 3)
    });
    // Three windows without traffic but without fh5's numbers: no scale-down.
    std::thread::sleep(Duration::from_secs(30));
    let held = watch.status().unwrap();
    assert_eq!(counts(&held), (3, 3), "scaled down on missing data: {held}");
    // The balancer restarts (a new socket): the idle service goes to min after a window.
    let balancer = format!("{project}-balancer");
    testbed.docker(5, &["restart", &balancer]);
    watch.wait_for("down to 1", Duration::from_secs(40), |s| counts(s).0 == 1);
}

/// Steady load at the target: no flapping over three minutes (at most one change).
#[test]
fn steady_load_at_target_does_not_flap() {
    let testbed = Testbed::get();
    let hosts = [5];
    let project = unique_project("ssteady");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let port = 18_653;
    let autoscale = "{ min: 1, max: 6, requests_per_second: 5, scale_down_after: 30s }";
    let body = web(port, autoscale, "").replace("replicas: 1,", "replicas: 2,");
    repo.commit(&state(&testbed, &project, &hosts, &body));
    let watch = Watch::start(&testbed, &repo, 19_354, &[]);
    watch.wait_for("2 healthy replicas", Duration::from_secs(60), |s| {
        counts(s) == (2, 2)
    });
    let target: std::net::SocketAddr = format!("{}:{port}", testbed.address(5)).parse().unwrap();
    let load = Traffic::start(target, "/", 10, Duration::from_secs(200));
    let start = Instant::now();
    let mut seen = vec![2];
    while start.elapsed() < Duration::from_secs(180) {
        let (desired, _) = counts(&watch.status().unwrap());
        if seen.last() != Some(&desired) {
            seen.push(desired);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let outcomes = load.finish();
    assert!(failures(&outcomes).is_empty(), "{:?}", failures(&outcomes));
    assert!(
        seen.len() <= 2,
        "the count flapped: {seen:?}\n{}",
        watch.log()
    );
    let (_, metrics) = watch.http("GET", "/metrics", &[], "");
    let events: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("fleet_autoscale_events_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(events <= 1.0, "{events} scale events:\n{metrics}");
}
