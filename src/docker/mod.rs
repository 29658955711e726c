//! The Docker edge: a connection to one host's Docker Engine, locally or through SSH.
//!
//! Only this module talks to bollard. Over SSH, every HTTP connection bollard makes is one
//! `direct-streamlocal` channel on the host's single SSH connection (see `ssh`), so hundreds of
//! concurrent API calls share one login. A dropped SSH connection is re-established, with
//! backoff, the next time a channel is needed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Mutex;

use crate::engine::{
    ArchiveStream, ContainerEvent, Create, Credentials, Engine, EngineError, EngineFacts, HostFile,
    ImageFacts, Listed, ListedPort, Probe, ProbeHealth, PullError, VolumeInfo,
};
use crate::spec::model::{Address, Host, Network, Volume};
use crate::ssh::{self, Session, SshError, SshOptions, Target};

pub mod auth;
pub mod create;
mod files;
mod images;
mod objects;
mod stats;
mod transport;

use transport::SshConnector;

/// Where an engine is.
#[derive(Clone, Debug)]
pub enum Endpoint {
    /// `DOCKER_HOST`, or /var/run/docker.sock.
    Local,
    Unix(PathBuf),
    Ssh {
        target: Target,
        socket: String,
    },
}

/// Where the engine of a host from fleet.yaml is; an SSH address is resolved through the
/// OpenSSH client config in `options`.
pub fn endpoint(host: &Host, options: &SshOptions) -> Result<Endpoint, EngineError> {
    Ok(match &host.address {
        Address::Local => Endpoint::Local,
        Address::Unix { path } => Endpoint::Unix(PathBuf::from(path)),
        Address::Ssh {
            user,
            host: name,
            port,
            docker_socket,
        } => Endpoint::Ssh {
            target: ssh::resolve(
                options,
                name,
                user.as_deref(),
                *port,
                host.identity_file.as_deref().map(std::path::Path::new),
            )?,
            socket: docker_socket.clone(),
        },
    })
}

/// The Docker Engine of one host, through its API (bollard).
pub struct DockerEngine {
    docker: Docker,
    session: Option<Arc<Mutex<Arc<Session>>>>,
    socket: String,
}

/// The HTTP status of an error the engine answered with.
fn status(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The published TCP ports of an inspected container, once per container port.
fn tcp_ports(inspect: &bollard::models::ContainerInspectResponse) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(key, bindings)| {
            let port = key.strip_suffix("/tcp")?.parse().ok()?;
            let host = bindings
                .iter()
                .flatten()
                .find_map(|b| b.host_port.as_deref()?.parse().ok())?;
            Some((port, host))
        })
        .collect();
    out.sort_unstable();
    out
}

/// The contents of the first regular file in a tar archive, as text.
fn first_file_of(archive: &[u8]) -> Option<String> {
    let mut reader = tar::Archive::new(archive);
    let mut entry = reader
        .entries()
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.header().entry_type().is_file())?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).ok()?;
    Some(text)
}

/// An error the engine answered with, with its own message.
fn api(source: bollard::errors::Error) -> EngineError {
    let message = match &source {
        bollard::errors::Error::DockerResponseServerError { message, .. } => Some(message.clone()),
        _ => None,
    };
    EngineError::Api {
        message,
        source: Box::new(source),
    }
}

/// Seconds bollard waits for one API call: a backstop only. Callers bound each call themselves
/// (a graceful stop may legitimately take minutes).
const REQUEST_TIMEOUT_SECS: u64 = 3600;

impl DockerEngine {
    /// Connects to the engine (for SSH: logs in; nothing is sent to Docker yet).
    pub async fn connect(
        endpoint: &Endpoint,
        options: &Arc<SshOptions>,
    ) -> Result<DockerEngine, EngineError> {
        match endpoint {
            Endpoint::Local => match std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
                None => Self::unix(PathBuf::from(crate::spec::model::DEFAULT_DOCKER_SOCKET)),
                Some(host) => match host.strip_prefix("unix://") {
                    Some(path) => Self::unix(PathBuf::from(path)),
                    None => Err(EngineError::UnsupportedDockerHost(host)),
                },
            },
            Endpoint::Unix(path) => Self::unix(path.clone()),
            Endpoint::Ssh { target, socket } => {
                let session = Arc::new(Mutex::new(Arc::new(
                    Session::connect(target, options).await?,
                )));
                let connector = SshConnector {
                    session: Arc::clone(&session),
                    options: Arc::clone(options),
                    socket: Arc::from(socket.as_str()),
                };
                let client = Arc::new(
                    Client::builder(TokioExecutor::new())
                        .pool_max_idle_per_host(16)
                        .pool_idle_timeout(Duration::from_secs(30))
                        .build(connector),
                );
                let docker = Docker::connect_with_custom_transport(
                    move |request: BollardRequest| {
                        let client = Arc::clone(&client);
                        async move {
                            client
                                .request(request)
                                .await
                                .map_err(bollard::errors::Error::from)
                        }
                    },
                    Some(format!("ssh://{}", target.host)),
                    REQUEST_TIMEOUT_SECS,
                    API_DEFAULT_VERSION,
                )
                .map_err(api)?;
                Ok(DockerEngine {
                    docker,
                    session: Some(session),
                    socket: socket.clone(),
                })
            }
        }
    }

    fn unix(path: PathBuf) -> Result<DockerEngine, EngineError> {
        let socket = path.display().to_string();
        let docker =
            Docker::connect_with_socket(&socket, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                .map_err(|source| match source {
                    bollard::errors::Error::SocketNotFoundError(_) => EngineError::EngineDown {
                        socket: socket.clone(),
                        source: Box::new(source),
                    },
                    source => api(source),
                })?;
        Ok(DockerEngine {
            docker,
            session: None,
            socket,
        })
    }

    /// Tells "the engine is not there" (no socket, refused channel, connection dropped) from an
    /// error the engine itself answered with.
    fn down(&self, source: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as B;
        match &source {
            B::HyperLegacyError { err } => {
                // An SSH failure other than a refused channel is about SSH, not the engine.
                let ssh = std::error::Error::source(err).and_then(|e| e.downcast_ref::<SshError>());
                if ssh.is_some_and(|e| !matches!(e, SshError::Channel { .. })) {
                    return api(source);
                }
            }
            B::IOError { .. }
            | B::HyperResponseError { .. }
            | B::RequestTimeoutError
            | B::SocketNotFoundError(_) => {}
            _ => return api(source),
        }
        EngineError::EngineDown {
            socket: self.socket.clone(),
            source: Box::new(source),
        }
    }
}

#[async_trait::async_trait]
impl Engine for DockerEngine {
    /// Round-trip time of `GET /_ping` on an open connection. The first ping opens the
    /// connection (an SSH channel), which is not what "latency" means, so it is not timed.
    async fn ping(&self) -> Result<Duration, EngineError> {
        self.docker.ping().await.map_err(|e| self.down(e))?;
        let start = Instant::now();
        self.docker.ping().await.map_err(|e| self.down(e))?;
        Ok(start.elapsed())
    }

    async fn facts(&self) -> Result<EngineFacts, EngineError> {
        let (version, info) =
            tokio::try_join!(self.docker.version(), self.docker.info()).map_err(api)?;
        Ok(EngineFacts {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            os: version.os.unwrap_or_default(),
            arch: info.architecture.or(version.arch).unwrap_or_default(),
            cpus: info.ncpu.unwrap_or_default(),
            memory_bytes: info.mem_total.unwrap_or_default(),
        })
    }

    async fn list_project(&self, project: &str) -> Result<Vec<Listed>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![crate::labels::project_filter(project)],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.down(e))?;
        Ok(list
            .into_iter()
            .map(|summary| Listed {
                id: summary.id.unwrap_or_default(),
                name: summary
                    .names
                    .as_ref()
                    .and_then(|n| n.first())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                labels: summary.labels.unwrap_or_default(),
                state: summary.state.map(|s| s.to_string()).unwrap_or_default(),
                status: summary.status.unwrap_or_default(),
                image_id: summary.image_id.unwrap_or_default(),
                created: summary.created.unwrap_or_default(),
                ports: summary
                    .ports
                    .into_iter()
                    .flatten()
                    .map(|p| ListedPort {
                        container: p.private_port,
                        host: p.public_port,
                        protocol: p.typ.map(|t| t.to_string()).unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// Whether the engine has the image (by reference) locally.
    async fn has_image(&self, reference: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.down(e)),
        }
    }

    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageFacts>, EngineError> {
        self.image_facts(reference).await
    }

    fn save_image(&self, reference: &str) -> ArchiveStream<'_> {
        self.save(reference)
    }

    async fn load_image(&self, archive: ArchiveStream<'static>) -> Result<(), EngineError> {
        self.load(archive).await
    }

    /// Pulls an image. `idle` bounds the time between two progress messages, so a registry or a
    /// link that goes silent fails the pull instead of hanging it.
    async fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        credentials: Option<Credentials>,
        idle: Duration,
    ) -> Result<(), PullError> {
        use futures_util::StreamExt;
        let (from_image, tag) = create::pull_parameters(reference);
        let mut options = bollard::query_parameters::CreateImageOptionsBuilder::default()
            .from_image(&from_image)
            .tag(&tag);
        if let Some(p) = platform {
            options = options.platform(p);
        }
        let options = options.build();
        let credentials = credentials.map(|c| bollard::auth::DockerCredentials {
            username: c.username,
            password: c.password,
            identitytoken: c.identity_token,
            serveraddress: Some(c.server),
            ..Default::default()
        });
        let mut stream = self.docker.create_image(Some(options), None, credentials);
        loop {
            match tokio::time::timeout(idle, stream.next()).await {
                Err(_) => return Err(PullError::Engine(EngineError::Timeout(idle))),
                Ok(None) => return Ok(()),
                Ok(Some(Ok(info))) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(PullError::Registry(detail));
                    }
                }
                Ok(Some(Err(e))) => {
                    return Err(match e {
                        bollard::errors::Error::DockerStreamError { error } => {
                            PullError::Registry(error)
                        }
                        bollard::errors::Error::DockerResponseServerError { message, .. } => {
                            PullError::Registry(message)
                        }
                        e => PullError::Engine(self.down(e)),
                    });
                }
            }
        }
    }

    async fn create(&self, name: &str, what: Create<'_>) -> Result<String, EngineError> {
        // `platform` is a query parameter of the create call, not part of the body.
        let mut platform = None;
        let body = match what {
            Create::Replica {
                desired,
                host,
                service,
                identity,
                secret_env,
            } => {
                platform = service.host.platform.clone();
                let mut body = create::container_body(desired, host, service, identity);
                let env = body.env.get_or_insert_with(Vec::new);
                env.extend(secret_env.iter().map(|(k, v)| format!("{k}={v}")));
                body
            }
            Create::Balancer { desired, host } => create::balancer_body(desired, host),
        };
        let mut options = bollard::query_parameters::CreateContainerOptionsBuilder::default();
        options = options.name(name);
        if let Some(p) = &platform {
            options = options.platform(p);
        }
        let options = options.build();
        let wanted = body.labels.clone().unwrap_or_default();
        match self.docker.create_container(Some(options), body).await {
            Ok(r) => Ok(r.id),
            // The name is taken: by this create's own result when the labels (project, slot,
            // spec hash) are the very ones asked for (see the trait).
            Err(e) if status(&e) == Some(409) && !wanted.is_empty() => {
                let existing = self
                    .docker
                    .inspect_container(
                        name,
                        None::<bollard::query_parameters::InspectContainerOptions>,
                    )
                    .await
                    .ok();
                let same = existing.as_ref().is_some_and(|c| {
                    let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
                    labels.is_some_and(|l| wanted.iter().all(|(k, v)| l.get(k) == Some(v)))
                });
                match existing.and_then(|c| c.id).filter(|_| same) {
                    Some(id) => Ok(id),
                    None => Err(self.down(e)),
                }
            }
            Err(e) => Err(self.down(e)),
        }
    }

    /// Starts a container; one already running is fine.
    async fn start(&self, id: &str) -> Result<(), EngineError> {
        match self
            .docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(304) => Ok(()),
            Err(e) => Err(self.down(e)),
        }
    }

    /// Stops a container gracefully: its stop signal, then SIGKILL after `grace`. One already
    /// stopped or gone is fine.
    /// Without `grace`, the container's own stop timeout (its `stop_grace_period`) applies.
    async fn stop(&self, id: &str, grace: Option<Duration>) -> Result<(), EngineError> {
        let mut options = bollard::query_parameters::StopContainerOptionsBuilder::default();
        if let Some(grace) = grace {
            options = options.t(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX));
        }
        let options = options.build();
        match self.docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if matches!(status(&e), Some(304 | 404)) => Ok(()),
            Err(e) => Err(self.down(e)),
        }
    }

    /// Removes a container (forcibly, after the caller stopped it); anonymous volumes are kept,
    /// as fleet never removes a volume. One already gone is fine.
    async fn remove(&self, id: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(false)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.down(e)),
        }
    }

    /// The text of one file in a container, `None` when the container or the file does not
    /// exist (or the file is not UTF-8, or larger than `limit` bytes).
    async fn read_file(
        &self,
        id: &str,
        path: &str,
        limit: usize,
    ) -> Result<Option<String>, EngineError> {
        use futures_util::TryStreamExt;
        let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self.docker.download_from_container(id, Some(options));
        let mut archive = Vec::new();
        loop {
            match stream.try_next().await {
                Ok(Some(chunk)) => {
                    archive.extend_from_slice(&chunk);
                    // A tar adds headers and padding: allow some room beyond the file itself.
                    if archive.len() > limit + 64 * 1024 {
                        return Ok(None);
                    }
                }
                Ok(None) => break,
                Err(e) if status(&e) == Some(404) => return Ok(None),
                Err(e) => return Err(self.down(e)),
            }
        }
        Ok(first_file_of(&archive))
    }

    /// Writes `text` as the file `dir/name` in a container (created or running), owned by root,
    /// mode 0644. The engine replaces the file in one step as it extracts the archive.
    async fn write_file(
        &self,
        id: &str,
        dir: &str,
        name: &str,
        text: &str,
    ) -> Result<(), EngineError> {
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let mut builder = tar::Builder::new(Vec::new());
        // Only an invalid name can fail here (the archive is built in memory).
        let archive = builder
            .append_data(&mut header, name, text.as_bytes())
            .and_then(|()| builder.into_inner())
            .map_err(|err| api(bollard::errors::Error::IOError { err }))?;
        let options = bollard::query_parameters::UploadToContainerOptionsBuilder::default()
            .path(dir)
            .build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(|e| self.down(e))
    }

    /// The host pids of a container's processes (empty when it does not run).
    async fn pids(&self, id: &str) -> Result<Vec<String>, EngineError> {
        let options = bollard::query_parameters::TopOptionsBuilder::default()
            .ps_args("-o pid")
            .build();
        match self.docker.top_processes(id, Some(options)).await {
            Ok(top) => Ok(top
                .processes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|row| row.into_iter().next())
                .collect()),
            Err(e) if matches!(status(&e), Some(404 | 409)) => Ok(Vec::new()),
            Err(e) => Err(self.down(e)),
        }
    }

    /// The last `lines` lines a container wrote (stdout and stderr), for error messages.
    async fn log_tail(&self, id: &str, lines: usize) -> Result<String, EngineError> {
        use futures_util::TryStreamExt;
        let options = bollard::query_parameters::LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let chunks: Vec<_> = self
            .docker
            .logs(id, Some(options))
            .try_collect()
            .await
            .map_err(|e| self.down(e))?;
        Ok(chunks.iter().map(ToString::to_string).collect())
    }

    /// Sends a signal to a container's main process.
    async fn signal(&self, id: &str, signal: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::KillContainerOptionsBuilder::default()
            .signal(signal)
            .build();
        self.docker
            .kill_container(id, Some(options))
            .await
            .map_err(|e| self.down(e))
    }

    /// The run state of a container, `None` when it does not exist.
    async fn probe(&self, id: &str) -> Result<Option<Probe>, EngineError> {
        use bollard::models::{ContainerStateStatusEnum as S, HealthStatusEnum as H};
        let inspect = match self
            .docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(i) => i,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.down(e)),
        };
        let tcp_ports = tcp_ports(&inspect);
        let state = inspect.state.unwrap_or_default();
        let health = state.health.as_ref().and_then(|h| match h.status {
            Some(H::HEALTHY) => Some(ProbeHealth::Healthy),
            Some(H::UNHEALTHY) => Some(ProbeHealth::Unhealthy(
                h.log
                    .as_ref()
                    .and_then(|l| l.last())
                    .and_then(|r| r.output.clone())
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            )),
            Some(H::STARTING) => Some(ProbeHealth::Starting),
            _ => None,
        });
        Ok(Some(Probe {
            running: matches!(state.status, Some(S::RUNNING)),
            exited: matches!(state.status, Some(S::EXITED | S::DEAD)),
            exit_code: state.exit_code.unwrap_or_default(),
            error: state.error.filter(|e| !e.is_empty()),
            restarts: inspect.restart_count.unwrap_or_default(),
            health,
            tcp_ports,
        }))
    }

    /// The events of this project's containers, as they happen, until the stream breaks.
    fn container_events(
        &self,
        project: &str,
    ) -> futures_util::stream::BoxStream<'_, Result<ContainerEvent, EngineError>> {
        use futures_util::StreamExt;
        let filters = HashMap::from([
            (
                "label".to_string(),
                vec![crate::labels::project_filter(project)],
            ),
            ("type".to_string(), vec!["container".to_string()]),
        ]);
        self.docker
            .events(Some(
                bollard::query_parameters::EventsOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .map(|item| {
                let message = item.map_err(api)?;
                let actor = message.actor.unwrap_or_default();
                Ok(ContainerEvent {
                    action: message.action.unwrap_or_default(),
                    id: actor.id.unwrap_or_default(),
                    labels: actor.attributes.unwrap_or_default(),
                })
            })
            .boxed()
    }

    // Networks, volumes and the clock are in objects.rs.
    async fn ensure_network(
        &self,
        name: &str,
        declared: &Network,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        DockerEngine::ensure_network(self, name, declared, labels).await
    }

    async fn network_exists(&self, name: &str) -> Result<bool, EngineError> {
        DockerEngine::network_exists(self, name).await
    }

    async fn ensure_volume(
        &self,
        name: &str,
        declared: &Volume,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        DockerEngine::ensure_volume(self, name, declared, labels).await
    }

    async fn volumes_named(&self, part: &str) -> Result<Vec<VolumeInfo>, EngineError> {
        DockerEngine::volumes_named(self, part).await
    }

    async fn put_files(
        &self,
        dir: &str,
        image: &str,
        files: &[HostFile],
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        DockerEngine::put_files(self, dir, image, files, labels).await
    }

    async fn system_time(&self) -> Result<String, EngineError> {
        DockerEngine::system_time(self).await
    }

    async fn create_labelled_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, EngineError> {
        DockerEngine::create_labelled_volume(self, name, labels).await
    }

    async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<HashMap<String, String>>, EngineError> {
        DockerEngine::volume_labels(self, name).await
    }

    async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        DockerEngine::remove_volume(self, name).await
    }

    async fn query_socket(&self, path: &str, request: &str) -> Result<String, EngineError> {
        DockerEngine::query_socket(self, path, request).await
    }

    async fn cpu_usage(&self, id: &str) -> Result<crate::engine::CpuUsage, EngineError> {
        DockerEngine::cpu_usage(self, id).await
    }

    /// Closes the SSH connection cleanly, if there is one.
    async fn close(&self) {
        if let Some(session) = &self.session {
            session.lock().await.disconnect().await;
        }
    }
}
