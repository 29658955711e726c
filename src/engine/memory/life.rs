//! The life of a simulated container: its process over time (runs, exits, is restarted by its
//! policy) and its health check over time, computed from the time it started, so any reader
//! at any moment sees the same thing. A follower task moves it along when nobody reads, so the
//! events go out when they happen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::{HostState, lock};
use crate::engine::{ContainerEvent, Probe, ProbeHealth};
use crate::spec::model::{Healthcheck, Restart};

/// What a simulated image does when it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Runs until stopped; its health check passes.
    Serves,
    /// Runs until stopped, but its health check never passes.
    Unhealthy,
    /// Runs; its health check passes only once it has run this long.
    SlowStart(Duration),
    /// The process exits with `code` after running this long.
    Exits { after: Duration, code: i64 },
}

/// When the engine would check health, from the service's `healthcheck`.
#[derive(Clone, Copy, Debug)]
pub(super) struct HealthPlan {
    interval: Duration,
    retries: u32,
    start_period: Duration,
}

impl HealthPlan {
    pub(super) fn of(check: Option<&Healthcheck>) -> Option<HealthPlan> {
        let check = check?;
        if check.test.first().map(String::as_str) == Some("NONE") || check.test.is_empty() {
            return None;
        }
        Some(HealthPlan {
            interval: check.interval.unwrap_or(Duration::from_secs(30)),
            retries: check.retries.unwrap_or(3).max(1),
            start_period: check.start_period.unwrap_or_default(),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Process {
    Created,
    /// Running since; a restart in progress has `since` in the future.
    Running {
        since: Instant,
    },
    Exited {
        code: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

#[derive(Clone)]
pub(super) struct Sim {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    pub behaviour: Behaviour,
    pub health: Option<HealthPlan>,
    pub restart: Restart,
    pub restarts: i64,
    /// (container port, host port, protocol).
    pub ports: Vec<(u16, u16, String)>,
    pub files: HashMap<String, String>,
    /// Host paths bound into the container (secrets, configs): each must exist to start.
    pub binds: Vec<String>,
    pub log: String,
    pub balancer: bool,
    /// Bumped by each reload signal: a balancer's worker is replaced.
    pub generation_of_workers: u64,
    process: Process,
    /// Bumped at every start and stop: a follower of an older life stops.
    life: u64,
    /// What the last reader saw, to tell what changed.
    seen: (String, Option<Health>),
}

/// Docker's restart delay: 100 ms, doubling, at most a minute.
fn restart_delay(restarts: i64) -> Duration {
    Duration::from_millis(100 * (1u64 << restarts.clamp(0, 10))).min(Duration::from_secs(60))
}

impl Sim {
    pub(super) fn new(
        id: &str,
        name: &str,
        image: &str,
        labels: HashMap<String, String>,
        behaviour: Behaviour,
        health: Option<HealthPlan>,
    ) -> Sim {
        Sim {
            id: id.to_string(),
            name: name.to_string(),
            image: image.to_string(),
            labels,
            behaviour,
            health,
            restart: Restart::No,
            restarts: 0,
            ports: Vec::new(),
            files: HashMap::new(),
            binds: Vec::new(),
            log: String::new(),
            balancer: false,
            generation_of_workers: 0,
            process: Process::Created,
            life: 0,
            seen: ("created".into(), None),
        }
    }

    pub(super) fn start_now(&mut self) {
        self.process = Process::Running {
            since: Instant::now(),
        };
        self.life += 1;
        self.seen = ("running".into(), None);
    }

    pub(super) fn stop_now(&mut self, code: i64) {
        if matches!(self.process, Process::Running { .. }) {
            self.process = Process::Exited { code };
        }
        self.life += 1;
        self.seen = (self.state_word().into(), None);
    }

    pub(super) fn running(&self) -> bool {
        matches!(self.process, Process::Running { .. })
    }

    /// Moves the process along to `now` (exits, restarts by policy); returns the events that
    /// happened, in order.
    pub(super) fn advance(&mut self, now: Instant) -> Vec<String> {
        let mut events = Vec::new();
        while let (Process::Running { since }, Behaviour::Exits { after, code }) =
            (&self.process, &self.behaviour)
        {
            let exit_at = *since + *after;
            if now < exit_at {
                break;
            }
            let code = *code;
            self.log = format!("simulated exit with code {code}\n");
            events.push("die".to_string());
            if self.restarts_after(code) {
                self.restarts += 1;
                self.process = Process::Running {
                    since: exit_at + restart_delay(self.restarts),
                };
                events.push("start".to_string());
            } else {
                self.process = Process::Exited { code };
            }
        }
        let health = self.health_at(now);
        if health != self.seen.1 {
            if let Some(h) = &health {
                if *h != Health::Starting {
                    let word = if *h == Health::Healthy {
                        "healthy"
                    } else {
                        "unhealthy"
                    };
                    events.push(format!("health_status: {word}"));
                }
            }
        }
        self.seen = (self.state_word().into(), health);
        events
    }

    fn restarts_after(&self, code: i64) -> bool {
        match &self.restart {
            Restart::No => false,
            Restart::Always | Restart::UnlessStopped => true,
            Restart::OnFailure { max_retries } => {
                code != 0 && max_retries.is_none_or(|m| self.restarts < i64::from(m))
            }
        }
    }

    fn health_at(&self, now: Instant) -> Option<Health> {
        let plan = self.health?;
        let Process::Running { since } = self.process else {
            return None;
        };
        let ran = now.saturating_duration_since(since);
        let first = plan.interval;
        Some(match &self.behaviour {
            Behaviour::Serves | Behaviour::Exits { .. } if ran >= first => Health::Healthy,
            Behaviour::SlowStart(d) if ran >= first.max(*d) => Health::Healthy,
            Behaviour::Unhealthy if ran >= plan.start_period + first * plan.retries => {
                Health::Unhealthy
            }
            _ => Health::Starting,
        })
    }

    /// When the next thing happens without anyone doing anything, if ever.
    fn next_change(&self, now: Instant) -> Option<Instant> {
        let Process::Running { since } = self.process else {
            return None;
        };
        let mut at = Vec::new();
        if let Behaviour::Exits { after, .. } = self.behaviour {
            at.push(since + after);
        }
        if let Some(plan) = self.health {
            at.push(since + plan.interval);
            if let Behaviour::SlowStart(d) = self.behaviour {
                at.push(since + d.max(plan.interval));
            }
            if self.behaviour == Behaviour::Unhealthy {
                at.push(since + plan.start_period + plan.interval * plan.retries);
            }
        }
        at.into_iter().filter(|t| *t > now).min()
    }

    pub(super) fn state_word(&self) -> &'static str {
        match self.process {
            Process::Created => "created",
            Process::Running { since } if since > Instant::now() => "restarting",
            Process::Running { .. } => "running",
            Process::Exited { .. } => "exited",
        }
    }

    /// The engine's status text, which carries the health.
    pub(super) fn status_text(&self, now: Instant) -> String {
        match (&self.process, self.health_at(now)) {
            (Process::Running { .. }, Some(Health::Healthy)) => "Up (healthy)".into(),
            (Process::Running { .. }, Some(Health::Unhealthy)) => "Up (unhealthy)".into(),
            (Process::Running { .. }, Some(Health::Starting)) => "Up (health: starting)".into(),
            (Process::Running { .. }, None) => "Up".into(),
            (Process::Exited { code }, _) => format!("Exited ({code})"),
            (Process::Created, _) => "Created".into(),
        }
    }

    pub(super) fn probe(&self, now: Instant) -> Probe {
        let (running, exited, exit_code) = match self.process {
            Process::Running { .. } => (true, false, 0),
            Process::Exited { code } => (false, true, code),
            Process::Created => (false, false, 0),
        };
        Probe {
            running,
            exited,
            exit_code,
            error: None,
            restarts: self.restarts,
            health: self.health_at(now).map(|h| match h {
                Health::Starting => ProbeHealth::Starting,
                Health::Healthy => ProbeHealth::Healthy,
                Health::Unhealthy => ProbeHealth::Unhealthy("simulated check failed".into()),
            }),
            tcp_ports: self
                .ports
                .iter()
                .filter(|(_, _, p)| p == "tcp")
                .map(|&(c, h, _)| (c, h))
                .collect(),
        }
    }

    /// A running balancer has a master and a worker; others one process.
    pub(super) fn pids(&self) -> Vec<String> {
        if !self.running() {
            return Vec::new();
        }
        let base = format!("{}", 1000 + self.life);
        if self.balancer {
            vec![base, format!("{}", 5000 + self.generation_of_workers)]
        } else {
            vec![base]
        }
    }
}

pub(super) fn emit(events: &broadcast::Sender<ContainerEvent>, action: &str, sim: &Sim) {
    let _ = events.send(ContainerEvent {
        action: action.to_string(),
        id: sim.id.clone(),
        labels: sim.labels.clone(),
    });
}

/// Moves a container along (see [`Sim::advance`]) and sends what happened.
pub(super) fn advance_and_emit(
    events: &broadcast::Sender<ContainerEvent>,
    sim: &mut Sim,
    now: Instant,
) {
    for action in sim.advance(now) {
        emit(events, &action, sim);
    }
}

/// The process of a container is killed now and ends with `code` (its restart policy
/// applies). As with Docker, `kill` goes out before `die`: that is how a watcher tells a kill
/// from a crash.
pub(super) fn exit(
    state: &Mutex<HostState>,
    events: &broadcast::Sender<ContainerEvent>,
    id: &str,
    code: i64,
    why: &str,
) {
    let mut state = lock(state);
    let Some(sim) = state.containers.get_mut(id) else {
        return;
    };
    if !sim.running() {
        return;
    }
    sim.log = format!("{why}\n");
    emit(events, "kill", sim);
    emit(events, "die", sim);
    if sim.restarts_after(code) {
        sim.restarts += 1;
        sim.process = Process::Running {
            since: Instant::now() + restart_delay(sim.restarts),
        };
        emit(events, "start", sim);
    } else {
        sim.stop_now(code);
    }
}

/// Moves a started container along in the background, so its events go out when they happen.
pub(super) fn follow(
    state: Arc<Mutex<HostState>>,
    events: broadcast::Sender<ContainerEvent>,
    sim: &Sim,
) {
    let (id, life) = (sim.id.clone(), sim.life);
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    tokio::spawn(async move {
        loop {
            let next = {
                let mut state = lock(&state);
                let Some(sim) = state.containers.get_mut(&id).filter(|s| s.life == life) else {
                    return;
                };
                let now = Instant::now();
                advance_and_emit(&events, sim, now);
                match sim.next_change(now) {
                    Some(at) => at,
                    None => return,
                }
            };
            tokio::time::sleep_until(next).await;
        }
    });
}

/// What images do, for every host of a simulation; an image not here cannot be pulled.
#[derive(Default)]
pub struct Registry {
    images: Mutex<HashMap<String, Behaviour>>,
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    /// Makes `reference` pullable, doing `behaviour` when it runs.
    pub fn publish(&self, reference: &str, behaviour: Behaviour) {
        lock(&self.images).insert(reference.to_string(), behaviour);
    }

    pub(super) fn behaviour(&self, reference: &str) -> Option<Behaviour> {
        lock(&self.images).get(reference).cloned()
    }
}
