//! `fleet watch`: the daemon's command line, logging, signals and HTTP listener around
//! [`crate::watch::Daemon`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

use super::apply::{parse_duration, pull_policy};
use super::hosts::ConnectOptions;
use super::{ExitCode, GlobalOptions, Printer};
use crate::apply::{self, PullPolicy};
use crate::watch::{Daemon, Settings, http, state::Shared};

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub connect: ConnectOptions,
    /// How often to read the tracked revision (a remote repository is fetched each time)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub interval: Duration,
    /// How often to run a full pass even when no event arrived
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub resync: Duration,
    /// How often to ping each host
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub probe_interval: Duration,
    /// Declare a host down (and move its replicas) after it was unreachable this long
    /// [default: fleet.yaml's watch.host_down_after, or 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub host_down_after: Option<Duration>,
    /// Apply commits that remove more than half of the running replicas
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// Address for /healthz, /readyz, /status, /metrics and POST /hooks/git
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9300")]
    pub listen: SocketAddr,
    /// File holding the webhook's shared secret (or set FLEET_WEBHOOK_SECRET); without one,
    /// every webhook delivery is refused
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Log lines as text or as JSON objects (one per line, on stderr)
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How long the watch lease stays valid without renewal: a standby daemon takes over this
    /// long after the leader stopped renewing (killed, or cut off from the hosts)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub lease_ttl: Duration,
    /// How often the leader renews the watch lease (at most a third of --lease-ttl)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub lease_renew: Duration,
    /// How often autoscaled services' balancers and replicas' CPU are read (x-fleet.autoscale)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub autoscale_interval: Duration,
    /// No longer used: a pass never waits for the project lock; it reports `blocked_by` and
    /// retries within seconds
    #[arg(long, value_name = "DURATION", hide = true, value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// When to pull images
    #[arg(long, value_parser = pull_policy(), default_value = "missing")]
    pub pull: PullPolicy,
    /// Bound on each Docker API call during a pass (a host cut off mid-pass holds the pass up
    /// this long; pulls and graceful stops have their own, longer bounds)
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub call_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn init_logs(format: LogFormat, verbose: bool, quiet: bool) {
    let level = if verbose {
        tracing::Level::DEBUG
    } else if quiet {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false);
    // fleet's own lines only: the HTTP and SSH libraries log every pooled connection at debug.
    let ours = Targets::new().with_target("fleet", level);
    let _ = match format {
        LogFormat::Json => tracing::subscriber::set_global_default(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .finish()
                .with(ours),
        ),
        LogFormat::Text => tracing::subscriber::set_global_default(
            builder
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .fmt_fields(super::logs::TextFields)
                .finish()
                .with(ours),
        ),
    };
}

fn webhook_secret(args: &WatchArgs) -> Result<Option<Vec<u8>>, String> {
    if let Some(path) = &args.webhook_secret_file {
        let text = std::fs::read(path)
            .map_err(|e| format!("cannot read the webhook secret {}: {e}", path.display()))?;
        // Files written with `echo` end in a newline that is not part of the secret.
        let secret = text.trim_ascii().to_vec();
        if secret.is_empty() {
            return Err(format!(
                "the webhook secret file {} is empty",
                path.display()
            ));
        }
        return Ok(Some(secret));
    }
    Ok(std::env::var("FLEET_WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(String::into_bytes))
}

pub fn run(global: &GlobalOptions, args: &WatchArgs, printer: &Printer) -> ExitCode {
    if global.worktree {
        printer.fail(
            "fleet watch follows commits; --worktree is not supported here",
            Some("commit the change, or use `fleet apply --worktree` for a one-off"),
        );
        return ExitCode::Failure;
    }
    let secret = match webhook_secret(args) {
        Ok(secret) => secret,
        Err(message) => {
            printer.fail(&message, None);
            return ExitCode::Failure;
        }
    };
    if args.lease_ttl < Duration::from_secs(6) || args.lease_renew * 3 > args.lease_ttl {
        printer.fail(
            &format!(
                "--lease-renew {:?} with --lease-ttl {:?}: the lease must be renewed at least three times within its ttl, and the ttl be at least 6s",
                args.lease_renew, args.lease_ttl
            ),
            Some("e.g. --lease-ttl 30s --lease-renew 10s (the defaults)"),
        );
        return ExitCode::Failure;
    }
    if args.lease_renew.is_zero() {
        printer.fail("--lease-renew must be more than 0", None);
        return ExitCode::Failure;
    }
    init_logs(args.log_format, global.verbose, global.quiet);
    if args.lock_timeout.is_some() {
        tracing::warn!("--lock-timeout is no longer used: passes never wait for the project lock");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&e, None);
            return ExitCode::Failure;
        }
    };
    let settings = Settings {
        request: crate::source::Request {
            dir: global.dir.clone(),
            repo: global.repo.clone(),
            rev: global.rev.clone(),
            worktree: false,
        },
        connect: crate::watch::Connect::Ssh(args.connect.ssh_options()),
        interval: args.interval.max(Duration::from_secs(1)),
        resync: args.resync.max(Duration::from_secs(1)),
        probe_interval: args.probe_interval.max(Duration::from_millis(200)),
        host_down_after: args.host_down_after,
        allow_mass_delete: args.allow_mass_delete,
        lease_ttl: args.lease_ttl,
        lease_renew: args.lease_renew,
        autoscale_interval: args.autoscale_interval.max(Duration::from_millis(500)),
        apply: apply::Options {
            pull: args.pull,
            call_timeout: args.call_timeout,
            ..apply::Options::default()
        },
    };
    runtime.block_on(async move {
        let listener = match http::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                printer.fail(
                    &format!("cannot listen on {}: {e}", args.listen),
                    Some("pick another address with --listen"),
                );
                return ExitCode::Failure;
            }
        };
        let shared = Arc::new(Shared::default());
        let (triggers, receiver) = tokio::sync::mpsc::channel(1024);
        let endpoints = Arc::new(http::Endpoints {
            shared: Arc::clone(&shared),
            webhook_secret: secret.clone(),
            triggers: triggers.clone(),
        });
        tracing::info!(
            listen = %args.listen,
            webhook = if secret.is_some() { "on" } else { "off (no secret)" },
            interval = ?args.interval,
            "fleet watch starting"
        );
        let server = tokio::spawn(http::serve(listener, endpoints));
        let stop = Arc::new(AtomicBool::new(false));
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let signals = {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                interrupted(&mut term).await;
                tracing::info!("signal received: finishing the batch in progress, then stopping (signal again to exit at once)");
                stop.store(true, Ordering::SeqCst);
                let _ = shutdown.send(true);
                interrupted(&mut term).await;
                std::process::exit(130);
            })
        };
        let daemon = Daemon::new(settings, Arc::clone(&shared), triggers, stop);
        let ran = daemon.run(receiver, shutdown_rx).await;
        server.abort();
        signals.abort();
        match ran {
            Ok(()) => ExitCode::Success,
            // Nothing was ever held: exit so a supervisor (systemd) shows the failure.
            Err(unreadable) => {
                printer.fail(
                    &format!(
                        "cannot read the desired state at start: {}",
                        unreadable.message
                    ),
                    unreadable.hint.as_deref(),
                );
                ExitCode::Failure
            }
        }
    })
}

/// The next SIGINT or SIGTERM.
async fn interrupted(term: &mut Option<tokio::signal::unix::Signal>) {
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}
