//! Client traffic for balancer tests and benchmarks: HTTP/1.1 GETs, plain or over TLS (with a
//! host name for the Host header and SNI), one connection each (`Connection: close`), sent at
//! a fixed rate from a thread of their own and bounded in count and time. Only testbed
//! addresses are ever targets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request gets this long to be answered in full.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Outcome {
    /// When the request was sent, from the start of the traffic.
    pub sent: Duration,
    pub latency: Duration,
    /// The response body of a 200, or what went wrong.
    pub result: Result<String, String>,
}

/// Requests at a fixed rate until stopped, or until `limit` (time) or `max` (count) is reached.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Outcome>>>,
    pub started: Instant,
}

/// How requests are made: the name they ask for (Host header, and SNI over TLS) and whether
/// over TLS, trusting which certificates.
#[derive(Clone, Default)]
pub struct Client {
    pub host: Option<String>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Client {
    /// Requests for `host` over TLS, trusting only the certificates in `ca_pem`.
    pub fn tls(host: &str, ca_pem: &str) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(cert.expect("a PEM certificate"))
                .expect("a CA certificate");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Client {
            host: Some(host.to_string()),
            tls: Some(Arc::new(config)),
        }
    }

    /// Plain HTTP requests for `host`.
    pub fn named(host: &str) -> Client {
        Client {
            host: Some(host.to_string()),
            tls: None,
        }
    }
}

/// A response: its status code, headers (lowercase names) and body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Traffic {
    pub fn start(target: SocketAddr, path: &str, per_second: u32, limit: Duration) -> Traffic {
        Traffic::start_with(target, path, per_second, limit, Client::default())
    }

    pub fn start_with(
        target: SocketAddr,
        path: &str,
        per_second: u32,
        limit: Duration,
        client: Client,
    ) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let flag = stop.clone();
        let path = path.to_string();
        let max = (u64::from(per_second) * limit.as_secs().max(1)) as usize;
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let outcomes = Arc::new(Mutex::new(Vec::new()));
                let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second.max(1));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut tasks = Vec::new();
                while !flag.load(Ordering::SeqCst) && started.elapsed() < limit && tasks.len() < max
                {
                    tick.tick().await;
                    let outcomes = outcomes.clone();
                    let path = path.clone();
                    let client = client.clone();
                    tasks.push(tokio::spawn(async move {
                        let sent = started.elapsed();
                        let begin = Instant::now();
                        let result = get_with(target, &path, &client).await;
                        outcomes.lock().unwrap().push(Outcome {
                            sent,
                            latency: begin.elapsed(),
                            result,
                        });
                    }));
                }
                for task in tasks {
                    let _ = task.await;
                }
                let mut out = std::mem::take(&mut *outcomes.lock().unwrap());
                out.sort_by_key(|o| o.sent);
                out
            })
        });
        Traffic {
            stop,
            thread: Some(thread),
            started,
        }
    }

    /// Stops sending, waits for the answers still due, and returns every outcome in send order.
    pub fn finish(mut self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One GET with a fresh connection: the body of a 200 response, or the error.
pub async fn get(target: SocketAddr, path: &str) -> Result<String, String> {
    get_with(target, path, &Client::default()).await
}

/// One GET made by `client` with a fresh connection: the body of a 200 response, or the error.
pub async fn get_with(target: SocketAddr, path: &str, client: &Client) -> Result<String, String> {
    let response = request(target, path, client).await?;
    if response.status == 200 {
        Ok(response.body)
    } else {
        Err(format!("status: {}", response.status))
    }
}

/// One GET made by `client` with a fresh connection, whatever its status.
pub async fn request(target: SocketAddr, path: &str, client: &Client) -> Result<Response, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let stream = TcpStream::connect(target)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let host = client.host.clone().unwrap_or_else(|| target.to_string());
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let response = match &client.tls {
            None => exchange(stream, &request).await?,
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("server name: {e}"))?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, stream)
                    .await
                    .map_err(|e| format!("handshake: {e}"))?;
                exchange(tls, &request).await?
            }
        };
        parse(&response)
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")))
}

async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<Vec<u8>, String> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response).await {
        Ok(_) => Ok(response),
        // A server that closes without TLS close_notify after a complete response is common.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {
            Ok(response)
        }
        Err(e) => Err(format!("receive: {e}")),
    }
}

fn parse(response: &[u8]) -> Result<Response, String> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete response: {text:?}"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line: {head:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.trim().to_string(),
    })
}

/// The failed requests, as `at 1.23s: error` lines.
pub fn failures(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| {
            o.result
                .as_ref()
                .err()
                .map(|e| format!("at {:.2}s: {e}", o.sent.as_secs_f64()))
        })
        .collect()
}
