//! The engine seam: what fleet asks of one host's container engine, in fleet's own types.
//!
//! [`Engine`] is the one door to a host. Its real implementation is
//! `DockerEngine` in the `docker` module (the Docker Engine API, locally or over SSH); the other is
//! [`memory::MemoryEngine`], a simulated host for unit tests and benchmarks (containers that
//! start, pass or fail health checks over time, exit, stop answering). Observing, applying,
//! locking and the daemon see only this trait, so every one of them runs on either.
//!
//! No type of the Docker client library crosses this seam: errors carry their cause as a boxed
//! error, and what to create is said as the replica or balancer it is ([`Create`]), not as an
//! API request body.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::stream::BoxStream;
use thiserror::Error;

use crate::contract::ReplicaIdentity;
use crate::spec::Desired;
use crate::spec::model::{Network, Service, Volume};
use crate::ssh::SshError;

pub mod memory;

/// A boxed cause, as the engine's client reported it.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// An engine shared between the tasks of a run or of the daemon.
pub type SharedEngine = std::sync::Arc<dyn Engine>;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("the Docker engine at {socket} is not answering")]
    EngineDown {
        socket: String,
        #[source]
        source: Cause,
    },
    #[error("DOCKER_HOST={0} is not supported; use unix:// or ssh://")]
    UnsupportedDockerHost(String),
    /// The engine answered, and refused or failed the call.
    #[error("Docker API call failed")]
    Api {
        /// The engine's own message, when it sent one.
        message: Option<String>,
        #[source]
        source: Cause,
    },
    #[error("no answer from the Docker engine within {0:?}")]
    Timeout(Duration),
    #[error("the Docker engine answered what fleet cannot use: {0}")]
    Unexpected(String),
}

impl EngineError {
    pub fn short(&self) -> &'static str {
        match self {
            EngineError::Ssh(e) => e.short(),
            EngineError::EngineDown { .. } => "engine down",
            EngineError::UnsupportedDockerHost(_) => "unsupported DOCKER_HOST",
            EngineError::Api { .. } => "API error",
            EngineError::Timeout(_) => "timeout",
            EngineError::Unexpected(_) => "unexpected answer",
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            EngineError::Ssh(e) => e.hint(),
            EngineError::EngineDown { .. } => Some(
                "start dockerd on that host (`systemctl start docker`), or fix `docker_socket`"
                    .into(),
            ),
            _ => None,
        }
    }

    /// The engine's own message for a call it refused.
    pub fn engine_message(&self) -> Option<&str> {
        match self {
            EngineError::Api { message, .. } => message.as_deref(),
            _ => None,
        }
    }
}

/// One event of a container: what happened (`die`, `start`, `health_status: healthy`, ...), to
/// which container, and the container's labels at the time.
#[derive(Clone, Debug)]
pub struct ContainerEvent {
    pub action: String,
    pub id: String,
    pub labels: HashMap<String, String>,
}

/// A volume as listed by the engine.
#[derive(Clone, Debug)]
pub struct VolumeInfo {
    pub name: String,
    /// RFC 3339 on the engine's clock, when the driver reports it.
    pub created_at: Option<String>,
    pub labels: HashMap<String, String>,
}

/// Facts about an engine, for `fleet hosts`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EngineFacts {
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
    pub cpus: i64,
    pub memory_bytes: i64,
}

/// Registry credentials for one pull.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub server: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub identity_token: Option<String>,
}

#[derive(Debug, Error)]
pub enum PullError {
    /// The registry (through the engine) refused or failed: a problem with the image.
    #[error("{0}")]
    Registry(String),
    /// The host or its engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// An image as an engine has it: its id (`sha256:...`, the same on every engine that has the
/// very same image) and its size in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFacts {
    pub id: String,
    pub size: u64,
}

/// The bytes of an image archive (`docker save`), as they come.
pub type ArchiveStream<'a> = BoxStream<'a, Result<bytes::Bytes, EngineError>>;

/// What one inspect of a container says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub running: bool,
    pub exited: bool,
    pub exit_code: i64,
    pub error: Option<String>,
    pub restarts: i64,
    /// `None` when the container has no health check.
    pub health: Option<ProbeHealth>,
    /// Published TCP ports: (container port, host port).
    pub tcp_ports: Vec<(u16, u16)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeHealth {
    Starting,
    Healthy,
    /// With the output of the last check.
    Unhealthy(String),
}

/// One container as the engine lists it, in the engine's words: `state` is `running`,
/// `exited`, ...; `status` the human text that carries the health (`Up 3 minutes (healthy)`).
#[derive(Clone, Debug, Default)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    pub state: String,
    pub status: String,
    pub image_id: String,
    /// Unix seconds.
    pub created: i64,
    /// Published ports, once per binding the engine reports.
    pub ports: Vec<ListedPort>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedPort {
    pub container: u16,
    pub host: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// A file fleet writes on a host: a secret or config a service mounts. Its content is never
/// printed (`Debug` shows the name and size).
#[derive(Clone, PartialEq, Eq)]
pub struct HostFile {
    pub name: String,
    pub content: Vec<u8>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl std::fmt::Debug for HostFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HostFile({}, {} bytes, {:o}, {}:{})",
            self.name,
            self.content.len(),
            self.mode,
            self.uid,
            self.gid
        )
    }
}

/// What to create: the container is said as what it is for fleet, and each engine builds its
/// own request from it (the Docker one in `docker::create`).
#[derive(Clone, Copy)]
pub enum Create<'a> {
    Replica {
        desired: &'a Desired,
        /// The host it is created on (its data directory is the host's).
        host: &'a str,
        service: &'a Service,
        /// Variables set from secrets (`x-fleet.env_from_secrets`), with their values: in the
        /// request only, never in a label or the spec.
        secret_env: &'a [(String, String)],
        identity: &'a ReplicaIdentity<'a>,
    },
    Balancer {
        desired: &'a Desired,
        /// The host it runs on (its statistics socket is the host's own).
        host: &'a str,
    },
}

impl Create<'_> {
    /// The labels the container gets.
    pub fn labels(&self) -> HashMap<String, String> {
        match self {
            Create::Replica {
                service, identity, ..
            } => crate::contract::replica_labels(service, identity),
            Create::Balancer { desired, .. } => crate::contract::balancer_labels(desired),
        }
    }

    /// The image it runs.
    pub fn image(&self) -> &str {
        match self {
            Create::Replica { service, .. } => &service.image,
            Create::Balancer { desired, .. } => &desired.balancer.image,
        }
    }
}

/// One host's container engine. Every call may fail with an [`EngineError`]; callers bound
/// each call's time themselves (a graceful stop may take minutes).
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// Round-trip time of a ping on an open connection.
    async fn ping(&self) -> Result<Duration, EngineError>;

    async fn facts(&self) -> Result<EngineFacts, EngineError>;

    /// Every container (running or not) labelled as this project's.
    async fn list_project(&self, project: &str) -> Result<Vec<Listed>, EngineError>;

    /// Containers (running or not) carrying this project's label.
    async fn count_managed(&self, project: &str) -> Result<usize, EngineError> {
        Ok(self.list_project(project).await?.len())
    }

    /// Whether the engine has the image (by reference) locally.
    async fn has_image(&self, reference: &str) -> Result<bool, EngineError>;

    /// The id and size of an image (by reference), `None` when the engine lacks it.
    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageFacts>, EngineError>;

    /// The image (by reference) as a `docker save` archive, streamed as the engine writes it.
    fn save_image(&self, reference: &str) -> ArchiveStream<'_>;

    /// Loads a `docker save` archive streamed in `archive` (its tags replace the engine's),
    /// returning once the engine has loaded it. An error in the stream aborts the load.
    async fn load_image(&self, archive: ArchiveStream<'static>) -> Result<(), EngineError>;

    /// Pulls an image, for `platform` (`linux/arm64`) when given. `idle` bounds the time
    /// between two progress messages, so a registry or a link that goes silent fails the pull
    /// instead of hanging it.
    async fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        credentials: Option<Credentials>,
        idle: Duration,
    ) -> Result<(), PullError>;

    /// Creates a container (not started) named `name` and returns its id. When the name is
    /// taken by a container with the very labels asked for, that one is the result: creating
    /// is idempotent, so a create a killed run sent and the engine carried out late is used.
    async fn create(&self, name: &str, what: Create<'_>) -> Result<String, EngineError>;

    /// Starts a container; one already running is fine.
    async fn start(&self, id: &str) -> Result<(), EngineError>;

    /// Stops a container gracefully: its stop signal, then SIGKILL after `grace` (without one,
    /// the container's own stop timeout). One already stopped or gone is fine.
    async fn stop(&self, id: &str, grace: Option<Duration>) -> Result<(), EngineError>;

    /// Removes a container (forcibly); its volumes are kept. One already gone is fine.
    async fn remove(&self, id: &str) -> Result<(), EngineError>;

    /// The text of one file in a container, `None` when the container or the file does not
    /// exist (or the file is not UTF-8, or larger than `limit` bytes).
    async fn read_file(
        &self,
        id: &str,
        path: &str,
        limit: usize,
    ) -> Result<Option<String>, EngineError>;

    /// Writes `text` as the file `dir/name` in a container, replacing it in one step.
    async fn write_file(
        &self,
        id: &str,
        dir: &str,
        name: &str,
        text: &str,
    ) -> Result<(), EngineError>;

    /// The host pids of a container's processes (empty when it does not run).
    async fn pids(&self, id: &str) -> Result<Vec<String>, EngineError>;

    /// The last `lines` lines a container wrote (stdout and stderr), for error messages.
    async fn log_tail(&self, id: &str, lines: usize) -> Result<String, EngineError>;

    /// Sends a signal to a container's main process.
    async fn signal(&self, id: &str, signal: &str) -> Result<(), EngineError>;

    /// The run state of a container, `None` when it does not exist.
    async fn probe(&self, id: &str) -> Result<Option<Probe>, EngineError>;

    /// The events of this project's containers, as they happen, until the stream breaks.
    fn container_events(&self, project: &str)
    -> BoxStream<'_, Result<ContainerEvent, EngineError>>;

    /// Creates the network unless one of that name exists.
    async fn ensure_network(
        &self,
        name: &str,
        declared: &Network,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError>;

    async fn network_exists(&self, name: &str) -> Result<bool, EngineError>;

    /// Creates a project's named volume as declared, or leaves the existing one of that name.
    async fn ensure_volume(
        &self,
        name: &str,
        declared: &Volume,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError>;

    /// Volumes whose name contains `part`: name, creation time on the engine's clock, labels.
    async fn volumes_named(&self, part: &str) -> Result<Vec<VolumeInfo>, EngineError>;

    /// Writes `files` into the directory `dir` of the host (made when missing), as the owner
    /// and with the mode each says. Goes through a container of `image` made for it (never
    /// started) and labelled with `labels`, so nothing but the engine is needed on the host.
    async fn put_files(
        &self,
        dir: &str,
        image: &str,
        files: &[HostFile],
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError>;

    /// The engine's clock, RFC 3339.
    async fn system_time(&self) -> Result<String, EngineError>;

    /// Creates a volume with these labels, or returns the existing one's labels untouched. The
    /// engine does this atomically: it is the compare-and-swap the lock relies on.
    async fn create_labelled_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError>;

    /// Labels of a volume, `None` when there is no such volume.
    async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<HashMap<String, String>>, EngineError>;

    /// Removes a volume; an absent one is fine.
    async fn remove_volume(&self, name: &str) -> Result<(), EngineError>;

    /// Sends `request` to the Unix socket at `path` on the host and reads the answer to its end
    /// (the balancers' statistics socket).
    async fn query_socket(&self, path: &str, request: &str) -> Result<String, EngineError>;

    /// A container's CPU counter: CPU time used so far, and when the engine read it.
    async fn cpu_usage(&self, id: &str) -> Result<CpuUsage, EngineError>;

    /// Closes the connection cleanly, if there is one.
    async fn close(&self) {}
}

/// A container's CPU counter, as the engine's stats give it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuUsage {
    /// CPU time used so far, in nanoseconds.
    pub total_ns: u64,
    /// When the engine read it: seconds since the epoch, on the engine's clock.
    pub at: f64,
}
