//! The Docker edge: a connection to one host's Docker Engine, locally or through SSH.
//!
//! Only this module talks to bollard. Over SSH, every HTTP connection bollard makes is one
//! `direct-streamlocal` channel on the host's single SSH connection (see `ssh`), so hundreds of
//! concurrent API calls share one login. A dropped SSH connection is re-established, with
//! backoff, the next time a channel is needed.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Mutex;

use crate::ssh::{Session, SshError, SshOptions, Stream, Target};

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

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("the Docker engine at {socket} is not answering")]
    EngineDown {
        socket: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("DOCKER_HOST={0} is not supported; use unix:// or ssh://")]
    UnsupportedDockerHost(String),
    #[error("Docker API call failed")]
    Api(#[source] bollard::errors::Error),
    #[error("no answer from the Docker engine within {0:?}")]
    Timeout(Duration),
}

impl EngineError {
    pub fn short(&self) -> &'static str {
        match self {
            EngineError::Ssh(e) => e.short(),
            EngineError::EngineDown { .. } => "engine down",
            EngineError::UnsupportedDockerHost(_) => "unsupported DOCKER_HOST",
            EngineError::Api(_) => "API error",
            EngineError::Timeout(_) => "timeout",
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

pub struct Engine {
    docker: Docker,
    session: Option<Arc<Mutex<Arc<Session>>>>,
    socket: String,
}

/// The stream hyper reads and writes: one SSH channel.
struct ChannelIo(Stream);

impl AsyncRead for ChannelIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ChannelIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl Connection for ChannelIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// Opens one channel per HTTP connection, reconnecting the SSH session when it has dropped.
#[derive(Clone)]
struct SshConnector {
    session: Arc<Mutex<Arc<Session>>>,
    options: Arc<SshOptions>,
    socket: Arc<str>,
}

impl SshConnector {
    async fn live_session(&self) -> Result<Arc<Session>, SshError> {
        let mut current = self.session.lock().await;
        if !current.is_closed() {
            return Ok(Arc::clone(&current));
        }
        let target = current.target().clone();
        let mut delay = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Session::connect(&target, &self.options).await {
                Ok(session) => {
                    *current = Arc::new(session);
                    return Ok(Arc::clone(&current));
                }
                Err(e) if attempt >= 3 => return Err(e),
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay *= 3;
                }
            }
        }
    }
}

impl tower_service::Service<Uri> for SshConnector {
    type Response = TokioIo<ChannelIo>;
    type Error = SshError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move {
            let session = connector.live_session().await?;
            let stream = session.open_socket(&connector.socket).await?;
            Ok(TokioIo::new(ChannelIo(stream)))
        })
    }
}

/// Seconds bollard waits for one API call.
const REQUEST_TIMEOUT_SECS: u64 = 60;

impl Engine {
    /// Connects to the engine (for SSH: logs in; nothing is sent to Docker yet).
    pub async fn connect(
        endpoint: &Endpoint,
        options: &Arc<SshOptions>,
    ) -> Result<Engine, EngineError> {
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
                .map_err(EngineError::Api)?;
                Ok(Engine {
                    docker,
                    session: Some(session),
                    socket: socket.clone(),
                })
            }
        }
    }

    fn unix(path: PathBuf) -> Result<Engine, EngineError> {
        let socket = path.display().to_string();
        let docker =
            Docker::connect_with_socket(&socket, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                .map_err(|source| match source {
                    bollard::errors::Error::SocketNotFoundError(_) => EngineError::EngineDown {
                        socket: socket.clone(),
                        source,
                    },
                    source => EngineError::Api(source),
                })?;
        Ok(Engine {
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
                    return EngineError::Api(source);
                }
            }
            B::IOError { .. }
            | B::HyperResponseError { .. }
            | B::RequestTimeoutError
            | B::SocketNotFoundError(_) => {}
            _ => return EngineError::Api(source),
        }
        EngineError::EngineDown {
            socket: self.socket.clone(),
            source,
        }
    }

    /// Round-trip time of `GET /_ping` on an open connection. The first ping opens the
    /// connection (an SSH channel), which is not what "latency" means, so it is not timed.
    pub async fn ping(&self) -> Result<Duration, EngineError> {
        self.docker.ping().await.map_err(|e| self.down(e))?;
        let start = Instant::now();
        self.docker.ping().await.map_err(|e| self.down(e))?;
        Ok(start.elapsed())
    }

    pub async fn facts(&self) -> Result<EngineFacts, EngineError> {
        let (version, info) = tokio::try_join!(self.docker.version(), self.docker.info())
            .map_err(EngineError::Api)?;
        Ok(EngineFacts {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            os: version.os.unwrap_or_default(),
            arch: info.architecture.or(version.arch).unwrap_or_default(),
            cpus: info.ncpu.unwrap_or_default(),
            memory_bytes: info.mem_total.unwrap_or_default(),
        })
    }

    /// Containers (running or not) carrying this project's label.
    pub async fn count_managed(&self, project: &str) -> Result<usize, EngineError> {
        Ok(self
            .list_labelled(&crate::labels::project_filter(project))
            .await?
            .len())
    }

    /// Every container (running or not) with the label `key=value` given as `filter`.
    pub async fn list_labelled(
        &self,
        filter: &str,
    ) -> Result<Vec<bollard::models::ContainerSummary>, EngineError> {
        let filters = HashMap::from([("label".to_string(), vec![filter.to_string()])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.down(e))
    }

    /// The bollard client, for the few callers (tests, benchmarks) that need raw API access.
    pub fn api(&self) -> &Docker {
        &self.docker
    }

    /// Closes the SSH connection cleanly, if there is one.
    pub async fn close(self) {
        if let Some(session) = self.session {
            session.lock().await.disconnect().await;
        }
    }
}
