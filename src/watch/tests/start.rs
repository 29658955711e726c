//! Starting: a daemon that cannot read its source at start stops with the error; one that could
//! keeps running through later read failures and invalid commits, and says which commit it
//! holds meanwhile.

use super::*;
use crate::watch::state::TipErrorKind;

/// Runs a daemon on `dir` with no hosts until it returns (at most 10 s of simulated time).
async fn run_on(dir: &Path) -> Option<Result<(), Unreadable>> {
    let (triggers, receiver) = mpsc::channel(16);
    let (_shutdown, shutdown_rx) = watch::channel(false);
    let daemon = Daemon::new(
        settings(dir, BTreeMap::new()),
        Arc::new(Shared::default()),
        triggers,
        Arc::new(AtomicBool::new(false)),
    );
    tokio::time::timeout(Duration::from_secs(10), daemon.run(receiver, shutdown_rx))
        .await
        .ok()
}

#[tokio::test(start_paused = true)]
async fn a_daemon_started_outside_a_repository_exits_with_the_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let Some(Err(error)) = run_on(dir.path()).await else {
        panic!("the daemon should stop at once when there is no repository");
    };
    assert!(
        error.message.contains("repository"),
        "says what is wrong: {error:?}"
    );
    assert!(error.hint.is_some(), "and what to do: {error:?}");
}

#[tokio::test(start_paused = true)]
async fn a_daemon_started_on_a_commit_without_fleet_yaml_exits_with_the_error() {
    let repo = Repo::new();
    let blob = repo.repo.blob(b"hello").expect("blob");
    let mut tree = repo.repo.treebuilder(None).expect("tree builder");
    tree.insert("README", blob, 0o100644).expect("tree entry");
    let tree = repo
        .repo
        .find_tree(tree.write().expect("tree"))
        .expect("tree");
    let me = git2::Signature::now("test", "test@example.com").expect("signature");
    repo.repo
        .commit(Some("HEAD"), &me, &me, "readme", &tree, &[])
        .expect("commit");
    let Some(Err(error)) = run_on(repo.path()).await else {
        panic!("the daemon should stop at once when the commit has no fleet.yaml");
    };
    assert!(error.message.contains("no fleet.yaml"), "{error:?}");
    assert!(error.hint.is_some(), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn an_invalid_first_commit_is_waited_out_and_logged_with_no_commit_held_yet() {
    let (logs, _guard) = Logs::capture();
    let repo = Repo::new();
    let bad = repo.commit("project: shop\nservices: 3\n");
    let (triggers, receiver) = mpsc::channel(16);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let shared = Arc::new(Shared::default());
    let daemon = Daemon::new(
        settings(repo.path(), BTreeMap::new()),
        Arc::clone(&shared),
        triggers,
        Arc::new(AtomicBool::new(false)),
    );
    let daemon = tokio::spawn(daemon.run(receiver, shutdown_rx));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        !daemon.is_finished(),
        "a bad commit is waited out, not fatal"
    );
    assert_eq!(
        shared.status().tip_error.map(|e| e.kind),
        Some(TipErrorKind::Invalid)
    );
    let lines = logs.lines_with(&["the new commit is invalid", &bad[..12]]);
    assert!(
        lines.len() == 1 && lines[0].contains("held=none yet"),
        "{}",
        logs.text()
    );
    let _ = shutdown.send(true);
    let stopped = tokio::time::timeout(Duration::from_secs(30), daemon)
        .await
        .expect("stops")
        .expect("no panic");
    assert_eq!(stopped, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn a_refused_commit_is_logged_with_the_commit_actually_held() {
    let hosts = ["a"];
    let fleet = Fleet::start(
        &hosts,
        &[("web:1", Behaviour::Serves)],
        &fleet_yaml(&hosts, "web:1", 1, ""),
    )
    .await;
    let held = fleet.status().applied_commit.expect("applied");
    let (logs, _guard) = Logs::capture();
    let bad = fleet.commit("project: shop\nservices: 3\n").await;
    fleet
        .until("the invalid commit is seen", Duration::from_secs(5), |f| {
            f.status()
                .tip_error
                .is_some_and(|e| e.commit.as_deref() == Some(bad.as_str()))
        })
        .await;
    let lines = logs.lines_with(&["the new commit is invalid"]);
    assert_eq!(lines.len(), 1, "{}", logs.text());
    assert!(
        lines[0].contains(&format!("commit={}", &bad[..12]))
            && lines[0].contains(&format!("held={}", &held[..12])),
        "names the refused commit and the one held: {}",
        lines[0]
    );
    fleet.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_repository_unreadable_after_start_keeps_the_last_good_state() {
    let hosts = ["a"];
    let fleet = Fleet::start(
        &hosts,
        &[("web:1", Behaviour::Serves)],
        &fleet_yaml(&hosts, "web:1", 1, ""),
    )
    .await;
    let held = fleet.status().applied_commit;
    std::fs::remove_dir_all(fleet.repo.path().join(".git")).expect("remove .git");
    fleet
        .triggers
        .send(Trigger::Webhook)
        .await
        .expect("the daemon runs");
    fleet
        .until("the failed read is counted", Duration::from_secs(5), |f| {
            f.metrics().failures.get("source") == Some(&1)
        })
        .await;
    fleet
        .holds("running the held commit", Duration::from_secs(70), |f| {
            !f.daemon.is_finished() && f.status().applied_commit == held && f.running().len() == 1
        })
        .await;
    fleet.stop().await;
}
