//! Certificates of routed services as a user meets them: `fleet validate` checks each against
//! its host names, its key and the clock (once decrypted, with this machine's identity), names
//! the dates and names it has, and prints no key. `fleet secret ca` makes and shows the CA.

use std::path::Path;
use std::process::Command;

const DAY: i64 = 24 * 3600;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Project {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    recipient: String,
}

impl Project {
    fn new() -> Project {
        let home = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut p = Project {
            dir,
            home,
            recipient: String::new(),
        };
        let (code, out, _) = p.fleet(&["secret", "init"]);
        assert_eq!(code, 0);
        p.recipient = out.trim().to_string();
        p
    }

    fn fleet(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
            .current_dir(self.dir.path())
            .args(args)
            .env("HOME", self.home.path())
            .env_remove("FLEET_AGE_KEY_FILE")
            .env_remove("SOPS_AGE_KEY_FILE")
            .env("TERM", "dumb")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn write(&self, path: &str, content: &[u8]) {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    fn secret(&self, name: &str, value: &[u8]) {
        let bytes =
            fleet::secrets::encrypt(value, std::slice::from_ref(&self.recipient), true).unwrap();
        self.write(&format!("secrets/{name}.age"), &bytes);
    }

    fn state(&self, hosts: &str) {
        let yaml = format!(
            "project: shop\nsecrets_recipients: [{}]\nsecrets:\n  crt: {{ file: secrets/crt.age }}\n  key: {{ file: secrets/key.age }}\nservices:\n  web:\n    image: nginx:alpine\n    x-fleet:\n      expose:\n        port: 80\n        hosts: [{hosts}]\n        tls: {{ certificate: crt, key: key }}\n",
            self.recipient
        );
        self.write("fleet.yaml", yaml.as_bytes());
    }
}

/// A certificate for `names` valid from `from` to `until` (unix seconds), from a throwaway CA.
fn certificate(names: &[&str], from: i64, until: i64) -> (String, String) {
    let (ca, ca_key) = fleet::tls::new_ca("test CA", now() - 400 * DAY).unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let (cert, key) = fleet::tls::issue(&ca, &ca_key, &names, &[7, 1], from, until).unwrap();
    (cert, key.to_string())
}

fn key_body(key: &str) -> String {
    key.lines().nth(1).unwrap().to_string()
}

fn assert_no_key(text: &str, key: &str) {
    assert!(
        !text.contains(&key_body(key)),
        "a private key was printed: {text}"
    );
    assert!(!text.contains("PRIVATE KEY-----\n"), "{text}");
}

#[test]
fn a_certificate_that_covers_its_names_and_is_valid_passes() {
    let p = Project::new();
    let (cert, key) = certificate(
        &["shop.example.com", "*.shop.example.com"],
        now() - DAY,
        now() + 60 * DAY,
    );
    p.secret("crt", cert.as_bytes());
    p.secret("key", key.as_bytes());
    p.state("shop.example.com, www.shop.example.com");
    let (code, out, err) = p.fleet(&["validate", "--worktree"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_no_key(&format!("{out}{err}"), &key);
}

#[test]
fn an_expired_certificate_is_refused_with_its_dates_at_the_tls_line() {
    let p = Project::new();
    let (cert, key) = certificate(&["shop.example.com"], now() - 100 * DAY, now() - 10 * DAY);
    p.secret("crt", cert.as_bytes());
    p.secret("key", key.as_bytes());
    p.state("shop.example.com");
    let (code, out, err) = p.fleet(&["validate", "--worktree"]);
    assert_eq!(code, 1, "{out}{err}");
    let expired = fleet::clock::rfc3339((now() - 10 * DAY) as u64);
    assert!(
        err.contains("fleet.yaml:13:14: error: services.web.x-fleet.expose.tls: certificate `crt` has expired (it is for shop.example.com, valid from"),
        "{err}"
    );
    assert!(err.contains(&format!("until {}", &expired[..10])), "{err}");
    assert_no_key(&format!("{out}{err}"), &key);
}

#[test]
fn a_certificate_for_other_names_or_another_key_is_refused() {
    let p = Project::new();
    let (cert, key) = certificate(&["shop.example.com"], now() - DAY, now() + 60 * DAY);
    let (_, other_key) = certificate(&["shop.example.com"], now() - DAY, now() + 60 * DAY);
    p.secret("crt", cert.as_bytes());
    p.secret("key", key.as_bytes());
    p.state("shop.example.com, api.example.com, a.b.shop.example.com");
    let (code, _, err) = p.fleet(&["validate", "--worktree"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("certificate `crt` does not cover api.example.com, a.b.shop.example.com (it is for shop.example.com"),
        "{err}"
    );

    p.secret("key", other_key.as_bytes());
    p.state("shop.example.com");
    let (code, out, err) = p.fleet(&["validate", "--worktree", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = &report["diagnostics"][0];
    assert_eq!(d["field"], "services.web.x-fleet.expose.tls");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(13), Some(14))
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("does not belong to the certificate"),
        "{d}"
    );
    assert_no_key(&format!("{out}{err}"), &other_key);
    assert_no_key(&format!("{out}{err}"), &key);
}

#[test]
fn without_an_identity_certificates_are_not_checked_and_strict_still_passes() {
    let p = Project::new();
    let (cert, key) = certificate(&["shop.example.com"], now() - 100 * DAY, now() - 10 * DAY);
    p.secret("crt", cert.as_bytes());
    p.secret("key", key.as_bytes());
    p.state("shop.example.com");
    std::fs::remove_file(p.home.path().join(".config/fleet/age/keys.txt")).unwrap();
    let (code, out, err) = p.fleet(&["validate", "--worktree"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("note: certificates not checked: this machine cannot decrypt `crt`, `key`"),
        "{err}"
    );
    // A CI job without keys validates the rest, strictly too.
    let (code, out, err) = p.fleet(&["validate", "--worktree", "--strict", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("certificates not checked")
    );
}

#[test]
fn the_project_ca_is_made_once_encrypted_and_printed_for_clients() {
    let p = Project::new();
    let yaml = format!(
        "project: shop\nsecrets_recipients: [{}]\nservices:\n  web:\n    image: nginx:alpine\n    x-fleet: {{ expose: {{ port: 80, hosts: [shop.internal], tls: internal }} }}\n",
        p.recipient
    );
    p.write("fleet.yaml", yaml.as_bytes());
    let (code, _, err) = p.fleet(&["validate", "--worktree"]);
    assert_eq!(code, 1);
    assert!(err.contains("run `fleet secret ca init`"), "{err}");

    let (code, out, err) = p.fleet(&["secret", "ca", "init"]);
    assert_eq!(code, 0, "{out}{err}");
    let key = std::fs::read(p.dir.path().join("secrets/fleet-ca.key.age")).unwrap();
    assert!(key.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    let (code, _, err) = p.fleet(&["secret", "ca", "init"]);
    assert_eq!(code, 1, "never replaced without --force: {err}");

    let (code, out, err) = p.fleet(&["secret", "ca", "cert"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("-----BEGIN CERTIFICATE-----"), "{out}");
    assert!(err.contains("CN=fleet CA for shop"), "{err}");
    let info = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-ext", "basicConstraints"])
        .stdin(std::fs::File::open(p.dir.path().join("secrets/fleet-ca.crt")).unwrap())
        .output()
        .expect("openssl");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("CA:TRUE"), "{info}");

    let (code, out, err) = p.fleet(&["validate", "--worktree"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!Path::new(&p.dir.path().join("secrets/fleet-ca.key")).exists());
}

#[test]
fn a_certificate_expiring_within_21_days_is_a_warning_that_strict_refuses() {
    let p = Project::new();
    let (cert, key) = certificate(
        &["shop.example.com"],
        now() - 60 * DAY,
        now() + 10 * DAY - 3600,
    );
    p.secret("crt", cert.as_bytes());
    p.secret("key", key.as_bytes());
    p.state("shop.example.com");
    let (code, out, err) = p.fleet(&["validate", "--worktree"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("fleet.yaml:13:14: warning: services.web.x-fleet.expose.tls: the certificate (serial 07:01, shop.example.com) expires in 9 day(s)"),
        "{err}"
    );
    let (code, _, _) = p.fleet(&["validate", "--worktree", "--strict"]);
    assert_eq!(code, 1);
}
