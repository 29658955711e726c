//! Load balancing on the testbed: HAProxy balancers deployed by fleet on the ingress hosts,
//! client traffic through them during rolling updates, scaling and a cut host link, the spread
//! of requests over replicas, and service discovery. Traffic goes only to testbed addresses,
//! bounded in count and time. Every test has its own project and balancer port.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::traffic::{self, Outcome, Traffic};
use common::{Cleanup, Output, Repo, Testbed, fleet_on, unique_project};

/// The balancer image the testbed builds (Debian's HAProxy 2.6 in a scratch image).
const BALANCER_IMAGE: &str = "fleet-haproxy:2.6";

fn apply(testbed: &Testbed, repo: &Repo) -> Output {
    let out = fleet_on(testbed, repo, &["apply", "--yes"]);
    assert_eq!(
        out.code, 0,
        "apply failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    out
}

/// A project whose `web` service (fleet-demo, answering `/` with "demo N" and `/id` with the
/// replica's hostname) is exposed on `host_port` through balancers on every host.
fn state(
    testbed: &Testbed,
    project: &str,
    hosts: &[usize],
    version: u32,
    replicas: u32,
    host_port: u16,
    update: &str,
) -> String {
    format!(
        "project: {project}\n{hosts}balancer: {{ image: {BALANCER_IMAGE} }}\nservices:\n  web:\n    \
         image: fleet-demo:{version}\n    \
         command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM INT; hostname > /www/id; httpd -f -p 8080 -h /www & wait\"]\n    \
         healthcheck: {{ test: [CMD, wget, -qO-, 'http://127.0.0.1:8080/'], interval: 1s, retries: 2 }}\n    \
         deploy:\n      replicas: {replicas}\n      \
         placement: {{ preferences: [{{ spread: node.labels.zone }}] }}\n      \
         update_config: {{ parallelism: 1, monitor: 5s{update} }}\n    \
         x-fleet:\n      expose: {{ port: 8080, host_port: {host_port}, drain: 1s, health_path: / }}\n",
        hosts = testbed.hosts_yaml(hosts),
    )
}

fn balancer_at(testbed: &Testbed, host: usize, port: u16) -> SocketAddr {
    format!("{}:{port}", testbed.address(host)).parse().unwrap()
}

/// Traffic through every given balancer, `per_second` requests in all.
fn traffic_through(
    testbed: &Testbed,
    hosts: &[usize],
    port: u16,
    path: &str,
    per_second: u32,
) -> Vec<Traffic> {
    hosts
        .iter()
        .map(|&h| {
            Traffic::start(
                balancer_at(testbed, h, port),
                path,
                per_second / hosts.len() as u32,
                Duration::from_secs(180),
            )
        })
        .collect()
}

fn finish(traffic: Vec<Traffic>) -> Vec<Outcome> {
    traffic.into_iter().flat_map(Traffic::finish).collect()
}

/// Waits until a balancer answers (it runs once apply returns; this only absorbs the first
/// health checks of the replicas).
fn wait_serving(testbed: &Testbed, host: usize, port: u16) {
    let target = balancer_at(testbed, host, port);
    let deadline = Instant::now() + Duration::from_secs(20);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    while Instant::now() < deadline {
        if rt.block_on(traffic::get(target, "/")).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the balancer on fh{host} does not answer on port {port}");
}

/// The running containers of a service of the project on one host (short ids, which are also
/// their hostnames).
fn replicas_on(testbed: &Testbed, host: usize, project: &str, service: &str) -> Vec<String> {
    testbed
        .docker(
            host,
            &[
                "ps",
                "-q",
                "--filter",
                &format!("label=fleet.project={project}"),
                "--filter",
                &format!("label=fleet.service={service}"),
            ],
        )
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// The hostname → testbed host map of the project's `web` replicas.
fn replica_hosts(testbed: &Testbed, hosts: &[usize], project: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for &h in hosts {
        for id in replicas_on(testbed, h, project, "web") {
            out.insert(id, h);
        }
    }
    out
}

#[test]
fn a_rolling_update_under_load_fails_no_request() {
    let testbed = Testbed::get();
    let hosts = [1, 2, 3];
    let project = unique_project("lbroll");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let port = 18101;
    let repo = Repo::new();
    repo.commit(&state(&testbed, &project, &hosts, 1, 4, port, ""));
    apply(&testbed, &repo);
    wait_serving(&testbed, 1, port);

    // 50 requests/s spread over the three balancers while 4 replicas on 3 hosts are replaced
    // one at a time (stop-first, Swarm's default order).
    let load = traffic_through(&testbed, &hosts, port, "/", 51);
    std::thread::sleep(Duration::from_secs(2));
    repo.commit(&state(&testbed, &project, &hosts, 2, 4, port, ""));
    let out = apply(&testbed, &repo);
    assert!(out.stdout.contains("4 replaced"), "{}", out.stdout);
    std::thread::sleep(Duration::from_secs(2));
    let outcomes = finish(load);

    let failed = traffic::failures(&outcomes);
    assert!(
        outcomes.len() >= 300,
        "only {} requests were sent",
        outcomes.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} requests failed during the rollout:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );
    let bodies = |range: &[Outcome]| -> Vec<String> {
        range.iter().filter_map(|o| o.result.clone().ok()).collect()
    };
    assert!(bodies(&outcomes[..20]).iter().all(|b| b == "demo 1"));
    let tail = &outcomes[outcomes.len() - 20..];
    assert!(
        bodies(tail).iter().all(|b| b == "demo 2"),
        "after the rollout: {:?}",
        bodies(tail)
    );
}

#[test]
fn scaling_up_and_down_under_load_fails_no_request() {
    let testbed = Testbed::get();
    let hosts = [1, 2, 3];
    let project = unique_project("lbscale");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let port = 18102;
    let repo = Repo::new();
    repo.commit(&state(&testbed, &project, &hosts, 1, 2, port, ""));
    apply(&testbed, &repo);
    wait_serving(&testbed, 2, port);

    let load = traffic_through(&testbed, &hosts, port, "/id", 51);
    std::thread::sleep(Duration::from_secs(1));
    repo.commit(&state(&testbed, &project, &hosts, 1, 6, port, ""));
    apply(&testbed, &repo);
    std::thread::sleep(Duration::from_secs(3));
    let six = replica_hosts(&testbed, &hosts, &project);
    assert_eq!(six.len(), 6);
    repo.commit(&state(&testbed, &project, &hosts, 1, 1, port, ""));
    // 6 -> 1 removes more than half of the replicas: fleet apply asks for it to be said.
    let out = fleet_on(&testbed, &repo, &["apply", "--yes", "--allow-mass-delete"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    std::thread::sleep(Duration::from_secs(2));
    let outcomes = finish(load);

    let failed = traffic::failures(&outcomes);
    assert!(
        failed.is_empty(),
        "{} of {} requests failed while scaling 2 -> 6 -> 1:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );
    // Every one of the six replicas took traffic while it was there, and at the end only the
    // one left does.
    let answered: std::collections::BTreeSet<String> = outcomes
        .iter()
        .filter_map(|o| o.result.clone().ok())
        .collect();
    for id in six.keys() {
        assert!(
            answered.iter().any(|a| id.starts_with(a.as_str())),
            "replica {id} never answered"
        );
    }
    let left = replica_hosts(&testbed, &hosts, &project);
    assert_eq!(left.len(), 1);
    let last: Vec<&String> = outcomes[outcomes.len() - 20..]
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .collect();
    let survivor = left.keys().next().unwrap();
    assert!(
        last.iter().all(|a| survivor.starts_with(a.as_str())),
        "after scaling down to one: {last:?}"
    );
}

#[test]
fn requests_are_spread_evenly_over_every_replica_on_every_host() {
    let testbed = Testbed::get();
    let hosts = [1, 2, 3];
    let project = unique_project("lbspread");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let port = 18103;
    let repo = Repo::new();
    repo.commit(&state(&testbed, &project, &hosts, 1, 4, port, ""));
    apply(&testbed, &repo);
    wait_serving(&testbed, 3, port);
    let replicas = replica_hosts(&testbed, &hosts, &project);
    assert_eq!(replicas.len(), 4);

    // Through each balancer in turn: every balancer reaches every replica on every host.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for &via in &hosts {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..200 {
            let body = rt
                .block_on(traffic::get(balancer_at(&testbed, via, port), "/id"))
                .unwrap_or_else(|e| panic!("through fh{via}: {e}"));
            let id = replicas
                .keys()
                .find(|id| id.starts_with(body.as_str()))
                .unwrap_or_else(|| panic!("answer {body:?} from no replica of the project"));
            *counts.entry(id.clone()).or_default() += 1;
        }
        assert_eq!(counts.len(), 4, "through fh{via}: {counts:?}");
        // A fair share is 50 of 200 each; round robin gives exactly that unless a check
        // intervened.
        for (id, n) in &counts {
            assert!(
                (40..=60).contains(n),
                "through fh{via}: replica {id} on fh{} got {n} of 200: {counts:?}",
                replicas[id]
            );
        }
    }
}

#[test]
fn a_link_cut_host_stops_receiving_traffic_within_the_health_check_window() {
    let testbed = Testbed::get();
    let hosts = [4, 5, 6];
    let project = unique_project("lbcut");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let port = 18104;
    let repo = Repo::new();
    repo.commit(&state(&testbed, &project, &hosts, 1, 3, port, ""));
    apply(&testbed, &repo);
    wait_serving(&testbed, 4, port);
    let replicas = replica_hosts(&testbed, &hosts, &project);
    assert_eq!(replicas.values().filter(|h| **h == 6).count(), 1);

    let load = Traffic::start(
        balancer_at(&testbed, 4, port),
        "/id",
        50,
        Duration::from_secs(60),
    );
    std::thread::sleep(Duration::from_secs(2));
    let cut = load.started.elapsed();
    let restore = testbed.inject("link-down", "link-up", 6);
    std::thread::sleep(Duration::from_secs(8));
    drop(restore);
    let outcomes = load.finish();

    // The balancer checks every second and takes a server out after 2 failures; a request
    // sent to the cut host in that window waits for the 1 s connect timeout and is then sent to
    // another replica. So: failures only inside the window, none after it.
    let window = Duration::from_secs(4);
    let late: Vec<String> = outcomes
        .iter()
        .filter(|o| o.sent > cut + window && o.result.is_err())
        .map(|o| format!("at {:.2}s: {:?}", o.sent.as_secs_f64(), o.result))
        .collect();
    assert!(
        late.is_empty(),
        "failures after the health-check window:\n{}",
        late.join("\n")
    );
    let on_cut_host: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.sent > cut + window && o.sent < cut + Duration::from_secs(8))
        .filter(|o| {
            o.result.as_ref().is_ok_and(|body| {
                replicas
                    .iter()
                    .any(|(id, h)| *h == 6 && id.starts_with(body.as_str()))
            })
        })
        .collect();
    assert!(
        on_cut_host.is_empty(),
        "{} answers from the cut host",
        on_cut_host.len()
    );
    let during: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.sent > cut + window && o.sent < cut + Duration::from_secs(8))
        .collect();
    assert!(
        during.len() > 100,
        "only {} requests after the window",
        during.len()
    );
    let failed = traffic::failures(&outcomes);
    eprintln!(
        "{} of {} requests failed around the cut: {failed:?}",
        failed.len(),
        outcomes.len()
    );
}

#[test]
fn services_find_each_other_by_name_on_a_host_and_through_the_balancers_across_hosts() {
    let testbed = Testbed::get();
    let hosts = [1, 2];
    let project = unique_project("lbname");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let port = 18105;
    let repo = Repo::new();
    let yaml = format!(
        "{}  client:\n    image: fleet-demo:1\n    deploy: {{ mode: global }}\n",
        state(&testbed, &project, &hosts, 1, 2, port, "")
    );
    repo.commit(&yaml);
    apply(&testbed, &repo);
    wait_serving(&testbed, 1, port);

    // On one host: the project network resolves the service name to the replicas there.
    let web_on_2 = replicas_on(&testbed, 2, &project, "web");
    assert_eq!(web_on_2.len(), 1);
    let client = replicas_on(&testbed, 2, &project, "client").remove(0);
    let lookup = testbed.docker(2, &["exec", &client, "nslookup", "web"]);
    let web_ip = testbed.docker(
        2,
        &[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &web_on_2[0],
        ],
    );
    assert!(
        lookup.contains(web_ip.trim()),
        "nslookup web on fh2 gave:\n{lookup}\nexpected {}",
        web_ip.trim()
    );
    // Across hosts: any ingress host's balancer, from inside a container elsewhere.
    let url = format!("http://{}:{port}/", testbed.address(1));
    let body = testbed.docker(2, &["exec", &client, "wget", "-qO-", &url]);
    assert_eq!(body.trim(), "demo 1");
}

#[test]
fn a_secret_rotation_under_load_fails_no_request() {
    let testbed = Testbed::get();
    let hosts = [1, 2, 3];
    let project = unique_project("lbsecret");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let port = 18109;
    let repo = Repo::new();
    // The replicas serve what they read at /run/secrets/token (a test app: real ones do not
    // serve their secrets), so the traffic shows when the new value took over.
    let state = state(&testbed, &project, &hosts, 1, 4, port, "").replace(
        "hostname > /www/id;",
        "hostname > /www/id; cp /run/secrets/token /www/token;",
    ) + "    secrets: [token]\nsecrets:\n  token: { file: token.txt }\n";
    repo.write("token.txt", "first-value");
    repo.commit(&state);
    apply(&testbed, &repo);
    wait_serving(&testbed, 1, port);

    let load = traffic_through(&testbed, &hosts, port, "/token", 51);
    std::thread::sleep(Duration::from_secs(2));
    repo.write("token.txt", "second-value");
    repo.commit_all("rotate the token");
    let out = apply(&testbed, &repo);
    assert!(out.stdout.contains("4 replaced"), "{}", out.stdout);
    assert!(out.stdout.contains("secret token"), "{}", out.stdout);
    std::thread::sleep(Duration::from_secs(2));
    let outcomes = finish(load);

    let failed = traffic::failures(&outcomes);
    assert!(outcomes.len() >= 300, "only {} requests", outcomes.len());
    assert!(
        failed.is_empty(),
        "{} of {} requests failed during the rotation:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );
    let bodies = |range: &[Outcome]| -> Vec<String> {
        range.iter().filter_map(|o| o.result.clone().ok()).collect()
    };
    assert!(
        bodies(&outcomes[..20])
            .iter()
            .all(|b| b.trim() == "first-value")
    );
    let tail = &outcomes[outcomes.len() - 20..];
    assert!(
        bodies(tail).iter().all(|b| b.trim() == "second-value"),
        "after the rotation: {:?}",
        bodies(tail)
    );
}
