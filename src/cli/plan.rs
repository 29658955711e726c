//! `fleet plan`: observe every host, plan, and render; optionally save the plan.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::hosts::ConnectOptions;
use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::converge;
use crate::docker::{DockerEngine, endpoint};
use crate::engine::{EngineError, SharedEngine};
use crate::error::full_message;
use crate::observe::{HostState, Observed};
use crate::spec::Desired;
use crate::{plan, render};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub connect: ConnectOptions,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error (Terraform's convention)
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the plan (JSON) to FILE, for `fleet apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// With `--format markdown`: leave out the lines beyond CHARS characters, with a note
    /// [default: 65536, GitHub's limit for a comment; GitLab's is 1000000]
    #[arg(long, value_name = "CHARS", value_parser = clap::value_parser!(u32).range(render::MARKDOWN_MIN_CHARS as i64..))]
    pub max_size: Option<u32>,
    /// Plan to ship every service's image from the local engine to the hosts that lack it
    /// (as `x-fleet: { image_source: local }` does for one service)
    #[arg(long)]
    pub ship_images: bool,
}

/// Why a host could not be observed: its name, the full message, and a hint.
pub type HostFailure = (String, String, Option<String>);

/// A host that could not be used: why in a word (for the plan), and the failure to print.
pub struct Lost {
    pub short: String,
    pub failure: HostFailure,
}

pub fn lost(name: &str, e: &EngineError) -> Lost {
    Lost {
        short: e.short().to_string(),
        failure: (name.to_string(), full_message(e), e.hint()),
    }
}

/// Connects to every host in parallel (bounded). A host that cannot be reached is marked, never
/// an error for the whole run.
pub async fn connect_all(
    desired: &Desired,
    connect: &ConnectOptions,
) -> BTreeMap<String, Result<SharedEngine, Lost>> {
    let options = Arc::new(connect.ssh_options());
    let limit = Arc::new(tokio::sync::Semaphore::new(usize::from(connect.parallel)));
    let tasks: Vec<_> = desired
        .hosts
        .iter()
        .map(|(name, host)| {
            let (host, options, limit) = (host.clone(), Arc::clone(&options), Arc::clone(&limit));
            let name = name.clone();
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let deadline = options.connect_timeout * 2 + std::time::Duration::from_secs(20);
                let result = tokio::time::timeout(deadline, async {
                    DockerEngine::connect(&endpoint(&host, &options)?, &options).await
                })
                .await
                .unwrap_or(Err(EngineError::Timeout(deadline)));
                result
                    .map(|e| Arc::new(e) as SharedEngine)
                    .map_err(|e| lost(&name, &e))
            })
        })
        .collect();
    let mut out = BTreeMap::new();
    for (task, name) in tasks.into_iter().zip(desired.hosts.keys()) {
        let result = task.await.unwrap_or_else(|e| {
            let reason = format!("internal error: {e}");
            Err(Lost {
                short: reason.clone(),
                failure: (name.clone(), reason, None),
            })
        });
        out.insert(name.clone(), result);
    }
    out
}

/// The engines of the connected hosts; the others as unreachable, with why.
pub fn split_connected(
    connected: BTreeMap<String, Result<SharedEngine, Lost>>,
) -> (BTreeMap<String, SharedEngine>, Observed, Vec<HostFailure>) {
    let mut engines = BTreeMap::new();
    let mut unobserved = Observed::default();
    let mut failures = Vec::new();
    for (name, result) in connected {
        match result {
            Ok(engine) => {
                engines.insert(name, engine);
            }
            Err(lost) => {
                unobserved
                    .hosts
                    .insert(name, HostState::Unreachable { reason: lost.short });
                failures.push(lost.failure);
            }
        }
    }
    (engines, unobserved, failures)
}

/// Observes the connected hosts. Hosts that failed to connect, or fail now, are unreachable;
/// the ones that fail now are dropped from `engines`.
pub async fn observe_connected(
    desired: &Desired,
    connected: BTreeMap<String, Result<SharedEngine, Lost>>,
) -> (Observed, BTreeMap<String, SharedEngine>, Vec<HostFailure>) {
    let (engines, unobserved, mut failures) = split_connected(connected);
    let observation = converge::observe(
        desired,
        &engines,
        std::time::Duration::from_secs(60),
        unobserved,
    )
    .await;
    failures.extend(
        observation
            .failed
            .iter()
            .map(|(host, e)| lost(host, e).failure),
    );
    // In host order, as they are printed.
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    (observation.observed, observation.engines, failures)
}

/// Closes every connection cleanly.
pub async fn close_all(engines: BTreeMap<String, SharedEngine>) {
    futures_util::future::join_all(engines.into_values().map(|engine| async move {
        if Arc::strong_count(&engine) == 1 {
            // A host that went silent must not hold up the exit.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), engine.close()).await;
        }
    }))
    .await;
}

pub fn run(global: &GlobalOptions, args: &PlanArgs, printer: &Printer) -> ExitCode {
    if args.max_size.is_some() && global.format != Format::Markdown {
        printer.fail(
            "--max-size applies to `--format markdown` only",
            Some("add `--format markdown`, or leave --max-size out"),
        );
        return ExitCode::Failure;
    }
    let Some((desired, commit, _)) = super::load_desired_at(global, printer) else {
        return ExitCode::Failure;
    };
    let Some(runtime) = super::runtime(printer) else {
        return ExitCode::Failure;
    };
    let planned = runtime.block_on(async {
        let connected = connect_all(&desired, &args.connect).await;
        let (observed, engines, failures) = observe_connected(&desired, connected).await;
        for (host, message, hint) in &failures {
            printer.host_error(host, message, hint.as_deref());
        }
        let planned = match plan::plan(&desired, &observed, commit.as_deref()) {
            Ok(mut plan) => {
                let sources = super::ship::sources(global, &desired, &args.connect).await;
                match crate::apply::ship::survey(
                    &desired,
                    &plan,
                    &engines,
                    &sources,
                    args.ship_images,
                )
                .await
                {
                    Ok(ships) => {
                        plan.ships = ships;
                        Ok(Ok(plan))
                    }
                    Err(errors) => Err(errors),
                }
            }
            Err(errors) => Ok(Err(errors)),
        };
        close_all(engines).await;
        planned
    });
    let planned = match planned {
        Ok(planned) => planned,
        Err(errors) => {
            super::ship::print_errors(&errors, printer, global.format == Format::Json);
            return ExitCode::Failure;
        }
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(errors) => {
            for e in &errors {
                printer.error(
                    e,
                    Some("add hosts, relax placement constraints, or lower replicas"),
                );
            }
            if global.format == Format::Json {
                super::print_json(&serde_json::json!({
                    "errors": errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                }));
            }
            return ExitCode::Failure;
        }
    };
    let rendered = match global.format {
        Format::Json => render::json(&plan),
        Format::Markdown => render::markdown(
            &plan,
            args.max_size
                .map_or(render::MARKDOWN_MAX_CHARS, |n| n as usize),
        ),
        Format::Text => render::text(&plan, printer.stdout_color()),
    };
    out!("{rendered}");
    if let Some(path) = &args.out {
        // The saved plan keeps real environment values (it is what would be applied), like
        // Terraform's plan file, so only its owner may read it. Secrets are in it only as
        // keyed digests; `fleet apply` reads their content again from the commit.
        let saved = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
        if let Err(e) = super::write_private(path, saved.as_bytes()) {
            printer.error(
                &e,
                Some(&format!("could not write the plan to {}", path.display())),
            );
            return ExitCode::Failure;
        }
        printer.info(&format!(
            "Saved the plan to {} (it contains unmasked values).",
            path.display()
        ));
    }
    if !plan.unreachable.is_empty() {
        return ExitCode::Failure;
    }
    match (args.detailed_exitcode, plan.is_empty()) {
        (true, false) => ExitCode::Changes,
        _ => ExitCode::Success,
    }
}
