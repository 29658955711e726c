//! HTTP over SSH for bollard: one `direct-streamlocal` channel to the engine's socket per HTTP
//! connection, on the host's single SSH session, which is made again (with backoff) when it has
//! dropped.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Mutex;

use crate::ssh::{Session, SshError, SshOptions, Stream};

/// The stream hyper reads and writes: one SSH channel.
pub(super) struct ChannelIo(Stream);

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
pub(super) struct SshConnector {
    pub(super) session: Arc<Mutex<Arc<Session>>>,
    pub(super) options: Arc<SshOptions>,
    pub(super) socket: Arc<str>,
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
