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
                        let what = match (&e.service, e.slot) {
                            (Some(service), Some(slot)) => format!("replica {service}.{slot}"),
                            (Some(service), None) => format!("a container of {service}"),
                            _ => "a container".into(),
                        };
                        let why = if asked {
                            format!("{what} was killed on {}: restarting it", e.host)
                        } else {
                            format!("{what} exited on its own on {}: restarting it", e.host)
                        };
                        // The engine sends `die` before it marks the container stopped, so the
                        // restart is often made by the pass that looks again: it says why too.
                        self.settling_reason = Some(why.clone());
                        Some(why)
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
                let was_down = link.up(engine);
                self.publish_reachable();
                // What failed before may work now: the next failure starts the backoff over.
                self.retries = 0;
                if was_down {
                    info!(host = %host, "host is back: removing its stale replicas and rebalancing");
                    self.notify(
                        "host_up",
                        format!("host {host} is back: its stale replicas are removed and the replicas rebalanced"),
                        Some(&host),
                    );
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
            Trigger::Samples(samples) => self.scale_round(*samples),
            Trigger::LeaseGained(hosts) => {
                debug!(hosts = ?hosts, "watch lease held again");
                Some(format!("lease held on {}", hosts.join(", ")))
            }
            Trigger::HostFailed {
                host,
                error,
                hint,
                since,
            } => {
                let down_after = self.host_down_after();
                let link = self.links.entry(host.clone()).or_insert_with(Link::new);
                let had_engine = link.engine.is_some();
                let change = link.failed(error.clone(), since.min(now), now, down_after);
                if had_engine {
                    self.publish_reachable();
                }
                match change {
                    HostChange::Unreachable => {
                        warn!(host = %host, error = %error, hint = hint.as_deref(), "host unreachable");
                        Some(format!("host {host} unreachable"))
                    }
                    HostChange::Down => {
                        warn!(host = %host, after = ?down_after, "host declared down: moving its replicas to other hosts");
                        self.notify(
                            "host_down",
                            format!(
                                "host {host} declared down (unreachable for {}s: {error}); its replicas move to other hosts",
                                down_after.as_secs()
                            ),
                            Some(&host),
                        );
                        self.shared.count(|m| m.hosts_down_total += 1);
                        Some(format!("host {host} down"))
                    }
                    HostChange::None => None,
                }
            }
        }
    }
}

/// What a failed probe changes about a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HostChange {
    /// It was reachable until now: its replicas are held back (neither lost nor moved).
    Unreachable,
    /// Unreachable long enough and often enough: its replicas are presumed lost and placed on
    /// other hosts.
    Down,
    None,
}

impl Link {
    /// The host answers (again); says whether it had been declared down.
    pub(super) fn up(&mut self, engine: SharedEngine) -> bool {
        let was_down = self.down;
        self.engine = Some(engine);
        self.failures = 0;
        self.failing_since = None;
        self.down = false;
        self.error = None;
        self.since = now_rfc3339();
        was_down
    }

    /// A probe of the host, started at `probed`, failed at `now`. It is down once it failed
    /// [`DOWN_AFTER_FAILURES`] times in a row and `down_after` has passed since the first
    /// failing probe was started: a single slow ping never moves replicas, nor does a burst of
    /// failures within a second, and a probe's own timeout does not add to `down_after`.
    pub(super) fn failed(
        &mut self,
        error: String,
        probed: Instant,
        now: Instant,
        down_after: Duration,
    ) -> HostChange {
        self.engine = None;
        self.failures += 1;
        let since = *self.failing_since.get_or_insert(probed);
        self.error = Some(error);
        if self.failures == 1 {
            self.since = now_rfc3339();
        }
        if !self.down
            && self.failures >= DOWN_AFTER_FAILURES
            && now.duration_since(since) >= down_after
        {
            self.down = true;
            self.since = now_rfc3339();
            return HostChange::Down;
        }
        if self.failures == 1 {
            HostChange::Unreachable
        } else {
            HostChange::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_down_only_after_enough_failures_over_enough_time() {
        let start = Instant::now();
        let after = Duration::from_secs(60);
        let mut link = Link::new();
        assert_eq!(
            link.failed("x".into(), start, start, after),
            HostChange::Unreachable
        );
        // Three failures within the window: unreachable, not down.
        assert_eq!(
            link.failed(
                "x".into(),
                start + Duration::from_secs(1),
                start + Duration::from_secs(1),
                after
            ),
            HostChange::None
        );
        assert_eq!(
            link.failed(
                "x".into(),
                start + Duration::from_secs(2),
                start + Duration::from_secs(2),
                after
            ),
            HostChange::None
        );
        assert!(!link.down);
        // Past the window: down, once.
        assert_eq!(
            link.failed("x".into(), start + after, start + after, after),
            HostChange::Down
        );
        assert!(link.down);
        assert_eq!(
            link.failed("x".into(), start + after * 2, start + after * 2, after),
            HostChange::None
        );
    }

    #[test]
    fn the_window_counts_from_the_start_of_the_first_failing_probe() {
        // A ping sent at 0 times out at 3 s; reconnecting hangs, reported every 2 s.
        let start = Instant::now();
        let after = Duration::from_secs(6);
        let at = |s: u64| start + Duration::from_secs(s);
        let mut link = Link::new();
        assert_eq!(
            link.failed("ping".into(), at(0), at(3), after),
            HostChange::Unreachable
        );
        assert_eq!(
            link.failed("connect".into(), at(3), at(5), after),
            HostChange::None
        );
        assert_eq!(
            link.failed("connect".into(), at(3), at(6), after),
            HostChange::Down
        );
    }

    #[test]
    fn two_failures_over_a_long_time_are_not_enough() {
        let start = Instant::now();
        let after = Duration::from_secs(1);
        let mut link = Link::new();
        link.failed("x".into(), start, start, after);
        assert_eq!(
            link.failed(
                "x".into(),
                start + Duration::from_secs(600),
                start + Duration::from_secs(600),
                after
            ),
            HostChange::None
        );
        assert!(!link.down);
    }

    #[test]
    fn a_host_that_answers_starts_counting_again_and_says_it_was_down() {
        let start = Instant::now();
        let after = Duration::ZERO;
        let mut link = Link::new();
        for i in 0..3 {
            link.failed(
                "x".into(),
                start + Duration::from_secs(i),
                start + Duration::from_secs(i),
                after,
            );
        }
        assert!(link.down);
        let engine: SharedEngine =
            crate::engine::memory::MemoryEngine::new("h", crate::engine::memory::Registry::new());
        assert!(link.up(engine.clone()));
        assert!(!link.up(engine));
        assert_eq!(
            link.failed(
                "x".into(),
                start + Duration::from_secs(9),
                start + Duration::from_secs(9),
                after
            ),
            HostChange::Unreachable
        );
    }
}
