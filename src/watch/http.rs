//! The daemon's HTTP endpoints: `/healthz`, `/readyz`, `/status`, `/metrics` and the git
//! webhook `POST /hooks/git`. Plain HTTP/1.1 on one address; meant for loopback or a private
//! network (status carries no secrets, and the webhook is signed).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Trigger;
use super::state::{Role, Shared};
use super::webhook;

/// Webhook bodies above this are refused (GitHub caps payloads at 25 MB; push events are small).
const MAX_BODY: usize = 1 << 20;

pub struct Endpoints {
    pub shared: Arc<Shared>,
    pub webhook_secret: Option<Vec<u8>>,
    pub triggers: mpsc::Sender<Trigger>,
}

/// Binds the address (so a taken port is reported before the daemon starts working).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves connections until the task is dropped.
pub async fn serve(listener: TcpListener, endpoints: Arc<Endpoints>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let endpoints = Arc::clone(&endpoints);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let endpoints = Arc::clone(&endpoints);
                async move { Ok::<_, Infallible>(handle(&endpoints, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json(value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let body = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(endpoints: &Endpoints, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let shared = &endpoints.shared;
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") => {
            let status = shared.status();
            match status.role {
                Role::Leader if status.blocked_by.is_some() => {
                    let blocked = status
                        .blocked_by
                        .as_ref()
                        .map_or(String::new(), |b| format!("{} since {}", b.lock, b.since));
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("blocked: {blocked}\n"),
                    )
                }
                Role::Leader if status.applied_commit.is_some() => text(StatusCode::OK, "ready\n"),
                Role::Leader => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: no valid commit applied yet\n",
                ),
                Role::Standby => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "standby: {} leads this project\n",
                        status.leader.as_deref().unwrap_or("another daemon")
                    ),
                ),
                role => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("{}\n", role.as_str()),
                ),
            }
        }
        (&Method::GET, "/status") => json(&shared.status()),
        (&Method::GET, "/metrics") => {
            let mut response = text(StatusCode::OK, shared.prometheus());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            response
        }
        (&Method::POST, "/hooks/git") => hook(endpoints, req).await,
        (_, "/hooks/git") => text(StatusCode::METHOD_NOT_ALLOWED, "POST only\n"),
        (_, "/healthz" | "/readyz" | "/status" | "/metrics") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n")
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found; endpoints: /healthz /readyz /status /metrics, POST /hooks/git\n",
        ),
    }
}

async fn hook(endpoints: &Endpoints, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let shared = &endpoints.shared;
    let reject = |why: &str| {
        shared.count(|m| *m.webhooks.entry("rejected").or_default() += 1);
        tracing::warn!(reason = why, "webhook refused");
        text(StatusCode::UNAUTHORIZED, format!("{why}\n"))
    };
    let Some(secret) = &endpoints.webhook_secret else {
        return reject("webhook disabled: start fleet watch with a webhook secret");
    };
    let signature = req
        .headers()
        .get(webhook::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            shared.count(|m| *m.webhooks.entry("rejected").or_default() += 1);
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large or unreadable\n",
            );
        }
    };
    if !webhook::verify(secret, &body, signature.as_deref()) {
        return reject("missing or wrong X-Hub-Signature-256");
    }
    shared.count(|m| *m.webhooks.entry("accepted").or_default() += 1);
    tracing::info!("webhook accepted: reading the repository");
    // A full queue already holds a wake-up; the reconcile will read the newest commit anyway.
    let _ = endpoints.triggers.try_send(Trigger::Webhook);
    text(StatusCode::ACCEPTED, "accepted\n")
}
