//! Autoscaling in the daemon: a sampler task reads the balancers' counters and the replicas'
//! CPU every few seconds (off the loop, so a cut host never holds a pass up) and hands plain
//! numbers to the loop, which decides (`autoscale::decide`) and runs a pass when a count changes.
//! The counts decided are what every pass plans with (`plan::plan_scaled`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::info;

use super::Trigger;
use crate::autoscale::decide::{Decision, Reading, Recommender, Signal, SignalValue, show};
use crate::autoscale::signals::{BalancerRead, Cpu, CpuRead, Replica, Traffic, parse_show_stat};
use crate::autoscale::{Autoscaled, Decided};
use crate::contract;
use crate::engine::SharedEngine;
use crate::observe::{Health, HostState, Observed, Owner, RunState};
use crate::spec::Desired;

/// How long a replica must have been ready before its CPU counts (start-up work is not load).
pub const WARM_UP: Duration = Duration::from_secs(20);
/// Bound on one read (a balancer's socket, a container's stats).
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// What the sampler reads: published by the loop after every pass.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    pub project: String,
    /// Ingress hosts expected to run a balancer (not declared down), when a service scales on
    /// traffic.
    pub balancers: Vec<String>,
    /// Replicas of services that scale on CPU: (service, host, container id, ready).
    pub replicas: Vec<(String, String, String, bool)>,
}

/// One round of reads.
#[derive(Debug)]
pub struct Samples {
    pub at: Instant,
    pub balancers: BTreeMap<String, Option<BalancerRead>>,
    /// (service, host, id, ready, read)
    pub replicas: Vec<(String, String, String, bool, Option<CpuRead>)>,
}

/// What the sampler reads, from the last observation of the held commit.
pub fn targets(desired: &Desired, observed: &Observed) -> Targets {
    let traffic = contract::balancer_binds_stats(desired);
    let balancers = if traffic {
        desired
            .ingress_hosts()
            .into_iter()
            .filter(|h| !matches!(observed.hosts.get(*h), Some(HostState::Down { .. })))
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    let on_cpu = |service: &str| {
        desired
            .services
            .get(service)
            .and_then(|s| s.autoscale.as_ref())
            .is_some_and(|a| a.cpu.is_some())
    };
    let mut replicas = Vec::new();
    for (host, state) in &observed.hosts {
        let HostState::Reachable { containers } = state else {
            continue;
        };
        for c in containers {
            let Owner::Replica { service, .. } = &c.owner else {
                continue;
            };
            if on_cpu(service) && c.state == RunState::Running {
                let ready = !matches!(c.health, Some(Health::Starting | Health::Unhealthy));
                replicas.push((service.clone(), host.clone(), c.id.clone(), ready));
            }
        }
    }
    Targets {
        project: desired.project.clone(),
        balancers,
        replicas,
    }
}

/// Reads every `interval` and sends the samples to the loop, until the loop is gone.
pub async fn sample(
    interval: Duration,
    mut targets: watch::Receiver<Targets>,
    reachable: watch::Receiver<BTreeMap<String, SharedEngine>>,
    loop_: mpsc::Sender<Trigger>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let t = targets.borrow_and_update().clone();
        if t.balancers.is_empty() && t.replicas.is_empty() {
            continue;
        }
        let engines = reachable.borrow().clone();
        let samples = read(&t, &engines).await;
        if loop_
            .send(Trigger::Samples(Box::new(samples)))
            .await
            .is_err()
        {
            return;
        }
    }
}

pub async fn read(t: &Targets, engines: &BTreeMap<String, SharedEngine>) -> Samples {
    let socket = |host: &str| {
        format!(
            "{}/{}",
            contract::balancer_stats_dir(&t.project, host),
            contract::BALANCER_STATS_SOCKET
        )
    };
    let balancer_reads = t.balancers.iter().map(|host| {
        let engine = engines.get(host).cloned();
        let path = socket(host);
        async move {
            let engine = engine?;
            let csv = tokio::time::timeout(READ_TIMEOUT, engine.query_socket(&path, "show stat\n"))
                .await
                .ok()?
                .ok()?;
            let backends = parse_show_stat(&csv);
            (!backends.is_empty()).then(|| BalancerRead {
                at: seconds(Instant::now()),
                backends,
            })
        }
    });
    let cpu_reads = t.replicas.iter().map(|(service, host, id, ready)| {
        let engine = engines.get(host).cloned();
        async move {
            let read = match engine {
                Some(engine) => tokio::time::timeout(READ_TIMEOUT, engine.cpu_usage(id))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(|u| CpuRead {
                        usage_ns: u.total_ns,
                        at: u.at,
                    }),
                None => None,
            };
            (service.clone(), host.clone(), id.clone(), *ready, read)
        }
    });
    let (balancers, replicas) = tokio::join!(
        futures_util::future::join_all(balancer_reads),
        futures_util::future::join_all(cpu_reads)
    );
    Samples {
        at: Instant::now(),
        balancers: t.balancers.iter().cloned().zip(balancers).collect(),
        replicas,
    }
}

/// The signals of every autoscaled service now, per replica beside their targets, for `fleet
/// status` (no daemon needed): two reads `apart`, as rates need. `counts` are the replica counts
/// per service.
pub async fn snapshot(
    desired: &Desired,
    observed: &Observed,
    engines: &BTreeMap<String, SharedEngine>,
    counts: &BTreeMap<String, u32>,
    apart: Duration,
) -> BTreeMap<String, Vec<SignalValue>> {
    let t = targets(desired, observed);
    if t.balancers.is_empty() && t.replicas.is_empty() {
        return BTreeMap::new();
    }
    let mut scaler = Scaler::default();
    let first = read(&t, engines).await;
    scaler.warm_all(&first);
    let _ = scaler.round(desired, first);
    tokio::time::sleep(apart).await;
    let second = read(&t, engines).await;
    scaler.decided = counts.clone();
    let _ = scaler.round(desired, second);
    scaler
        .status
        .into_iter()
        .map(|(service, s)| (service, s.signals))
        .collect()
}

/// Seconds on the loop's monotonic clock (pausable in tests).
fn seconds(at: Instant) -> f64 {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    at.saturating_duration_since(*ORIGIN.get_or_init(Instant::now))
        .as_secs_f64()
}

/// One autoscaled service as `/status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleStatus {
    pub min: u32,
    pub max: u32,
    pub current: u32,
    pub desired: u32,
    pub signals: Vec<SignalValue>,
    /// Why the latest evaluation wants `desired`, and when it ran (RFC 3339).
    pub reason: String,
    pub evaluated_at: Option<String>,
    pub last_change: Option<ScaleChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScaleChange {
    pub from: u32,
    pub to: u32,
    pub reason: String,
    /// RFC 3339.
    pub at: String,
}

/// The loop's side: the counts it owns, the history each decision needs, the previous reads.
#[derive(Default)]
pub struct Scaler {
    pub decided: Decided,
    recommenders: BTreeMap<String, Recommender>,
    traffic: Traffic,
    cpu: Cpu,
    ready_since: HashMap<String, Instant>,
    pub status: BTreeMap<String, ScaleStatus>,
}

impl Scaler {
    /// After a pass: the counts it planned with are the daemon's from now on (read back from the
    /// hosts at start, clamped when a commit changed the bounds).
    pub fn planned(&mut self, autoscaled: &[Autoscaled]) {
        self.decided
            .retain(|service, _| autoscaled.iter().any(|a| &a.service == service));
        self.recommenders
            .retain(|service, _| autoscaled.iter().any(|a| &a.service == service));
        self.status
            .retain(|service, _| autoscaled.iter().any(|a| &a.service == service));
        for a in autoscaled {
            self.decided.insert(a.service.clone(), a.replicas);
            let s = self.status.entry(a.service.clone()).or_insert(ScaleStatus {
                min: a.min,
                max: a.max,
                current: a.replicas,
                desired: a.replicas,
                signals: Vec::new(),
                reason: "no data yet".into(),
                evaluated_at: None,
                last_change: None,
            });
            (s.min, s.max, s.current) = (a.min, a.max, a.replicas);
        }
    }

    /// Counts every ready replica in `samples` as warm (a one-off reading has no history).
    fn warm_all(&mut self, samples: &Samples) {
        let long_ago = samples.at.checked_sub(WARM_UP).unwrap_or(samples.at);
        for (_, _, id, ready, _) in &samples.replicas {
            if *ready {
                self.ready_since.insert(id.clone(), long_ago);
            }
        }
    }

    /// Decides from one round of samples; returns the decisions that change a count.
    pub fn round(&mut self, desired: &Desired, samples: Samples) -> Vec<(String, Decision)> {
        let now = seconds(samples.at);
        let backends: Vec<String> = desired
            .services
            .iter()
            .filter(|(_, s)| s.autoscale.as_ref().is_some_and(|a| a.uses_traffic()))
            .map(|(n, _)| n.clone())
            .collect();
        self.traffic
            .retain(&samples.balancers.keys().cloned().collect::<Vec<_>>());
        let traffic = self.traffic.round(samples.balancers, &backends);
        let replicas: Vec<Replica> = samples
            .replicas
            .into_iter()
            .map(|(service, _host, id, ready, read)| {
                let since = if ready {
                    Some(*self.ready_since.entry(id.clone()).or_insert(samples.at))
                } else {
                    self.ready_since.remove(&id);
                    None
                };
                let cores = desired
                    .services
                    .get(&service)
                    .and_then(|s| s.deploy.resources.cpus.or(s.host.cpus))
                    .unwrap_or(1.0);
                Replica {
                    warm: since.is_some_and(|s| samples.at.duration_since(s) >= WARM_UP),
                    service,
                    id,
                    cores,
                    read,
                }
            })
            .collect();
        self.ready_since
            .retain(|id, _| replicas.iter().any(|r| &r.id == id));
        let cpu = self.cpu.round(&replicas);
        let mut changes = Vec::new();
        for (name, service) in &desired.services {
            let Some(scale) = &service.autoscale else {
                continue;
            };
            let Some(&current) = self.decided.get(name) else {
                continue;
            };
            let mut readings = Vec::new();
            if let Some((requests, in_flight)) = traffic.get(name) {
                readings.push((Signal::RequestsPerSecond, requests.clone()));
                readings.push((Signal::Concurrency, in_flight.clone()));
            }
            readings.push((
                Signal::Cpu,
                cpu.get(name).cloned().unwrap_or(Reading::NoData),
            ));
            let decision = self
                .recommenders
                .entry(name.clone())
                .or_default()
                .decide(scale, current, &readings, now);
            let status = self.status.entry(name.clone()).or_insert(ScaleStatus {
                min: scale.min,
                max: scale.max,
                current,
                desired: current,
                signals: Vec::new(),
                reason: String::new(),
                evaluated_at: None,
                last_change: None,
            });
            status.desired = decision.desired;
            status.signals = decision.signals.clone();
            status.reason = decision.reason.clone();
            status.evaluated_at = Some(crate::clock::now_rfc3339());
            tracing::debug!(
                service = %name,
                current,
                desired = decision.desired,
                inputs = %inputs(&decision),
                "autoscale evaluation: {}",
                decision.reason
            );
            if decision.changes() {
                status.last_change = Some(ScaleChange {
                    from: decision.current,
                    to: decision.desired,
                    reason: decision.reason.clone(),
                    at: crate::clock::now_rfc3339(),
                });
                self.decided.insert(name.clone(), decision.desired);
                changes.push((name.clone(), decision));
            }
        }
        changes
    }
}

/// One line of inputs for the log.
pub fn inputs(d: &Decision) -> String {
    d.signals
        .iter()
        .map(|s| match s.value {
            Some(v) => format!(
                "{}={} (target {})",
                s.signal.as_str(),
                show(s.signal, v),
                show(s.signal, s.target)
            ),
            None => format!("{}=no data", s.signal.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which way a decision goes.
pub fn direction(d: &Decision) -> &'static str {
    if d.desired > d.current { "up" } else { "down" }
}

/// Logs a decision that changes a count, with its inputs.
pub fn log(service: &str, d: &Decision) {
    info!(
        service,
        from = d.current,
        to = d.desired,
        direction = direction(d),
        inputs = %inputs(d),
        "autoscale: {}",
        d.reason
    );
}

/// `/metrics` lines for autoscaling.
pub fn prometheus(
    out: &mut String,
    status: &BTreeMap<String, ScaleStatus>,
    events: &BTreeMap<(String, &'static str), u64>,
) {
    use std::fmt::Write;
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    if status.is_empty() && events.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "# HELP fleet_autoscale_replicas Autoscaled services: the current and the desired replica count.\n# TYPE fleet_autoscale_replicas gauge"
    );
    for (name, s) in status {
        let name = escape(name);
        let _ = writeln!(
            out,
            "fleet_autoscale_replicas{{service=\"{name}\",state=\"current\"}} {}",
            s.current
        );
        let _ = writeln!(
            out,
            "fleet_autoscale_replicas{{service=\"{name}\",state=\"desired\"}} {}",
            s.desired
        );
    }
    let _ = writeln!(
        out,
        "# HELP fleet_autoscale_signal Each autoscaling signal per replica (cpu as a fraction of the limit); absent without data.\n# TYPE fleet_autoscale_signal gauge"
    );
    for (name, s) in status {
        for v in &s.signals {
            if let Some(value) = v.value {
                let _ = writeln!(
                    out,
                    "fleet_autoscale_signal{{service=\"{}\",signal=\"{}\"}} {value}",
                    escape(name),
                    v.signal.as_str()
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP fleet_autoscale_target Each autoscaling signal's target per replica.\n# TYPE fleet_autoscale_target gauge"
    );
    for (name, s) in status {
        for v in &s.signals {
            let _ = writeln!(
                out,
                "fleet_autoscale_target{{service=\"{}\",signal=\"{}\"}} {}",
                escape(name),
                v.signal.as_str(),
                v.target
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP fleet_autoscale_events_total Replica counts changed by the autoscaler, by direction.\n# TYPE fleet_autoscale_events_total counter"
    );
    for ((name, direction), n) in events {
        let _ = writeln!(
            out,
            "fleet_autoscale_events_total{{service=\"{}\",direction=\"{direction}\"}} {n}",
            escape(name)
        );
    }
}

/// The sampler's channel of targets, and its task.
pub fn start(
    interval: Duration,
    reachable: watch::Receiver<BTreeMap<String, SharedEngine>>,
    loop_: mpsc::Sender<Trigger>,
) -> (watch::Sender<Targets>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(Targets::default());
    let task = tokio::spawn(sample(interval, rx, reachable, loop_));
    (tx, task)
}
