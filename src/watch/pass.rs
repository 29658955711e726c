//! One pass: choose the state to hold, observe, vet a new commit, plan, and apply under the
//! project lock with every change fenced; then record how it went for status and metrics.

use super::*;
use crate::converge::{self, Execution, Locking};

/// How a pass ended, for status, metrics and the retry timer.
struct Pass {
    result: PassResult,
    changes: usize,
    detail: Option<String>,
    /// Try again soon (lock held, host trouble, failed steps).
    retry: bool,
    /// A deferred heal (crash-loop backoff) is due then.
    wake: Option<Instant>,
    /// The host whose project lock another holder has, and what `lock status` says of it.
    blocked: Option<(String, String)>,
    /// Nothing to do now, but replicas are held back (they may run on an unreachable host).
    held_back: bool,
}

impl Pass {
    pub(super) fn new(result: PassResult) -> Pass {
        Pass {
            result,
            changes: 0,
            detail: None,
            retry: false,
            wake: None,
            blocked: None,
            held_back: false,
        }
    }

    pub(super) fn detail(mut self, detail: impl Into<String>) -> Pass {
        self.detail = Some(detail.into());
        self
    }
}

impl Daemon {
    pub(super) async fn reconcile(&mut self, reason: &str) {
        let started = Instant::now();
        debug!(reason, "reconcile");
        let pass = self.pass().await;
        let seconds = started.elapsed().as_secs_f64();
        self.shared.count(|m| {
            *m.reconciles.entry(pass.result.as_str()).or_default() += 1;
            m.reconcile_seconds.observe(seconds);
        });
        if pass.changes > 0 || pass.result != PassResult::Converged {
            info!(
                reason,
                result = pass.result.as_str(),
                changes = pass.changes,
                seconds = format!("{seconds:.2}"),
                // Omitted when there is none: no `detail=""` on every line.
                detail = pass.detail.as_deref().filter(|d| !d.is_empty()),
                "reconcile"
            );
        }
        self.shared.update(|s| {
            s.last_reconcile = Some(Reconcile {
                at: now_rfc3339(),
                reason: reason.to_string(),
                seconds,
                result: pass.result,
                changes: pass.changes,
                detail: pass.detail.clone(),
            })
        });
        match &pass.blocked {
            Some((host, lock)) => {
                let first = self.shared.status().blocked_by.is_none();
                if first {
                    warn!(host = %host, lock = %lock, "blocked: another holder has the project lock; nothing is changed until it is released or taken over");
                    self.shared.error("blocked", lock.clone());
                }
                self.shared.update(|s| {
                    let since = s
                        .blocked_by
                        .as_ref()
                        .map_or_else(now_rfc3339, |b| b.since.clone());
                    s.blocked_by = Some(state::BlockedBy {
                        host: host.clone(),
                        lock: lock.clone(),
                        since,
                    });
                });
            }
            None if pass.result != PassResult::Idle => {
                if self.shared.status().blocked_by.is_some() {
                    info!("no longer blocked by the project lock");
                }
                self.shared.update(|s| s.blocked_by = None);
            }
            None => {}
        }
        let now = Instant::now();
        self.retry_at = None;
        if pass.retry {
            self.retries = (self.retries + 1).min(5);
            // Blocked by a lock: look again soon (it is released, or it expires and is taken
            // over); other trouble backs off further, but never past 10 s: a pass is cheap and
            // idempotent, and after a fault the next event may be long in coming.
            let delay = if pass.blocked.is_some() {
                Duration::from_secs(1 << (self.retries - 1)).min(Duration::from_secs(5))
            } else {
                Duration::from_secs(1 << self.retries).min(RETRY_CAP)
            };
            self.retry_at = Some(now + delay);
        } else {
            self.retries = 0;
        }
        if let Some(wake) = pass.wake {
            self.retry_at = Some(self.retry_at.map_or(wake, |at| at.min(wake)));
        }
        if std::mem::take(&mut self.observe_again) {
            let soon = now + self.settings.probe_interval;
            self.retry_at = Some(self.retry_at.map_or(soon, |at| at.min(soon)));
        }
    }

    /// Observes the given engines (bounded per host); hosts without a working link are
    /// unreachable, or down when declared so.
    pub(super) async fn observe(
        &self,
        desired: &Desired,
        engines: &BTreeMap<String, SharedEngine>,
    ) -> (Observed, BTreeMap<String, SharedEngine>) {
        let observation =
            converge::observe(desired, engines, OBSERVE_TIMEOUT, self.unobserved(desired)).await;
        for (host, error) in &observation.failed {
            debug!(host = %host, error = %error, "observing failed");
        }
        (observation.observed, observation.engines)
    }

    /// What is known of the hosts before looking: down when declared so, else unreachable
    /// until observed.
    fn unobserved(&self, desired: &Desired) -> Observed {
        let mut observed = Observed::default();
        for name in desired.hosts.keys() {
            let link = self.links.get(name);
            let state = match link {
                Some(link) if link.down => HostState::Down {
                    reason: link.error.clone().unwrap_or_else(|| "unreachable".into()),
                },
                Some(link) if link.engine.is_some() => HostState::Unreachable {
                    reason: "this daemon does not hold the watch lease on it (yet)".into(),
                },
                _ => HostState::Unreachable {
                    reason: link
                        .and_then(|l| l.error.clone())
                        .unwrap_or_else(|| "not connected yet".into()),
                },
            };
            observed.hosts.insert(name.clone(), state);
        }
        observed
    }

    /// Whether a new commit may be applied: placeable, supported, and not a mass deletion.
    pub(super) fn vet(&self, candidate: &Held, observed: &Observed) -> Result<(), TipError> {
        let refuse = |kind: TipErrorKind, messages: Vec<String>| TipError {
            commit: candidate.commit.clone(),
            kind,
            messages,
        };
        let (plan, unplaceable) = plan::plan_scaled(
            &candidate.desired,
            observed,
            candidate.commit.as_deref(),
            &self.scaler.decided,
        );
        if !unplaceable.is_empty() {
            return Err(refuse(
                TipErrorKind::Unplaceable,
                unplaceable.iter().map(|e| e.to_string()).collect(),
            ));
        }
        if self.settings.allow_mass_delete || candidate.desired.watch.allow_mass_delete {
            return Ok(());
        }
        if let Some(plan::MassDelete { removed, running }) = plan::mass_delete(&plan, observed) {
            return Err(refuse(
                TipErrorKind::MassDelete,
                vec![format!(
                    "commit {} would remove {removed} of the {} running replicas (more than half); \
                     it is not applied. If that is intended, set `watch: {{ allow_mass_delete: true }}` \
                     in fleet.yaml or restart fleet watch with --allow-mass-delete",
                    short(candidate.commit.as_deref()),
                    running
                )],
            ));
        }
        Ok(())
    }

    /// When to look again because a container reported dead still shows as running.
    pub(super) fn settling(&mut self, observed: &Observed) -> Option<Instant> {
        let now = Instant::now();
        let running: BTreeSet<&str> = seen(observed)
            .filter(|c| c.state == RunState::Running)
            .map(|c| c.id.as_str())
            .collect();
        self.dying.retain(|id, at| {
            running.contains(id.as_str()) && now.duration_since(*at) < Duration::from_secs(10)
        });
        if self.dying.is_empty() {
            self.settling_reason = None;
        }
        (!self.dying.is_empty()).then(|| now + Duration::from_millis(50))
    }

    /// Leaves out heals of slots in crash-loop backoff; returns when the first is due.
    pub(super) fn defer_crash_loops(&self, plan: &mut Plan) -> Option<Instant> {
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        plan.changes.retain(|c| {
            if !matches!(c.action, Action::Start | Action::Create | Action::Replace) {
                return true;
            }
            let (Some(service), Some(slot)) = (&c.service, c.slot) else {
                return true;
            };
            match self.backoff.wait_until(&(service.clone(), slot), now) {
                Some(at) => {
                    debug!(service = %service, slot, in_seconds = at.duration_since(now).as_secs_f64(), "crash-loop backoff");
                    wake = Some(wake.map_or(at, |w| w.min(at)));
                    false
                }
                None => true,
            }
        });
        wake
    }

    pub(super) fn show(&self, target: &Held, observed: &Observed, unplaceable: &[plan::PlanError]) {
        let mut services = BTreeMap::new();
        for (name, service) in &target.desired.services {
            // An autoscaled service's count is the daemon's.
            let desired = match self.scaler.decided.get(name) {
                Some(n) if service.autoscale.is_some() => *n,
                _ => target.desired.target_replicas(service),
            };
            let mut status = ServiceStatus {
                desired,
                ..ServiceStatus::default()
            };
            for state in observed.hosts.values() {
                let HostState::Reachable { containers } = state else {
                    continue;
                };
                for c in containers {
                    if !matches!(&c.owner, Owner::Replica { service, .. } if service == name) {
                        continue;
                    }
                    if c.state == RunState::Running {
                        status.running += 1;
                        if matches!(c.health, None | Some(observe::Health::Healthy)) {
                            status.healthy += 1;
                        }
                    }
                }
            }
            services.insert(name.clone(), status);
        }
        let hosts = self
            .links
            .iter()
            .map(|(name, link)| {
                (
                    name.clone(),
                    HostStatus {
                        reachable: link.engine.is_some()
                            && matches!(
                                observed.hosts.get(name),
                                Some(HostState::Reachable { .. })
                            ),
                        down: link.down,
                        consecutive_failures: link.failures,
                        error: link.error.clone(),
                        since: Some(link.since.clone()),
                    },
                )
            })
            .collect();
        let backoff = self.backoff.report(Instant::now());
        let certificates = crate::balancer::served_certificates(observed, crate::clock::unix_now());
        for c in certificates.iter().filter(|c| c.expires_soon) {
            warn!(service = %c.service, serial = %c.serial, not_after = %c.not_after, days_left = c.days_left, "certificate expires soon: renew it");
        }
        let balancers = crate::balancer::balancer_status(&target.desired, observed);
        self.shared.update(|s| {
            s.services = services;
            s.hosts = hosts;
            s.certificates = certificates;
            s.balancers = balancers;
            s.backoff = backoff;
            s.unplaceable = unplaceable.iter().map(|e| e.to_string()).collect();
        });
    }

    pub(super) fn adopt(&mut self, new: Held) {
        if self.held.as_ref().map(|h| &h.commit) != Some(&new.commit) {
            info!(commit = %short(new.commit.as_deref()), "the fleet is held to this commit now");
        }
        self.shared.update(|s| {
            s.applied_commit = new.commit.clone();
            if s.tip_error.as_ref().is_some_and(|e| e.commit == new.commit)
                || s.tip_commit == new.commit
            {
                s.tip_error = None;
            }
        });
        self.held = Some(new);
        self.sync_probers();
        self.sync_notifier();
    }

    /// One pass: choose the state, observe, plan, and apply under the lock when needed.
    async fn pass(&mut self) -> Pass {
        let candidate = match &self.tip {
            Some(Tip {
                commit,
                desired: Ok(d),
                payload,
            }) if self
                .failed
                .get(commit)
                .is_none_or(|(_, at)| *at <= Instant::now())
                && self
                    .held
                    .as_ref()
                    .is_none_or(|h| h.commit != *commit || h.desired != *d) =>
            {
                Some(Held {
                    desired: d.clone(),
                    commit: commit.clone(),
                    payload: Arc::clone(payload),
                })
            }
            _ => None,
        };
        let Some(basis) = candidate.clone().or_else(|| self.held.clone()) else {
            return Pass::new(PassResult::Idle).detail("no valid commit yet");
        };
        let acting = self.acting_engines();
        let (observed, engines) = self.observe(&basis.desired, &acting).await;
        // A host whose connection is up but whose engine did not answer (one still starting
        // after a restart): nothing else will wake the loop for it, so look again soon.
        self.observe_again = engines.len() < acting.len();
        let mut adopting = None;
        if let Some(candidate) = candidate {
            match self.vet(&candidate, &observed) {
                Ok(()) => adopting = Some(candidate),
                Err(error) => {
                    let message = error.messages.join("; ");
                    let known = self
                        .shared
                        .status()
                        .tip_error
                        .is_some_and(|e| e.commit == error.commit && e.kind == error.kind);
                    if !known {
                        warn!(commit = %short(error.commit.as_deref()), kind = error.kind.as_str(), %message, held = %self.held_commit(), "not applying the new commit; the last good state stays");
                        self.notify(
                            "commit_refused",
                            format!(
                                "commit {} is not applied ({}): {message}",
                                short(error.commit.as_deref()),
                                error.kind.as_str()
                            ),
                            None,
                        );
                        self.shared
                            .count(|m| *m.failures.entry("rejected_commit").or_default() += 1);
                        self.shared.error(error.kind.as_str(), message);
                    }
                    self.shared.update(|s| s.tip_error = Some(error));
                }
            }
        }
        let Some(target) = adopting.clone().or_else(|| self.held.clone()) else {
            return Pass::new(PassResult::Idle).detail("no applicable commit yet");
        };
        let observed = if adopting.is_none() && candidate_differs(&basis, &target) {
            // The candidate was refused: observe for the held state's hosts instead.
            self.observe(&target.desired, &engines).await.0
        } else {
            observed
        };
        let (mut plan, unplaceable) = plan::plan_scaled(
            &target.desired,
            &observed,
            target.commit.as_deref(),
            &self.scaler.decided,
        );
        self.scaled(&target.desired, &observed, &plan.autoscaled);
        let wake = if adopting.is_some() {
            None
        } else {
            self.defer_crash_loops(&mut plan)
        };
        let deferred = wake.is_some();
        let wake = match (wake, self.settling(&observed)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.show(&target, &observed, &unplaceable);
        if plan.is_empty() {
            let held_back = holds_back(&plan);
            // Nothing of a new commit whose replicas are held back runs yet: it is held to
            // once they are placed (the host answers, or is declared down), as a rollout.
            if let Some(new) = adopting.filter(|_| !held_back) {
                self.adopt(new);
            }
            let mut pass = Pass::new(if deferred {
                PassResult::Backoff
            } else {
                PassResult::Converged
            });
            pass.wake = wake;
            pass.retry = !plan.unreachable.is_empty() && held_back;
            return pass;
        }
        let (Some(lock), Some((lease, _))) = (self.lock.clone(), &self.lease) else {
            return Pass::new(PassResult::Idle);
        };
        let shared = Arc::clone(&self.shared);
        let events = move |event: LockEvent<'_>| {
            if let LockEvent::TookOver { host, state } = event {
                info!(host, taken_over = %state, "took over the project lock");
                shared.count(|m| m.lock_takeovers += 1);
            }
        };
        let mut steer = WatchSteer {
            daemon: self,
            target: &target,
            adopting: adopting.is_some(),
            wake: None,
            unhealthy: Vec::new(),
        };
        let outcome = converge::converge(
            &target.desired,
            &engines,
            self.unobserved(&target.desired),
            Locking {
                hold: &lock,
                also: std::slice::from_ref(lease),
                // One try per host, no waiting: a held lock is reported at once and retried.
                wait: Duration::ZERO,
                events: &events,
            },
            Execution {
                options: &self.settings.apply,
                progress: &LogProgress,
                stop: &self.stop,
                observe_limit: OBSERVE_TIMEOUT,
                payload: &target.payload,
            },
            &mut steer,
        )
        .await;
        let wake_locked = steer.wake;
        let unhealthy = std::mem::take(&mut steer.unhealthy);
        // A replica replaced for failing its health check counts as a crash of its slot: one
        // that fails again is replaced after the crash-loop backoff, not at once.
        let now = Instant::now();
        for (service, slot) in &unhealthy {
            info!(service = %service, slot, "replacing a replica whose health check fails");
            self.backoff.crashed((service.clone(), *slot), now);
        }
        if !unhealthy.is_empty() {
            self.shared
                .count(|m| m.unhealthy_replaced += unhealthy.len() as u64);
        }
        let mut pass = match outcome {
            converge::Outcome::Locked(LockError::Held { host, state, .. }) => {
                let detail = format!("the project lock on {host} is {state}");
                let mut pass = Pass::new(PassResult::Blocked).detail(detail.clone());
                pass.blocked = Some((host, detail));
                pass.retry = true;
                return pass;
            }
            converge::Outcome::Locked(e) => {
                let mut pass = Pass::new(PassResult::Failed).detail(crate::error::full_message(&e));
                pass.retry = true;
                return pass;
            }
            converge::Outcome::Stopped(pass) => pass,
            converge::Outcome::Applied { plan, report, .. } => {
                self.account(&plan, &report, adopting.is_some(), wake_locked)
            }
        };
        if let Some(new) = adopting {
            let detail = pass.detail.clone().unwrap_or_default();
            let error = |message: String| TipError {
                commit: new.commit.clone(),
                kind: TipErrorKind::RolloutFailed,
                messages: vec![message],
            };
            match pass.result {
                // The previous replicas are back: hold to them, try the commit again later.
                PassResult::RolledBack => {
                    self.notify(
                        "rollback",
                        format!(
                            "the rollout of commit {} was rolled back: {detail}",
                            short(new.commit.as_deref())
                        ),
                        None,
                    );
                    let attempts = self.failed.get(&new.commit).map_or(0, |f| f.0) + 1;
                    let wait = backoff::delay(attempts + 1);
                    let at = Instant::now() + wait;
                    self.failed.insert(new.commit.clone(), (attempts, at));
                    let message = format!(
                        "{detail} (attempt {attempts}; trying again in {}s unless a newer commit comes)",
                        wait.as_secs()
                    );
                    self.shared.update(|s| s.tip_error = Some(error(message)));
                    pass.wake = Some(at);
                }
                // Paused as update_config says: the fleet is partly on the new commit; hold to
                // it and keep converging (crashing replicas back off).
                PassResult::RolloutPaused => {
                    self.adopt(new.clone());
                    self.shared.update(|s| s.tip_error = Some(error(detail)));
                    pass.retry = true;
                }
                PassResult::Stopped => {}
                // The plan under the lock had nothing to do but held replicas back.
                _ if pass.held_back => {}
                _ => {
                    self.failed.remove(&new.commit);
                    let changes = pass.changes;
                    self.adopt(new);
                    self.notify(
                        "rollout",
                        format!("the fleet runs this commit now ({changes} change(s))"),
                        None,
                    );
                }
            }
        }
        pass.wake = pass.wake.or(wake);
        pass
    }

    /// What a pass that applied `plan` did: metrics, and how the pass ended.
    fn account(
        &self,
        plan: &Plan,
        report: &apply::Report,
        adopting: bool,
        wake: Option<Instant>,
    ) -> Pass {
        let changes = plan.actions().count();
        let ok_steps = |kinds: &[apply::StepKind]| {
            report
                .steps
                .iter()
                .filter(|s| s.ok && kinds.contains(&s.kind))
                .count() as u64
        };
        let failed_services: Vec<String> = report
            .services
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s.status,
                    Outcome::RolledBack
                        | Outcome::RollbackFailed
                        | Outcome::Paused
                        | Outcome::Failed
                )
            })
            .map(|(name, s)| format!("{name}: {}", s.detail.as_deref().unwrap_or("failed")))
            .collect();
        if adopting {
            self.shared.count(|m| {
                for s in report.services.values() {
                    let result = match s.status {
                        Outcome::Unchanged | Outcome::Skipped => continue,
                        Outcome::Updated => "ok",
                        Outcome::Degraded => "degraded",
                        Outcome::RolledBack => "rolled_back",
                        Outcome::RollbackFailed | Outcome::Paused | Outcome::Failed => "failed",
                    };
                    *m.rollouts.entry(result).or_default() += 1;
                }
            });
        } else {
            let heals = ok_steps(&[apply::StepKind::Start, apply::StepKind::Create]);
            let drift = ok_steps(&[apply::StepKind::Replace, apply::StepKind::Remove]);
            self.shared.count(|m| {
                m.heals += heals;
                m.drift_corrections += drift;
            });
        }
        let mut pass = Pass::new(PassResult::Applied);
        pass.changes = changes;
        pass.wake = wake;
        if self.stop.load(Ordering::SeqCst) {
            pass.result = PassResult::Stopped;
        } else if adopting && !failed_services.is_empty() {
            let rolled_back = report
                .services
                .values()
                .any(|s| matches!(s.status, Outcome::RolledBack | Outcome::RollbackFailed));
            pass.result = if rolled_back {
                PassResult::RolledBack
            } else {
                PassResult::RolloutPaused
            };
            pass.detail = Some(failed_services.join("; "));
            self.shared
                .count(|m| *m.failures.entry("rollout").or_default() += 1);
            self.shared
                .error("rollout_failed", failed_services.join("; "));
        } else if !report.success && !only_known_hosts_failed(report, plan) {
            pass.result = PassResult::Failed;
            pass.retry = true;
            let failed: Vec<String> = report
                .steps
                .iter()
                .filter(|s| !s.ok)
                .map(|s| {
                    format!(
                        "{} on {}: {}",
                        s.service.as_deref().unwrap_or("-"),
                        s.host,
                        s.detail
                    )
                })
                .chain(failed_services)
                .collect();
            pass.detail = Some(failed.join("; "));
            self.shared
                .count(|m| *m.failures.entry("apply").or_default() += 1);
            self.shared.error("apply", failed.join("; "));
            // Once per streak of failed passes, not at every retry.
            if !adopting && self.retries == 0 {
                self.notify(
                    "heal_failed",
                    format!("healing failed (retrying): {}", failed.join("; ")),
                    None,
                );
            }
        }
        pass
    }
}

/// The daemon's policy in the converge pipeline: plan best effort, leave out heals in
/// crash-loop backoff, and say what is applied.
struct WatchSteer<'a> {
    daemon: &'a Daemon,
    target: &'a Held,
    adopting: bool,
    /// When a deferred heal is due.
    wake: Option<Instant>,
    /// The slots whose replica is replaced because its health check fails.
    unhealthy: Vec<(String, u32)>,
}

#[async_trait::async_trait]
impl converge::Steer for WatchSteer<'_> {
    type Stop = Pass;

    async fn plan(&mut self, observation: &converge::Observation) -> Result<Plan, Pass> {
        for (host, error) in &observation.failed {
            debug!(host = %host, error = %error, "observing failed");
        }
        let target = self.target;
        let (mut plan, _) = plan::plan_scaled(
            &target.desired,
            &observation.observed,
            target.commit.as_deref(),
            &self.daemon.scaler.decided,
        );
        self.wake = if self.adopting {
            None
        } else {
            self.daemon.defer_crash_loops(&mut plan)
        };
        let unhealthy: BTreeSet<&str> = observation
            .observed
            .hosts
            .values()
            .flat_map(|h| match h {
                HostState::Reachable { containers } => containers.as_slice(),
                _ => &[],
            })
            .filter(|c| {
                c.state == RunState::Running && c.health == Some(observe::Health::Unhealthy)
            })
            .map(|c| c.id.as_str())
            .collect();
        self.unhealthy = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Replace)
            .filter(|c| {
                c.container
                    .as_ref()
                    .is_some_and(|r| unhealthy.contains(r.id.as_str()))
            })
            .filter_map(|c| Some((c.service.clone()?, c.slot?)))
            .collect();
        if plan.is_empty() {
            let mut pass = Pass::new(PassResult::Converged);
            pass.wake = self.wake;
            pass.held_back = holds_back(&plan);
            pass.retry = !plan.unreachable.is_empty() && pass.held_back;
            return Err(pass);
        }
        info!(
            commit = %short(target.commit.as_deref()),
            create = plan.count(Action::Create),
            replace = plan.count(Action::Replace),
            start = plan.count(Action::Start),
            remove = plan.count(Action::Remove),
            "applying"
        );
        Ok(plan)
    }
}

/// Whether the only trouble in a report is hosts the plan already knew were unreachable: for the
/// daemon that is the state of the world, not a failed pass.
fn only_known_hosts_failed(report: &apply::Report, plan: &Plan) -> bool {
    let known: BTreeSet<&str> = plan.unreachable.iter().map(|u| u.host.as_str()).collect();
    report.steps.iter().all(|s| s.ok)
        && report.services.values().all(|s| {
            matches!(
                s.status,
                Outcome::Unchanged | Outcome::Updated | Outcome::Degraded
            )
        })
        && report
            .hosts
            .iter()
            .all(|(name, h)| matches!(h, apply::HostReport::Ok) || known.contains(name.as_str()))
}

/// Whether the plan holds replicas back: missing, and maybe running on an unreachable host.
fn holds_back(plan: &Plan) -> bool {
    plan.held_back.iter().any(|h| !h.slots.is_empty())
}

/// Every container observed on a reachable host.
fn seen(observed: &Observed) -> impl Iterator<Item = &observe::Container> {
    observed.containers()
}

fn candidate_differs(basis: &Held, target: &Held) -> bool {
    basis.commit != target.commit || basis.desired != target.desired
}

/// Apply progress as log lines.
struct LogProgress;

impl apply::Progress for LogProgress {
    fn phase(&self, text: &str) {
        debug!(phase = text, "apply");
    }
    fn host_steps(&self, _host: &str, _steps: usize) {}
    fn step_started(&self, host: &str, text: &str) {
        debug!(host, step = text, "started");
    }
    fn step_done(&self, host: &str, text: &str, ok: bool) {
        if ok {
            info!(host, step = text, "done");
        } else {
            warn!(host, step = text, "failed");
        }
    }
    fn note(&self, text: &str) {
        warn!("{text}");
    }
}
