//! Placement and diff on hand-built values: no hosts, no Docker.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::contract;
use crate::observe::{Container, Health, HostState, Observed, Owner, RunState};
use crate::spec::{MemoryFiles, load};

fn desired(yaml: &str) -> Desired {
    let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml)]));
    loaded
        .desired
        .unwrap_or_else(|| panic!("invalid test state: {:#?}", loaded.diagnostics))
}

const FOUR_HOSTS: &str = "project: shop
hosts:
  a1: { address: ssh://a1, labels: { zone: a, role: web } }
  a2: { address: ssh://a2, labels: { zone: a, role: web } }
  b1: { address: ssh://b1, labels: { zone: b, role: web } }
  b2: { address: ssh://b2, labels: { zone: b, role: db } }
";

fn with(services: &str) -> Desired {
    desired(&format!("{FOUR_HOSTS}services:\n{services}"))
}

/// A running replica of `service` made from the current spec of `d`.
fn replica(d: &Desired, service: &str, slot: u32) -> Container {
    let spec = &d.services[service];
    let hash = spec_hash(spec);
    Container {
        id: format!("id-{service}-{slot}-{hash}"),
        name: container_name(&d.project, service, slot, &hash),
        owner: Owner::Replica {
            service: service.into(),
            slot,
            spec_hash: hash,
            commit: None,
            spec: Some(container_spec(spec).to_string()),
        },
        state: RunState::Running,
        health: Some(Health::Healthy),
        image_id: "sha256:x".into(),
        created: 1,
        ports: Vec::new(),
    }
}

fn observed(d: &Desired, on: &[(&str, Vec<Container>)]) -> Observed {
    let mut hosts: BTreeMap<String, HostState> = d
        .hosts
        .keys()
        .map(|h| {
            (
                h.clone(),
                HostState::Reachable {
                    containers: Vec::new(),
                },
            )
        })
        .collect();
    for (host, containers) in on {
        hosts.insert(
            host.to_string(),
            HostState::Reachable {
                containers: containers.clone(),
            },
        );
    }
    Observed {
        hosts,
        ..Default::default()
    }
}

fn summary(plan: &Plan) -> Vec<String> {
    plan.actions()
        .map(|c| {
            format!(
                "{:?} {} {}/{}",
                c.action,
                c.host,
                c.service.as_deref().unwrap_or("-"),
                c.slot.map_or("-".into(), |s| s.to_string())
            )
        })
        .collect()
}

fn per_host(plan: &Plan, service: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in &plan.changes {
        if c.service.as_deref() == Some(service) && c.action != Action::Remove {
            *out.entry(c.host.clone()).or_default() += 1;
        }
    }
    out
}

#[test]
fn new_replicas_spread_across_zones_then_hosts() {
    let d = with(
        "  web:\n    image: nginx\n    deploy:\n      replicas: 4\n      placement:\n        constraints: [node.labels.role == web]\n        preferences: [{ spread: node.labels.zone }]\n",
    );
    let plan = plan(&d, &observed(&d, &[]), None).unwrap();
    assert_eq!(plan.count(Action::Create), 4);
    let zones: Vec<&str> = plan
        .changes
        .iter()
        .map(|c| d.hosts[&c.host].labels["zone"].as_str())
        .collect();
    assert_eq!(zones.iter().filter(|z| **z == "a").count(), 2);
    assert_eq!(zones.iter().filter(|z| **z == "b").count(), 2);
    assert!(
        !per_host(&plan, "web").contains_key("b2"),
        "b2 is not a web host"
    );
}

#[test]
fn max_replicas_per_node_is_never_exceeded() {
    let d = with(
        "  web:\n    image: nginx\n    deploy: { replicas: 8, placement: { max_replicas_per_node: 2 } }\n",
    );
    let plan = plan(&d, &observed(&d, &[]), None).unwrap();
    assert!(
        per_host(&plan, "web").values().all(|n| *n == 2),
        "{:?}",
        per_host(&plan, "web")
    );
}

#[test]
fn a_fixed_host_port_fits_one_replica_per_host_and_one_service() {
    let d = with(
        "  web:\n    image: nginx\n    ports: [\"80:80\"]\n    deploy: { replicas: 3 }\n  admin:\n    image: admin\n    ports: [\"80:8080\"]\n",
    );
    let result = plan(&d, &observed(&d, &[]), None).unwrap();
    let web = per_host(&result, "web");
    let admin = per_host(&result, "admin");
    assert!(web.values().all(|n| *n == 1));
    assert_eq!(
        web.len() + admin.len(),
        4,
        "web and admin both want host port 80: four hosts, four replicas"
    );
    assert!(admin.keys().all(|h| !web.contains_key(h)));
}

#[test]
fn impossible_placement_is_an_error_naming_the_service() {
    let d = with(
        "  web:\n    image: nginx\n    ports: [\"80:80\"]\n    deploy: { replicas: 3 }\n  admin:\n    image: admin\n    ports: [\"80:8080\"]\n    deploy: { replicas: 2 }\n",
    );
    let errors = plan(&d, &observed(&d, &[]), None).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .to_string()
            .starts_with("cannot place replica 2 of service `web`: it publishes a fixed host port"),
        "{}",
        errors[0]
    );
}

#[test]
fn existing_replicas_stay_where_they_are_when_scaling_up() {
    let d = with(
        "  web:\n    image: nginx\n    deploy: { replicas: 3, placement: { preferences: [{ spread: node.labels.zone }] } }\n",
    );
    // Slots 0 and 1 both in zone a: spread alone would not put them there, but they stay.
    let obs = observed(
        &d,
        &[
            ("a1", vec![replica(&d, "web", 0)]),
            ("a2", vec![replica(&d, "web", 1)]),
        ],
    );
    let plan = plan(&d, &obs, None).unwrap();
    assert_eq!(summary(&plan), vec!["Create b1 web/2"]);
    assert_eq!(plan.count(Action::Keep), 2);
}

#[test]
fn scaling_down_removes_the_highest_slots() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 2 }\n");
    let obs = observed(
        &d,
        &[
            ("a1", vec![replica(&d, "web", 0), replica(&d, "web", 2)]),
            ("b1", vec![replica(&d, "web", 1), replica(&d, "web", 3)]),
        ],
    );
    let plan = plan(&d, &obs, None).unwrap();
    assert_eq!(summary(&plan), vec!["Remove a1 web/2", "Remove b1 web/3"]);
    assert!(
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Remove)
            .all(|c| c.reason == "scale down to 2 replica(s)")
    );
}

#[test]
fn an_image_change_replaces_with_a_field_diff() {
    let old = with("  web:\n    image: nginx:1.26\n    environment: { A: \"1\" }\n");
    let new = with("  web:\n    image: nginx:1.27\n    environment: { A: \"1\", B: \"2\" }\n");
    let obs = observed(&old, &[("a1", vec![replica(&old, "web", 0)])]);
    let plan = plan(&new, &obs, None).unwrap();
    assert_eq!(summary(&plan), vec!["Replace a1 web/0"]);
    let diff = &plan.changes[0].diff;
    assert_eq!(diff.len(), 2, "{diff:#?}");
    assert_eq!(diff[0].field, "environment.B");
    assert_eq!(diff[0].before, None);
    assert_eq!(diff[1].field, "image");
    assert_eq!(diff[1].after, Some(serde_json::json!("nginx:1.27")));
    assert_eq!(plan.changes[0].reason, "changed: environment.B, image");
}

#[test]
fn a_duration_change_is_one_field_in_seconds() {
    let old = with("  web:\n    image: nginx\n    stop_grace_period: 10s\n");
    let new = with(
        "  web:\n    image: nginx\n    stop_grace_period: 1500ms\n    healthcheck: { interval: 2s }\n",
    );
    let obs = observed(&old, &[("a1", vec![replica(&old, "web", 0)])]);
    let plan = plan(&new, &obs, None).unwrap();
    let diff = &plan.changes[0].diff;
    assert_eq!(diff.len(), 2, "{diff:#?}");
    assert_eq!(diff[0].field, "healthcheck");
    assert_eq!(
        diff[0].after.as_ref().unwrap()["interval"],
        serde_json::json!(2)
    );
    assert_eq!(diff[1].field, "stop_grace_period");
    assert_eq!(diff[1].before, Some(serde_json::json!(10)));
    assert_eq!(diff[1].after, Some(serde_json::json!(1.5)));
}

#[test]
fn rollout_settings_alone_do_not_replace_replicas() {
    let old = with("  web:\n    image: nginx\n    deploy: { replicas: 1 }\n");
    let new = with(
        "  web:\n    image: nginx\n    deploy: { replicas: 1, update_config: { parallelism: 3 }, placement: { max_replicas_per_node: 1 } }\n",
    );
    let plan = plan(
        &new,
        &observed(&old, &[("a1", vec![replica(&old, "web", 0)])]),
        None,
    )
    .unwrap();
    assert!(plan.is_empty(), "{:?}", summary(&plan));
}

#[test]
fn stopped_dead_and_missing_replicas_are_started_replaced_and_created() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 3 }\n");
    let mut stopped = replica(&d, "web", 0);
    stopped.state = RunState::Exited;
    let mut dead = replica(&d, "web", 1);
    dead.state = RunState::Dead;
    let plan = plan(
        &d,
        &observed(&d, &[("a1", vec![stopped]), ("a2", vec![dead])]),
        None,
    )
    .unwrap();
    assert_eq!(
        summary(&plan),
        vec!["Start a1 web/0", "Replace a2 web/1", "Create b1 web/2"]
    );
}

#[test]
fn imposters_and_services_deleted_from_git_are_removed() {
    let d = with("  web:\n    image: nginx\n");
    let mut gone = replica(&d, "web", 0);
    gone.owner = Owner::Replica {
        service: "old".into(),
        slot: 0,
        spec_hash: "x".into(),
        commit: None,
        spec: None,
    };
    let mut imposter = replica(&d, "web", 5);
    imposter.owner = Owner::Malformed {
        why: "has no `fleet.slot` label".into(),
    };
    let plan = plan(
        &d,
        &observed(&d, &[("a1", vec![replica(&d, "web", 0), gone, imposter])]),
        None,
    )
    .unwrap();
    let removed: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Remove)
        .map(|c| c.reason.as_str())
        .collect();
    assert_eq!(removed.len(), 2);
    assert!(removed.contains(&"service `old` is no longer in the desired state"));
    assert!(removed.contains(&"not a replica fleet made: has no `fleet.slot` label"));
}

#[test]
fn duplicates_of_a_slot_keep_the_best_one() {
    let d = with("  web:\n    image: nginx\n");
    let mut stale = replica(&d, "web", 0);
    stale.state = RunState::Exited;
    stale.id = "stale".into();
    let plan = plan(
        &d,
        &observed(
            &d,
            &[("a1", vec![stale]), ("b1", vec![replica(&d, "web", 0)])],
        ),
        None,
    )
    .unwrap();
    assert_eq!(summary(&plan), vec!["Remove a1 web/0"]);
}

#[test]
fn replicas_on_an_unreachable_host_are_neither_moved_nor_recreated() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 2 }\n");
    let mut obs = observed(&d, &[("a1", vec![replica(&d, "web", 0)])]);
    obs.hosts.insert(
        "b1".into(),
        HostState::Unreachable {
            reason: "timeout".into(),
        },
    );
    let plan = plan(&d, &obs, None).unwrap();
    assert!(plan.is_empty(), "{:?}", summary(&plan));
    assert_eq!(
        plan.held_back,
        vec![HeldBack {
            service: "web".into(),
            slots: vec![1],
            hosts: vec!["b1".into()]
        }]
    );
    assert_eq!(plan.unreachable[0].host, "b1");
}

#[test]
fn replicas_of_a_host_declared_down_are_placed_elsewhere() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 3 }\n");
    let mut obs = observed(
        &d,
        &[
            ("a1", vec![replica(&d, "web", 0)]),
            ("a2", vec![replica(&d, "web", 1)]),
        ],
    );
    obs.hosts.insert(
        "b1".into(),
        HostState::Down {
            reason: "timeout for 60s".into(),
        },
    );
    let plan = plan(&d, &obs, None).unwrap();
    assert_eq!(summary(&plan), vec!["Create b2 web/2"]);
    assert!(plan.held_back.is_empty());
    assert!(plan.unreachable[0].reason.contains("down"));
}

#[test]
fn a_returning_host_loses_its_duplicates_and_gets_its_share_back() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 4 }\n");
    // b1 came back with replica 2, which had meanwhile been recreated (newer) on a1.
    let mut moved = replica(&d, "web", 2);
    moved.id = "moved".into();
    moved.created = 2;
    let obs = observed(
        &d,
        &[
            ("a1", vec![replica(&d, "web", 0), moved]),
            ("a2", vec![replica(&d, "web", 1)]),
            ("b1", vec![replica(&d, "web", 2)]),
            ("b2", vec![replica(&d, "web", 3)]),
        ],
    );
    let first = plan(&d, &obs, None).unwrap();
    let mut actions = summary(&first);
    actions.sort();
    assert_eq!(
        actions,
        vec!["Create b1 web/0", "Remove a1 web/0", "Remove b1 web/2"],
        "the stale duplicate goes and a replica of a1 moves to b1 (not replica 2: its name \
         is still taken on b1 until the duplicate is removed)"
    );
    let after = apply_in_memory(&d, &obs, &first);
    let second = plan(&d, &after, None).unwrap();
    assert!(second.is_empty(), "{:?}", summary(&second));
    assert_eq!(
        per_host(&second, "web")
            .values()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 1, 1, 1]
    );
}

#[test]
fn an_imbalance_of_one_replica_moves_nothing() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 5 }\n");
    let obs = observed(
        &d,
        &[
            ("a1", vec![replica(&d, "web", 0), replica(&d, "web", 4)]),
            ("a2", vec![replica(&d, "web", 1)]),
            ("b1", vec![replica(&d, "web", 2)]),
            ("b2", vec![replica(&d, "web", 3)]),
        ],
    );
    let plan = plan(&d, &obs, None).unwrap();
    assert!(plan.is_empty(), "{:?}", summary(&plan));
}

#[test]
fn nothing_is_rebalanced_while_an_eligible_host_is_silent() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 3 }\n");
    let mut obs = observed(
        &d,
        &[(
            "a1",
            vec![
                replica(&d, "web", 0),
                replica(&d, "web", 1),
                replica(&d, "web", 2),
            ],
        )],
    );
    obs.hosts.insert(
        "b1".into(),
        HostState::Unreachable {
            reason: "timeout".into(),
        },
    );
    let plan = plan(&d, &obs, None).unwrap();
    assert!(plan.is_empty(), "{:?}", summary(&plan));
}

#[test]
fn a_constraint_change_moves_replicas_off_hosts_that_no_longer_qualify() {
    let old = with("  web:\n    image: nginx\n");
    let new = with(
        "  web:\n    image: nginx\n    deploy: { placement: { constraints: [node.labels.zone == b] } }\n",
    );
    let plan = plan(
        &new,
        &observed(&old, &[("a1", vec![replica(&old, "web", 0)])]),
        None,
    )
    .unwrap();
    assert_eq!(summary(&plan), vec!["Remove a1 web/0", "Create b1 web/0"]);
}

#[test]
fn global_services_run_once_on_every_eligible_host() {
    let d = with(
        "  agent:\n    image: agent\n    deploy: { mode: global, placement: { constraints: [node.labels.role == web] } }\n",
    );
    let plan = plan(
        &d,
        &observed(&d, &[("a1", vec![replica(&d, "agent", 0)])]),
        None,
    )
    .unwrap();
    assert_eq!(
        summary(&plan),
        vec!["Create a2 agent/0", "Create b1 agent/0"]
    );
}

#[test]
fn plans_are_deterministic() {
    let d = with(
        "  web:\n    image: nginx\n    deploy: { replicas: 5, placement: { preferences: [{ spread: node.labels.zone }] } }\n  api:\n    image: api\n    deploy: { replicas: 3 }\n",
    );
    let first = plan(&d, &observed(&d, &[]), Some("abc")).unwrap();
    for _ in 0..5 {
        assert_eq!(plan(&d, &observed(&d, &[]), Some("abc")).unwrap(), first);
    }
}

/// Carries a plan out on the in-memory hosts, as `fleet apply` will on real ones.
fn apply_in_memory(d: &Desired, obs: &Observed, plan: &Plan) -> Observed {
    let mut out = obs.clone();
    for change in plan.actions() {
        let HostState::Reachable { containers } = out.hosts.get_mut(&change.host).unwrap() else {
            continue;
        };
        if let Some(old) = &change.container {
            if matches!(change.action, Action::Remove | Action::Replace) {
                containers.retain(|c| c.id != old.id);
            }
            if change.action == Action::Start {
                containers
                    .iter_mut()
                    .filter(|c| c.id == old.id)
                    .for_each(|c| c.state = RunState::Running);
            }
        }
        if let (Some(new), Some(service), Some(slot)) =
            (&change.create, &change.service, change.slot)
        {
            let mut c = replica(d, service, slot);
            c.id = format!("{}-{}", change.host, new.name);
            containers.push(c);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Applying a plan and planning again changes nothing, and no host ever holds more replicas
    /// of a service than max_replicas_per_node.
    #[test]
    fn plans_converge_and_respect_max_per_node(
        hosts in 1usize..6,
        services in proptest::collection::vec((0u32..7, proptest::option::of(1u32..3), any::<bool>(), any::<bool>()), 1..4),
        initial_scale in 0u32..4,
        skewed in any::<bool>(),
    ) {
        let mut yaml = String::from("project: p\nhosts:\n");
        for h in 0..hosts {
            yaml.push_str(&format!("  h{h}: {{ address: ssh://h{h}, labels: {{ zone: z{} }} }}\n", h % 2));
        }
        yaml.push_str("services:\n");
        for (i, (replicas, max, spread, zone_a_only)) in services.iter().enumerate() {
            yaml.push_str(&format!("  s{i}:\n    image: img{i}\n    deploy:\n      replicas: {replicas}\n      placement:\n"));
            if let Some(max) = max { yaml.push_str(&format!("        max_replicas_per_node: {max}\n")); }
            if *spread { yaml.push_str("        preferences: [{ spread: node.labels.zone }]\n"); }
            if *zone_a_only { yaml.push_str("        constraints: [node.labels.zone == z0]\n"); }
        }
        let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml.as_str())]));
        // The loader refuses states that are impossible by construction; those are not plans.
        prop_assume!(loaded.desired.is_some());
        let d = loaded.desired.unwrap();
        // Start from a fleet deployed at another scale, so plans also scale and move.
        let mut start = observed(&d, &[]);
        for (name, service) in &d.services {
            for slot in 0..initial_scale.min(service.deploy.replicas + 1) {
                // Skewed: everything on one host, as after the others were lost for a while.
                let host = if skewed { "h0".to_string() } else { format!("h{}", slot as usize % hosts) };
                if let HostState::Reachable { containers } = start.hosts.get_mut(&host).unwrap() {
                    containers.push(replica(&d, name, slot));
                }
            }
        }
        let Ok(first) = plan(&d, &start, None) else { return Ok(()) };
        let after = apply_in_memory(&d, &start, &first);
        for (name, service) in &d.services {
            if let Some(max) = service.deploy.placement.max_replicas_per_node {
                for state in after.hosts.values() {
                    let HostState::Reachable { containers } = state else { continue };
                    let n = containers.iter().filter(|c| matches!(&c.owner, Owner::Replica { service, .. } if service == name)).count();
                    prop_assert!(n <= max as usize, "{name}: {n} replicas on one host, max {max}");
                }
            }
        }
        let second = plan(&d, &after, None).unwrap();
        prop_assert!(second.is_empty(), "not converged: {:?}", summary(&second));
    }
}

#[test]
fn balancers_run_on_ingress_hosts_only_and_reload_when_the_rotation_changes() {
    let d = desired(&format!(
        "{FOUR_HOSTS}balancer: {{ hosts: [a1, b1] }}\nservices:\n  web:\n    image: demo:1\n    \
         deploy: {{ replicas: 2 }}\n    x-fleet: {{ expose: {{ port: 8080, host_port: 80 }} }}\n"
    ));
    let mut web0 = replica(&d, "web", 0);
    web0.ports = vec![crate::observe::PublishedPort {
        container: 8080,
        host: 32000,
        protocol: "tcp".into(),
    }];
    let mut obs = observed(&d, &[("a1", vec![web0]), ("a2", vec![])]);
    let stray = crate::observe::Balancer {
        id: "stray".into(),
        name: "shop-balancer".into(),
        state: RunState::Running,
        spec_hash: contract::balancer_spec_hash(&d),
        config: None,
    };
    obs.balancers.insert("a2".into(), vec![stray]);

    let p = plan(&d, &obs, None).unwrap();
    let actions: Vec<(&str, BalancerAction)> = p
        .balancers
        .iter()
        .map(|b| (b.host.as_str(), b.action))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("a1", BalancerAction::Create),
            ("a2", BalancerAction::Remove),
            ("b1", BalancerAction::Create),
        ]
    );
    let upstreams: Vec<u16> = p.rotation["web"].iter().map(|e| e.port).collect();
    assert_eq!(upstreams, vec![32000]);
    assert!(p.balancers[0].added[0].contains(":32000"));

    // A running balancer with the rendered configuration is kept; another one is reloaded.
    let current = balancer::render(&d, &p.rotation);
    let running = |config: &str| crate::observe::Balancer {
        id: "lb".into(),
        name: "shop-balancer".into(),
        state: RunState::Running,
        spec_hash: contract::balancer_spec_hash(&d),
        config: Some(config.to_string()),
    };
    obs.balancers.clear();
    obs.balancers.insert("a1".into(), vec![running(&current)]);
    obs.balancers.insert(
        "b1".into(),
        vec![running(&balancer::render(&d, &Rotation::new()))],
    );
    let p = plan(&d, &obs, None).unwrap();
    let actions: Vec<(&str, BalancerAction)> = p
        .balancers
        .iter()
        .map(|b| (b.host.as_str(), b.action))
        .collect();
    assert_eq!(
        actions,
        vec![("a1", BalancerAction::Keep), ("b1", BalancerAction::Reload)]
    );
    assert_eq!(p.balancers[1].added.len(), 1);
}

#[test]
fn the_data_directories_of_containers_to_create_are_listed_per_host() {
    let d = desired(
        "project: shop\nhosts:\n  a: { address: ssh://a }\n  b: { address: ssh://b, data_dir: /srv/shop }\nservices:\n  db:\n    image: pg\n    deploy: { replicas: 2, placement: { max_replicas_per_node: 1 } }\n    volumes: ['./data:/data']\n  web:\n    image: nginx\n",
    );
    let first = plan(&d, &observed(&d, &[]), None).unwrap();
    let dirs: Vec<(String, String, Vec<String>)> = first
        .data_dirs
        .iter()
        .map(|u| (u.host.clone(), u.path.clone(), u.services.clone()))
        .collect();
    assert_eq!(
        dirs,
        [
            (
                "a".into(),
                "/var/lib/fleet/shop/data".into(),
                vec!["db".into()]
            ),
            ("b".into(), "/srv/shop/data".into(), vec!["db".into()]),
        ]
    );
    // Nothing to create, nothing listed: the plan only says what applying will touch.
    let on_a = vec![replica(&d, "db", 0), replica(&d, "web", 0)];
    let on_b = vec![replica(&d, "db", 1)];
    let settled = plan(&d, &observed(&d, &[("a", on_a), ("b", on_b)]), None).unwrap();
    assert!(settled.is_empty(), "{:?}", summary(&settled));
    assert!(settled.data_dirs.is_empty());
}

#[test]
fn a_service_is_placed_beside_the_services_it_depends_on() {
    // Without the dependency, `api` would go to the emptiest host; with it, next to `db`, since
    // replicas reach each other by name on one host only. Spread still comes first.
    let d = with(
        "  db:\n    image: pg\n  zz-cache:\n    image: redis\n  api:\n    image: api\n    depends_on: [db]\n  web:\n    image: nginx\n    deploy: { replicas: 4 }\n    depends_on: [db]\n",
    );
    let plan = plan(&d, &observed(&d, &[]), None).unwrap();
    let host_of = |service: &str| -> Vec<String> {
        plan.changes
            .iter()
            .filter(|c| c.service.as_deref() == Some(service))
            .map(|c| c.host.clone())
            .collect()
    };
    let db = host_of("db");
    assert_eq!(db.len(), 1);
    assert_eq!(host_of("api"), db, "{:?}", summary(&plan));
    assert_eq!(
        per_host(&plan, "web").len(),
        4,
        "web still spreads over every host"
    );
    // Nothing pulls `zz-cache` anywhere: it goes to the emptiest host.
    assert_ne!(host_of("zz-cache"), db);
}

#[test]
fn a_service_with_a_fixed_address_gets_one_replica_per_host() {
    let d = desired(
        "project: shop\nhosts:\n  a: { address: ssh://a }\n  b: { address: ssh://b }\nnetworks:\n  back: { ipam: { config: [{ subnet: 172.28.0.0/16 }] } }\nservices:\n  db:\n    image: pg\n    deploy: { replicas: 2 }\n    networks: { back: { ipv4_address: 172.28.0.10 } }\n",
    );
    let plan = plan(&d, &observed(&d, &[]), None).unwrap();
    assert_eq!(
        per_host(&plan, "db"),
        BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 1)])
    );
}

#[test]
fn a_changed_certificate_reloads_the_balancers_naming_old_and_new_and_retires_the_old_file() {
    let mut d = desired(&format!(
        "{FOUR_HOSTS}balancer: {{ hosts: [a1] }}\n\
         services:\n  web:\n    image: demo:1\n    deploy: {{ replicas: 0 }}\n    \
         x-fleet: {{ expose: {{ port: 8080, hosts: [shop.example.test] }} }}\n"
    ));
    // The certificate's secrets are the payload's business: only its summary matters here.
    let routes = d
        .services
        .get_mut("web")
        .unwrap()
        .expose_via
        .as_mut()
        .unwrap();
    routes.routes.as_mut().unwrap().tls = Some(crate::spec::model::TlsSource::Secrets {
        certificate: "c".into(),
        key: "k".into(),
    });
    let certificate =
        |id: &str, serial: &str, not_after: i64| crate::spec::model::CertificateSummary {
            id: id.into(),
            names: vec!["shop.example.test".into()],
            serial: serial.into(),
            not_before: 0,
            not_after,
            issuer: "CN=ca".into(),
            internal: false,
        };
    d.certificates
        .insert("web".into(), certificate("old", "01", 1_800_000_000));
    let mut obs = observed(&d, &[("a1", vec![])]);
    let served = balancer::render(&d, &balancer::rotation(&d, &obs));
    obs.balancers.insert(
        "a1".into(),
        vec![crate::observe::Balancer {
            id: "lb".into(),
            name: "shop-balancer".into(),
            state: RunState::Running,
            spec_hash: contract::balancer_spec_hash(&d),
            config: Some(served),
        }],
    );
    let kept = plan(&d, &obs, None).unwrap();
    assert_eq!(kept.balancers[0].action, BalancerAction::Keep);
    assert!(kept.balancers[0].certificates.is_empty());

    d.certificates
        .insert("web".into(), certificate("new", "02", 1_900_000_000));
    let p = plan(&d, &obs, None).unwrap();
    let b = &p.balancers[0];
    assert_eq!(
        (b.action, b.reason.as_str()),
        (BalancerAction::Reload, "a certificate changed")
    );
    assert_eq!(
        b.certificates,
        vec![
            "web: serial 02, shop.example.test, valid until 2030-03-17T17:46:40Z \
             (was serial 01, shop.example.test, valid until 2027-01-15T08:00:00Z)"
                .to_string()
        ]
    );
    assert_eq!(b.retired_certificates, vec!["old".to_string()]);
    let text = crate::render::text(&p, false);
    assert!(text.contains("~ certificate web: serial 02"), "{text}");
}

#[test]
fn an_unhealthy_replica_is_replaced_under_another_name_unless_asked_not_to() {
    let d = with("  web:\n    image: nginx\n    deploy: { replicas: 2 }\n");
    let mut sick = replica(&d, "web", 1);
    sick.health = Some(Health::Unhealthy);
    let obs = observed(
        &d,
        &[
            ("a1", vec![replica(&d, "web", 0)]),
            ("b1", vec![sick.clone()]),
        ],
    );
    let p = plan(&d, &obs, None).unwrap();
    let replaced: Vec<&Change> = p.actions().collect();
    assert_eq!(replaced.len(), 1, "{:?}", summary(&p));
    let c = replaced[0];
    assert_eq!(
        (c.action, c.slot, c.host.as_str()),
        (Action::Replace, Some(1), "b1")
    );
    assert_eq!(c.container.as_ref().unwrap().id, sick.id);
    let new_name = &c.create.as_ref().unwrap().name;
    assert_ne!(
        new_name, &sick.name,
        "the new replica runs beside the old one first"
    );
    assert_eq!(new_name, &format!("{}-r", sick.name));
    assert!(c.reason.starts_with("unhealthy"), "{}", c.reason);

    // The replacement, unhealthy in turn, gets the plain name back.
    let mut again = sick.clone();
    again.name = new_name.clone();
    let obs = observed(
        &d,
        &[
            ("a1", vec![replica(&d, "web", 0)]),
            ("b1", vec![again.clone()]),
        ],
    );
    let p = plan(&d, &obs, None).unwrap();
    assert_eq!(
        p.actions().next().unwrap().create.as_ref().unwrap().name,
        sick.name
    );

    // Starting (not yet judged) replicas are kept, and so is everything with the option off.
    let mut starting = sick.clone();
    starting.health = Some(Health::Starting);
    let obs = observed(
        &d,
        &[("a1", vec![replica(&d, "web", 0)]), ("b1", vec![starting])],
    );
    assert!(plan(&d, &obs, None).unwrap().is_empty());
    let off = with(
        "  web:\n    image: nginx\n    deploy: { replicas: 2 }\n    x-fleet: { replace_unhealthy: false }\n",
    );
    assert_eq!(
        spec_hash(&off.services["web"]),
        spec_hash(&d.services["web"]),
        "not part of the spec"
    );
    let obs = observed(
        &off,
        &[("a1", vec![replica(&off, "web", 0)]), ("b1", vec![sick])],
    );
    assert!(plan(&off, &obs, None).unwrap().is_empty());
}

#[test]
fn mass_delete_is_more_than_half_of_the_running_replicas_removed() {
    let four = with("  web:\n    image: nginx\n    deploy: { replicas: 4 }\n");
    let running = observed(
        &four,
        &[
            ("a1", vec![replica(&four, "web", 0)]),
            ("a2", vec![replica(&four, "web", 1)]),
            ("b1", vec![replica(&four, "web", 2)]),
            ("b2", vec![replica(&four, "web", 3)]),
        ],
    );
    // The planner decides what to remove; the guard only counts: remove 2, then 3, of the 4.
    let kept = plan(&four, &running, None).unwrap();
    assert!(kept.is_empty(), "{:?}", summary(&kept));
    let removing = |n: usize| {
        let mut p = kept.clone();
        for change in p.changes.iter_mut().take(n) {
            change.action = Action::Remove;
        }
        super::mass_delete(&p, &running)
    };
    assert_eq!(removing(0), None);
    assert_eq!(removing(2), None, "half is not more than half");
    assert_eq!(
        removing(3),
        Some(MassDelete {
            removed: 3,
            running: 4
        })
    );
    let none = with("  api:\n    image: nginx\n");
    let everything = plan(&none, &running, None).unwrap();
    assert_eq!(
        super::mass_delete(&everything, &running),
        Some(MassDelete {
            removed: 4,
            running: 4
        })
    );
    let empty = observed(&four, &[]);
    assert_eq!(
        super::mass_delete(&plan(&none, &empty, None).unwrap(), &empty),
        None
    );
}
