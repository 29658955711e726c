//! One task per host: keep a connection, ping it, follow the project's Docker events, and
//! report all of it to the reconcile loop as [`Trigger`]s. Decisions stay with the loop.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Connect, HostEvent, PING_TIMEOUT, Trigger};
use crate::docker::{DockerEngine, endpoint};
use crate::engine::{Engine, EngineError, SharedEngine};
use crate::spec::model::Host;
use crate::ssh::SshOptions;

/// One host: keep a connection, ping it, follow its events; report to the loop. Runs until
/// aborted.
pub(super) async fn follow_host(
    name: String,
    host: Host,
    connect: Connect,
    project: String,
    every: Duration,
    triggers: mpsc::Sender<Trigger>,
) {
    enum Way {
        Ssh(Arc<SshOptions>),
        Given(Option<SharedEngine>),
    }
    let way = match connect {
        Connect::Ssh(options) => Way::Ssh(Arc::new(options)),
        Connect::Given(mut engines) => Way::Given(engines.remove(&name)),
    };
    loop {
        let attempt = Instant::now();
        let connected = match &way {
            Way::Ssh(ssh) => {
                let deadline = ssh.connect_timeout * 2 + Duration::from_secs(5);
                let connecting = tokio::time::timeout(deadline, async {
                    let engine = DockerEngine::connect(&endpoint(&host, ssh)?, ssh).await?;
                    Ok::<SharedEngine, EngineError>(Arc::new(engine))
                });
                // A black-holed host lets a connection attempt hang for its whole timeout:
                // the loop hears of it every probe interval meanwhile, so that a host is
                // declared down on time whatever the connect timeout.
                let mut connecting = std::pin::pin!(connecting);
                let mut report = tokio::time::interval_at(attempt + every, every);
                loop {
                    tokio::select! {
                        done = &mut connecting => break done.unwrap_or(Err(EngineError::Timeout(deadline))),
                        _ = report.tick() => {
                            let failed = Trigger::HostFailed {
                                host: name.clone(),
                                error: format!("no connection within {:?}", attempt.elapsed()),
                                hint: None,
                                since: attempt,
                            };
                            if triggers.send(failed).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
            // A given engine is "connected" once it answers a ping.
            Way::Given(Some(engine)) => {
                match tokio::time::timeout(PING_TIMEOUT, engine.ping()).await {
                    Ok(Ok(_)) => Ok(Arc::clone(engine)),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(EngineError::Timeout(PING_TIMEOUT)),
                }
            }
            Way::Given(None) => Err(EngineError::Unexpected(format!(
                "no engine was given for the host {name}"
            ))),
        };
        let (error, hint, since) = match connected {
            Ok(engine) => {
                let up = Trigger::HostUp {
                    host: name.clone(),
                    engine: Arc::clone(&engine),
                };
                if triggers.send(up).await.is_err() {
                    return;
                }
                let (error, since) =
                    follow_events(&name, engine.as_ref(), &project, every, &triggers).await;
                (error, None, since)
            }
            Err(e) => (crate::error::full_message(&e), e.hint(), attempt),
        };
        let failed = Trigger::HostFailed {
            host: name.clone(),
            error,
            hint,
            since,
        };
        if triggers.send(failed).await.is_err() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

/// Forwards the project's container events and pings every `every`; returns why it stopped,
/// and since when the host has not answered (the start of the failed ping).
async fn follow_events(
    name: &str,
    engine: &dyn Engine,
    project: &str,
    every: Duration,
    triggers: &mpsc::Sender<Trigger>,
) -> (String, Instant) {
    let mut events = std::pin::pin!(engine.container_events(project));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            item = events.next() => match item {
                Some(Ok(event)) => {
                    // Health checks alone make three exec events a second per replica: only
                    // what the loop decides on is sent, so a long pass never fills the queue.
                    if !wanted(&event.action) {
                        continue;
                    }
                    let event = HostEvent {
                        host: name.to_string(),
                        service: event.labels.get(crate::labels::SERVICE).cloned(),
                        slot: event.labels.get(crate::labels::SLOT).and_then(|s| s.parse().ok()),
                        action: event.action,
                        container: event.id,
                    };
                    if triggers.send(Trigger::Event(event)).await.is_err() {
                        return ("stopping".into(), Instant::now());
                    }
                }
                Some(Err(e)) => return (format!("the events stream failed: {}", crate::error::full_message(&e)), Instant::now()),
                None => return ("the events stream ended".into(), Instant::now()),
            },
            _ = ticks.tick() => {
                let sent = Instant::now();
                match tokio::time::timeout(PING_TIMEOUT, engine.ping()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return (crate::error::full_message(&e), sent),
                    Err(_) => return (format!("no answer to a ping within {PING_TIMEOUT:?}"), sent),
                }
            }
        }
    }
}

/// Container events the loop acts on (see `Daemon::take`).
fn wanted(action: &str) -> bool {
    matches!(
        action,
        "kill" | "die" | "oom" | "stop" | "destroy" | "start" | "create"
    ) || action.starts_with("health_status")
}
