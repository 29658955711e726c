//! Hosts lost and back: unreachable (held back) before `host_down_after`, down (replicas
//! moved) after it, and the fleet converging back when the host answers again.

use super::*;

/// Running replicas per host.
fn per_host(fleet: &Fleet) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = fleet.hosts.keys().map(|h| (h.clone(), 0)).collect();
    for (host, _) in fleet.running() {
        *out.entry(host).or_default() += 1;
    }
    out
}

fn counts(fleet: &Fleet) -> Vec<usize> {
    per_host(fleet).into_values().collect()
}

#[tokio::test(start_paused = true)]
async fn a_silent_host_is_held_back_then_declared_down_and_the_fleet_converges_when_it_returns() {
    let hosts = ["a", "b", "c"];
    let yaml = format!(
        "{}watch:\n  host_down_after: 20s\n",
        fleet_yaml(&hosts, "web:1", 3, "")
    );
    let fleet = Fleet::start(&hosts, &[("web:1", Behaviour::Serves)], &yaml).await;
    assert_eq!(counts(&fleet), [1, 1, 1], "{}", fleet.report("spread"));
    let creates = |f: &Fleet| {
        f.host("a").calls().get("create").copied().unwrap_or(0)
            + f.host("b").calls().get("create").copied().unwrap_or(0)
    };
    let created_before = creates(&fleet);

    fleet.host("c").stop_answering();
    let cut = Instant::now();
    // A ping times out after 3 s.
    fleet
        .until("c is unreachable", Duration::from_secs(5), |f| {
            f.status().hosts.get("c").is_some_and(|h| !h.reachable)
        })
        .await;
    // Within host_down_after a blip must not double the fleet: c's replica is not replaced.
    fleet
        .holds(
            "holding c's replica back while c is only unreachable",
            Duration::from_secs(15).saturating_sub(cut.elapsed()),
            |f| {
                let c = &f.status().hosts["c"];
                !c.down && counts(f) == [1, 1, 1] && creates(f) == created_before
            },
        )
        .await;

    // Three failed probes spanning 20 s: down, and its replica placed on a or b.
    fleet
        .until(
            "c is down and its replica moved",
            Duration::from_secs(20),
            |f| {
                let down = f.status().hosts.get("c").is_some_and(|h| h.down);
                let p = per_host(f);
                down && p["a"] + p["b"] == 3
            },
        )
        .await;
    assert!(cut.elapsed() >= Duration::from_secs(20), "down too early");
    assert_eq!(fleet.metrics().hosts_down_total, 1);

    // Back: c's stale copy of the moved replica goes, and the spread comes back. On the way
    // no slot runs more than twice, and at most five replicas run: the three wanted, c's stale
    // copy (removed once the service's moves are done) and the one moving back to c (started
    // before its old copy is removed).
    fleet.host("c").answer_again();
    let (mut most, mut most_per_slot) = (0, 0);
    fleet
        .until(
            "the fleet is back on one replica per host",
            Duration::from_secs(30),
            |f| {
                let running = f.running();
                let mut slots: Vec<u32> = running.iter().filter_map(|(_, c)| slot(c)).collect();
                slots.sort();
                most = most.max(running.len());
                for s in &slots {
                    most_per_slot = most_per_slot.max(slots.iter().filter(|t| *t == s).count());
                }
                let c = &f.status().hosts["c"];
                c.reachable && !c.down && slots == [0, 1, 2] && counts(f) == [1, 1, 1]
            },
        )
        .await;
    let seen = format!("at most {most} replicas, {most_per_slot} of one slot, ran at once");
    assert!(most <= 5 && most_per_slot <= 2, "{}", fleet.report(&seen));
    // And it stays so.
    fleet
        .holds("converged", Duration::from_secs(10), |f| {
            f.running().len() == 3 && counts(f) == [1, 1, 1]
        })
        .await;
    assert_eq!(
        fleet.containers().len(),
        3,
        "{}",
        fleet.report("nothing left over")
    );
    fleet.stop().await;
}

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

#[tokio::test(start_paused = true)]
async fn status_shows_each_ingress_hosts_balancer_and_its_rotation() {
    let hosts = ["a"];
    let images = [
        ("web:1", Behaviour::Serves),
        (
            crate::spec::model::DEFAULT_BALANCER_IMAGE,
            Behaviour::Serves,
        ),
    ];
    let fleet = Fleet::start(
        &hosts,
        &images,
        &fleet_yaml(
            &hosts,
            "web:1",
            2,
            "    x-fleet: {expose: {port: 80, host_port: 8080}}\n",
        ),
    )
    .await;
    fleet
        .until(
            "the balancer routes to both replicas",
            Duration::from_secs(10),
            |f| {
                let balancers = f.status().balancers;
                balancers.len() == 1
                    && balancers.values().all(|b| {
                        b.running()
                            && b.rotation.as_ref().and_then(|r| r.get("web").copied()) == Some(2)
                    })
            },
        )
        .await;
    let json = serde_json::to_value(fleet.status()).expect("json");
    assert_eq!(json["balancers"]["a"]["state"], "running");
    assert_eq!(json["balancers"]["a"]["rotation"]["web"], 2);
    fleet.stop().await;
}
