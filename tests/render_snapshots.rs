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
    check(
        "plan_markdown",
        render::markdown(&sample(), render::MARKDOWN_MAX_CHARS),
    );
}

#[test]
fn secrets_never_appear_in_any_rendering() {
    let plan = sample();
    for rendered in [
        render::text(&plan, false),
        render::text(&plan, true),
        render::json(&plan),
        render::markdown(&plan, render::MARKDOWN_MAX_CHARS),
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
    let mut observed = empty_hosts();
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

/// The hosts a1, b1 and c1, reachable and empty.
fn empty_hosts() -> Observed {
    let mut observed = Observed::default();
    for host in ["a1", "b1", "c1"] {
        observed.hosts.insert(
            host.into(),
            HostState::Reachable {
                containers: Vec::new(),
            },
        );
    }
    observed
}

/// A plan creating `replicas` replicas of `web` on three empty hosts.
fn big_plan(replicas: u32) -> Plan {
    let d = desired(&format!(
        "  web:\n    image: shop/web:1.4\n    deploy: {{ replicas: {replicas} }}\n"
    ));
    plan::plan(&d, &empty_hosts(), Some("1a2b3c4d5e6f")).expect("placeable")
}

#[test]
fn a_markdown_plan_beyond_the_limit_keeps_the_summary_cuts_whole_lines_and_says_so() {
    let plan = big_plan(300);
    let whole = render::markdown(&plan, usize::MAX);
    assert!(whole.chars().count() > 5_000, "the sample is too small");
    assert!(!whole.contains("left out"), "{whole}");
    let cut = render::markdown(&plan, 5_000);
    assert!(
        cut.chars().count() <= 5_000,
        "{} chars",
        cut.chars().count()
    );
    assert!(cut.starts_with("<!-- fleet-plan project=shop -->\n### fleet plan for `shop`"));
    assert!(cut.contains("**Plan: 300 to create, 0 to replace, 0 to remove.**"));
    assert!(cut.contains("| web | 300 | 0 | 0 | 0 |"), "{cut}");
    // The diff block is closed, every change line shown is whole, and the note counts the rest.
    assert_eq!(cut.matches("```").count(), 2, "{cut}");
    assert!(cut.contains("```\n\n</details>\n"), "{cut}");
    let shown = cut.lines().filter(|l| l.starts_with("+ web[")).count();
    assert!(shown > 10 && shown < 300, "{shown} change lines shown");
    for line in cut.lines().filter(|l| l.starts_with("+ web[")) {
        assert!(whole.contains(&format!("{line}\n")), "a cut line: {line}");
    }
    let total = whole.lines().filter(|l| l.starts_with("+ web[")).count() + 2;
    assert!(
        cut.ends_with(&format!(
            "\n> **Note:** {} of {total} lines were left out to fit 5000 characters; run `fleet plan` for the whole plan.\n",
            300 - shown
        )),
        "{cut}"
    );
}

#[test]
fn a_markdown_plan_within_the_limit_is_whole_and_a_tiny_limit_is_raised() {
    let plan = big_plan(300);
    let whole = render::markdown(&plan, usize::MAX);
    let limit = whole.chars().count();
    assert_eq!(render::markdown(&plan, limit), whole);
    assert_ne!(render::markdown(&plan, limit - 1), whole);
    let tiny = render::markdown(&plan, 10);
    assert!(
        tiny.chars().count() <= render::MARKDOWN_MIN_CHARS
            && tiny.contains(&format!("fit {} characters", render::MARKDOWN_MIN_CHARS)),
        "{tiny}"
    );
}
