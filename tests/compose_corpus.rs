//! Real compose files as users bring them (`tests/corpus/`, each collection with its source and
//! licence): each is included by a two-line fleet.yaml and validated by the real binary. What
//! fleet says of each file is a snapshot (`tests/snapshots/compose_corpus__*.snap`), so a change
//! in what fleet accepts or how it words a refusal shows as a reviewed diff.

mod common;

use std::path::{Path, PathBuf};

use common::fleet;

const HOSTS: &str = "hosts:
  a: { address: ssh://a.example }
  b: { address: ssh://b.example }
  c: { address: ssh://c.example }
";

/// Every folder holding a `compose.yaml` under `tests/corpus/`.
fn samples() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n == "compose.yaml") {
                out.push(path.parent().unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
        &mut out,
    );
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// What `fleet validate --worktree` says of one sample: its exit code and every line.
fn validate(sample: &Path) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(sample, &dir.path().join("app"));
    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!("project: corpus\n{HOSTS}include: [app/compose.yaml]\n"),
    )
    .unwrap();
    let out = fleet(dir.path(), &["validate", "--worktree"]);
    let text = format!("exit {}\n{}{}", out.code, out.stdout, out.stderr);
    (
        out.code,
        text.replace(&dir.path().display().to_string(), "$DIR"),
    )
}

#[test]
fn every_corpus_file_validates_or_is_refused_with_reasons() {
    let samples = samples();
    assert!(samples.len() >= 30, "corpus not found: {samples:?}");
    let mut valid = 0;
    for sample in &samples {
        let (code, text) = validate(sample);
        assert!(
            code == 0 || code == 1,
            "{}: exit {code} (a crash?)\n{text}",
            sample.display()
        );
        if code == 0 {
            valid += 1;
        }
        let name = sample
            .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"))
            .unwrap()
            .display()
            .to_string()
            .replace('/', "__");
        insta::assert_snapshot!(name, text);
    }
    eprintln!("{valid} of {} corpus files validate", samples.len());
}
