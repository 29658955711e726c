//! Autoscaling in the daemon on simulated hosts: CPU read through the engine seam scales a
//! service up once its replicas are warm, never down inside the window, and back to `min` after.

use super::*;

const WEB: &str = "web:1";

fn scaled_yaml(hosts: &[&str], max: u32) -> String {
    fleet_yaml(
        hosts,
        WEB,
        1,
        &format!(
            "    x-fleet:\n      autoscale: {{ min: 1, max: {max}, cpu: 50%, scale_down_after: 60s }}\n"
        ),
    )
}

fn replicas(fleet: &Fleet) -> usize {
    fleet.running().len()
}

/// Every running replica uses `cores` from now on.
fn burn(fleet: &Fleet, cores: f64) {
    for (host, c) in fleet.running() {
        fleet.host(&host).set_cpu(&c.id, cores);
    }
}

#[tokio::test(start_paused = true)]
async fn cpu_above_target_scales_up_and_the_window_holds_the_scale_down() {
    let hosts = ["a", "b"];
    let fleet = Fleet::start(&hosts, &[(WEB, Behaviour::Serves)], &scaled_yaml(&hosts, 4)).await;
    // One replica at a full core against a target of half a core: two wanted, once warm (20 s).
    burn(&fleet, 1.0);
    fleet
        .until("two replicas", Duration::from_secs(60), |f| {
            replicas(f) == 2 && f.status().services["web"].desired == 2
        })
        .await;
    let status = fleet.status();
    let scale = &status.autoscale["web"];
    assert_eq!((scale.min, scale.max, scale.desired), (1, 4, 2));
    assert!(
        scale
            .last_change
            .as_ref()
            .is_some_and(|c| c.from == 1 && c.to == 2 && c.reason.contains("cpu")),
        "{}",
        fleet.report("the change is shown with its reason")
    );
    assert_eq!(
        fleet.metrics().scale_events.get(&("web".to_string(), "up")),
        Some(&1)
    );
    // Idle now: nothing goes for the 60 s window...
    burn(&fleet, 0.0);
    fleet
        .holds(
            "two replicas inside the window",
            Duration::from_secs(50),
            |f| replicas(f) == 2,
        )
        .await;
    // ...then back to min.
    fleet
        .until("one replica", Duration::from_secs(60), |f| replicas(f) == 1)
        .await;
    assert_eq!(
        fleet
            .metrics()
            .scale_events
            .get(&("web".to_string(), "down")),
        Some(&1)
    );
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn replicas_whose_cpu_cannot_be_read_are_never_scaled_down() {
    let hosts = ["a"];
    let yaml = scaled_yaml(&hosts, 4).replace("replicas: 1", "replicas: 3");
    let fleet = Fleet::start(&hosts, &[(WEB, Behaviour::Serves)], &yaml).await;
    // The engine gives no CPU numbers: no data, no change, for well over the window.
    fleet
        .holds("three replicas", Duration::from_secs(150), |f| {
            replicas(f) == 3
        })
        .await;
    assert!(
        fleet.status().autoscale["web"].reason.contains("no data"),
        "{}",
        fleet.report("the reason says why")
    );
    // Numbers again, idle: down to min after the window.
    burn(&fleet, 0.0);
    fleet
        .until("one replica", Duration::from_secs(90), |f| replicas(f) == 1)
        .await;
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_commit_lowering_max_clamps_the_count_and_a_new_commit_keeps_it() {
    let hosts = ["a", "b"];
    let fleet = Fleet::start(&hosts, &[(WEB, Behaviour::Serves)], &scaled_yaml(&hosts, 8)).await;
    burn(&fleet, 4.0);
    fleet
        .until("five replicas", Duration::from_secs(60), |f| {
            replicas(f) == 5
        })
        .await;
    // A commit that changes something else keeps the count (not deploy.replicas: 1).
    fleet
        .commit(&scaled_yaml(&hosts, 8).replace("retries: 1", "retries: 2"))
        .await;
    fleet
        .holds(
            "five replicas after a commit",
            Duration::from_secs(5),
            |f| replicas(f) >= 5,
        )
        .await;
    fleet.commit(&scaled_yaml(&hosts, 3)).await;
    fleet
        .until("clamped to three", Duration::from_secs(30), |f| {
            replicas(f) == 3 && f.status().services["web"].desired == 3
        })
        .await;
    fleet.stop().await;
}
