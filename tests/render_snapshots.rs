//! Snapshot tests of the plan renderings (text, JSON, Markdown) on a plan made from hand-built
//! values, with insta: the snapshots are `tests/snapshots/render_snapshots__*.snap`. A mismatch
//! fails the test and, outside CI, leaves the new rendering beside the snapshot as `.snap.new`
//! (`cargo insta review` shows and accepts it; `INSTA_UPDATE=always cargo test --test
//! render_snapshots` rewrites the snapshots in place); review the diff before committing it.

use fleet::contract;
use fleet::observe::{Container, Health, HostState, Observed, Owner, RunState};
use fleet::plan::{self, Plan};
use fleet::render;
use fleet::spec::{Desired, MemoryFiles, load};

fn desired(services: &str) -> Desired {
    let yaml = format!(
        "project: shop
hosts:
  a1: {{ address: ssh://a1, labels: {{ zone: a }} }}
  b1: {{ address: ssh://b1, labels: {{ zone: b }} }}
  c1: {{ address: ssh://c1, labels: {{ zone: c }} }}
services:
{services}"
    );
    load(&MemoryFiles::new([("fleet.yaml", yaml.as_str())]))
        .desired
        .expect("valid")
}

fn replica(d: &Desired, service: &str, slot: u32, state: RunState) -> Container {
    let spec = &d.services[service];
    let hash = contract::spec_hash(spec);
    Container {
        id: format!("{service}{slot}"),
        name: contract::container_name(&d.project, service, slot, &hash),
        owner: Owner::Replica {
            service: service.into(),
            slot,
            spec_hash: hash,
            commit: None,
            spec: Some(contract::container_spec(spec).to_string()),
        },
        state,
        health: Some(Health::Healthy),
        image_id: "sha256:1".into(),
        created: 1,
        ports: Vec::new(),
    }
}

/// A plan with every kind of change: replace (with a masked secret and a multi-line value),
/// start, create, remove, and an unreachable host holding a replica back.
fn sample() -> Plan {
    let old = desired(
        "  web:
    image: shop/web:1.4
    environment: { API_TOKEN: old-token, MODE: prod }
    command: [\"serve\"]
    deploy: { replicas: 2 }
  api:
    image: shop/api:2.0
    deploy: { replicas: 3 }
  legacy:
    image: shop/legacy:0.9
",
    );
    let new = desired(
        "  web:
    image: shop/web:1.5
    environment: { API_TOKEN: new-token, MODE: prod, GREETING: \"hello\\nworld\" }
    command: [\"serve\"]
    deploy: { replicas: 3 }
  api:
    image: shop/api:2.0
    deploy: { replicas: 2 }
",
    );
    let mut observed = Observed::default();
    observed.hosts.insert(
        "a1".into(),
        HostState::Reachable {
            containers: vec![
                replica(&old, "web", 0, RunState::Running),
                replica(&old, "api", 0, RunState::Exited),
            ],
        },
    );
    observed.hosts.insert(
        "b1".into(),
        HostState::Reachable {
            containers: vec![
                replica(&old, "web", 1, RunState::Running),
                replica(&old, "api", 2, RunState::Running),
                replica(&old, "legacy", 0, RunState::Running),
            ],
        },
    );
    observed.hosts.insert(
        "c1".into(),
        HostState::Unreachable {
            reason: "timeout".into(),
        },
    );
    plan::plan(
        &new,
        &observed,
        Some("1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"),
    )
    .expect("placeable")
}

/// Compares a rendering with its snapshot. insta compares up to trailing whitespace, so the end
/// of the rendering (one newline, as every rendering has) is checked here.
fn check(name: &str, rendered: String) {
    assert!(
        rendered
            .strip_suffix('\n')
            .is_some_and(|body| body == body.trim_end()),
        "{name} does not end with exactly one newline: {rendered:?}"
    );
    insta::assert_snapshot!(name, rendered);
}

#[test]
fn text_rendering() {
    check("plan_text", render::text(&sample(), false));
}

#[test]
fn json_rendering() {
    check("plan_json", render::json(&sample()));
}

#[test]
fn markdown_rendering() {
    check("plan_markdown", render::markdown(&sample()));
}

#[test]
fn secrets_never_appear_in_any_rendering() {
    let plan = sample();
    for rendered in [
        render::text(&plan, false),
        render::text(&plan, true),
        render::json(&plan),
        render::markdown(&plan),
    ] {
        assert!(
            !rendered.contains("new-token") && !rendered.contains("old-token"),
            "{rendered}"
        );
    }
}

#[test]
fn an_empty_plan_says_the_fleet_matches_the_commit() {
    let d = desired("  web:\n    image: shop/web:1.4\n");
    let mut observed = Observed::default();
    for host in ["a1", "b1", "c1"] {
        observed.hosts.insert(
            host.into(),
            HostState::Reachable {
                containers: Vec::new(),
            },
        );
    }
    observed.hosts.insert(
        "a1".into(),
        HostState::Reachable {
            containers: vec![replica(&d, "web", 0, RunState::Running)],
        },
    );
    let plan = plan::plan(&d, &observed, Some("1a2b3c4d5e6f")).unwrap();
    assert_eq!(
        render::text(&plan, false),
        "No changes. The fleet matches 1a2b3c4d5e6f.\n"
    );
}
