//! Hosts that fail during a run, and a run that does not hold the lock.

use std::sync::Arc;
use std::time::Duration;

use super::harness::{Fleet, desired, hash_of, options};
use crate::apply::{Options, PullPolicy, ServiceStatus, StepKind};
use crate::engine::memory::Behaviour;
use crate::lock::{self, Hold, Holder, LockError, State, Taken};

const THREE_HOSTS: &str = "project: shop
hosts:
  a: {address: ssh://a}
  b: {address: ssh://b}
  c: {address: ssh://c}
";

const TWO_HOSTS: &str = "project: shop
hosts:
  a: {address: ssh://a}
  b: {address: ssh://b}
";

fn web(hosts: &str, image: &str, replicas: u32) -> String {
    format!(
        "{hosts}services:
  web:
    image: {image}
    healthcheck: {{test: [CMD, check], interval: 1s, retries: 2}}
    deploy:
      replicas: {replicas}
"
    )
}

fn new_fleet(hosts: &str) -> Fleet {
    let fleet = Fleet::new(hosts);
    fleet.publish("web:1", Behaviour::Serves);
    fleet.publish("web:2", Behaviour::Serves);
    fleet
}

/// Whether `notify` was told (its permit is kept until taken).
async fn told(notify: &tokio::sync::Notify) -> bool {
    tokio::time::timeout(Duration::ZERO, notify.notified())
        .await
        .is_ok()
}

#[tokio::test(start_paused = true)]
async fn a_host_that_stops_answering_mid_rollout_fails_alone_and_the_others_are_updated() {
    let fleet = new_fleet(THREE_HOSTS);
    fleet.deploy(&web(THREE_HOSTS, "web:1", 6)).await;
    let before = fleet.replicas("web");
    // Slots 0 and 3 on a, 1 and 4 on b, 2 and 5 on c; replaced one at a time in that order.
    let on = |host: &str| -> Vec<u32> {
        before
            .iter()
            .filter(|r| r.host == host)
            .map(|r| r.slot)
            .collect()
    };
    assert_eq!(
        (on("a"), on("b"), on("c")),
        (vec![0, 3], vec![1, 4], vec![2, 5])
    );
    let v2 = desired(&web(THREE_HOSTS, "web:2", 6));
    let new_hash = hash_of(&v2, "web");

    let hold = fleet.lock().await;
    let plan = fleet.plan(&v2).await;
    // b carries out the pull of web:2, its network, and the stop, create and start of slot 1;
    // then it answers nothing more (the stop of slot 4 hangs).
    let silent = fleet.host("b").stop_answering_after(5);
    let outcome = fleet.apply_plan(&v2, plan, &options(), &hold).await;
    hold.release_all(&fleet.engines()).await;
    assert!(told(&silent).await, "b went silent during the run");

    assert!(!outcome.report.success);
    assert_eq!(
        outcome.host_failure("b").as_deref(),
        Some("no answer within 2s")
    );
    assert_eq!(outcome.host_failure("a"), None);
    assert_eq!(outcome.host_failure("c"), None);
    assert_eq!(outcome.status("web"), ServiceStatus::Degraded);
    assert_eq!(outcome.detail("web"), "some hosts failed");
    let slot4 = outcome
        .steps(StepKind::Replace)
        .into_iter()
        .find(|s| s.slot == Some(4))
        .expect("slot 4 was tried");
    // Its stop is allowed the grace period on top of the call timeout: "within 12s".
    assert!(
        !slot4.ok && slot4.detail.starts_with("no answer within"),
        "{slot4:?}"
    );

    // a and c: every slot runs its new replica alone. c was replaced after b failed.
    let after = fleet.replicas("web");
    for host in ["a", "c"] {
        let here: Vec<_> = after.iter().filter(|r| r.host == host).collect();
        assert_eq!(here.len(), 2, "{}", fleet.describe());
        assert!(
            here.iter().all(|r| r.hash == new_hash && r.running),
            "{host} is updated{}",
            fleet.describe()
        );
    }
    // b is as the failure left it: slot 1 replaced (its old replica stopped, not removed, as
    // the host stopped answering), slot 4 still the old replica, running.
    let on_b: Vec<_> = after.iter().filter(|r| r.host == "b").collect();
    let slot1_new = on_b
        .iter()
        .any(|r| r.slot == 1 && r.hash == new_hash && r.running);
    let slot1_old = on_b
        .iter()
        .any(|r| r.slot == 1 && r.id == before[1].id && !r.running);
    assert!(slot1_new && slot1_old, "{}", fleet.describe());
    assert!(on_b.contains(&&before[4]), "{}", fleet.describe());
    fleet.assert_bystanders_untouched();

    // Once b answers again (and the lock the run could not release there expired), a re-run
    // finishes the rollout.
    fleet.host("b").answer_again();
    tokio::time::sleep(lock::LOCK_TTL + Duration::from_secs(1)).await;
    let again = fleet.apply(&v2).await;
    assert!(again.report.success, "{:#?}", again.report);
    fleet.assert_converged(&v2).await;
}

#[tokio::test(start_paused = true)]
async fn a_host_that_stops_answering_during_a_pull_fails_and_the_others_are_updated() {
    let fleet = new_fleet(TWO_HOSTS);
    fleet.deploy(&web(TWO_HOSTS, "web:1", 2)).await;
    let v2 = desired(&web(TWO_HOSTS, "web:2", 2));
    let hold = fleet.lock().await;
    let plan = fleet.plan(&v2).await;
    // b's first change is the pull of web:2.
    let silent = fleet.host("b").stop_answering_after(0);
    let outcome = fleet.apply_plan(&v2, plan, &options(), &hold).await;
    assert!(told(&silent).await);
    assert!(!outcome.report.success);
    // The engine's own bound on a pull without progress.
    assert_eq!(
        outcome.host_failure("b").as_deref(),
        Some("no answer from the Docker engine within 120s")
    );
    assert_eq!(outcome.host_failure("a"), None);
    let new_hash = hash_of(&v2, "web");
    let on_a: Vec<_> = fleet
        .replicas("web")
        .into_iter()
        .filter(|r| r.host == "a")
        .collect();
    assert!(
        on_a.len() == 1 && on_a[0].hash == new_hash && on_a[0].running,
        "{}",
        fleet.describe()
    );
    fleet.assert_bystanders_untouched();
}

/// A holder of the lock on another machine.
fn elsewhere() -> Holder {
    let mut holder = Holder::me("apply");
    holder.machine = "ci-runner-7".into();
    holder.who = "ci@ci-runner-7 pid 4242".into();
    holder.token = "ci-runner-7-4242-apply".into();
    holder.pid = Some(4242);
    holder
}

#[tokio::test(start_paused = true)]
async fn a_lock_held_by_another_run_is_refused_and_nothing_on_any_host_changes() {
    let fleet = new_fleet(TWO_HOSTS);
    fleet.deploy(&web(TWO_HOSTS, "web:1", 2)).await;
    // The other run holds b only: this run takes a first (hosts go in name order), then must
    // give it back.
    let other = Hold::new("shop", elsewhere(), lock::LOCK_TTL);
    let taken = other.take("b", fleet.host("b")).await.expect("b answers");
    assert_eq!(taken, Taken::Yes { over: None });
    let before = fleet.snapshot();
    let changes = fleet.changes();

    let hold = Hold::new("shop", Holder::me("apply"), lock::LOCK_TTL);
    let refused = lock::lock_all(&fleet.engines(), &hold, Duration::ZERO, &|_| {}).await;
    match refused {
        Err(LockError::Held {
            host,
            state: State::Held { holder, .. },
            ..
        }) => {
            assert_eq!(host, "b");
            assert_eq!(holder.who, "ci@ci-runner-7 pid 4242");
        }
        other => panic!("expected the lock on b held by the other run, got {other:?}"),
    }
    assert!(!hold.holds("a") && !hold.holds("b"));
    let a = lock::status(fleet.host("a"), "shop")
        .await
        .expect("a answers");
    assert_eq!(a.state, State::Free, "the lock taken on a is given back");
    assert!(other.holds("b"));
    assert_eq!(fleet.snapshot(), before, "no container changed");
    assert_eq!(
        fleet.changes()["a"] - changes["a"],
        2,
        "on a only the lock's own take and release"
    );
    assert_eq!(fleet.changes()["b"], changes["b"]);

    // A run that went on regardless would send nothing: every call checks the lock first.
    let v2 = desired(&web(TWO_HOSTS, "web:2", 2));
    let plan = fleet.plan(&v2).await;
    assert_eq!(plan.actions().count(), 2);
    let changes = fleet.changes();
    let outcome = fleet
        .apply_plan(&v2, plan, &options(), &Arc::new(hold))
        .await;
    assert!(!outcome.report.success);
    for host in ["a", "b"] {
        let reason = outcome.host_failure(host).expect("failed");
        assert!(
            reason.contains("no longer holds the project lock"),
            "{host}: {reason}"
        );
    }
    assert_eq!(fleet.changes(), changes, "nothing sent");
    assert_eq!(fleet.snapshot(), before, "no container changed");
    fleet.assert_bystanders_untouched();
}

#[tokio::test(start_paused = true)]
async fn a_run_without_the_lock_pulls_nothing_either() {
    let fleet = new_fleet(TWO_HOSTS);
    fleet.deploy(&web(TWO_HOSTS, "web:1", 2)).await;
    let v2 = desired(&web(TWO_HOSTS, "web:2", 2));
    let plan = fleet.plan(&v2).await;
    // A hold that never took the lock (lost, or never granted): its fence refuses every host.
    let hold = Arc::new(Hold::new("shop", Holder::me("apply"), lock::LOCK_TTL));
    let before = fleet.snapshot();
    let changes = fleet.changes();
    let always = Options {
        pull: PullPolicy::Always,
        ..options()
    };
    let outcome = fleet.apply_plan(&v2, plan, &always, &hold).await;
    assert!(!outcome.report.success);
    for host in ["a", "b"] {
        let reason = outcome.host_failure(host).expect("failed");
        assert!(
            reason.contains("no longer holds the project lock"),
            "{host}: {reason}"
        );
    }
    assert_eq!(
        fleet.changes(),
        changes,
        "no pull or other change sent without the lock: {:?}",
        fleet.host("a").calls()
    );
    assert_eq!(fleet.snapshot(), before);
}

#[tokio::test(start_paused = true)]
async fn a_services_pull_policy_decides_whether_its_image_is_pulled() {
    const ONE_HOST: &str = "project: shop\nhosts:\n  a: {address: ssh://a}\n";
    let with_policy = |policy: &str, replicas: u32| {
        format!(
            "{ONE_HOST}services:\n  web:\n    image: web:1\n    pull_policy: {policy}\n    deploy:\n      replicas: {replicas}\n"
        )
    };
    let fleet = new_fleet(ONE_HOST);
    fleet.deploy(&with_policy("missing", 1)).await;
    let pulls = |fleet: &Fleet| fleet.host("a").calls().get("pull").copied().unwrap_or(0);
    assert_eq!(pulls(&fleet), 1, "the missing image is pulled");
    // The host has web:1: `missing` does not pull it again, `always` does, `never` does not.
    fleet.deploy(&with_policy("missing", 2)).await;
    assert_eq!(pulls(&fleet), 1);
    fleet.deploy(&with_policy("always", 3)).await;
    assert_eq!(pulls(&fleet), 2);
    fleet.deploy(&with_policy("never", 4)).await;
    assert_eq!(pulls(&fleet), 2);
}

#[tokio::test(start_paused = true)]
async fn an_image_is_pulled_for_the_services_platform() {
    const ONE_HOST: &str = "project: shop\nhosts:\n  a: {address: ssh://a}\n";
    let fleet = new_fleet(ONE_HOST);
    fleet
        .deploy(&format!(
            "{ONE_HOST}services:\n  web:\n    image: web:1\n    platform: linux/arm64\n  api:\n    image: web:2\n"
        ))
        .await;
    let mut pulls = fleet.host("a").pulls();
    pulls.sort();
    assert_eq!(
        pulls,
        [
            ("web:1".to_string(), Some("linux/arm64".to_string())),
            ("web:2".to_string(), None)
        ]
    );
}
