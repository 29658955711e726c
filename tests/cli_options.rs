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

/// A subcommand that reads no repository offers none of the repository options, and refuses
/// them before the subcommand too, instead of ignoring them.
#[test]
fn schema_and_completions_offer_no_repository_options() {
    for args in [&["schema"][..], &["completions", "bash"][..]] {
        let help = fleet(&repo_root(), &[args, &["--help"][..]].concat());
        assert_eq!(help.code, 0);
        for option in ["--ref", "--repo", "--worktree", "--format", "--directory"] {
            assert!(
                !help.stdout.contains(option),
                "{args:?} offers {option}:\n{}",
                help.stdout
            );
        }
        for given in [
            &["--ref", "main"][..],
            &["--format", "markdown"][..],
            &["--repo", "."][..],
        ] {
            let after = fleet(&repo_root(), &[args, given].concat());
            assert_eq!(
                after.code, 1,
                "{args:?} {given:?} accepted: {}",
                after.stdout
            );
            assert!(
                after.stderr.contains("unexpected argument"),
                "{}",
                after.stderr
            );
            let before = fleet(&repo_root(), &[given, args].concat());
            assert_eq!(before.code, 1, "{given:?} {args:?} accepted");
            assert!(
                before.stderr.contains("reads no repository") && before.stdout.is_empty(),
                "{given:?} {args:?}: {}",
                before.stderr
            );
        }
    }
    // The commands that read a repository keep taking the options on either side.
    let repo = Repo::new();
    repo.commit("project: shop\nservices:\n  web: { image: nginx }\n");
    for args in [
        &["--ref", "HEAD", "validate"][..],
        &["validate", "--ref", "HEAD"][..],
        &["--format", "json", "validate"][..],
        &["validate", "--format", "json"][..],
    ] {
        let out = fleet(repo.path(), args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    let out = fleet(repo.path(), &["--worktree", "validate", "--ref", "HEAD"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("--ref and --worktree"),
        "{}",
        out.stderr
    );
    // Markdown is `fleet plan`'s alone.
    let out = fleet(repo.path(), &["validate", "--format", "markdown"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
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

/// `--format` before or after a command with subcommands (`lock`, `secret`) parses into the
/// same thing: clap once panicked here on two types under one argument id.
#[test]
fn format_reaches_nested_subcommands_from_either_side_without_a_panic() {
    let repo = Repo::new();
    repo.commit(
        "project: pc\nhosts:\n  h1: { address: 'ssh://root@127.0.0.1:1' }\nservices:\n  web:\n    image: nginx:alpine\n",
    );
    for args in [
        &["--format", "json", "lock", "status"][..],
        &["lock", "status", "--format", "json"][..],
        &["lock", "--format", "json", "status"][..],
        &["--format", "json", "secret", "ls"][..],
        &["secret", "ls", "--format", "json"][..],
    ] {
        let out = fleet(repo.path(), args);
        assert_ne!(out.code, 101, "{args:?} panicked: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(&out.stdout);
        assert!(parsed.is_ok(), "{args:?} printed no JSON: {:?}", out.stdout);
    }
    let markdown = fleet(repo.path(), &["lock", "status", "--format", "markdown"]);
    assert_eq!(markdown.code, 1, "{}", markdown.stderr);
    assert!(
        markdown.stderr.contains("[possible values: text, json]"),
        "{}",
        markdown.stderr
    );
}
