//! Deploys without a registry on real engines: an image built on "this machine" (fh1's engine,
//! through DOCKER_HOST, standing in for the engine of the machine running fleet) or saved as an
//! archive is shipped by fleet over SSH to the hosts that lack it, and runs there. Each test
//! builds its own image with a unique tag and random content, so no other host has it, and
//! removes it from every host at the end (no shared image is ever removed).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Cleanup, Output, Repo, Testbed, fleet_env, unique_project};

/// The engine standing in for the local one.
const LOCAL: usize = 1;

/// A unique image built on fh1 from the testbed's demo image, with `bytes` of random data in
/// a layer of its own; removed from `hosts` (and fh1) when dropped.
struct Image<'a> {
    testbed: &'a Testbed,
    tag: String,
    hosts: Vec<usize>,
}

impl<'a> Image<'a> {
    fn build(testbed: &'a Testbed, bytes: usize, hosts: &[usize]) -> Image<'a> {
        let tag = format!("{}:1", unique_project("fleet-ship"));
        let context = tempfile::tempdir().unwrap();
        let mut data = vec![0u8; bytes];
        let mut seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        for chunk in data.chunks_mut(8) {
            // xorshift: incompressible, and different on every build.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = chunk.len();
            chunk.copy_from_slice(&seed.to_le_bytes()[..n]);
        }
        std::fs::write(context.path().join("stamp"), &data).unwrap();
        std::fs::write(
            context.path().join("Dockerfile"),
            "FROM fleet-demo:1\nCOPY stamp /stamp\n",
        )
        .unwrap();
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", testbed.socket(LOCAL).display()))
            .args(["build", "-q", "-t", &tag])
            .arg(context.path())
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .expect("docker CLI");
        assert!(
            out.status.success(),
            "docker build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Image {
            testbed,
            tag,
            hosts: hosts.to_vec(),
        }
    }

    /// The image id on host `i`, `None` when it lacks the image.
    fn id_on(&self, i: usize) -> Option<String> {
        self.testbed
            .try_docker(i, &["image", "inspect", "--format", "{{.Id}}", &self.tag])
    }

    /// Puts the image on host `i` as an operator would (docker save | docker load).
    fn preload(&self, i: usize) {
        let socket = |h: usize| format!("unix://{}", self.testbed.socket(h).display());
        let mut save = Command::new("docker")
            .args(["-H", &socket(LOCAL), "save", &self.tag])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let load = Command::new("docker")
            .args(["-H", &socket(i), "load", "-q"])
            .stdin(save.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(save.wait().unwrap().success());
        assert!(
            load.status.success(),
            "{}",
            String::from_utf8_lossy(&load.stderr)
        );
    }
}

impl Drop for Image<'_> {
    fn drop(&mut self) {
        for &i in self.hosts.iter().chain([&LOCAL]) {
            let _ = self.testbed.try_docker(i, &["rmi", "-f", &self.tag]);
        }
    }
}

fn local_env(testbed: &Testbed) -> Vec<(&'static str, String)> {
    vec![
        (
            "FLEET_KNOWN_HOSTS",
            testbed.known_hosts().display().to_string(),
        ),
        (
            "DOCKER_HOST",
            format!("unix://{}", testbed.socket(LOCAL).display()),
        ),
    ]
}

fn run(testbed: &Testbed, dir: &Path, args: &[&str]) -> Output {
    let env = local_env(testbed);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fleet_env(dir, args, &env)
}

fn project_yaml(
    testbed: &Testbed,
    project: &str,
    hosts: &[usize],
    image: &str,
    source: &str,
    replicas: usize,
) -> String {
    format!(
        "project: {project}\n{}services:\n  web:\n    image: {image}\n    x-fleet: {{ image_source: {source} }}\n    deploy:\n      replicas: {replicas}\n      placement: {{ max_replicas_per_node: 1 }}\n",
        testbed.hosts_yaml(hosts)
    )
}

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(
        out.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

#[test]
fn an_image_built_here_runs_on_three_hosts_that_lack_it_and_a_host_that_has_it_is_skipped() {
    let testbed = Testbed::get();
    let hosts = [2, 3, 4, 5];
    let project = unique_project("ship");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let image = Image::build(&testbed, 2_000_000, &hosts);
    let local_id = image.id_on(LOCAL).expect("built on fh1");
    for i in hosts {
        assert_eq!(
            image.id_on(i),
            None,
            "fh{i} has the new image before the test"
        );
    }
    image.preload(5);
    let repo = Repo::new();
    repo.commit(&project_yaml(
        &testbed, &project, &hosts, &image.tag, "local", 4,
    ));

    let plan = run(&testbed, repo.path(), &["plan"]);
    assert_ok(&plan, "plan");
    assert!(
        plan.stdout.contains(&format!("ship image {} (", image.tag))
            && plan.stdout.contains(") to fh2, fh3, fh4\n"),
        "{}",
        plan.stdout
    );
    let json = run(&testbed, repo.path(), &["plan", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["ships"][0]["id"], local_id.as_str());
    assert_eq!(value["ships"][0]["present"], serde_json::json!(["fh5"]));

    let apply = run(
        &testbed,
        repo.path(),
        &["apply", "--yes", "--format", "json"],
    );
    assert_ok(&apply, "apply");
    let report: serde_json::Value = serde_json::from_str(&apply.stdout).unwrap();
    let mut shipped: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "ship")
        .map(|s| {
            assert_eq!(s["ok"], true, "{s}");
            s["host"].as_str().unwrap()
        })
        .collect();
    shipped.sort_unstable();
    assert_eq!(shipped, ["fh2", "fh3", "fh4"], "fh5 had it: skipped");
    assert!(
        !report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "pull"),
        "a shipped image is never pulled"
    );
    for i in hosts {
        assert_eq!(image.id_on(i).as_deref(), Some(local_id.as_str()), "fh{i}");
        assert_eq!(
            testbed.running(&[i], &project, Some("web")).len(),
            1,
            "fh{i}"
        );
    }
    let again = run(&testbed, repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[test]
fn an_archive_in_the_working_tree_is_shipped_and_a_missing_source_changes_nothing() {
    let testbed = Testbed::get();
    let hosts = [6];
    let project = unique_project("ship-tar");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let image = Image::build(&testbed, 500_000, &hosts);
    let repo = Repo::new();

    // Missing: an archive not written yet, then a tag the local engine lacks.
    repo.commit(&project_yaml(
        &testbed,
        &project,
        &hosts,
        &image.tag,
        "./images/web.tar",
        1,
    ));
    let out = run(&testbed, repo.path(), &["apply", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("fleet.yaml:")
            && out.stderr.contains("x-fleet.image_source")
            && out.stderr.contains("no such file"),
        "{}",
        out.stderr
    );
    let absent = format!("{}-absent", image.tag);
    repo.commit(&project_yaml(
        &testbed, &project, &hosts, &absent, "local", 1,
    ));
    let out = run(&testbed, repo.path(), &["apply", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("is not in the local engine"),
        "{}",
        out.stderr
    );
    assert!(testbed.running(&hosts, &project, None).is_empty());

    // The archive, saved in the working tree (not committed).
    std::fs::create_dir_all(repo.path().join("images")).unwrap();
    let save = Command::new("docker")
        .arg("-H")
        .arg(format!("unix://{}", testbed.socket(LOCAL).display()))
        .args(["save", "-o"])
        .arg(repo.path().join("images/web.tar"))
        .arg(&image.tag)
        .status()
        .unwrap();
    assert!(save.success());
    repo.commit(&project_yaml(
        &testbed,
        &project,
        &hosts,
        &image.tag,
        "./images/web.tar",
        1,
    ));
    let out = run(&testbed, repo.path(), &["apply", "--yes"]);
    assert_ok(&out, "apply from an archive");
    assert!(
        out.stdout.contains("from images/web.tar to fh6"),
        "{}",
        out.stdout
    );
    assert_eq!(image.id_on(6), image.id_on(LOCAL));
    assert_eq!(testbed.running(&hosts, &project, Some("web")).len(), 1);
}

#[test]
fn a_link_cut_during_the_stream_fails_that_host_only() {
    let testbed = Testbed::get();
    let hosts = [2, 9];
    let project = unique_project("ship-cut");
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let image = Image::build(&testbed, 150_000_000, &hosts);
    let repo = Repo::new();
    repo.commit(&project_yaml(
        &testbed, &project, &hosts, &image.tag, "local", 2,
    ));
    let env = local_env(&testbed);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .current_dir(repo.path())
        .args(["apply", "--yes", "--format", "json"])
        .env_remove("SSH_AUTH_SOCK")
        .env("FLEET_SSH_CONFIG", "/dev/null")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Progress lines go to stderr with --format json: cut fh9 once its stream has begun.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let started = Instant::now();
    let mut line = String::new();
    while !seen.contains("fh9: shipping") {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 || started.elapsed() > Duration::from_secs(120)
        {
            let _ = child.kill();
            panic!("fleet never started shipping to fh9:\n{seen}");
        }
        seen.push_str(&line);
    }
    std::thread::sleep(Duration::from_millis(300));
    let restore = testbed.inject("link-down", "link-up", 9);
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = child.wait().unwrap();
    let elapsed = started.elapsed();
    drop(restore);
    seen.push_str(&rest.join().unwrap());
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(1), "{seen}\n{stdout}");
    assert!(elapsed < Duration::from_secs(240), "took {elapsed:?}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect(&seen);
    assert_eq!(report["hosts"]["fh9"]["status"], "failed", "{stdout}");
    assert_eq!(report["hosts"]["fh2"]["status"], "ok", "{stdout}");
    let ship_to = |host: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "ship" && s["host"] == host)
            .map(|s| s["ok"].clone())
    };
    assert_eq!(ship_to("fh2"), Some(serde_json::json!(true)), "{stdout}");
    assert_eq!(
        ship_to("fh9"),
        Some(serde_json::json!(false)),
        "the cut fell during fh9's stream: {stdout}"
    );
    assert_ne!(
        image.id_on(9),
        image.id_on(LOCAL),
        "fh9 has no image loaded"
    );
    assert_eq!(image.id_on(2), image.id_on(LOCAL), "fh2 got the image");
    assert_eq!(testbed.running(&[2], &project, Some("web")).len(), 1);
    assert!(
        seen.contains("fh2: ok ship"),
        "fh2's shipping went through:\n{seen}"
    );
}
