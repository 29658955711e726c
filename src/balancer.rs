//! Load balancing: which replicas the balancers route to, and the HAProxy configuration that
//! says so, as pure functions of plain data.
//!
//! Every ingress host runs one balancer container per project (HAProxy, host network): one
//! frontend per exposed service on its `host_port`, with every replica in rotation on every host
//! as a server (host address : the port the engine published the replica's port on). The set of
//! replicas in rotation is the [`Rotation`]; the configuration is rendered from it
//! deterministically, and carries it in its first line so that a later observation can tell
//! what a balancer routes to without parsing HAProxy syntax.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::observe::{Health, HostState, Observed, Owner, RunState};
use crate::spec::Desired;
use crate::spec::model::{Address, ExposeProtocol};

/// First line of every configuration fleet writes, followed by the rotation as JSON.
const HEADER: &str = "# fleet-rotation: ";

/// One replica a balancer routes to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub container: String,
    pub id: String,
    /// The address balancers reach the host at.
    pub address: String,
    pub port: u16,
}

impl Endpoint {
    pub fn upstream(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

/// The replicas in rotation, per exposed service.
pub type Rotation = BTreeMap<String, BTreeSet<Endpoint>>;

/// The address the balancers on other hosts reach a host's published ports at: the host part of
/// its SSH address, or loopback for the local engine.
pub fn host_address(desired: &Desired, host: &str) -> Option<String> {
    match &desired.hosts.get(host)?.address {
        Address::Ssh { host, .. } => Some(host.trim_matches(['[', ']']).to_string()),
        Address::Local | Address::Unix { .. } => Some("127.0.0.1".to_string()),
    }
}

/// A replica takes traffic when it runs and its health check (if any) passed.
pub fn serves(state: RunState, health: Option<Health>) -> bool {
    state == RunState::Running && matches!(health, None | Some(Health::Healthy))
}

/// What the balancers should route to, given what was observed: every serving replica of an
/// exposed service on a reachable host; for a host that cannot be observed right now (but is
/// not declared down), whatever the balancers routed to there before (their own health checks
/// take dead ones out).
pub fn rotation(desired: &Desired, observed: &Observed) -> Rotation {
    let mut out: Rotation = desired
        .exposed()
        .map(|(name, _)| (name.to_string(), BTreeSet::new()))
        .collect();
    // What the balancers route to now, for hosts that cannot be observed.
    let routed: Vec<Rotation> = observed
        .balancers
        .values()
        .flatten()
        .filter_map(|b| read_rotation(b.config.as_deref()?))
        .collect();
    for (host, state) in &observed.hosts {
        match state {
            HostState::Reachable { containers } => {
                let Some(address) = host_address(desired, host) else {
                    continue;
                };
                for c in containers {
                    let Owner::Replica { service, .. } = &c.owner else {
                        continue;
                    };
                    let Some(via) = desired
                        .services
                        .get(service)
                        .and_then(|s| s.expose_via.as_ref())
                    else {
                        continue;
                    };
                    if !serves(c.state, c.health) {
                        continue;
                    }
                    let Some(port) = c.host_port(via.port) else {
                        continue;
                    };
                    if let Some(set) = out.get_mut(service) {
                        set.insert(Endpoint {
                            host: host.clone(),
                            container: c.name.clone(),
                            id: c.id.clone(),
                            address: address.clone(),
                            port,
                        });
                    }
                }
            }
            HostState::Unreachable { .. } => {
                for (service, endpoints) in routed.iter().flatten() {
                    if let Some(set) = out.get_mut(service) {
                        set.extend(endpoints.iter().filter(|e| &e.host == host).cloned());
                    }
                }
            }
            HostState::Down { .. } => {}
        }
    }
    out
}

/// The rotation a configuration written by fleet carries.
pub fn read_rotation(config: &str) -> Option<Rotation> {
    let json = config.lines().next()?.strip_prefix(HEADER)?;
    serde_json::from_str(json).ok()
}

/// Upstreams in `after` and not in `before`, and the other way round, as `service upstream
/// (host)` lines for people.
pub fn rotation_diff(before: &Rotation, after: &Rotation) -> (Vec<String>, Vec<String>) {
    let lines = |r: &Rotation| -> BTreeSet<String> {
        r.iter()
            .flat_map(|(s, set)| {
                set.iter()
                    .map(move |e| format!("{s} {} ({} {})", e.upstream(), e.host, e.container))
            })
            .collect()
    };
    let (a, b) = (lines(before), lines(after));
    (
        b.difference(&a).cloned().collect(),
        a.difference(&b).cloned().collect(),
    )
}

/// The HAProxy configuration for `rotation`. Deterministic: equal inputs give equal text, so a
/// balancer whose file equals it needs no reload.
pub fn render(desired: &Desired, rotation: &Rotation) -> String {
    let mut out = String::new();
    let header = serde_json::to_string(rotation).unwrap_or_else(|_| "{}".into());
    let _ = writeln!(out, "{HEADER}{header}");
    let _ = writeln!(
        out,
        "# Written by fleet for project `{}`; do not edit: every reconcile rewrites it.",
        desired.project
    );
    // Old workers keep their connections for the longest drain, then are stopped.
    let drain = desired
        .exposed()
        .map(|(_, e)| e.drain)
        .max()
        .unwrap_or_default();
    let hard_stop = drain + Duration::from_secs(30);
    let _ = write!(
        out,
        "\nglobal\n\
         \x20   log stdout format raw local0 notice\n\
         \x20   # Reloads hand the listening sockets to the new worker: no connection refused.\n\
         \x20   stats socket /var/run/haproxy.sock mode 600 level admin expose-fd listeners\n\
         \x20   hard-stop-after {}s\n\
         \n\
         defaults\n\
         \x20   log global\n\
         \x20   timeout connect 1s\n\
         \x20   timeout client 60s\n\
         \x20   timeout server 60s\n\
         \x20   timeout tunnel 1h\n\
         \x20   timeout check 1s\n\
         \x20   # A connection refused or lost to one replica is tried again on another.\n\
         \x20   retries 3\n\
         \x20   option redispatch 1\n\
         \x20   # A replica is taken out after 2 failed checks 1s apart, back after 2 good ones.\n\
         \x20   default-server inter 1s fall 2 rise 2\n",
        hard_stop.as_secs()
    );
    for (name, via) in desired.exposed() {
        let (mode, balance) = match via.protocol {
            ExposeProtocol::Http => ("http", "roundrobin"),
            ExposeProtocol::Tcp => ("tcp", "leastconn"),
        };
        let _ = write!(
            out,
            "\nfrontend {name}\n\
             \x20   bind :{port}\n\
             \x20   mode {mode}\n",
            port = via.host_port
        );
        match via.protocol {
            ExposeProtocol::Http => {
                let _ = writeln!(out, "    option httplog\n    option forwardfor");
            }
            ExposeProtocol::Tcp => {
                let _ = writeln!(out, "    option tcplog");
            }
        }
        let _ = write!(
            out,
            "    default_backend {name}\n\
             \nbackend {name}\n\
             \x20   mode {mode}\n\
             \x20   balance {balance}\n"
        );
        if via.protocol == ExposeProtocol::Http {
            let _ = writeln!(out, "    retry-on conn-failure empty-response");
        }
        if let Some(path) = &via.health_path {
            let _ = writeln!(out, "    option httpchk GET {path}");
        }
        for e in rotation.get(name).into_iter().flatten() {
            let _ = writeln!(
                out,
                "    server {}:{} {} check",
                e.host,
                e.container,
                e.upstream()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Balancer, Container};
    use crate::spec::{MemoryFiles, load};

    fn desired(yaml: &str) -> Desired {
        let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml)]));
        loaded
            .desired
            .unwrap_or_else(|| panic!("invalid test state: {:#?}", loaded.diagnostics))
    }

    const YAML: &str = "project: shop\n\
        hosts:\n  a: { address: 'ssh://root@10.0.0.1' }\n  b: { address: 'ssh://root@10.0.0.2' }\n\
        services:\n  web:\n    image: demo:1\n    deploy: { replicas: 2 }\n    \
        x-fleet: { expose: { port: 8080, host_port: 80, health_path: /healthz, drain: 5s } }\n  \
        db:\n    image: db:1\n    x-fleet: { expose: { port: 5432, host_port: 5432, protocol: tcp } }\n  \
        worker:\n    image: w:1\n";

    fn replica(d: &Desired, service: &str, slot: u32, port: Option<u16>) -> Container {
        let s = &d.services[service];
        let hash = crate::contract::spec_hash(s);
        Container {
            id: format!("id-{service}-{slot}"),
            name: crate::contract::container_name(&d.project, service, slot, &hash),
            owner: Owner::Replica {
                service: service.into(),
                slot,
                spec_hash: hash,
                commit: None,
                spec: None,
            },
            state: RunState::Running,
            health: None,
            image_id: String::new(),
            created: 0,
            ports: port
                .map(|host| crate::observe::PublishedPort {
                    container: s.expose_via.as_ref().map_or(0, |e| e.port),
                    host,
                    protocol: "tcp".into(),
                })
                .into_iter()
                .collect(),
        }
    }

    fn reachable(observed: &mut Observed, host: &str, containers: Vec<Container>) {
        observed
            .hosts
            .insert(host.into(), HostState::Reachable { containers });
    }

    #[test]
    fn the_rotation_is_every_serving_replica_with_its_published_port() {
        let d = desired(YAML);
        let mut starting = replica(&d, "web", 1, Some(32001));
        starting.health = Some(Health::Starting);
        let mut stopped = replica(&d, "web", 2, Some(32002));
        stopped.state = RunState::Exited;
        let mut observed = Observed::default();
        reachable(
            &mut observed,
            "a",
            vec![
                replica(&d, "web", 0, Some(32000)),
                starting,
                stopped,
                replica(&d, "worker", 0, None),
            ],
        );
        reachable(&mut observed, "b", vec![replica(&d, "db", 0, Some(32100))]);
        let r = rotation(&d, &observed);
        let web: Vec<String> = r["web"].iter().map(Endpoint::upstream).collect();
        assert_eq!(web, vec!["10.0.0.1:32000"]);
        let db: Vec<String> = r["db"].iter().map(Endpoint::upstream).collect();
        assert_eq!(db, vec!["10.0.0.2:32100"]);
        assert!(!r.contains_key("worker"));
    }

    #[test]
    fn an_unreachable_hosts_endpoints_are_kept_from_the_balancers_config_and_a_down_hosts_dropped()
    {
        let d = desired(YAML);
        let mut before = Observed::default();
        reachable(&mut before, "a", vec![replica(&d, "web", 0, Some(32000))]);
        reachable(&mut before, "b", vec![replica(&d, "web", 1, Some(32001))]);
        let config = render(&d, &rotation(&d, &before));
        assert_eq!(read_rotation(&config), Some(rotation(&d, &before)));

        let mut now = Observed::default();
        reachable(&mut now, "a", vec![replica(&d, "web", 0, Some(32000))]);
        now.hosts.insert(
            "b".into(),
            HostState::Unreachable {
                reason: "timeout".into(),
            },
        );
        now.balancers.insert(
            "a".into(),
            vec![Balancer {
                id: "x".into(),
                name: "shop-balancer".into(),
                state: RunState::Running,
                spec_hash: crate::contract::balancer_spec_hash(&d),
                config: Some(config),
            }],
        );
        let kept = rotation(&d, &now);
        assert_eq!(kept, rotation(&d, &before));

        now.hosts.insert(
            "b".into(),
            HostState::Down {
                reason: "timeout".into(),
            },
        );
        let dropped = rotation(&d, &now);
        let web: Vec<&str> = dropped["web"].iter().map(|e| e.host.as_str()).collect();
        assert_eq!(web, vec!["a"]);
    }

    #[test]
    fn the_config_has_a_frontend_and_a_checked_server_per_replica() {
        let d = desired(YAML);
        let mut observed = Observed::default();
        reachable(
            &mut observed,
            "a",
            vec![
                replica(&d, "web", 0, Some(32000)),
                replica(&d, "db", 0, Some(32100)),
            ],
        );
        let config = render(&d, &rotation(&d, &observed));
        assert!(config.contains("frontend web\n    bind :80\n    mode http\n"));
        assert!(config.contains("option httpchk GET /healthz"));
        assert!(config.contains("frontend db\n    bind :5432\n    mode tcp\n"));
        assert!(config.contains("balance leastconn"));
        let web_server = format!(
            "server a:{} 10.0.0.1:32000 check",
            rotation(&d, &observed)["web"].first().unwrap().container
        );
        assert!(config.contains(&web_server), "{config}");
        // Old workers are stopped 30s after the longest drain (db's default 10s).
        assert!(config.contains("hard-stop-after 40s"));
        // Deterministic.
        assert_eq!(config, render(&d, &rotation(&d, &observed)));
    }

    #[test]
    fn the_diff_names_added_and_removed_upstreams() {
        let d = desired(YAML);
        let mut observed = Observed::default();
        reachable(&mut observed, "a", vec![replica(&d, "web", 0, Some(32000))]);
        let before = rotation(&d, &observed);
        reachable(&mut observed, "a", vec![replica(&d, "web", 1, Some(32001))]);
        let after = rotation(&d, &observed);
        let (added, removed) = rotation_diff(&before, &after);
        assert_eq!(added.len(), 1);
        assert!(added[0].starts_with("web 10.0.0.1:32001 (a "), "{added:?}");
        assert_eq!(removed.len(), 1);
        assert!(removed[0].starts_with("web 10.0.0.1:32000"));
    }
}
