//! fleet's age files against the real age CLI and ssh-keygen: what `age` encrypts fleet
//! decrypts, and what fleet encrypts `age -d` decrypts, for X25519 and SSH keys, binary and
//! armored. Needs `age`, `age-keygen` and `ssh-keygen` on PATH (scripts/test installs them);
//! without them the tests fail rather than skip, so CI cannot pass without interop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fleet::secrets::{Identities, decrypt, encrypt};

const PLAIN: &[u8] = b"db-password: correct horse battery staple\nsecond line \xe2\x9c\x93\n";

/// Runs a tool, failing the test with what to install when it is missing, and with its
/// stderr when it fails.
fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program}` ({e}): install the Debian packages `age` and `openssh-client` (scripts/test does)"
            )
        });
    assert!(
        output.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `age-keygen -o key.txt`; returns the key file and its recipient.
fn age_keygen(dir: &Path) -> (PathBuf, String) {
    run("age-keygen", &["-o", "key.txt"], dir);
    let path = dir.join("key.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen writes the public key in a comment")
        .to_string();
    (path, recipient)
}

/// `ssh-keygen -t KIND -N '' -f id`; returns the private key and the public key line.
fn ssh_keygen(dir: &Path, kind: &str) -> (PathBuf, String) {
    let mut args = vec![
        "-q",
        "-t",
        kind,
        "-N",
        "",
        "-C",
        "fleet-interop",
        "-f",
        "id",
    ];
    if kind == "rsa" {
        args.extend(["-b", "2048"]);
    }
    run("ssh-keygen", &args, dir);
    let public = std::fs::read_to_string(dir.join("id.pub")).unwrap();
    (dir.join("id"), public.trim().to_string())
}

fn plain_file(dir: &Path) {
    std::fs::write(dir.join("plain"), PLAIN).unwrap();
}

/// `age` encrypts (binary, then with `-a`), fleet decrypts.
fn age_encrypts_fleet_decrypts(dir: &Path, recipient_args: &[&str], identity: &Path) {
    plain_file(dir);
    let identities = Identities::from_files(&[identity.to_path_buf()]).unwrap();
    for armor in [false, true] {
        let mut args = recipient_args.to_vec();
        if armor {
            args.push("-a");
        }
        args.extend(["-o", "s.age", "plain"]);
        run("age", &args, dir);
        let ciphertext = std::fs::read(dir.join("s.age")).unwrap();
        assert_eq!(
            ciphertext.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
            armor,
            "age wrote the other format"
        );
        let plaintext = decrypt(&ciphertext, &identities)
            .unwrap_or_else(|e| panic!("fleet cannot decrypt age's file (armor: {armor}): {e}"));
        assert_eq!(plaintext, PLAIN, "armor: {armor}");
    }
}

/// fleet encrypts (binary, then armored), `age -d -i identity` decrypts.
fn fleet_encrypts_age_decrypts(dir: &Path, recipient: &str, identity: &Path) {
    for armor in [false, true] {
        let ciphertext = encrypt(PLAIN, &[recipient.to_string()], armor).unwrap();
        std::fs::write(dir.join("f.age"), &ciphertext).unwrap();
        let identity = identity.to_str().unwrap();
        let output = run("age", &["-d", "-i", identity, "f.age"], dir);
        assert_eq!(output.stdout, PLAIN, "armor: {armor}");
    }
}

#[test]
fn fleet_decrypts_what_age_encrypts_to_an_x25519_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, recipient) = age_keygen(dir.path());
    age_encrypts_fleet_decrypts(dir.path(), &["-r", &recipient], &key);
}

#[test]
fn age_decrypts_what_fleet_encrypts_to_an_x25519_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, recipient) = age_keygen(dir.path());
    fleet_encrypts_age_decrypts(dir.path(), &recipient, &key);
}

#[test]
fn fleet_decrypts_what_age_encrypts_to_an_ssh_ed25519_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = ssh_keygen(dir.path(), "ed25519");
    age_encrypts_fleet_decrypts(dir.path(), &["-R", "id.pub"], &key);
}

#[test]
fn age_decrypts_what_fleet_encrypts_to_an_ssh_ed25519_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = ssh_keygen(dir.path(), "ed25519");
    assert!(public.starts_with("ssh-ed25519 AAAA"), "{public}");
    fleet_encrypts_age_decrypts(dir.path(), &public, &key);
}

#[test]
fn ssh_rsa_keys_work_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = ssh_keygen(dir.path(), "rsa");
    assert!(public.starts_with("ssh-rsa AAAA"), "{public}");
    age_encrypts_fleet_decrypts(dir.path(), &["-R", "id.pub"], &key);
    fleet_encrypts_age_decrypts(dir.path(), &public, &key);
}

#[test]
fn a_file_age_encrypted_to_someone_else_names_its_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let (_, recipient) = age_keygen(dir.path());
    let (ssh_key, _) = ssh_keygen(dir.path(), "ed25519");
    plain_file(dir.path());
    run(
        "age",
        &["-r", &recipient, "-o", "s.age", "plain"],
        dir.path(),
    );
    let ciphertext = std::fs::read(dir.path().join("s.age")).unwrap();
    let identities = Identities::from_files(&[ssh_key]).unwrap();
    let error = decrypt(&ciphertext, &identities).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("X25519 recipient") && message.contains("ssh-ed25519 key"),
        "{message}"
    );
    assert!(!message.contains("correct horse"), "{message}");
}
