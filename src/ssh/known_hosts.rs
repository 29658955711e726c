//! The OpenSSH known_hosts file: reading it strictly, with real line numbers, and appending to
//! it for trust on first use.
//!
//! Written here rather than taken from russh because russh's reader skips comment lines when
//! counting (so "changed key on line N" names the wrong line), stops at the first unparseable
//! key, and ignores `@revoked`. Understood: comments, `host`, `[host]:port`, comma lists,
//! `*`/`?` wildcards, `!negation`, hashed `|1|salt|hash` names, `@revoked`; `@cert-authority`
//! lines are skipped (host certificates are not accepted).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{self, Algorithm, PublicKey};
use sha1::Sha1;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    /// A key of the same type is recorded for this host, and it is a different key.
    Changed {
        line: usize,
    },
    /// The key is listed as `@revoked`.
    Revoked {
        line: usize,
    },
}

/// `host` or `[host]:port`, as OpenSSH writes names for non-default ports.
pub fn host_entry(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The line to add for this host and key.
pub fn line_for(host: &str, port: u16, key: &PublicKey) -> String {
    format!(
        "{} {}",
        host_entry(host, port),
        key.to_openssh().unwrap_or_default()
    )
}

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn hashed_match(entry: &str, name: &str) -> bool {
    let mut parts = entry.trim_start_matches("|1|").split('|');
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// Whether a comma-separated host pattern list names `name`. A matching negation wins.
fn names_host(patterns: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob(negated, name) {
                return false;
            }
        } else if pattern.starts_with("|1|") {
            matched |= hashed_match(pattern, name);
        } else {
            matched |= glob(pattern, name);
        }
    }
    matched
}

struct Entry {
    line: usize,
    revoked: bool,
    key: PublicKey,
}

fn entries(path: &Path, host: &str, port: u16) -> io::Result<Vec<Entry>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let name = host_entry(host, port);
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or_default();
        let mut revoked = false;
        if first.starts_with('@') {
            match first {
                "@revoked" => revoked = true,
                _ => continue,
            }
            first = fields.next().unwrap_or_default();
        }
        let (Some(_algorithm), Some(base64)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !names_host(first, &name) {
            continue;
        }
        // A key fleet cannot parse cannot match what the server shows; skip it, as OpenSSH does.
        if let Ok(key) = keys::parse_public_key_base64(base64) {
            out.push(Entry {
                line: i + 1,
                revoked,
                key,
            });
        }
    }
    Ok(out)
}

pub fn check(path: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<Verdict> {
    let entries = entries(path, host, port)?;
    if let Some(e) = entries
        .iter()
        .find(|e| e.revoked && e.key.key_data() == key.key_data())
    {
        return Ok(Verdict::Revoked { line: e.line });
    }
    if entries
        .iter()
        .any(|e| !e.revoked && e.key.key_data() == key.key_data())
    {
        return Ok(Verdict::Known);
    }
    match entries
        .iter()
        .find(|e| !e.revoked && e.key.algorithm() == key.algorithm())
    {
        Some(e) => Ok(Verdict::Changed { line: e.line }),
        None => Ok(Verdict::Unknown),
    }
}

/// Key algorithms recorded for the host, in file order, to offer them first.
pub fn algorithms(path: &Path, host: &str, port: u16) -> Vec<Algorithm> {
    let mut out: Vec<Algorithm> = Vec::new();
    for e in entries(path, host, port)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !e.revoked)
    {
        if !out.contains(&e.key.algorithm()) {
            out.push(e.key.algorithm());
        }
    }
    out
}

/// Appends the host's key (trust on first use), creating the file and its directory if needed.
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let needs_newline = fs::read(path)
        .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
        .unwrap_or(false);
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    if needs_newline {
        writeln!(file)?;
    }
    writeln!(file, "{}", line_for(host, port, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMzvAGCmOdNYY8vqayA2eAWFUjdZiZXaQ37q9XNmMj6b";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIp3OO091aU8IP9yTZVpqhfFdnFVRaICv1aHtxuBR0zf";

    fn key(text: &str) -> PublicKey {
        keys::parse_public_key_base64(text.split_whitespace().nth(1).unwrap()).unwrap()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn changed_keys_name_the_real_line_counting_comments_and_blanks() {
        let f = file(&format!(
            "# a comment\n\nother.example {ED1}\nweb.example {ED2}\n"
        ));
        assert_eq!(
            check(f.path(), "web.example", 22, &key(ED1)).unwrap(),
            Verdict::Changed { line: 4 }
        );
        assert_eq!(
            check(f.path(), "web.example", 22, &key(ED2)).unwrap(),
            Verdict::Known
        );
        assert_eq!(
            check(f.path(), "nobody.example", 22, &key(ED2)).unwrap(),
            Verdict::Unknown
        );
    }

    #[test]
    fn ports_wildcards_negation_hashes_and_revocation() {
        let f = file(&format!(
            "[web.example]:2222 {ED1}\n*.internal,!db.internal {ED1}\n|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= {ED2}\n@revoked bad.example {ED2}\n"
        ));
        assert_eq!(
            check(f.path(), "web.example", 2222, &key(ED1)).unwrap(),
            Verdict::Known
        );
        assert_eq!(
            check(f.path(), "web.example", 22, &key(ED1)).unwrap(),
            Verdict::Unknown
        );
        assert_eq!(
            check(f.path(), "api.internal", 22, &key(ED1)).unwrap(),
            Verdict::Known
        );
        assert_eq!(
            check(f.path(), "db.internal", 22, &key(ED1)).unwrap(),
            Verdict::Unknown
        );
        assert_eq!(
            check(f.path(), "bad.example", 22, &key(ED2)).unwrap(),
            Verdict::Revoked { line: 4 }
        );
    }

    #[test]
    fn hashed_names_match_like_openssh() {
        // Produced by `ssh-keygen -H` for the name "hashed.example".
        let salt = BASE64.encode(b"0123456789abcdefghij");
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(b"0123456789abcdefghij")
            .unwrap()
            .chain_update(b"hashed.example")
            .finalize()
            .into_bytes();
        let entry = format!("|1|{salt}|{}", BASE64.encode(&mac));
        assert!(names_host(&entry, "hashed.example"));
        assert!(!names_host(&entry, "other.example"));
    }

    #[test]
    fn learning_appends_a_line_that_then_checks_as_known() {
        let f = file("no-newline-at-end ssh-ed25519 AAAA");
        learn(f.path(), "10.0.0.9", 2200, &key(ED1)).unwrap();
        let text = fs::read_to_string(f.path()).unwrap();
        assert!(
            text.ends_with(&format!("\n[10.0.0.9]:2200 {ED1}\n")),
            "{text:?}"
        );
        assert_eq!(
            check(f.path(), "10.0.0.9", 2200, &key(ED1)).unwrap(),
            Verdict::Known
        );
    }
}
