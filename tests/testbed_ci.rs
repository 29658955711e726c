//! The GitHub Actions example (examples/ci/github-actions.yml) run against the testbed, as a
//! runner would run it: every `run:` script of its `plan` and `apply` jobs (all but the install
//! step: `fleet` is the binary under test, on PATH) with bash as GitHub calls it, in a git
//! repository holding a project on two testbed hosts, with a clean environment (HOME, PATH,
//! the step's `env:` given the values its secrets would have), `$GITHUB_STEP_SUMMARY` and
//! `$GITHUB_OUTPUT` as files per step, and a stub `gh` that keeps the pull request's comments
//! and logs every call. Checks the exit-code logic (2 = changes, 0 = none, 1 fails the job),
//! the summary, the one comment updated in place, and that the apply job converges.

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
case "$method $url" in
  "GET $comments")
    for f in "$dir"/comments/*; do
      jq -Rs --argjson id "$(basename "$f")" '{id: $id, body: .}' < "$f"
    done | jq -s . | jq -r "$jq_expr" ;;
  "POST $comments")
    id=$(( $(ls "$dir/comments" | sort -n | tail -n 1) + 1 ))
    cp "$body" "$dir/comments/$id"; echo "{\"id\": $id}" ;;
  "PATCH repos/$GITHUB_REPOSITORY/issues/comments/"*)
    id=${url##*/}
    [ -f "$dir/comments/$id" ] || { echo "gh: HTTP 404" >&2; exit 1; }
    cp "$body" "$dir/comments/$id"; echo "{\"id\": $id}" ;;
  *) echo "gh stub: unexpected $method $url" >&2; exit 1 ;;
esac
"#;

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
        std::fs::write(stub.join("gh"), GH_STUB).unwrap();
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
