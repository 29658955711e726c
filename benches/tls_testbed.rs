//! Benchmark: TLS at the balancers fleet deploys, on the testbed (`testbed/testbed.sh up 6`).
//!
//! Three replicas of fleet-demo (busybox httpd), one on each of fh1..fh3, routed by name
//! (`bench.example.test`) on the shared balancer ports, with a certificate from encrypted
//! secrets and `redirect_http: false`, so the same balancer serves the same name over plain
//! HTTP and over TLS. From the root namespace, against fh1's balancer:
//! 1. Latency with a new connection per request: p50/p99 of 1000 sequential GETs each over
//!    plain HTTP, over TLS (the client's default session resumption) and over TLS with a full
//!    handshake every time (resumption off), interleaved in rounds so machine noise hits all
//!    alike.
//! 2. Latency with keep-alive: one connection each, 2000 sequential GETs plain and over TLS,
//!    interleaved in rounds.
//! 3. Throughput: requests/s for 10 s with 64 in flight, new connections (plain, TLS, TLS
//!    without resumption) and keep-alive (64 persistent connections, plain and TLS).
//!
//! Every response is checked (200, body "demo 1"); a failed request is counted and reported,
//! never left out silently. Run with `cargo bench --bench tls_testbed`. It removes what it made
//! even when a step fails. Every number depends on this 2-core machine: the client, six
//! engines and the balancers share it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use common::traffic::{self, Client, REQUEST_TIMEOUT};
use common::{Cleanup, Output, Repo, Testbed, fleet_env, unique_project};

const HTTP_PORT: u16 = 18580;
const HTTPS_PORT: u16 = 18543;
const NAME: &str = "bench.example.test";
const BODY: &str = "demo 1";
const HOSTS: [usize; 3] = [1, 2, 3];
const DAY: i64 = 24 * 3600;
const IN_FLIGHT: usize = 64;
const SPAN: Duration = Duration::from_secs(10);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Latencies of the requests that succeeded, and the errors of those that did not.
#[derive(Default)]
struct Sample {
    ok: Vec<Duration>,
    failed: Vec<String>,
}

impl Sample {
    fn record(&mut self, start: Instant, result: Result<(), String>) {
        match result {
            Ok(()) => self.ok.push(start.elapsed()),
            Err(e) => self.failed.push(e),
        }
    }
}

/// One GET with a new connection (`Connection: close`), checked: a 200 with the demo's body.
async fn get_new(target: SocketAddr, client: &Client) -> Result<(), String> {
    let body = traffic::get_with(target, "/", client).await?;
    if body == BODY {
        Ok(())
    } else {
        Err(format!("body: {body:?}"))
    }
}

/// `n` sequential GETs, a new connection each.
async fn new_connections(target: SocketAddr, client: &Client, n: usize, into: &mut Sample) {
    for _ in 0..n {
        let start = Instant::now();
        into.record(start, get_new(target, client).await);
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An HTTP/1.1 client on one kept-alive connection (`Connection: keep-alive`), plain or over
/// TLS as `client` says, reading each response by its Content-Length. A connection the server
/// closes (or one that failed) is opened again at the next request, and counted.
struct KeepAlive {
    target: SocketAddr,
    client: Client,
    conn: Option<Box<dyn Stream>>,
    buf: Vec<u8>,
    /// Connections opened, and of those over TLS, how many resumed a session.
    opened: usize,
    resumed: usize,
}

impl KeepAlive {
    fn new(target: SocketAddr, client: &Client) -> KeepAlive {
        KeepAlive {
            target,
            client: client.clone(),
            conn: None,
            buf: Vec::new(),
            opened: 0,
            resumed: 0,
        }
    }

    async fn connect(&mut self) -> Result<Box<dyn Stream>, String> {
        let tcp = TcpStream::connect(self.target)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        self.opened += 1;
        match &self.client.tls {
            None => Ok(Box::new(tcp)),
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(NAME.to_string())
                    .map_err(|e| format!("server name: {e}"))?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("handshake: {e}"))?;
                if tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                    self.resumed += 1;
                }
                Ok(Box::new(tls))
            }
        }
    }

    /// One checked GET on the connection; on any error the connection is dropped.
    async fn get(&mut self) -> Result<(), String> {
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange())
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")));
        if result.is_err() {
            self.conn = None;
            self.buf.clear();
        }
        result
    }

    async fn exchange(&mut self) -> Result<(), String> {
        if self.conn.is_none() {
            let conn = self.connect().await?;
            self.conn = Some(conn);
            self.buf.clear();
        }
        let (conn, buf) = (self.conn.as_mut().unwrap(), &mut self.buf);
        let request = format!("GET / HTTP/1.1\r\nHost: {NAME}\r\nConnection: keep-alive\r\n\r\n");
        conn.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            fill(conn, buf).await?;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no status line: {head:?}"))?;
        let (mut length, mut close) = (None, false);
        for (name, value) in lines.filter_map(|l| l.split_once(':')) {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                length = value.parse::<usize>().ok();
            } else if name == "connection" && value.eq_ignore_ascii_case("close") {
                close = true;
            } else if name == "transfer-encoding" {
                return Err(format!("transfer-encoding {value}, not supported here"));
            }
        }
        let length = length.ok_or_else(|| format!("no Content-Length: {head:?}"))?;
        while buf.len() < head_end + length {
            fill(conn, buf).await?;
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
        buf.drain(..head_end + length);
        if close {
            self.conn = None;
        }
        if status != 200 {
            return Err(format!("status: {status}"));
        }
        if body.trim() != BODY {
            return Err(format!("body: {body:?}"));
        }
        Ok(())
    }
}

async fn fill(conn: &mut Box<dyn Stream>, buf: &mut Vec<u8>) -> Result<(), String> {
    match conn.read_buf(buf).await {
        Ok(0) => Err("connection closed mid-response".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("receive: {e}")),
    }
}

/// `n` sequential GETs on `conn`.
async fn kept_alive(conn: &mut KeepAlive, n: usize, into: &mut Sample) {
    for _ in 0..n {
        let start = Instant::now();
        into.record(start, conn.get().await);
    }
}

/// Throughput: what answered in `SPAN` with `IN_FLIGHT` workers.
struct Load {
    ok: usize,
    failed: usize,
    errors: Vec<String>,
    /// Connections opened (keep-alive only) and TLS sessions resumed among them.
    opened: usize,
    resumed: usize,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.ok as f64 / SPAN.as_secs_f64()
    }
}

/// `IN_FLIGHT` workers for `SPAN`, each a new connection per request or one kept-alive
/// connection of its own.
async fn throughput(target: SocketAddr, client: &Client, keep_alive: bool) -> Load {
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + SPAN;
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (ok, failed, client) = (ok.clone(), failed.clone(), client.clone());
            tokio::spawn(async move {
                let mut conn = KeepAlive::new(target, &client);
                let mut errors = Vec::new();
                while Instant::now() < deadline {
                    let result = if keep_alive {
                        conn.get().await
                    } else {
                        get_new(target, &client).await
                    };
                    match result {
                        Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if errors.len() < 3 {
                                errors.push(e);
                            }
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
                (conn.opened, conn.resumed, errors)
            })
        })
        .collect();
    let (mut opened, mut resumed, mut errors) = (0, 0, Vec::new());
    for w in workers {
        match w.await {
            Ok((o, r, e)) => {
                opened += o;
                resumed += r;
                errors.extend(e);
            }
            Err(e) => errors.push(format!("worker: {e}")),
        }
    }
    Load {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        errors,
        opened,
        resumed,
    }
}

fn fleet(testbed: &Testbed, repo: &Repo, home: &str, key: &str, args: &[&str]) -> Output {
    let known = testbed.known_hosts();
    fleet_env(
        repo.path(),
        args,
        &[
            ("FLEET_KNOWN_HOSTS", known.to_str().unwrap()),
            ("HOME", home),
            ("FLEET_AGE_KEY_FILE", key),
        ],
    )
}

fn main() {
    let code = run();
    std::process::exit(code);
}

/// Everything, with the cleanup guard dropped before the process exits.
fn run() -> i32 {
    let testbed = Testbed::get();
    let project = unique_project("btls");
    let _cleanup = Cleanup::of(&testbed, &HOSTS, &project);
    let repo = Repo::new();

    // The project's own age identity, the secrets encrypted to it, a CA and a certificate.
    let home = tempfile::tempdir().unwrap();
    let key = home.path().join("key.txt");
    let (identity, recipient) = fleet::secrets::generate();
    std::fs::write(&key, format!("{identity}\n")).unwrap();
    let ca = fleet::tls::new_ca("bench CA", now() - DAY).unwrap();
    let (cert, cert_key) = fleet::tls::issue(
        &ca.0,
        &ca.1,
        &[NAME.to_string()],
        &[0x42, 1],
        now() - DAY,
        now() + 30 * DAY,
    )
    .unwrap();
    std::fs::create_dir_all(repo.path().join("secrets")).unwrap();
    for (name, value) in [("crt", cert.to_string()), ("key", cert_key.to_string())] {
        let bytes =
            fleet::secrets::encrypt(value.as_bytes(), std::slice::from_ref(&recipient), true)
                .unwrap();
        std::fs::write(repo.path().join(format!("secrets/{name}.age")), bytes).unwrap();
    }
    repo.write(
        "fleet.yaml",
        &format!(
            "project: {project}\n{hosts}secrets_recipients: [{recipient}]\n\
             balancer: {{ image: fleet-haproxy:2.6, http_port: {HTTP_PORT}, https_port: {HTTPS_PORT} }}\n\
             secrets:\n  crt: {{ file: secrets/crt.age }}\n  key: {{ file: secrets/key.age }}\n\
             services:\n  web:\n    image: fleet-demo:1\n    \
             command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM INT; httpd -f -p 8080 -h /www & wait\"]\n    \
             healthcheck: {{ test: [CMD, wget, -qO-, 'http://127.0.0.1:8080/'], interval: 1s, retries: 2 }}\n    \
             deploy: {{ replicas: 3, placement: {{ max_replicas_per_node: 1 }} }}\n    \
             x-fleet:\n      expose: {{ port: 8080, hosts: [{NAME}], health_path: /, redirect_http: false, \
             tls: {{ certificate: crt, key: key }} }}\n",
            hosts = testbed.hosts_yaml(&HOSTS),
        ),
    );
    repo.commit_all("bench");
    let (home_dir, key_file) = (
        home.path().to_str().unwrap(),
        key.to_str().unwrap().to_string(),
    );
    let applied = fleet(&testbed, &repo, home_dir, &key_file, &["apply", "--yes"]);
    if applied.code != 0 {
        eprintln!("apply failed:\n{}\n{}", applied.stdout, applied.stderr);
        return 1;
    }
    println!(
        "deployed {project} in {:.1} s (3 replicas on fh1..fh3, balancers on {HTTP_PORT}/{HTTPS_PORT})",
        applied.elapsed.as_secs_f64()
    );

    let at =
        |port: u16| -> SocketAddr { format!("{}:{port}", testbed.address(1)).parse().unwrap() };
    let (plain_at, tls_at) = (at(HTTP_PORT), at(HTTPS_PORT));
    let plain = Client::named(NAME);
    let tls = Client::tls(NAME, &ca.0);
    // The same trust, without session resumption: a full handshake on every connection.
    let full = {
        let mut config = (**tls.tls.as_ref().unwrap()).clone();
        config.resumption = rustls::client::Resumption::disabled();
        Client {
            host: Some(NAME.to_string()),
            tls: Some(Arc::new(config)),
        }
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Until fh1's balancer serves the name both ways (the replicas' first checks).
        let deadline = Instant::now() + Duration::from_secs(60);
        for (target, client) in [(plain_at, &plain), (tls_at, &tls)] {
            loop {
                match get_new(target, client).await {
                    Ok(()) => break,
                    Err(e) if Instant::now() > deadline => {
                        eprintln!("{target} does not serve {NAME}: {e}");
                        return 1;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
        // Let every replica pass the balancers' checks, then warm up every path.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut warm = Sample::default();
        for client in [&plain, &tls, &full] {
            let target = if client.tls.is_some() {
                tls_at
            } else {
                plain_at
            };
            new_connections(target, client, 100, &mut warm).await;
        }
        if !warm.failed.is_empty() {
            println!(
                "warm-up: {} of 300 failed, first: {}",
                warm.failed.len(),
                warm.failed[0]
            );
        }
        // Does the balancer resume the client's TLS sessions (with a default client config)?
        let mut probe = KeepAlive::new(tls_at, &tls);
        for _ in 0..3 {
            let _ = probe.get().await;
            probe.conn = None;
        }
        println!(
            "TLS session resumption with the default client: {} of {} new connections resumed",
            probe.resumed, probe.opened
        );

        // 1. Latency, a new connection per request.
        let (mut p, mut t, mut f) = (Sample::default(), Sample::default(), Sample::default());
        for _ in 0..10 {
            new_connections(plain_at, &plain, 100, &mut p).await;
            new_connections(tls_at, &tls, 100, &mut t).await;
            new_connections(tls_at, &full, 100, &mut f).await;
        }
        // 2. Latency on one kept-alive connection each (opened, and checked, beforehand).
        let (mut kp, mut kt) = (
            KeepAlive::new(plain_at, &plain),
            KeepAlive::new(tls_at, &tls),
        );
        let (mut ka_p, mut ka_t) = (Sample::default(), Sample::default());
        let mut opening = Sample::default();
        kept_alive(&mut kp, 1, &mut opening).await;
        kept_alive(&mut kt, 1, &mut opening).await;
        for _ in 0..10 {
            kept_alive(&mut kp, 200, &mut ka_p).await;
            kept_alive(&mut kt, 200, &mut ka_t).await;
        }
        ka_p.failed.extend(opening.failed);
        for s in [&mut p, &mut t, &mut f, &mut ka_p, &mut ka_t] {
            s.ok.sort();
        }

        // 3. Throughput.
        let lp = throughput(plain_at, &plain, false).await;
        let lt = throughput(tls_at, &tls, false).await;
        let lf = throughput(tls_at, &full, false).await;
        let lkp = throughput(plain_at, &plain, true).await;
        let lkt = throughput(tls_at, &tls, true).await;

        println!();
        println!("latency through fh1's balancer, sequential GETs, interleaved in 10 rounds (ms):");
        println!(
            "  {:<50} {:>8} {:>8} {:>9} {:>9} {:>7}",
            "case", "p50", "p99", "+p50 TLS", "+p99 TLS", "failed"
        );
        let row = |label: &str, s: &Sample, base: Option<&Sample>| {
            let (p50, p99) = (percentile(&s.ok, 0.5), percentile(&s.ok, 0.99));
            let (d50, d99) = match base {
                Some(b) => (
                    format!("{:+.3}", p50 - percentile(&b.ok, 0.5)),
                    format!("{:+.3}", p99 - percentile(&b.ok, 0.99)),
                ),
                None => (String::new(), String::new()),
            };
            let n = s.ok.len() + s.failed.len();
            println!(
                "  {:<50} {p50:>8.3} {p99:>8.3} {d50:>9} {d99:>9} {:>7}",
                format!("{label} ({n})"),
                s.failed.len()
            );
        };
        row("new connection, plain HTTP", &p, None);
        row("new connection, TLS (resumption allowed)", &t, Some(&p));
        row("new connection, TLS (full handshake)", &f, Some(&p));
        row("keep-alive, plain HTTP", &ka_p, None);
        row("keep-alive, TLS", &ka_t, Some(&ka_p));
        println!(
            "  keep-alive connections opened: plain {}, TLS {} (1 each if none was closed)",
            kp.opened, kt.opened
        );

        println!();
        println!(
            "throughput through fh1's balancer, {IN_FLIGHT} in flight for {SPAN:?} (requests/s):"
        );
        println!(
            "  {:<50} {:>9} {:>9} {:>8} {:>12}",
            "case", "req/s", "vs plain", "failed", "connections"
        );
        let trow = |label: &str, l: &Load, base: Option<&Load>, keep: bool| {
            let vs = match base {
                Some(b) => format!("{:+.0}%", (l.per_second() / b.per_second() - 1.0) * 100.0),
                None => String::new(),
            };
            let conns = if keep {
                format!("{} ({} res.)", l.opened, l.resumed)
            } else {
                "1 per req.".to_string()
            };
            println!(
                "  {label:<50} {:>9.0} {vs:>9} {:>8} {conns:>12}",
                l.per_second(),
                l.failed
            );
        };
        trow("new connections, plain HTTP", &lp, None, false);
        trow(
            "new connections, TLS (resumption allowed)",
            &lt,
            Some(&lp),
            false,
        );
        trow(
            "new connections, TLS (full handshake)",
            &lf,
            Some(&lp),
            false,
        );
        trow("keep-alive, plain HTTP", &lkp, None, true);
        trow("keep-alive, TLS", &lkt, Some(&lkp), true);

        let failures = [&p, &t, &f, &ka_p, &ka_t]
            .iter()
            .map(|s| s.failed.len())
            .sum::<usize>()
            + [&lp, &lt, &lf, &lkp, &lkt]
                .iter()
                .map(|l| l.failed)
                .sum::<usize>();
        for (label, errors) in [
            ("latency, new connection, plain", &p.failed),
            ("latency, new connection, TLS", &t.failed),
            ("latency, new connection, TLS full", &f.failed),
            ("latency, keep-alive, plain", &ka_p.failed),
            ("latency, keep-alive, TLS", &ka_t.failed),
            ("throughput, new connections, plain", &lp.errors),
            ("throughput, new connections, TLS", &lt.errors),
            ("throughput, new connections, TLS full", &lf.errors),
            ("throughput, keep-alive, plain", &lkp.errors),
            ("throughput, keep-alive, TLS", &lkt.errors),
        ] {
            if !errors.is_empty() {
                println!(
                    "failures in {label}, e.g.: {}",
                    errors[..errors.len().min(3)].join("; ")
                );
            }
        }
        println!("failed requests in all: {failures}");
        0
    })
}
