//! `fleet lock status` and `fleet lock break`: see and remove the project lock on each host.

use std::io::{IsTerminal, Write};

use clap::Subcommand;

use super::hosts::ConnectOptions;
use super::plan::{close_all, connect_all};
use super::{ExitCode, GlobalOptions, Printer};
use crate::apply::lock;

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Show who holds the project lock on each host, and since when
    Status {
        #[command(flatten)]
        connect: ConnectOptions,
    },
    /// Remove the project lock left by a killed run (shows what it removes and asks first)
    Break {
        #[command(flatten)]
        connect: ConnectOptions,
        /// Only on these hosts (repeatable); default: every host
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Remove the watch lease of a `fleet watch` that died on another machine instead of
        /// the project lock (a live daemon takes it back within seconds)
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
    runtime.block_on(async {
        let connected = connect_all(&desired, connect).await;
        let mut engines = std::collections::BTreeMap::new();
        let mut code = ExitCode::Success;
        let mut held = Vec::new();
        for (name, result) in connected {
            if !only.is_empty() && !only.contains(&name) {
                continue;
            }
            match result {
                Err(lost) => {
                    let (host, message, hint) = &lost.failure;
                    printer.host_error(host, message, hint.as_deref());
                    code = ExitCode::Failure;
                }
                Ok(engine) => {
                    if !breaking || watch {
                        if let Ok(Some(holder)) = lock::holder(&engine, &lease).await {
                            println!("{name}: watched by {holder}");
                            if watch {
                                held.push(name.clone());
                            }
                        }
                    }
                    match lock::holder(&engine, &desired.project).await {
                        Ok(Some(holder)) if !watch => {
                            println!("{name}: locked by {holder}");
                            held.push(name.clone());
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => println!("{name}: free"),
                        Err(e) => {
                            printer.host_error(&name, &super::hosts::full_message(&e), None);
                            code = ExitCode::Failure;
                        }
                    }
                    engines.insert(name, engine);
                }
            }
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
                match lock::break_lock(&engines[name], target).await {
                    Ok(()) => println!("{name}: lock removed"),
                    Err(e) => {
                        printer.host_error(name, &super::hosts::full_message(&e), None);
                        code = ExitCode::Failure;
                    }
                }
            }
        }
        close_all(engines).await;
        code
    })
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
