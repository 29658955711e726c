//! `fleet hosts`: probe every host's engine in parallel and show one row per host.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::docker::{DockerEngine, endpoint};
use crate::engine::{Engine, EngineError, EngineFacts};
use crate::error::full_message;
use crate::spec::Desired;
use crate::spec::model::{Address, Host};
use crate::ssh::SshOptions;

/// How to reach hosts; shared by every command that connects.
#[derive(Debug, Args, Clone)]
pub struct ConnectOptions {
    /// known_hosts file to check host keys against [default: ~/.ssh/known_hosts]
    #[arg(long, value_name = "FILE", env = "FLEET_KNOWN_HOSTS")]
    pub known_hosts: Option<PathBuf>,
    /// OpenSSH client config to read (Host aliases, HostName, User, Port, IdentityFile, ProxyJump)
    /// [default: ~/.ssh/config]
    #[arg(long, value_name = "FILE", env = "FLEET_SSH_CONFIG")]
    pub ssh_config: Option<PathBuf>,
    /// Trust on first use: record unknown host keys in the known_hosts file instead of refusing
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// How long to wait for each host to connect and log in (e.g. 5s, 500ms, 1m; a bare number
    /// is seconds)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::apply::parse_duration)]
    pub connect_timeout: Duration,
    /// Hosts contacted at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
}

impl ConnectOptions {
    pub fn ssh_options(&self) -> SshOptions {
        let mut options = SshOptions::from_env(
            self.known_hosts.clone(),
            self.accept_new_host_keys,
            self.connect_timeout.max(Duration::from_millis(100)),
        );
        if let Some(path) = &self.ssh_config {
            options.config_file = Some(path.clone());
        }
        options
    }
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    address: String,
    reachable: bool,
    latency_ms: Option<f64>,
    engine: Option<EngineFacts>,
    managed_containers: Option<usize>,
    /// Short reason when not reachable.
    error: Option<String>,
    #[serde(skip)]
    detail: Option<(String, Option<String>)>,
}

pub fn address_text(host: &Host) -> String {
    match &host.address {
        Address::Local => "local engine".into(),
        Address::Unix { path } => format!("unix://{path}"),
        Address::Ssh {
            user, host, port, ..
        } => {
            let user = user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("ssh://{user}{host}{port}")
        }
    }
}

async fn probe(name: String, host: Host, project: String, options: Arc<SshOptions>) -> Row {
    let address = address_text(&host);
    let deadline = options.connect_timeout * 2 + Duration::from_secs(10);
    let result = tokio::time::timeout(deadline, async {
        let engine = DockerEngine::connect(&endpoint(&host, &options)?, &options).await?;
        let outcome = async {
            let latency = engine.ping().await?;
            let (facts, managed) =
                tokio::try_join!(engine.facts(), engine.count_managed(&project))?;
            Ok::<_, EngineError>((latency, facts, managed))
        }
        .await;
        engine.close().await;
        outcome
    })
    .await
    .unwrap_or(Err(EngineError::Timeout(deadline)));
    match result {
        Ok((latency, facts, managed)) => Row {
            name,
            address,
            reachable: true,
            latency_ms: Some((latency.as_secs_f64() * 10_000.0).round() / 10.0),
            engine: Some(facts),
            managed_containers: Some(managed),
            error: None,
            detail: None,
        },
        Err(e) => {
            let message = full_message(&e);
            Row {
                name,
                address,
                reachable: false,
                latency_ms: None,
                engine: None,
                managed_containers: None,
                error: Some(e.short().to_string()),
                detail: Some((message, e.hint())),
            }
        }
    }
}

fn memory(bytes: i64) -> String {
    let gib = bytes as f64 / (1024.0 * 1024.0 * 1024.0);
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

pub fn run(global: &GlobalOptions, connect: &ConnectOptions, printer: &Printer) -> ExitCode {
    let Some(desired) = super::load_desired(global, printer) else {
        return ExitCode::Failure;
    };
    let Some(runtime) = super::runtime(printer) else {
        return ExitCode::Failure;
    };
    let rows = runtime.block_on(probe_all(&desired, connect));
    print_rows(global.format, &rows, printer);
    if rows.iter().all(|r| r.reachable) {
        ExitCode::Success
    } else {
        ExitCode::Failure
    }
}

async fn probe_all(desired: &Desired, connect: &ConnectOptions) -> Vec<Row> {
    let options = Arc::new(connect.ssh_options());
    let limit = Arc::new(tokio::sync::Semaphore::new(usize::from(connect.parallel)));
    let tasks: Vec<_> = desired
        .hosts
        .iter()
        .map(|(name, host)| {
            let (name, host, project, options, limit) = (
                name.clone(),
                host.clone(),
                desired.project.clone(),
                Arc::clone(&options),
                Arc::clone(&limit),
            );
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                probe(name, host, project, options).await
            })
        })
        .collect();
    let mut rows = Vec::with_capacity(tasks.len());
    for (task, name) in tasks.into_iter().zip(desired.hosts.keys()) {
        rows.push(task.await.unwrap_or_else(|e| Row {
            name: name.clone(),
            address: String::new(),
            reachable: false,
            latency_ms: None,
            engine: None,
            managed_containers: None,
            error: Some("internal error".into()),
            detail: Some((e.to_string(), None)),
        }));
    }
    rows
}

fn print_rows(format: Format, rows: &[Row], printer: &Printer) {
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        let _ = serde_json::to_writer_pretty(&mut out, rows);
        let _ = writeln!(out);
    } else {
        let header = [
            "HOST", "ADDRESS", "STATUS", "LATENCY", "ENGINE", "OS/ARCH", "CPUS", "MEMORY",
            "MANAGED",
        ];
        let cells: Vec<[String; 9]> = rows
            .iter()
            .map(|r| {
                let engine = r.engine.as_ref();
                let dash = || "-".to_string();
                [
                    r.name.clone(),
                    r.address.clone(),
                    r.error.clone().unwrap_or_else(|| "ok".into()),
                    r.latency_ms.map(|l| format!("{l} ms")).unwrap_or_else(dash),
                    engine.map(|e| e.version.clone()).unwrap_or_else(dash),
                    engine
                        .map(|e| format!("{}/{}", e.os, e.arch))
                        .unwrap_or_else(dash),
                    engine.map(|e| e.cpus.to_string()).unwrap_or_else(dash),
                    engine.map(|e| memory(e.memory_bytes)).unwrap_or_else(dash),
                    r.managed_containers
                        .map(|m| m.to_string())
                        .unwrap_or_else(dash),
                ]
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|c| c[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cols: &[String]| {
            let mut s = cols
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            s.truncate(s.trim_end().len());
            s
        };
        let _ = writeln!(out, "{}", line(&header.map(String::from)));
        for c in &cells {
            let _ = writeln!(out, "{}", line(c));
        }
    }
    drop(out);
    for row in rows {
        if let Some((message, hint)) = &row.detail {
            printer.host_error(&row.name, message, hint.as_deref());
        }
    }
    let down = rows.iter().filter(|r| !r.reachable).count();
    if down > 0 {
        printer.info(&format!("{down} of {} host(s) unreachable.", rows.len()));
    }
}
