//! Client traffic for balancer tests and benchmarks: plain HTTP/1.1 GETs, one TCP connection
//! each (`Connection: close`), sent at a fixed rate from a thread of their own and bounded in
//! count and time. Only testbed addresses are ever targets.

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

impl Traffic {
    pub fn start(target: SocketAddr, path: &str, per_second: u32, limit: Duration) -> Traffic {
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
                    tasks.push(tokio::spawn(async move {
                        let sent = started.elapsed();
                        let begin = Instant::now();
                        let result = get(target, &path).await;
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
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut stream = TcpStream::connect(target)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| format!("receive: {e}"))?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("incomplete response: {text:?}"))?;
        let status = head.lines().next().unwrap_or_default();
        if status.split_whitespace().nth(1) == Some("200") {
            Ok(body.trim().to_string())
        } else {
            Err(format!("status: {status}"))
        }
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")))
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
