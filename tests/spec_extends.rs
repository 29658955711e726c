//! Compose `extends`, from the same file and from another one: merged as Compose merges,
//! relative paths kept pointing where the base meant, and problems reported where they are.

use fleet::spec::model::Mount;
use fleet::spec::{Desired, MemoryFiles, load};

fn ok(files: &[(&str, &str)]) -> Desired {
    let loaded = load(&MemoryFiles::new(files.iter().copied()));
    let problems: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        loaded.diagnostics.iter().all(|d| !d.is_error()),
        "{problems:#?}"
    );
    loaded.desired.expect("a desired state")
}

fn problems(files: &[(&str, &str)]) -> Vec<String> {
    let loaded = load(&MemoryFiles::new(files.iter().copied()));
    assert!(loaded.desired.is_none(), "expected errors");
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_service_extends_one_of_the_same_file_merged_as_compose_merges() {
    let d = ok(&[(
        "fleet.yaml",
        "project: shop
services:
  base:
    image: app:1
    command: [serve, --all]
    environment: [A=1, B=2]
    labels: { team: core }
    ports: ['80']
    volumes: ['data:/data', 'logs:/logs']
    healthcheck: { test: [CMD, ok], interval: 5s }
    deploy: { replicas: 2, resources: { limits: { memory: 64m } } }
  web:
    extends: base
    command: [serve, --web]
    environment: { B: 3, C: 4 }
    ports: ['90']
    volumes: ['other:/logs']
    healthcheck: { interval: 1s }
    deploy: { resources: { limits: { cpus: '0.5' } } }
  worker:
    extends: { service: web }
    image: app:2
volumes: { data: {}, logs: {}, other: {} }
",
    )]);
    let web = &d.services["web"];
    assert_eq!(web.image, "app:1");
    assert_eq!(
        web.command.as_deref(),
        Some(&["serve".to_string(), "--web".to_string()][..])
    );
    let env: Vec<(&str, &str)> = web
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("A", "1"), ("B", "3"), ("C", "4")]);
    assert_eq!(web.labels["team"], "core");
    let ports: Vec<u16> = web.ports.iter().map(|p| p.target).collect();
    assert_eq!(ports, [80, 90], "lists are appended");
    let mounts: Vec<(Option<&str>, &str)> = web
        .volumes
        .iter()
        .map(|m| match m {
            Mount::Volume { source, target, .. } => (source.as_deref(), target.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        mounts,
        [(Some("data"), "/data"), (Some("other"), "/logs")],
        "a local mount replaces the base's at the same target"
    );
    let health = web.healthcheck.as_ref().unwrap();
    assert_eq!(health.interval.unwrap().as_secs(), 1);
    assert_eq!(health.test, ["CMD", "ok"], "the base's test is kept");
    assert_eq!(web.deploy.replicas, 2);
    assert_eq!(web.deploy.resources.memory, Some(64 * 1024 * 1024));
    assert!(web.deploy.resources.cpus.is_some());
    // A chain: worker extends web, which extends base.
    let worker = &d.services["worker"];
    assert_eq!(worker.image, "app:2");
    assert_eq!(worker.environment["C"], "4");
}

#[test]
fn a_service_extends_one_of_another_file_with_its_paths_and_env() {
    let d = ok(&[
        ("fleet.yaml", "project: shop\ninclude: [app/compose.yaml]\n"),
        (
            "app/compose.yaml",
            "services:\n  web:\n    extends: { file: ../common/base.yaml, service: base }\n    environment: { LOCAL: x }\n",
        ),
        (
            "common/base.yaml",
            "services:\n  base:\n    image: app:${TAG}\n    env_file: base.env\n    volumes: ['./conf:/conf:ro']\n",
        ),
        ("common/.env", "TAG=7\n"),
        ("common/base.env", "FROM_FILE=1\n"),
        ("common/conf/app.ini", "x=1\n"),
    ]);
    let web = &d.services["web"];
    assert_eq!(web.image, "app:7", "the base file's .env interpolates it");
    assert_eq!(web.environment["FROM_FILE"], "1");
    assert_eq!(web.environment["LOCAL"], "x");
    assert!(
        matches!(&web.volumes[0], Mount::RepoBind { source, .. } if source == "common/conf"),
        "{:?}",
        web.volumes
    );
}

#[test]
fn a_problem_in_a_base_of_another_file_is_reported_in_that_file() {
    let got = problems(&[
        (
            "fleet.yaml",
            "project: shop\nservices:\n  web:\n    extends: { file: base.yaml, service: base }\n",
        ),
        (
            "base.yaml",
            "services:\n  base:\n    image: app\n    restart: sometimes\n",
        ),
    ]);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with("base.yaml:4:14: error: services.web.restart"),
        "{got:#?}"
    );
}

#[test]
fn cycles_and_missing_bases_are_errors_at_the_extends() {
    let got = problems(&[(
        "fleet.yaml",
        "project: shop\nservices:\n  a:\n    extends: b\n    image: x\n  b:\n    extends: a\n    image: x\n  c:\n    extends: nope\n    image: x\n",
    )]);
    assert!(got.iter().any(|p| p.contains("cycle")), "{got:#?}");
    assert!(
        got.iter()
            .any(|p| p.contains("fleet.yaml:10:14") && p.contains("service `nope` is not defined")),
        "{got:#?}"
    );
    let got = problems(&[(
        "fleet.yaml",
        "project: shop\nservices:\n  a:\n    extends: { file: gone.yaml, service: x }\n",
    )]);
    assert!(got[0].contains("`gone.yaml` does not exist"), "{got:#?}");
}
