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

use crate::contract;
use crate::observe::{Health, HostState, Observed, Owner, RunState};
use crate::spec::Desired;
use crate::spec::model::{Address, CertificateSummary, ExposeProtocol};

mod routes;
use routes::{forwarded_headers, render_routed};

/// First line of every configuration fleet writes, followed by the rotation as JSON.
const HEADER: &str = "# fleet-rotation: ";
/// Second line when services have TLS: the certificates served, as JSON (public facts only).
const CERTIFICATES: &str = "# fleet-certificates: ";

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

/// The certificates a configuration written by fleet serves, by service.
pub fn read_certificates(config: &str) -> BTreeMap<String, CertificateSummary> {
    config
        .lines()
        .take(2)
        .find_map(|l| l.strip_prefix(CERTIFICATES))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// A certificate fleet warns about this long before it expires.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(21 * 24 * 3600);

/// A certificate as the balancers serve it, for `fleet status` and the daemon's `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServedCertificate {
    pub service: String,
    pub names: Vec<String>,
    pub serial: String,
    pub not_after: String,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// Expires within [`EXPIRY_WARNING`] (or has expired).
    pub expires_soon: bool,
    pub internal: bool,
    /// The ingress hosts whose balancer serves it.
    pub balancers: Vec<String>,
}

/// Every certificate the observed balancers serve, once per service and certificate.
pub fn served_certificates(observed: &Observed, now_unix: i64) -> Vec<ServedCertificate> {
    let mut out: BTreeMap<(String, String), ServedCertificate> = BTreeMap::new();
    for (host, balancers) in &observed.balancers {
        for b in balancers {
            if b.state != RunState::Running {
                continue;
            }
            for (service, c) in read_certificates(b.config.as_deref().unwrap_or_default()) {
                let left = c.not_after - now_unix;
                out.entry((service.clone(), c.id.clone()))
                    .or_insert_with(|| ServedCertificate {
                        service,
                        names: c.names.clone(),
                        serial: c.serial.clone(),
                        not_after: crate::clock::rfc3339(
                            u64::try_from(c.not_after).unwrap_or_default(),
                        ),
                        days_left: left.div_euclid(24 * 3600),
                        expires_soon: left < EXPIRY_WARNING.as_secs() as i64,
                        internal: c.internal,
                        balancers: Vec::new(),
                    })
                    .balancers
                    .push(host.clone());
            }
        }
    }
    out.into_values().collect()
}

/// The balancer of one ingress host as `fleet status` and the daemon's `/status` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BalancerStatus {
    /// `running`, the engine's state of a balancer that is not (`exited`, ...), `missing` when
    /// the host runs none, or `unknown` when the host could not be observed.
    pub state: String,
    /// Per exposed service, the upstreams in rotation in the configuration the balancer runs
    /// (absent unless it runs a configuration fleet wrote).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<BTreeMap<String, usize>>,
}

impl BalancerStatus {
    pub fn running(&self) -> bool {
        self.state == "running"
    }
}

/// The balancer of every ingress host: whether it runs, and how many upstreams of each exposed
/// service it routes to (read from its configuration's first line, see [`read_rotation`]).
pub fn balancer_status(desired: &Desired, observed: &Observed) -> BTreeMap<String, BalancerStatus> {
    let mut out = BTreeMap::new();
    for host in desired.ingress_hosts() {
        let status = match observed.hosts.get(host) {
            Some(HostState::Reachable { .. }) => {
                let balancers = observed
                    .balancers
                    .get(host)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let running = balancers.iter().find(|b| b.state == RunState::Running);
                match running.or(balancers.first()) {
                    None => BalancerStatus {
                        state: "missing".into(),
                        rotation: None,
                    },
                    Some(b) => BalancerStatus {
                        state: serde_json::to_value(b.state)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_else(|| "unknown".into()),
                        rotation: (b.state == RunState::Running)
                            .then(|| b.config.as_deref().and_then(read_rotation))
                            .flatten()
                            .map(|r| r.iter().map(|(s, e)| (s.clone(), e.len())).collect()),
                    },
                }
            }
            _ => BalancerStatus {
                state: "unknown".into(),
                rotation: None,
            },
        };
        out.insert(host.to_string(), status);
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
    if !desired.certificates.is_empty() {
        let certificates = serde_json::to_string(&desired.certificates).unwrap_or_default();
        let _ = writeln!(out, "{CERTIFICATES}{certificates}");
    }
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
         {}{}\
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
        hard_stop.as_secs(),
        // Only with TLS: an image built without SSL still runs the others.
        if contract::balancer_binds_tls(desired) {
            "    # TLS 1.2 and later only, as Mozilla's \"intermediate\" profile.\n    \
             ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n"
        } else {
            ""
        },
        if contract::balancer_binds_stats(desired) {
            format!(
                "    # Counters for fleet watch's autoscaling, read over the host's SSH connection.\n    \
                 stats socket {}/{} mode 666 level user\n",
                contract::BALANCER_STATS_DIR,
                contract::BALANCER_STATS_SOCKET
            )
        } else {
            String::new()
        }
    );
    for (name, via) in desired.exposed() {
        let Some(port) = via.host_port else {
            continue;
        };
        let mode = mode_of(via.protocol);
        let _ = write!(
            out,
            "\nfrontend {name}\n\
             \x20   bind :{port}\n\
             \x20   mode {mode}\n"
        );
        match via.protocol {
            ExposeProtocol::Http => {
                let _ = writeln!(out, "    option httplog");
                forwarded_headers(&mut out, "http");
            }
            ExposeProtocol::Tcp => {
                let _ = writeln!(out, "    option tcplog");
            }
        }
        let _ = writeln!(out, "    default_backend {name}");
    }
    render_routed(&mut out, desired);
    for (name, via) in desired.exposed() {
        let mode = mode_of(via.protocol);
        let balance = match via.protocol {
            ExposeProtocol::Http => "roundrobin",
            ExposeProtocol::Tcp => "leastconn",
        };
        let _ = write!(
            out,
            "\nbackend {name}\n\
             \x20   mode {mode}\n\
             \x20   balance {balance}\n"
        );
        if via.protocol == ExposeProtocol::Http {
            let _ = writeln!(out, "    retry-on conn-failure empty-response");
        }
        if let Some(path) = &via.health_path {
            let _ = writeln!(out, "    option httpchk GET {path}");
        }
        if let Some(max_age) = via.routes.as_ref().and_then(|r| r.hsts) {
            let _ = writeln!(
                out,
                "    http-response set-header Strict-Transport-Security \"max-age={}\" if {{ ssl_fc }}",
                max_age.as_secs()
            );
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

fn mode_of(protocol: ExposeProtocol) -> &'static str {
    match protocol {
        ExposeProtocol::Http => "http",
        ExposeProtocol::Tcp => "tcp",
    }
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
    fn balancer_status_says_per_ingress_host_whether_it_runs_and_how_many_upstreams_it_routes_to() {
        let d = desired(YAML);
        let mut observed = Observed::default();
        reachable(
            &mut observed,
            "a",
            vec![
                replica(&d, "web", 0, Some(32000)),
                replica(&d, "web", 1, Some(32001)),
            ],
        );
        let config = render(&d, &rotation(&d, &observed));
        observed.balancers.insert(
            "a".into(),
            vec![Balancer {
                id: "x".into(),
                name: "shop-balancer".into(),
                state: RunState::Running,
                spec_hash: crate::contract::balancer_spec_hash(&d),
                config: Some(config),
            }],
        );
        reachable(&mut observed, "b", vec![]);
        let status = balancer_status(&d, &observed);
        assert_eq!(status["a"].state, "running");
        assert_eq!(
            status["a"].rotation,
            Some(BTreeMap::from([
                ("db".to_string(), 0),
                ("web".to_string(), 2)
            ]))
        );
        assert_eq!(status["b"].state, "missing");
        assert_eq!(status["b"].rotation, None);

        observed.hosts.insert(
            "b".into(),
            HostState::Unreachable {
                reason: "timeout".into(),
            },
        );
        if let Some(b) = observed.balancers.get_mut("a") {
            b[0].state = RunState::Exited;
        }
        let status = balancer_status(&d, &observed);
        assert_eq!(status["a"].state, "exited");
        assert_eq!(status["a"].rotation, None);
        assert_eq!(status["b"].state, "unknown");
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

    const ROUTED: &str = "project: shop\n\
        hosts:\n  a: { address: 'ssh://root@10.0.0.1' }\n\
        services:\n  web:\n    image: demo:1\n    \
        x-fleet: { expose: { port: 8080, hosts: [shop.example.com, '*.shop.example.com'], hsts: 1h, tls: internal } }\n  \
        api:\n    image: api:1\n    \
        x-fleet: { expose: { port: 9000, hosts: [shop.example.com], paths: [/v1, /v1/admin], tls: internal } }\n  \
        plain:\n    image: p:1\n    \
        x-fleet: { expose: { port: 80, hosts: [plain.example.com], health_path: /h } }\n  \
        db:\n    image: db:1\n    x-fleet: { expose: { port: 5432, host_port: 5432, protocol: tcp } }\n";

    fn routed() -> Desired {
        let files = MemoryFiles::new([
            ("fleet.yaml", ROUTED),
            ("secrets/fleet-ca.crt", "x"),
            ("secrets/fleet-ca.key.age", "x"),
        ]);
        let loaded = load(&files);
        let mut d = loaded
            .desired
            .unwrap_or_else(|| panic!("invalid test state: {:#?}", loaded.diagnostics));
        let summary = |id: &str| CertificateSummary {
            id: id.into(),
            names: vec!["shop.example.com".into()],
            serial: "01".into(),
            not_before: 0,
            not_after: 2_000_000_000,
            issuer: "CN=ca".into(),
            internal: true,
        };
        d.certificates.insert("web".into(), summary("c1"));
        d.certificates.insert("api".into(), summary("c1"));
        d
    }

    #[test]
    fn routed_services_share_the_http_and_https_frontends() {
        let d = routed();
        let config = render(&d, &Rotation::new());
        // One https frontend with each certificate once, picked by SNI.
        assert_eq!(config.matches("frontend fleet:https").count(), 1);
        assert!(
            config.contains(
                "bind :443 ssl crt /usr/local/etc/haproxy/tls/c1/bundle.pem strict-sni alpn h2,http/1.1"
            ),
            "{config}"
        );
        assert!(config.contains("frontend fleet:http\n    bind :80\n"));
        // The tcp service keeps its own port.
        assert!(config.contains("frontend db\n    bind :5432\n    mode tcp\n"));
        // Longer paths first, exact names before wildcards, whole segments.
        let api_admin = config.find("str(api) if !{ var(txn.fleet_route) -m found } { req.hdr(host),field(1,:),lower -m str shop.example.com } { path -m str /v1/admin }").expect(&config);
        let api = config.find("{ path -m str /v1 } ||").expect(&config);
        let web = config.find("str(web) if !{ var(txn.fleet_route) -m found } { req.hdr(host),field(1,:),lower -m str shop.example.com }\n").expect(&config);
        let wildcard = config
            .find("-m reg ^[a-z0-9-]+\\.shop\\.example\\.com$")
            .expect(&config);
        assert!(api_admin < api && api < web && web < wildcard, "{config}");
        assert!(config.contains("{ path -m beg /v1/ }"));
        // TLS services are redirected from http; the plain one is not, and is not on https.
        assert!(
            config.contains(
                "redirect location https://%[req.hdr(host),field(1,:),lower]%[pathq] code 308 if { var(txn.fleet_route) -m str api web }"
            )
        );
        let https = &config[config.find("frontend fleet:https").unwrap()..];
        let https = &https[..https.find("\nbackend ").unwrap()];
        assert!(!https.contains("str(plain)"), "{https}");
        assert!(config.contains("X-Forwarded-Proto https"));
        assert_eq!(
            config.matches("del-header X-Forwarded-For").count(),
            2,
            "{config}"
        );
        assert!(config.contains("return status 421"));
        assert!(config.contains("X-Forwarded-Proto http\n"));
        assert!(config.contains("X-Forwarded-Host"));
        assert!(config.contains("http-request return status 404"));
        // HSTS only where asked, only over TLS.
        assert_eq!(config.matches("Strict-Transport-Security").count(), 1);
        assert!(config.contains("\"max-age=3600\" if { ssl_fc }"));
        assert!(config.contains("    ssl-default-bind-options ssl-min-ver TLSv1.2"));
        // The certificates are read back from the configuration, without their key.
        let served = read_certificates(&config);
        assert_eq!(served, d.certificates);
        assert_eq!(read_rotation(&config), Some(Rotation::new()));
    }

    #[test]
    fn without_certificates_there_is_no_https_frontend_and_without_routes_no_shared_frontend() {
        let mut d = routed();
        d.certificates.clear();
        let config = render(&d, &Rotation::new());
        assert!(!config.contains("fleet:https"), "{config}");
        assert!(config.contains("frontend fleet:http\n"));
        let plain = desired(YAML);
        let config = render(&plain, &Rotation::new());
        assert!(!config.contains("fleet:http"), "{config}");
        assert!(!config.contains("ssl"), "{config}");
        assert!(read_certificates(&config).is_empty());
    }
}
