//! Healing and drift: replicas that die, crash in a loop, are removed or stopped behind
//! fleet's back, and containers that carry the project's labels without being its replicas.

use super::*;

const WEB: &str = "web:1";

fn serves() -> [(&'static str, Behaviour); 1] {
    [(WEB, Behaviour::Serves)]
}

/// The running replica of `slot`.
fn replica(fleet: &Fleet, slot_no: u32) -> (String, Seen) {
    fleet
        .running()
        .into_iter()
        .find(|(_, c)| slot(c) == Some(slot_no))
        .unwrap_or_else(|| panic!("{}", fleet.report(&format!("no replica of slot {slot_no}"))))
}

fn slots(fleet: &Fleet) -> Vec<u32> {
    let mut slots: Vec<u32> = fleet
        .running()
        .iter()
        .filter_map(|(_, c)| slot(c))
        .collect();
    slots.sort();
    slots
}

#[tokio::test(start_paused = true)]
async fn a_killed_replica_is_healed_at_once_every_time_and_counted() {
    let hosts = ["a", "b"];
    let fleet = Fleet::start(&hosts, &serves(), &fleet_yaml(&hosts, WEB, 2, "")).await;
    assert_eq!(
        fleet.metrics().heals,
        0,
        "{}",
        fleet.report("nothing healed yet")
    );

    let (host, killed) = replica(&fleet, 0);
    fleet.host(&host).kill(&killed.id);
    // The start plus one health check interval (1 s): well within 3 s.
    fleet
        .until(
            "the killed replica runs again",
            Duration::from_secs(3),
            |f| slots(f) == [0, 1] && f.metrics().heals == 1,
        )
        .await;

    // A kill by hand is drift, not a crash: the second one is healed at once too, not after a
    // crash-loop backoff of 10 s.
    let (host, killed) = replica(&fleet, 0);
    fleet.host(&host).kill(&killed.id);
    fleet
        .until(
            "the replica killed a second time runs again",
            Duration::from_secs(3),
            |f| slots(f) == [0, 1] && f.metrics().heals == 2,
        )
        .await;
    assert!(
        fleet
            .status()
            .backoff
            .iter()
            .all(|b| b.retry_in_seconds == 0.0)
    );
    assert_eq!(fleet.running().len(), 2);
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_crash_looping_replica_is_healed_after_growing_delays() {
    // Runs 3 s, then exits on its own; restart "no" leaves the healing to fleet.
    let crashes = Behaviour::Exits {
        after: Duration::from_secs(3),
        code: 1,
    };
    let hosts = ["a"];
    let fleet = Fleet::start(&hosts, &[(WEB, crashes)], &fleet_yaml(&hosts, WEB, 1, "")).await;

    // Watch for 90 s of the loop's life: when each heal lands, and what status says between.
    let mut heals: Vec<Instant> = Vec::new();
    let mut first_crash: Option<Instant> = None;
    let mut shown_waiting = None;
    let end = Instant::now() + Duration::from_secs(90);
    let wall = std::time::Instant::now() + WALL_LIMIT;
    while Instant::now() < end {
        assert!(
            std::time::Instant::now() < wall,
            "{}",
            fleet.report("the clock does not move")
        );
        let now = Instant::now();
        if first_crash.is_none() && fleet.running().is_empty() {
            first_crash = Some(now);
        }
        let count = fleet.metrics().heals as usize;
        while heals.len() < count {
            heals.push(now);
        }
        let status = fleet.status();
        if let Some(b) = status.backoff.iter().find(|b| b.retry_in_seconds > 0.0) {
            shown_waiting.get_or_insert((b.service.clone(), b.slot, b.crashes));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first_crash = first_crash.expect("the replica crashed");

    // Crash 1 is healed at once; crash 2 after 10 s, crash 3 after 20 s, crash 4 after 40 s.
    // A heal starts the replica, which crashes 3 s later: heals are 13, 23 and 43 s apart.
    let secs = |d: Duration| d.as_secs_f64();
    let report = fleet.report(&format!(
        "heals at {:?} s after the first crash",
        heals
            .iter()
            .map(|h| secs(*h - first_crash))
            .collect::<Vec<_>>()
    ));
    assert_eq!(heals.len(), 4, "{report}");
    assert!(secs(heals[0] - first_crash) < 2.0, "{report}");
    for (i, want) in [13.0, 23.0, 43.0].into_iter().enumerate() {
        let gap = secs(heals[i + 1] - heals[i]);
        assert!(
            (gap - want).abs() < 1.0,
            "gap {i}: {gap} s, want {want} s; {report}"
        );
    }
    // Bounded as the backoff says: 3 heals in the first minute, where a loop healing at once
    // would have healed about 15 times.
    let in_first_minute = heals
        .iter()
        .filter(|h| **h - first_crash <= Duration::from_secs(60))
        .count();
    assert_eq!(in_first_minute, 3, "{report}");
    assert_eq!(
        shown_waiting,
        Some(("web".to_string(), 0, 2)),
        "status shows the slot waiting after its second crash; {report}"
    );
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_replica_removed_by_hand_is_recreated_and_a_stopped_one_started() {
    let hosts = ["a", "b"];
    let fleet = Fleet::start(&hosts, &serves(), &fleet_yaml(&hosts, WEB, 2, "")).await;

    let (host, removed) = replica(&fleet, 0);
    fleet.host(&host).remove_behind(&removed.id);
    fleet
        .until("slot 0 is recreated", Duration::from_secs(3), |f| {
            slots(f) == [0, 1] && f.metrics().heals == 1
        })
        .await;
    assert_ne!(replica(&fleet, 0).1.id, removed.id, "a new container");

    // `docker stop`, twice: each time the same container is started again at once.
    for round in 1..=2 {
        let (host, stopped) = replica(&fleet, 1);
        let engine = fleet.host(&host);
        crate::engine::Engine::stop(engine, &stopped.id, None)
            .await
            .expect("stop");
        fleet
            .until(
                &format!("the replica stopped by hand (round {round}) runs again"),
                Duration::from_secs(3),
                |f| slots(f) == [0, 1] && f.metrics().heals == 1 + round,
            )
            .await;
        assert_eq!(replica(&fleet, 1).1.id, stopped.id, "started, not replaced");
    }
    assert_eq!(fleet.metrics().drift_corrections, 0);
    assert_eq!(
        fleet.containers().len(),
        2,
        "{}",
        fleet.report("nothing left over")
    );
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn imposters_are_removed_and_containers_of_others_are_never_touched() {
    let hosts = ["a"];
    let fleet = Fleet::start(&hosts, &serves(), &fleet_yaml(&hosts, WEB, 2, "")).await;
    let a = fleet.host("a");
    let (_, original) = replica(&fleet, 0);

    let malformed = a.run_other("shop-web-by-hand", WEB, imposter_labels());
    let duplicate = a.run_other("shop-web-0-copy", WEB, original.labels.clone());
    let unmanaged = a.run_other("by-hand", WEB, HashMap::from([("app".into(), "x".into())]));
    let mut theirs_labels = original.labels.clone();
    theirs_labels.insert(labels::PROJECT.into(), "other".into());
    let theirs = a.run_other("other-web-0", WEB, theirs_labels);

    let ids =
        |f: &Fleet| -> Vec<String> { f.containers().into_iter().map(|(_, c)| c.id).collect() };
    // Docker announces new containers: no need to wait for the resync (a minute).
    fleet
        .until(
            "the imposter and the duplicate of slot 0 are removed",
            Duration::from_secs(5),
            |f| {
                let ids = ids(f);
                !ids.contains(&malformed)
                    && slots(f) == [0, 1]
                    && !(ids.contains(&duplicate) && ids.contains(&original.id))
            },
        )
        .await;
    assert_eq!(fleet.metrics().drift_corrections, 2);
    fleet
        .holds(
            "leaving alone what is not the project's",
            Duration::from_secs(70),
            |f| {
                let containers = f.containers();
                let running = |id: &str| containers.iter().any(|(_, c)| c.id == id && c.running);
                running(&unmanaged) && running(&theirs) && containers.len() == 4
            },
        )
        .await;
    assert_eq!(fleet.metrics().drift_corrections, 2);
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_heal_of_a_killed_replica_is_logged_as_such_not_as_a_retry() {
    let hosts = ["a"];
    let fleet = Fleet::start(&hosts, &serves(), &fleet_yaml(&hosts, WEB, 1, "")).await;
    let (logs, _guard) = Logs::capture();
    let (host, killed) = replica(&fleet, 0);
    // Docker sends `die` before it shows the container stopped: the passes that look again
    // find it stopped and restart it.
    fleet
        .host(&host)
        .kill_seen_late(&killed.id, Duration::from_millis(120));
    fleet
        .until(
            "the killed replica runs again",
            Duration::from_secs(3),
            |f| slots(f) == [0] && f.metrics().heals == 1,
        )
        .await;
    let heal = logs.lines_with(&["reconcile", "changes=1"]);
    assert_eq!(heal.len(), 1, "{}", logs.text());
    assert!(
        heal[0].contains("reason=\"replica web.0 was killed on a: restarting it\""),
        "{}",
        heal[0]
    );
    assert!(
        !logs.text().contains("reason=\"retry\"") && !logs.text().contains("detail=\"\""),
        "{}",
        logs.text()
    );
    fleet.stop().await;
}
