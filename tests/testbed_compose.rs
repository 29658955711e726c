//! An ordinary Compose app, as people already have it, deployed to three real hosts: values
//! from the `.env` beside the compose file, `container_name`, a relative data directory and
//! `depends_on` conditions. The worker's health check only passes once it has fetched from the
//! database and the web service by their container names, so a successful apply already says
//! the app is wired; the test then checks each part from outside.

mod common;

use common::{Cleanup, Output, Repo, Testbed, fleet_on, unique_project};

const ENV: &str = "# committed beside the compose file, as Compose reads it
APP=shop
WEB_TAG=2
";

const COMPOSE: &str = r#"services:
  db:
    image: fleet-demo:1
    container_name: ${APP}-db
    # Every start appends a line to the data directory: the count tells whether data survived.
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; echo boot >> /data/boots; httpd -f -p 8080 -h /www & wait"]
    volumes:
      - ./data:/data
    environment:
      EDITION: ${EDITION:-first}
    healthcheck:
      test: ["CMD", "test", "-s", "/data/boots"]
      interval: 1s
      retries: 5
  web:
    image: fleet-demo:${WEB_TAG}
    container_name: ${APP}-web
    depends_on:
      db: { condition: service_healthy, restart: true }
  worker:
    image: fleet-demo:1
    depends_on:
      db:
        condition: service_healthy
      web:
        condition: service_started
    environment:
      DB_URL: http://${APP}-db:8080/
      WEB_URL: http://${APP}-web:8080/
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do wget -qO /tmp/db $$DB_URL; wget -qO /tmp/web $$WEB_URL; sleep 1; done & wait"]
    healthcheck:
      test: ["CMD", "sh", "-c", "grep -q 'demo 1' /tmp/db && grep -q 'demo 2' /tmp/web"]
      interval: 1s
      retries: 10
  spread:
    image: fleet-demo:1
    deploy:
      replicas: 3
"#;

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(
        out.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

#[test]
fn a_compose_app_with_env_container_names_and_a_data_directory_runs_on_three_hosts() {
    let testbed = Testbed::get();
    let project = unique_project("compose");
    let hosts = [1, 2, 3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let data = tempfile::tempdir().unwrap();
    let mut hosts_yaml = testbed.hosts_yaml(&hosts);
    for i in hosts {
        hosts_yaml = hosts_yaml.replace(
            &format!("    labels: {{ zone: z{i} }}\n"),
            &format!(
                "    labels: {{ zone: z{i} }}\n    data_dir: {}/fh{i}\n",
                data.path().display()
            ),
        );
    }
    let repo = Repo::new();
    repo.write("app/.env", ENV);
    repo.write("app/compose.yaml", COMPOSE);
    repo.commit(&format!(
        "project: {project}\n{hosts_yaml}include: [app/compose.yaml]\n"
    ));

    let plan = fleet_on(&testbed, &repo, &["plan"]);
    assert_ok(&plan, "plan");
    assert!(
        plan.stdout.contains("data directory fh")
            && plan.stdout.contains("/app/data (mounted by db)"),
        "the plan lists the data directory:\n{}",
        plan.stdout
    );

    let out = fleet_on(&testbed, &repo, &["apply", "--yes"]);
    assert_ok(&out, "apply");
    let converged = fleet_on(&testbed, &repo, &["plan", "--detailed-exitcode"]);
    assert_ok(&converged, "plan after apply");

    // The app's single replicas sit together (they reach each other by name on one host); the
    // replicated service uses all three hosts.
    let db = testbed.running(&hosts, &project, Some("db"));
    let web = testbed.running(&hosts, &project, Some("web"));
    let worker = testbed.running(&hosts, &project, Some("worker"));
    assert_eq!(db.len(), 1, "{db:?}");
    let host = db[0].0;
    assert_eq!(
        web.iter().map(|w| w.0).collect::<Vec<_>>(),
        [host],
        "{web:?}"
    );
    assert_eq!(
        worker.iter().map(|w| w.0).collect::<Vec<_>>(),
        [host],
        "{worker:?}"
    );
    let spread = testbed.running(&hosts, &project, Some("spread"));
    let mut spread_hosts: Vec<usize> = spread.iter().map(|s| s.0).collect();
    spread_hosts.sort();
    assert_eq!(spread_hosts, hosts, "{spread:?}");

    // Reachable by container name (the alias) and by service name, values from `.env`.
    let fetch = |url: &str| testbed.docker(host, &["exec", &worker[0].1, "wget", "-qO-", url]);
    assert_eq!(fetch("http://shop-db:8080/").trim(), "demo 1");
    assert_eq!(fetch("http://shop-web:8080/").trim(), "demo 2");
    assert_eq!(fetch("http://db:8080/").trim(), "demo 1");

    // The data directory is on the db's host, under that host's data_dir, and outlives the
    // container: a changed db spec replaces it, and the new one sees the old boot.
    let boots = data.path().join(format!("fh{host}/app/data/boots"));
    let read = || std::fs::read_to_string(&boots).unwrap_or_default();
    assert_eq!(read().lines().count(), 1, "{}", boots.display());
    let compose = COMPOSE.replace("${EDITION:-first}", "second");
    repo.write("app/compose.yaml", &compose);
    repo.commit_all("db: second edition");
    let out = fleet_on(&testbed, &repo, &["apply", "--yes"]);
    assert_ok(&out, "apply of the changed db");
    assert!(out.stdout.contains("1 replaced"), "{}", out.stdout);
    assert_eq!(
        read().lines().count(),
        2,
        "the data survived the replacement"
    );
}

#[test]
fn a_fixed_address_on_an_ipam_network_is_held_by_one_replica_per_host_across_an_update() {
    let testbed = Testbed::get();
    let project = unique_project("ipam");
    let hosts = [4, 5];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let repo = Repo::new();
    let state = |image: &str| {
        format!(
            "project: {project}\n{}networks:\n  back:\n    ipam:\n      config: [{{ subnet: 172.30.0.0/24, gateway: 172.30.0.1 }}]\nservices:\n  db:\n    image: {image}\n    deploy: {{ replicas: 2, update_config: {{ order: start-first, monitor: 1s }} }}\n    networks:\n      back: {{ ipv4_address: 172.30.0.10 }}\n",
            testbed.hosts_yaml(&hosts)
        )
    };
    let address = |host: usize| {
        let names = testbed.running(&[host], &project, Some("db"));
        assert_eq!(names.len(), 1, "one replica on fh{host}: {names:?}");
        testbed.docker(
            host,
            &[
                "inspect",
                "--format",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &names[0].1,
            ],
        )
    };
    repo.commit(&state("fleet-demo:1"));
    assert_ok(&fleet_on(&testbed, &repo, &["apply", "--yes"]), "apply");
    for host in hosts {
        assert_eq!(address(host).trim(), "172.30.0.10");
    }
    // start-first cannot hold one address twice: the update stops the old replica first.
    repo.commit(&state("fleet-demo:2"));
    let out = fleet_on(&testbed, &repo, &["apply", "--yes"]);
    assert_ok(&out, "update");
    assert!(out.stdout.contains("2 replaced"), "{}", out.stdout);
    for host in hosts {
        assert_eq!(address(host).trim(), "172.30.0.10");
    }
}
