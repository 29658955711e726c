//! `fleet status`: what runs now, read from the hosts directly (no daemon needed): per service
//! desired, running, healthy and out-of-date replicas; per host reachability, replicas and who
//! holds the project lock or the watch lease.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use super::hosts::ConnectOptions;
use super::plan::{close_all, connect_all, observe_connected};
use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::contract;
use crate::engine::SharedEngine;
use crate::lock::{self, State};
use crate::observe::{Health, HostState, Observed, Owner, RunState};
use crate::plan;
use crate::spec::Desired;

#[derive(Debug, Serialize)]
struct Report {
    project: String,
    commit: Option<String>,
    /// Every service at its desired count, healthy and on the commit's spec; every host reached.
    converged: bool,
    /// Changes `fleet plan` would show.
    pending_changes: usize,
    services: BTreeMap<String, ServiceRow>,
    hosts: BTreeMap<String, HostRow>,
    /// The balancer of each ingress host: its state and the upstreams in rotation per service.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    balancers: BTreeMap<String, crate::balancer::BalancerStatus>,
    /// What the balancers serve over TLS.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificates: Vec<crate::balancer::ServedCertificate>,
}

#[derive(Debug, Default, Serialize)]
struct ServiceRow {
    desired: u32,
    /// Running replicas on the hosts that could be observed.
    running: u32,
    /// Running replicas whose health check passed.
    healthy: u32,
    /// Running replicas of a service without a health check: running is all that is known.
    no_check: u32,
    /// Running replicas made from another spec than the commit's.
    outdated: u32,
    /// Running replicas per host; `null` for a host that could not be observed (unknown, not
    /// zero).
    hosts: BTreeMap<String, Option<u32>>,
    /// `x-fleet.autoscale`: the bounds `fleet watch` keeps the count in, and the signals now.
    #[serde(skip_serializing_if = "Option::is_none")]
    autoscale: Option<AutoscaleRow>,
}

#[derive(Debug, Default, Serialize)]
struct AutoscaleRow {
    min: u32,
    max: u32,
    /// Per replica beside each target (read twice a second apart); no value without data.
    signals: Vec<crate::autoscale::decide::SignalValue>,
}

#[derive(Debug, Serialize)]
struct HostRow {
    reachable: bool,
    error: Option<String>,
    /// The project's containers there; `null` when the host could not be observed.
    replicas: Option<usize>,
    /// The project lock's state, unless free.
    lock: Option<State>,
    /// The watch lease's state, unless free.
    watch_lease: Option<State>,
}

pub fn run(global: &GlobalOptions, connect: &ConnectOptions, printer: &Printer) -> ExitCode {
    let Some((desired, commit, _)) = super::load_desired_at(global, printer) else {
        return ExitCode::Failure;
    };
    let Some(runtime) = super::runtime(printer) else {
        return ExitCode::Failure;
    };
    let report = runtime.block_on(gather(&desired, commit, connect));
    if global.format == Format::Json {
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &report);
        let _ = writeln!(out);
    } else {
        out!("{}", table(&report));
    }
    if report.converged {
        ExitCode::Success
    } else {
        ExitCode::Failure
    }
}

async fn gather(desired: &Desired, commit: Option<String>, connect: &ConnectOptions) -> Report {
    let connected = connect_all(desired, connect).await;
    let (observed, engines, _) = observe_connected(desired, connected).await;
    let holders = holders(&engines, &desired.project).await;
    let (_, autoscaled) =
        crate::autoscale::settle(desired, &observed, &crate::autoscale::Decided::new());
    let counts = autoscaled
        .iter()
        .map(|a| (a.service.clone(), a.replicas))
        .collect();
    let signals = crate::watch::scale::snapshot(
        desired,
        &observed,
        &engines,
        &counts,
        Duration::from_secs(1),
    )
    .await;
    close_all(engines).await;
    let mut report = report(desired, commit, &observed, holders);
    for a in autoscaled {
        if let Some(row) = report.services.get_mut(&a.service) {
            row.autoscale = Some(AutoscaleRow {
                min: a.min,
                max: a.max,
                signals: signals.get(&a.service).cloned().unwrap_or_default(),
            });
        }
    }
    report
}

/// The report from what was observed (pure).
fn report(
    desired: &Desired,
    commit: Option<String>,
    observed: &Observed,
    holders: Holders,
) -> Report {
    let hashes: BTreeMap<&str, String> = desired
        .services
        .iter()
        .map(|(n, s)| (n.as_str(), contract::spec_hash(s)))
        .collect();
    // An autoscaled service's count is what the hosts run, within its bounds.
    let (settled, _) =
        crate::autoscale::settle(desired, observed, &crate::autoscale::Decided::new());
    let mut services: BTreeMap<String, ServiceRow> = settled
        .services
        .iter()
        .map(|(name, s)| {
            let desired_count = settled.target_replicas(s);
            (
                name.clone(),
                ServiceRow {
                    desired: desired_count,
                    ..ServiceRow::default()
                },
            )
        })
        .collect();
    let mut hosts = BTreeMap::new();
    for (name, state) in &observed.hosts {
        let (lock, watch_lease) = holders.get(name).cloned().unwrap_or((None, None));
        let row = match state {
            HostState::Reachable { containers } => {
                for c in containers {
                    let Owner::Replica {
                        service, spec_hash, ..
                    } = &c.owner
                    else {
                        continue;
                    };
                    let Some(row) = services.get_mut(service) else {
                        continue;
                    };
                    if c.state != RunState::Running {
                        continue;
                    }
                    row.running += 1;
                    *row.hosts.entry(name.clone()).or_default().get_or_insert(0) += 1;
                    match c.health {
                        Some(Health::Healthy) => row.healthy += 1,
                        None => row.no_check += 1,
                        Some(_) => {}
                    }
                    if hashes.get(service.as_str()) != Some(spec_hash) {
                        row.outdated += 1;
                    }
                }
                HostRow {
                    reachable: true,
                    error: None,
                    replicas: Some(containers.len()),
                    lock,
                    watch_lease,
                }
            }
            HostState::Unreachable { reason } | HostState::Down { reason } => {
                for row in services.values_mut() {
                    row.hosts.insert(name.clone(), None);
                }
                HostRow {
                    reachable: false,
                    error: Some(reason.clone()),
                    replicas: None,
                    lock,
                    watch_lease,
                }
            }
        };
        hosts.insert(name.clone(), row);
    }
    let pending_changes = plan::plan_best_effort(desired, observed, commit.as_deref())
        .0
        .actions()
        .count();
    let converged = pending_changes == 0
        && hosts.values().all(|h| h.reachable)
        && services.values().all(|s| {
            s.running == s.desired && s.healthy + s.no_check == s.desired && s.outdated == 0
        });
    let balancers = crate::balancer::balancer_status(desired, observed);
    let certificates = crate::balancer::served_certificates(observed, crate::clock::unix_now());
    Report {
        project: desired.project.clone(),
        commit,
        converged,
        pending_changes,
        services,
        hosts,
        balancers,
        certificates,
    }
}

type Holders = BTreeMap<String, (Option<State>, Option<State>)>;

async fn holders(engines: &BTreeMap<String, SharedEngine>, project: &str) -> Holders {
    let lease = crate::watch::lease_project(project);
    let lease = lease.as_str();
    let found = futures_util::future::join_all(engines.iter().map(|(name, engine)| async move {
        let unless_free = |judged: Result<lock::Judgement, _>| {
            judged.ok().map(|j| j.state).filter(|s| *s != State::Free)
        };
        let (lock, watch) = tokio::join!(
            lock::status(engine.as_ref(), project),
            lock::status(engine.as_ref(), lease)
        );
        (name.clone(), (unless_free(lock), unless_free(watch)))
    }))
    .await;
    found.into_iter().collect()
}

fn table(report: &Report) -> String {
    let mut out = format!(
        "Project {} at {}: {}\n\n",
        report.project,
        report
            .commit
            .as_deref()
            .map_or("the working tree", crate::source::short_commit),
        if report.converged {
            "converged".to_string()
        } else if report.pending_changes > 0 {
            format!(
                "NOT converged ({} pending change(s); `fleet plan` shows them)",
                report.pending_changes
            )
        } else {
            "NOT converged".to_string()
        }
    );
    out.push_str(&format!(
        "{:<20} {:>7} {:>7} {:>7} {:>8} {:>8}  {}\n",
        "SERVICE", "DESIRED", "RUNNING", "HEALTHY", "NO CHECK", "OUTDATED", "HOSTS"
    ));
    for (name, s) in &report.services {
        // `?`: the host could not be observed, so what runs there is unknown.
        let spread: Vec<String> = s
            .hosts
            .iter()
            .map(|(h, n)| match n {
                Some(n) => format!("{h}:{n}"),
                None => format!("{h}:?"),
            })
            .collect();
        out.push_str(&format!(
            "{:<20} {:>7} {:>7} {:>7} {:>8} {:>8}  {}\n",
            super::output::printable(name),
            s.desired,
            s.running,
            s.healthy,
            s.no_check,
            s.outdated,
            spread.join(" ")
        ));
    }
    autoscale_table(&mut out, report);
    out.push_str(&format!(
        "\n{:<20} {:<11} {:>8}  {}\n",
        "HOST", "STATE", "REPLICAS", "NOTES"
    ));
    for (name, h) in &report.hosts {
        let mut notes = Vec::new();
        if let Some(e) = &h.error {
            notes.push(super::output::printable(e));
        }
        if h.replicas.is_none() {
            notes.push("replicas unknown".into());
        }
        if let Some(l) = &h.lock {
            notes.push(format!("lock: {l}"));
        }
        if let Some(w) = &h.watch_lease {
            notes.push(match w {
                State::Held { holder, .. } => format!("watched by {}", holder.who),
                other => format!("watch lease: {other}"),
            });
        }
        out.push_str(&format!(
            "{:<20} {:<11} {:>8}  {}\n",
            name,
            if h.reachable { "up" } else { "UNREACHABLE" },
            h.replicas
                .map_or_else(|| "?".to_string(), |n| n.to_string()),
            notes.join("; ")
        ));
    }
    if !report.balancers.is_empty() {
        out.push_str(&format!(
            "\n{:<20} {:<11} {}\n",
            "BALANCER", "STATE", "IN ROTATION"
        ));
        for (host, b) in &report.balancers {
            let rotation = match &b.rotation {
                Some(r) => r
                    .iter()
                    .map(|(service, n)| format!("{}:{n}", super::output::printable(service)))
                    .collect::<Vec<_>>()
                    .join(" "),
                None if b.running() => "not fleet's configuration".into(),
                None => String::new(),
            };
            let state = if b.running() {
                b.state.clone()
            } else {
                b.state.to_uppercase()
            };
            out.push_str(&format!("{host:<20} {state:<11} {rotation}\n"));
        }
    }
    if !report.certificates.is_empty() {
        out.push_str(&format!(
            "\n{:<20} {:<24} {:<10} {}\n",
            "CERTIFICATE", "VALID UNTIL", "DAYS LEFT", "NAMES"
        ));
        for c in &report.certificates {
            let warning = match c.days_left {
                d if d < 0 => "  EXPIRED",
                _ if c.expires_soon => "  EXPIRES SOON: renew it",
                _ => "",
            };
            out.push_str(&format!(
                "{:<20} {:<24} {:<10} {}{warning}\n",
                super::output::printable(&c.service),
                c.not_after,
                c.days_left,
                c.names.join(" ")
            ));
        }
    }
    out
}

/// Autoscaled services: their bounds and each signal now beside its target.
fn autoscale_table(out: &mut String, report: &Report) {
    use crate::autoscale::decide::show;
    let rows: Vec<_> = report
        .services
        .iter()
        .filter_map(|(n, s)| Some((n, s.autoscale.as_ref()?)))
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n{:<20} {:<16} {}\n",
        "AUTOSCALED", "BOUNDS", "SIGNALS (per replica / target)"
    ));
    for (name, a) in rows {
        let signals: Vec<String> = a
            .signals
            .iter()
            .map(|s| {
                let value = s.value.map_or("no data".into(), |v| show(s.signal, v));
                format!("{} {value}/{}", s.signal.as_str(), show(s.signal, s.target))
            })
            .collect();
        out.push_str(&format!(
            "{:<20} {:<16} {}\n",
            super::output::printable(name),
            format!("autoscaled {}-{}", a.min, a.max),
            signals.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Container;
    use crate::spec::{MemoryFiles, load};

    const YAML: &str = "project: shop\n\
        hosts:\n  a: { address: 'ssh://root@10.0.0.1' }\n  b: { address: 'ssh://root@10.0.0.2' }\n\
        services:\n  web:\n    image: demo:1\n    deploy: { replicas: 2 }\n    \
        x-fleet: { expose: { port: 8080, host_port: 80 } }\n  \
        worker:\n    image: w:1\n    \
        healthcheck: { test: [CMD, 'true'] }\n";

    fn replica(d: &Desired, service: &str, slot: u32, health: Option<Health>) -> Container {
        let s = &d.services[service];
        let hash = contract::spec_hash(s);
        Container {
            id: format!("id-{service}-{slot}"),
            name: contract::container_name(&d.project, service, slot, &hash),
            owner: Owner::Replica {
                service: service.into(),
                slot,
                spec_hash: hash,
                commit: None,
                spec: None,
            },
            state: RunState::Running,
            health,
            image_id: String::new(),
            created: 0,
            ports: Vec::new(),
        }
    }

    /// `a` runs one web replica (no health check) and the worker (healthy); `b` is unreachable.
    fn seen() -> (Desired, Observed) {
        let d = load(&MemoryFiles::new([("fleet.yaml", YAML)]))
            .desired
            .expect("valid");
        let mut observed = Observed::default();
        observed.hosts.insert(
            "a".into(),
            HostState::Reachable {
                containers: vec![
                    replica(&d, "web", 0, None),
                    replica(&d, "worker", 0, Some(Health::Healthy)),
                ],
            },
        );
        observed.hosts.insert(
            "b".into(),
            HostState::Unreachable {
                reason: "connection refused".into(),
            },
        );
        (d, observed)
    }

    #[test]
    fn an_unreachable_hosts_replicas_are_unknown_not_zero() {
        let (d, observed) = seen();
        let report = report(&d, None, &observed, Holders::new());
        assert_eq!(report.hosts["b"].replicas, None);
        assert_eq!(report.services["web"].hosts.get("b"), Some(&None));
        assert_eq!(report.services["web"].hosts.get("a"), Some(&Some(1)));
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["hosts"]["b"]["replicas"], serde_json::Value::Null);
        assert_eq!(json["hosts"]["a"]["replicas"], 2);
        let text = table(&report);
        assert!(
            text.contains(
                "web                        2       1       0        1        0  a:1 b:?"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "b                    UNREACHABLE        ?  connection refused; replicas unknown"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_replica_without_a_health_check_is_running_not_healthy() {
        let (d, observed) = seen();
        let report = report(&d, None, &observed, Holders::new());
        let web = &report.services["web"];
        assert_eq!((web.running, web.healthy, web.no_check), (1, 0, 1));
        let worker = &report.services["worker"];
        assert_eq!((worker.running, worker.healthy, worker.no_check), (1, 1, 0));
        assert!(table(&report).contains("NO CHECK"));
    }

    #[test]
    fn every_ingress_hosts_balancer_is_shown() {
        let (d, mut observed) = seen();
        let config = crate::balancer::render(&d, &crate::balancer::rotation(&d, &observed));
        observed.balancers.insert(
            "a".into(),
            vec![crate::observe::Balancer {
                id: "x".into(),
                name: "shop-balancer".into(),
                state: RunState::Running,
                spec_hash: contract::balancer_spec_hash(&d),
                config: Some(config),
            }],
        );
        let report = report(&d, None, &observed, Holders::new());
        assert_eq!(report.balancers["a"].state, "running");
        assert_eq!(report.balancers["b"].state, "unknown");
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["balancers"]["a"]["state"], "running");
        let text = table(&report);
        assert!(text.contains("BALANCER"), "{text}");
        assert!(
            text.contains("\na                    running     web:"),
            "{text}"
        );
        assert!(text.contains("\nb                    UNKNOWN"), "{text}");
    }
}
