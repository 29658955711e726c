//! The contract between fleet and the hosts: what a container is called and labelled, and what
//! its spec hash covers.
//!
//! Pure functions, no I/O. Planning, observing and creating containers all read the same names
//! and hashes from here, so changing anything in this module changes what fleet recognises as
//! up to date on every host: a different spec hash replaces every replica (or balancer) it
//! covers. The label keys themselves are in [`crate::labels`].

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::spec::Desired;
use crate::spec::model::{FileMount, Mount, Service};

/// Where the balancer's configuration lives in its container (the official image's default
/// path).
pub const BALANCER_CONFIG_DIR: &str = "/usr/local/etc/haproxy";
pub const BALANCER_CONFIG_FILE: &str = "haproxy.cfg";
/// Where a balancer sees the certificates of TLS services: the host's
/// [`balancer_tls_dir`], bound read-only; one directory per certificate, named by its id.
pub const BALANCER_TLS_DIR: &str = "/usr/local/etc/haproxy/tls";
/// The file in a certificate's directory: the chain, then the key (as HAProxy reads it).
pub const BALANCER_CERTIFICATE_FILE: &str = "bundle.pem";
/// The signal that makes the balancer's HAProxy master process load the configuration again
/// (master-worker mode): new workers take over the listening sockets, old ones finish their
/// connections.
pub const BALANCER_RELOAD_SIGNAL: &str = "SIGUSR2";
/// Bumped when the balancer container's shape (not its configuration) changes.
const BALANCER_RECIPE: u32 = 1;

const SECRET_MARKERS: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"];

/// Whether an environment variable's name says its value is secret: such a value is never
/// shown, and never stored in a label.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

/// What the spec label holds for a secret-looking environment value: a keyed digest, so a
/// change still changes the spec hash. The key is not secret (the engine shows a container's
/// environment to whoever can inspect it anyway); it keeps the value itself out of labels,
/// logs and plans that copy them.
fn env_digest(name: &str, value: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(
        format!("fleet environment digest v1\0{name}").as_bytes(),
    )
    .expect("HMAC takes a key of any length");
    mac.update(value.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("hmac:{hex}")
}

/// The part of a service that shapes its containers, as stored in the [`crate::labels::SPEC`]
/// label. Placement and rollout settings are left out: changing them must not replace replicas.
/// Secret-looking environment values are replaced by a keyed digest of them.
pub fn container_spec(service: &Service) -> Value {
    let mut value = serde_json::to_value(service).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        if let Some(Value::Object(env)) = map.get_mut("environment") {
            for (name, v) in env.iter_mut() {
                if let (true, Value::String(text)) = (is_secret_name(name), &*v) {
                    *v = Value::String(env_digest(name, text));
                }
            }
        }
        keep_serde_durations(map, service);
        map.remove("origin");
        map.remove("depends_on");
        // Neither shapes the container: which services run, and when an image is pulled.
        map.remove("profiles");
        map.remove("pull_policy");
        // Where the image came from: the container runs the same image either way.
        map.remove("image_source");
        // What the daemon does about an unhealthy replica is not the container's shape.
        map.remove("replace_unhealthy");
        map.remove("autoscale");
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

/// The durations that shape a container, in the form the spec label had before JSON took
/// durations as seconds (`{"secs": 10, "nanos": 0}`): the label, and so the spec hash, of a
/// running replica must not change with fleet's version, or every replica would be replaced.
fn keep_serde_durations(map: &mut serde_json::Map<String, Value>, service: &Service) {
    fn serde_form(d: &Option<std::time::Duration>) -> Value {
        d.map_or(
            Value::Null,
            |d| serde_json::json!({ "secs": d.as_secs(), "nanos": d.subsec_nanos() }),
        )
    }
    if map.contains_key("stop_grace_period") {
        map.insert(
            "stop_grace_period".into(),
            serde_form(&service.stop_grace_period),
        );
    }
    if let (Some(Value::Object(check)), Some(h)) =
        (map.get_mut("healthcheck"), &service.healthcheck)
    {
        for (key, d) in [
            ("interval", &h.interval),
            ("timeout", &h.timeout),
            ("start_period", &h.start_period),
            ("start_interval", &h.start_interval),
        ] {
            check.insert(key.into(), serde_form(d));
        }
    }
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

/// Identifies the balancer container's shape: a different hash means "replace". A balancer
/// binds the certificates directory only when a service has TLS, so that a project without
/// keeps the balancers it has.
pub fn balancer_spec_hash(desired: &Desired) -> String {
    let mut recipe = format!("{BALANCER_RECIPE}\0{}", desired.balancer.image);
    if balancer_binds_tls(desired) {
        recipe.push_str("\0tls");
    }
    if balancer_binds_stats(desired) {
        recipe.push_str("\0stats");
    }
    short_hash(&recipe)
}

/// Whether the balancers bind [`balancer_stats_dir`]: a service autoscales on traffic, and
/// `fleet watch` reads the balancers' counters through a socket there.
pub fn balancer_binds_stats(desired: &Desired) -> bool {
    desired
        .services
        .values()
        .any(|s| s.expose_via.is_some() && s.autoscale.as_ref().is_some_and(|a| a.uses_traffic()))
}

/// Whether the balancers bind [`balancer_tls_dir`]: a service is served over TLS.
pub fn balancer_binds_tls(desired: &Desired) -> bool {
    desired
        .exposed()
        .any(|(_, e)| e.routes.as_ref().is_some_and(|r| r.tls.is_some()))
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

/// Where secrets live on the hosts: `/run` is a tmpfs on systemd hosts, so a secret never
/// reaches a disk and is gone after a reboot (fleet writes it again before starting replicas).
pub const SECRETS_ROOT: &str = "/run/fleet";

/// Where fleet writes the certificates the balancers serve on a host: under
/// [`SECRETS_ROOT`], as keys are secrets. Service names never start with a dot.
pub fn balancer_tls_dir(project: &str) -> String {
    format!("{SECRETS_ROOT}/{project}/.balancer-tls")
}

/// Where a balancer's statistics socket is on its host: one directory per host (hosts may share
/// a filesystem, as the testbed's do), bound into the balancer at [`BALANCER_STATS_DIR`].
pub fn balancer_stats_dir(project: &str, host: &str) -> String {
    format!("{SECRETS_ROOT}/{project}/.balancer-stats/{host}")
}

/// Where the balancer sees [`balancer_stats_dir`].
pub const BALANCER_STATS_DIR: &str = "/run/fleet-stats";
/// The statistics socket in that directory (`level user`: counters only, no commands).
pub const BALANCER_STATS_SOCKET: &str = "stats.sock";

/// What fleet writes on a host for a service, each set in a directory of its own: its Compose
/// secrets, its configs, and the repository files and directories it mounts (`./x:/y`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shipped {
    Secrets,
    Configs,
    Repository,
}

impl Shipped {
    pub const ALL: [Shipped; 3] = [Shipped::Secrets, Shipped::Configs, Shipped::Repository];

    /// How the plan and the messages name one of them.
    pub fn noun(self) -> &'static str {
        match self {
            Shipped::Secrets => "secret",
            Shipped::Configs => "config",
            Shipped::Repository => "repository file",
        }
    }
}

/// One file (or directory) a replica binds: where it is on the host, where in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

/// What a service mounts of one kind, in order: (name in the repository or of the secret or
/// config, target, read-only).
fn shipped_mounts(service: &Service, kind: Shipped) -> Vec<(&str, &str, bool)> {
    match kind {
        Shipped::Secrets => service
            .secrets
            .iter()
            .map(|m| (m.source.as_str(), m.target.as_str(), true))
            .collect(),
        Shipped::Configs => service
            .configs
            .iter()
            .map(|m| (m.source.as_str(), m.target.as_str(), true))
            .collect(),
        Shipped::Repository => service
            .volumes
            .iter()
            .filter_map(|m| match m {
                Mount::RepoBind {
                    source,
                    target,
                    read_only,
                    ..
                } => Some((source.as_str(), target.as_str(), *read_only)),
                _ => None,
            })
            .collect(),
    }
}

/// The key of a shipped file's content digest in [`Service::file_digests`].
pub fn digest_key(kind: Shipped, source: &str) -> String {
    let prefix = match kind {
        Shipped::Secrets => "secret",
        Shipped::Configs => "config",
        Shipped::Repository => "repository",
    };
    format!("{prefix}:{source}")
}

/// The name of the `index`th mounted file of a kind in its directory: its place in the list,
/// then the last part of its source (one source may be mounted twice, with different owners or
/// modes).
pub fn mounted_file_name(index: usize, source: &str) -> String {
    let last = source.rsplit('/').next().unwrap_or(source);
    format!("{index}-{last}")
}

/// The directory on `host` holding the files of `kind` that service `name` mounts, named by a
/// digest of their contents, targets, owners and modes, so that a change makes a new directory
/// and a replica never sees another version's files. `None` when it mounts none. Secrets are
/// under [`SECRETS_ROOT`]; configs and repository files under the host's data directory (they
/// are not secret, and survive a reboot).
pub fn files_dir(
    desired: &Desired,
    host: &str,
    name: &str,
    service: &Service,
    kind: Shipped,
) -> Option<String> {
    let mounts = shipped_mounts(service, kind);
    if mounts.is_empty() {
        return None;
    }
    let owners: Vec<String> = match kind {
        Shipped::Secrets => service.secrets.iter().map(owner).collect(),
        Shipped::Configs => service.configs.iter().map(owner).collect(),
        Shipped::Repository => Vec::new(),
    };
    let set = set_name(kind, &mounts, &owners, &service.file_digests);
    Some(match kind {
        Shipped::Secrets => format!("{SECRETS_ROOT}/{}/{name}/{set}", desired.project),
        Shipped::Configs => format!("{}/.fleet/configs/{name}/{set}", desired.data_dir(host)),
        Shipped::Repository => {
            format!("{}/.fleet/repository/{name}/{set}", desired.data_dir(host))
        }
    })
}

/// The name of a set of files: a digest of what is in it and how it is mounted.
fn set_name(
    kind: Shipped,
    mounts: &[(&str, &str, bool)],
    owners: &[String],
    digests: &BTreeMap<String, String>,
) -> String {
    let mut text = String::new();
    for (i, (source, target, read_only)) in mounts.iter().enumerate() {
        let digest = digests
            .get(&digest_key(kind, source))
            .map(String::as_str)
            .unwrap_or("");
        let owner = owners.get(i).map(String::as_str).unwrap_or("");
        text.push_str(&format!(
            "{i}\0{source}\0{target}\0{read_only}\0{owner}\0{digest}\n"
        ));
    }
    short_hash(&text)
}

/// The secrets directory of a running container of service `name`, and the names of the files
/// in it, read from its spec label (the service may have changed or gone since).
pub fn secrets_of_spec(
    desired: &Desired,
    name: &str,
    spec: &Value,
) -> Option<(String, Vec<String>)> {
    let secrets: Vec<FileMount> = serde_json::from_value(spec.get("secrets")?.clone()).ok()?;
    if secrets.is_empty() {
        return None;
    }
    let digests: BTreeMap<String, String> = spec
        .get("file_digests")
        .and_then(|d| serde_json::from_value(d.clone()).ok())
        .unwrap_or_default();
    let mounts: Vec<(&str, &str, bool)> = secrets
        .iter()
        .map(|m| (m.source.as_str(), m.target.as_str(), true))
        .collect();
    let owners: Vec<String> = secrets.iter().map(owner).collect();
    let set = set_name(Shipped::Secrets, &mounts, &owners, &digests);
    let files = secrets
        .iter()
        .enumerate()
        .map(|(i, m)| mounted_file_name(i, &m.source))
        .collect();
    Some((
        format!("{SECRETS_ROOT}/{}/{name}/{set}", desired.project),
        files,
    ))
}

fn owner(m: &FileMount) -> String {
    format!("{:o}:{:?}:{:?}", m.mode, m.uid, m.gid)
}

/// Everything a replica of `service` binds from what fleet wrote on the host: its secrets and
/// configs (read-only) and its repository files and directories.
pub fn mounted_files(desired: &Desired, host: &str, name: &str, service: &Service) -> Vec<Bound> {
    let mut out = Vec::new();
    for kind in Shipped::ALL {
        let Some(dir) = files_dir(desired, host, name, service, kind) else {
            continue;
        };
        for (i, (source, target, read_only)) in
            shipped_mounts(service, kind).into_iter().enumerate()
        {
            out.push(Bound {
                source: format!("{dir}/{}", mounted_file_name(i, source)),
                target: target.to_string(),
                read_only,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{MemoryFiles, load};

    fn service(env: &str) -> Service {
        let yaml = format!(
            "project: p\nservices:\n  web:\n    image: web:1\n    environment: {{ {env} }}\n"
        );
        let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml.as_str())]));
        loaded.desired.expect("valid").services["web"].clone()
    }

    /// JSON took durations as seconds after spec labels were written with serde's
    /// `{"secs", "nanos"}`: the label keeps that form, so running replicas keep their hash.
    #[test]
    fn durations_in_the_spec_label_keep_their_old_form_so_replicas_are_not_replaced() {
        let yaml = "project: p\nservices:\n  web:\n    image: web:1\n    stop_grace_period: 30s\n    healthcheck: { test: [CMD, 'true'], interval: 500ms }\n";
        let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml)]));
        let web = &loaded.desired.expect("valid").services["web"];
        let label = container_spec(web);
        assert_eq!(
            label["stop_grace_period"],
            serde_json::json!({ "secs": 30, "nanos": 0 })
        );
        assert_eq!(
            label["healthcheck"]["interval"],
            serde_json::json!({ "secs": 0, "nanos": 500_000_000 })
        );
        assert_eq!(label["healthcheck"]["timeout"], Value::Null);
        let json = serde_json::to_value(web).unwrap();
        assert_eq!(json["stop_grace_period"], 30);
        assert_eq!(json["healthcheck"]["interval"], 0.5);
    }

    #[test]
    fn the_spec_label_holds_no_secret_looking_value_but_its_changes_still_count() {
        let a = service("DB_PASSWORD: hunter2-value, MODE: demo");
        let label = container_spec(&a).to_string();
        assert!(!label.contains("hunter2"), "{label}");
        assert!(label.contains("\"MODE\":\"demo\""), "{label}");
        let b = service("DB_PASSWORD: other-value, MODE: demo");
        assert_ne!(spec_hash(&a), spec_hash(&b));
        assert_eq!(
            spec_hash(&a),
            spec_hash(&service("DB_PASSWORD: hunter2-value, MODE: demo"))
        );
    }
}
