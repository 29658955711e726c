//! Secrets and configs delivered to the hosts: written before the replicas that bind them,
//! with their owners and modes, a changed one rolling the service into a new directory, and a
//! host that lost them (a reboot empties /run) getting them back before a replica starts.

use super::harness::Fleet;
use crate::engine::Engine;
use crate::engine::memory::Behaviour;

const HOSTS: &str = "project: shop
hosts:
  a: {address: ssh://a}
  b: {address: ssh://b}
";

fn state() -> String {
    format!(
        "{HOSTS}secrets:
  pw: {{ file: pw.txt }}
configs:
  conf: {{ content: \"listen 80\" }}
services:
  web:
    image: web:1
    deploy: {{ replicas: 2, placement: {{ max_replicas_per_node: 1 }} }}
    secrets: [pw, {{ source: pw, target: /etc/app/pw, mode: 0400, uid: 70, gid: 71 }}]
    configs: [{{ source: conf, target: /etc/app.conf }}]
"
    )
}

fn new_fleet() -> Fleet {
    let fleet = Fleet::new(HOSTS);
    fleet.publish("web:1", Behaviour::Serves);
    fleet
}

/// What the replica on `host` reads at `path`.
async fn read(fleet: &Fleet, host: &str, path: &str) -> Option<String> {
    let replica = fleet
        .replicas("web")
        .into_iter()
        .find(|r| r.host == host)
        .expect("a replica on the host");
    fleet
        .host(host)
        .read_file(&replica.id, path, 1 << 16)
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn files_are_written_before_the_replicas_that_bind_them() {
    let fleet = new_fleet();
    fleet.commit_file("pw.txt", "hunter2-s3cret");
    let desired = fleet.deploy(&state()).await;
    for host in ["a", "b"] {
        assert_eq!(
            read(&fleet, host, "/run/secrets/pw").await.as_deref(),
            Some("hunter2-s3cret")
        );
        assert_eq!(
            read(&fleet, host, "/etc/app.conf").await.as_deref(),
            Some("listen 80")
        );
        let paths = fleet.host(host).host_file_paths();
        let secret_dir = crate::contract::files_dir(
            &desired,
            host,
            "web",
            &desired.services["web"],
            crate::contract::Shipped::Secrets,
        )
        .unwrap();
        assert!(
            secret_dir.starts_with("/run/fleet/shop/web/"),
            "{secret_dir}"
        );
        let second = fleet
            .host(host)
            .host_file(&format!("{secret_dir}/1-pw"))
            .unwrap_or_else(|| panic!("{paths:?}"));
        assert_eq!((second.mode, second.uid, second.gid), (0o400, 70, 71));
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("/var/lib/fleet/shop/.fleet/configs/web/")),
            "configs under the data directory: {paths:?}"
        );
    }
    // The plaintext is in no label of any container.
    for seen in fleet.snapshot().values().flatten() {
        for value in seen.labels.values() {
            assert!(
                !value.contains("hunter2"),
                "a label holds the secret: {value}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_changed_secret_rolls_the_service_into_a_new_directory() {
    let fleet = new_fleet();
    fleet.commit_file("pw.txt", "first");
    let before = fleet.deploy(&state()).await;
    fleet.commit_file("pw.txt", "second");
    let after = fleet.desired(&state());
    let plan = fleet.plan(&after).await;
    let replaced: Vec<&str> = plan
        .actions()
        .filter(|c| c.action == crate::plan::Action::Replace)
        .map(|c| c.reason.as_str())
        .collect();
    assert_eq!(replaced.len(), 2, "{replaced:?}");
    assert!(
        replaced.iter().all(|r| r.contains("secret pw")),
        "{replaced:?}"
    );
    let text = crate::render::text(&plan, false);
    assert!(text.contains("~ secret pw changed"), "{text}");
    assert!(
        !text.contains("second") && !text.contains("first"),
        "{text}"
    );
    let outcome = fleet.apply(&after).await;
    assert!(outcome.report.success, "{:#?}", outcome.report);
    assert_eq!(
        read(&fleet, "a", "/run/secrets/pw").await.as_deref(),
        Some("second")
    );
    let dir = |d: &crate::spec::Desired| {
        crate::contract::files_dir(
            d,
            "a",
            "web",
            &d.services["web"],
            crate::contract::Shipped::Secrets,
        )
    };
    assert_ne!(dir(&before), dir(&after));
    // The old value is blanked on the host once no replica uses it.
    let old = fleet
        .host("a")
        .host_file(&format!("{}/0-pw", dir(&before).unwrap()))
        .expect("the old file is still there, empty");
    assert!(
        old.content.is_empty(),
        "the old secret is still on the host"
    );
    let new = fleet
        .host("a")
        .host_file(&format!("{}/0-pw", dir(&after).unwrap()))
        .unwrap();
    assert_eq!(new.content, b"second");
    fleet.assert_converged(&after).await;
}

#[tokio::test(start_paused = true)]
async fn a_replica_whose_secrets_were_lost_gets_them_back_before_it_starts() {
    let fleet = new_fleet();
    fleet.commit_file("pw.txt", "hunter2");
    let desired = fleet.deploy(&state()).await;
    let replica = fleet
        .replicas("web")
        .into_iter()
        .find(|r| r.host == "a")
        .unwrap();
    // A reboot: the container is stopped and /run is empty. Starting it alone fails.
    fleet.host("a").stop(&replica.id, None).await.unwrap();
    fleet.host("a").wipe_files("/run/fleet/");
    assert!(fleet.host("a").start(&replica.id).await.is_err());
    let outcome = fleet.apply(&desired).await;
    assert!(outcome.report.success, "{:#?}", outcome.report);
    assert_eq!(
        read(&fleet, "a", "/run/secrets/pw").await.as_deref(),
        Some("hunter2")
    );
    fleet.assert_converged(&desired).await;
}

#[tokio::test(start_paused = true)]
async fn repository_files_and_directories_are_shipped_and_a_change_rolls_the_service() {
    let fleet = new_fleet();
    fleet.commit_file("conf/app.conf", "port = 80");
    fleet.commit_file("static/index.html", "<h1>hi</h1>");
    fleet.commit_file("static/css/site.css", "body {}");
    let yaml = format!(
        "{HOSTS}services:\n  web:\n    image: web:1\n    volumes: ['./conf/app.conf:/etc/app.conf:ro', './static:/srv/static']\n"
    );
    let first = fleet.deploy(&yaml).await;
    let host = &fleet.replicas("web")[0].host.clone();
    assert_eq!(
        read(&fleet, host, "/etc/app.conf").await.as_deref(),
        Some("port = 80")
    );
    assert_eq!(
        read(&fleet, host, "/srv/static/css/site.css")
            .await
            .as_deref(),
        Some("body {}")
    );
    fleet.commit_file("static/css/site.css", "body { margin: 0 }");
    let second = fleet.desired(&yaml);
    let plan = fleet.plan(&second).await;
    let reasons: Vec<&str> = plan.actions().map(|c| c.reason.as_str()).collect();
    assert_eq!(reasons, ["changed: repository static"], "{reasons:?}");
    let outcome = fleet.apply(&second).await;
    assert!(outcome.report.success, "{:#?}", outcome.report);
    assert_eq!(
        read(&fleet, host, "/srv/static/css/site.css")
            .await
            .as_deref(),
        Some("body { margin: 0 }")
    );
    assert_ne!(
        crate::contract::spec_hash(&first.services["web"]),
        crate::contract::spec_hash(&second.services["web"])
    );
}
