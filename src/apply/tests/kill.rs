//! Every step is idempotent: a run killed after any number of changes on a host, followed by a
//! re-run, leaves the fleet exactly as a run that was never killed.

use std::time::Duration;

use super::harness::{Fleet, desired};
use crate::engine::memory::Behaviour;
use crate::lock;
use crate::spec::model::DEFAULT_BALANCER_IMAGE;

/// Two services on two hosts: `web` (behind the balancers on both hosts) gets a new image and a
/// fourth replica, `api` (started after `web`) a new environment and one replica less.
fn state(
    web_image: &str,
    web_replicas: u32,
    api_env: &str,
    api_replicas: u32,
    order: &str,
) -> String {
    format!(
        "project: shop
hosts:
  a: {{address: ssh://a}}
  b: {{address: ssh://b}}
services:
  web:
    image: {web_image}
    x-fleet: {{expose: {{port: 80, host_port: 8080, drain: 1s}}}}
    healthcheck: {{test: [CMD, check], interval: 200ms, retries: 2}}
    deploy:
      replicas: {web_replicas}
      update_config: {{parallelism: 2, order: {order}}}
  api:
    image: api:1
    environment: {{LEVEL: {api_env}}}
    healthcheck: {{test: [CMD, check], interval: 200ms, retries: 2}}
    depends_on: [web]
    deploy:
      replicas: {api_replicas}
      update_config: {{order: {order}}}
"
    )
}

/// A fleet running the old state (checked converged once, by the clean run of each case).
async fn old_fleet(order: &str, check: bool) -> Fleet {
    let old = state("web:1", 3, "info", 2, order);
    let fleet = Fleet::new(&old);
    for image in ["web:1", "web:2", "api:1", DEFAULT_BALANCER_IMAGE] {
        fleet.publish(image, Behaviour::Serves);
    }
    let old = desired(&old);
    let outcome = fleet.apply(&old).await;
    assert!(outcome.report.success, "{:#?}", outcome.report);
    if check {
        fleet.assert_converged(&old).await;
    }
    fleet
}

#[tokio::test(start_paused = true)]
async fn a_run_killed_after_any_change_converges_on_the_next_run() {
    // On a, api 0 and web 0 and 2 are replaced; on b, web 1 is replaced, web 3 created and
    // api 1 removed; both balancers are reconfigured at every change of web's rotation.
    for (order, host) in [
        ("stop-first", "a"),
        ("start-first", "a"),
        ("stop-first", "b"),
        ("start-first", "b"),
    ] {
        let new = desired(&state("web:2", 4, "debug", 1, order));

        // How many changes a whole run makes on the host.
        let fleet = old_fleet(order, true).await;
        let clean = fleet.apply_killed(&new, host, u64::MAX).await;
        let outcome = clean.outcome.expect("never killed");
        assert!(outcome.report.success, "{:#?}", outcome.report);
        fleet.assert_converged(&new).await;
        let all = clean.made;
        assert!(all >= 20, "{order}: a run makes {all} changes on {host}");

        for n in 0..=all {
            let fleet = old_fleet(order, false).await;
            let killed = fleet.apply_killed(&new, host, n).await;
            // The count is exact: killed before the last change, never at it.
            assert_eq!(
                killed.outcome.is_none(),
                n < all,
                "{order}: killed after {n} of {all} changes on {host}"
            );
            // The killed run's lock expires (it was killed on another machine, say).
            tokio::time::sleep(lock::LOCK_TTL + Duration::from_secs(1)).await;
            let rerun = fleet.apply(&new).await;
            assert!(
                rerun.report.success,
                "{order}: the re-run after a kill after {n} changes on {host}: {:#?}{}",
                rerun.report,
                fleet.describe()
            );
            fleet.assert_converged(&new).await;
        }
    }
}
