//! What an installed fleet says about itself (`fleet version`, `--version`), and what it needs
//! from the machine it runs on (glibc and nothing else).

mod common;

use std::path::Path;
use std::process::Command;

use common::fleet;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// HEAD of the checkout the tests run in, when it is one (then the binary was built from it:
/// build.rs runs again when HEAD moves).
fn head() -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn version_names_the_commit_the_binary_was_built_from() {
    let out = fleet(root(), &["version", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        v["target"].as_str().is_some_and(|t| t.contains("linux")),
        "{v}"
    );
    assert!(
        v["rustc"].as_str().is_some_and(|r| r.starts_with("rustc ")),
        "{v}"
    );
    match head() {
        Some(head) => {
            assert_eq!(v["commit"], head.as_str(), "{v}");
            assert!(v["dirty"].is_boolean(), "{v}");
            let date = v["commit_date"].as_str().unwrap_or_default();
            assert_eq!(date.len(), 10, "YYYY-MM-DD: {v}");
        }
        None => assert!(v["commit"].is_null(), "{v}"),
    }

    // The same facts as text, and `--format` before the subcommand works too.
    let text = fleet(root(), &["version"]);
    assert_eq!(text.code, 0);
    let mut lines = text.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("fleet {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let commit = v["commit"].as_str().unwrap_or("unknown");
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with(&format!("commit:  {commit}"))),
        "{}",
        text.stdout
    );
}

/// `fleet version` reads no repository: the repository options, and a --format before the
/// subcommand, are refused rather than ignored (as for `schema`).
#[test]
fn version_refuses_repository_options() {
    for given in [
        &["--ref", "main"][..],
        &["-C", "/"][..],
        &["--format", "json"][..],
    ] {
        let out = fleet(root(), &[given, &["version"][..]].concat());
        assert_eq!(out.code, 1, "{given:?} accepted: {}", out.stdout);
        assert!(out.stderr.contains("reads no repository"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let out = fleet(root(), &["version", "--ref", "main"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("unexpected argument"), "{}", out.stderr);
}

#[test]
fn dash_dash_version_carries_the_short_commit() {
    let out = fleet(root(), &["--version"]);
    assert_eq!(out.code, 0);
    let expected = match head() {
        Some(head) => format!("fleet {} ({}", env!("CARGO_PKG_VERSION"), &head[..12]),
        None => format!("fleet {} (commit unknown)", env!("CARGO_PKG_VERSION")),
    };
    assert!(out.stdout.starts_with(&expected), "{}", out.stdout);
    assert!(out.stdout.ends_with(")\n"), "{}", out.stdout);
    // Subcommands answer --version with the same version (`fleet-plan 0.1.0 (...)`).
    let plan = fleet(root(), &["plan", "--version"]).stdout;
    assert_eq!(
        plan.strip_prefix("fleet-plan"),
        out.stdout.strip_prefix("fleet")
    );
}

/// OpenSSL, libgit2, libssh2 and zlib are compiled in (Cargo.toml): the binary runs on a
/// machine without libssl. scripts/test checks the release binary the same way.
#[test]
fn the_binary_links_only_glibc() {
    let out = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_fleet"))
        .output()
        .expect("ldd (libc-bin) is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("not a dynamic executable") {
        return;
    }
    let allowed = [
        "linux-vdso",
        "libc.so",
        "libm.so",
        "libgcc_s.so",
        "ld-linux",
    ];
    let libraries: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(libraries.len() >= 2, "ldd: {text}");
    for line in libraries {
        assert!(
            allowed
                .iter()
                .any(|a| line.starts_with(a) || line.contains(&format!("/{a}"))),
            "the binary links `{line}`: only glibc is allowed (see Cargo.toml, git2's vendored features)"
        );
    }
}
