//! Images shipped from the machine running fleet (no registry), on simulated hosts: where they
//! go, that they are never pulled, a host cut during the stream, a missing or changed source.

use std::sync::Arc;

use super::harness::{Fleet, desired, options};
use crate::apply::ship::{SourceError, Sources, survey};
use crate::apply::{Options, PullPolicy, ServiceStatus, StepKind};
use crate::engine::SharedEngine;
use crate::engine::memory::{MemoryEngine, Registry};
use crate::plan::Plan;

const HOSTS: &str = "project: shop
hosts:
  a: {address: ssh://a}
  b: {address: ssh://b}
  c: {address: ssh://c}
";

const ID: &str = "sha256:1111";

fn yaml() -> String {
    format!(
        "{HOSTS}services:
  web:
    image: app:1.4
    x-fleet: {{image_source: local}}
    deploy:
      replicas: 3
"
    )
}

/// The machine running fleet, with `app:1.4` built on it (never published to the registry:
/// a pull of it fails).
fn local() -> Arc<MemoryEngine> {
    let local = MemoryEngine::new("local", Registry::new());
    local.build_image("app:1.4", ID, 3_000_000);
    local
}

fn sources(local: &Arc<MemoryEngine>) -> Arc<Sources> {
    Arc::new(Sources {
        local: Ok(Arc::clone(local) as SharedEngine),
        root: std::path::PathBuf::from("/nonexistent"),
        written: Vec::new(),
    })
}

fn with_images(sources: &Arc<Sources>) -> Options {
    Options {
        images: Some(Arc::clone(sources)),
        // Even `--pull always` never pulls a shipped image.
        pull: PullPolicy::Always,
        ..options()
    }
}

async fn planned(fleet: &Fleet, sources: &Sources, all: bool) -> Result<Plan, Vec<SourceError>> {
    let desired = desired(&yaml());
    let mut plan = fleet.plan(&desired).await;
    plan.ships = survey(&desired, &plan, &fleet.engines(), sources, all).await?;
    Ok(plan)
}

#[tokio::test(start_paused = true)]
async fn an_image_is_shipped_to_the_hosts_that_lack_it_verified_and_never_pulled() {
    let fleet = Fleet::new(HOSTS);
    fleet.host("a").build_image("app:1.4", ID, 3_000_000);
    let local = local();
    let sources = sources(&local);
    let plan = planned(&fleet, &sources, false)
        .await
        .expect("sources found");
    assert_eq!(plan.ships.len(), 1);
    assert_eq!(plan.ships[0].hosts, ["b", "c"]);
    assert_eq!(plan.ships[0].present, ["a"], "a has the very same image");
    assert_eq!(plan.ships[0].source.size, 3_000_000);
    let text = crate::render::text(&plan, false);
    assert!(
        text.contains("ship image app:1.4 (3.0 MB) to b, c"),
        "{text}"
    );
    assert!(text.contains("1 image(s) to ship"), "{text}");
    let markdown = crate::render::markdown(&plan, crate::render::MARKDOWN_MAX_CHARS);
    assert!(
        markdown.contains("ship image app:1.4 (3.0 MB) to b, c\n"),
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&crate::render::json(&plan)).unwrap();
    assert_eq!(
        json["ships"][0],
        serde_json::json!({
            "image": "app:1.4", "from": {"kind": "local"}, "id": ID, "size": 3_000_000,
            "hosts": ["b", "c"], "present": ["a"],
        })
    );

    let d = desired(&yaml());
    let hold = fleet.lock().await;
    let outcome = fleet
        .apply_plan(&d, plan, &with_images(&sources), &hold)
        .await;
    assert!(outcome.report.success, "{:#?}", outcome.report);
    let mut shipped: Vec<&str> = outcome
        .steps(StepKind::Ship)
        .iter()
        .map(|s| s.host.as_str())
        .collect();
    shipped.sort_unstable();
    assert_eq!(shipped, ["b", "c"]);
    assert_eq!(
        local.calls().get("save_image"),
        Some(&2),
        "one read per host"
    );
    for host in ["a", "b", "c"] {
        assert!(fleet.host(host).pulls().is_empty(), "{host} pulled");
        assert_eq!(
            fleet.host(host).image_facts("app:1.4").map(|f| f.id),
            Some(ID.to_string())
        );
    }
    assert_eq!(fleet.replicas("web").len(), 3);
    fleet.assert_bystanders_untouched();
}

#[tokio::test(start_paused = true)]
async fn a_host_cut_during_the_stream_fails_alone() {
    let fleet = Fleet::new(HOSTS);
    fleet.host("c").cut_loads_after(1_000_000);
    let local = local();
    let sources = sources(&local);
    let plan = planned(&fleet, &sources, false)
        .await
        .expect("sources found");
    assert_eq!(plan.ships[0].hosts, ["a", "b", "c"]);
    let d = desired(&yaml());
    let hold = fleet.lock().await;
    let outcome = fleet
        .apply_plan(&d, plan, &with_images(&sources), &hold)
        .await;
    assert!(!outcome.report.success);
    let failure = outcome.host_failure("c").expect("c failed");
    assert!(failure.contains("image load"), "{failure}");
    assert_eq!(outcome.host_failure("a"), None);
    assert_eq!(outcome.host_failure("b"), None);
    let mut ok: Vec<&str> = outcome
        .steps(StepKind::Ship)
        .iter()
        .filter(|s| s.ok)
        .map(|s| s.host.as_str())
        .collect();
    ok.sort_unstable();
    assert_eq!(ok, ["a", "b"]);
    let on: Vec<String> = fleet.replicas("web").into_iter().map(|r| r.host).collect();
    assert!(!on.is_empty() && !on.iter().any(|h| h == "c"), "{on:?}");
    assert_ne!(outcome.status("web"), ServiceStatus::Skipped);
}

#[tokio::test(start_paused = true)]
async fn a_missing_local_image_is_an_error_before_anything_changes() {
    let fleet = Fleet::new(HOSTS);
    let empty = MemoryEngine::new("local", Registry::new());
    let errors = planned(&fleet, &sources(&empty), false).await.unwrap_err();
    assert!(
        matches!(&errors[..], [SourceError::NotLocal { image }] if image == "app:1.4"),
        "{errors:?}"
    );
    // `--ship-images` asks the same of every service's image.
    let local = local();
    assert!(planned(&fleet, &sources(&local), true).await.is_ok());
    assert!(
        fleet.changes().values().all(|n| *n == 0),
        "{:?}",
        fleet.changes()
    );
}

#[tokio::test(start_paused = true)]
async fn a_local_image_rebuilt_after_the_plan_aborts_the_run_with_nothing_changed() {
    let fleet = Fleet::new(HOSTS);
    let local = local();
    let sources = sources(&local);
    let plan = planned(&fleet, &sources, false)
        .await
        .expect("sources found");
    local.build_image("app:1.4", "sha256:2222", 3_000_000);
    let d = desired(&yaml());
    let hold = fleet.lock().await;
    let before = fleet.changes();
    let outcome = fleet
        .apply_plan(&d, plan, &with_images(&sources), &hold)
        .await;
    let aborted = outcome.report.aborted.clone().unwrap_or_default();
    assert!(aborted.contains("changed on this machine"), "{aborted}");
    assert_eq!(fleet.changes(), before);
    assert!(fleet.replicas("web").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_plan_that_creates_nothing_needs_no_local_image() {
    let fleet = Fleet::new(HOSTS);
    for host in ["a", "b", "c"] {
        fleet.host(host).build_image("app:1.4", ID, 3_000_000);
    }
    fleet.deploy(&yaml()).await;
    let empty = MemoryEngine::new("local", Registry::new());
    let plan = planned(&fleet, &sources(&empty), true)
        .await
        .expect("no source needed");
    assert!(plan.ships.is_empty() && plan.is_empty(), "{plan:#?}");
}
