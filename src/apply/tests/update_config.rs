//! A rolling update does what each `update_config` setting says: parallelism, order, delay and
//! monitor, read from the hosts' container events on the paused clock.

use std::collections::BTreeMap;
use std::time::Duration;

use super::harness::{Event, Fleet, desired, hash_of};
use crate::apply::{ServiceStatus, StepKind};
use crate::engine::memory::Behaviour;

const TWO_HOSTS: &str = "project: shop
hosts:
  a: {address: ssh://a}
  b: {address: ssh://b}
";

const ONE_HOST: &str = "project: shop
hosts:
  a: {address: ssh://a}
";

/// `web` with a health check that passes one second after a start (for an image that serves).
fn web(hosts: &str, image: &str, replicas: u32, update: &str) -> String {
    format!(
        "{hosts}services:
  web:
    image: {image}
    healthcheck: {{test: [CMD, check], interval: 1s, retries: 2}}
    deploy:
      replicas: {replicas}
      update_config: {{{update}}}
"
    )
}

/// `web` without a health check: good means still running when the monitor window ends.
fn web_unchecked(image: &str, update: &str) -> String {
    format!(
        "{ONE_HOST}services:
  web:
    image: {image}
    deploy:
      update_config: {{{update}}}
"
    )
}

/// Per slot, when its replacement began (the old replica stopped or the new one was created,
/// whichever came first) and when the new replica reported healthy.
fn replacements(events: &[Event], new_hash: &str) -> BTreeMap<u32, (Duration, Duration)> {
    let mut out: BTreeMap<u32, (Option<Duration>, Option<Duration>)> = BTreeMap::new();
    for e in events {
        let window = out.entry(e.slot).or_default();
        match (e.hash == new_hash, e.action.as_str()) {
            (true, "create") | (false, "stop") => {
                window.0 = Some(window.0.map_or(e.at, |t| t.min(e.at)));
            }
            (true, "health_status: healthy") => window.1 = Some(e.at),
            _ => {}
        }
    }
    out.into_iter()
        .map(|(slot, window)| match window {
            (Some(begin), Some(end)) => (slot, (begin, end)),
            _ => panic!("slot {slot} was not replaced with a healthy replica: {events:#?}"),
        })
        .collect()
}

/// The most replacements under way at one moment.
fn most_at_once(windows: &BTreeMap<u32, (Duration, Duration)>) -> usize {
    windows
        .values()
        .map(|(at, _)| {
            windows
                .values()
                .filter(|(begin, end)| begin <= at && at < end)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// How many replacements began together, moment by moment.
fn batches(windows: &BTreeMap<u32, (Duration, Duration)>) -> Vec<usize> {
    let mut begins: BTreeMap<Duration, usize> = BTreeMap::new();
    for (begin, _) in windows.values() {
        *begins.entry(*begin).or_default() += 1;
    }
    begins.into_values().collect()
}

#[tokio::test(start_paused = true)]
async fn a_rolling_update_replaces_at_most_parallelism_replicas_at_once() {
    for (parallelism, expected) in [(1, vec![1, 1, 1, 1, 1]), (2, vec![2, 2, 1]), (0, vec![5])] {
        let fleet = Fleet::new(TWO_HOSTS);
        fleet.publish("web:1", Behaviour::Serves);
        fleet.publish("web:2", Behaviour::Serves);
        let update = format!("parallelism: {parallelism}");
        fleet.deploy(&web(TWO_HOSTS, "web:1", 5, &update)).await;
        let next = desired(&web(TWO_HOSTS, "web:2", 5, &update));
        let timeline = fleet.record().await;
        let outcome = fleet.apply(&next).await;
        assert!(outcome.report.success, "{:#?}", outcome.report);

        let windows = replacements(&timeline.events().await, &hash_of(&next, "web"));
        assert_eq!(windows.len(), 5, "every slot replaced");
        assert_eq!(batches(&windows), expected, "parallelism {parallelism}");
        assert_eq!(
            most_at_once(&windows),
            expected[0],
            "parallelism {parallelism}: {windows:?}"
        );
        fleet.assert_converged(&next).await;
    }
}

/// The event of one replica of `slot` (the new one or the old one), by its place in the order
/// its host sent events.
fn position(events: &[Event], slot: u32, new_hash: &str, new: bool, action: &str) -> usize {
    events
        .iter()
        .position(|e| e.slot == slot && (e.hash == new_hash) == new && e.action == action)
        .unwrap_or_else(|| panic!("no `{action}` of the new={new} replica {slot}: {events:#?}"))
}

#[tokio::test(start_paused = true)]
async fn start_first_runs_the_new_replica_before_the_old_one_stops_and_stop_first_the_opposite() {
    for order in ["start-first", "stop-first"] {
        let fleet = Fleet::new(TWO_HOSTS);
        fleet.publish("web:1", Behaviour::Serves);
        fleet.publish("web:2", Behaviour::Serves);
        let update = format!("order: {order}");
        fleet.deploy(&web(TWO_HOSTS, "web:1", 2, &update)).await;
        let next = desired(&web(TWO_HOSTS, "web:2", 2, &update));
        let timeline = fleet.record().await;
        let outcome = fleet.apply(&next).await;
        assert!(outcome.report.success, "{:#?}", outcome.report);

        // Each slot lives on one host, whose events are in the order it sent them.
        let events = timeline.events().await;
        let new_hash = hash_of(&next, "web");
        for slot in 0..2 {
            let old_stopped = position(&events, slot, &new_hash, false, "stop");
            let new_started = position(&events, slot, &new_hash, true, "start");
            let new_healthy = position(&events, slot, &new_hash, true, "health_status: healthy");
            if order == "start-first" {
                assert!(
                    new_started < new_healthy && new_healthy < old_stopped,
                    "start-first, slot {slot}: the new replica is healthy before the old stops: \
                     {events:#?}"
                );
            } else {
                assert!(
                    old_stopped < new_started,
                    "stop-first, slot {slot}: the old replica stops before the new starts: \
                     {events:#?}"
                );
            }
        }
        fleet.assert_converged(&next).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_fixed_host_port_is_replaced_stop_first_even_when_start_first_is_asked() {
    let fleet = Fleet::new(TWO_HOSTS);
    fleet.publish("web:1", Behaviour::Serves);
    fleet.publish("web:2", Behaviour::Serves);
    let with_port = |image: &str| {
        web(TWO_HOSTS, image, 2, "order: start-first")
            .replace("    deploy:\n", "    ports: [\"8080:80\"]\n    deploy:\n")
    };
    fleet.deploy(&with_port("web:1")).await;
    let next = desired(&with_port("web:2"));
    let timeline = fleet.record().await;
    let outcome = fleet.apply(&next).await;
    assert!(outcome.report.success, "{:#?}", outcome.report);
    let events = timeline.events().await;
    let new_hash = hash_of(&next, "web");
    for slot in 0..2 {
        assert!(
            position(&events, slot, &new_hash, false, "stop")
                < position(&events, slot, &new_hash, true, "start"),
            "slot {slot}: two containers cannot hold one host port: {events:#?}"
        );
    }
    fleet.assert_converged(&next).await;
}

#[tokio::test(start_paused = true)]
async fn the_delay_is_waited_between_batches_and_not_before_the_first() {
    let fleet = Fleet::new(TWO_HOSTS);
    fleet.publish("web:1", Behaviour::Serves);
    fleet.publish("web:2", Behaviour::Serves);
    let update = "parallelism: 1, delay: 10s";
    fleet.deploy(&web(TWO_HOSTS, "web:1", 3, update)).await;
    let next = desired(&web(TWO_HOSTS, "web:2", 3, update));
    let timeline = fleet.record().await;
    let outcome = fleet.apply(&next).await;
    assert!(outcome.report.success, "{:#?}", outcome.report);

    let mut windows: Vec<(Duration, Duration)> =
        replacements(&timeline.events().await, &hash_of(&next, "web"))
            .into_values()
            .collect();
    windows.sort();
    assert_eq!(windows.len(), 3);
    assert!(
        windows[0].0 < Duration::from_millis(100),
        "the first batch starts at once: {windows:?}"
    );
    for pair in windows.windows(2) {
        let gap = pair[1].0 - pair[0].1;
        // The previous batch ends when its replica is seen healthy (one poll after the event).
        assert!(
            gap >= Duration::from_secs(10) && gap < Duration::from_millis(10_200),
            "10 s between batches, measured {gap:?}: {windows:?}"
        );
    }
    assert!(outcome.report.seconds >= 20.0, "{}", outcome.report.seconds);
    fleet.assert_converged(&next).await;
}

#[tokio::test(start_paused = true)]
async fn without_a_health_check_a_replica_must_keep_running_for_the_whole_monitor_window() {
    for (monitor, status) in [
        ("5s", ServiceStatus::Paused),
        ("2s", ServiceStatus::Updated),
    ] {
        let fleet = Fleet::new(ONE_HOST);
        fleet.publish("web:1", Behaviour::Serves);
        fleet.publish(
            "web:2",
            Behaviour::Exits {
                after: Duration::from_secs(3),
                code: 1,
            },
        );
        let update = format!("monitor: {monitor}");
        fleet.deploy(&web_unchecked("web:1", &update)).await;
        let next = desired(&web_unchecked("web:2", &update));
        let outcome = fleet.apply(&next).await;
        assert_eq!(
            outcome.status("web"),
            status,
            "monitor {monitor}: {:#?}",
            outcome.report
        );
        let replace = outcome.steps(StepKind::Replace);
        assert_eq!(replace.len(), 1);
        if status == ServiceStatus::Paused {
            assert!(!replace[0].ok);
            assert_eq!(replace[0].detail, "exited with code 1");
            assert!(outcome.detail("web").contains("exited with code 1"));
            assert!(!outcome.report.success);
        } else {
            // The exit at 3 s comes after the window: the rollout had succeeded by then.
            assert!(replace[0].ok);
            assert!(
                replace[0].detail.starts_with("running for 2.0s"),
                "{}",
                replace[0].detail
            );
            assert!(outcome.report.success);
        }
        fleet.assert_bystanders_untouched();
    }
}

#[tokio::test(start_paused = true)]
async fn a_replica_that_turns_unhealthy_or_exits_within_the_monitor_window_fails() {
    let cases = [
        (Behaviour::Unhealthy, "unhealthy: simulated check failed"),
        (
            Behaviour::Exits {
                after: Duration::from_millis(500),
                code: 3,
            },
            "exited with code 3",
        ),
    ];
    for (behaviour, why) in cases {
        let fleet = Fleet::new(ONE_HOST);
        fleet.publish("web:1", Behaviour::Serves);
        fleet.publish("web:2", behaviour.clone());
        fleet
            .deploy(&web(ONE_HOST, "web:1", 2, "monitor: 5s"))
            .await;
        let before = fleet.replicas("web");
        let next = desired(&web(ONE_HOST, "web:2", 2, "monitor: 5s"));
        let outcome = fleet.apply(&next).await;
        assert_eq!(
            outcome.status("web"),
            ServiceStatus::Paused,
            "{behaviour:?}: {:#?}",
            outcome.report
        );
        let replace = outcome.steps(StepKind::Replace);
        assert_eq!(replace.len(), 1, "paused after the first batch");
        assert!(!replace[0].ok);
        assert_eq!(replace[0].detail, why);
        // Unhealthy after two failed checks of 1 s: within the window, long before it ends.
        assert!(replace[0].seconds < 3.0, "{}", replace[0].seconds);
        // The second slot was not touched.
        let after = fleet.replicas("web");
        assert!(after.contains(&before[1]), "{}", fleet.describe());
        fleet.assert_bystanders_untouched();
    }
}

#[tokio::test(start_paused = true)]
async fn a_replica_healthy_only_after_the_monitor_window_fails_and_within_it_passes() {
    // The window with a health check is the monitor plus one check interval (1 s here).
    for (monitor, status) in [
        ("5s", ServiceStatus::Paused),
        ("10s", ServiceStatus::Updated),
    ] {
        let fleet = Fleet::new(ONE_HOST);
        fleet.publish("web:1", Behaviour::Serves);
        fleet.publish("web:2", Behaviour::SlowStart(Duration::from_secs(8)));
        let update = format!("monitor: {monitor}");
        fleet.deploy(&web(ONE_HOST, "web:1", 1, &update)).await;
        let next = desired(&web(ONE_HOST, "web:2", 1, &update));
        let outcome = fleet.apply(&next).await;
        assert_eq!(
            outcome.status("web"),
            status,
            "monitor {monitor}: {:#?}",
            outcome.report
        );
        let replace = outcome.steps(StepKind::Replace);
        if status == ServiceStatus::Paused {
            assert!(
                replace[0]
                    .detail
                    .starts_with("not healthy within the monitor window"),
                "{}",
                replace[0].detail
            );
            assert!((6.0..6.2).contains(&replace[0].seconds));
        } else {
            assert!(
                replace[0].detail.starts_with("healthy after 8.0"),
                "{}",
                replace[0].detail
            );
            fleet.assert_converged(&next).await;
        }
    }
}
