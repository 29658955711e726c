//! Benchmark: the planner alone on 10,000 containers over 100 hosts (target: under 50 ms).
//!
//! Run with `cargo bench --bench planner`. Two cases: a steady fleet (every replica in place,
//! so the plan is all "keep") and a rollout (every service's image changed, half the fleet
//! scaled), both planned from hand-built values with no I/O.

use std::time::{Duration, Instant};

use fleet::contract::{container_name, container_spec, spec_hash};
use fleet::observe::{Container, Health, HostState, Observed, Owner, RunState};
use fleet::plan;
use fleet::spec::{Desired, MemoryFiles, load};

fn desired(image_tag: &str, replicas: u32) -> Desired {
    let mut yaml = String::from("project: bench\nhosts:\n");
    for h in 0..100 {
        yaml.push_str(&format!(
            "  h{h:03}: {{ address: ssh://h{h}, labels: {{ zone: z{} }} }}\n",
            h % 4
        ));
    }
    yaml.push_str("services:\n");
    for s in 0..100 {
        yaml.push_str(&format!(
            "  s{s:03}:\n    image: registry.example.com/s{s}:{image_tag}\n    environment: {{ A: \"1\" }}\n    deploy: {{ replicas: {replicas}, placement: {{ preferences: [{{ spread: node.labels.zone }}], max_replicas_per_node: 2 }} }}\n"
        ));
    }
    load(&MemoryFiles::new([("fleet.yaml", yaml.as_str())]))
        .desired
        .expect("valid")
}

/// The fleet of `d`, fully deployed, as an observation.
fn deployed(d: &Desired) -> Observed {
    let first = plan::plan(
        d,
        &Observed {
            hosts: d
                .hosts
                .keys()
                .map(|h| (h.clone(), HostState::Reachable { containers: vec![] }))
                .collect(),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let mut observed = Observed::default();
    for host in d.hosts.keys() {
        observed.hosts.insert(
            host.clone(),
            HostState::Reachable {
                containers: Vec::new(),
            },
        );
    }
    for change in &first.changes {
        let (service, slot) = (change.service.clone().unwrap(), change.slot.unwrap());
        let spec = &d.services[&service];
        let hash = spec_hash(spec);
        if let Some(HostState::Reachable { containers }) = observed.hosts.get_mut(&change.host) {
            containers.push(Container {
                id: format!("{service}-{slot}"),
                name: container_name(&d.project, &service, slot, &hash),
                owner: Owner::Replica {
                    service,
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
            });
        }
    }
    observed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let steady = desired("1.0", 100);
    let observed = deployed(&steady);
    let containers: usize = observed
        .hosts
        .values()
        .map(|h| match h {
            HostState::Reachable { containers } => containers.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(containers, 10_000);
    let rollout = desired("1.1", 50);
    for (name, d) in [
        ("steady (all keep)", &steady),
        ("rollout (replace 5000, remove 5000)", &rollout),
    ] {
        let samples: Vec<Duration> = (0..15)
            .map(|_| {
                let start = Instant::now();
                let plan = plan::plan(d, &observed, None).unwrap();
                std::hint::black_box(&plan);
                start.elapsed()
            })
            .collect();
        println!(
            "planner, 10,000 containers over 100 hosts, {name}: median {:>8.1?} (target < 50ms)",
            median(samples)
        );
    }
}
