//! What a rollout does when new replicas fail: `failure_action` rollback, pause or continue,
//! and `max_failure_ratio`. A replica is made to fail alone by a container (not fleet's) that
//! squats on the name the new replica gets: the engine refuses to create it.

use super::harness::{Fleet, desired};
use crate::apply::{ServiceStatus, StepKind};
use crate::engine::memory::Behaviour;

const ONE_HOST: &str = "project: shop
hosts:
  a: {address: ssh://a}
";

const TWO_HOSTS: &str = "project: shop
hosts:
  a: {address: ssh://a}
  b: {address: ssh://b}
";

/// `web`, replaced one replica at a time (the default parallelism) unless `update` says
/// otherwise.
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

fn new_fleet(hosts: &str, new: Behaviour) -> Fleet {
    let fleet = Fleet::new(hosts);
    fleet.publish("web:1", Behaviour::Serves);
    fleet.publish("web:2", new);
    fleet
}

/// (slot, ok) of the steps of one kind, in the order they ended.
fn slots(outcome: &super::harness::Outcome, kind: StepKind) -> Vec<(u32, bool)> {
    outcome
        .steps(kind)
        .iter()
        .map(|s| (s.slot.expect("a replica step"), s.ok))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn rollback_restores_the_very_same_previous_replicas_and_removes_the_new_ones() {
    let mut fleet = new_fleet(ONE_HOST, Behaviour::Serves);
    let update = "failure_action: rollback";
    let v1 = fleet.deploy(&web(ONE_HOST, "web:1", 3, update)).await;
    let before = fleet.replicas("web");
    let v2 = desired(&web(ONE_HOST, "web:2", 3, update));
    fleet.squat("a", &v2, "web", 1);

    let outcome = fleet.apply(&v2).await;
    assert_eq!(
        outcome.status("web"),
        ServiceStatus::RolledBack,
        "{:#?}",
        outcome.report
    );
    assert!(!outcome.report.success);
    let detail = outcome.detail("web");
    assert!(
        detail.starts_with("rolled back to the previous replicas: 1 of 3 new replicas failed")
            && detail.contains("is already in use"),
        "{detail}"
    );
    // Slot 0 was replaced, slot 1 failed, slot 2 was never touched; both touched slots are
    // restored.
    assert_eq!(slots(&outcome, StepKind::Replace), [(0, true), (1, false)]);
    assert_eq!(slots(&outcome, StepKind::Rollback), [(0, true), (1, true)]);
    assert_eq!(
        fleet.replicas("web"),
        before,
        "the very same containers run again, and nothing else{}",
        fleet.describe()
    );
    fleet.assert_converged(&v1).await;
}

#[tokio::test(start_paused = true)]
async fn a_start_first_rollback_restores_replaced_slots_and_removes_new_slots() {
    let mut fleet = new_fleet(ONE_HOST, Behaviour::Serves);
    let update = "order: start-first, failure_action: rollback";
    let v1 = fleet.deploy(&web(ONE_HOST, "web:1", 2, update)).await;
    let before = fleet.replicas("web");
    // A scale-up with the new image: slot 2 is created first, then slots 0 and 1 replaced.
    let v2 = desired(&web(ONE_HOST, "web:2", 3, update));
    fleet.squat("a", &v2, "web", 1);

    let outcome = fleet.apply(&v2).await;
    assert_eq!(
        outcome.status("web"),
        ServiceStatus::RolledBack,
        "{:#?}",
        outcome.report
    );
    assert_eq!(slots(&outcome, StepKind::Create), [(2, true)]);
    assert_eq!(slots(&outcome, StepKind::Replace), [(0, true), (1, false)]);
    let rollbacks = outcome.steps(StepKind::Rollback);
    assert!(rollbacks.iter().all(|s| s.ok), "{rollbacks:#?}");
    assert!(
        rollbacks
            .iter()
            .any(|s| s.slot == Some(2) && s.detail == "restored (new slot removed)"),
        "{rollbacks:#?}"
    );
    assert_eq!(fleet.replicas("web"), before, "{}", fleet.describe());
    fleet.assert_converged(&v1).await;
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_batch_on_several_hosts_is_rolled_back_on_each() {
    let fleet = new_fleet(TWO_HOSTS, Behaviour::Unhealthy);
    let update = "parallelism: 2, failure_action: rollback";
    let v1 = fleet.deploy(&web(TWO_HOSTS, "web:1", 2, update)).await;
    let before = fleet.replicas("web");
    assert_eq!(
        before.iter().map(|r| r.host.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let v2 = desired(&web(TWO_HOSTS, "web:2", 2, update));

    let outcome = fleet.apply(&v2).await;
    assert_eq!(outcome.status("web"), ServiceStatus::RolledBack);
    assert!(
        outcome
            .detail("web")
            .ends_with("2 of 2 new replicas failed; last: unhealthy: simulated check failed"),
        "{}",
        outcome.detail("web")
    );
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.starts_with("web: rolling back")),
        "{:?}",
        outcome.notes
    );
    assert_eq!(fleet.replicas("web"), before, "{}", fleet.describe());
    fleet.assert_converged(&v1).await;
}

#[tokio::test(start_paused = true)]
async fn pause_keeps_finished_slots_and_leaves_the_failed_batch_and_the_rest_as_they_are() {
    let mut fleet = new_fleet(ONE_HOST, Behaviour::Serves);
    let update = "failure_action: pause";
    let v1 = fleet.deploy(&web(ONE_HOST, "web:1", 4, update)).await;
    let before = fleet.replicas("web");
    let v2 = desired(&web(ONE_HOST, "web:2", 4, update));
    fleet.squat("a", &v2, "web", 1);

    let outcome = fleet.apply(&v2).await;
    assert_eq!(outcome.status("web"), ServiceStatus::Paused);
    assert!(!outcome.report.success);
    assert!(
        outcome
            .detail("web")
            .starts_with("1 of 4 new replicas failed; last: Conflict."),
        "{}",
        outcome.detail("web")
    );
    assert!(
        outcome.notes.iter().any(|n| n.contains("rollout paused")),
        "{:?}",
        outcome.notes
    );
    assert_eq!(slots(&outcome, StepKind::Replace), [(0, true), (1, false)]);
    let after = fleet.replicas("web");
    let new_hash = super::harness::hash_of(&v2, "web");
    let v1_hash = super::harness::hash_of(&v1, "web");
    // Slot 0 is done: its new replica runs and the old one is gone.
    let slot0: Vec<_> = after.iter().filter(|r| r.slot == 0).collect();
    assert!(
        slot0.len() == 1 && slot0[0].hash == new_hash && slot0[0].running,
        "{}",
        fleet.describe()
    );
    // Slot 1 failed stop-first: its old replica is stopped, kept for inspection and a re-run.
    let slot1: Vec<_> = after.iter().filter(|r| r.slot == 1).collect();
    assert!(
        slot1.len() == 1 && slot1[0].id == before[1].id && !slot1[0].running,
        "{}",
        fleet.describe()
    );
    assert_eq!(slot1[0].hash, v1_hash);
    // Slots 2 and 3 were never touched.
    assert!(after.contains(&before[2]) && after.contains(&before[3]));
    assert_eq!(after.len(), 4);
    fleet.assert_bystanders_untouched();
}

#[tokio::test(start_paused = true)]
async fn continue_goes_on_past_a_failed_replica_and_reports_the_service_degraded() {
    let mut fleet = new_fleet(ONE_HOST, Behaviour::Serves);
    let update = "failure_action: continue";
    fleet.deploy(&web(ONE_HOST, "web:1", 4, update)).await;
    let v2 = desired(&web(ONE_HOST, "web:2", 4, update));
    fleet.squat("a", &v2, "web", 1);

    let outcome = fleet.apply(&v2).await;
    assert_eq!(outcome.status("web"), ServiceStatus::Degraded);
    assert!(!outcome.report.success);
    assert_eq!(
        slots(&outcome, StepKind::Replace),
        [(0, true), (1, false), (2, true), (3, true)]
    );
    let detail = outcome.detail("web");
    // max_failure_ratio is 0: the failure is not within it, and the report must not say so.
    assert_eq!(
        detail,
        "1 of 4 new replicas failed (above max_failure_ratio; failure_action is continue)"
    );
    let new_hash = super::harness::hash_of(&v2, "web");
    let updated: Vec<u32> = fleet
        .replicas("web")
        .iter()
        .filter(|r| r.hash == new_hash && r.running)
        .map(|r| r.slot)
        .collect();
    assert_eq!(updated, [0, 2, 3], "{}", fleet.describe());
    fleet.assert_bystanders_untouched();
}

#[tokio::test(start_paused = true)]
async fn failures_within_max_failure_ratio_degrade_and_above_it_trigger_the_failure_action() {
    let update = "failure_action: rollback, max_failure_ratio: 0.25";

    // One failure of four: 0.25, within the ratio.
    let mut fleet = new_fleet(ONE_HOST, Behaviour::Serves);
    fleet.deploy(&web(ONE_HOST, "web:1", 4, update)).await;
    let v2 = desired(&web(ONE_HOST, "web:2", 4, update));
    fleet.squat("a", &v2, "web", 1);
    let outcome = fleet.apply(&v2).await;
    assert_eq!(
        outcome.status("web"),
        ServiceStatus::Degraded,
        "{:#?}",
        outcome.report
    );
    assert_eq!(
        outcome.detail("web"),
        "1 of 4 new replicas failed (within max_failure_ratio)"
    );
    assert!(!outcome.report.success);
    assert!(outcome.steps(StepKind::Rollback).is_empty());
    let new_hash = super::harness::hash_of(&v2, "web");
    let updated: Vec<u32> = fleet
        .replicas("web")
        .iter()
        .filter(|r| r.hash == new_hash && r.running)
        .map(|r| r.slot)
        .collect();
    assert_eq!(updated, [0, 2, 3], "{}", fleet.describe());
    fleet.assert_bystanders_untouched();

    // Two failures of four: 0.5, above it: rolled back at the second, slot 3 never touched.
    let mut fleet = new_fleet(ONE_HOST, Behaviour::Serves);
    let v1 = fleet.deploy(&web(ONE_HOST, "web:1", 4, update)).await;
    let before = fleet.replicas("web");
    fleet.squat("a", &v2, "web", 1);
    fleet.squat("a", &v2, "web", 2);
    let outcome = fleet.apply(&v2).await;
    assert_eq!(outcome.status("web"), ServiceStatus::RolledBack);
    assert!(
        outcome.detail("web").contains("2 of 4 new replicas failed"),
        "{}",
        outcome.detail("web")
    );
    assert_eq!(
        slots(&outcome, StepKind::Replace),
        [(0, true), (1, false), (2, false)]
    );
    assert_eq!(fleet.replicas("web"), before, "{}", fleet.describe());
    fleet.assert_converged(&v1).await;
}

#[tokio::test(start_paused = true)]
async fn a_rollback_restores_an_old_replica_that_was_restarted_by_its_policy_before() {
    // Start-first: the old replica still runs when the rollback "starts" it (a start of a running
    // container keeps its count). Stop-first: it was stopped, and the start counts from zero.
    for order in ["start-first", "stop-first"] {
        let fleet = new_fleet(ONE_HOST, Behaviour::Unhealthy);
        let update = format!("order: {order}, failure_action: rollback");
        let restarting = |image: &str| {
            web(ONE_HOST, image, 1, &update)
                .replace("    deploy:\n", "    restart: always\n    deploy:\n")
        };
        let v1 = fleet.deploy(&restarting("web:1")).await;
        // Long before this rollout, the replica's process died once and the engine restarted it.
        let old = fleet.replicas("web").remove(0);
        fleet.host("a").kill(&old.id);
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let seen = fleet.host("a").containers();
        let seen = seen.iter().find(|c| c.id == old.id).expect("still there");
        assert!(seen.running && seen.restarts == 1, "{seen:?}");

        let v2 = desired(&restarting("web:2"));
        let outcome = fleet.apply(&v2).await;
        assert_eq!(
            outcome.status("web"),
            ServiceStatus::RolledBack,
            "{order}: {:#?}",
            outcome.report
        );
        assert_eq!(fleet.replicas("web"), vec![old], "{}", fleet.describe());
        fleet.assert_converged(&v1).await;
    }
}

/// A failed pull aborts the run before any container changes; its message is in the failed
/// step (shown as it happens), so the report says the abort is explained by its steps.
#[tokio::test(start_paused = true)]
async fn a_failed_pull_is_reported_by_its_step_and_the_abort_says_so() {
    let fleet = new_fleet(ONE_HOST, Behaviour::Serves);
    let state = fleet.desired(&web(ONE_HOST, "web:missing", 2, ""));
    let outcome = fleet.apply(&state).await;
    let report = &outcome.report;
    assert!(!report.success);
    assert!(report.aborted.is_some());
    assert!(report.aborted_by_steps, "{:?}", report.aborted);
    let pulls = outcome.steps(StepKind::Pull);
    assert_eq!(pulls.len(), 1);
    assert!(!pulls[0].ok);
    assert!(
        pulls[0].detail.contains("manifest unknown"),
        "{}",
        pulls[0].detail
    );
    assert_eq!(outcome.status("web"), ServiceStatus::Skipped);
}
