//! Why a step of a run failed, as values: either the host failed (it is marked and skipped from
//! then on) or the operation did (the engine refused, a replica or balancer is bad, a resource
//! is missing); and why a run aborted or a rollback fell short.
//!
//! Each renders as the very line that reports and progress show (a step's `detail`, a host's
//! `reason`, a service's `detail`, a run's `aborted`): the text is user-visible, so a change to
//! a message here is a change of fleet's output. The line already carries the causes (an
//! engine error is shown with its chain), so none of these types has a `source()`.

use std::fmt;
use std::time::Duration;

use thiserror::Error;

use crate::engine::EngineError;
use crate::error::full_message;
use crate::lock::Lost;
use crate::plan::Action;

/// Why one operation failed.
#[derive(Debug, Error)]
pub(super) enum OpError {
    /// The host failed (it is marked and skipped from now on).
    #[error("{0}")]
    Host(HostFailure),
    /// The operation itself failed (the engine refused, the replica is bad).
    #[error("{0}")]
    Replica(ReplicaFailure),
}

/// Why a host is failed for the rest of the run.
#[derive(Debug, Error)]
pub(super) enum HostFailure {
    /// The plan saw it unreachable.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// It is in the plan but the run has no engine for it.
    #[error("not connected")]
    NotConnected,
    /// It was marked failed by an earlier step.
    #[error("host failed earlier in this run")]
    FailedEarlier,
    /// The run's lock (or the daemon's lease) there ran out or was taken over: nothing more is
    /// sent to it.
    #[error("{0}")]
    Fenced(Lost),
    /// A call got no answer within its bound.
    #[error("no answer within {0:?}")]
    NoAnswer(Duration),
    /// The engine or the connection to it failed (anything but the engine refusing a call).
    #[error("{}", full_message(.0))]
    Engine(EngineError),
}

/// Why an operation failed on a host that is still fine.
#[derive(Debug, Error)]
pub(super) enum ReplicaFailure {
    /// The engine answered and refused or failed the call ([`EngineError::Api`]): its own
    /// message when it sent one.
    #[error("{}", refused(.0))]
    Refused(EngineError),
    /// The replica was gone while it was waited for.
    #[error("the container disappeared")]
    Disappeared,
    /// The replica exited (or restarted) while it was waited for; `error` is the engine's.
    #[error("exited with code {code}{}", then_colon(error.as_deref()))]
    Exited { code: i64, error: Option<String> },
    /// Its health check failed; `output` is the last check's output (its first line is shown).
    #[error("unhealthy{}", then_colon((!output.is_empty()).then(|| first_line(output))))]
    Unhealthy { output: String },
    /// A replica with a health check was not healthy by the end of `window`.
    #[error(
        "not healthy within the monitor window plus one health check interval ({window:?}); \
         raise deploy.update_config.monitor or shorten the health check interval"
    )]
    NotHealthyInTime { window: Duration },
    /// A replica without a health check did not run through the whole `monitor` window.
    #[error("not running after the monitor window ({monitor:?})")]
    NotRunning { monitor: Duration },
    /// An exposed service's port is not published, so no balancer can reach the replica.
    #[error("port {port} of the replica is not published on the host")]
    PortNotPublished { port: u16 },
    /// A network declared `external` is not on the host.
    #[error("the external network `{name}` does not exist")]
    NoExternalNetwork { name: String },
    /// A volume declared `external` is not on the host.
    #[error("the external volume `{name}` does not exist")]
    NoExternalVolume { name: String },
    /// A create or replace without a container to create: only a hand-edited plan file has one.
    #[error("the plan has a {action:?} of `{service}` without a container to create")]
    NothingToCreate { action: Action, service: String },
    /// A balancer does not run its configuration; `log` is the end of its log.
    #[error(
        "the balancer {state} (a port already taken on the host, an invalid configuration, or an \
         image without haproxy?); `docker logs {container}` there ends with: {}",
        log.trim().replace('\n', " | ")
    )]
    Balancer {
        state: BalancerState,
        container: String,
        log: String,
    },
    /// A balancer could not be given the current rotation.
    #[error("updating the balancer failed: {0}")]
    BalancerUpdate(Box<OpError>),
}

/// What a balancer that does not run its configuration is doing instead.
#[derive(Debug)]
pub(super) enum BalancerState {
    Exited {
        code: i64,
    },
    /// Still running, but no worker with the configuration within this long.
    NoWorker(Duration),
    Disappeared,
}

impl fmt::Display for BalancerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BalancerState::Exited { code } => write!(f, "exited with code {code}"),
            BalancerState::NoWorker(within) => write!(f, "started no worker within {within:?}"),
            BalancerState::Disappeared => f.write_str("disappeared"),
        }
    }
}

/// Why a run stopped before changing any container.
#[derive(Debug, Error)]
pub(super) enum Abort {
    /// Preparing the hosts failed: every problem found, in host order.
    #[error("{}", join(.0))]
    Prepare(Vec<PrepareFailure>),
    /// Stopped (interrupt, `--fail-fast`) while preparing.
    #[error("stopped before any container was changed")]
    Stopped,
}

/// A problem preparing a host that aborts the run (problems of the host itself do not: the
/// host is marked failed instead).
#[derive(Debug, Error)]
pub(super) enum PrepareFailure {
    /// Whether the host has the image could not be told.
    #[error("{host}: {image}: {error}")]
    ImageCheck {
        host: String,
        image: String,
        error: ReplicaFailure,
    },
    /// The registry (through the engine) refused or failed the pull.
    #[error("shipping {image}: {message}")]
    Ship { image: String, message: String },
    #[error("pulling {image} on {host} failed: {message}")]
    Pull {
        host: String,
        image: String,
        message: String,
    },
    #[error("{host}: network {name}: {error}")]
    Network {
        host: String,
        name: String,
        error: ReplicaFailure,
    },
    #[error("{host}: volume {name}: {error}")]
    Volume {
        host: String,
        name: String,
        error: ReplicaFailure,
    },
    /// Writing a service's secrets or configs on the host failed.
    #[error("{host}: the {what} of service {service}: {error}")]
    Files {
        host: String,
        service: String,
        what: &'static str,
        error: ReplicaFailure,
    },
}

/// Why a rollback did not put every touched slot back: one entry per slot not restored.
#[derive(Debug, Error)]
#[error("{}", join(.0))]
pub(super) struct RollbackFailure(pub(super) Vec<NotRestored>);

/// One slot a rollback did not restore.
#[derive(Debug, Error)]
pub(super) enum NotRestored {
    /// Its host had failed: nothing could be done there (the next run converges).
    #[error("{host}: slot {slot} not restored (host failed)")]
    HostFailed { host: String, slot: u32 },
    /// A step of the restore failed.
    #[error("{0}")]
    Step(OpError),
}

/// The engine's own message for a refused call, else the error and its causes.
fn refused(error: &EngineError) -> String {
    error
        .engine_message()
        .map_or_else(|| full_message(error), str::to_string)
}

/// `": text"`, or nothing.
fn then_colon(text: Option<&str>) -> String {
    text.map(|t| format!(": {t}")).unwrap_or_default()
}

fn join(items: &[impl fmt::Display]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The first non-blank line, trimmed.
fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts are fleet's output (step details, host reasons, progress lines, a run's abort
    /// reason): each is the very text fleet printed before its errors had types.
    #[test]
    fn failures_read_as_they_always_did() {
        let api = |message: Option<&str>| EngineError::Api {
            message: message.map(str::to_string),
            source: "409 Conflict".into(),
        };
        let secs = Duration::from_secs;
        let cases: Vec<(String, &str)> = vec![
            (
                HostFailure::Unreachable("timeout".into()).to_string(),
                "unreachable: timeout",
            ),
            (HostFailure::NotConnected.to_string(), "not connected"),
            (
                HostFailure::FailedEarlier.to_string(),
                "host failed earlier in this run",
            ),
            (
                HostFailure::Fenced(Lost {
                    host: "a1".into(),
                    what: "project lock",
                })
                .to_string(),
                "this run no longer holds the project lock on a1 (not renewed in time, or taken \
                 over)",
            ),
            (
                HostFailure::NoAnswer(secs(30)).to_string(),
                "no answer within 30s",
            ),
            (
                HostFailure::Engine(EngineError::EngineDown {
                    socket: "/run/docker.sock".into(),
                    source: "connection refused".into(),
                })
                .to_string(),
                "the Docker engine at /run/docker.sock is not answering: connection refused",
            ),
            (
                ReplicaFailure::Refused(api(Some("name in use"))).to_string(),
                "name in use",
            ),
            (
                ReplicaFailure::Refused(api(None)).to_string(),
                "Docker API call failed: 409 Conflict",
            ),
            (
                ReplicaFailure::Disappeared.to_string(),
                "the container disappeared",
            ),
            (
                ReplicaFailure::Exited {
                    code: 1,
                    error: None,
                }
                .to_string(),
                "exited with code 1",
            ),
            (
                ReplicaFailure::Exited {
                    code: 127,
                    error: Some("exec: not found".into()),
                }
                .to_string(),
                "exited with code 127: exec: not found",
            ),
            (
                ReplicaFailure::Unhealthy {
                    output: String::new(),
                }
                .to_string(),
                "unhealthy",
            ),
            (
                ReplicaFailure::Unhealthy {
                    output: "\n  curl: (7) refused \nsecond line".into(),
                }
                .to_string(),
                "unhealthy: curl: (7) refused",
            ),
            (
                ReplicaFailure::NotHealthyInTime { window: secs(35) }.to_string(),
                "not healthy within the monitor window plus one health check interval (35s); \
                 raise deploy.update_config.monitor or shorten the health check interval",
            ),
            (
                ReplicaFailure::NotRunning { monitor: secs(5) }.to_string(),
                "not running after the monitor window (5s)",
            ),
            (
                ReplicaFailure::PortNotPublished { port: 8080 }.to_string(),
                "port 8080 of the replica is not published on the host",
            ),
            (
                ReplicaFailure::NoExternalNetwork {
                    name: "edge".into(),
                }
                .to_string(),
                "the external network `edge` does not exist",
            ),
            (
                ReplicaFailure::NoExternalVolume {
                    name: "data".into(),
                }
                .to_string(),
                "the external volume `data` does not exist",
            ),
            (
                ReplicaFailure::NothingToCreate {
                    action: Action::Replace,
                    service: "web".into(),
                }
                .to_string(),
                "the plan has a Replace of `web` without a container to create",
            ),
            (
                ReplicaFailure::Balancer {
                    state: BalancerState::Exited { code: 1 },
                    container: "shop-balancer".into(),
                    log: "\nbind failed\nexiting\n".into(),
                }
                .to_string(),
                "the balancer exited with code 1 (a port already taken on the host, an invalid \
                 configuration, or an image without haproxy?); `docker logs shop-balancer` there \
                 ends with: bind failed | exiting",
            ),
            (
                ReplicaFailure::Balancer {
                    state: BalancerState::NoWorker(secs(5)),
                    container: "shop-balancer".into(),
                    log: String::new(),
                }
                .to_string(),
                "the balancer started no worker within 5s (a port already taken on the host, an \
                 invalid configuration, or an image without haproxy?); `docker logs \
                 shop-balancer` there ends with: ",
            ),
            (BalancerState::Disappeared.to_string(), "disappeared"),
            (
                ReplicaFailure::BalancerUpdate(Box::new(OpError::Host(HostFailure::NoAnswer(
                    secs(30),
                ))))
                .to_string(),
                "updating the balancer failed: no answer within 30s",
            ),
            (
                OpError::Replica(ReplicaFailure::Disappeared).to_string(),
                "the container disappeared",
            ),
            (
                Abort::Prepare(vec![
                    PrepareFailure::ImageCheck {
                        host: "a1".into(),
                        image: "web:1".into(),
                        error: ReplicaFailure::Refused(api(Some("bad reference"))),
                    },
                    PrepareFailure::Pull {
                        host: "b1".into(),
                        image: "web:1".into(),
                        message: "manifest unknown".into(),
                    },
                ])
                .to_string(),
                "a1: web:1: bad reference; pulling web:1 on b1 failed: manifest unknown",
            ),
            (
                Abort::Prepare(vec![
                    PrepareFailure::Network {
                        host: "a1".into(),
                        name: "edge".into(),
                        error: ReplicaFailure::NoExternalNetwork {
                            name: "edge".into(),
                        },
                    },
                    PrepareFailure::Volume {
                        host: "a1".into(),
                        name: "shop_data".into(),
                        error: ReplicaFailure::Refused(api(Some("in use"))),
                    },
                ])
                .to_string(),
                "a1: network edge: the external network `edge` does not exist; a1: volume \
                 shop_data: in use",
            ),
            (
                Abort::Stopped.to_string(),
                "stopped before any container was changed",
            ),
            (
                RollbackFailure(vec![
                    NotRestored::HostFailed {
                        host: "b1".into(),
                        slot: 2,
                    },
                    NotRestored::Step(OpError::Replica(ReplicaFailure::Disappeared)),
                ])
                .to_string(),
                "b1: slot 2 not restored (host failed); the container disappeared",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text, expected);
        }
    }
}
