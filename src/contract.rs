//! The contract between fleet and the hosts: what a container is called and labelled, and what
//! its spec hash covers.
//!
//! Pure functions, no I/O. Planning, observing and creating containers all read the same names
//! and hashes from here, so changing anything in this module changes what fleet recognises as
//! up to date on every host: a different spec hash replaces every replica (or balancer) it
//! covers. The label keys themselves are in [`crate::labels`].

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::spec::Desired;
use crate::spec::model::Service;

/// Where the balancer's configuration lives in its container (the official image's default
/// path).
pub const BALANCER_CONFIG_DIR: &str = "/usr/local/etc/haproxy";
pub const BALANCER_CONFIG_FILE: &str = "haproxy.cfg";
/// The signal that makes the balancer's HAProxy master process load the configuration again
/// (master-worker mode): new workers take over the listening sockets, old ones finish their
/// connections.
pub const BALANCER_RELOAD_SIGNAL: &str = "SIGUSR2";
/// Bumped when the balancer container's shape (not its configuration) changes.
const BALANCER_RECIPE: u32 = 1;

/// The part of a service that shapes its containers, as stored in the [`crate::labels::SPEC`]
/// label. Placement and rollout settings are left out: changing them must not replace replicas.
pub fn container_spec(service: &Service) -> Value {
    let mut value = serde_json::to_value(service).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("origin");
        map.remove("depends_on");
        // Neither shapes the container: which services run, and when an image is pulled.
        map.remove("profiles");
        map.remove("pull_policy");
        // Of the exposure only the container port shapes the container (it is published);
        // balancer port, protocol, drain and health path are the balancers' business.
        if let Some(port) = map
            .remove("expose_via")
            .and_then(|e| e.get("port").cloned())
        {
            map.insert("expose_port".into(), port);
        }
        if let Some(Value::Object(deploy)) = map.get_mut("deploy") {
            for key in [
                "mode",
                "replicas",
                "placement",
                "update_config",
                "rollback_config",
            ] {
                deploy.remove(key);
            }
        }
    }
    value
}

/// A short, stable hash of [`container_spec`]: equal hashes mean an identical container.
pub fn spec_hash(service: &Service) -> String {
    short_hash(&container_spec(service).to_string())
}

/// The container name for a replica: unique per spec so that a start-first rollout can run the
/// old and new replica of one slot side by side.
pub fn container_name(project: &str, service: &str, slot: u32, hash: &str) -> String {
    format!("{project}-{service}-{slot}-{}", &hash[..hash.len().min(8)])
}

/// The balancer container's name on every ingress host.
pub fn balancer_container_name(project: &str) -> String {
    format!("{project}-balancer")
}

/// Identifies the balancer container's shape: a different hash means "replace".
pub fn balancer_spec_hash(desired: &Desired) -> String {
    short_hash(&format!("{BALANCER_RECIPE}\0{}", desired.balancer.image))
}

/// The file the balancer container runs HAProxy with.
pub fn balancer_config_path() -> String {
    format!("{BALANCER_CONFIG_DIR}/{BALANCER_CONFIG_FILE}")
}

/// The network a service joins when it names none, as in Compose.
pub const DEFAULT_NETWORK: &str = "default";

/// Engine-side name of the project network `name`.
pub fn network_name(desired: &Desired, name: &str) -> String {
    desired
        .networks
        .get(name)
        .and_then(|n| n.name.clone())
        .unwrap_or_else(|| format!("{}_{name}", desired.project))
}

/// Engine-side name of the project volume `name`.
pub fn volume_name(desired: &Desired, name: &str) -> String {
    desired
        .volumes
        .get(name)
        .and_then(|v| v.name.clone())
        .unwrap_or_else(|| format!("{}_{name}", desired.project))
}

/// The project networks (keys in fleet.yaml) a service joins.
pub fn service_networks(service: &Service) -> Vec<String> {
    if service.networks.is_empty() {
        vec![DEFAULT_NETWORK.to_string()]
    } else {
        service.networks.keys().cloned().collect()
    }
}

/// The labels fleet puts on every object it creates for a project.
pub fn object_labels(project: &str) -> HashMap<String, String> {
    HashMap::from([
        (crate::labels::MANAGED.to_string(), "true".to_string()),
        (crate::labels::PROJECT.to_string(), project.to_string()),
    ])
}

/// What identifies a replica, written into its labels.
pub struct ReplicaIdentity<'a> {
    pub project: &'a str,
    pub service: &'a str,
    pub slot: u32,
    pub spec_hash: &'a str,
    pub commit: Option<&'a str>,
}

/// The labels of one replica: the service's own, then fleet's (which win).
pub fn replica_labels(service: &Service, id: &ReplicaIdentity<'_>) -> HashMap<String, String> {
    use crate::labels;
    let mut out: HashMap<String, String> = service
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.extend(object_labels(id.project));
    out.insert(labels::SERVICE.into(), id.service.into());
    out.insert(labels::SLOT.into(), id.slot.to_string());
    out.insert(labels::SPEC_HASH.into(), id.spec_hash.into());
    out.insert(labels::SPEC.into(), container_spec(service).to_string());
    if let Some(commit) = id.commit {
        out.insert(labels::COMMIT.into(), commit.into());
    }
    out
}

/// The labels of the project's balancer container.
pub fn balancer_labels(desired: &Desired) -> HashMap<String, String> {
    use crate::labels;
    let mut out = object_labels(&desired.project);
    out.insert(labels::ROLE.into(), labels::ROLE_BALANCER.into());
    out.insert(labels::SPEC_HASH.into(), balancer_spec_hash(desired));
    out
}

/// The first 8 bytes of the SHA-256 of `text`, in lower-case hex. Stored in labels on running
/// containers: changing it replaces every container fleet manages.
fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
