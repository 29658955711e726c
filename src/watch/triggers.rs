//! What wakes the loop, taken into account: Docker events (crashes and hand kills told
//! apart), hosts coming and going (down after `host_down_after`), the lease task's verdicts.

use super::*;

impl Daemon {
    pub(super) fn host_down_after(&self) -> Duration {
        self.settings.host_down_after.unwrap_or_else(|| {
            self.held
                .as_ref()
                .map(|h| h.desired.watch.host_down_after)
                .or_else(|| {
                    self.tip
                        .as_ref()
                        .and_then(|t| t.desired.as_ref().ok())
                        .map(|d| d.watch.host_down_after)
                })
                .unwrap_or(Duration::from_secs(60))
        })
    }

    /// Takes a trigger into account; says why a pass is needed, if one is.
    pub(super) fn take(&mut self, trigger: Trigger, next_poll: &mut Instant) -> Option<String> {
        let now = Instant::now();
        match trigger {
            Trigger::Webhook => {
                *next_poll = now;
                Some("webhook".into())
            }
            Trigger::Event(e) => {
                self.shared.count(|m| m.events += 1);
                debug!(host = %e.host, action = %e.action, container = %&e.container[..e.container.len().min(12)], "docker event");
                match e.action.as_str() {
                    "kill" => {
                        self.kills.insert(e.container.clone(), now);
                        None
                    }
                    "die" => {
                        self.dying.insert(e.container.clone(), now);
                        let asked = self
                            .kills
                            .remove(&e.container)
                            .is_some_and(|t| now.duration_since(t) < KILL_WINDOW);
                        if let (false, Some(service), Some(slot)) = (asked, &e.service, e.slot) {
                            info!(host = %e.host, service = %service, slot, "replica exited on its own");
                            self.backoff.crashed((service.clone(), slot), now);
                        }
                        Some(format!(
                            "{} died on {}",
                            e.service.as_deref().unwrap_or("a container"),
                            e.host
                        ))
                    }
                    "oom" | "stop" | "destroy" | "start" | "create" => Some(format!(
                        "{} {} on {}",
                        e.service.as_deref().unwrap_or("a container"),
                        e.action,
                        e.host
                    )),
                    a if a.starts_with("health_status") => Some(format!(
                        "{} {} on {}",
                        e.service.as_deref().unwrap_or("a container"),
                        a,
                        e.host
                    )),
                    _ => None,
                }
            }
            Trigger::HostUp { host, engine } => {
                let link = self.links.entry(host.clone()).or_insert_with(Link::new);
                let was_down = link.down;
                link.engine = Some(engine);
                link.failures = 0;
                link.failing_since = None;
                link.down = false;
                link.error = None;
                link.since = now_rfc3339();
                self.publish_reachable();
                // What failed before may work now: the next failure starts the backoff over.
                self.retries = 0;
                if was_down {
                    info!(host = %host, "host is back: removing its stale replicas and rebalancing");
                } else {
                    info!(host = %host, "host reachable");
                }
                Some(format!("host {host} up"))
            }
            Trigger::Lease(role) => {
                let was = self.leading;
                self.leading = role == lease::Role::Leader;
                self.shared.update(|s| match &role {
                    lease::Role::Leader => {
                        s.role = Role::Leader;
                        s.leader = None;
                    }
                    lease::Role::Standby { leader } => {
                        s.role = Role::Standby;
                        s.leader = Some(leader.clone());
                    }
                });
                (self.leading && !was).then(|| "became leader".to_string())
            }
            Trigger::LeaseGained(hosts) => {
                debug!(hosts = ?hosts, "watch lease held again");
                Some(format!("lease held on {}", hosts.join(", ")))
            }
            Trigger::HostFailed { host, error } => {
                let down_after = self.host_down_after();
                let link = self.links.entry(host.clone()).or_insert_with(Link::new);
                let had_engine = link.engine.take().is_some();
                link.failures += 1;
                let since = *link.failing_since.get_or_insert(now);
                if link.failures == 1 {
                    link.since = now_rfc3339();
                    warn!(host = %host, error = %error, "host unreachable");
                }
                link.error = Some(error);
                if had_engine {
                    self.publish_reachable();
                }
                let link = self.links.entry(host.clone()).or_insert_with(Link::new);
                if !link.down
                    && link.failures >= DOWN_AFTER_FAILURES
                    && now.duration_since(since) >= down_after
                {
                    link.down = true;
                    link.since = now_rfc3339();
                    warn!(host = %host, after = ?down_after, "host declared down: moving its replicas to other hosts");
                    self.shared.count(|m| m.hosts_down_total += 1);
                    return Some(format!("host {host} down"));
                }
                (link.failures == 1).then(|| format!("host {host} unreachable"))
            }
        }
    }
}
