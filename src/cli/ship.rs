//! `--ship-images` and `x-fleet.image_source` on the command line: the sources of a run's
//! shipped images (the local engine, the project directory for archives), and their errors
//! printed as diagnostics where a file position is known.

use std::sync::Arc;

use super::hosts::ConnectOptions;
use super::{GlobalOptions, Printer};
use crate::apply::ship::{SourceError, Sources};
use crate::docker::{DockerEngine, Endpoint};
use crate::engine::SharedEngine;
use crate::error::full_message;
use crate::spec::Desired;
use crate::spec::model::ImageSource;

/// The sources a run needs. The local engine is always set up (for a unix socket that sends
/// nothing yet): a saved plan may ship from it whatever this command line says; it is asked
/// only for images that are shipped.
pub async fn sources(
    global: &GlobalOptions,
    desired: &Desired,
    connect: &ConnectOptions,
) -> Sources {
    let local = DockerEngine::connect(&Endpoint::Local, &Arc::new(connect.ssh_options()))
        .await
        .map(|e| Arc::new(e) as SharedEngine)
        .map_err(|e| full_message(&e));
    let written = desired
        .services
        .iter()
        .filter_map(|(name, s)| match &s.image_source {
            Some(ImageSource::Archive { path, at }) => {
                Some((path.clone(), name.clone(), at.clone()))
            }
            _ => None,
        })
        .collect();
    Sources {
        local,
        root: global.dir.clone(),
        written,
    }
}

/// Prints why images cannot be shipped: at the `image_source` of an archive, or as an error;
/// with `--format json`, also as `{"errors": [...]}` on stdout.
pub fn print_errors(errors: &[SourceError], printer: &Printer, json: bool) {
    if json {
        super::print_json(&serde_json::json!({
            "errors": errors.iter().map(|e| full_message(e)).collect::<Vec<_>>(),
        }));
    }
    for e in errors {
        match e {
            SourceError::Archive {
                path,
                why,
                service,
                at,
            } => printer.diagnostic(&crate::spec::Diagnostic {
                severity: crate::spec::Severity::Error,
                file: at.file.clone(),
                line: at.line,
                column: at.column,
                field: format!("services.{service}.x-fleet.image_source"),
                message: format!("the archive `{path}` cannot be shipped: {why}"),
                expected: None,
                hint: e.hint(),
            }),
            _ => printer.fail(&full_message(e), e.hint().as_deref()),
        }
    }
    printer.info("Nothing was changed.");
}
