//! The balancers during a run: set up before the services, told about every replica that starts
//! or stops serving, removed where no longer wanted at the end.
//!
//! The rotation starts as the plan observed it and is changed by the run itself: a replica
//! joins once it is good (running, and healthy when it has a check), and leaves *before* it is
//! stopped: the balancers are reloaded without it, then it keeps its connections for its
//! service's drain time, then it is stopped. Every change rewrites the configuration of every
//! balancer whose file differs and reloads it (HAProxy hands its listening sockets over, so no
//! connection is refused or cut).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

// tokio's clock: the same as std's in a run, and pausable in tests on the in-memory engine.
use tokio::time::Instant;

use futures_util::future::join_all;

use super::{BalancerState, OpError, ReplicaFailure, Run, StepKind, StepRecord};
use crate::balancer::{self, Endpoint, Rotation};
use crate::contract;
use crate::engine::Create;
use crate::plan::{BalancerAction, BalancerChange, Plan};
use crate::spec::Desired;
use crate::spec::model::DEFAULT_DRAIN;

/// How long a balancer gets to start a worker with a new configuration. HAProxy ignores a
/// reload signal that arrives while it is still loading the previous one, so every reload is
/// confirmed before the next one is sent.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(5);
const RESIGNAL_AFTER: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(25);

pub(super) struct Balancing {
    rotation: Rotation,
    /// The balancer container of each ingress host, once it exists and runs.
    containers: BTreeMap<String, String>,
    /// The configuration last written to each balancer.
    written: BTreeMap<String, String>,
    /// The certificates written for each balancer during this run.
    certified: BTreeMap<String, BTreeSet<String>>,
}

impl Balancing {
    pub(super) fn new(desired: &Desired, plan: &Plan) -> Self {
        let mut containers = BTreeMap::new();
        let mut written = BTreeMap::new();
        let config = balancer::render(desired, &plan.rotation);
        for b in &plan.balancers {
            let Some(container) = &b.container else {
                continue;
            };
            match b.action {
                BalancerAction::Keep => {
                    containers.insert(b.host.clone(), container.id.clone());
                    written.insert(b.host.clone(), config.clone());
                }
                BalancerAction::Reload => {
                    containers.insert(b.host.clone(), container.id.clone());
                }
                _ => {}
            }
        }
        Balancing {
            rotation: plan.rotation.clone(),
            containers,
            written,
            certified: BTreeMap::new(),
        }
    }
}

impl Run<'_> {
    /// Before any replica changes: every reachable ingress host gets a running balancer with the
    /// current rotation.
    pub(super) async fn set_up_balancers(&self) {
        let changes = self.plan.balancer_actions().filter(|b| {
            matches!(
                b.action,
                BalancerAction::Create
                    | BalancerAction::Replace
                    | BalancerAction::Start
                    | BalancerAction::Reload
            )
        });
        join_all(changes.map(|b| self.set_up_balancer(b))).await;
    }

    async fn set_up_balancer(&self, b: &BalancerChange) {
        let started = Instant::now();
        let name = contract::balancer_container_name(&self.desired.project);
        self.progress
            .step_started(&b.host, &format!("{:?} balancer", b.action).to_lowercase());
        let result: Result<String, OpError> = async {
            let engine = self.engine(&b.host)?;
            let t = self.options.call_timeout;
            // After a reboot the certificates are gone with /run: always write them here (before
            // taking the lock: the other hosts' balancers are set up meanwhile).
            let certified = self.put_certificates(&b.host, &BTreeSet::new()).await?;
            let config = {
                let mut state = self.balancing.lock().await;
                state.certified.insert(b.host.clone(), certified);
                balancer::render(self.desired, &state.rotation)
            };
            let id = match (&b.action, &b.container) {
                (BalancerAction::Start | BalancerAction::Reload, Some(old)) => old.id.clone(),
                (_, old) => {
                    if let Some(old) = old {
                        self.discard(&b.host, &old.id).await?;
                    }
                    self.call(
                        &b.host,
                        t,
                        engine.create(
                            &name,
                            Create::Balancer {
                                desired: self.desired,
                                host: &b.host,
                            },
                        ),
                    )
                    .await?
                }
            };
            self.call(
                &b.host,
                t,
                engine.write_file(
                    &id,
                    contract::BALANCER_CONFIG_DIR,
                    contract::BALANCER_CONFIG_FILE,
                    &config,
                ),
            )
            .await?;
            let detail = if b.action == BalancerAction::Reload {
                self.reload(&b.host, &id).await?;
                "configuration reloaded".to_string()
            } else {
                self.call(&b.host, t, engine.start(&id)).await?;
                self.await_worker(&b.host, &id).await?;
                "running".to_string()
            };
            let mut state = self.balancing.lock().await;
            state.containers.insert(b.host.clone(), id);
            state.written.insert(b.host.clone(), config);
            Ok(detail)
        }
        .await;
        self.record_balancer(&b.host, name, result, started);
    }

    /// After the services: one last update (a no-op unless something was missed), and the
    /// balancers no longer wanted are stopped gracefully and removed.
    pub(super) async fn finish_balancers(&self) {
        {
            let mut state = self.balancing.lock().await;
            self.sync_balancers(&mut state).await;
        }
        if self.stopped() {
            return;
        }
        let removals = self
            .plan
            .balancer_actions()
            .filter(|b| b.action == BalancerAction::Remove)
            .filter_map(|b| Some((b, b.container.as_ref()?)))
            .map(|(b, old)| async move {
                let started = Instant::now();
                let result = self
                    .discard(&b.host, &old.id)
                    .await
                    .map(|()| format!("removed ({})", b.reason));
                let removed = result.is_ok().then(|| b.host.clone());
                self.record_balancer(&b.host, old.name.clone(), result, started);
                removed
            });
        let removed: BTreeSet<String> = join_all(removals).await.into_iter().flatten().collect();
        self.blank_retired_certificates(&removed).await;
    }

    /// Blanks the certificate files a balancer no longer reads, once its configuration without
    /// them is loaded: a rotated-out key does not stay on the host. (The empty files stay
    /// until the host reboots, as blanked secrets do.)
    async fn blank_retired_certificates(&self, removed: &BTreeSet<String>) {
        let config = {
            let state = self.balancing.lock().await;
            balancer::render(self.desired, &state.rotation)
        };
        let root = contract::balancer_tls_dir(&self.desired.project);
        for b in &self.plan.balancers {
            if b.retired_certificates.is_empty() {
                continue;
            }
            let loaded = {
                let state = self.balancing.lock().await;
                state.written.get(&b.host) == Some(&config)
            };
            let Ok(engine) = self.engine(&b.host) else {
                continue;
            };
            // A balancer still running (its removal failed) may read them after a restart.
            let gone = b.action == BalancerAction::Remove && removed.contains(&b.host);
            if !loaded && !gone {
                continue;
            }
            for id in &b.retired_certificates {
                let empty = crate::engine::HostFile {
                    name: contract::BALANCER_CERTIFICATE_FILE.to_string(),
                    content: Vec::new(),
                    mode: 0o400,
                    uid: 0,
                    gid: 0,
                };
                let _ = self
                    .call(
                        &b.host,
                        self.options.call_timeout,
                        engine.put_files(
                            &format!("{root}/{id}"),
                            &self.desired.balancer.image,
                            &[empty],
                            contract::object_labels(&self.desired.project),
                        ),
                    )
                    .await;
            }
        }
    }

    /// A replica that became good starts taking traffic (exposed services only).
    pub(super) async fn enter_rotation(
        &self,
        host: &str,
        service: &str,
        id: &str,
        name: &str,
    ) -> Result<(), OpError> {
        let Some(via) = self
            .desired
            .services
            .get(service)
            .and_then(|s| s.expose_via.as_ref())
        else {
            return Ok(());
        };
        let Some(address) = balancer::host_address(self.desired, host) else {
            return Ok(());
        };
        let engine = self.engine(host)?;
        let probe = self
            .call(host, self.options.call_timeout, engine.probe(id))
            .await?;
        let port = probe
            .and_then(|p| p.tcp_ports.iter().find(|(c, _)| *c == via.port).copied())
            .map(|(_, host_port)| host_port)
            .ok_or(OpError::Replica(ReplicaFailure::PortNotPublished {
                port: via.port,
            }))?;
        let mut state = self.balancing.lock().await;
        let endpoints = state.rotation.entry(service.to_string()).or_default();
        // A replica started again may have been given another host port.
        endpoints.retain(|e| !(e.host == host && e.id == id));
        endpoints.insert(Endpoint {
            host: host.to_string(),
            container: name.to_string(),
            id: id.to_string(),
            address,
            port,
        });
        self.sync_balancers(&mut state).await;
        Ok(())
    }

    /// A replica about to stop leaves the balancers first and keeps its connections for its
    /// service's drain time. Nothing happens for a container not in rotation.
    pub(super) async fn leave_rotation(&self, host: &str, id: &str) {
        let mut state = self.balancing.lock().await;
        let mut drain = None;
        for (service, endpoints) in state.rotation.iter_mut() {
            let before = endpoints.len();
            endpoints.retain(|e| !(e.host == host && e.id == id));
            if endpoints.len() < before {
                drain = Some(
                    self.desired
                        .services
                        .get(service)
                        .and_then(|s| s.expose_via.as_ref())
                        .map_or(DEFAULT_DRAIN, |e| e.drain),
                );
            }
        }
        let Some(drain) = drain else {
            return;
        };
        self.sync_balancers(&mut state).await;
        drop(state);
        tokio::time::sleep(drain).await;
    }

    fn record_balancer(
        &self,
        host: &str,
        container: String,
        result: Result<String, OpError>,
        started: Instant,
    ) {
        self.record(StepRecord {
            host: host.to_string(),
            kind: StepKind::Balancer,
            service: None,
            slot: None,
            container: Some(container),
            ok: result.is_ok(),
            detail: match result {
                Ok(d) => d,
                Err(e) => e.to_string(),
            },
            seconds: started.elapsed().as_secs_f64(),
        });
    }

    /// Writes on `host` the certificates of the desired state not in `done`, each in a
    /// directory of its own (named by the certificate's id, so that a changed certificate is a
    /// new file and the running configuration keeps reading the old one until the reload);
    /// returns every id the host has now.
    async fn put_certificates(
        &self,
        host: &str,
        done: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, OpError> {
        let wanted: BTreeSet<&str> = self
            .desired
            .certificates
            .values()
            .map(|c| c.id.as_str())
            .collect();
        let engine = self.engine(host)?;
        let root = contract::balancer_tls_dir(&self.desired.project);
        let mut have = done.clone();
        for id in wanted {
            if done.contains(id) {
                continue;
            }
            let Some(file) = self.payload.certificate_file(id) else {
                continue;
            };
            self.call(
                host,
                self.options.call_timeout,
                engine.put_files(
                    &format!("{root}/{id}"),
                    &self.desired.balancer.image,
                    &[file],
                    contract::object_labels(&self.desired.project),
                ),
            )
            .await?;
            have.insert(id.to_string());
        }
        Ok(have)
    }

    /// Makes a balancer load its configuration file again and waits until a worker runs it.
    /// HAProxy drops a reload signal that arrives while it is finishing the previous reload,
    /// so a signal without effect within a second is sent again (reloading twice is harmless).
    async fn reload(&self, host: &str, id: &str) -> Result<(), OpError> {
        let engine = self.engine(host)?;
        let t = self.options.call_timeout;
        let before = self.call(host, t, engine.pids(id)).await?;
        let deadline = Instant::now() + RELOAD_TIMEOUT;
        loop {
            self.call(host, t, engine.signal(id, contract::BALANCER_RELOAD_SIGNAL))
                .await?;
            let attempt = (Instant::now() + RESIGNAL_AFTER).min(deadline);
            if self.new_worker(host, id, &before, attempt).await? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.balancer_failed(host, id).await);
            }
        }
    }

    /// Waits for a balancer's first worker.
    async fn await_worker(&self, host: &str, id: &str) -> Result<(), OpError> {
        if self
            .new_worker(host, id, &[], Instant::now() + RELOAD_TIMEOUT)
            .await?
        {
            Ok(())
        } else {
            Err(self.balancer_failed(host, id).await)
        }
    }

    /// Whether an HAProxy worker process that is not in `before` appears by `deadline`: the
    /// master forks one only once the configuration loaded. A balancer that stops failed.
    async fn new_worker(
        &self,
        host: &str,
        id: &str,
        before: &[String],
        deadline: Instant,
    ) -> Result<bool, OpError> {
        let engine = self.engine(host)?;
        let t = self.options.call_timeout;
        loop {
            let pids = self.call(host, t, engine.pids(id)).await?;
            // The master and at least one worker, one of them new.
            if pids.len() >= 2 && pids.iter().any(|p| !before.contains(p)) {
                return Ok(true);
            }
            if pids.is_empty() {
                return Err(self.balancer_failed(host, id).await);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Why a balancer does not run its configuration, with the end of its log.
    async fn balancer_failed(&self, host: &str, id: &str) -> OpError {
        let engine = match self.engine(host) {
            Ok(e) => e,
            Err(e) => return e,
        };
        let t = self.options.call_timeout;
        let name = contract::balancer_container_name(&self.desired.project);
        let state = match self.call(host, t, engine.probe(id)).await {
            Ok(Some(p)) if !p.running => BalancerState::Exited { code: p.exit_code },
            Ok(Some(_)) => BalancerState::NoWorker(RELOAD_TIMEOUT),
            Ok(None) => BalancerState::Disappeared,
            Err(e) => return e,
        };
        let log = self
            .call(host, t, engine.log_tail(id, 6))
            .await
            .unwrap_or_default();
        OpError::Replica(ReplicaFailure::Balancer {
            state,
            container: name,
            log,
        })
    }

    /// Writes the configuration of the current rotation to every balancer that has another one,
    /// and reloads it. A balancer that cannot be updated is reported; its own health checks
    /// still take stopped replicas out.
    async fn sync_balancers(&self, state: &mut Balancing) {
        let config = balancer::render(self.desired, &state.rotation);
        let stale: Vec<(String, String)> = state
            .containers
            .iter()
            .filter(|(host, _)| state.written.get(*host) != Some(&config) && self.host_ok(host))
            .map(|(h, id)| (h.clone(), id.clone()))
            .collect();
        let written = join_all(stale.iter().map(|(host, _)| {
            let done = state.certified.get(host).cloned().unwrap_or_default();
            async move { (host.clone(), self.put_certificates(host, &done).await) }
        }))
        .await;
        let mut failed = Vec::new();
        for (host, result) in written {
            match result {
                Ok(ids) => state.certified.entry(host).or_default().extend(ids),
                Err(e) => failed.push((host, e)),
            }
        }
        let stale: Vec<(String, String)> = stale
            .into_iter()
            .filter(|(h, _)| !failed.iter().any(|(f, _)| f == h))
            .collect();
        for (host, e) in failed {
            self.record_balancer(
                &host,
                contract::balancer_container_name(&self.desired.project),
                Err(OpError::Replica(ReplicaFailure::BalancerUpdate(Box::new(
                    e,
                )))),
                Instant::now(),
            );
        }
        let config = &config;
        let results = join_all(stale.iter().map(|(host, id)| async move {
            let started = Instant::now();
            let engine = self.engine(host)?;
            let t = self.options.call_timeout;
            self.call(
                host,
                t,
                engine.write_file(
                    id,
                    contract::BALANCER_CONFIG_DIR,
                    contract::BALANCER_CONFIG_FILE,
                    config,
                ),
            )
            .await?;
            self.reload(host, id).await?;
            Ok::<Duration, OpError>(started.elapsed())
        }))
        .await;
        for ((host, _), result) in stale.into_iter().zip(results) {
            match result {
                Ok(_) => {
                    state.written.insert(host, config.clone());
                }
                Err(e) => self.record_balancer(
                    &host,
                    contract::balancer_container_name(&self.desired.project),
                    Err(OpError::Replica(ReplicaFailure::BalancerUpdate(Box::new(
                        e,
                    )))),
                    Instant::now(),
                ),
            }
        }
    }
}
