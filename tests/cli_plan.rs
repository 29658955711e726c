//! `fleet plan` and `fleet apply` as a user runs them, where no host is needed: the real binary
//! on fixture repositories, stopped before any host is contacted.

mod common;

use common::{fleet, project};

const INVALID: &str = "project: shop
services:
  web:
    image: nginx:1.27
    helthcheck: { test: true }
";

/// With `--format json`, a script reading stdout gets a JSON answer for an invalid desired
/// state, as from `fleet validate --format json`, not silence.
#[test]
fn plan_and_apply_answer_in_json_when_the_desired_state_is_invalid() {
    let dir = project(INVALID);
    for args in [
        &["plan", "--worktree", "--format", "json"][..],
        &["apply", "--worktree", "--yes", "--format", "json"][..],
    ] {
        let out = fleet(dir.path(), args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        let report: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: no JSON on stdout ({e}): {:?}", out.stdout));
        assert_eq!(report["valid"], false, "{report}");
        assert_eq!(report["errors"], 1, "{report}");
        assert_eq!(report["diagnostics"][0]["field"], "services.web.helthcheck");
        assert_eq!(report["diagnostics"][0]["line"], 5);
    }
}

/// `--max-size` sizes a Markdown comment; with another format it would be silently ignored,
/// so it is refused before anything is read or contacted.
#[test]
fn plan_max_size_is_refused_without_markdown_and_below_the_minimum() {
    let dir = project(INVALID);
    let out = fleet(dir.path(), &["plan", "--worktree", "--max-size", "5000"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--max-size applies to `--format markdown` only"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("helthcheck"), "{}", out.stderr);
    let out = fleet(
        dir.path(),
        &[
            "plan",
            "--worktree",
            "--format",
            "markdown",
            "--max-size",
            "999",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("999 is not in 1000.."),
        "{}",
        out.stderr
    );
}
