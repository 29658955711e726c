//! `fleet validate` as a user runs it: the real binary, fixture git repositories made here,
//! whole outputs compared.

mod common;

use std::path::PathBuf;

use common::{Repo, fleet, fleet_env, git, project};

const GOOD: &str = "project: shop
hosts:
  a: { address: ssh://a.example, labels: { zone: a } }
  b: { address: ssh://b.example, labels: { zone: b } }
services:
  web:
    image: nginx:1.27
    deploy: { replicas: 2 }
";

const BAD: &str = "project: shop
hosts:
  a: { address: ssh://a.example, labels: { zone: a } }
  b: { address: ssh://b.example, labels: { zone: b } }
services:
  web:
    image: nginx:1.27
    deploy: { replicas: 2, placement: { constraints: [node.labels.zone == c] } }
    helthcheck: { test: true }
";

/// A repository whose first commit is valid and whose second is not.
fn two_commit_repo() -> (Repo, String, String) {
    let repo = Repo::new();
    repo.write("fleet.yaml", GOOD);
    let first = repo.commit_all("Deploy web with 2 replicas");
    repo.write("fleet.yaml", BAD);
    let second = repo.commit_all("Pin web to zone c");
    (repo, first, second)
}

#[test]
fn validate_reports_the_whole_problem_and_exits_1() {
    let (repo, _, second) = two_commit_repo();
    let out = fleet(repo.path(), &["validate"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "Invalid: 2 error(s), 1 warning(s).\n");
    let expected = format!(
        "Reading commit {} \"Pin web to zone c\" (HEAD)
fleet.yaml:8:25: error: services.web.deploy.replicas: no host satisfies the placement constraints of `web`; expected constraints that at least one host satisfies
  hint: hosts: a, b
fleet.yaml:8:55: warning: services.web.deploy.placement.constraints[0]: no host has the label `zone` with value `c` (hosts have: a, b)
fleet.yaml:9:5: error: services.web.helthcheck: unknown key `helthcheck`; expected one of image, command, entrypoint, environment, env_file, ports, volumes, networks, labels, healthcheck, restart, user, working_dir, stop_grace_period, stop_signal, init, read_only, cap_add, cap_drop, extra_hosts, expose, hostname, logging, tmpfs, depends_on, deploy, container_name, links, secrets, configs, profiles, pull_policy, build, shm_size, gpus, ulimits, sysctls, security_opt, stdin_open, tty, platform, runtime, pids_limit, mem_limit, memswap_limit, mem_reservation, cpus, cpu_shares, cpuset, devices, privileged, group_add, ipc, pid, dns, dns_search, dns_opt, oom_score_adj, network_mode, x-fleet
  hint: did you mean `healthcheck`?
",
        &second[..12]
    );
    assert_eq!(out.stderr, expected);
}

#[test]
fn validate_reads_an_older_commit_with_ref() {
    let (repo, first, _) = two_commit_repo();
    let out = fleet(repo.path(), &["validate", "--ref", "HEAD~1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "Valid: project shop, 2 host(s), 1 service(s) at {}.\n",
            &first[..12]
        )
    );
    assert_eq!(
        out.stderr,
        format!(
            "Reading commit {} \"Deploy web with 2 replicas\" (HEAD~1)\n",
            &first[..12]
        )
    );
}

#[test]
fn validate_reads_a_bare_clone_at_an_older_commit() {
    let (repo, first, _) = two_commit_repo();
    let bare = repo.path().join("bare.git");
    git(
        repo.path(),
        &["clone", "-q", "--bare", ".", bare.to_str().unwrap()],
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let at_old = fleet(
        elsewhere.path(),
        &[
            "--repo",
            bare.to_str().unwrap(),
            "--ref",
            &first,
            "validate",
        ],
    );
    assert_eq!(at_old.code, 0, "{}", at_old.stderr);
    assert!(at_old.stdout.contains(&first[..12]));
    let at_head = fleet(
        elsewhere.path(),
        &["--repo", bare.to_str().unwrap(), "validate"],
    );
    assert_eq!(at_head.code, 1);
    assert!(
        at_head
            .stderr
            .contains("fleet.yaml:9:5: error: services.web.helthcheck"),
        "{}",
        at_head.stderr
    );
}

#[test]
fn validate_mirrors_a_remote_url_and_fetches_new_commits() {
    let (repo, first, second) = two_commit_repo();
    let bare = repo.path().join("remote.git");
    git(
        repo.path(),
        &["clone", "-q", "--bare", ".", bare.to_str().unwrap()],
    );
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", bare.display());
    let env = [("FLEET_CACHE_DIR", cache.path().to_str().unwrap())];

    let old = fleet_env(
        repo.path(),
        &["--repo", &url, "--ref", &first[..10], "validate"],
        &env,
    );
    assert_eq!(old.code, 0, "{}", old.stderr);
    let head = fleet_env(repo.path(), &["--repo", &url, "validate"], &env);
    assert_eq!(head.code, 1);
    assert!(
        head.stderr
            .starts_with(&format!("Reading commit {}", &second[..12])),
        "{}",
        head.stderr
    );

    // A new commit on the remote is seen on the next run.
    repo.write("fleet.yaml", GOOD);
    let third = repo.commit_all("Revert to zones a and b");
    git(repo.path(), &["push", "-q", bare.to_str().unwrap(), "main"]);
    let fixed = fleet_env(repo.path(), &["--repo", &url, "validate"], &env);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert!(fixed.stdout.contains(&third[..12]));
    assert!(cache.path().join("repos").read_dir().unwrap().count() == 1);
}

#[test]
fn uncommitted_edits_are_pointed_out_and_read_with_worktree() {
    let (repo, _, _) = two_commit_repo();
    repo.write("fleet.yaml", GOOD);
    let head = fleet(repo.path(), &["validate"]);
    assert_eq!(head.code, 1);
    assert!(
        head.stderr.contains(
            "note: uncommitted changes are not read (fleet.yaml); commit them, or pass --worktree"
        ),
        "{}",
        head.stderr
    );
    let worktree = fleet(repo.path(), &["validate", "--worktree"]);
    assert_eq!(worktree.code, 0, "{}", worktree.stderr);
    assert!(
        worktree
            .stderr
            .starts_with("Reading working tree, uncommitted changes included")
    );
}

#[test]
fn a_project_in_a_subdirectory_is_read_from_the_commit() {
    let repo = Repo::new();
    repo.write("deploy/prod/fleet.yaml", GOOD);
    repo.write("deploy/prod/web.env", "A=1\n");
    repo.commit_all("Add prod");
    let out = fleet(repo.path(), &["-C", "deploy/prod", "validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(" (HEAD) in deploy/prod"),
        "{}",
        out.stderr
    );
}

#[test]
fn outside_a_repository_validate_explains_what_to_do() {
    let tmp = project(GOOD);
    let out = fleet(tmp.path(), &["validate"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: `.` is not inside a git repository\nhint: fleet reads the desired state from a commit: run `git init && git add -A && git commit`, or pass --worktree to read the files as they are\n"
    );
    let worktree = fleet(tmp.path(), &["validate", "--worktree"]);
    assert_eq!(worktree.code, 0, "{}", worktree.stderr);
}

#[test]
fn json_output_carries_every_diagnostic_and_the_commit() {
    let (repo, _, second) = two_commit_repo();
    let out = fleet(repo.path(), &["validate", "--format", "json"]);
    assert_eq!(out.code, 1);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"], 2);
    assert_eq!(report["revision"]["commit"], second.as_str());
    let first = &report["diagnostics"][0];
    assert_eq!(first["file"], "fleet.yaml");
    assert_eq!(first["line"], 8);
    assert_eq!(first["column"], 25);
    assert_eq!(first["severity"], "error");
    assert_eq!(first["field"], "services.web.deploy.replicas");
}

#[test]
fn unknown_revision_and_bad_flags_exit_1() {
    let (repo, _, _) = two_commit_repo();
    let out = fleet(repo.path(), &["validate", "--ref", "no-such-branch"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("error: revision `no-such-branch` was not found"),
        "{}",
        out.stderr
    );
    let out = fleet(repo.path(), &["validate", "--no-such-flag"]);
    assert_eq!(out.code, 1);
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_examples_are_valid() {
    for example in ["examples/quickstart", "examples/multi-host"] {
        let out = fleet(&repo_root(), &["-C", example, "--worktree", "validate"]);
        assert_eq!(out.code, 0, "{example}: {}", out.stderr);
        // A diagnostic line reads `file:line:col: warning: ...`; the "Reading" line may quote a
        // commit subject that has the word in it.
        assert!(
            !out.stderr.contains(": warning: "),
            "{example}: {}",
            out.stderr
        );
    }
}

#[test]
fn committed_completions_are_up_to_date() {
    for (shell, file) in [
        ("bash", "fleet.bash"),
        ("zsh", "_fleet"),
        ("fish", "fleet.fish"),
        ("powershell", "_fleet.ps1"),
        ("elvish", "fleet.elv"),
    ] {
        let out = fleet(&repo_root(), &["completions", shell]);
        assert_eq!(out.code, 0);
        let committed =
            std::fs::read_to_string(repo_root().join("completions").join(file)).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is stale: run `cargo run -- completions {shell} > completions/{file}`"
        );
    }
}

/// man/ holds what `fleet man` writes, file for file: regenerate with `fleet man man`.
#[test]
fn committed_man_pages_are_up_to_date() {
    let fresh = tempfile::tempdir().unwrap();
    let out = fleet(&repo_root(), &["man", fresh.path().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let names = |dir: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let generated = names(fresh.path());
    assert!(
        generated.iter().any(|n| n == "fleet.1") && generated.iter().any(|n| n == "fleet-plan.1"),
        "{generated:?}"
    );
    let hint = "man/ is stale: run `cargo run -- man man`";
    assert_eq!(names(&repo_root().join("man")), generated, "{hint}");
    for name in &generated {
        let committed = std::fs::read(repo_root().join("man").join(name)).unwrap();
        let fresh = std::fs::read(fresh.path().join(name)).unwrap();
        assert!(committed == fresh, "man/{name}: {hint}");
    }
}

#[test]
fn schema_is_json_and_names_the_top_level_keys() {
    let out = fleet(&repo_root(), &["schema"]);
    assert_eq!(out.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(schema["required"][0], "project");
    assert!(schema["properties"]["services"].is_object());
}

#[test]
fn a_source_error_in_json_mode_still_answers_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fleet(
        tmp.path(),
        &["--format", "json", "validate", "--ref", "no-such-branch"],
    );
    assert_eq!(out.code, 1);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(value["valid"], false);
    assert!(value["error"].as_str().unwrap().len() > 5, "{value}");
}

#[test]
fn config_prints_the_resolved_state_with_secrets_masked() {
    let repo = Repo::new();
    repo.write(
        "fleet.yaml",
        "project: shop
hosts:
  a: { address: ssh://a.example }
include: [compose.yaml]
",
    );
    repo.write(
        "compose.yaml",
        "x-common: &common
  restart: always
services:
  web:
    <<: *common
    image: nginx:1.27
    environment: { DB_PASSWORD: hunter2, MODE: prod }
    healthcheck: { test: [CMD, true], interval: 90s }
",
    );
    repo.commit_all("web");
    let out = fleet(repo.path(), &["config"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    for line in [
        "project: shop",
        "      DB_PASSWORD: (sensitive)",
        "      MODE: prod",
        "    image: \"nginx:1.27\"",
        "      interval: 1m30s",
        "      policy: always",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "no `{line}` in:\n{}",
            out.stdout
        );
    }
    let json = fleet(repo.path(), &["config", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        value["services"]["web"]["environment"]["DB_PASSWORD"],
        "(sensitive)"
    );
    assert_eq!(value["services"]["web"]["restart"]["policy"], "always");
    // JSON has durations in seconds (docs/plan-json.md); the YAML above in Compose's words.
    assert_eq!(value["services"]["web"]["healthcheck"]["interval"], 90);
    let validate = fleet(repo.path(), &["validate", "--format", "json"]);
    assert!(!validate.stdout.contains("hunter2"), "{}", validate.stdout);

    repo.write(
        "compose.yaml",
        "services: { web: { image: nginx, restrat: always } }\n",
    );
    repo.commit_all("typo");
    let bad = fleet(repo.path(), &["config"]);
    assert_eq!(bad.code, 1);
    assert_eq!(bad.stdout, "");
    assert!(bad.stderr.contains("restrat"), "{}", bad.stderr);
}

#[test]
fn init_writes_a_fleet_yaml_that_includes_the_compose_file_and_says_what_needs_attention() {
    let dir = project("");
    std::fs::remove_file(dir.path().join("fleet.yaml")).unwrap();
    let none = fleet(dir.path(), &["init"]);
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("no compose file"), "{}", none.stderr);

    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  web: { image: nginx:1.27 }\n  api: { build: . }\n",
    )
    .unwrap();
    let out = fleet(
        dir.path(),
        &[
            "init",
            "--project",
            "shop",
            "--host",
            "a=ssh://deploy@10.0.0.5",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let written = std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap();
    assert!(written.contains("project: shop\n"), "{written}");
    assert!(
        written.contains("  a: { address: ssh://deploy@10.0.0.5 }\n"),
        "{written}"
    );
    assert!(
        written.contains("include: [docker-compose.yml]\n"),
        "{written}"
    );
    assert!(out.stderr.contains("services.api.build"), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("Needs attention before it can be deployed: 1 error(s)"),
        "{}",
        out.stdout
    );
    // What init wrote is what validate reads.
    let validate = fleet(dir.path(), &["validate", "--worktree"]);
    assert_eq!(validate.code, 1);

    let again = fleet(dir.path(), &["init"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("exists; nothing was written"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap(),
        written
    );
}

#[test]
fn strict_fails_on_warnings_that_a_plain_validate_accepts() {
    let dir = project(
        "project: shop\nservices:\n  web:\n    image: \"nginx:${TAG:-1.27}\"\n    environment: [\"GREETING=${UNSET}\"]\n",
    );
    let plain = fleet(dir.path(), &["validate", "--worktree"]);
    assert_eq!(plain.code, 0, "{}{}", plain.stdout, plain.stderr);
    assert!(
        plain.stderr.contains("variable `UNSET` is not set"),
        "{}",
        plain.stderr
    );
    let strict = fleet(dir.path(), &["validate", "--worktree", "--strict"]);
    assert_eq!(strict.code, 1, "{}{}", strict.stdout, strict.stderr);
    assert!(
        strict.stderr.contains("--strict: 1 warning(s)"),
        "{}",
        strict.stderr
    );
    let clean = project("project: shop\nservices:\n  web: { image: nginx }\n");
    assert_eq!(
        fleet(clean.path(), &["validate", "--worktree", "--strict"]).code,
        0
    );
}
