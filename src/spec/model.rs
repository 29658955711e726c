//! The desired state as typed, validated values: what the rest of fleet works from.
//!
//! Everything here has been checked by the loader; later stages can rely on names being valid,
//! references resolving and numbers being in range. Plain data only: no I/O, no behaviour that
//! depends on the outside world.

mod autoscale;
mod expose;
mod images;
mod objects;
pub use autoscale::*;
pub use expose::*;
pub use images::*;
pub use objects::*;
pub mod seconds;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The name of the host used when fleet.yaml declares none.
pub const LOCAL_HOST: &str = "local";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub project: String,
    pub hosts: BTreeMap<String, Host>,
    pub services: BTreeMap<String, Service>,
    pub volumes: BTreeMap<String, Volume>,
    pub networks: BTreeMap<String, Network>,
    /// Settings of the `fleet watch` daemon for this project.
    #[serde(default)]
    pub watch: WatchSettings,
    /// The load balancers in front of exposed services (`balancer:` in fleet.yaml).
    #[serde(default)]
    pub balancer: BalancerSettings,
    /// Compose `secrets:`: files mounted read-only into the services that name them, kept in
    /// memory on the hosts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileSource>,
    /// Compose `configs:`: files (not secret) mounted read-only into the services that name
    /// them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileSource>,
    /// Who new secrets are encrypted to (`fleet secret set`, `rotate`): age recipients
    /// (`age1...`) and SSH public keys (`ssh-ed25519 ...`, `ssh-rsa ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_recipients: Vec<String>,
    /// The certificate the balancers serve for each service with `tls`, by service: public
    /// facts only, stamped with the payload (the certificates are read with the secrets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub certificates: BTreeMap<String, CertificateSummary>,
}

/// Where a secret's or config's content comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum FileSource {
    /// A file of the repository (its path from the repository root); `encrypted` when it is
    /// an age file (`.age`), decrypted on the machine running fleet.
    File { path: String, encrypted: bool },
    /// Written inline (`content:`, configs only).
    Content { text: String },
    /// One value of a SOPS file (YAML, JSON or dotenv, age recipients), as Flux and Argo CD
    /// users keep them: `key` is its dotted path (the variable, for dotenv).
    Sops { path: String, key: String },
}

/// A secret or config a service mounts: which one, where, and as whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMount {
    pub source: String,
    /// Absolute path in the container.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Permission bits, 0444 unless given.
    pub mode: u32,
}

impl Desired {
    /// Services grouped so that each group depends only on earlier groups.
    pub fn dependency_levels(&self) -> Vec<Vec<String>> {
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut levels = Vec::new();
        while done.len() < self.services.len() {
            let level: Vec<String> = self
                .services
                .iter()
                .filter(|(name, s)| {
                    !done.contains(name.as_str())
                        && s.depends_on
                            .keys()
                            .all(|d| done.contains(d) || !self.services.contains_key(d))
                })
                .map(|(name, _)| name.clone())
                .collect();
            if level.is_empty() {
                // A cycle (the loader refuses them): run the rest together rather than never.
                levels.push(
                    self.services
                        .keys()
                        .filter(|n| !done.contains(n.as_str()))
                        .cloned()
                        .collect(),
                );
                break;
            }
            done.extend(level.iter().cloned());
            levels.push(level);
        }
        levels
    }

    /// The directory on `host` holding the project's data directories (`Mount::DataDir`).
    pub fn data_dir(&self, host: &str) -> String {
        match self.hosts.get(host).and_then(|h| h.data_dir.as_deref()) {
            Some(dir) => dir.trim_end_matches('/').to_string(),
            None => format!("{DEFAULT_DATA_ROOT}/{}", self.project),
        }
    }

    /// Where the data directory `source` (a path from the repository root) is on `host`.
    pub fn data_path(&self, host: &str, source: &str) -> String {
        format!("{}/{source}", self.data_dir(host))
    }

    /// The hosts whose name and labels satisfy the service's placement constraints.
    pub fn eligible_hosts(&self, service: &Service) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|(name, host)| {
                service
                    .deploy
                    .placement
                    .constraints
                    .iter()
                    .all(|c| c.matches(name, &host.labels))
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// How many replicas the service should run: `replicas`, or one per eligible host for a
    /// global service.
    pub fn target_replicas(&self, service: &Service) -> u32 {
        match service.deploy.mode {
            Mode::Replicated => service.deploy.replicas,
            Mode::Global => u32::try_from(self.eligible_hosts(service).len()).unwrap_or(u32::MAX),
        }
    }
}

/// The top-level `watch:` section: how `fleet watch` treats this project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchSettings {
    /// A host unreachable for this long (and several probes in a row) is declared down and its
    /// replicas are rescheduled elsewhere.
    #[serde(with = "seconds")]
    pub host_down_after: Duration,
    /// Let a commit remove more than half of the running replicas (the mass-delete guard).
    pub allow_mass_delete: bool,
    /// Webhooks told about rollouts, rollbacks, failed heals, hosts lost and back, refused
    /// commits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifyTarget>,
}

/// One `watch.notify` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyTarget {
    pub url: NotifyUrl,
    pub format: NotifyFormat,
    /// The events sent; empty is every event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

/// Where a notification goes: written in fleet.yaml, or kept in a secret (webhook URLs often
/// carry a token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyUrl {
    Url(String),
    Secret(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// `{"event", "project", "commit", "message", "at", ...}`.
    Json,
    /// `{"text": ...}`, what Slack's (and Mattermost's, Rocket.Chat's) incoming webhooks take.
    Slack,
}

/// The events `watch.notify` may ask for.
pub const NOTIFY_EVENTS: &[&str] = &[
    "rollout",
    "rollback",
    "heal_failed",
    "host_down",
    "host_up",
    "commit_refused",
    "autoscale",
];

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            host_down_after: Duration::from_secs(60),
            allow_mass_delete: false,
            notify: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub address: Address,
    pub labels: BTreeMap<String, String>,
    /// Private key for this ssh host, on the machine running fleet (`~` expanded at connect).
    pub identity_file: Option<String>,
    /// Where the project's data directories live on this host; `None` is
    /// [`DEFAULT_DATA_ROOT`]`/<project>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

/// Under this directory each project gets its data directories on a host that sets no
/// `data_dir`.
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/fleet";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Address {
    /// The engine of the machine fleet runs on: `DOCKER_HOST` or /var/run/docker.sock.
    Local,
    Unix {
        path: String,
    },
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
        /// Path of the Docker socket on the remote machine.
        docker_socket: String,
    },
}

pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// Where in the repository a value was written, for messages about it later.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub image: String,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// env_file contents overlaid by `environment`, as Compose does.
    pub environment: BTreeMap<String, String>,
    pub ports: Vec<Port>,
    pub volumes: Vec<Mount>,
    /// Networks the service joins, with extra DNS aliases. Empty means the project's default
    /// network.
    pub networks: BTreeMap<String, ServiceNetwork>,
    pub labels: BTreeMap<String, String>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Restart,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    #[serde(default, with = "seconds::option")]
    pub stop_grace_period: Option<Duration>,
    pub stop_signal: Option<String>,
    pub init: Option<bool>,
    pub read_only: Option<bool>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub extra_hosts: Vec<String>,
    /// Container ports documented as exposed (no host port), e.g. `3000`, `8000-8010/udp`.
    pub expose: Vec<String>,
    pub hostname: Option<String>,
    pub logging: Option<Logging>,
    /// tmpfs mounts: `/path` or `/path:options`.
    pub tmpfs: Vec<String>,
    pub depends_on: BTreeMap<String, DependsOn>,
    pub deploy: Deploy,
    /// `x-fleet.expose`: served through the project's balancers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_via: Option<Expose>,
    /// Compose `container_name`: replicas keep fleet's names; this becomes an extra DNS alias of
    /// the service on each of its networks. Fields added after the first release are skipped
    /// when unset so that the spec hash of existing services does not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Compose `profiles`; a service whose profiles are all inactive never reaches the model,
    /// so this is informative only (and not part of the spec hash).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// When the image is pulled (not part of the spec hash).
    #[serde(default, skip_serializing_if = "PullPolicy::is_default")]
    pub pull_policy: PullPolicy,
    /// `x-fleet.image_source`: shipped to the hosts instead of pulled (not part of the spec hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_source: Option<ImageSource>,
    /// Settings of the container's host configuration (`shm_size`, `ulimits`, ...).
    #[serde(default, skip_serializing_if = "HostSettings::is_empty")]
    pub host: HostSettings,
    /// Compose `secrets` the service mounts (under /run/secrets unless a target says).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileMount>,
    /// Compose `configs` the service mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileMount>,
    /// `x-fleet.env_from_secrets`: variables set from secrets, for images that read them only
    /// from their environment (visible to whoever can inspect the container).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_from_secrets: BTreeMap<String, String>,
    /// `x-fleet.replace_unhealthy`: a running replica its health check marks unhealthy is
    /// replaced, as Swarm and Kubernetes do (the default).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub replace_unhealthy: bool,
    /// `x-fleet.autoscale`: `fleet watch` owns the replica count within these bounds;
    /// `deploy.replicas` is only the starting count. Not part of the spec hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// A keyed digest of the content of each secret and config it mounts (`secret:NAME`,
    /// `config:NAME`), set from the repository's files after loading (never a plain hash of a
    /// secret): part of the spec hash, so changed content rolls the service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub file_digests: BTreeMap<String, String>,
    pub origin: Origin,
}

/// One `ulimits` entry: `nofile: 1024` (soft = hard) or `{ soft, hard }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

/// One `devices` entry: `host[:container[:permissions]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub host: String,
    pub container: String,
    pub permissions: String,
}

/// The Compose keys that tune the container's host configuration, passed to the engine as
/// Compose passes them. Every field is skipped when unset, so that adding one does not change
/// the spec hash of services that do not use it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    /// Compose `gpus`: device requests with the `gpu` capability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<DeviceRequest>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin_open: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// `os[/arch[/variant]]`, a query parameter of the engine's create call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// `pids_limit`, or `deploy.resources.limits.pids`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// `mem_limit` (bytes); `deploy.resources.limits.memory` is in `deploy.resources`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<u64>,
    /// Bytes, or -1 for unlimited swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<i64>,
    /// `mem_reservation`, or `deploy.resources.reservations.memory` (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<u64>,
    /// `cpus` (cores); `deploy.resources.limits.cpus` is in `deploy.resources`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    /// `host`, `none` or `bridge`: the container does not join the project's networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
}

impl HostSettings {
    pub fn is_empty(&self) -> bool {
        *self == HostSettings::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub target: u16,
    /// A fixed port on the host; `None` lets the engine pick one.
    pub published: Option<u16>,
    /// A host port range (`8000-9000:80`) the engine picks this port's host port from; only
    /// with `published: None`. Not a fixed port: conflicts with other ranges are the engine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_range: Option<(u16, u16)>,
    pub host_ip: Option<IpAddr>,
    pub protocol: Protocol,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Mount {
    /// A named volume of the project, or an anonymous one when `source` is `None`.
    Volume {
        source: Option<String>,
        target: String,
        read_only: bool,
        #[serde(default, skip_serializing_if = "MountOptions::is_default")]
        options: MountOptions,
    },
    /// An absolute path on the host.
    Bind {
        source: String,
        target: String,
        read_only: bool,
        #[serde(default, skip_serializing_if = "MountOptions::is_default")]
        options: MountOptions,
    },
    /// A relative path that is not in the repository (`./data`): as Compose makes it a directory
    /// beside the compose file, fleet makes it a directory under the host's data directory,
    /// `<data_dir>/<source>`, where `source` is the path from the repository root. The engine
    /// creates it when missing; fleet never deletes it.
    DataDir {
        source: String,
        target: String,
        read_only: bool,
        #[serde(default, skip_serializing_if = "MountOptions::is_default")]
        options: MountOptions,
    },
    /// A path inside the repository (written relative), normalised and known to stay inside it.
    RepoBind {
        source: String,
        target: String,
        read_only: bool,
        #[serde(default, skip_serializing_if = "MountOptions::is_default")]
        options: MountOptions,
    },
    Tmpfs {
        target: String,
        #[serde(default, skip_serializing_if = "MountOptions::is_default")]
        options: MountOptions,
    },
}

/// A mount's engine options beyond source, target and read-only, as Compose passes them (short
/// syntax `:rw,z,rshared,nocopy`, long syntax `bind:`, `volume:`, `tmpfs:`). Default = none, and
/// left out of the spec hash then, so containers created before these existed keep their hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountOptions {
    /// Bind propagation: `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// SELinux relabelling of a bind: `z` (shared) or `Z` (private to the container).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    /// A bind's missing host path is created (`bind.create_host_path`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_host_path: Option<bool>,
    /// A new volume is not filled with the image's files at the target (`nocopy`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nocopy: bool,
    /// A path inside the volume to mount instead of its root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
    /// tmpfs size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// tmpfs file mode (permission bits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

impl MountOptions {
    pub fn is_default(&self) -> bool {
        *self == MountOptions::default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
    /// A fixed address on this network (its `ipam` gives the subnet). Each host has its own
    /// network, so one replica per host may hold it (placement caps the service at one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<std::net::Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<std::net::Ipv6Addr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Healthcheck {
    /// Docker's form: `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`; empty when the
    /// file gives no `test`: the engine then keeps the image's own check (timings still apply).
    pub test: Vec<String>,
    #[serde(default, with = "seconds::option")]
    pub interval: Option<Duration>,
    #[serde(default, with = "seconds::option")]
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    #[serde(default, with = "seconds::option")]
    pub start_period: Option<Duration>,
    #[serde(default, with = "seconds::option")]
    pub start_interval: Option<Duration>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Restart {
    #[default]
    No,
    Always,
    UnlessStopped,
    OnFailure {
        max_retries: Option<u32>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logging {
    /// The engine's default driver when absent.
    pub driver: Option<String>,
    pub options: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependsOn {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `replicas` copies, placed by the placement rules.
    #[default]
    Replicated,
    /// One replica on every eligible host.
    Global,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub mode: Mode,
    pub replicas: u32,
    pub placement: Placement,
    pub update_config: UpdateConfig,
    pub rollback_config: UpdateConfig,
    pub resources: Resources,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub constraints: Vec<Constraint>,
    /// Label keys to spread replicas across, in priority order (`spread: node.labels.zone`).
    pub spread: Vec<String>,
    pub max_replicas_per_node: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    pub subject: ConstraintSubject,
    pub op: ConstraintOp,
    pub value: String,
    /// As written, for messages.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum ConstraintSubject {
    Label(String),
    Hostname,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConstraintOp {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Constraint {
    /// Whether a host with this name and these labels satisfies the constraint. A missing label
    /// is never equal to anything, as in Swarm.
    pub fn matches(&self, host_name: &str, labels: &BTreeMap<String, String>) -> bool {
        let actual = match &self.subject {
            ConstraintSubject::Hostname => Some(host_name),
            ConstraintSubject::Label(key) => labels.get(key).map(String::as_str),
        };
        match self.op {
            ConstraintOp::Eq => actual == Some(self.value.as_str()),
            ConstraintOp::Ne => actual != Some(self.value.as_str()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    StopFirst,
    StartFirst,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureAction {
    Rollback,
    Pause,
    Continue,
}

/// How a rollout (or a rollback) proceeds. Defaults are Docker Swarm's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateConfig {
    /// Replicas changed at once; 0 means all at once.
    pub parallelism: u32,
    #[serde(with = "seconds")]
    pub delay: Duration,
    pub order: UpdateOrder,
    pub failure_action: FailureAction,
    #[serde(with = "seconds")]
    pub monitor: Duration,
    pub max_failure_ratio: f64,
}

impl UpdateConfig {
    pub fn update_default() -> Self {
        UpdateConfig {
            parallelism: 1,
            delay: Duration::ZERO,
            order: UpdateOrder::StopFirst,
            failure_action: FailureAction::Pause,
            monitor: Duration::from_secs(5),
            max_failure_ratio: 0.0,
        }
    }

    pub fn rollback_default() -> Self {
        UpdateConfig {
            failure_action: FailureAction::Pause,
            ..Self::update_default()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// CPU limit in cores (`0.5` is half a core).
    pub cpus: Option<f64>,
    /// Memory limit in bytes.
    pub memory: Option<u64>,
    /// `limits.pids`: the most processes the container may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
    /// `reservations.memory`: the engine's soft memory limit, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_memory: Option<u64>,
    /// `reservations.devices`: devices (GPUs) the engine gives the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRequest>,
}

/// A request for devices by capability (Compose `reservations.devices`, `gpus`), which the
/// engine's device drivers (the NVIDIA one, for GPUs) fulfil.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// How many devices; -1 is all of them. `None` with no `device_ids` is all too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    pub capabilities: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl Service {
    /// Whether the service holds a fixed address on one of its networks.
    pub fn has_fixed_address(&self) -> bool {
        self.networks
            .values()
            .any(|n| n.ipv4_address.is_some() || n.ipv6_address.is_some())
    }
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}
