//! `fleet status`: what runs now, read from the hosts directly (no daemon needed): per service
//! desired, running, healthy and out-of-date replicas; per host reachability, replicas and who
//! holds the project lock or the watch lease.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::hosts::ConnectOptions;
use super::plan::{close_all, connect_all, observe_connected};
use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::contract;
use crate::engine::SharedEngine;
use crate::lock::{self, State};
use crate::observe::{Health, HostState, Owner, RunState};
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
    /// What the balancers serve over TLS.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificates: Vec<crate::balancer::ServedCertificate>,
}

#[derive(Debug, Default, Serialize)]
struct ServiceRow {
    desired: u32,
    running: u32,
    healthy: u32,
    /// Running replicas made from another spec than the commit's.
    outdated: u32,
    hosts: BTreeMap<String, u32>,
}

#[derive(Debug, Serialize)]
struct HostRow {
    reachable: bool,
    error: Option<String>,
    replicas: usize,
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
    close_all(engines).await;

    let hashes: BTreeMap<&str, String> = desired
        .services
        .iter()
        .map(|(n, s)| (n.as_str(), contract::spec_hash(s)))
        .collect();
    let mut services: BTreeMap<String, ServiceRow> = desired
        .services
        .iter()
        .map(|(name, s)| {
            let desired_count = desired.target_replicas(s);
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
                    *row.hosts.entry(name.clone()).or_default() += 1;
                    if matches!(c.health, None | Some(Health::Healthy)) {
                        row.healthy += 1;
                    }
                    if hashes.get(service.as_str()) != Some(spec_hash) {
                        row.outdated += 1;
                    }
                }
                HostRow {
                    reachable: true,
                    error: None,
                    replicas: containers.len(),
                    lock,
                    watch_lease,
                }
            }
            HostState::Unreachable { reason } | HostState::Down { reason } => HostRow {
                reachable: false,
                error: Some(reason.clone()),
                replicas: 0,
                lock,
                watch_lease,
            },
        };
        hosts.insert(name.clone(), row);
    }
    let pending_changes = plan::plan_best_effort(desired, &observed, commit.as_deref())
        .0
        .actions()
        .count();
    let converged = pending_changes == 0
        && hosts.values().all(|h| h.reachable)
        && services
            .values()
            .all(|s| s.running == s.desired && s.healthy == s.desired && s.outdated == 0);
    let certificates = crate::balancer::served_certificates(&observed, crate::clock::unix_now());
    Report {
        project: desired.project.clone(),
        commit,
        converged,
        pending_changes,
        services,
        hosts,
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
            .map_or("the working tree", |c| &c[..c.len().min(12)]),
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
        "{:<20} {:>7} {:>7} {:>7} {:>8}  {}\n",
        "SERVICE", "DESIRED", "RUNNING", "HEALTHY", "OUTDATED", "HOSTS"
    ));
    for (name, s) in &report.services {
        let spread: Vec<String> = s.hosts.iter().map(|(h, n)| format!("{h}:{n}")).collect();
        out.push_str(&format!(
            "{:<20} {:>7} {:>7} {:>7} {:>8}  {}\n",
            super::output::printable(name),
            s.desired,
            s.running,
            s.healthy,
            s.outdated,
            spread.join(" ")
        ));
    }
    out.push_str(&format!(
        "\n{:<20} {:<11} {:>8}  {}\n",
        "HOST", "STATE", "REPLICAS", "NOTES"
    ));
    for (name, h) in &report.hosts {
        let mut notes = Vec::new();
        if let Some(e) = &h.error {
            notes.push(super::output::printable(e));
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
            h.replicas,
            notes.join("; ")
        ));
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
