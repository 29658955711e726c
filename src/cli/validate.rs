//! `fleet validate`: load the desired state and report every problem.

use std::io::Write;

use serde::Serialize;

use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::payload::PayloadError;
use crate::source::{self, Revision};
use crate::spec::{self, Diagnostic, Severity};

#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    revision: &'a Revision,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
    /// Secret-looking environment values masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    desired: Option<serde_json::Value>,
    /// What was not checked, and why (certificates without a key to decrypt them).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

/// Opens the requested revision and says what is being read. `None` after reporting an error.
pub fn open_source(global: &GlobalOptions, printer: &Printer) -> Option<source::Snapshot> {
    let request = source::Request {
        dir: global.dir.clone(),
        repo: global.repo.clone(),
        rev: global.rev.clone(),
        worktree: global.worktree,
    };
    let snapshot = match source::open(&request) {
        Ok(s) => s,
        Err(e) => {
            printer.error(&e, e.hint().as_deref());
            if global.format == Format::Json {
                // Machines reading stdout get an answer too, not silence.
                let error = serde_json::json!({
                    "valid": false,
                    "error": crate::error::full_message(&e),
                    "hint": e.hint(),
                });
                let mut out = std::io::stdout().lock();
                let _ = serde_json::to_writer_pretty(&mut out, &error);
                let _ = writeln!(out);
            }
            return None;
        }
    };
    printer.info(&format!("Reading {}", snapshot.revision.describe()));
    if !snapshot.uncommitted.is_empty() {
        let shown: Vec<&str> = snapshot
            .uncommitted
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        let more = snapshot.uncommitted.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        printer.info(&format!(
            "note: uncommitted changes are not read ({}{more}); commit them, or pass --worktree",
            shown.join(", ")
        ));
    }
    Some(snapshot)
}

/// `strict`: warnings fail the check too (for CI that wants a file with none).
pub fn run(global: &GlobalOptions, printer: &Printer, strict: bool) -> ExitCode {
    let Some(snapshot) = open_source(global, printer) else {
        return ExitCode::Failure;
    };
    let mut loaded = spec::load(snapshot.files());
    let mut notes = Vec::new();
    if let Some(desired) = &loaded.desired {
        let (found, unchecked) = check_certificates(desired, snapshot.files());
        loaded.diagnostics.extend(found);
        notes = unchecked;
        if loaded.diagnostics.iter().any(|d| d.is_error()) {
            loaded.desired = None;
        }
    }
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = loaded.diagnostics.len() - errors;

    match global.format {
        Format::Json => {
            let report = Report {
                valid: errors == 0,
                revision: &snapshot.revision,
                errors,
                warnings,
                diagnostics: &loaded.diagnostics,
                desired: loaded.desired.as_ref().map(crate::render::desired),
                notes: &notes,
            };
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut out, &report);
            let _ = writeln!(out);
        }
        Format::Text | Format::Markdown => {
            for d in &loaded.diagnostics {
                printer.diagnostic(d);
            }
            for note in &notes {
                printer.info(&format!("note: {note}"));
            }
            match &loaded.desired {
                Some(desired) => {
                    for (name, service) in &desired.services {
                        let replicas = match service.deploy.mode {
                            spec::model::Mode::Global => "one replica per eligible host".into(),
                            spec::model::Mode::Replicated => {
                                format!("{} replica(s)", service.deploy.replicas)
                            }
                        };
                        printer.detail(&format!("service {name}: {} ({replicas})", service.image));
                    }
                    let warn = if warnings > 0 {
                        format!(" with {} warning(s)", warnings)
                    } else {
                        String::new()
                    };
                    outln!(
                        "Valid{warn}: project {}, {} host(s), {} service(s) at {}.",
                        desired.project,
                        desired.hosts.len(),
                        desired.services.len(),
                        match snapshot.revision.kind {
                            source::RevisionKind::Commit =>
                                snapshot.revision.short_id().unwrap_or("the working tree"),
                            source::RevisionKind::Worktree => "the working tree",
                        },
                    );
                }
                // The verdict goes to stdout, like "Valid".
                None => outln!(
                    "Invalid: {errors} error(s){}.",
                    if warnings > 0 {
                        format!(", {warnings} warning(s)")
                    } else {
                        String::new()
                    }
                ),
            }
        }
    }
    if errors > 0 {
        ExitCode::Failure
    } else if strict && warnings > 0 {
        printer.info(&format!(
            "--strict: {warnings} warning(s) count as failures"
        ));
        ExitCode::Failure
    } else {
        ExitCode::Success
    }
}

/// The certificates of services with `tls`, checked as `fleet plan` will (they cover the host
/// names, match their key, are valid now) when this machine can decrypt them; a note says so
/// when it cannot (a CI job without keys still validates the rest, `--strict` included).
fn check_certificates(
    desired: &spec::Desired,
    files: &dyn spec::Files,
) -> (Vec<spec::Diagnostic>, Vec<String>) {
    let mut only_tls = desired.clone();
    only_tls.services.retain(|_, s| {
        s.expose_via
            .as_ref()
            .and_then(|e| e.routes.as_ref())
            .is_some_and(|r| r.tls.is_some())
    });
    if only_tls.services.is_empty() {
        return (Vec::new(), Vec::new());
    }
    match crate::secrets::read_payload(&only_tls, files) {
        Ok(payload) => {
            let mut stamped = only_tls.clone();
            payload.stamp(&mut stamped);
            (super::certificate_warnings(&stamped), Vec::new())
        }
        Err(errors) => {
            let mut found = Vec::new();
            let mut notes = Vec::new();
            let mut undecryptable = Vec::new();
            for e in errors {
                match e {
                    PayloadError::Certificate {
                        service, reason, ..
                    } => {
                        found.push(super::tls_diagnostic(
                            &only_tls,
                            &service,
                            Severity::Error,
                            reason,
                            None,
                        ));
                    }
                    PayloadError::Decrypt { name, .. } => undecryptable.push(format!("`{name}`")),
                    other => notes.push(format!("certificates not checked: {other}")),
                }
            }
            if !undecryptable.is_empty() {
                notes.push(format!(
                    "certificates not checked: this machine cannot decrypt {} (`fleet plan` checks them where it can)",
                    undecryptable.join(", ")
                ));
            }
            (found, notes)
        }
    }
}
