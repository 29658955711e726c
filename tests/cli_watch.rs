//! `fleet watch` as a supervisor starts it: pointed where there is no desired state to read, it
//! exits 1 with the error at once instead of running forever.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Repo;

/// Runs `fleet watch` in `dir`; its exit code and stderr, or a failure when it is still running
/// after 20 s (the bug this guards against: it ran forever).
fn watch_exits(dir: &Path) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .current_dir(dir)
        .args(["watch", "--listen", "127.0.0.1:0", "--color", "never"])
        .env("FLEET_SSH_CONFIG", "/dev/null")
        .env("TERM", "dumb")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fleet");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
                .expect("read stderr");
            return (status.code().unwrap_or(-1), stderr);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fleet watch still runs after 20 s although it cannot read its desired state");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn watch_outside_a_git_repository_exits_1_with_the_error_and_a_hint() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (code, stderr) = watch_exits(dir.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error: cannot read the desired state at start: `.` is not inside a git repository\nhint: "),
        "{stderr}"
    );
}

#[test]
fn watch_on_a_commit_without_fleet_yaml_exits_1_with_the_error_and_a_hint() {
    let repo = Repo::new();
    repo.write("README", "not a fleet project\n");
    let commit = repo.commit_all("readme");
    let (code, stderr) = watch_exits(repo.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot read the desired state at start: no fleet.yaml at the project root of commit {}\nhint: ",
            &commit[..12]
        )),
        "{stderr}"
    );
}
