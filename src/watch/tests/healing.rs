//! Healing: replicas that crash in a loop.

use super::*;

const WEB: &str = "web:1";

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
