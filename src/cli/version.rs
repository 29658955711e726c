//! `fleet version`: what this binary is, from the facts `build.rs` recorded when it was built.

use super::{DataFormat, ExitCode};

/// `fleet 0.1.0 (0123456789ab, dirty)`: what `--version` prints after the name.
pub const SHORT: &str = env!("FLEET_VERSION");

/// The build facts. `commit` is "unknown" outside a git checkout (a source tarball, a Docker
/// context without `.git`) unless `FLEET_BUILD_COMMIT` named it at build time.
#[derive(Debug, serde::Serialize)]
pub struct Build {
    pub version: &'static str,
    pub commit: Option<&'static str>,
    /// The committer date of `commit` (YYYY-MM-DD), when git was asked.
    pub commit_date: Option<&'static str>,
    /// Tracked files differed from `commit` when the binary was built; unknown without git.
    pub dirty: Option<bool>,
    pub target: &'static str,
    pub profile: &'static str,
    pub rustc: &'static str,
}

/// The facts of this binary.
pub fn build() -> Build {
    let some = |s: &'static str| Some(s).filter(|s| !s.is_empty() && *s != "unknown");
    Build {
        version: env!("CARGO_PKG_VERSION"),
        commit: some(env!("FLEET_COMMIT")),
        commit_date: some(env!("FLEET_COMMIT_DATE")),
        dirty: match env!("FLEET_DIRTY") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        target: env!("FLEET_TARGET"),
        profile: env!("FLEET_PROFILE"),
        rustc: env!("FLEET_RUSTC"),
    }
}

pub fn run(format: DataFormat) -> ExitCode {
    let build = build();
    match format {
        DataFormat::Json => {
            let value = serde_json::to_value(&build).unwrap_or_default();
            return super::print_json(&value);
        }
        DataFormat::Text => {}
    }
    outln!("fleet {}", build.version);
    let commit = match (build.commit, build.dirty) {
        (Some(commit), Some(true)) => format!("{commit} (dirty: uncommitted changes)"),
        (Some(commit), _) => commit.to_owned(),
        (None, _) => "unknown".to_owned(),
    };
    outln!("commit:  {commit}");
    if let Some(date) = build.commit_date {
        outln!("date:    {date}");
    }
    outln!("target:  {}", build.target);
    outln!("profile: {}", build.profile);
    outln!("rustc:   {}", build.rustc);
    ExitCode::Success
}
