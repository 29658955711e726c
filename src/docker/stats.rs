//! What autoscaling reads from a host: a balancer's statistics socket (through the host's SSH
//! connection, as the engine's own socket is reached) and a container's CPU counter.

use std::time::Duration;

use bollard::query_parameters::StatsOptions;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{DockerEngine, api};
use crate::engine::{CpuUsage, EngineError};

/// Bound on one exchange with a statistics socket.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(3);
/// The most read from a statistics socket (a `show stat` of a few hundred servers is far less).
const SOCKET_LIMIT: u64 = 4 << 20;

impl DockerEngine {
    pub(super) async fn query_socket(
        &self,
        path: &str,
        request: &str,
    ) -> Result<String, EngineError> {
        let exchange = async {
            let answer = match &self.session {
                Some(session) => {
                    let session = std::sync::Arc::clone(&*session.lock().await);
                    let stream = session.open_socket(path).await?;
                    exchange(stream, request).await
                }
                None => {
                    let stream = tokio::net::UnixStream::connect(path).await;
                    match stream {
                        Ok(stream) => exchange(stream, request).await,
                        Err(e) => Err(e),
                    }
                }
            };
            answer.map_err(|e| EngineError::Unexpected(format!("{path}: {e}")))
        };
        tokio::time::timeout(SOCKET_TIMEOUT, exchange)
            .await
            .map_err(|_| EngineError::Timeout(SOCKET_TIMEOUT))?
    }

    pub(super) async fn cpu_usage(&self, id: &str) -> Result<CpuUsage, EngineError> {
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let stats = self
            .docker
            .stats(id, Some(options))
            .next()
            .await
            .ok_or_else(|| EngineError::Unexpected("no stats".into()))?
            .map_err(api)?;
        let total_ns = stats
            .cpu_stats
            .and_then(|c| c.cpu_usage)
            .and_then(|u| u.total_usage)
            .ok_or_else(|| EngineError::Unexpected("stats without cpu usage".into()))?;
        let at = stats
            .read
            .as_deref()
            .and_then(crate::clock::parse_rfc3339_precise)
            .ok_or_else(|| EngineError::Unexpected("stats without a time".into()))?;
        Ok(CpuUsage { total_ns, at })
    }
}

async fn exchange<S>(mut stream: S, request: &str) -> std::io::Result<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    let mut answer = String::new();
    stream
        .take(SOCKET_LIMIT)
        .read_to_string(&mut answer)
        .await?;
    Ok(answer)
}
