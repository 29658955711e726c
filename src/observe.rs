//! Observing: what every host runs for this project, as a plain [`Observed`] value.
//!
//! The types are plain data so that planning can be tested on hand-built values; the one async
//! function here fills them from the Docker edge. Containers that are not this project's are
//! dropped at the edge of this module and never reach planning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{Engine, EngineError, Listed};
use crate::labels::{self, Ownership};
// Defined with the label contract, which decides it; observing is where it is kept.
pub use crate::labels::Owner;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub hosts: BTreeMap<String, HostState>,
    /// The project's balancer containers, per reachable host.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub balancers: BTreeMap<String, Vec<Balancer>>,
}

/// What one reachable host runs for the project.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostObservation {
    pub containers: Vec<Container>,
    pub balancers: Vec<Balancer>,
}

/// A balancer container of the project, with the configuration it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Balancer {
    pub id: String,
    pub name: String,
    pub state: RunState,
    pub spec_hash: String,
    /// The configuration file as it is in the container (read only from running balancers).
    pub config: Option<String>,
}

/// A container port published on the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    pub container: u16,
    pub host: u16,
    pub protocol: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HostState {
    Reachable {
        containers: Vec<Container>,
    },
    /// Nothing is known of what runs there; its replicas are neither counted as lost nor moved.
    Unreachable {
        reason: String,
    },
    /// Unreachable for longer than `watch.host_down_after` (decided by `fleet watch`): its
    /// replicas are presumed lost and are placed on other hosts.
    Down {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub owner: Owner,
    pub state: RunState,
    pub health: Option<Health>,
    pub image_id: String,
    /// Unix seconds.
    pub created: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PublishedPort>,
}

impl Container {
    /// The host port a container port is published on (TCP).
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.ports
            .iter()
            .find(|p| p.container == container_port && p.protocol == "tcp")
            .map(|p| p.host)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
    Removing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Observed {
    /// Every container observed on a reachable host.
    pub fn containers(&self) -> impl Iterator<Item = &Container> {
        self.hosts
            .values()
            .filter_map(|h| match h {
                HostState::Reachable { containers } => Some(containers),
                _ => None,
            })
            .flatten()
    }

    /// Records what a reachable host runs.
    pub fn insert_reachable(&mut self, host: &str, seen: HostObservation) {
        self.hosts.insert(
            host.to_string(),
            HostState::Reachable {
                containers: seen.containers,
            },
        );
        if seen.balancers.is_empty() {
            self.balancers.remove(host);
        } else {
            self.balancers.insert(host.to_string(), seen.balancers);
        }
    }

    /// A stable digest of what was observed, so a saved plan can tell that the world moved.
    /// Health and creation time are left out: they change without anyone changing anything.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for (host, state) in &self.hosts {
            hasher.update(host.as_bytes());
            match state {
                HostState::Unreachable { .. } => hasher.update(b"\0unreachable"),
                HostState::Down { .. } => hasher.update(b"\0down"),
                HostState::Reachable { containers } => {
                    let mut ids: Vec<String> = containers
                        .iter()
                        .map(|c| format!("{}:{:?}:{}", c.id, c.state, c.image_id))
                        .collect();
                    ids.sort();
                    for id in ids {
                        hasher.update(b"\0");
                        hasher.update(id.as_bytes());
                    }
                }
            }
            hasher.update(b"\n");
        }
        // Balancers count too: a saved plan reloads them with what it was made from.
        for (host, balancers) in &self.balancers {
            for b in balancers {
                let config = Sha256::digest(b.config.as_deref().unwrap_or_default().as_bytes());
                hasher.update(format!("{host}\0{}:{:?}:", b.id, b.state).as_bytes());
                hasher.update(config);
            }
        }
        hasher
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn run_state(state: Option<&str>) -> RunState {
    match state.unwrap_or_default() {
        "running" => RunState::Running,
        "paused" => RunState::Paused,
        "restarting" => RunState::Restarting,
        "exited" => RunState::Exited,
        "dead" => RunState::Dead,
        "removing" => RunState::Removing,
        _ => RunState::Created,
    }
}

/// Docker reports health only in the status text of a list entry: "Up 3 minutes (healthy)".
fn health(status: Option<&str>) -> Option<Health> {
    let status = status?;
    if status.contains("(healthy)") {
        Some(Health::Healthy)
    } else if status.contains("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.contains("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    }
}

/// Lists this project's containers on one engine, and reads the configuration of its running
/// balancer.
pub async fn observe_host(
    engine: &dyn Engine,
    project: &str,
) -> Result<HostObservation, EngineError> {
    let list = engine.list_project(project).await?;
    let mut out = Vec::with_capacity(list.len());
    let mut balancers = Vec::new();
    for listed in list {
        let Listed {
            id,
            name,
            labels,
            state,
            status,
            image_id,
            created,
            ports,
        } = listed;
        let state = run_state(Some(&state));
        let owner = match labels::ownership(project, &labels) {
            Ownership::Foreign => continue,
            Ownership::Balancer { spec_hash } => {
                let config = if state == RunState::Running {
                    engine
                        .read_file(&id, &crate::contract::balancer_config_path(), 1 << 20)
                        .await?
                } else {
                    None
                };
                balancers.push(Balancer {
                    id,
                    name,
                    state,
                    spec_hash,
                    config,
                });
                continue;
            }
            Ownership::Container(owner) => owner,
        };
        let mut ports: Vec<PublishedPort> = ports
            .into_iter()
            .filter_map(|p| {
                Some(PublishedPort {
                    container: p.container,
                    host: p.host?,
                    protocol: p.protocol,
                })
            })
            .collect();
        // The engine lists a binding once per address family.
        ports.sort_by_key(|p| (p.container, p.host, p.protocol.clone()));
        ports.dedup();
        out.push(Container {
            id,
            name,
            owner,
            state,
            health: health(Some(&status)),
            image_id,
            created,
            ports,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    balancers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(HostObservation {
        containers: out,
        balancers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_read_from_the_status_text() {
        assert_eq!(
            health(Some("Up 3 minutes (healthy)")),
            Some(Health::Healthy)
        );
        assert_eq!(
            health(Some("Up 1 second (health: starting)")),
            Some(Health::Starting)
        );
        assert_eq!(
            health(Some("Up 2 hours (unhealthy)")),
            Some(Health::Unhealthy)
        );
        assert_eq!(health(Some("Up 2 hours")), None);
    }

    #[test]
    fn the_fingerprint_changes_when_a_container_changes_state() {
        let container = Container {
            id: "a".into(),
            name: "p-web-0".into(),
            owner: Owner::Malformed { why: String::new() },
            state: RunState::Running,
            health: None,
            image_id: "sha256:1".into(),
            created: 0,
            ports: Vec::new(),
        };
        let mut observed = Observed::default();
        observed.hosts.insert(
            "h".into(),
            HostState::Reachable {
                containers: vec![container.clone()],
            },
        );
        let before = observed.fingerprint();
        let mut stopped = container;
        stopped.state = RunState::Exited;
        observed.hosts.insert(
            "h".into(),
            HostState::Reachable {
                containers: vec![stopped],
            },
        );
        assert_ne!(before, observed.fingerprint());
    }
}
