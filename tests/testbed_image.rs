//! The project's Dockerfile, built on a testbed engine, runs `fleet validate` on a mounted
//! repository as its non-root user, on a base that holds nothing but glibc.
//!
//! What this proves and what it does not: the machine has no internet, so `rust:1-bookworm`
//! and `debian:bookworm-slim` cannot be pulled. The Dockerfile is built unchanged with two
//! stand-ins given as its build arguments: `BINARY`, an image holding the /out tree the
//! builder stage would make (this test's fleet binary, stripped, and the CA bundle), and `BASE`,
//! an image of exactly libc, libm, libgcc_s and the dynamic loader copied from this machine
//! (no libssl, no libz, no shell). So the final stage (copies, owner, user, environment,
//! entrypoint) and the binary's independence from libssl are proven; the `cargo build` of the
//! builder stage in the Rust image is not (scripts/test builds the same release binary on the
//! machine itself).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{Repo, Testbed, unique_project};

/// The only shared objects the stand-in base has: glibc's.
const GLIBC: [(&str, &str); 4] = [
    ("/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu"),
    ("/lib/x86_64-linux-gnu/libm.so.6", "lib/x86_64-linux-gnu"),
    (
        "/lib/x86_64-linux-gnu/libgcc_s.so.1",
        "lib/x86_64-linux-gnu",
    ),
    ("/lib64/ld-linux-x86-64.so.2", "lib64"),
];

/// A docker CLI that builds with BuildKit, which builds only the stages the image uses (the
/// legacy builder would run the builder stage, which needs the Rust image): Debian's docker.io
/// CLI (20.10, BuildKit built in, installed by testbed.sh) or any `docker` with buildx.
fn buildkit_cli() -> String {
    let buildx = Command::new("docker")
        .args(["buildx", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if buildx {
        return "docker".into();
    }
    let debian = "/usr/bin/docker";
    assert!(
        Path::new(debian).exists(),
        "BuildKit is needed: install docker.io (testbed/testbed.sh install does) or docker buildx"
    );
    debian.into()
}

struct Engine<'a> {
    cli: String,
    socket: &'a Path,
    /// The images this test made, removed at the end (only those).
    made: std::cell::RefCell<Vec<String>>,
}

impl Engine<'_> {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.cli)
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .env("DOCKER_BUILDKIT", "1")
            .output()
            .expect("docker CLI")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn build(&self, tag: &str, context: &Path, extra: &[&str]) {
        self.made.borrow_mut().push(tag.to_owned());
        let mut args = vec!["build", "-q", "-t", tag];
        args.extend_from_slice(extra);
        args.push(context.to_str().unwrap());
        self.ok(&args);
    }
}

impl Drop for Engine<'_> {
    fn drop(&mut self) {
        for tag in self.made.borrow().iter().rev() {
            let _ = self.run(&["rmi", "-f", tag]);
        }
    }
}

fn copy_into(from: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let to = dir.join(from.file_name().unwrap());
    // fs::copy follows symlinks: the stand-in gets the files, not dangling links.
    std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

/// The stand-ins' build contexts: `base/` (glibc only) and `binary/` (the /out tree).
fn stand_ins(work: &Path) {
    let base = work.join("base");
    for (file, dir) in GLIBC {
        copy_into(Path::new(file), &base.join("root").join(dir));
    }
    std::fs::write(base.join("Dockerfile"), "FROM scratch\nCOPY root/ /\n").unwrap();

    let out = work.join("binary/out");
    let bin = out.join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    // Stripped: the debug binary is a quarter of a gigabyte of debug information.
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(bin.join("fleet"))
        .arg(env!("CARGO_BIN_EXE_fleet"))
        .status()
        .expect("strip (binutils) is installed where cargo links");
    assert!(stripped.success(), "strip failed");
    copy_into(
        Path::new("/etc/ssl/certs/ca-certificates.crt"),
        &out.join("etc/ssl/certs"),
    );
    std::fs::create_dir_all(out.join("home/fleet")).unwrap();
    std::fs::write(
        out.join("home/fleet/.gitconfig"),
        "[safe]\n\tdirectory = *\n",
    )
    .unwrap();
    std::fs::write(
        work.join("binary/Dockerfile"),
        "FROM scratch\nCOPY out/ /out/\n",
    )
    .unwrap();
}

const VALID: &str = "project: imagetest\nhosts:\n  a: { address: ssh://root@10.250.1.2 }\nservices:\n  web:\n    image: nginx:1.27\n    deploy: { replicas: 2 }\n";

const INVALID: &str = "project: imagetest\nhosts:\n  a: { address: ssh://root@10.250.1.2 }\nservices:\n  web:\n    image: nginx:1.27\n    deploy: { replicas: two }\n";

#[test]
fn the_image_builds_from_the_dockerfile_and_validates_a_project_as_a_non_root_user() {
    let testbed = Testbed::get();
    let socket = testbed.socket(1);
    let engine = Engine {
        cli: buildkit_cli(),
        socket: &socket,
        made: Default::default(),
    };
    let name = unique_project("fleet-image");
    let work = tempfile::tempdir().unwrap();
    stand_ins(work.path());
    let (base, binary, image) = (
        format!("{name}-base:test"),
        format!("{name}-binary:test"),
        format!("{name}:test"),
    );
    engine.build(&base, &work.path().join("base"), &[]);
    engine.build(&binary, &work.path().join("binary"), &[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    engine.build(
        &image,
        root,
        &[
            "--build-arg",
            &format!("BASE={base}"),
            "--build-arg",
            &format!("BINARY={binary}"),
        ],
    );

    let config = engine.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{json .Config.Entrypoint}} {{range .Config.Env}}{{.}} {{end}}",
        &image,
    ]);
    assert!(
        config.starts_with("10001:10001 [\"fleet\"] "),
        "user and entrypoint: {config}"
    );
    assert!(config.contains("HOME=/home/fleet"), "{config}");

    // A repository owned by root, as a CI workspace is owned by the runner: the container's
    // user (10001) reads it through the image's safe.directory.
    let repo = Repo::new();
    repo.commit(VALID);
    std::fs::set_permissions(repo.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mount = format!("{}:/work:ro", repo.path().display());
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "-v", &mount, "-w", "/work", &image];
        all.extend_from_slice(args);
        engine.run(&all)
    };

    let out = run(&["validate"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("Valid"), "{stdout}\n{stderr}");
    assert!(stderr.starts_with("Reading commit"), "{stderr}");

    // And it is really fleet checking: a bad value gets file:line:col and exit 1.
    repo.commit(INVALID);
    let out = run(&["validate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fleet.yaml:7:"), "{stderr}");

    let out = run(&["version", "--format", "json"]);
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["target"], "x86_64-unknown-linux-gnu");
}
