//! `fleet plan`: observe every host, plan, and render; optionally save the plan.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::hosts::{ConnectOptions, endpoint, full_message};
use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::docker::{Engine, EngineError};
use crate::observe::{self, HostState, Observed};
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
}

/// Why a host could not be observed: its name, the full message, and a hint.
pub type HostFailure = (String, String, Option<String>);

/// Observes every host in parallel (bounded). A host that cannot be reached is marked, never
/// an error for the whole run.
pub async fn observe_all(
    desired: &Desired,
    connect: &ConnectOptions,
) -> (Observed, Vec<HostFailure>) {
    let options = Arc::new(connect.ssh_options());
    let limit = Arc::new(tokio::sync::Semaphore::new(usize::from(connect.parallel)));
    let tasks: Vec<_> = desired
        .hosts
        .iter()
        .map(|(name, host)| {
            let (host, project, options, limit) = (
                host.clone(),
                desired.project.clone(),
                Arc::clone(&options),
                Arc::clone(&limit),
            );
            let name = name.clone();
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let deadline = options.connect_timeout * 2 + std::time::Duration::from_secs(20);
                let result = tokio::time::timeout(deadline, async {
                    let engine = Engine::connect(&endpoint(&host, &options)?, &options).await?;
                    let containers = observe::observe_host(&engine, &project).await;
                    engine.close().await;
                    containers
                })
                .await
                .unwrap_or(Err(EngineError::Timeout(deadline)));
                match result {
                    Ok(containers) => (name, HostState::Reachable { containers }, None),
                    Err(e) => {
                        let failure = (name.clone(), full_message(&e), e.hint());
                        (
                            name,
                            HostState::Unreachable {
                                reason: e.short().to_string(),
                            },
                            Some(failure),
                        )
                    }
                }
            })
        })
        .collect();
    let mut observed = Observed::default();
    let mut failures = Vec::new();
    for (task, name) in tasks.into_iter().zip(desired.hosts.keys()) {
        let (name, state, failure) = task.await.unwrap_or_else(|e| {
            let reason = format!("internal error: {e}");
            (
                name.clone(),
                HostState::Unreachable {
                    reason: reason.clone(),
                },
                Some((name.clone(), reason, None)),
            )
        });
        observed.hosts.insert(name, state);
        failures.extend(failure);
    }
    (observed, failures)
}

pub fn run(global: &GlobalOptions, args: &PlanArgs, printer: &Printer) -> ExitCode {
    let Some((desired, commit)) = super::load_desired_at(global, printer) else {
        return ExitCode::Failure;
    };
    let Some(runtime) = super::runtime(printer) else {
        return ExitCode::Failure;
    };
    let (observed, failures) = runtime.block_on(observe_all(&desired, &args.connect));
    for (host, message, hint) in &failures {
        printer.host_error(host, message, hint.as_deref());
    }
    let plan = match plan::plan(&desired, &observed, commit.as_deref()) {
        Ok(plan) => plan,
        Err(errors) => {
            for e in &errors {
                printer.error(
                    e,
                    Some("add hosts, relax placement constraints, or lower replicas"),
                );
            }
            return ExitCode::Failure;
        }
    };
    let rendered = match global.format {
        Format::Json => render::json(&plan),
        Format::Markdown => render::markdown(&plan),
        Format::Text => render::text(&plan, printer.stdout_color()),
    };
    print!("{rendered}");
    if let Some(path) = &args.out {
        // The saved plan keeps real values (it is what would be applied), like Terraform's plan
        // file: treat it as a secret.
        let saved = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(path, saved) {
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
