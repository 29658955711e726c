//! `fleet init`: in a directory with a compose file, write a fleet.yaml that includes it,
//! validate the result, and say what needs attention before it can be deployed.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{ExitCode, GlobalOptions, Printer};
use crate::spec::{self, Severity};

/// The compose file names Compose looks for, in its order.
const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project name (default: the directory's name, made valid)
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// A host to deploy to, as NAME=ADDRESS (e.g. web1=ssh://deploy@10.0.0.5); repeat for more.
    /// Without any, the local Docker engine is the one host
    #[arg(long = "host", value_name = "NAME=ADDRESS")]
    pub hosts: Vec<String>,
    /// The compose file to include (default: the first of compose.yaml, compose.yml,
    /// docker-compose.yaml, docker-compose.yml)
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn run(global: &GlobalOptions, args: &InitArgs, printer: &Printer) -> ExitCode {
    let dir = global.dir.clone();
    let target = dir.join("fleet.yaml");
    if target.exists() {
        printer.fail(
            &format!("{} exists; nothing was written", target.display()),
            Some("`fleet validate` checks it; remove it to start over"),
        );
        return ExitCode::Failure;
    }
    let compose = match &args.file {
        Some(file) => file.clone(),
        None => match COMPOSE_FILES.iter().find(|f| dir.join(f).is_file()) {
            Some(found) => PathBuf::from(found),
            None => {
                printer.fail(
                    &format!(
                        "no compose file in {} (looked for {})",
                        dir.display(),
                        COMPOSE_FILES.join(", ")
                    ),
                    Some("name one with --file"),
                );
                return ExitCode::Failure;
            }
        },
    };
    if !dir.join(&compose).is_file() {
        printer.fail(
            &format!("{} does not exist", dir.join(&compose).display()),
            None,
        );
        return ExitCode::Failure;
    }
    let project = match &args.project {
        Some(p) => p.clone(),
        None => project_from(&dir),
    };
    let hosts = match hosts_yaml(&args.hosts) {
        Ok(h) => h,
        Err(message) => {
            printer.fail(
                &message,
                Some("write each as NAME=ADDRESS, e.g. web1=ssh://deploy@10.0.0.5"),
            );
            return ExitCode::Failure;
        }
    };
    let text = format!(
        "# Written by `fleet init`. The services are in {compose}; this file says where they run\n\
         # (hosts) and can set anything Compose does not (see fleet's docs/format.md).\n\
         project: {project}\n{hosts}include: [{compose}]\n",
        compose = quoted(&compose.display().to_string()),
    );
    if let Err(e) = std::fs::write(&target, &text) {
        printer.error(&e, Some(&format!("could not write {}", target.display())));
        return ExitCode::Failure;
    }
    printer.info(&format!(
        "Wrote {} (project `{project}`, including {}).",
        target.display(),
        compose.display()
    ));
    attention(&dir, printer)
}

/// Validates what was written, from the work tree, and lists what needs attention.
fn attention(dir: &Path, printer: &Printer) -> ExitCode {
    let files = match crate::source::open(&crate::source::Request {
        dir: dir.to_path_buf(),
        repo: None,
        rev: None,
        worktree: true,
    }) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            printer.error(&e, e.hint().as_deref());
            return ExitCode::Failure;
        }
    };
    let loaded = spec::load(files.files());
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if loaded.diagnostics.is_empty() {
        outln!("Valid: nothing needs attention. Next: commit it, then `fleet plan`.");
        return ExitCode::Success;
    }
    for d in &loaded.diagnostics {
        printer.diagnostic(d);
    }
    outln!(
        "Needs attention before it can be deployed: {errors} error(s), {} warning(s) (above).",
        loaded.diagnostics.len() - errors
    );
    if errors == 0 {
        ExitCode::Success
    } else {
        ExitCode::Failure
    }
}

/// A valid project name from a directory's name: lower case, `-` for anything else.
fn project_from(dir: &Path) -> String {
    let name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_default();
    let mut out: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out = out.trim_matches('-').to_string();
    out.truncate(40);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "app".into() } else { out }
}

fn hosts_yaml(hosts: &[String]) -> Result<String, String> {
    if hosts.is_empty() {
        return Ok(
            "# No hosts: the local Docker engine is the one host. Add some as\n\
                   # hosts: { web1: { address: ssh://deploy@10.0.0.5 } }\n"
                .into(),
        );
    }
    let mut out = String::from("hosts:\n");
    for host in hosts {
        let Some((name, address)) = host.split_once('=') else {
            return Err(format!("`{host}` is not NAME=ADDRESS"));
        };
        if name.is_empty() || address.is_empty() {
            return Err(format!("`{host}` is not NAME=ADDRESS"));
        }
        out.push_str(&format!(
            "  {}: {{ address: {} }}\n",
            quoted(name),
            quoted(address)
        ));
    }
    Ok(out)
}

/// A YAML scalar, quoted when it must be.
fn quoted(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/-@:".contains(c))
        && !text.contains(": ")
        && !text.ends_with(':')
        && !text.starts_with(['-', '@', '.']);
    if plain && !text.is_empty() {
        text.to_string()
    } else {
        serde_json::Value::String(text.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_name_becomes_a_valid_project_name() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("My App_2");
        std::fs::create_dir(&odd).unwrap();
        assert_eq!(project_from(&odd), "my-app-2");
        let dashes = dir.path().join("--");
        std::fs::create_dir(&dashes).unwrap();
        assert_eq!(project_from(&dashes), "app");
    }

    #[test]
    fn hosts_are_name_equals_address() {
        assert_eq!(
            hosts_yaml(&["a=ssh://deploy@10.0.0.5:2222".into()]).unwrap(),
            "hosts:\n  a: { address: ssh://deploy@10.0.0.5:2222 }\n"
        );
        assert!(hosts_yaml(&["nope".into()]).is_err());
        assert!(hosts_yaml(&["=ssh://x".into()]).is_err());
    }
}
