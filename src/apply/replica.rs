//! The steps on one replica: create, start, wait until good (running and healthy), halt (out
//! of every balancer, drained, stopped) and discard.

use super::*;

impl Run<'_> {
    /// Creates a replica (not started); returns its id.
    pub(super) async fn create_replica(
        &self,
        host: &str,
        service: &str,
        slot: u32,
        new: &NewContainer,
    ) -> Result<String, OpError> {
        let engine = self.engine(host)?;
        let identity = ReplicaIdentity {
            project: &self.desired.project,
            service,
            slot,
            spec_hash: &new.spec_hash,
            commit: self.plan.commit.as_deref(),
        };
        let secret_env = self.payload.secret_env(&new.spec);
        let what = Create::Replica {
            desired: self.desired,
            host,
            secret_env: &secret_env,
            service: &new.spec,
            identity: &identity,
        };
        self.call(
            host,
            self.options.call_timeout,
            engine.create(&new.name, what),
        )
        .await
    }

    /// Starts a created replica. On failure it is removed: a created, never started replica
    /// would be kept by the next plan as merely "stopped".
    pub(super) async fn start_replica(&self, host: &str, id: &str) -> Result<(), OpError> {
        let engine = self.engine(host)?;
        let t = self.options.call_timeout;
        if let Err(e) = self.call(host, t, engine.start(id)).await {
            let _ = self.call(host, t, engine.remove(id)).await;
            return Err(e);
        }
        Ok(())
    }

    /// Waits until the replica is good: running and, if it has a health check, healthy, within
    /// `monitor`. Without a health check it must stay running for the whole window. The engine
    /// runs the first health check one `interval` after the start, so the window for a health
    /// check is `monitor` plus that interval (the engine's 30 s when not known); otherwise a
    /// monitor shorter than the interval could never pass. A restart counts as a failure only
    /// beyond `restarts_before`: a start sets the engine's count back to zero, but a container
    /// that was already running keeps the count of its whole life.
    pub(super) async fn wait_good(
        &self,
        host: &str,
        id: &str,
        monitor: Duration,
        health_interval: Option<Duration>,
        restarts_before: i64,
    ) -> Result<String, OpError> {
        let engine = self.engine(host)?;
        let start = Instant::now();
        let health_window = monitor + health_interval.unwrap_or(Duration::from_secs(30));
        loop {
            let probe = self
                .call(host, self.options.call_timeout, engine.probe(id))
                .await?;
            let Some(probe) = probe else {
                return Err(OpError::Replica(ReplicaFailure::Disappeared));
            };
            if probe.exited || probe.restarts > restarts_before {
                return Err(OpError::Replica(ReplicaFailure::Exited {
                    code: probe.exit_code,
                    error: probe.error,
                }));
            }
            match &probe.health {
                Some(ProbeHealth::Healthy) if probe.running => {
                    return Ok(format!(
                        "healthy after {:.2}s",
                        start.elapsed().as_secs_f64()
                    ));
                }
                Some(ProbeHealth::Unhealthy(output)) => {
                    return Err(OpError::Replica(ReplicaFailure::Unhealthy {
                        output: output.clone(),
                    }));
                }
                _ => {}
            }
            let window = if probe.health.is_some() {
                health_window
            } else {
                monitor
            };
            if start.elapsed() >= window {
                return match probe.health {
                    None if probe.running => {
                        Ok(format!("running for {:.1}s", start.elapsed().as_secs_f64()))
                    }
                    Some(_) => Err(OpError::Replica(ReplicaFailure::NotHealthyInTime {
                        window,
                    })),
                    None => Err(OpError::Replica(ReplicaFailure::NotRunning { monitor })),
                };
            }
            tokio::time::sleep(self.options.poll).await;
        }
    }

    /// Stops a container gracefully (its own stop timeout applies), after taking it out of the
    /// balancers and letting it drain when it was in rotation.
    pub(super) async fn halt(&self, host: &str, id: &str) -> Result<(), OpError> {
        let engine = self.engine(host)?;
        self.leave_rotation(host, id).await;
        // The engine takes up to the container's grace period; allow that plus the usual bound.
        let grace = self
            .desired
            .services
            .values()
            .filter_map(|s| s.stop_grace_period)
            .max()
            .unwrap_or_default()
            .max(DOCKER_STOP_TIMEOUT);
        self.call(
            host,
            grace + self.options.call_timeout,
            engine.stop(id, None),
        )
        .await
    }

    /// Stops and removes a container.
    pub(super) async fn discard(&self, host: &str, id: &str) -> Result<(), OpError> {
        self.halt(host, id).await?;
        let engine = self.engine(host)?;
        self.call(host, self.options.call_timeout, engine.remove(id))
            .await
    }
}
