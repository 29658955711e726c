use std::time::Duration;

use super::decide::{Reading, Recommender, Signal};
use super::signals::{BalancerRead, Counters, Cpu, CpuRead, Replica, Traffic, parse_show_stat};
use super::*;
use crate::observe::HostState;
use crate::spec::model::Autoscale;

fn scale(min: u32, max: u32) -> Autoscale {
    Autoscale {
        min,
        max,
        requests_per_second: Some(10.0),
        concurrency: None,
        cpu: Some(0.5),
        scale_down_after: Duration::from_secs(60),
    }
}

fn requests(total: f64) -> Vec<(Signal, Reading)> {
    vec![(
        Signal::RequestsPerSecond,
        Reading::Traffic { total, missing: 0 },
    )]
}

#[test]
fn desired_is_the_ceiling_of_current_times_observed_over_target() {
    let mut r = Recommender::default();
    // 4 replicas, 65 req/s, target 10 per replica: ceil(6.5) = 7.
    let d = r.decide(&scale(1, 20), 4, &requests(65.0), 0.0);
    assert_eq!(d.desired, 7, "{d:?}");
    assert_eq!(d.signals[0].value, Some(65.0 / 4.0));
}

#[test]
fn nothing_changes_within_the_tolerance() {
    let mut r = Recommender::default();
    assert_eq!(r.decide(&scale(1, 20), 4, &requests(43.0), 0.0).desired, 4);
    assert_eq!(r.decide(&scale(1, 20), 4, &requests(37.0), 1.0).desired, 4);
    // Beyond 10 %: up.
    assert_eq!(r.decide(&scale(1, 20), 4, &requests(45.0), 2.0).desired, 5);
}

#[test]
fn scaling_up_is_limited_to_doubling_or_four_more() {
    let mut r = Recommender::default();
    assert_eq!(
        r.decide(&scale(1, 100), 2, &requests(1000.0), 0.0).desired,
        6
    );
    assert_eq!(
        r.decide(&scale(1, 100), 10, &requests(1000.0), 1.0).desired,
        20
    );
    // And by max.
    assert_eq!(r.decide(&scale(1, 8), 6, &requests(1000.0), 2.0).desired, 8);
}

#[test]
fn scaling_down_waits_for_the_window_and_takes_its_highest_recommendation() {
    let mut r = Recommender::default();
    let s = scale(2, 20);
    assert_eq!(r.decide(&s, 8, &requests(80.0), 0.0).desired, 8);
    // Load drops: nothing goes before the window (60 s) has passed.
    for t in [5.0, 20.0, 40.0] {
        let d = r.decide(&s, 8, &requests(30.0), t);
        assert_eq!(d.desired, 8, "at {t}s: {d:?}");
    }
    // A spike inside the window is remembered for a window.
    assert_eq!(r.decide(&s, 8, &requests(50.0), 45.0).desired, 8);
    assert_eq!(r.decide(&s, 8, &requests(30.0), 59.0).desired, 8);
    // 60 s after the high load: down to the spike's recommendation (5), not to 3.
    let d = r.decide(&s, 8, &requests(30.0), 61.0);
    assert_eq!(d.desired, 5, "{d:?}");
    // Once the spike is out of the window too: the highest since (3 for 30 req/s).
    let d = r.decide(&s, 5, &requests(30.0), 106.0);
    assert_eq!(d.desired, 3, "{d:?}");
    // Never below min.
    let mut r = Recommender::default();
    r.decide(&s, 3, &requests(0.0), 0.0);
    assert_eq!(r.decide(&s, 3, &requests(0.0), 61.0).desired, 2);
}

#[test]
fn a_daemon_that_just_started_does_not_scale_down_at_once() {
    let mut r = Recommender::default();
    let d = r.decide(&scale(1, 20), 6, &requests(0.0), 1000.0);
    assert_eq!(d.desired, 6, "{d:?}");
}

#[test]
fn missing_balancers_never_scale_down_but_may_scale_up() {
    let s = scale(1, 20);
    let mut r = Recommender::default();
    r.decide(&s, 6, &requests(60.0), 0.0);
    let low = vec![(
        Signal::RequestsPerSecond,
        Reading::Traffic {
            total: 5.0,
            missing: 1,
        },
    )];
    for t in [30.0, 70.0, 200.0] {
        assert_eq!(r.decide(&s, 6, &low, t).desired, 6, "at {t}s");
    }
    let high = vec![(
        Signal::RequestsPerSecond,
        Reading::Traffic {
            total: 100.0,
            missing: 1,
        },
    )];
    assert_eq!(r.decide(&s, 6, &high, 201.0).desired, 10);
    // No data at all: no change, and it holds a later scale-down back for a window.
    let mut r = Recommender::default();
    r.decide(&s, 6, &requests(10.0), 0.0);
    let none = vec![(Signal::RequestsPerSecond, Reading::NoData)];
    assert_eq!(r.decide(&s, 6, &none, 61.0).desired, 6);
    assert_eq!(r.decide(&s, 6, &requests(10.0), 100.0).desired, 6);
    assert_eq!(r.decide(&s, 6, &requests(10.0), 122.0).desired, 1);
}

#[test]
fn unmeasured_replicas_count_as_idle_going_up_and_at_target_going_down() {
    let s = scale(1, 20);
    // 4 replicas, 2 measured at 100 % (target 50 %): up, with the other two at 0 %: ratio 1 →
    // within tolerance, no change.
    let mut r = Recommender::default();
    let cpu = vec![(
        Signal::Cpu,
        Reading::Cpu {
            total: 2.0,
            measured: 2,
        },
    )];
    assert_eq!(r.decide(&s, 4, &cpu, 0.0).desired, 4);
    // 2 measured at 150 %: up to ceil(4 x 3/4 / 0.5) = 6.
    let cpu = vec![(
        Signal::Cpu,
        Reading::Cpu {
            total: 3.0,
            measured: 2,
        },
    )];
    assert_eq!(r.decide(&s, 4, &cpu, 1.0).desired, 6);
    // 2 measured idle out of 4, others at target: (0 + 2 x 0.5) / 4 / 0.5 = 0.5 → 2 after the window.
    let mut r = Recommender::default();
    let idle = vec![(
        Signal::Cpu,
        Reading::Cpu {
            total: 0.0,
            measured: 2,
        },
    )];
    r.decide(&s, 4, &idle, 0.0);
    assert_eq!(r.decide(&s, 4, &idle, 61.0).desired, 2);
}

#[test]
fn the_largest_signal_wins_and_bounds_apply_at_once() {
    let mut r = Recommender::default();
    let mixed = vec![
        (
            Signal::RequestsPerSecond,
            Reading::Traffic {
                total: 20.0,
                missing: 0,
            },
        ),
        (
            Signal::Cpu,
            Reading::Cpu {
                total: 4.0,
                measured: 4,
            },
        ),
    ];
    let d = r.decide(&scale(1, 20), 4, &mixed, 0.0);
    assert_eq!(d.desired, 8, "{d:?}");
    assert!(d.reason.contains("cpu"), "{}", d.reason);
    // A commit lowered max below the count: down at once, whatever the window.
    let d = r.decide(&scale(1, 3), 8, &mixed, 1.0);
    assert_eq!(d.desired, 3);
    assert!(d.reason.contains("bounds"), "{}", d.reason);
}

#[test]
fn haproxy_show_stat_gives_each_backend_its_requests_and_in_flight() {
    let csv = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot\n\
web,FRONTEND,,,3,5,262124,120,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,4,,,,0,118,0,2,0,0,,1,4,120\n\
web,fh1:web-0,0,0,1,2,,60,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,10,0,,1,3,1,,60,,2,0,,2,L7OK,200,1,0,59,0,1,0,0,,,,60\n\
web,BACKEND,2,3,4,5,26213,150,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,10,0,,1,3,0,,120,,1,1,,4,,,,0,118,0,2,0,0,,,,140\n\
db,BACKEND,0,0,1,1,26213,9,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,10,0,,1,4,0,,9,,1,0,,1,,,,,,,,,,,,,\n";
    let b = parse_show_stat(csv);
    assert_eq!(
        b["web"],
        Counters {
            requests: 140,
            in_flight: 6
        }
    );
    // TCP: sessions are the requests.
    assert_eq!(
        b["db"],
        Counters {
            requests: 9,
            in_flight: 1
        }
    );
    assert!(parse_show_stat("garbage\n1,2,3").is_empty());
    assert!(parse_show_stat("").is_empty());
}

fn read(at: f64, requests: u64, in_flight: u64) -> Option<BalancerRead> {
    Some(BalancerRead {
        at,
        backends: [(
            "web".to_string(),
            Counters {
                requests,
                in_flight,
            },
        )]
        .into(),
    })
}

#[test]
fn rates_come_from_differences_and_a_reset_or_unread_balancer_is_missing() {
    let mut t = Traffic::default();
    let web = ["web".to_string()];
    let first = t.round(
        [
            ("a".into(), read(0.0, 100, 1)),
            ("b".into(), read(0.0, 50, 2)),
        ]
        .into(),
        &web,
    );
    // No earlier read: no rate yet; in-flight is known at once.
    assert_eq!(first["web"].0, Reading::NoData);
    assert_eq!(
        first["web"].1,
        Reading::Traffic {
            total: 3.0,
            missing: 0
        }
    );
    let second = t.round(
        [
            ("a".into(), read(5.0, 150, 0)),
            ("b".into(), read(5.0, 100, 0)),
        ]
        .into(),
        &web,
    );
    assert_eq!(
        second["web"].0,
        Reading::Traffic {
            total: 20.0,
            missing: 0
        }
    );
    // b reloaded (its counter went back), a unreadable: both missing for the rate.
    let third = t.round(
        [("a".into(), None), ("b".into(), read(10.0, 3, 0))].into(),
        &web,
    );
    assert_eq!(third["web"].0, Reading::NoData);
    assert_eq!(
        third["web"].1,
        Reading::Traffic {
            total: 0.0,
            missing: 1
        }
    );
    // a is back: its rate spans the gap since its last read.
    let fourth = t.round(
        [
            ("a".into(), read(15.0, 250, 0)),
            ("b".into(), read(15.0, 53, 0)),
        ]
        .into(),
        &web,
    );
    assert_eq!(
        fourth["web"].0,
        Reading::Traffic {
            total: 10.0 + 10.0,
            missing: 0
        }
    );
}

#[test]
fn cpu_is_a_rate_of_the_counter_relative_to_the_limit_and_warm_replicas_only() {
    let mut cpu = Cpu::default();
    let replica = |id: &str, warm: bool, usage_s: f64, at: f64| Replica {
        service: "web".into(),
        id: id.into(),
        cores: 0.5,
        warm,
        read: Some(CpuRead {
            usage_ns: (usage_s * 1e9) as u64,
            at,
        }),
    };
    let first = cpu.round(&[replica("a", true, 0.0, 0.0), replica("b", false, 0.0, 0.0)]);
    assert_eq!(first["web"], Reading::NoData);
    // a used 1 s of CPU in 4 s with a limit of half a core: 50 %; b is warming up.
    let second = cpu.round(&[replica("a", true, 1.0, 4.0), replica("b", false, 4.0, 4.0)]);
    assert_eq!(
        second["web"],
        Reading::Cpu {
            total: 0.5,
            measured: 1
        }
    );
}

fn observed_with_slots(slots: &[u32]) -> Observed {
    use crate::observe::{Container, RunState};
    let containers = slots
        .iter()
        .map(|slot| Container {
            id: format!("id{slot}"),
            name: format!("p-web-{slot}-x"),
            owner: Owner::Replica {
                service: "web".into(),
                slot: *slot,
                spec_hash: "x".into(),
                commit: None,
                spec: None,
            },
            state: RunState::Running,
            health: None,
            image_id: String::new(),
            created: 0,
            ports: Vec::new(),
        })
        .collect();
    let mut o = Observed::default();
    o.hosts
        .insert("a".into(), HostState::Reachable { containers });
    o
}

#[test]
fn the_count_is_read_back_from_the_hosts_and_kept_within_bounds() {
    let loaded = crate::spec::load(&crate::spec::MemoryFiles::new([(
        "fleet.yaml",
        "project: p\nservices:\n  web:\n    image: demo:1\n    deploy: { replicas: 3 }\n    x-fleet:\n      autoscale: { min: 2, max: 6, cpu: 50% }\n  db:\n    image: db:1\n",
    )]));
    let desired = loaded.desired.expect("valid");
    // Nothing runs: the starting count.
    let (d, a) = settle(&desired, &Observed::default(), &Decided::new());
    assert_eq!(d.services["web"].deploy.replicas, 3);
    assert_eq!(a[0].from, CountFrom::Start);
    // Seven run (slots 0-6): kept, clamped to max 6.
    let (d, a) = settle(
        &desired,
        &observed_with_slots(&[0, 1, 2, 3, 4, 5, 6]),
        &Decided::new(),
    );
    assert_eq!(d.services["web"].deploy.replicas, 6);
    assert_eq!(a[0].clamped_from, Some(7));
    // Five run: five, not deploy.replicas.
    let (d, a) = settle(&desired, &observed_with_slots(&[0, 4, 2]), &Decided::new());
    assert_eq!(
        (d.services["web"].deploy.replicas, a[0].from),
        (5, CountFrom::Hosts)
    );
    // The daemon's decision wins over what runs.
    let decided: Decided = [("web".to_string(), 4)].into();
    let (d, _) = settle(&desired, &observed_with_slots(&[0, 1]), &decided);
    assert_eq!(d.services["web"].deploy.replicas, 4);
    // Services without autoscale are untouched.
    assert_eq!(d.services["db"].deploy.replicas, 1);
    assert_eq!(a.len(), 1);
}
