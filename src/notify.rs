//! Webhook notifications: what happened (a rollout, a rollback, a failed heal, a host lost or
//! back, a refused commit) POSTed as JSON or as a Slack-style `{"text"}` message to the URLs of
//! `watch.notify` or `fleet apply --notify`. The edge to HTTP (`ureq`, blocking, run on
//! tokio's blocking threads); delivery is retried with backoff and never holds up the caller.
//! A URL may carry a token (webhook URLs do): it is never printed, logs name its host only.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::spec::model::NotifyFormat;

/// Tries per notification, and the wait before each retry.
const ATTEMPTS: u32 = 3;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(5);
/// Notifications waiting to be sent; beyond this they are dropped (and counted), so a dead
/// receiver never grows the daemon's memory.
const QUEUE: usize = 64;

/// One thing that happened.
#[derive(Clone, Debug, Serialize)]
pub struct Notice {
    pub event: &'static str,
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub at: String,
}

impl Notice {
    pub fn new(event: &'static str, project: &str, commit: Option<&str>, message: String) -> Self {
        Notice {
            event,
            project: project.to_string(),
            commit: commit.map(|c| c.chars().take(12).collect()),
            message,
            host: None,
            at: crate::clock::now_rfc3339(),
        }
    }

    pub fn on(mut self, host: &str) -> Self {
        self.host = Some(host.to_string());
        self
    }
}

/// Where notifications go.
#[derive(Clone)]
pub struct Target {
    url: String,
    pub format: NotifyFormat,
    /// Empty: every event.
    pub events: Vec<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({}, {:?})", self.label(), self.format)
    }
}

impl Target {
    pub fn new(url: String, format: NotifyFormat, events: Vec<String>) -> Target {
        Target {
            url,
            format,
            events,
        }
    }

    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }

    /// The URL's scheme and host: what may be shown of it.
    pub fn label(&self) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("", &self.url));
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // user:password@host
        let host = host.rsplit('@').next().unwrap_or(host);
        format!("{scheme}://{host}")
    }
}

/// The request body for `format`.
pub fn body(format: NotifyFormat, notice: &Notice) -> String {
    match format {
        NotifyFormat::Json => serde_json::to_string(notice).unwrap_or_default(),
        NotifyFormat::Slack => {
            let mut text = format!(
                "*fleet* `{}`: {}: {}",
                notice.project, notice.event, notice.message
            );
            if let Some(commit) = &notice.commit {
                text.push_str(&format!(" (commit {commit})"));
            }
            if let Some(host) = &notice.host {
                text.push_str(&format!(" [host {host}]"));
            }
            serde_json::json!({ "text": text }).to_string()
        }
    }
}

/// Sends one notification, trying [`ATTEMPTS`] times with a doubling wait; blocking. The error
/// names the receiver by host only.
pub fn deliver(target: &Target, notice: &Notice) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let payload = body(target.format, notice);
    let mut wait = FIRST_RETRY;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match agent
            .post(&target.url)
            .header("Content-Type", "application/json")
            .send(payload.as_str())
        {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => last = format!("answered {}", response.status()),
            // ureq's errors may quote the URL: say what kind of failure it was only.
            Err(e) => last = error_kind(&e),
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
    Err(format!("{}: {last} ({ATTEMPTS} tries)", target.label()))
}

fn error_kind(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "no answer in time".into(),
        ureq::Error::Io(io) => format!("connection failed ({:?})", io.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed".into(),
        _ => "the request failed".into(),
    }
}

/// What became of a notification, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Failed,
    Dropped,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
            Delivery::Dropped => "dropped",
        }
    }
}

type Report = Arc<dyn Fn(Delivery, &Target, Option<&str>) + Send + Sync>;

/// Sends notifications from a task of its own: `notify` never waits.
pub struct Notifier {
    tx: mpsc::Sender<Notice>,
    report: Report,
    task: tokio::task::JoinHandle<()>,
    targets: Vec<Target>,
}

impl Notifier {
    /// `report` is told of every delivery (with the reason of a failure).
    pub fn start(targets: Vec<Target>, report: Report) -> Notifier {
        let (tx, mut rx) = mpsc::channel::<Notice>(QUEUE);
        let sending = targets.clone();
        let told = Arc::clone(&report);
        let task = tokio::spawn(async move {
            while let Some(notice) = rx.recv().await {
                for target in sending.iter().filter(|t| t.wants(notice.event)) {
                    let (t, n) = (target.clone(), notice.clone());
                    let result = tokio::task::spawn_blocking(move || deliver(&t, &n))
                        .await
                        .unwrap_or_else(|e| Err(format!("internal error: {e}")));
                    match result {
                        Ok(()) => told(Delivery::Sent, target, None),
                        Err(why) => told(Delivery::Failed, target, Some(&why)),
                    }
                }
            }
        });
        Notifier {
            tx,
            report,
            task,
            targets,
        }
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Queues `notice` for every target that wants it; drops it when the queue is full.
    pub fn notify(&self, notice: Notice) {
        if !self.targets.iter().any(|t| t.wants(notice.event)) {
            return;
        }
        if self.tx.try_send(notice.clone()).is_err() {
            for target in self.targets.iter().filter(|t| t.wants(notice.event)) {
                (self.report)(Delivery::Dropped, target, Some("the queue is full"));
            }
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice::new(
            "rollout",
            "shop",
            Some("0123456789abcdef"),
            "web updated".into(),
        )
        .on("fh1")
    }

    #[test]
    fn bodies_carry_the_event_and_a_label_hides_the_url_token() {
        let json: serde_json::Value =
            serde_json::from_str(&body(NotifyFormat::Json, &notice())).unwrap();
        assert_eq!(json["event"], "rollout");
        assert_eq!(json["commit"], "0123456789ab");
        assert_eq!(json["host"], "fh1");
        let slack: serde_json::Value =
            serde_json::from_str(&body(NotifyFormat::Slack, &notice())).unwrap();
        assert_eq!(
            slack["text"],
            "*fleet* `shop`: rollout: web updated (commit 0123456789ab) [host fh1]"
        );
        let t = Target::new(
            "https://user:pw@hooks.example.com/services/T000/B000/XXXX?x=1".into(),
            NotifyFormat::Slack,
            vec!["rollback".into()],
        );
        assert_eq!(t.label(), "https://hooks.example.com");
        assert!(!format!("{t:?}").contains("XXXX"));
        assert!(t.wants("rollback") && !t.wants("rollout"));
    }

    #[test]
    fn a_receiver_that_refuses_is_tried_three_times_then_reported_by_host() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut count = 0;
            for stream in listener.incoming().take(3) {
                let mut stream = stream.unwrap();
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                count += 1;
            }
            count
        });
        let target = Target::new(
            format!("http://127.0.0.1:{port}/hook/s3cret-token"),
            NotifyFormat::Json,
            Vec::new(),
        );
        let error = deliver(&target, &notice()).unwrap_err();
        assert_eq!(seen.join().unwrap(), 3);
        assert!(error.contains("answered 500"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
    }
}
