//! The GitHub Actions example (examples/ci/github-actions.yml) run against the testbed, as a
//! runner would run it: every `run:` script of its `plan` and `apply` jobs (all but the install
//! step: `fleet` is the binary under test, on PATH) with bash as GitHub calls it, in a git
//! repository holding a project on two testbed hosts, with a clean environment (HOME, PATH,
//! the step's `env:` given the values its secrets would have), `$GITHUB_STEP_SUMMARY` and
//! `$GITHUB_OUTPUT` as files per step, and a stub `gh` that keeps the pull request's comments
//! and logs every call. Checks the exit-code logic (2 = changes, 0 = none, 1 fails the job),
//! the summary, the one comment updated in place, and that the apply job converges. The GitLab
//! example's plan and apply jobs run the same way, with a stub `curl` for the notes API.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::workflow::{github_steps, parse};
use common::{Cleanup, Repo, Testbed, fleet_env, unique_project};

const HOSTS: [usize; 2] = [2, 3];
const REPOSITORY: &str = "acme/shop-fleet";
const PR: &str = "7";

/// `gh api` as the workflow calls it: comments kept as files `comments/ID` (a reviewer's
/// comment, 100, is there from the start), every call appended to `calls`.
const GH_STUB: &str = r#"#!/usr/bin/env bash
set -euo pipefail
dir=$GH_STUB_DIR
echo "gh $*" >> "$dir/calls"
[ "${1:-}" = api ] || { echo "gh stub: only \`gh api\`" >&2; exit 1; }
shift
method=GET jq_expr= body= url=
while [ $# -gt 0 ]; do
  case $1 in
    --method) method=$2; shift 2 ;;
    --paginate) shift ;;
    --jq) jq_expr=$2; shift 2 ;;
    -F) case $2 in body=@*) body=${2#body=@} ;; *) echo "gh stub: -F $2" >&2; exit 1 ;; esac; shift 2 ;;
    -*) echo "gh stub: unexpected option $1" >&2; exit 1 ;;
    *) url=$1; shift ;;
  esac
done
comments=repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments
store=$dir/comments
case "$method $url" in
  "GET $comments") list | jq -r "$jq_expr" ;;
  "POST $comments") create "$body" ;;
  "PATCH repos/$GITHUB_REPOSITORY/issues/comments/"*) update "$body" "${url##*/}" ;;
  *) echo "gh stub: unexpected $method $url" >&2; exit 1 ;;
esac
"#;

/// What both stubs do with the comments (notes): files `$store/ID`, listed as the API's JSON.
const STORE: &str = r#"
list() {
  for f in "$store"/*; do jq -Rs --argjson id "$(basename "$f")" '{id: $id, body: .}' < "$f"; done | jq -s .
}
create() {
  local id=$(( $(ls "$store" | sort -n | tail -n 1) + 1 ))
  cp "$1" "$store/$id"; echo "{\"id\": $id}"
}
update() {
  [ -f "$store/$2" ] || { echo "HTTP 404" >&2; exit 22; }
  cp "$1" "$store/$2"; echo "{\"id\": $2}"
}
"#;

/// A stub with the comment store's functions defined after its first two lines.
fn with_store(stub: &str) -> String {
    let (head, body) = stub
        .split_once("set -euo pipefail\n")
        .expect("a stub starts with set -euo pipefail");
    format!("{head}set -euo pipefail\n{STORE}{body}")
}

/// A runner: the job's environment and the stub's state.
struct Runner {
    repo: Repo,
    home: tempfile::TempDir,
    work: tempfile::TempDir,
    /// The values of the steps' `env:` (what the secrets and contexts would give).
    step_env: BTreeMap<&'static str, String>,
    workflow: fleet::spec::yaml::Node,
}

/// What a job did: the name and exit code of each step run (it stops at the first failure, as
/// GitHub does), each step's summary, and the outputs of steps with an `id`.
struct Job {
    steps: Vec<(String, i32)>,
    summary: String,
    outputs: BTreeMap<String, String>,
    stderr: String,
}

impl Job {
    fn succeeded(&self) -> bool {
        self.steps.iter().all(|(_, code)| *code == 0)
    }
}

impl Runner {
    fn new(testbed: &Testbed) -> Runner {
        let work = tempfile::tempdir().unwrap();
        let stub = work.path().join("bin");
        std::fs::create_dir_all(stub.join("../gh/comments")).unwrap();
        std::fs::write(stub.join("gh"), with_store(GH_STUB)).unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(stub.join("gh"))
            .status()
            .unwrap();
        std::fs::write(
            work.path().join("gh/comments/100"),
            "Looks good to me, once the plan is green.\n",
        )
        .unwrap();
        std::fs::write(work.path().join("gh/calls"), "").unwrap();
        let read = |p: PathBuf| {
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        let step_env = BTreeMap::from([
            ("SSH_PRIVATE_KEY", read(testbed.identity())),
            ("SSH_KNOWN_HOSTS", read(testbed.known_hosts())),
            ("GH_TOKEN", "test-token".to_string()),
            ("PR_NUMBER", PR.to_string()),
        ]);
        Runner {
            repo: Repo::new(),
            home: tempfile::tempdir().unwrap(),
            work,
            step_env,
            workflow: parse("github-actions.yml"),
        }
    }

    fn gh_dir(&self) -> PathBuf {
        self.work.path().join("gh")
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.gh_dir().join("calls"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn comment(&self, id: u32) -> Option<String> {
        std::fs::read_to_string(self.gh_dir().join(format!("comments/{id}"))).ok()
    }

    fn comments(&self) -> usize {
        std::fs::read_dir(self.gh_dir().join("comments"))
            .unwrap()
            .count()
    }

    /// The PATH of a runner on which fleet was installed: the stub `gh`, the binary, the system.
    fn path(&self) -> String {
        let fleet = Path::new(env!("CARGO_BIN_EXE_fleet")).parent().unwrap();
        format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            self.work.path().join("bin").display(),
            fleet.display()
        )
    }

    /// Runs the `run:` steps of a job of the workflow in order, each as GitHub runs it
    /// (`bash --noprofile --norc -eo pipefail FILE`), stopping at the first that fails.
    fn run_job(&self, job: &str) -> Job {
        let steps = github_steps(&self.workflow, job);
        let install = steps
            .iter()
            .filter(|s| s.id.as_deref() == Some("install"))
            .count();
        assert_eq!(install, 1, "{job}: no single install step to leave out");
        let temp = tempfile::tempdir().unwrap();
        let mut out = Job {
            steps: Vec::new(),
            summary: String::new(),
            outputs: BTreeMap::new(),
            stderr: String::new(),
        };
        for (i, step) in steps.iter().enumerate() {
            let Some(run) = &step.run else { continue };
            if step.id.as_deref() == Some("install") {
                continue;
            }
            let script = temp.path().join(format!("step{i}.sh"));
            let summary = temp.path().join(format!("summary{i}"));
            let output = temp.path().join(format!("output{i}"));
            std::fs::write(&script, run).unwrap();
            std::fs::write(&summary, "").unwrap();
            std::fs::write(&output, "").unwrap();
            let mut command = Command::new("timeout");
            command
                .args(["180", "bash", "--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script)
                .current_dir(self.repo.path())
                .env_clear()
                .env("HOME", self.home.path())
                .env("PATH", self.path())
                .env("LANG", "C.UTF-8")
                .env("CI", "true")
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_REPOSITORY", REPOSITORY)
                .env("GITHUB_WORKSPACE", self.repo.path())
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_OUTPUT", &output)
                .env("RUNNER_TEMP", temp.path())
                .env("GH_STUB_DIR", self.gh_dir())
                .env("NO_COLOR", "1");
            for name in &step.env {
                let value = self.step_env.get(name.as_str()).unwrap_or_else(|| {
                    panic!(
                        "line {}: step `{}` reads {name}, which this test does not provide",
                        step.line, step.name
                    )
                });
                command.env(name, value);
            }
            let result = command.output().expect("bash and timeout");
            let code = result.status.code().unwrap_or(-1);
            out.stderr.push_str(&format!(
                "--- {}: exit {code}\n{}{}",
                step.name,
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            ));
            out.summary
                .push_str(&std::fs::read_to_string(&summary).unwrap());
            if let Some(id) = &step.id {
                for line in std::fs::read_to_string(&output).unwrap().lines() {
                    if let Some((k, v)) = line.split_once('=') {
                        out.outputs.insert(format!("{id}.{k}"), v.to_string());
                    }
                }
            }
            out.steps.push((step.name.clone(), code));
            if code != 0 {
                break;
            }
        }
        out
    }

    /// fleet as the runner's user, after the SSH step (its key and known_hosts in HOME).
    fn fleet(&self, args: &[&str]) -> common::Output {
        let home = self.home.path().to_str().unwrap();
        fleet_env(self.repo.path(), args, &[("HOME", home)])
    }
}

fn fleet_yaml(testbed: &Testbed, project: &str, extra_host: &str) -> String {
    // No identity_file: fleet finds the key where the workflow's SSH step put it.
    let mut hosts = String::from("hosts:\n");
    for i in HOSTS {
        hosts.push_str(&format!(
            "  fh{i}:\n    address: ssh://root@{}\n    docker_socket: {}\n",
            testbed.address(i),
            testbed.socket(i).display()
        ));
    }
    hosts.push_str(extra_host);
    format!(
        "project: {project}\n{hosts}services:\n  web:\n    image: fleet-demo:1\n    pull_policy: never\n    deploy: {{ replicas: 2, update_config: {{ monitor: 1s }} }}\n"
    )
}

#[test]
fn the_github_workflow_plans_comments_once_applies_and_fails_on_a_failed_plan() {
    let testbed = Testbed::get();
    let project = unique_project("ci");
    let _cleanup = Cleanup::of(&testbed, &HOSTS, &project);
    let runner = Runner::new(&testbed);
    runner.repo.commit(&fleet_yaml(&testbed, &project, ""));
    let marker = format!("<!-- fleet-plan project={project} -->");

    // A pull request with changes: exit 2 passes the check, one comment and the summary.
    let job = runner.run_job("plan");
    assert!(job.succeeded(), "{:?}\n{}", job.steps, job.stderr);
    assert_eq!(
        job.steps
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        [
            "SSH key and known_hosts",
            "Validate",
            "Plan",
            "Comment on the pull request"
        ]
    );
    assert_eq!(job.outputs["plan.exitcode"], "2", "{}", job.stderr);
    assert_eq!(job.outputs["plan.changes"], "true");
    assert!(job.summary.starts_with(&marker), "{}", job.summary);
    assert!(
        job.summary
            .contains("**Plan: 2 to create, 0 to replace, 0 to remove.**")
            && job.summary.contains("<details><summary>Changes</summary>")
            && job.summary.contains("+ web[0] on fh2: create"),
        "{}",
        job.summary
    );
    let key = std::fs::metadata(runner.home.path().join(".ssh/id_ed25519")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );
    assert_eq!(runner.comments(), 2, "{:?}", runner.calls());
    assert_eq!(runner.comment(101).as_deref(), Some(job.summary.as_str()));
    assert!(runner.comment(100).unwrap().starts_with("Looks good"));

    // The push to main: the apply job converges the hosts.
    let job = runner.run_job("apply");
    assert!(job.succeeded(), "{:?}\n{}", job.steps, job.stderr);
    assert!(
        job.summary.starts_with("### fleet apply: succeeded\n"),
        "{}",
        job.summary
    );
    assert_eq!(
        testbed.running(&HOSTS, &project, Some("web")).len(),
        2,
        "{}",
        job.stderr
    );
    let status = runner.fleet(&["status"]);
    assert_eq!(status.code, 0, "{}{}", status.stdout, status.stderr);

    // The next push to the pull request: no changes, exit 0 passes, the same comment updated.
    let calls_before = runner.calls().len();
    let job = runner.run_job("plan");
    assert!(job.succeeded(), "{:?}\n{}", job.steps, job.stderr);
    assert_eq!(job.outputs["plan.exitcode"], "0", "{}", job.stderr);
    assert_eq!(job.outputs["plan.changes"], "false");
    assert!(
        job.summary.contains("No changes. The fleet matches"),
        "{}",
        job.summary
    );
    let calls = runner.calls();
    assert!(
        calls[calls_before..].iter().any(|c| c.contains(&format!(
            "--method PATCH repos/{REPOSITORY}/issues/comments/101"
        ))),
        "{calls:?}"
    );
    assert_eq!(runner.comments(), 2, "a second comment: {calls:?}");
    assert_eq!(runner.comment(101).as_deref(), Some(job.summary.as_str()));

    // A plan that fails (a host that refuses connections): exit 1 fails the job at the plan
    // step, the summary says why, the comment step does not run.
    let refused = format!(
        "  fh9x:\n    address: ssh://root@{}:2\n    docker_socket: {}\n",
        testbed.address(HOSTS[0]),
        testbed.socket(HOSTS[0]).display()
    );
    runner
        .repo
        .commit(&fleet_yaml(&testbed, &project, &refused));
    let calls_before = runner.calls().len();
    let job = runner.run_job("plan");
    assert_eq!(
        job.steps.last().map(|(n, c)| (n.as_str(), *c)),
        Some(("Plan", 1)),
        "{:?}\n{}",
        job.steps,
        job.stderr
    );
    assert_eq!(job.outputs["plan.exitcode"], "1");
    assert!(
        job.summary.starts_with("### fleet plan failed (exit 1)") && job.summary.contains("fh9x"),
        "{}",
        job.summary
    );
    assert_eq!(runner.calls().len(), calls_before, "the comment step ran");
}

/// The GitLab API as the GitLab example's `curl` calls reach it: the merge request's notes kept
/// as files `notes/ID` (a reviewer's note, 100, is there from the start), every call appended to
/// `calls`; a wrong token gets curl's exit 22, as `-f` does on a 401.
const CURL_STUB: &str = r#"#!/usr/bin/env bash
set -euo pipefail
dir=$STUB_DIR
echo "curl $*" >> "$dir/calls"
method=GET url= body= token=
while [ $# -gt 0 ]; do
  case $1 in
    -fsS) shift ;;
    -X) method=$2; shift 2 ;;
    --header) case $2 in "PRIVATE-TOKEN: "*) token=${2#PRIVATE-TOKEN: } ;; esac; shift 2 ;;
    --data-urlencode) case $2 in body@*) body=${2#body@} ;; *) exit 2 ;; esac; shift 2 ;;
    -*) echo "curl stub: unexpected option $1" >&2; exit 2 ;;
    *) url=$1; shift ;;
  esac
done
[ "$token" = gitlab-test-token ] || { echo "curl: (22) 401" >&2; exit 22; }
notes=$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes
store=$dir/notes
case "$method $url" in
  "GET $notes?per_page=100&sort=asc") list ;;
  "POST $notes") create "$body" ;;
  "PUT $notes/"*) update "$body" "${url##*/}" ;;
  *) echo "curl stub: unexpected $method $url" >&2; exit 22 ;;
esac
"#;

/// Runs a job of examples/ci/gitlab-ci.yml as a GitLab runner does: before_script and script as
/// one bash script (`-eo pipefail`), in the checkout, with the CI/CD variables of the example
/// (File variables as paths). Returns the exit code and what it printed.
fn run_gitlab_job(
    testbed: &Testbed,
    repo: &Repo,
    home: &Path,
    stubs: &Path,
    job: &str,
) -> (i32, String) {
    let pipeline = parse("gitlab-ci.yml");
    let script = stubs.join(format!("{job}.sh"));
    std::fs::write(&script, common::workflow::gitlab_script(&pipeline, job)).unwrap();
    let result = Command::new("timeout")
        .args(["180", "bash", "--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .current_dir(repo.path())
        .env_clear()
        .env("HOME", home)
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", stubs.join("bin").display()),
        )
        .env("LANG", "C.UTF-8")
        .env("TMPDIR", stubs)
        .env("STUB_DIR", stubs)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("CI_API_V4_URL", "https://gitlab.example/api/v4")
        .env("CI_PROJECT_ID", "42")
        .env("CI_MERGE_REQUEST_IID", "7")
        .env("FLEET_GITLAB_TOKEN", "gitlab-test-token")
        .env("FLEET_SSH_KEY", testbed.identity())
        .env("FLEET_KNOWN_HOSTS", testbed.known_hosts())
        .output()
        .expect("bash and timeout");
    (
        result.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        ),
    )
}

#[test]
fn the_gitlab_pipeline_plans_notes_once_and_applies() {
    let testbed = Testbed::get();
    let project = unique_project("ci-gitlab");
    let _cleanup = Cleanup::of(&testbed, &HOSTS, &project);
    let repo = Repo::new();
    repo.write(".gitignore", ".fleet-bin/\nplan.md\n");
    repo.commit(&fleet_yaml(&testbed, &project, ""));
    // The cached binary the before_script finds (so it does not build one).
    std::fs::create_dir_all(repo.path().join(".fleet-bin/bin")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_fleet"),
        repo.path().join(".fleet-bin/bin/fleet"),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let stubs = tempfile::tempdir().unwrap();
    let dir = stubs.path();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("notes")).unwrap();
    std::fs::write(dir.join("notes/100"), "Please check the plan.\n").unwrap();
    std::fs::write(dir.join("calls"), "").unwrap();
    std::fs::write(dir.join("bin/curl"), with_store(CURL_STUB)).unwrap();
    std::fs::write(dir.join("bin/apt-get"), "#!/bin/sh\nexit 0\n").unwrap();
    for stub in ["curl", "apt-get"] {
        let path = dir.join("bin").join(stub);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let note = |id: u32| std::fs::read_to_string(dir.join(format!("notes/{id}"))).ok();
    let notes = || std::fs::read_dir(dir.join("notes")).unwrap().count();
    let marker = format!("<!-- fleet-plan project={project} -->");

    let (code, log) = run_gitlab_job(&testbed, &repo, home.path(), dir, "plan");
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("uncommitted changes"), "{log}");
    let first = note(101).unwrap_or_else(|| panic!("no note: {log}"));
    assert!(first.starts_with(&marker), "{first}");
    assert!(
        first.contains("**Plan: 2 to create, 0 to replace, 0 to remove.**"),
        "{first}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("plan.md")).unwrap(),
        first,
        "the artifact"
    );

    let (code, log) = run_gitlab_job(&testbed, &repo, home.path(), dir, "apply");
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("Apply complete"), "{log}");
    assert_eq!(testbed.running(&HOSTS, &project, Some("web")).len(), 2);

    let (code, log) = run_gitlab_job(&testbed, &repo, home.path(), dir, "plan");
    assert_eq!(code, 0, "{log}");
    assert_eq!(notes(), 2, "a second note: {log}");
    assert!(
        note(101).is_some_and(|n| n.starts_with(&marker) && n.contains("No changes.")),
        "{:?}",
        note(101)
    );
    assert!(note(100).is_some_and(|n| n.starts_with("Please check")));
}
