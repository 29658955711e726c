//! What the daemon knows and shows: the status document (`/status`) and the counters behind
//! `/metrics`. The reconcile loop writes it; the HTTP handlers read a copy.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use serde::Serialize;

use super::backoff::SlotBackoff;

/// How many recent errors `/status` keeps.
const RECENT_ERRORS: usize = 20;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    pub project: Option<String>,
    pub role: Role,
    /// The daemon holding the lease, when this one is on standby.
    pub leader: Option<String>,
    /// The commit the fleet is being held to (the last good one).
    pub applied_commit: Option<String>,
    /// The newest commit read from the tracked revision.
    pub tip_commit: Option<String>,
    /// Why the tip is not applied, when it is not (invalid, unplaceable, mass delete).
    pub tip_error: Option<TipError>,
    pub last_reconcile: Option<Reconcile>,
    pub services: BTreeMap<String, ServiceStatus>,
    pub hosts: BTreeMap<String, HostStatus>,
    /// The balancer of each ingress host: its state and the upstreams in rotation per service.
    pub balancers: BTreeMap<String, crate::balancer::BalancerStatus>,
    /// What the balancers serve over TLS, with a warning 21 days before expiry.
    pub certificates: Vec<crate::balancer::ServedCertificate>,
    pub backoff: Vec<SlotBackoff>,
    /// Replicas that could not be placed with the hosts available.
    pub unplaceable: Vec<String>,
    /// Set while passes cannot take the project lock (another holder has it): nothing is
    /// changed until it is free or taken over.
    pub blocked_by: Option<BlockedBy>,
    pub recent_errors: Vec<ErrorEntry>,
    /// Autoscaled services: current and desired count, each signal beside its target, the
    /// latest decision and the last change.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub autoscale: BTreeMap<String, super::scale::ScaleStatus>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BlockedBy {
    pub host: String,
    /// The lock's state as `fleet lock status` says it.
    pub lock: String,
    /// When passes started being blocked (RFC 3339).
    pub since: String,
}

/// What this daemon is to its project.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Starting,
    /// Another daemon leads (or no host's lease can be held yet).
    Standby,
    Leader,
    Stopping,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Starting => "starting",
            Role::Standby => "standby",
            Role::Leader => "leader",
            Role::Stopping => "stopping",
        }
    }
}

/// Why the newest commit is not the one applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TipErrorKind {
    Invalid,
    Unplaceable,
    MassDelete,
    RolloutFailed,
}

impl TipErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TipErrorKind::Invalid => "invalid",
            TipErrorKind::Unplaceable => "unplaceable",
            TipErrorKind::MassDelete => "mass_delete",
            TipErrorKind::RolloutFailed => "rollout_failed",
        }
    }
}

/// How a reconcile pass ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PassResult {
    /// No valid commit yet, or nothing to act for.
    Idle,
    Converged,
    /// Converged but for heals held back by crash-loop backoff.
    Backoff,
    Applied,
    /// Another holder has the project lock: nothing changed.
    Blocked,
    Failed,
    RolledBack,
    RolloutPaused,
    /// Interrupted by a shutdown.
    Stopped,
}

impl PassResult {
    pub fn as_str(self) -> &'static str {
        match self {
            PassResult::Idle => "idle",
            PassResult::Converged => "converged",
            PassResult::Backoff => "backoff",
            PassResult::Applied => "applied",
            PassResult::Blocked => "blocked",
            PassResult::Failed => "failed",
            PassResult::RolledBack => "rolled-back",
            PassResult::RolloutPaused => "rollout-paused",
            PassResult::Stopped => "stopped",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TipError {
    pub commit: Option<String>,
    pub kind: TipErrorKind,
    /// One line per problem; for an invalid commit, `file:line:col: field: message`.
    pub messages: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Reconcile {
    pub at: String,
    pub reason: String,
    pub seconds: f64,
    pub result: PassResult,
    pub changes: usize,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ServiceStatus {
    pub desired: u32,
    pub running: u32,
    pub healthy: u32,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct HostStatus {
    pub reachable: bool,
    /// Declared down after `host_down_after`: its replicas were moved.
    pub down: bool,
    pub consecutive_failures: u32,
    pub error: Option<String>,
    pub since: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorEntry {
    pub at: String,
    pub kind: String,
    pub message: String,
}

/// Counters for `/metrics`. Plain integers behind the same lock as the status: updates are rare
/// (a handful per reconcile).
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub reconciles: BTreeMap<&'static str, u64>,
    pub reconcile_seconds: Histogram,
    pub heals: u64,
    pub drift_corrections: u64,
    /// Replicas replaced because their health check failed.
    pub unhealthy_replaced: u64,
    /// `watch.notify` deliveries, by result (sent, failed, dropped).
    pub notifications: BTreeMap<&'static str, u64>,
    pub rollouts: BTreeMap<&'static str, u64>,
    pub failures: BTreeMap<&'static str, u64>,
    pub webhooks: BTreeMap<&'static str, u64>,
    pub events: u64,
    pub hosts_down_total: u64,
    /// Project locks taken over (expired, holder gone, labels lost).
    pub lock_takeovers: u64,
    /// Replica counts the autoscaler changed, by service and direction.
    pub scale_events: BTreeMap<(String, &'static str), u64>,
}

#[derive(Clone, Debug)]
pub struct Histogram {
    pub bounds: &'static [f64],
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        const BOUNDS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
        Histogram {
            bounds: BOUNDS,
            counts: vec![0; BOUNDS.len()],
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    pub fn observe(&mut self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(&mut self.counts) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
pub struct Shared {
    pub status: Mutex<Status>,
    pub metrics: Mutex<Metrics>,
}

impl Shared {
    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    pub fn count(&self, f: impl FnOnce(&mut Metrics)) {
        if let Ok(mut m) = self.metrics.lock() {
            f(&mut m);
        }
    }

    pub fn error(&self, kind: &str, message: String) {
        self.update(|s| {
            s.recent_errors.push(ErrorEntry {
                at: crate::clock::now_rfc3339(),
                kind: kind.to_string(),
                message,
            });
            let excess = s.recent_errors.len().saturating_sub(RECENT_ERRORS);
            s.recent_errors.drain(..excess);
        });
    }

    /// The Prometheus text exposition of the counters and of the status gauges.
    pub fn prometheus(&self) -> String {
        let metrics = self.metrics.lock().map(|m| m.clone()).unwrap_or_default();
        render_prometheus(&metrics, &self.status())
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn counter_family(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: &BTreeMap<&'static str, u64>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (value, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

pub fn render_prometheus(m: &Metrics, status: &Status) -> String {
    let mut out = String::new();
    counter_family(
        &mut out,
        "fleet_reconciles_total",
        "Reconcile passes, by result.",
        "result",
        &m.reconciles,
    );
    let h = &m.reconcile_seconds;
    let _ = writeln!(
        out,
        "# HELP fleet_reconcile_duration_seconds Time per reconcile pass.\n# TYPE fleet_reconcile_duration_seconds histogram"
    );
    for (bound, count) in h.bounds.iter().zip(&h.counts) {
        let _ = writeln!(
            out,
            "fleet_reconcile_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "fleet_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}\nfleet_reconcile_duration_seconds_sum {}\nfleet_reconcile_duration_seconds_count {}",
        h.count, h.sum, h.count
    );
    single(
        &mut out,
        "fleet_heals_total",
        "counter",
        "Replicas restarted or recreated after they died, stopped or vanished.",
        m.heals,
    );
    single(
        &mut out,
        "fleet_drift_corrections_total",
        "counter",
        "Containers replaced or removed because they no longer matched the applied commit.",
        m.drift_corrections,
    );
    single(
        &mut out,
        "fleet_unhealthy_replacements_total",
        "counter",
        "Replicas replaced because their health check failed (x-fleet.replace_unhealthy).",
        m.unhealthy_replaced,
    );
    counter_family(
        &mut out,
        "fleet_rollouts_total",
        "Service rollouts of a new commit, by result.",
        "result",
        &m.rollouts,
    );
    counter_family(
        &mut out,
        "fleet_failures_total",
        "Failures, by kind.",
        "kind",
        &m.failures,
    );
    counter_family(
        &mut out,
        "fleet_notifications_total",
        "watch.notify deliveries, by result (sent, failed after retries, dropped).",
        "result",
        &m.notifications,
    );
    counter_family(
        &mut out,
        "fleet_webhooks_total",
        "Webhook deliveries, by result.",
        "result",
        &m.webhooks,
    );
    single(
        &mut out,
        "fleet_docker_events_total",
        "counter",
        "Docker events received for this project's containers.",
        m.events,
    );
    single(
        &mut out,
        "fleet_hosts_declared_down_total",
        "counter",
        "Times a host was declared down and its replicas moved.",
        m.hosts_down_total,
    );
    let up = status.hosts.values().filter(|h| h.reachable).count();
    single(
        &mut out,
        "fleet_hosts_up",
        "gauge",
        "Hosts reachable now.",
        up,
    );
    single(
        &mut out,
        "fleet_hosts",
        "gauge",
        "Hosts in the inventory.",
        status.hosts.len(),
    );
    single(
        &mut out,
        "fleet_leader",
        "gauge",
        "1 when this daemon holds the project's watch lease.",
        u8::from(status.role == Role::Leader),
    );
    single(
        &mut out,
        "fleet_blocked",
        "gauge",
        "1 while passes cannot take the project lock (another holder has it).",
        u8::from(status.blocked_by.is_some()),
    );
    single(
        &mut out,
        "fleet_lock_takeovers_total",
        "counter",
        "Project locks taken over because they expired, their process was gone or their labels were lost.",
        m.lock_takeovers,
    );
    let _ = writeln!(
        out,
        "# HELP fleet_replicas Replicas per service: desired, running, healthy.\n# TYPE fleet_replicas gauge"
    );
    for (name, s) in &status.services {
        let name = escape(name);
        for (state, n) in [
            ("desired", s.desired),
            ("running", s.running),
            ("healthy", s.healthy),
        ] {
            let _ = writeln!(
                out,
                "fleet_replicas{{service=\"{name}\",state=\"{state}\"}} {n}"
            );
        }
    }
    if !status.certificates.is_empty() {
        let _ = writeln!(
            out,
            "# HELP fleet_certificate_expiry_timestamp_seconds When each certificate the balancers serve expires (unix seconds).\n# TYPE fleet_certificate_expiry_timestamp_seconds gauge"
        );
        for c in &status.certificates {
            let not_after = crate::clock::parse_rfc3339(&c.not_after).unwrap_or_default();
            let _ = writeln!(
                out,
                "fleet_certificate_expiry_timestamp_seconds{{service=\"{}\",serial=\"{}\",names=\"{}\"}} {not_after}",
                escape(&c.service),
                escape(&c.serial),
                escape(&c.names.join(","))
            );
        }
    }
    if let Some(commit) = &status.applied_commit {
        let _ = writeln!(
            out,
            "# HELP fleet_applied_commit_info The commit the fleet is held to.\n# TYPE fleet_applied_commit_info gauge\nfleet_applied_commit_info{{commit=\"{}\"}} 1",
            escape(commit)
        );
    }
    super::scale::prometheus(&mut out, &status.autoscale, &m.scale_events);
    single(
        &mut out,
        "fleet_tip_rejected",
        "gauge",
        "1 when the newest commit is not applied (invalid, unplaceable or a mass delete).",
        u8::from(status.tip_error.is_some()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_types_buckets_and_escaped_labels() {
        let mut m = Metrics::default();
        m.reconciles.insert("converged", 3);
        m.reconcile_seconds.observe(0.07);
        m.reconcile_seconds.observe(2.0);
        m.heals = 2;
        let mut status = Status::default();
        status.services.insert(
            "we\"b".into(),
            ServiceStatus {
                desired: 3,
                running: 2,
                healthy: 1,
            },
        );
        let text = render_prometheus(&m, &status);
        assert!(text.contains("# TYPE fleet_reconciles_total counter\nfleet_reconciles_total{result=\"converged\"} 3\n"));
        assert!(text.contains("fleet_reconcile_duration_seconds_bucket{le=\"0.1\"} 1\n"));
        assert!(text.contains("fleet_reconcile_duration_seconds_bucket{le=\"2.5\"} 2\n"));
        assert!(text.contains("fleet_reconcile_duration_seconds_count 2\n"));
        assert!(text.contains("fleet_heals_total 2\n"));
        assert!(text.contains("fleet_replicas{service=\"we\\\"b\",state=\"running\"} 2\n"));
        // Every sample line belongs to a family declared with # TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{name} has no TYPE line"
            );
        }
    }
}
