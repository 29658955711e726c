//! The command line: argument parsing, dispatch, and every byte fleet prints.
//!
//! stdout carries the command's result (the validation summary, JSON, a schema); stderr carries
//! what was read, diagnostics, errors and hints. Exit codes come from [`ExitCode`] only.

/// `println!` for stdout that never panics: a reader that went away (`fleet ... | head`) ends
/// the output, not the process with a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` for stdout that never panics (see [`outln`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod apply;
mod config;
pub(crate) mod hosts;
mod init;
mod lock;
mod logs;
mod output;
mod plan;
mod progress;
mod secret;
mod ship;
mod status;
mod validate;
mod version;
mod watch;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub use output::{ColorChoice, Printer};

/// Exit codes, documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    /// Invalid input, a failure, or a bad command line. Nothing was changed.
    Failure = 1,
    /// `plan --detailed-exitcode`: the plan has changes.
    Changes = 2,
}

#[derive(Debug, Parser)]
#[command(
    name = "fleet",
    version = version::SHORT,
    about = "Declarative GitOps for plain Docker hosts",
    long_about = "Declarative GitOps for plain Docker hosts.\n\nThe desired state (hosts, services, replicas, placement, health checks, update strategy) lives in fleet.yaml in a git repository, in Compose's keys. fleet reads it at a commit, checks it (`validate`), shows what would change on the hosts (`plan`), makes the hosts match over SSH with rolling updates gated on health (`apply`), shows what runs (`status`), and keeps it so as a daemon (`watch`). No agent on the hosts, no cluster: the labels on the containers are the only state.\n\nStart with `fleet init` beside a compose file, or `fleet validate` in a repository with fleet.yaml.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub top: TopOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// The options before the subcommand (`fleet -C deploy/prod --ref v2 plan`). Those that say
/// where to read from and how to print are also each subcommand's own, shown only by the
/// subcommands that use them (`fleet plan --ref v2`); a subcommand's value wins.
#[derive(Debug, Args)]
pub struct TopOptions {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format on stdout [default: text]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// When to use colour on stderr (NO_COLOR is respected with `auto`)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Say more
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Defines a struct of the source options; `$global` makes them reachable after a nested
/// subcommand too (`fleet lock status --ref v2`).
macro_rules! source_args {
    ($(#[$meta:meta])* $name:ident, $global:literal) => {
        $(#[$meta])*
        #[derive(Debug, Args, Clone, Default)]
        pub struct $name {
            /// Run as if started in DIR: the project directory (holding fleet.yaml) [default: .]
            #[arg(short = 'C', long = "directory", value_name = "DIR", global = $global)]
            pub dir: Option<PathBuf>,
            /// Read from this repository (a path, bare or not, or a remote URL) instead of the
            /// one holding DIR; remote URLs are mirrored into the user's cache directory
            #[arg(long, value_name = "PATH|URL", global = $global)]
            pub repo: Option<String>,
            /// Read the desired state at this revision (branch, tag or commit) [default: HEAD]
            #[arg(long = "ref", value_name = "REV", conflicts_with = "worktree", global = $global)]
            pub rev: Option<String>,
            /// Read the files on disk, uncommitted changes included, instead of a commit
            #[arg(long, global = $global)]
            pub worktree: bool,
        }
    };
}

source_args!(
    /// Where the desired state is read from: for the commands that read it.
    SourceArgs,
    false
);
source_args!(
    /// [`SourceArgs`] of a command with subcommands (`lock`, `secret`).
    NestedSourceArgs,
    true
);

impl From<&NestedSourceArgs> for SourceArgs {
    fn from(n: &NestedSourceArgs) -> SourceArgs {
        SourceArgs {
            dir: n.dir.clone(),
            repo: n.repo.clone(),
            rev: n.rev.clone(),
            worktree: n.worktree,
        }
    }
}

/// The project directory alone: for `fleet init`, which writes there and reads no commit.
#[derive(Debug, Args, Clone, Default)]
pub struct DirArg {
    /// Run as if started in DIR: the project directory [default: .]
    #[arg(short = 'C', long = "directory", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `--format` of the commands that print text or JSON.
#[derive(Debug, Args, Clone, Default)]
pub struct FormatArg {
    /// Output format on stdout [default: text]
    #[arg(long, value_enum)]
    pub format: Option<DataFormat>,
}

/// [`FormatArg`] of a command with subcommands (`lock`, `secret`). Of the same type as the
/// top-level `--format` ([`Format`]): clap shares one id between a global argument and the
/// top-level one, and two types under one id panic when read.
#[derive(Debug, Args, Clone, Default)]
pub struct NestedFormatArg {
    /// Output format on stdout [default: text]
    #[arg(
        long,
        global = true,
        value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["text", "json"]),
            |v: String| if v == "json" { Format::Json } else { Format::Text })
    )]
    pub format: Option<Format>,
}

/// `--format` of `fleet plan`, which also writes Markdown.
#[derive(Debug, Args, Clone, Default)]
pub struct PlanFormatArg {
    /// Output format on stdout [default: text]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// What the commands run with: the options before the subcommand and the subcommand's own,
/// resolved (the subcommand's win).
#[derive(Debug, Clone)]
pub struct GlobalOptions {
    pub dir: PathBuf,
    pub repo: Option<String>,
    pub rev: Option<String>,
    pub worktree: bool,
    pub format: Format,
    pub color: ColorChoice,
    pub verbose: bool,
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// For pull-request comments (`fleet plan`); other commands print text.
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Text,
    Json,
}

impl From<DataFormat> for Format {
    fn from(format: DataFormat) -> Format {
        match format {
            DataFormat::Text => Format::Text,
            DataFormat::Json => Format::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a fleet.yaml that includes the compose file here, validate, and list what needs
    /// attention
    Init {
        #[command(flatten)]
        args: init::InitArgs,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Check the desired state and report every problem with file, line and column
    Validate {
        /// Fail (exit 1) on warnings too: an unset variable, an entry left out, a data
        /// directory, an ignored key
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print the desired state fully resolved (includes, merges, defaults) as YAML, or JSON
    /// with --format json; secret-looking environment values masked
    Config {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Probe every host: reachability, latency, engine, OS/arch, CPUs, memory, managed containers
    Hosts {
        #[command(flatten)]
        connect: hosts::ConnectOptions,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Observe every host and show what would change to match the desired state
    Plan {
        #[command(flatten)]
        args: plan::PlanArgs,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        format: PlanFormatArg,
    },
    /// Make the hosts match the desired state: pull, create, roll out, scale, remove
    Apply {
        #[command(flatten)]
        args: apply::ApplyArgs,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Run the GitOps daemon: follow the repository, heal, correct drift, survive host loss
    Watch {
        #[command(flatten)]
        args: watch::WatchArgs,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Show what runs now, per service and per host, read from the hosts (exit 1 unless converged)
    Status {
        #[command(flatten)]
        connect: hosts::ConnectOptions,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show or break the project lock that `fleet apply` holds on each host
    Lock {
        #[command(subcommand)]
        command: lock::LockCommand,
        #[command(flatten)]
        source: NestedSourceArgs,
        #[command(flatten)]
        format: NestedFormatArg,
    },
    /// Make an age identity, and write, edit, re-encrypt and list the encrypted secrets
    Secret {
        #[command(subcommand)]
        command: secret::SecretCommand,
        #[command(flatten)]
        source: NestedSourceArgs,
        #[command(flatten)]
        format: NestedFormatArg,
    },
    /// Print the JSON Schema of fleet.yaml (for editors and yaml-language-server)
    Schema,
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the version, the commit it was built from, the target and the compiler
    Version {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Write the man pages (fleet.1, fleet-plan.1, ...) into DIR; man/ holds a copy
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

impl Command {
    /// The subcommand's own source and format options; `None` for a command that reads no
    /// repository (`schema`, `completions`, `man`, `version`).
    fn own(&self) -> Option<(SourceArgs, Option<Format>)> {
        let data = |f: &FormatArg| f.format.map(Format::from);
        Some(match self {
            Command::Init { dir, .. } => (
                SourceArgs {
                    dir: dir.dir.clone(),
                    ..SourceArgs::default()
                },
                None,
            ),
            Command::Validate { source, format, .. }
            | Command::Config { source, format }
            | Command::Hosts { source, format, .. }
            | Command::Apply { source, format, .. }
            | Command::Status { source, format, .. } => (source.clone(), data(format)),
            Command::Lock { source, format, .. } | Command::Secret { source, format, .. } => {
                (source.into(), format.format)
            }
            Command::Plan { source, format, .. } => (source.clone(), format.format),
            Command::Watch { source, .. } => (source.clone(), None),
            // `version` prints data, but with its own --format only: it reads no repository.
            Command::Schema
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Version { .. } => return None,
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Command::Schema => "schema",
            Command::Completions { .. } => "completions",
            Command::Man { .. } => "man",
            Command::Version { .. } => "version",
            _ => "",
        }
    }
}

/// The options a command runs with; an error when an option before the subcommand is one the
/// subcommand does not use (`fleet --ref v2 schema`).
fn resolve(top: &TopOptions, command: &Command) -> Result<GlobalOptions, String> {
    let given_top = top.source.dir.is_some()
        || top.source.repo.is_some()
        || top.source.rev.is_some()
        || top.source.worktree
        || top.format.is_some();
    let (own, format) = match command.own() {
        Some(own) => own,
        None if given_top => {
            return Err(format!(
                "`fleet {}` reads no repository: -C, --repo, --ref, --worktree and a \
                 --format before it do not apply to it",
                command.name()
            ));
        }
        None => (SourceArgs::default(), None),
    };
    let rev = own.rev.or_else(|| top.source.rev.clone());
    let worktree = own.worktree || top.source.worktree;
    if rev.is_some() && worktree {
        return Err("--ref and --worktree cannot be used together".into());
    }
    Ok(GlobalOptions {
        dir: own
            .dir
            .or_else(|| top.source.dir.clone())
            .unwrap_or_else(|| PathBuf::from(".")),
        repo: own.repo.or_else(|| top.source.repo.clone()),
        rev,
        worktree,
        format: format.or(top.format).unwrap_or(Format::Text),
        color: top.color,
        verbose: top.verbose,
        quiet: top.quiet,
    })
}

/// Parses the arguments, runs the command and returns the exit code. Usage errors exit 1, not
/// clap's usual 2, so that 2 can keep its Terraform meaning of "changes present" later on.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => ExitCode::Failure as i32,
            };
        }
    };
    let printer = Printer::new(cli.top.color, cli.top.quiet, cli.top.verbose);
    let global = match resolve(&cli.top, &cli.command) {
        Ok(global) => global,
        Err(message) => {
            printer.fail(
                &message,
                Some("see `fleet <command> --help` for its options"),
            );
            return ExitCode::Failure as i32;
        }
    };
    let code = match &cli.command {
        Command::Validate { strict, .. } => validate::run(&global, &printer, *strict),
        Command::Config { .. } => config::run(&global, &printer),
        Command::Init { args, .. } => init::run(&global, args, &printer),
        Command::Hosts { connect, .. } => hosts::run(&global, connect, &printer),
        Command::Plan { args, .. } => plan::run(&global, args, &printer),
        Command::Apply { args, .. } => apply::run(&global, args, &printer),
        Command::Watch { args, .. } => watch::run(&global, args, &printer),
        Command::Status { connect, .. } => status::run(&global, connect, &printer),
        Command::Lock { command, .. } => lock::run(&global, command, &printer),
        Command::Secret { command, .. } => secret::run(&global, command, &printer),
        Command::Schema => print_json(&crate::spec::schema::schema()),
        Command::Completions { shell } => {
            completions(*shell, &mut std::io::stdout());
            ExitCode::Success
        }
        Command::Version { format } => version::run(format.format.unwrap_or(DataFormat::Text)),
        Command::Man { dir } => match man_pages(dir) {
            Ok(()) => ExitCode::Success,
            Err(e) => {
                let message = format!("cannot write the man pages into {}: {e}", dir.display());
                printer.fail(&message, None);
                ExitCode::Failure
            }
        },
    };
    code as i32
}

/// Reads and validates the desired state for a command that needs it, printing what was read
/// and any diagnostics. `None` when it is invalid or unreadable (already reported).
fn load_desired(global: &GlobalOptions, printer: &Printer) -> Option<crate::spec::Desired> {
    read_desired(global, printer).map(|(desired, _, _)| desired)
}

/// The desired state, the commit it was read at, and the snapshot, without the content of its
/// secrets: for commands that do not plan (`fleet hosts`, `fleet lock`), so they need no key.
fn read_desired(
    global: &GlobalOptions,
    printer: &Printer,
) -> Option<(
    crate::spec::Desired,
    Option<String>,
    crate::source::Snapshot,
)> {
    let snapshot = validate::open_source(global, printer)?;
    // A working tree is not the commit HEAD points to: say "the working tree", not a commit id.
    let commit = match snapshot.revision.kind {
        crate::source::RevisionKind::Commit => snapshot.revision.commit.clone(),
        crate::source::RevisionKind::Worktree => None,
    };
    let loaded = crate::spec::load(snapshot.files());
    for d in &loaded.diagnostics {
        printer.diagnostic(d);
    }
    if loaded.desired.is_none() {
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        printer.info(&format!(
            "Invalid: {errors} error(s); run `fleet validate` for details."
        ));
        if global.format == Format::Json {
            // Machines reading stdout get the same answer as from `fleet validate`.
            print_json(&serde_json::json!({
                "valid": false,
                "revision": snapshot.revision,
                "errors": errors,
                "warnings": loaded.diagnostics.len() - errors,
                "diagnostics": loaded.diagnostics,
            }));
        }
    }
    loaded.desired.map(|d| (d, commit, snapshot))
}

/// Like [`load_desired`], with the commit that was read and the content of its secrets and
/// configs (secrets decrypted; their digests stamped into the services, as planning needs).
fn load_desired_at(
    global: &GlobalOptions,
    printer: &Printer,
) -> Option<(
    crate::spec::Desired,
    Option<String>,
    crate::payload::Payload,
)> {
    let (mut desired, commit, snapshot) = read_desired(global, printer)?;
    let payload = match crate::secrets::read_payload(&desired, snapshot.files()) {
        Ok(payload) => payload,
        Err(errors) => {
            for e in &errors {
                printer.fail(&e.to_string(), None);
            }
            if global.format == Format::Json {
                print_json(&serde_json::json!({
                    "valid": false,
                    "errors": errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                }));
            }
            printer.info("Nothing was changed.");
            return None;
        }
    };
    payload.stamp(&mut desired);
    for warning in certificate_warnings(&desired) {
        printer.diagnostic(&warning);
    }
    Some((desired, commit, payload))
}

/// A warning at the `tls` of every service whose certificate expires within
/// [`crate::balancer::EXPIRY_WARNING`] (fleet renews the ones it issues itself).
fn certificate_warnings(desired: &crate::spec::Desired) -> Vec<crate::spec::Diagnostic> {
    let now = crate::clock::unix_now();
    let soon = crate::balancer::EXPIRY_WARNING.as_secs() as i64;
    desired
        .certificates
        .iter()
        .filter(|(_, c)| !c.internal && c.not_after - now < soon)
        .map(|(service, c)| {
            tls_diagnostic(
                desired,
                service,
                crate::spec::Severity::Warning,
                format!(
                    "the certificate (serial {}, {}) expires in {} day(s), on {}",
                    c.serial,
                    c.names.join(", "),
                    (c.not_after - now).div_euclid(24 * 3600),
                    crate::clock::rfc3339(u64::try_from(c.not_after).unwrap_or_default())
                ),
                Some("renew it and update its secrets".into()),
            )
        })
        .collect()
}

/// A diagnostic at the `tls` of `service`'s exposure (where it was written).
fn tls_diagnostic(
    desired: &crate::spec::Desired,
    service: &str,
    severity: crate::spec::Severity,
    message: String,
    hint: Option<String>,
) -> crate::spec::Diagnostic {
    let at = desired
        .services
        .get(service)
        .and_then(|s| s.expose_via.as_ref()?.routes.as_ref()?.tls_at.clone())
        .unwrap_or_default();
    crate::spec::Diagnostic {
        severity,
        file: at.file,
        line: at.line,
        column: at.column,
        field: format!("services.{service}.x-fleet.expose.tls"),
        message,
        expected: None,
        hint,
    }
}

/// Writes a file only its owner can read (mode 0600, also when it existed before), making its
/// directory (0700) when missing: saved plans, identities, decrypted scratch files.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            std::fs::create_dir_all(parent)?;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}

/// The async runtime for commands that talk to hosts; `None` after reporting why it failed.
fn runtime(printer: &Printer) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            printer.error(&e, None);
            None
        }
    }
}

fn print_json(value: &serde_json::Value) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
    ExitCode::Success
}

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "fleet", out);
}

/// Writes a man page for fleet and one for each visible subcommand (`fleet-lock-status.1`)
/// into `dir`, from the same definition as `--help` and the completions. A subcommand, as
/// `completions` is, rather than a build step: the pages need the whole CLI, which build.rs
/// cannot see; packagers can write them from the installed binary; the committed man/ is
/// checked against this output. The pages carry the package version only, not the commit, so
/// a commit does not make them stale.
pub fn man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cli = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .long_version(env!("CARGO_PKG_VERSION"));
    clap_mangen::generate_to(cli, dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::PullPolicy;

    /// Every subcommand, nested ones included, with its path (`fleet lock status`).
    fn all_commands() -> Vec<(String, clap::Command)> {
        fn walk(path: String, command: clap::Command, out: &mut Vec<(String, clap::Command)>) {
            for sub in command.get_subcommands() {
                walk(format!("{path} {}", sub.get_name()), sub.clone(), out);
            }
            out.push((path, command));
        }
        let mut out = Vec::new();
        let mut root = Cli::command();
        root.build();
        walk("fleet".into(), root, &mut out);
        out
    }

    /// A duration flag takes `5s`, `500ms` and `1m` everywhere, not only on `fleet watch`; no
    /// flag takes a bare count of seconds under another name.
    #[test]
    fn every_duration_flag_takes_units() {
        let mut seen = 0;
        for (path, command) in all_commands() {
            for arg in command.get_arguments() {
                let name = arg
                    .get_value_names()
                    .and_then(|n| n.first())
                    .map(|n| n.to_string());
                assert!(
                    !matches!(name.as_deref(), Some("SECS" | "SECONDS" | "MS" | "MILLIS")),
                    "{path} --{}: a duration flag must take DURATION",
                    arg.get_id()
                );
                if name.as_deref() != Some("DURATION") {
                    continue;
                }
                seen += 1;
                let long = arg.get_long().unwrap();
                let mut words: Vec<&str> = path.split(' ').collect();
                let flag = format!("--{long}");
                for value in ["5s", "500ms", "1m", "10"] {
                    words.extend([flag.as_str(), value]);
                    let parsed = command
                        .clone()
                        .try_get_matches_from(&words[path.split(' ').count() - 1..]);
                    assert!(
                        parsed.is_ok(),
                        "{path} {flag} {value}: {}",
                        parsed.unwrap_err()
                    );
                    words.truncate(path.split(' ').count());
                }
            }
        }
        assert!(seen >= 8, "only {seen} duration flags found");
        let cli = Cli::try_parse_from(["fleet", "hosts", "--connect-timeout", "500ms"]).unwrap();
        let Command::Hosts { connect, .. } = cli.command else {
            unreachable!()
        };
        assert_eq!(
            connect.connect_timeout,
            std::time::Duration::from_millis(500)
        );
    }

    /// `--pull` is the CLI's own enum, mapped to apply's policy: each value must keep its
    /// meaning, for apply and watch alike, and `missing` stays the default.
    #[test]
    fn pull_values_keep_their_meaning() {
        let pull = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Apply { args, .. } => args.pull,
            Command::Watch { args, .. } => args.pull,
            _ => unreachable!(),
        };
        for command in ["apply", "watch"] {
            assert_eq!(pull(&["fleet", command]), PullPolicy::Missing);
            assert_eq!(
                pull(&["fleet", command, "--pull", "missing"]),
                PullPolicy::Missing
            );
            assert_eq!(
                pull(&["fleet", command, "--pull", "always"]),
                PullPolicy::Always
            );
        }
    }
}
