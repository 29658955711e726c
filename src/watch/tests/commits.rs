//! New commits the daemon does not simply apply: a mass deletion (refused unless allowed), and a
//! rollout that rolls back (the old replicas run again; the commit is tried again later).

use super::*;
use crate::watch::state::TipErrorKind;

fn removes(fleet: &Fleet) -> u64 {
    fleet
        .hosts
        .values()
        .map(|h| h.calls().get("remove").copied().unwrap_or(0))
        .sum()
}

fn running_images(fleet: &Fleet) -> Vec<String> {
    let mut images: Vec<String> = fleet.running().into_iter().map(|(_, c)| c.image).collect();
    images.sort();
    images
}

#[tokio::test(start_paused = true)]
async fn a_commit_removing_most_replicas_is_refused_unless_mass_delete_is_allowed() {
    let hosts = ["a", "b"];
    let images = [("web:1", Behaviour::Serves)];
    let fleet = Fleet::start(&hosts, &images, &fleet_yaml(&hosts, "web:1", 4, "")).await;
    let first = fleet.status().applied_commit;
    let removed_before = removes(&fleet);

    // 4 running, 1 wanted: 3 removals, more than half.
    let shrink = fleet.commit(&fleet_yaml(&hosts, "web:1", 1, "")).await;
    fleet
        .until(
            "the shrinking commit is refused",
            Duration::from_secs(5),
            |f| {
                f.status().tip_error.is_some_and(|e| {
                    e.kind == TipErrorKind::MassDelete && e.commit.as_ref() == Some(&shrink)
                })
            },
        )
        .await;
    let error = fleet.status().tip_error.expect("refused");
    assert!(
        error.messages[0].contains("would remove 3 of the 4 running replicas"),
        "{:?}",
        error.messages
    );
    fleet
        .holds(
            "keeping the four replicas of the last good commit",
            Duration::from_secs(70),
            |f| {
                f.running().len() == 4
                    && removes(f) == removed_before
                    && f.status().applied_commit == first
            },
        )
        .await;
    assert_eq!(fleet.metrics().failures.get("rejected_commit"), Some(&1));

    let allowed = fleet
        .commit(&format!(
            "{}watch:\n  allow_mass_delete: true\n",
            fleet_yaml(&hosts, "web:1", 1, "")
        ))
        .await;
    fleet
        .until(
            "the allowed shrink is applied",
            Duration::from_secs(10),
            |f| {
                let status = f.status();
                status.applied_commit.as_ref() == Some(&allowed)
                    && status.tip_error.is_none()
                    && f.running().len() == 1
            },
        )
        .await;
    assert_eq!(removes(&fleet) - removed_before, 3);
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_commit_is_tried_again_after_the_backoff() {
    let hosts = ["a", "b"];
    let images = [
        ("web:1", Behaviour::Serves),
        ("web:2", Behaviour::Unhealthy),
    ];
    let fleet = Fleet::start(&hosts, &images, &fleet_yaml(&hosts, "web:1", 2, "")).await;
    let good = fleet.status().applied_commit;
    let update = "      update_config: {failure_action: rollback, monitor: 1s}\n";
    let bad = fleet.commit(&fleet_yaml(&hosts, "web:2", 2, update)).await;

    let attempt = |f: &Fleet, n: u32| {
        f.status().tip_error.is_some_and(|e| {
            e.kind == TipErrorKind::RolloutFailed
                && e.commit.as_ref() == Some(&bad)
                && e.messages
                    .iter()
                    .any(|m| m.contains(&format!("(attempt {n};")))
        })
    };
    let back_on_good =
        |f: &Fleet| f.status().applied_commit == good && running_images(f) == ["web:1", "web:1"];
    fleet
        .until(
            "the bad commit is rolled back once",
            Duration::from_secs(10),
            |f| attempt(f, 1) && back_on_good(f),
        )
        .await;
    let first = Instant::now();
    assert_eq!(fleet.metrics().rollouts.get("rolled_back"), Some(&1));
    let message = fleet
        .status()
        .tip_error
        .expect("rolled back")
        .messages
        .join("; ");
    assert!(message.contains("trying again in 10s"), "{message}");

    // Not before the backoff (10 s): the old replicas keep running untouched meanwhile.
    fleet
        .holds(
            "waiting before the second attempt",
            Duration::from_secs(9),
            |f| attempt(f, 1) && back_on_good(f),
        )
        .await;
    fleet
        .until(
            "the bad commit is tried a second time",
            Duration::from_secs(10),
            |f| attempt(f, 2) && back_on_good(f),
        )
        .await;
    let waited = first.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(15),
        "second attempt {waited:?} after the first"
    );
    assert_eq!(fleet.metrics().rollouts.get("rolled_back"), Some(&2));
    let message = fleet
        .status()
        .tip_error
        .expect("rolled back")
        .messages
        .join("; ");
    assert!(message.contains("trying again in 20s"), "{message}");
    assert_eq!(
        fleet.containers().len(),
        2,
        "{}",
        fleet.report("no new replica left")
    );
    fleet.stop().await;
}
