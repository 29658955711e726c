//! `fleet lock status` and `fleet lock break`: see and remove the project lock on each host.

use std::io::{IsTerminal, Write};

use clap::Subcommand;

use super::hosts::ConnectOptions;
use super::plan::{close_all, connect_all};
use super::{ExitCode, GlobalOptions, Printer};
use crate::lock::{self, Stale, State};

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Show who holds the project lock on each host, and since when
    Status {
        #[command(flatten)]
        connect: ConnectOptions,
    },
    /// End the project lock of a run that is gone now (shows what it ends and asks first); a
    /// lock that is not renewed is taken over by the next run once it expires anyway
    Break {
        #[command(flatten)]
        connect: ConnectOptions,
        /// Only on these hosts (repeatable); default: every host
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// End the watch lease instead of the project lock (a standby takes over an expired
        /// lease by itself; a live daemon takes it back within seconds)
        #[arg(long)]
        watch: bool,
    },
}

pub fn run(global: &GlobalOptions, command: &LockCommand, printer: &Printer) -> ExitCode {
    let Some(desired) = super::load_desired(global, printer) else {
        return ExitCode::Failure;
    };
    let (connect, only, yes, breaking, watch) = match command {
        LockCommand::Status { connect } => (connect, &[][..], false, false, false),
        LockCommand::Break {
            connect,
            hosts,
            yes,
            watch,
        } => (connect, hosts.as_slice(), *yes, true, *watch),
    };
    let lease = crate::watch::lease_project(&desired.project);
    // The lock this command breaks: the project's, or the watch lease.
    let target = if watch {
        lease.as_str()
    } else {
        desired.project.as_str()
    };
    for name in only {
        if !desired.hosts.contains_key(name) {
            printer.fail(&format!("no host `{name}` in fleet.yaml"), None);
            return ExitCode::Failure;
        }
    }
    let Some(runtime) = super::runtime(printer) else {
        return ExitCode::Failure;
    };
    let json = global.format == super::Format::Json;
    runtime.block_on(async {
        let connected = connect_all(&desired, connect).await;
        let mut engines = std::collections::BTreeMap::new();
        let mut code = ExitCode::Success;
        let mut held = Vec::new();
        let mut report = Vec::new();
        for (name, result) in connected {
            if !only.is_empty() && !only.contains(&name) {
                continue;
            }
            let engine = match result {
                Err(lost) => {
                    let (host, message, hint) = &lost.failure;
                    printer.host_error(host, message, hint.as_deref());
                    code = ExitCode::Failure;
                    continue;
                }
                Ok(engine) => engine,
            };
            let (lock_state, lease_state) = tokio::join!(
                lock::status(engine.as_ref(), &desired.project),
                lock::status(engine.as_ref(), &lease)
            );
            let states = match (lock_state, lease_state) {
                (Ok(l), Ok(w)) => (l.state, w.state),
                (Err(e), _) | (_, Err(e)) => {
                    printer.host_error(&name, &crate::error::full_message(&e), None);
                    code = ExitCode::Failure;
                    engines.insert(name, engine);
                    continue;
                }
            };
            let target_state = if watch { &states.1 } else { &states.0 };
            if *target_state != State::Free {
                held.push(name.clone());
            }
            if !json {
                if states.1 != State::Free && (!breaking || watch) {
                    outln!("{name}: {}", describe(&states.1, "watched"));
                }
                if !watch {
                    outln!("{name}: {}", describe(&states.0, "locked"));
                }
            }
            report.push(HostLocks {
                host: name.clone(),
                lock: states.0,
                watch_lease: states.1,
            });
            engines.insert(name, engine);
        }
        if json && !breaking {
            outln!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        if breaking && !held.is_empty() {
            let go = yes || (std::io::stdin().is_terminal() && ask(held.len()));
            if !go {
                if !std::io::stdin().is_terminal() {
                    printer.fail(
                        "no terminal to confirm on; nothing was removed",
                        Some("run again with --yes"),
                    );
                }
                close_all(engines).await;
                return ExitCode::Failure;
            }
            for name in &held {
                match lock::break_lock(engines[name].as_ref(), target).await {
                    Ok(_) => outln!("{name}: lock removed"),
                    Err(e) => {
                        printer.host_error(name, &crate::error::full_message(&e), None);
                        code = ExitCode::Failure;
                    }
                }
            }
        }
        close_all(engines).await;
        code
    })
}

/// One host's lock and watch lease, for `--format json`.
#[derive(serde::Serialize)]
struct HostLocks {
    host: String,
    lock: State,
    watch_lease: State,
}

/// One line per state; `verb` is `locked` or `watched`. Says what happens next, as `fleet
/// apply` and `fleet watch` will do it (they judge with the same function).
fn describe(state: &State, verb: &str) -> String {
    match state {
        State::Free => "free".into(),
        State::Mine => format!("{verb} by this process"),
        State::Held { holder, expires_in } => {
            format!("{verb} by {holder}; renewed, expires in {expires_in}s unless renewed again")
        }
        State::Unproven { expires_in } => format!(
            "{verb} by nobody: the lock's labels are lost (an engine restart right after it was \
             taken, or a hand-made volume); the next run takes it over in {expires_in}s"
        ),
        State::Stale { holder, why } => {
            let who = holder.as_ref().map_or_else(
                || "a lock without a holder".to_string(),
                |h| format!("{verb} by {h}"),
            );
            let what = match why {
                Stale::Expired { seconds_ago } => format!(
                    "it expired {seconds_ago}s ago (not renewed: its holder is gone or cut off)"
                ),
                Stale::ProcessGone => "its process is gone".into(),
                Stale::LabelsLost => "its labels are lost and it is older than a lock lives".into(),
            };
            let breaker = if verb == "watched" {
                "fleet lock break --watch"
            } else {
                "fleet lock break"
            };
            format!(
                "STALE ({who}): {what}, so nobody holds it; the next run takes it over, or `{breaker}` ends it now"
            )
        }
    }
}

fn ask(count: usize) -> bool {
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "Remove {count} lock(s)? A run still holding one would go on unprotected. Only 'yes' \
         will be accepted: "
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> lock::Holder {
        lock::Holder {
            who: "ci@runner-7 pid 4242".into(),
            since: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
            token: "t".into(),
            machine: "runner-7".into(),
            pid: Some(4242),
            process_space: None,
        }
    }

    #[test]
    fn a_lock_whose_holder_is_gone_is_called_stale_with_the_command_that_breaks_it() {
        let gone = State::Stale {
            holder: Some(holder()),
            why: Stale::ProcessGone,
        };
        let text = describe(&gone, "locked");
        assert!(
            text.starts_with("STALE (locked by ci@runner-7 pid 4242"),
            "{text}"
        );
        assert!(
            text.contains("its process is gone, so nobody holds it"),
            "{text}"
        );
        assert!(
            text.ends_with("or `fleet lock break` ends it now"),
            "{text}"
        );

        let expired = State::Stale {
            holder: Some(holder()),
            why: Stale::Expired { seconds_ago: 12 },
        };
        let text = describe(&expired, "watched");
        assert!(text.contains("it expired 12s ago"), "{text}");
        assert!(
            text.ends_with("or `fleet lock break --watch` ends it now"),
            "{text}"
        );
    }

    #[test]
    fn a_held_lock_is_not_called_stale() {
        let held = State::Held {
            holder: holder(),
            expires_in: 20,
        };
        assert!(!describe(&held, "locked").contains("STALE"));
    }
}
