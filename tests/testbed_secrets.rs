//! Secrets encrypted with the `age` command-line tool, deployed by fleet to real hosts: each
//! replica reads it at /run/secrets with the mode and owner asked for, it is in no label,
//! environment or output of any command, a saved plan is private, a changed secret rolls the
//! service, and a machine without a key changes nothing. Config files and repository
//! directories travel the same way.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{Cleanup, Output, Repo, Testbed, fleet_env, unique_project};

const PLAINTEXT: &str = "hunter2-correct-horse-battery";
const ROTATED: &str = "rotated-staple-9f3b2c1d";

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (Debian package `age`): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Encrypts `text` with the age CLI to `recipient`, into `path`.
fn age_encrypt(recipient: &str, text: &str, path: &Path) {
    let plain = path.with_extension("plain");
    std::fs::write(&plain, text).unwrap();
    run(
        "age",
        &[
            "-r",
            recipient,
            "-o",
            path.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(plain).unwrap();
}

struct Project {
    testbed: Testbed,
    repo: Repo,
    home: tempfile::TempDir,
    key: String,
    recipient: String,
}

impl Project {
    fn new(testbed: Testbed, yaml: &str) -> Project {
        let home = tempfile::tempdir().unwrap();
        let key = home.path().join("key.txt");
        run("age-keygen", &["-o", key.to_str().unwrap()]);
        let text = std::fs::read_to_string(&key).unwrap();
        let recipient = text
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string();
        let repo = Repo::new();
        std::fs::create_dir_all(repo.path().join("secrets")).unwrap();
        age_encrypt(
            &recipient,
            PLAINTEXT,
            &repo.path().join("secrets/db_password.age"),
        );
        repo.write("conf/app.conf", "greeting = hello\n");
        repo.write("static/css/site.css", "body { margin: 0 }\n");
        repo.commit(yaml);
        Project {
            testbed,
            repo,
            key: key.to_str().unwrap().to_string(),
            recipient,
            home,
        }
    }

    /// fleet with the key in FLEET_AGE_KEY_FILE (`with_key`) or no key at all.
    fn fleet(&self, args: &[&str], with_key: bool) -> Output {
        let known = self.testbed.known_hosts();
        let home = self.home.path().to_str().unwrap();
        let key = if with_key { self.key.as_str() } else { "" };
        fleet_env(
            self.repo.path(),
            args,
            &[
                ("FLEET_KNOWN_HOSTS", known.to_str().unwrap()),
                ("HOME", home),
                ("FLEET_AGE_KEY_FILE", key),
            ],
        )
    }
}

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(
        out.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

fn assert_no_secret(text: &str, what: &str) {
    for secret in [PLAINTEXT, ROTATED] {
        assert!(!text.contains(secret), "{what} shows the secret:\n{text}");
    }
}

#[test]
fn an_age_encrypted_secret_reaches_every_replica_and_nothing_else() {
    let testbed = Testbed::get();
    let project = unique_project("secrets");
    let hosts = [1, 2];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let yaml = format!(
        "project: {project}\n{}secrets:\n  db_password: {{ file: secrets/db_password.age }}\nconfigs:\n  app_conf: {{ file: conf/app.conf }}\nservices:\n  web:\n    image: fleet-demo:1\n    environment: {{ MODE: demo }}\n    deploy: {{ replicas: 2, placement: {{ max_replicas_per_node: 1 }} }}\n    secrets:\n      - {{ source: db_password, mode: 0440, uid: '1000', gid: '1000' }}\n    configs:\n      - {{ source: app_conf, target: /etc/app.conf }}\n    volumes: ['./static:/srv/static:ro']\n",
        testbed.hosts_yaml(&hosts)
    );
    let p = Project::new(Testbed::get(), &yaml);
    let testbed = &p.testbed;

    // No key on this machine: an error naming the file, nothing changed.
    let refused = p.fleet(&["apply", "--yes"], false);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("secrets/db_password.age")
            && refused.stderr.contains("X25519 recipient"),
        "names the file and who it is for:\n{}",
        refused.stderr
    );
    assert!(testbed.running(&hosts, &project, None).is_empty());

    // A saved plan is private and holds no secret.
    let plan_file = p.home.path().join("plan.json");
    let plan = p.fleet(&["plan", "--out", plan_file.to_str().unwrap()], true);
    assert_ok(&plan, "plan");
    let mode = std::fs::metadata(&plan_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the saved plan is readable by its owner only");
    assert_no_secret(
        &std::fs::read_to_string(&plan_file).unwrap(),
        "the plan file",
    );

    let applied = p.fleet(&["apply", "--yes"], true);
    assert_ok(&applied, "apply");
    let running = testbed.running(&hosts, &project, None);
    assert_eq!(running.len(), 2, "{running:?}");
    for (host, name) in &running {
        let read = testbed.docker(*host, &["exec", name, "cat", "/run/secrets/db_password"]);
        assert_eq!(read, PLAINTEXT);
        let stat = testbed.docker(
            *host,
            &[
                "exec",
                name,
                "stat",
                "-c",
                "%a %u %g",
                "/run/secrets/db_password",
            ],
        );
        assert_eq!(stat.trim(), "440 1000 1000");
        // Its owner reads it in the container, though its directory on the host is root's.
        let as_owner = testbed.docker(
            *host,
            &[
                "exec",
                "-u",
                "1000",
                name,
                "cat",
                "/run/secrets/db_password",
            ],
        );
        assert_eq!(as_owner, PLAINTEXT);
        let conf = testbed.docker(*host, &["exec", name, "cat", "/etc/app.conf"]);
        assert_eq!(conf.trim_end(), "greeting = hello");
        // A repository directory, shipped and bound read-only.
        let css = testbed.docker(*host, &["exec", name, "cat", "/srv/static/css/site.css"]);
        assert_eq!(css.trim_end(), "body { margin: 0 }");
        assert!(
            testbed
                .try_docker(*host, &["exec", name, "touch", "/srv/static/new"])
                .is_none(),
            "read-only"
        );
        assert_no_secret(&testbed.docker(*host, &["inspect", name]), "docker inspect");
        assert_no_secret(
            &testbed.docker(*host, &["exec", name, "env"]),
            "the environment",
        );
    }

    // On the host, only root may enter the directory holding the secret.
    for set in std::fs::read_dir(format!("/run/fleet/{project}/web")).unwrap() {
        let mode = set.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the secret's directory is root's alone");
    }

    // Every command's output, in every format.
    for args in [
        &["validate"][..],
        &["validate", "--format", "json"],
        &["config"],
        &["config", "--format", "json"],
        &["plan"],
        &["plan", "--format", "json"],
        &["plan", "--format", "markdown"],
        &["status"],
        &["status", "--format", "json"],
        &["hosts"],
        &["apply", "--yes"],
        &["apply", "--yes", "--format", "json"],
    ] {
        let out = p.fleet(args, true);
        assert_no_secret(&out.stdout, &format!("stdout of {args:?}"));
        assert_no_secret(&out.stderr, &format!("stderr of {args:?}"));
    }

    // A new value, encrypted with the CLI again: the plan names it, the service rolls.
    age_encrypt(
        &p.recipient,
        ROTATED,
        &p.repo.path().join("secrets/db_password.age"),
    );
    p.repo.commit_all("rotate the database password");
    let plan = p.fleet(&["plan"], true);
    assert_ok(&plan, "plan of the rotation");
    assert!(
        plan.stdout.contains("secret db_password changed"),
        "{}",
        plan.stdout
    );
    assert_no_secret(&plan.stdout, "the rotation plan");
    let rolled = p.fleet(&["apply", "--yes"], true);
    assert_ok(&rolled, "apply of the rotation");
    assert!(rolled.stdout.contains("2 replaced"), "{}", rolled.stdout);
    for (host, name) in testbed.running(&hosts, &project, None) {
        let read = testbed.docker(host, &["exec", &name, "cat", "/run/secrets/db_password"]);
        assert_eq!(read, ROTATED);
    }
    // The old value is gone from the hosts (the testbed's hosts share this machine's /run):
    // every old copy is blanked, and only the current one holds a value.
    let mut values = Vec::new();
    for set in std::fs::read_dir(format!("/run/fleet/{project}/web")).unwrap() {
        let file = set.unwrap().path().join("0-db_password");
        values.push(std::fs::read_to_string(file).unwrap());
    }
    values.sort();
    assert_eq!(
        values,
        ["", ROTATED],
        "one old (blanked) set and the current one"
    );
}

/// A reboot, as far as secrets go: the engine restarts and /run is empty. The daemon writes
/// the secret again and the replica comes back healthy, reading it.
#[test]
fn after_an_engine_restart_with_the_secrets_gone_fleet_watch_restores_them() {
    use common::watch::{Watch, converged_at};
    let testbed = Testbed::get();
    let project = unique_project("secretboot");
    let host = 6;
    let _cleanup = Cleanup::of(&testbed, &[host], &project);
    let repo = Repo::new();
    // A plain secret file (no key needed by the daemon): delivery is the same.
    repo.write("token.txt", PLAINTEXT);
    repo.commit(&format!(
        "project: {project}\n{}secrets:\n  token: {{ file: token.txt }}\nservices:\n  web:\n    image: fleet-demo:1\n    restart: unless-stopped\n    secrets: [token]\n    healthcheck:\n      test: ['CMD', 'sh', '-c', 'test -s /run/secrets/token && wget -qO- http://127.0.0.1:8080/']\n      interval: 1s\n      timeout: 1s\n      retries: 2\n",
        testbed.hosts_yaml(&[host])
    ));
    let watch = Watch::start(&testbed, &repo, 18731, &[]);
    watch.wait_for(
        "the first convergence",
        std::time::Duration::from_secs(60),
        |s| converged_at(s, 1),
    );
    let running = testbed.running(&[host], &project, None);
    assert_eq!(running.len(), 1);
    let read = |name: &str| testbed.try_docker(host, &["exec", name, "cat", "/run/secrets/token"]);
    assert_eq!(read(&running[0].1).as_deref(), Some(PLAINTEXT));

    testbed.fault(&["dockerd-stop", &host.to_string()]);
    std::fs::remove_dir_all(format!("/run/fleet/{project}")).unwrap();
    testbed.fault(&["dockerd-start", &host.to_string()]);

    let start = std::time::Instant::now();
    loop {
        let back = testbed
            .running(&[host], &project, None)
            .into_iter()
            .find_map(|(_, name)| read(&name));
        if back.as_deref() == Some(PLAINTEXT) {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(90),
            "the secret did not come back\nlog:\n{}",
            watch.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    watch.wait_for(
        "convergence after the restart",
        std::time::Duration::from_secs(60),
        |s| converged_at(s, 1),
    );
    assert_no_secret(&watch.log(), "the daemon's log");
}

/// For images that read a secret only from their environment: asked for by name, it is in the
/// container's environment and still in no label and no output.
#[test]
fn env_from_secrets_sets_the_variable_and_nothing_else_shows_it() {
    let testbed = Testbed::get();
    let project = unique_project("secretenv");
    let hosts = [3];
    let _cleanup = Cleanup::of(&testbed, &hosts, &project);
    let yaml = format!(
        "project: {project}\n{}secrets:\n  db_password: {{ file: secrets/db_password.age }}\nservices:\n  api:\n    image: fleet-demo:1\n    x-fleet:\n      env_from_secrets: {{ DATABASE_PASS: db_password }}\n",
        testbed.hosts_yaml(&hosts)
    );
    let p = Project::new(Testbed::get(), &yaml);
    let applied = p.fleet(&["apply", "--yes"], true);
    assert_ok(&applied, "apply");
    assert_no_secret(&applied.stdout, "apply");
    let running = testbed.running(&hosts, &project, None);
    assert_eq!(running.len(), 1);
    let (host, name) = &running[0];
    let env = testbed.docker(*host, &["exec", name, "env"]);
    assert!(env.contains(&format!("DATABASE_PASS={PLAINTEXT}")), "{env}");
    let labels = testbed.docker(
        *host,
        &["inspect", "--format", "{{json .Config.Labels}}", name],
    );
    assert_no_secret(&labels, "the labels");
    for args in [&["plan"][..], &["plan", "--format", "json"], &["config"]] {
        let out = p.fleet(args, true);
        assert_no_secret(&out.stdout, &format!("{args:?}"));
    }
}
