//! `fleet secret` as a user runs it, checked with the `age` command-line tool: what fleet
//! encrypts, age decrypts, and no value ever reaches fleet's output.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const VALUE: &str = "s3cret-value-4417";

/// fleet with this HOME (its identity lives there), a value on stdin.
fn fleet(
    dir: &Path,
    home: &Path,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .current_dir(dir)
        .args(args)
        .env("HOME", home)
        .env_remove("FLEET_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("TERM", "dumb")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(VALUE), "a value was printed: {text}");
    (out.status.code().unwrap_or(-1), text)
}

fn age_decrypt(key: &Path, file: &Path) -> String {
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(key)
        .arg(file)
        .output()
        .expect("the `age` CLI (Debian package `age`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn init_set_ls_edit_and_rotate_interoperate_with_age() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, recipient) = fleet(dir.path(), home.path(), &["secret", "init"], "", &[]);
    assert_eq!(code, 0, "{recipient}");
    let recipient = recipient.lines().next().unwrap().trim().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");
    let key = home.path().join(".config/fleet/age/keys.txt");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (code, text) = fleet(dir.path(), home.path(), &["secret", "init"], "", &[]);
    assert_eq!(code, 1, "an identity is never overwritten: {text}");

    // Without recipients there is nothing to encrypt to.
    std::fs::write(dir.path().join("fleet.yaml"), "project: shop\n").unwrap();
    let (code, text) = fleet(
        dir.path(),
        home.path(),
        &["secret", "set", "db"],
        VALUE,
        &[],
    );
    assert_eq!(code, 1);
    assert!(text.contains("secrets_recipients"), "{text}");

    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!("project: shop\nsecrets_recipients: [{recipient}]\n"),
    )
    .unwrap();
    let (code, text) = fleet(
        dir.path(),
        home.path(),
        &["secret", "set", "db"],
        VALUE,
        &[],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("db: { file: secrets/db.age }"),
        "says how to declare it: {text}"
    );
    let file = dir.path().join("secrets/db.age");
    assert_eq!(age_decrypt(&key, &file), VALUE);

    // Declared and mounted now: ls says where and for whom, never what.
    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!("project: shop\nsecrets_recipients: [{recipient}]\nsecrets:\n  db: {{ file: secrets/db.age }}\nservices:\n  api: {{ image: api:1, secrets: [db] }}\n"),
    )
    .unwrap();
    let (code, text) = fleet(dir.path(), home.path(), &["secret", "ls"], "", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("db  secrets/db.age  encrypted to X25519 recipient  mounted by api"),
        "{text}"
    );

    // Edited in "$EDITOR": decrypted to a private file, encrypted again.
    let editor = "sh -c 'printf edited-9931 > \"$0\"'";
    let (code, text) = fleet(
        dir.path(),
        home.path(),
        &["secret", "edit", "db"],
        "",
        &[("EDITOR", editor), ("VISUAL", "")],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(age_decrypt(&key, &file), "edited-9931");

    // A second recipient: rotate encrypts every secret to both.
    let other = home.path().join("other.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success());
    let other_recipient = std::fs::read_to_string(&other)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_string))
        .unwrap();
    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!("project: shop\nsecrets_recipients: [{recipient}, {other_recipient}]\nsecrets:\n  db: {{ file: secrets/db.age }}\n"),
    )
    .unwrap();
    let (code, text) = fleet(dir.path(), home.path(), &["secret", "rotate"], "", &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(age_decrypt(&other, &file), "edited-9931");
    assert_eq!(age_decrypt(&key, &file), "edited-9931");
}
