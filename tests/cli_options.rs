//! The command line itself: what each subcommand offers, what `--help` says, and how errors in
//! the options read. The real binary; no host is contacted.

mod common;

use std::path::PathBuf;

use common::{Repo, fleet};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fleet --help` describes the tool (plan, apply, watch), not only validation.
#[test]
fn the_long_help_describes_the_whole_tool() {
    let out = fleet(&repo_root(), &["--help"]);
    assert_eq!(out.code, 0);
    for word in [
        "`validate`",
        "`plan`",
        "`apply`",
        "`status`",
        "`watch`",
        "SSH",
    ] {
        assert!(out.stdout.contains(word), "no {word} in:\n{}", out.stdout);
    }
}

/// An unknown revision is named, with how to list the ones there are; git's internals (class,
/// code) stay out of it.
#[test]
fn an_unknown_revision_says_which_and_how_to_list_refs() {
    let repo = Repo::new();
    repo.commit("project: shop\nservices:\n  web: { image: nginx }\n");
    let out = fleet(repo.path(), &["--ref", "nosuchbranch", "validate"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "error: revision `nosuchbranch` was not found: no branch, tag or commit has that name\n"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`git branch -a`"), "{}", out.stderr);
    assert!(out.stderr.contains("`git tag`"), "{}", out.stderr);
    assert!(!out.stderr.contains("class="), "{}", out.stderr);
    assert!(!out.stderr.contains("code="), "{}", out.stderr);
}

/// One length of commit id in every human output: 12 hex digits.
#[test]
fn commit_ids_have_twelve_digits_in_human_output() {
    let repo = Repo::new();
    repo.commit("project: shop\nservices:\n  web: { image: nginx }\n");
    let head = common::git(repo.path(), &["rev-parse", "HEAD"]);
    let head = head.trim();
    let out = fleet(repo.path(), &["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("Reading commit {} ", &head[..12])),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!(" at {}.", &head[..12])),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&head[..13]), "{}", out.stdout);
}
