//! The project lock: one per project per host, held on the host itself.
//!
//! A lock is a Docker volume named `fleet-lock-{project}` whose labels say who holds it. Volume
//! creation is atomic on the engine: creating a volume that exists returns the existing one with
//! its labels unchanged, so a run holds the lock exactly when the labels it gets back carry its
//! own token. Nothing else is needed on the host, and the lock survives the process that took it
//! (a killed run's lock stays until broken with `fleet lock break`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::docker::{Engine, EngineError};
use crate::labels;

pub const HOLDER: &str = "fleet.lock.holder";
pub const SINCE: &str = "fleet.lock.since";
pub const COMMAND: &str = "fleet.lock.command";
pub const TOKEN: &str = "fleet.lock.token";
pub const MACHINE: &str = "fleet.lock.machine";
pub const PID: &str = "fleet.lock.pid";

pub fn lock_name(project: &str) -> String {
    format!("fleet-lock-{project}")
}

/// Who holds (or wants) a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// `user@machine pid N`.
    pub who: String,
    /// RFC 3339, UTC.
    pub since: String,
    /// What the holder is doing, e.g. `apply`.
    pub command: String,
    /// Unique per run: tells our lock from anyone else's.
    pub token: String,
    /// The machine and process holding it, to recognise a lock whose process is gone.
    pub machine: String,
    pub pid: Option<u32>,
}

impl Holder {
    pub fn me(command: &str) -> Holder {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let machine = this_machine();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Holder {
            who: format!("{user}@{machine} pid {}", std::process::id()),
            since: rfc3339(now.as_secs()),
            command: command.to_string(),
            token: format!("{}-{}-{}", machine, std::process::id(), now.as_nanos()),
            machine,
            pid: Some(std::process::id()),
        }
    }

    fn labels(&self, project: &str) -> HashMap<String, String> {
        let mut labels = crate::docker::create::object_labels(project);
        labels.insert(HOLDER.into(), self.who.clone());
        labels.insert(SINCE.into(), self.since.clone());
        labels.insert(COMMAND.into(), self.command.clone());
        labels.insert(TOKEN.into(), self.token.clone());
        labels.insert(MACHINE.into(), self.machine.clone());
        if let Some(pid) = self.pid {
            labels.insert(PID.into(), pid.to_string());
        }
        labels
    }

    fn from_labels(labels: &HashMap<String, String>) -> Holder {
        let get = |k: &str| labels.get(k).cloned().unwrap_or_else(|| "unknown".into());
        Holder {
            who: get(HOLDER),
            since: get(SINCE),
            command: get(COMMAND),
            token: get(TOKEN),
            machine: get(MACHINE),
            pid: labels.get(PID).and_then(|p| p.parse().ok()),
        }
    }

    /// Whether this lock was taken on this machine by a process that no longer runs: a run
    /// killed here. Anything else (another machine, a live process) is never presumed dead.
    pub fn is_orphaned_here(&self) -> bool {
        let Some(pid) = self.pid else {
            return false;
        };
        if self.machine != this_machine() || pid == std::process::id() {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // A zombie is as dead as a missing process.
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }
}

fn this_machine() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (`fleet {}`) since {}",
            self.who, self.command, self.since
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the lock on {host} is held by {holder}; waited {waited:?}")]
    Held {
        host: String,
        holder: Holder,
        waited: Duration,
    },
    #[error("could not take the lock on {host}")]
    Engine {
        host: String,
        #[source]
        source: EngineError,
    },
}

/// Tries once to take the lock on one engine: `Ok(None)` when taken, `Ok(Some(holder))` when
/// someone else holds it.
pub async fn try_lock(
    engine: &Engine,
    project: &str,
    me: &Holder,
) -> Result<Option<Holder>, EngineError> {
    let got = engine
        .create_volume(bollard::models::VolumeCreateRequest {
            name: Some(lock_name(project)),
            labels: Some(me.labels(project)),
            ..Default::default()
        })
        .await?;
    let holder = Holder::from_labels(&got);
    Ok((holder.token != me.token).then_some(holder))
}

/// Who holds the lock on one engine, if anyone.
pub async fn holder(engine: &Engine, project: &str) -> Result<Option<Holder>, EngineError> {
    Ok(engine
        .volume_labels(&lock_name(project))
        .await?
        .filter(|l| l.get(labels::PROJECT).map(String::as_str) == Some(project))
        .map(|l| Holder::from_labels(&l)))
}

/// Takes the lock on every given host, in name order (so two runs never hold halves of the
/// fleet waiting on each other). Waits up to `timeout` for each; `waiting` is told once per host
/// it has to wait for, `broken` about each orphaned lock of a run killed on this machine, which
/// is removed. On failure, the locks already taken are released.
pub async fn lock_all(
    engines: &BTreeMap<String, Arc<Engine>>,
    project: &str,
    me: &Holder,
    timeout: Duration,
    waiting: &(dyn Fn(&str, &Holder) + Sync),
    broken: &(dyn Fn(&str, &Holder) + Sync),
) -> Result<(), LockError> {
    let start = Instant::now();
    let mut taken: Vec<&str> = Vec::new();
    for (host, engine) in engines {
        let mut told = false;
        loop {
            match try_lock(engine, project, me).await {
                Ok(None) => {
                    taken.push(host);
                    break;
                }
                Ok(Some(holder)) if holder.is_orphaned_here() => {
                    broken(host, &holder);
                    if let Err(source) = break_lock(engine, project).await {
                        release(engines, &taken, project, me).await;
                        return Err(LockError::Engine {
                            host: host.clone(),
                            source,
                        });
                    }
                }
                Ok(Some(holder)) => {
                    if start.elapsed() >= timeout {
                        release(engines, &taken, project, me).await;
                        return Err(LockError::Held {
                            host: host.clone(),
                            holder,
                            waited: timeout,
                        });
                    }
                    if !told {
                        waiting(host, &holder);
                        told = true;
                    }
                    let left = timeout.saturating_sub(start.elapsed());
                    tokio::time::sleep(left.min(Duration::from_millis(500))).await;
                }
                Err(source) => {
                    release(engines, &taken, project, me).await;
                    return Err(LockError::Engine {
                        host: host.clone(),
                        source,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Releases our lock on the given hosts; a lock someone else now holds is left alone.
pub async fn release(
    engines: &BTreeMap<String, Arc<Engine>>,
    hosts: &[&str],
    project: &str,
    me: &Holder,
) {
    let tasks = hosts.iter().filter_map(|h| engines.get(*h)).map(|engine| {
        // A host that went silent keeps its lock; it is broken as orphaned by the next run
        // from this machine, or with `fleet lock break`.
        tokio::time::timeout(Duration::from_secs(5), async move {
            if let Ok(Some(holder)) = holder(engine, project).await
                && holder.token == me.token
            {
                let _ = engine.remove_volume(&lock_name(project)).await;
            }
        })
    });
    futures_util::future::join_all(tasks).await;
}

/// Removes whatever lock is on the engine (for `fleet lock break`).
pub async fn break_lock(engine: &Engine, project: &str) -> Result<(), EngineError> {
    engine.remove_volume(&lock_name(project)).await
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_600_000), "2026-11-25T09:46:40Z");
    }

    #[test]
    fn a_holder_round_trips_through_labels() {
        let me = Holder::me("apply");
        let labels = me.labels("shop");
        assert_eq!(labels[labels::PROJECT], "shop");
        assert_eq!(Holder::from_labels(&labels), me);
        assert!(me.who.contains(&std::process::id().to_string()));
    }

    #[test]
    fn only_a_dead_process_on_this_machine_orphans_a_lock() {
        let me = Holder::me("apply");
        assert!(!me.is_orphaned_here(), "our own lock");
        let parent = Holder {
            pid: Some(std::os::unix::process::parent_id()),
            ..me.clone()
        };
        assert!(!parent.is_orphaned_here(), "a live process");
        let dead = Holder {
            pid: Some(u32::MAX - 1),
            ..me.clone()
        };
        assert!(dead.is_orphaned_here());
        let elsewhere = Holder {
            machine: "some-other-machine".into(),
            ..dead.clone()
        };
        assert!(!elsewhere.is_orphaned_here());
        let unknown = Holder { pid: None, ..dead };
        assert!(!unknown.is_orphaned_here());
    }
}
