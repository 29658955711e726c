//! A lint of the CI examples (examples/ci/): each is well-formed YAML (fleet's parser, which
//! refuses duplicate keys), has the jobs, triggers and guards docs/ci.md describes, and every
//! shell script in it passes `bash -n`. tests/testbed_ci.rs runs the GitHub workflow's scripts.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::workflow::{at, get, github_steps, gitlab_script, items, keys, parse, text};

fn bash_syntax_ok(what: &str, script: &str) {
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: bash -n: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_github_workflow_plans_pull_requests_and_applies_main_one_run_at_a_time() {
    let workflow = parse("github-actions.yml");
    let on = at(&workflow, &["on"]);
    assert!(get(on, "pull_request").is_some(), "no pull_request trigger");
    assert_eq!(
        items(at(on, &["push", "branches"]))
            .iter()
            .filter_map(text)
            .collect::<Vec<_>>(),
        ["main"]
    );
    assert_eq!(keys(at(&workflow, &["jobs"])), ["plan", "apply"]);

    let plan = github_steps(&workflow, "plan");
    let script = |steps: &[common::workflow::Step]| -> String {
        steps
            .iter()
            .filter_map(|s| s.run.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let plan_script = script(&plan);
    for needed in [
        "fleet validate",
        "fleet plan --format markdown --detailed-exitcode",
        "$GITHUB_STEP_SUMMARY",
        "$GITHUB_OUTPUT",
        "--method PATCH",
    ] {
        assert!(
            plan_script.contains(needed),
            "the plan job lacks `{needed}`"
        );
    }
    assert_eq!(
        text(at(
            &workflow,
            &["jobs", "plan", "permissions", "pull-requests"]
        )),
        Some("write")
    );

    let apply = github_steps(&workflow, "apply");
    assert!(script(&apply).contains("fleet apply --yes"));
    assert!(
        text(at(&workflow, &["jobs", "apply", "concurrency", "group"]))
            .is_some_and(|g| g.starts_with("fleet-apply-")),
        "the apply job has no concurrency group"
    );
    assert_eq!(
        text(at(
            &workflow,
            &["jobs", "apply", "concurrency", "cancel-in-progress"]
        )),
        Some("false")
    );

    // Secrets reach scripts through `env:` only (never `${{ }}` inside a script, where a value
    // would be pasted into the shell's source), and under names fleet itself does not read.
    for step in plan.iter().chain(&apply) {
        if let Some(run) = &step.run {
            assert!(
                !run.contains("${{"),
                "line {}: step `{}` expands an expression inside its script",
                step.line,
                step.name
            );
            bash_syntax_ok(&format!("line {}: {}", step.line, step.name), run);
        }
        for name in &step.env {
            assert!(
                !name.starts_with("FLEET_"),
                "step `{}` sets {name}: fleet reads FLEET_* itself",
                step.name
            );
        }
    }
    let ssh = plan
        .iter()
        .find(|s| s.name == "SSH key and known_hosts")
        .expect("an SSH step");
    assert_eq!(ssh.env, ["SSH_PRIVATE_KEY", "SSH_KNOWN_HOSTS"]);
}

#[test]
fn the_gitlab_pipeline_plans_merge_requests_and_applies_the_default_branch_in_a_resource_group() {
    let pipeline = parse("gitlab-ci.yml");
    assert_eq!(
        items(at(&pipeline, &["stages"]))
            .iter()
            .filter_map(text)
            .collect::<Vec<_>>(),
        ["check", "deploy"]
    );
    let rule = |job: &str| {
        items(at(&pipeline, &[job, "rules"]))
            .first()
            .and_then(|r| get(r, "if"))
            .and_then(text)
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        rule("plan").contains("merge_request_event"),
        "{}",
        rule("plan")
    );
    assert!(
        rule("apply").contains("$CI_DEFAULT_BRANCH"),
        "{}",
        rule("apply")
    );
    assert_eq!(
        text(at(&pipeline, &["apply", "resource_group"])),
        Some("fleet-production")
    );
    let scripts = |job: &str, key: &str| -> Vec<String> {
        items(at(&pipeline, &[job, key]))
            .iter()
            .filter_map(text)
            .map(str::to_string)
            .collect()
    };
    let plan = scripts("plan", "script").join("\n");
    for needed in [
        "fleet validate",
        "fleet plan --format markdown --max-size 1000000 --detailed-exitcode",
        "-X PUT",
        "merge_requests/$CI_MERGE_REQUEST_IID/notes",
    ] {
        assert!(plan.contains(needed), "the plan job lacks `{needed}`");
    }
    assert_eq!(scripts("apply", "script"), ["fleet apply --yes"]);
    // GitLab runs before_script and script as one shell script.
    for job in ["plan", "apply"] {
        bash_syntax_ok(job, &gitlab_script(&pipeline, job));
    }
}
