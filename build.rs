//! Build facts for `fleet version` and `--version`: the commit this binary was built from (and
//! whether the checkout had uncommitted changes), the target and the compiler.
//!
//! Never fails the build: outside a git checkout (a source tarball, a Docker build context
//! without `.git`) the commit is "unknown" unless `FLEET_BUILD_COMMIT` names it.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FLEET_BUILD_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let git = git_facts();
    // The dirty flag is as of the build script's last run: it runs again when the commit, the
    // index or a file under src/ (or Cargo.toml) changes.
    let (commit, date, dirty) = match std::env::var("FLEET_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => (commit.trim().to_owned(), String::new(), ""),
        _ => git.unwrap_or_else(|| ("unknown".into(), String::new(), "")),
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = run(Command::new(rustc).arg("-V")).unwrap_or_else(|| "unknown".into());
    let short = if commit == "unknown" {
        "commit unknown".to_owned()
    } else {
        let mut short: String = commit.chars().take(12).collect();
        if dirty == "true" {
            short.push_str(", dirty");
        }
        short
    };
    let env = [
        ("FLEET_COMMIT", commit.as_str()),
        ("FLEET_COMMIT_DATE", date.as_str()),
        ("FLEET_DIRTY", dirty),
        ("FLEET_TARGET", &std::env::var("TARGET").unwrap_or_default()),
        (
            "FLEET_PROFILE",
            &std::env::var("PROFILE").unwrap_or_default(),
        ),
        ("FLEET_RUSTC", &rustc),
        (
            "FLEET_VERSION",
            &format!("{} ({short})", env_or("CARGO_PKG_VERSION", "0.0.0")),
        ),
    ];
    // The release binary is a non-PIE executable, as Go tools are (kubectl, terraform): its
    // 0.9 MB of dynamic relocations go, which keeps it under 15 MB (docs/install.md). Packing
    // them instead (`-z pack-relative-relocs`) keeps PIE but needs glibc 2.36 to run.
    let linux_gnu = std::env::var("TARGET").is_ok_and(|t| t.ends_with("-linux-gnu"));
    if linux_gnu && std::env::var("PROFILE").as_deref() == Ok("release") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        // With LLD, identical functions (monomorphized copies that compile to the same code) are
        // folded into one: about 280 KB less. LLD's "safe" folding finds nothing to fold here, so
        // it is "all"; Rust never compares function addresses for identity. Without `ld.lld` on
        // the machine the default linker is used and the binary is that much bigger.
        if on_path("ld.lld") {
            println!("cargo:rustc-link-arg-bins=-fuse-ld=lld");
            println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
        }
    }
    for (key, value) in env {
        // A value with a newline would end the directive; none of these has one, but be sure.
        println!("cargo:rustc-env={key}={}", value.replace(['\n', '\r'], " "));
    }
}

/// Whether an executable of this name is on PATH.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// (commit, commit date, "true"/"false") from the git checkout the crate is built in.
fn git_facts() -> Option<(String, String, &'static str)> {
    let root = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let git = |args: &[&str]| {
        run(Command::new("git")
            .arg("-C")
            .arg(&root)
            .arg("--no-optional-locks")
            .args(args))
    };
    // Only this crate's own checkout: a crate unpacked inside some other repository would
    // otherwise report that repository's commit.
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != Path::new(&root).canonicalize().ok()? {
        return None;
    }
    let commit = git(&["rev-parse", "HEAD"])?;
    let date = git(&["show", "-s", "--format=%cs", "HEAD"]).unwrap_or_default();
    let status = git(&["status", "--porcelain", "--untracked-files=no"]);
    let dirty = match status {
        Some(s) if !s.is_empty() => "true",
        _ => "false",
    };
    // The branch HEAD points to moves on each commit (HEAD itself does not change then), as a
    // loose ref or in packed-refs. Only files that exist: cargo reruns the script on every
    // build for a missing one.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let watched = ["HEAD", "index", "packed-refs"]
        .into_iter()
        .chain(branch.as_deref());
    for what in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", what]) {
            let path = Path::new(&root).join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    Some((commit, date, dirty))
}

/// The trimmed stdout of a command that succeeded; `None` otherwise (git missing included).
fn run(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.into())
}
