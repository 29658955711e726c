//! Hosts lost and back: unreachable (held back) before `host_down_after`, down (replicas
//! moved) after it, and the fleet converging back when the host answers again.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_commit_is_not_held_to_while_its_new_replicas_are_held_back() {
    let hosts = ["a", "b", "c"];
    let images = [("web:1", Behaviour::Serves)];
    let fleet = Fleet::start(&hosts, &images, &fleet_yaml(&hosts, "web:1", 3, "")).await;
    let first = fleet.status().applied_commit;
    fleet.host("c").stop_answering();
    fleet
        .until("c is unreachable", Duration::from_secs(5), |f| {
            f.status().hosts.get("c").is_some_and(|h| !h.reachable)
        })
        .await;

    // A fourth replica: c may run it already, so it is held back until c answers or is down.
    let more = fleet.commit(&fleet_yaml(&hosts, "web:1", 4, "")).await;
    fleet
        .holds(
            "holding to the first commit while nothing of the new one runs",
            Duration::from_secs(10),
            |f| {
                let status = f.status();
                status.applied_commit == first && f.running().len() == 3 && f.metrics().heals == 0
            },
        )
        .await;
    assert_eq!(fleet.status().tip_commit.as_ref(), Some(&more));

    // Back: the new commit is rolled out (a rollout, not a heal) and held to.
    fleet.host("c").answer_again();
    fleet
        .until("the new commit is applied", Duration::from_secs(20), |f| {
            f.status().applied_commit.as_ref() == Some(&more) && f.running().len() == 4
        })
        .await;
    assert_eq!(fleet.metrics().heals, 0, "{}", fleet.report("no heal"));
    assert_eq!(fleet.metrics().rollouts.get("ok"), Some(&2));
    fleet.stop().await;
}
