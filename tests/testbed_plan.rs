//! `fleet plan` against real engines holding hand-made containers: managed, drifted, stopped,
//! imposters, another project's and unmanaged ones. Only fh1-fh3 are used, read-only except for
//! containers of a project name unique to this test.

mod common;

use common::{Testbed, fleet, project, unique_project};
use fleet::contract::{container_spec, spec_hash};
use fleet::spec::{Desired, MemoryFiles, load};

fn desired(yaml: &str) -> Desired {
    load(&MemoryFiles::new([("fleet.yaml", yaml)]))
        .desired
        .expect("valid test state")
}

/// `docker create` arguments that make a container look like fleet made it from `d`.
fn managed_labels(d: &Desired, service: &str, slot: u32) -> Vec<String> {
    let spec = &d.services[service];
    let pairs = [
        ("fleet.managed", "true".to_string()),
        ("fleet.project", d.project.clone()),
        ("fleet.service", service.to_string()),
        ("fleet.slot", slot.to_string()),
        ("fleet.spec-hash", spec_hash(spec)),
        ("fleet.spec", container_spec(spec).to_string()),
    ];
    pairs
        .iter()
        .flat_map(|(k, v)| ["--label".to_string(), format!("{k}={v}")])
        .collect()
}

#[test]
fn plan_shows_exactly_the_changes_hand_made_containers_call_for() {
    let testbed = Testbed::get();
    let name = unique_project("plan");
    let services = |image: &str| {
        format!(
            "services:\n  web:\n    image: {image}\n    deploy: {{ replicas: 4, placement: {{ max_replicas_per_node: 2 }} }}\n"
        )
    };
    let hosts = testbed.hosts_yaml(&[1, 2, 3]);
    let current = desired(&format!(
        "project: {name}\n{hosts}{}",
        services("fleet-demo:1")
    ));
    let previous = desired(&format!(
        "project: {name}\n{hosts}{}",
        services("fleet-demo:2")
    ));

    let mut made: Vec<(usize, String)> = Vec::new();
    let mut create = |host: usize, args: Vec<String>, start: bool| {
        let mut cli: Vec<String> = vec!["create".into()];
        cli.extend(args);
        cli.push("fleet-demo:1".into());
        let cli: Vec<&str> = cli.iter().map(String::as_str).collect();
        let id = testbed.docker(host, &cli);
        if start {
            testbed.docker(host, &["start", &id]);
        }
        made.push((host, id.clone()));
        id
    };
    // Up to date and running: kept.
    create(1, managed_labels(&current, "web", 0), true);
    // Up to date but stopped: started.
    create(2, managed_labels(&current, "web", 1), false);
    // Made from the previous commit (other image): replaced, with the image in the diff.
    create(3, managed_labels(&previous, "web", 2), true);
    // Hand-made imposter with the project's label: removed.
    let imposter = create(
        3,
        vec!["--label".into(), format!("fleet.project={name}")],
        false,
    );
    // Another project's replica and an unmanaged container: invisible.
    let mut other = managed_labels(&current, "web", 3);
    for arg in other.iter_mut() {
        *arg = arg.replace(
            &format!("fleet.project={name}"),
            "fleet.project=someone-else",
        );
    }
    let foreign = create(1, other, false);
    let unmanaged = create(2, vec!["--label".into(), "app=mine".into()], false);

    let dir = project(&format!(
        "project: {name}\n{hosts}{}",
        services("fleet-demo:1")
    ));
    let known = testbed.known_hosts().display().to_string();
    let out = fleet(
        dir.path(),
        &[
            "--worktree",
            "plan",
            "--known-hosts",
            &known,
            "--format",
            "json",
            "--detailed-exitcode",
        ],
    );
    let text = fleet(dir.path(), &["--worktree", "plan", "--known-hosts", &known]);
    for (host, id) in &made {
        testbed.docker(*host, &["rm", "-f", id]);
    }

    assert_eq!(out.code, 2, "changes present: {}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let actions: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["action"].as_str().unwrap(),
                c["host"].as_str().unwrap(),
                c["slot"]
            )
        })
        .collect();
    assert_eq!(actions.len(), 5, "{actions:#?}");
    assert!(actions.contains(&"keep fh1 0".to_string()), "{actions:#?}");
    assert!(actions.contains(&"start fh2 1".to_string()), "{actions:#?}");
    assert!(
        actions.contains(&"replace fh3 2".to_string()),
        "{actions:#?}"
    );
    assert!(
        actions.contains(&"remove fh3 null".to_string()),
        "{actions:#?}"
    );
    // Each host holds one replica; ties go to the host with the fewest replicas overall, then
    // the first name.
    assert!(
        actions.contains(&"create fh1 3".to_string()),
        "{actions:#?}"
    );
    let replace = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "replace")
        .unwrap();
    assert_eq!(replace["diff"][0]["field"], "image");
    assert_eq!(replace["diff"][0]["before"], "fleet-demo:2");
    let removed = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "remove")
        .unwrap();
    assert_eq!(removed["container"]["id"], imposter.as_str());
    assert!(
        !out.stdout.contains(&foreign) && !out.stdout.contains(&unmanaged),
        "foreign and unmanaged containers must be invisible"
    );

    assert_eq!(text.code, 0, "without --detailed-exitcode: {}", text.stderr);
    assert!(
        text.stdout
            .ends_with("Plan: 1 to create, 1 to replace, 1 to start, 1 to remove.\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn an_unreachable_host_is_reported_and_its_replicas_are_not_planned_away() {
    let testbed = Testbed::get();
    let name = unique_project("plan-lost");
    let hosts = testbed.hosts_yaml(&[1, 2]).replace(
        "address: ssh://root@10.250.2.2",
        "address: ssh://root@10.250.2.2:2999",
    );
    let yaml = format!(
        "project: {name}\n{hosts}services:\n  web:\n    image: fleet-demo:1\n    deploy: {{ replicas: 2 }}\n"
    );
    let dir = project(&yaml);
    let known = testbed.known_hosts().display().to_string();
    let out = fleet(
        dir.path(),
        &[
            "--worktree",
            "plan",
            "--known-hosts",
            &known,
            "--connect-timeout",
            "3",
        ],
    );
    assert_eq!(
        out.code, 1,
        "an unreachable host makes the run fail: {}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("warning: host `fh2` is unreachable (connection refused)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "warning: web: replica(s) 0, 1 not found on reachable hosts; they may run on fh2"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with(
            "No changes on the reachable hosts; 1 host(s) could not be checked against the working tree.\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("error: host `fh2`: connection refused by root@10.250.2.2:2999"),
        "{}",
        out.stderr
    );
}
