//! Per service, in `depends_on` order: start, scale up, rolling update batch by batch as
//! `update_config` says, scale down; rollback or pause on failure; then the prune of what no
//! service owns.

use super::*;

impl Run<'_> {
    pub(super) async fn service(&self, name: &str) -> ServiceReport {
        let Some(service) = self.desired.services.get(name) else {
            return ServiceReport {
                status: ServiceStatus::Unchanged,
                detail: None,
            };
        };
        let changes: Vec<&Change> = self
            .plan
            .actions()
            .filter(|c| c.service.as_deref() == Some(name))
            .collect();
        if changes.is_empty() {
            return ServiceReport {
                status: ServiceStatus::Unchanged,
                detail: None,
            };
        }
        let update = &service.deploy.update_config;
        let rollback = &service.deploy.rollback_config;
        let of = |a: Action| changes.iter().copied().filter(move |c| c.action == a);
        let mut host_trouble = false;

        // Stopped replicas of the current spec: start them.
        let starts = of(Action::Start).map(|c| async move {
            let started = Instant::now();
            let id = c
                .container
                .as_ref()
                .map(|r| r.id.clone())
                .unwrap_or_default();
            let result = match self.engine(&c.host) {
                Err(e) => Err(e),
                Ok(engine) => match self
                    .call(&c.host, self.options.call_timeout, engine.start(&id))
                    .await
                {
                    Ok(()) => {
                        let good = self
                            .wait_good(&c.host, &id, update.monitor, health_interval(service), 0)
                            .await;
                        match (good, &c.container, &c.service) {
                            (Ok(detail), Some(r), Some(s)) => self
                                .enter_rotation(&c.host, s, &id, &r.name)
                                .await
                                .map(|()| detail),
                            (good, ..) => good,
                        }
                    }
                    Err(e) => Err(e),
                },
            };
            self.record_result(
                c,
                StepKind::Start,
                c.container.as_ref().map(|r| r.name.clone()),
                &result,
                started,
            );
            result.is_ok()
        });
        join_all(starts).await;

        let total = of(Action::Create).count() + of(Action::Replace).count();
        let mut failures = 0usize;
        let mut touched: Vec<Touched> = Vec::new();
        let mut failure: Option<ReplicaFailure> = None;

        // Scale up (and moves) first: new slots, all at once, checked like one batch (they only
        // add capacity). Then the rolling update, batch by batch.
        let creates: Vec<&Change> = of(Action::Create).collect();
        let replaces: Vec<&Change> = of(Action::Replace).collect();
        let size = match update.parallelism {
            0 => replaces.len().max(1),
            n => n as usize,
        };
        let batches = std::iter::once(creates.as_slice())
            .filter(|b| !b.is_empty())
            .chain(replaces.chunks(size));
        for (i, chunk) in batches.enumerate() {
            if failure.is_some() || self.stopped() {
                break;
            }
            if i > 0 && !update.delay.is_zero() {
                tokio::time::sleep(update.delay).await;
            }
            let results = join_all(chunk.iter().map(|c| self.replace_one(c, update))).await;
            for (t, result) in results {
                touched.push(t);
                match result {
                    Ok(()) => {}
                    Err(OpError::Host(_)) => host_trouble = true,
                    Err(OpError::Replica(e)) => {
                        failures += 1;
                        if update.failure_action != FailureAction::Continue
                            && too_many(failures, total, update.max_failure_ratio)
                        {
                            failure = Some(e);
                        }
                    }
                }
            }
        }

        if let Some(reason) = failure {
            let reason = format!("{failures} of {total} new replicas failed; last: {reason}");
            return match update.failure_action {
                FailureAction::Rollback => {
                    self.progress
                        .note(&format!("{name}: rolling back: {reason}"));
                    match self.roll_back(name, touched, rollback).await {
                        Ok(()) => ServiceReport {
                            status: ServiceStatus::RolledBack,
                            detail: Some(format!("rolled back to the previous replicas: {reason}")),
                        },
                        Err(e) => ServiceReport {
                            status: ServiceStatus::RollbackFailed,
                            detail: Some(format!("{reason}; the rollback failed too: {e}")),
                        },
                    }
                }
                // `continue` never sets `failure`.
                FailureAction::Pause | FailureAction::Continue => {
                    self.progress.note(&format!(
                        "{name}: rollout paused: {reason}; the failed replicas are left for \
                         inspection; fix the commit and run `fleet apply` again"
                    ));
                    // Slots that did succeed are done: retire their old replicas.
                    self.retire_old(name, &touched).await;
                    ServiceReport {
                        status: ServiceStatus::Paused,
                        detail: Some(reason),
                    }
                }
            };
        }

        if self.stopped() && (touched.len() < total) {
            self.retire_old(name, &touched).await;
            return ServiceReport {
                status: ServiceStatus::Skipped,
                detail: Some(format!(
                    "stopped after {} of {total} replicas",
                    touched.len()
                )),
            };
        }

        // Success: the old replicas go, then the surplus (scale down).
        self.retire_old(name, &touched).await;
        let removes = of(Action::Remove).map(|c| self.remove_one(c));
        let removed = join_all(removes).await;
        host_trouble |= removed.iter().any(|ok| !ok);
        let status = if failures > 0 || host_trouble {
            ServiceStatus::Degraded
        } else {
            ServiceStatus::Updated
        };
        ServiceReport {
            status,
            detail: (failures > 0)
                .then(|| {
                    // Only `continue` gets here with more failures than the ratio allows.
                    let why = if too_many(failures, total, update.max_failure_ratio) {
                        "above max_failure_ratio; failure_action is continue"
                    } else {
                        "within max_failure_ratio"
                    };
                    format!("{failures} of {total} new replicas failed ({why})")
                })
                .or_else(|| host_trouble.then(|| "some hosts failed".to_string())),
        }
    }

    /// One slot: a new replica (create) or a new replica in place of an old one (replace).
    pub(super) async fn replace_one(
        &self,
        c: &Change,
        update: &UpdateConfig,
    ) -> (Touched, Result<(), OpError>) {
        let started = Instant::now();
        let service_name = c.service.clone().unwrap_or_default();
        let (Some(new), Some(slot)) = (&c.create, c.slot) else {
            // Only a hand-edited plan file gets here.
            let touched = Touched {
                host: c.host.clone(),
                slot: c.slot.unwrap_or_default(),
                old: None,
                new: None,
                new_name: String::new(),
                ok: false,
            };
            let error = OpError::Replica(ReplicaFailure::NothingToCreate {
                action: c.action,
                service: service_name,
            });
            return (touched, Err(error));
        };
        let service = c.service.clone().unwrap_or_default();
        let mut touched = Touched {
            host: c.host.clone(),
            slot,
            old: c.container.clone(),
            new: None,
            new_name: new.name.clone(),
            ok: false,
        };
        // A dead replica of the same spec has the same name: it must go first, and there is
        // nothing to roll back to.
        let same_name = c.container.as_ref().is_some_and(|old| old.name == new.name);
        // A fixed host port or network address cannot be held by the old and the new replica
        // at once on one host.
        let fixed_port =
            new.spec.ports.iter().any(|p| p.published.is_some()) || new.spec.has_fixed_address();
        let stop_first = update.order == UpdateOrder::StopFirst || same_name || fixed_port;
        let interval = health_interval(&new.spec);
        let result = async {
            let id = match (stop_first, &c.container) {
                (true, Some(old)) if same_name => {
                    self.discard(&c.host, &old.id).await?;
                    touched.old = None;
                    self.create_replica(&c.host, &service, slot, new).await?
                }
                (true, Some(old)) => {
                    // The engine creates the new replica while the old one stops.
                    let (halted, created) = futures_util::future::join(
                        self.halt(&c.host, &old.id),
                        self.create_replica(&c.host, &service, slot, new),
                    )
                    .await;
                    match (halted, created) {
                        (Ok(()), Ok(id)) => id,
                        (Err(e), Ok(id)) => {
                            if let Ok(engine) = self.engine(&c.host) {
                                let t = self.options.call_timeout;
                                let _ = self.call(&c.host, t, engine.remove(&id)).await;
                            }
                            return Err(e);
                        }
                        (Err(e), Err(_)) | (Ok(()), Err(e)) => return Err(e),
                    }
                }
                _ => self.create_replica(&c.host, &service, slot, new).await?,
            };
            touched.new = Some(id.clone());
            self.start_replica(&c.host, &id).await?;
            // Stopping, creating and starting is the engine's work; say how long it took so
            // that fleet's own share of a batch can be told apart.
            let engine_time = started.elapsed();
            let detail = self
                .wait_good(&c.host, &id, update.monitor, interval, 0)
                .await?;
            self.enter_rotation(&c.host, &service, &id, &new.name)
                .await?;
            let detail = format!("{detail}, engine {:.2}s", engine_time.as_secs_f64());
            if let (false, Some(old)) = (stop_first, &c.container) {
                self.halt(&c.host, &old.id).await?;
            }
            Ok(detail)
        }
        .await;
        let kind = if c.action == Action::Create {
            StepKind::Create
        } else {
            StepKind::Replace
        };
        self.record_result(c, kind, Some(new.name.clone()), &result, started);
        touched.ok = result.is_ok();
        (touched, result.map(|_| ()))
    }

    pub(super) fn record_result(
        &self,
        c: &Change,
        kind: StepKind,
        container: Option<String>,
        result: &Result<String, OpError>,
        started: Instant,
    ) {
        self.record(StepRecord {
            host: c.host.clone(),
            kind,
            service: c.service.clone(),
            slot: c.slot,
            container,
            ok: result.is_ok(),
            detail: match result {
                Ok(d) => d.clone(),
                Err(e) => e.to_string(),
            },
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    /// Removes the old replicas of slots whose new replica is in place.
    pub(super) async fn retire_old(&self, service: &str, touched: &[Touched]) {
        let tasks = touched.iter().filter(|t| t.ok).filter_map(|t| {
            let old = t.old.as_ref()?;
            Some(async move {
                let started = Instant::now();
                let result = self.discard(&t.host, &old.id).await;
                if let Err(e) = &result {
                    self.record(StepRecord {
                        host: t.host.clone(),
                        kind: StepKind::Remove,
                        service: Some(service.to_string()),
                        slot: Some(t.slot),
                        container: Some(old.name.clone()),
                        ok: false,
                        detail: format!("removing the previous replica failed: {e}"),
                        seconds: started.elapsed().as_secs_f64(),
                    });
                }
            })
        });
        join_all(tasks).await;
    }

    /// Puts every touched slot back as it was: the old replica started again (it was only
    /// stopped), the new one removed; new slots removed.
    pub(super) async fn roll_back(
        &self,
        service: &str,
        touched: Vec<Touched>,
        config: &UpdateConfig,
    ) -> Result<(), RollbackFailure> {
        // The previous spec's interval is not at hand; the current one is the best guess.
        let interval = self.desired.services.get(service).and_then(health_interval);
        // Nothing can be done on a host that failed; its slots converge on the next run.
        let (touched, lost): (Vec<Touched>, Vec<Touched>) =
            touched.into_iter().partition(|t| self.host_ok(&t.host));
        let batch = match config.parallelism {
            0 => touched.len().max(1),
            n => n as usize,
        };
        let mut errors: Vec<NotRestored> = lost
            .iter()
            .map(|t| NotRestored::HostFailed {
                host: t.host.clone(),
                slot: t.slot,
            })
            .collect();
        for chunk in touched.chunks(batch) {
            let results = join_all(chunk.iter().map(|t| async move {
                let started = Instant::now();
                let result: Result<String, OpError> = async {
                    if config.order == UpdateOrder::StopFirst
                        && let Some(new) = &t.new
                    {
                        self.discard(&t.host, new).await?;
                    }
                    let detail = match &t.old {
                        Some(old) => {
                            let engine = self.engine(&t.host)?;
                            let limit = self.options.call_timeout;
                            // Still running (a start-first rollout stops it last), it keeps the
                            // restarts of its whole life through the start below.
                            let restarts_before = self
                                .call(&t.host, limit, engine.probe(&old.id))
                                .await?
                                .filter(|p| p.running)
                                .map_or(0, |p| p.restarts);
                            self.call(&t.host, limit, engine.start(&old.id)).await?;
                            let detail = self
                                .wait_good(
                                    &t.host,
                                    &old.id,
                                    config.monitor,
                                    interval,
                                    restarts_before,
                                )
                                .await?;
                            self.enter_rotation(&t.host, service, &old.id, &old.name)
                                .await?;
                            detail
                        }
                        None => "new slot removed".to_string(),
                    };
                    if config.order == UpdateOrder::StartFirst
                        && let Some(new) = &t.new
                    {
                        self.discard(&t.host, new).await?;
                    }
                    Ok(detail)
                }
                .await;
                self.record(StepRecord {
                    host: t.host.clone(),
                    kind: StepKind::Rollback,
                    service: Some(service.to_string()),
                    slot: Some(t.slot),
                    container: Some(
                        t.old
                            .as_ref()
                            .map(|o| o.name.clone())
                            .unwrap_or_else(|| t.new_name.clone()),
                    ),
                    // A rollback step that worked is not a failure of the run by itself; the
                    // service's status says it was rolled back.
                    ok: result.is_ok(),
                    detail: match &result {
                        Ok(d) => format!("restored ({d})"),
                        Err(e) => e.to_string(),
                    },
                    seconds: started.elapsed().as_secs_f64(),
                });
                result
            }))
            .await;
            errors.extend(
                results
                    .into_iter()
                    .filter_map(|r| r.err())
                    .map(NotRestored::Step),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(RollbackFailure(errors))
        }
    }

    pub(super) async fn remove_one(&self, c: &Change) -> bool {
        let started = Instant::now();
        let Some(old) = &c.container else {
            return true;
        };
        let result = self
            .discard(&c.host, &old.id)
            .await
            .map(|()| "stopped and removed".to_string());
        self.record_result(
            c,
            StepKind::Remove,
            Some(old.name.clone()),
            &result,
            started,
        );
        result.is_ok()
    }

    /// Containers of services no longer in the commit, and imposters.
    pub(super) async fn prune(&self) {
        if self.stopped() {
            return;
        }
        let orphans = self.plan.actions().filter(|c| {
            c.action == Action::Remove
                && c.service
                    .as_ref()
                    .is_none_or(|s| !self.desired.services.contains_key(s))
        });
        join_all(orphans.map(|c| self.remove_one(c))).await;
    }
}
