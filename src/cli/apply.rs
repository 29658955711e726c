//! `fleet apply`: lock, observe, plan (or check a saved plan), confirm, carry out, report.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::builder::{EnumValueParser, TypedValueParser};
use clap::{Args, ValueEnum};

use super::hosts::ConnectOptions;
use super::plan::{HostFailure, close_all, connect_all, observe_connected, split_connected};
use super::progress::{Bars, Lines};
use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::apply::{self, Options, Progress, PullPolicy, Report, ServiceStatus, StepKind};
use crate::converge::{self, Execution, Locking, Observation, Outcome};
use crate::engine::SharedEngine;
use crate::lock::{self, Fence, Hold, Holder, LockError, LockEvent};
use crate::payload::Payload;
use crate::plan::{self, Plan};
use crate::render;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `fleet plan --out FILE`: applied without asking (the saved plan is the
    /// approval), and only if the desired state and what the hosts run are still as they were
    /// when it was made
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectOptions,
    /// Apply without asking (required when there is no terminal to ask on; not needed with a
    /// PLAN_FILE)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Stop at the first failure on any host, after the steps in progress
    #[arg(long)]
    pub fail_fast: bool,
    /// Apply a plan that removes more than half of the running replicas (refused otherwise,
    /// as by `fleet watch`; fleet.yaml's `watch: { allow_mass_delete: true }` allows it too)
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// How long to wait for another run's lock on a host (e.g. 30s, 5m; 0 = fail at once)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// When to pull images
    #[arg(long, value_parser = pull_policy(), default_value = "missing")]
    pub pull: PullPolicy,
    /// Bound on each Docker API call; a host that does not answer within it is marked failed
    /// (pulls and graceful stops have their own, longer bounds)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub call_timeout: Duration,
    /// POST the outcome to this webhook (repeatable): event `rollout` (with the result) or
    /// `rollback`; retried 3 times, never changes the exit code
    #[arg(long, value_name = "URL")]
    pub notify: Vec<String>,
    /// Ship every service's image from the local engine to the hosts that lack it, with no
    /// registry (as `x-fleet: { image_source: local }` does for one service); an image the
    /// local engine lacks is an error before anything changes
    #[arg(long)]
    pub ship_images: bool,
    /// The body sent to --notify URLs: JSON, or Slack's `{"text"}`
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "slack"])]
    pub notify_format: String,
}

/// `--pull` as the command line says it (the doc comments are the `--help` text), for
/// [`PullPolicy`] of apply, which knows nothing of the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PullArg {
    /// Pull only images the host does not have (Compose's default)
    Missing,
    /// Pull every image, to pick up a moved tag
    Always,
}

impl From<PullArg> for PullPolicy {
    fn from(arg: PullArg) -> Self {
        match arg {
            PullArg::Missing => PullPolicy::Missing,
            PullArg::Always => PullPolicy::Always,
        }
    }
}

/// The parser of `--pull` (apply and watch): the values of [`PullArg`], as a [`PullPolicy`].
pub fn pull_policy() -> impl TypedValueParser<Value = PullPolicy> {
    EnumValueParser::<PullArg>::new().map(PullPolicy::from)
}

/// The parser of every duration flag: Go/Compose durations (`5s`, `500ms`, `1m30s`), or a bare
/// whole number of seconds (`10`, as `--connect-timeout` always took).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    crate::spec::decode::parse_duration(text)
        .ok_or_else(|| format!("`{text}` is not a duration; write e.g. 30s, 500ms, 5m or 1m30s"))
}

fn read_saved(path: &PathBuf) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the plan file {}: {e}", path.display()))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a plan saved by `fleet plan --out`: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if plan.format_version != plan::FORMAT_VERSION {
        return Err(format!(
            "{}: plan format version {} is not supported (this fleet writes version {})",
            path.display(),
            plan.format_version,
            plan::FORMAT_VERSION
        ));
    }
    Ok(plan)
}

/// Why a saved plan no longer fits the desired state read now, if it does not. Another commit
/// with the same desired state (a README change, a comment) is not a reason.
fn stale_desired(
    saved: &Plan,
    desired: &crate::spec::Desired,
    commit: Option<&str>,
) -> Option<String> {
    (saved.desired != plan::desired_fingerprint(desired)).then(|| {
        format!(
            "plan is stale: the desired state changed since it was made (at {}; now at {})",
            short(saved.commit.as_deref()),
            short(commit)
        )
    })
}

fn short(commit: Option<&str>) -> String {
    commit
        .map(|c| crate::source::short_commit(c).to_string())
        .unwrap_or_else(|| "the working tree".into())
}

pub fn run(global: &GlobalOptions, args: &ApplyArgs, printer: &Printer) -> ExitCode {
    let saved = match args.plan_file.as_ref().map(read_saved).transpose() {
        Ok(saved) => saved,
        Err(message) => {
            printer.fail(&message, None);
            return ExitCode::Failure;
        }
    };
    let Some((desired, commit, payload)) = super::load_desired_at(global, printer) else {
        return ExitCode::Failure;
    };
    if let Some(saved) = &saved {
        if saved.project != desired.project {
            printer.fail(
                &format!(
                    "the plan is for project `{}`, but this repository holds `{}`",
                    saved.project, desired.project
                ),
                None,
            );
            return ExitCode::Failure;
        }
        if let Some(stale) = stale_desired(saved, &desired, commit.as_deref()) {
            printer.fail(
                &stale,
                Some("run `fleet plan --out FILE` again, review it, then `fleet apply FILE`"),
            );
            return ExitCode::Failure;
        }
    }
    let Some(runtime) = super::runtime(printer) else {
        return ExitCode::Failure;
    };
    let loaded = Loaded {
        desired,
        commit,
        payload,
    };
    runtime.block_on(run_async(global, args, printer, loaded, saved))
}

/// What was read from the repository: the desired state, its commit, and its files' contents.
struct Loaded {
    desired: crate::spec::Desired,
    commit: Option<String>,
    payload: Payload,
}

async fn run_async(
    global: &GlobalOptions,
    args: &ApplyArgs,
    printer: &Printer,
    loaded: Loaded,
    saved: Option<Plan>,
) -> ExitCode {
    let Loaded {
        desired,
        commit,
        payload,
    } = loaded;
    let connected = connect_all(&desired, &args.connect).await;
    let (reachable, unobserved, connect_failures) = split_connected(connected);
    let hold = Arc::new(Hold::new(
        &desired.project,
        Holder::me("apply"),
        lock::LOCK_TTL,
    ));
    let events = |event: LockEvent<'_>| match event {
        LockEvent::Waiting { host, state } => printer.info(&format!(
            "Waiting up to {:?} for the lock on {host}: {state}",
            args.lock_timeout
        )),
        LockEvent::TookOver { host, state } => {
            printer.info(&format!("Taking over the lock on {host}: {state}"))
        }
    };
    let json = global.format == Format::Json;
    let sources = Arc::new(super::ship::sources(global, &desired, &args.connect).await);
    let options = Options {
        fail_fast: args.fail_fast,
        pull: args.pull,
        call_timeout: args.call_timeout,
        images: Some(Arc::clone(&sources)),
        ..Options::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let bars = (!json && std::io::stderr().is_terminal() && !printer.quiet).then(Bars::new);
    let lines = Lines::new(!json);
    let progress: &dyn Progress = match &bars {
        Some(bars) => bars,
        None => &lines,
    };
    let mut steer = CliSteer {
        args,
        printer,
        desired: &desired,
        payload: &payload,
        commit: commit.as_deref(),
        saved,
        connect_failures,
        json,
        stop: Arc::clone(&stop),
        interrupt: None,
        bars: bars.as_ref(),
        left: None,
        sources: &sources,
    };
    let outcome = converge::converge(
        &desired,
        &reachable,
        unobserved,
        Locking {
            hold: &hold,
            also: &[],
            wait: args.lock_timeout,
            events: &events,
        },
        Execution {
            options: &options,
            progress,
            stop: &stop,
            observe_limit: OBSERVE_LIMIT,
            payload: &payload,
        },
        &mut steer,
    )
    .await;
    if let Some(interrupt) = steer.interrupt.take() {
        interrupt.abort();
    }
    let left = steer.left;
    let code = match outcome {
        Outcome::Locked(e) => {
            let hint = match &e {
                LockError::Held {
                    state: lock::State::Unproven { expires_in },
                    ..
                } => Some(format!(
                    "nobody can hold it: fleet takes it over by itself in {expires_in}s; run \
                     again then, or with a --lock-timeout longer than that"
                )),
                LockError::Held { .. } => Some(
                    "wait for that run to finish; a lock that is not renewed is taken over once \
                     it expires (`fleet lock status` shows when), and `fleet lock break` ends it \
                     now"
                    .to_string(),
                ),
                LockError::Engine { source, .. } => source.hint(),
            };
            printer.error(&e, hint.as_deref());
            printer.info("Nothing was changed.");
            ExitCode::Failure
        }
        Outcome::Stopped(code) => code,
        Outcome::Applied { report, .. } => {
            if json {
                print_json(&report);
            } else {
                print_summary(&report, left, printer);
            }
            notify_outcome(args, &report, printer).await;
            match (report.success, left) {
                (true, Some(0) | None) => ExitCode::Success,
                _ => ExitCode::Failure,
            }
        }
    };
    close_all(reachable).await;
    code
}

/// Tells the `--notify` webhooks how the run ended: a rollback, or a rollout that succeeded or
/// failed. A webhook that cannot be reached is reported, and changes nothing else.
async fn notify_outcome(args: &ApplyArgs, report: &crate::apply::Report, printer: &Printer) {
    use crate::apply::ServiceStatus;
    if args.notify.is_empty() {
        return;
    }
    let rolled_back: Vec<&str> = report
        .services
        .iter()
        .filter(|(_, s)| {
            matches!(
                s.status,
                ServiceStatus::RolledBack | ServiceStatus::RollbackFailed
            )
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let changed: Vec<&str> = report
        .services
        .iter()
        .filter(|(_, s)| !matches!(s.status, ServiceStatus::Unchanged | ServiceStatus::Skipped))
        .map(|(name, _)| name.as_str())
        .collect();
    let (event, message) = if !rolled_back.is_empty() {
        (
            "rollback",
            format!("fleet apply rolled back {}", rolled_back.join(", ")),
        )
    } else if report.success {
        (
            "rollout",
            format!(
                "fleet apply succeeded ({} service(s) changed: {})",
                changed.len(),
                changed.join(", ")
            ),
        )
    } else {
        (
            "rollout",
            format!(
                "fleet apply failed ({} service(s) touched: {})",
                changed.len(),
                changed.join(", ")
            ),
        )
    };
    let notice =
        crate::notify::Notice::new(event, &report.project, report.commit.as_deref(), message);
    let format = if args.notify_format == "slack" {
        crate::spec::model::NotifyFormat::Slack
    } else {
        crate::spec::model::NotifyFormat::Json
    };
    for url in &args.notify {
        let target = crate::notify::Target::new(url.clone(), format, Vec::new());
        let (t, n) = (target.clone(), notice.clone());
        let result = tokio::task::spawn_blocking(move || crate::notify::deliver(&t, &n))
            .await
            .unwrap_or_else(|e| Err(format!("internal error: {e}")));
        match result {
            Ok(()) => printer.info(&format!("Notified {}.", target.label())),
            Err(why) => printer.fail(&format!("notification not delivered: {why}"), None),
        }
    }
}

/// Bound on observing one host.
const OBSERVE_LIMIT: Duration = Duration::from_secs(60);

/// `fleet apply`'s policy in the converge pipeline: plan strictly (or check a saved plan),
/// show it, ask, and afterwards check the fleet matches the commit.
struct CliSteer<'a> {
    args: &'a ApplyArgs,
    printer: &'a Printer,
    desired: &'a crate::spec::Desired,
    payload: &'a Payload,
    commit: Option<&'a str>,
    saved: Option<Plan>,
    connect_failures: Vec<HostFailure>,
    json: bool,
    stop: Arc<AtomicBool>,
    /// The Ctrl-C handler, from the confirmation on.
    interrupt: Option<tokio::task::JoinHandle<()>>,
    bars: Option<&'a Bars>,
    /// Changes still planned after a run that says it succeeded (the truth check).
    left: Option<usize>,
    /// Where shipped images come from.
    sources: &'a crate::apply::ship::Sources,
}

#[async_trait::async_trait]
impl converge::Steer for CliSteer<'_> {
    type Stop = ExitCode;

    async fn plan(&mut self, observation: &Observation) -> Result<Plan, ExitCode> {
        let (printer, desired) = (self.printer, self.desired);
        let mut failures = std::mem::take(&mut self.connect_failures);
        failures.extend(
            observation
                .failed
                .iter()
                .map(|(host, e)| super::plan::lost(host, e).failure),
        );
        failures.sort_by(|a, b| a.0.cmp(&b.0));
        for (host, message, hint) in &failures {
            printer.host_error(host, message, hint.as_deref());
        }
        let observed = &observation.observed;
        let from_file = self.saved.is_some();
        let plan = match self.saved.take() {
            Some(plan) => {
                if plan.observed != observed.fingerprint() {
                    printer.fail(
                        "plan is stale: the hosts changed since it was made (containers were \
                         created, removed, stopped or started, or a host became (un)reachable)",
                        Some(
                            "run `fleet plan --out FILE` again, review it, then `fleet apply FILE`",
                        ),
                    );
                    return Err(ExitCode::Failure);
                }
                plan
            }
            None => match plan::plan(desired, observed, self.commit) {
                Ok(mut plan) => {
                    let all = self.args.ship_images;
                    let engines = &observation.engines;
                    match apply::ship::survey(desired, &plan, engines, self.sources, all).await {
                        Ok(ships) => plan.ships = ships,
                        Err(errors) => {
                            super::ship::print_errors(&errors, printer, self.json);
                            return Err(ExitCode::Failure);
                        }
                    }
                    plan
                }
                Err(errors) => {
                    for e in &errors {
                        printer.error(
                            e,
                            Some("add hosts, relax placement constraints, or lower replicas"),
                        );
                    }
                    return Err(ExitCode::Failure);
                }
            },
        };
        if plan.is_empty() {
            if self.json {
                let report = apply::apply(
                    desired,
                    self.payload,
                    &plan,
                    &observation.engines,
                    &Options::default(),
                    &Lines::new(false),
                    &Fence::none(),
                    &AtomicBool::new(false),
                )
                .await;
                print_json(&report);
            } else {
                outln!("{}", render::summary(&plan));
            }
            return Err(if plan.unreachable.is_empty() {
                ExitCode::Success
            } else {
                ExitCode::Failure
            });
        }
        if !self.args.allow_mass_delete && !desired.watch.allow_mass_delete {
            if let Some(mass) = plan::mass_delete(&plan, observed) {
                let message = format!(
                    "the plan removes {} of the {} running replicas (more than half); nothing \
                     was changed",
                    mass.removed, mass.running
                );
                if !self.json {
                    out!("{}", render::text(&plan, printer.stdout_color()));
                }
                printer.fail(
                    &message,
                    Some(
                        "if that is intended, run again with --allow-mass-delete (or set \
                         `watch: { allow_mass_delete: true }` in fleet.yaml)",
                    ),
                );
                if self.json {
                    super::print_json(&serde_json::json!({
                        "success": false,
                        "error": message,
                        "removed": mass.removed,
                        "running": mass.running,
                    }));
                }
                return Err(ExitCode::Failure);
            }
        }
        if !self.json && !from_file {
            out!("{}", render::text(&plan, printer.stdout_color()));
        }
        // A saved plan was reviewed when it was made: applying it is the approval (Terraform's
        // `apply PLANFILE`), and it is refused above unless it still fits.
        if !self.args.yes && !from_file {
            if !std::io::stdin().is_terminal() {
                printer.fail(
                    "no terminal to confirm on; nothing was changed",
                    Some("review the plan, then run again with --yes"),
                );
                return Err(ExitCode::Failure);
            }
            if !confirm(&plan).await {
                printer.info("Apply cancelled; nothing was changed.");
                return Err(ExitCode::Failure);
            }
        }
        let stop = Arc::clone(&self.stop);
        self.interrupt = Some(tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                eprintln!(
                    "Interrupted: finishing the steps in progress (interrupt again to abort)..."
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        }));
        Ok(plan)
    }

    async fn applied(&mut self, engines: &BTreeMap<String, SharedEngine>, report: &Report) {
        if let Some(bars) = self.bars {
            bars.finish();
        }
        if let Some(interrupt) = self.interrupt.take() {
            interrupt.abort();
        }
        // Truth check: after a run that says it succeeded, the fleet must match the commit.
        if report.success {
            let (observed, _, _) = observe_connected(
                self.desired,
                engines
                    .iter()
                    .map(|(n, e)| (n.clone(), Ok(Arc::clone(e))))
                    .collect(),
            )
            .await;
            if let Ok(after) = plan::plan(self.desired, &observed, self.commit) {
                self.left = Some(after.actions().count());
            }
        }
    }
}

async fn confirm(plan: &Plan) -> bool {
    let question = format!(
        "\nApply these changes to project `{}`? Only 'yes' will be accepted: ",
        plan.project
    );
    tokio::task::spawn_blocking(move || {
        let mut err = std::io::stderr();
        let _ = write!(err, "{question}");
        let _ = err.flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == "yes"
    })
    .await
    .unwrap_or(false)
}

fn print_json(report: &Report) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, report);
    let _ = writeln!(out);
}

fn print_summary(report: &Report, left: Option<usize>, printer: &Printer) {
    if !printer.quiet || !report.success {
        out!("{}", summary(report, left));
    }
}

/// The lines after the run: a headline, then the services and hosts that did not simply update.
fn summary(report: &Report, left: Option<usize>) -> String {
    let count = |kind: StepKind| {
        report
            .steps
            .iter()
            .filter(|s| s.kind == kind && s.ok)
            .count()
    };
    let mut out = String::new();
    for (name, service) in &report.services {
        // Services skipped because the run aborted say nothing the headline does not.
        if service.status == ServiceStatus::Unchanged
            || (service.status == ServiceStatus::Skipped
                && report.aborted.is_some()
                && service.detail == report.aborted)
        {
            continue;
        }
        let status = format!("{:?}", service.status).to_lowercase();
        let status = match service.status {
            ServiceStatus::RolledBack => "ROLLED BACK".to_string(),
            ServiceStatus::RollbackFailed => "ROLLBACK FAILED".to_string(),
            ServiceStatus::Paused => "PAUSED".to_string(),
            ServiceStatus::Failed => "FAILED".to_string(),
            _ => status,
        };
        out.push_str(&format!("  service {name}: {status}"));
        if let Some(detail) = &service.detail {
            out.push_str(&format!(" ({detail})"));
        }
        out.push('\n');
    }
    for (name, host) in &report.hosts {
        if let apply::HostReport::Failed { reason } = host {
            out.push_str(&format!("  host {name}: FAILED ({reason})\n"));
        }
    }
    let counts = format!(
        "{} created, {} replaced, {} started, {} removed, {} rolled back in {:.1}s",
        count(StepKind::Create),
        count(StepKind::Replace),
        count(StepKind::Start),
        count(StepKind::Remove),
        count(StepKind::Rollback),
        report.seconds
    );
    let headline = if report.aborted_by_steps {
        "Apply aborted before changing any container: the FAILED step(s) above say why.".to_string()
    } else if let Some(reason) = &report.aborted {
        format!("Apply aborted before changing any container: {reason}")
    } else if report.success {
        match left {
            Some(n) if n > 0 => format!(
                "Apply finished ({counts}), but {n} change(s) remain: run `fleet plan` to see them."
            ),
            _ => format!("Apply complete: {counts}."),
        }
    } else {
        format!("Apply FAILED: {counts}.")
    };
    format!("\n{headline}\n{out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(yaml: &str) -> crate::spec::Desired {
        let files = crate::spec::MemoryFiles::new([("fleet.yaml", yaml)]);
        crate::spec::load(&files).desired.expect("valid")
    }

    /// A saved plan is stale when the desired state changed, not when the commit moved to one
    /// with the same desired state (lines moved, a comment, another file).
    #[test]
    fn a_saved_plan_is_stale_when_the_desired_state_changed_not_the_commit() {
        let yaml = "project: shop\nservices:\n  web:\n    image: nginx:1.27\n";
        let observed = crate::observe::Observed::default();
        let saved = plan::plan(&desired(yaml), &observed, Some("a".repeat(40).as_str())).unwrap();
        let moved = format!("# the shop\n\n{yaml}");
        assert_eq!(
            stale_desired(&saved, &desired(&moved), Some(&"b".repeat(40))),
            None
        );
        let changed = yaml.replace("1.27", "1.28");
        let stale = stale_desired(&saved, &desired(&changed), Some(&"b".repeat(40)));
        assert_eq!(
            stale.as_deref(),
            Some(
                "plan is stale: the desired state changed since it was made (at aaaaaaaaaaaa; now at bbbbbbbbbbbb)"
            )
        );
    }

    /// A failed pull is said once: on its FAILED step line, shown as it happens; the summary
    /// neither repeats it in the headline nor once per skipped service.
    #[test]
    fn a_failed_pull_is_said_once() {
        let message = "manifest for web:9 not found: manifest unknown";
        let aborted = Some(format!("pulling web:9 on a failed: {message}"));
        let skipped = apply::ServiceReport {
            status: ServiceStatus::Skipped,
            detail: aborted.clone(),
        };
        let report = Report {
            project: "shop".into(),
            commit: None,
            success: false,
            aborted,
            aborted_by_steps: true,
            services: [
                ("api".to_string(), skipped.clone()),
                ("web".to_string(), skipped),
            ]
            .into(),
            hosts: [("a".to_string(), apply::HostReport::Ok)].into(),
            steps: Vec::new(),
            seconds: 1.0,
        };
        let text = summary(&report, None);
        assert!(!text.contains(message), "{text}");
        assert!(
            text.contains("Apply aborted before changing any container"),
            "{text}"
        );
        let other = Report {
            aborted_by_steps: false,
            ..report
        };
        assert_eq!(summary(&other, None).matches(message).count(), 1);
    }
}
