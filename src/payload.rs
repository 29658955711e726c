//! The files services mount (Compose secrets and configs, and repository files and directories
//! mounted as `./path:/target`): their contents read from the commit, secrets decrypted on the
//! machine running fleet, a digest of each stamped into the services (so a change rolls them),
//! and the files to write on a host for a service.
//!
//! Decryption is passed in (by the age edge, `secrets::read_payload`), so this stage needs no keys to
//! be tested. Contents are never printed: `Debug` shows names and sizes only.

use std::collections::BTreeMap;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

mod certificates;

pub use certificates::renewal_due;

use crate::contract::{Shipped, digest_key, mounted_file_name};
use crate::engine::HostFile;
use crate::spec::model::{FileSource, Mount, Service, TlsSource};
use crate::spec::service::FileKind;
use crate::spec::{Desired, Files};

/// Why a secret or config could not be read. Never holds content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("{kind} `{name}`: cannot read `{path}`: {reason}")]
    Read {
        kind: &'static str,
        name: String,
        path: String,
        reason: String,
    },
    #[error("secret `{name}`: cannot decrypt `{path}`: {reason}")]
    Decrypt {
        name: String,
        path: String,
        reason: String,
    },
    /// `at`: where the service's `tls` is written.
    #[error("{}services.{service}.x-fleet.expose.tls: {reason}", at.as_ref().map(|a| format!("{}:{}:{}: ", a.file, a.line, a.column)).unwrap_or_default())]
    Certificate {
        at: Option<crate::spec::model::SourceAt>,
        service: String,
        reason: String,
    },
}

/// Decrypts the file at `path` (its bytes given): an age file, or with `Some(key)` the value at
/// `key` of a SOPS file. The error says why, for a person.
pub type Decrypt<'a> = &'a dyn Fn(&str, Option<&str>, &[u8]) -> Result<Vec<u8>, String>;

/// The content of every secret and config of a desired state.
#[derive(Default, Clone)]
pub struct Payload {
    secrets: BTreeMap<String, Content>,
    configs: BTreeMap<String, Content>,
    /// Repository files and directories services mount, by path: (path inside, bytes) for each
    /// file (a single file's inside path is empty).
    repository: BTreeMap<String, Shipment>,
    /// The certificates the balancers serve.
    certified: certificates::Certified,
}

#[derive(Clone)]
struct Shipment {
    files: Vec<(String, Vec<u8>)>,
    digest: String,
}

/// A repository directory shipped to hosts holds at most this many files and bytes: a mount of
/// the whole repository by mistake is refused rather than copied to every host.
const MAX_SHIPPED_FILES: usize = 2000;
const MAX_SHIPPED_BYTES: usize = 64 << 20;

#[derive(Clone)]
struct Content {
    bytes: Vec<u8>,
    /// Keyed for secrets (see [`secret_digest`]), plain SHA-256 for configs.
    digest: String,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("configs", &self.configs.keys().collect::<Vec<_>>())
            .field("repository", &self.repository.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Payload {
    /// Reads every secret and config the services use, decrypting `.age` secrets. All problems
    /// are returned, not just the first.
    pub fn read(
        desired: &Desired,
        files: &dyn Files,
        decrypt: Decrypt<'_>,
    ) -> Result<Payload, Vec<PayloadError>> {
        let mut out = Payload::default();
        let mut errors = Vec::new();
        let used = |kind: FileKind, name: &str| {
            desired.services.values().any(|s| {
                let mounts = match kind {
                    FileKind::Secret => &s.secrets,
                    FileKind::Config => &s.configs,
                };
                mounts.iter().any(|m| m.source == name)
                    || (kind == FileKind::Secret
                        && (s.env_from_secrets.values().any(|v| v == name) || tls_uses(s, name)))
            })
        };
        let notify_uses =
            |name: &str| {
                desired.watch.notify.iter().any(
                    |t| matches!(&t.url, crate::spec::model::NotifyUrl::Secret(s) if s == name),
                )
            };
        for (kind, declared) in [
            (FileKind::Secret, &desired.secrets),
            (FileKind::Config, &desired.configs),
        ] {
            for (name, source) in declared {
                // A secret no service mounts is never decrypted: no key is needed for it.
                let needed = used(kind, name) || (kind == FileKind::Secret && notify_uses(name));
                if !needed {
                    continue;
                }
                match content(kind, name, source, files, decrypt) {
                    Ok(c) => {
                        match kind {
                            FileKind::Secret => out.secrets.insert(name.clone(), c),
                            FileKind::Config => out.configs.insert(name.clone(), c),
                        };
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        for service in desired.services.values() {
            for mount in &service.volumes {
                if let Mount::RepoBind { source, .. } = mount {
                    if out.repository.contains_key(source) {
                        continue;
                    }
                    match shipment(files, source) {
                        Ok(s) => {
                            out.repository.insert(source.clone(), s);
                        }
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        if errors.is_empty() {
            let secret = |name: &str| out.secrets.get(name).map(|c| c.bytes.clone());
            match certificates::certify(desired, files, decrypt, &secret, crate::clock::unix_now())
            {
                Ok(certified) => out.certified = certified,
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Stamps each service with the digests of the files it mounts (part of its spec hash).
    pub fn stamp(&self, desired: &mut Desired) {
        for service in desired.services.values_mut() {
            let mut digests = BTreeMap::new();
            for (kind, mounts, contents) in [
                (Shipped::Secrets, &service.secrets, &self.secrets),
                (Shipped::Configs, &service.configs, &self.configs),
            ] {
                for m in mounts {
                    if let Some(c) = contents.get(&m.source) {
                        digests.insert(digest_key(kind, &m.source), c.digest.clone());
                    }
                }
            }
            for secret in service.env_from_secrets.values() {
                if let Some(c) = self.secrets.get(secret) {
                    digests.insert(digest_key(Shipped::Secrets, secret), c.digest.clone());
                }
            }
            for mount in &service.volumes {
                if let Mount::RepoBind { source, .. } = mount {
                    if let Some(s) = self.repository.get(source) {
                        digests.insert(digest_key(Shipped::Repository, source), s.digest.clone());
                    }
                }
            }
            service.file_digests = digests;
        }
        desired.certificates = self.certified.summaries.clone();
    }

    /// The files of `kind` to write for a replica of `service`, named as the replica binds
    /// them, with their owners and modes (repository files: readable by all, 0644).
    pub fn host_files(&self, service: &Service, kind: Shipped) -> Vec<HostFile> {
        let mounts = match kind {
            Shipped::Secrets => &service.secrets,
            Shipped::Configs => &service.configs,
            Shipped::Repository => {
                return service
                    .volumes
                    .iter()
                    .filter_map(|m| match m {
                        Mount::RepoBind { source, .. } => Some(source),
                        _ => None,
                    })
                    .enumerate()
                    .flat_map(|(i, source)| {
                        let name = mounted_file_name(i, source);
                        self.repository
                            .get(source)
                            .map(|s| s.files.clone())
                            .unwrap_or_default()
                            .into_iter()
                            .map(move |(inside, content)| HostFile {
                                name: if inside.is_empty() {
                                    name.clone()
                                } else {
                                    format!("{name}/{inside}")
                                },
                                content,
                                mode: 0o644,
                                uid: 0,
                                gid: 0,
                            })
                    })
                    .collect();
            }
        };
        let contents = match kind {
            Shipped::Secrets => &self.secrets,
            _ => &self.configs,
        };
        mounts
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                contents.get(&m.source).map(|c| HostFile {
                    name: mounted_file_name(i, &m.source),
                    content: c.bytes.clone(),
                    mode: m.mode,
                    uid: m.uid.unwrap_or(0),
                    gid: m.gid.unwrap_or(0),
                })
            })
            .collect()
    }

    /// The variables `service` sets from secrets (`x-fleet.env_from_secrets`), with their
    /// values: for the create request only.
    pub fn secret_env(&self, service: &Service) -> Vec<(String, String)> {
        service
            .env_from_secrets
            .iter()
            .filter_map(|(var, secret)| {
                self.secrets
                    .get(secret)
                    .map(|c| (var.clone(), String::from_utf8_lossy(&c.bytes).into_owned()))
            })
            .collect()
    }

    /// The file a balancer reads for certificate `id` (chain and key, only root may read it).
    pub fn certificate_file(&self, id: &str) -> Option<HostFile> {
        self.certified.bundles.get(id).map(|bundle| HostFile {
            name: crate::contract::BALANCER_CERTIFICATE_FILE.to_string(),
            content: bundle.to_vec(),
            mode: 0o400,
            uid: 0,
            gid: 0,
        })
    }

    /// The URLs of `watch.notify`, in order, those from secrets decrypted (`None` for one
    /// that was not read). For the notifier only: never printed.
    pub fn notify_urls(&self, desired: &Desired) -> Vec<Option<String>> {
        desired
            .watch
            .notify
            .iter()
            .map(|t| match &t.url {
                crate::spec::model::NotifyUrl::Url(u) => Some(u.clone()),
                crate::spec::model::NotifyUrl::Secret(name) => self
                    .secrets
                    .get(name)
                    .map(|c| String::from_utf8_lossy(&c.bytes).trim().to_string()),
            })
            .collect()
    }

    /// Every secret's content, for checks that no output contains one.
    pub fn secret_values(&self) -> impl Iterator<Item = &[u8]> {
        self.secrets.values().map(|c| c.bytes.as_slice())
    }
}

/// Whether `service` serves a certificate or key from secret `name`.
fn tls_uses(service: &Service, name: &str) -> bool {
    matches!(
        service.expose_via.as_ref().and_then(|e| e.routes.as_ref()).and_then(|r| r.tls.as_ref()),
        Some(TlsSource::Secrets { certificate, key }) if certificate == name || key == name
    )
}

/// A repository file, or every file of a repository directory, as the commit has it.
fn shipment(files: &dyn Files, path: &str) -> Result<Shipment, PayloadError> {
    let failed = |reason: String| PayloadError::Read {
        kind: "repository path",
        name: path.to_string(),
        path: path.to_string(),
        reason,
    };
    let listed = files.list(path).map_err(|e| failed(e.to_string()))?;
    let inside: Vec<String> = if listed.is_empty() {
        vec![String::new()]
    } else {
        listed
    };
    if inside.len() > MAX_SHIPPED_FILES {
        return Err(failed(format!(
            "it holds {} files; fleet ships at most {MAX_SHIPPED_FILES}: mount a narrower directory",
            inside.len()
        )));
    }
    let mut out = Vec::new();
    let mut total = 0;
    let mut hasher = Sha256::new();
    for rel in inside {
        let full = if rel.is_empty() {
            path.to_string()
        } else {
            format!("{path}/{rel}")
        };
        let bytes = files
            .read(&full)
            .map_err(|e| failed(e.to_string()))?
            .ok_or_else(|| failed(format!("`{full}` is not in the commit")))?;
        total += bytes.len();
        if total > MAX_SHIPPED_BYTES {
            return Err(failed(format!(
                "it is larger than {} MiB: mount a narrower directory, or build the files into the image",
                MAX_SHIPPED_BYTES >> 20
            )));
        }
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update(Sha256::digest(&bytes));
        out.push((rel, bytes));
    }
    Ok(Shipment {
        files: out,
        digest: hex(&hasher.finalize()),
    })
}

fn content(
    kind: FileKind,
    name: &str,
    source: &FileSource,
    files: &dyn Files,
    decrypt: Decrypt<'_>,
) -> Result<Content, PayloadError> {
    let kind_name = match kind {
        FileKind::Secret => "secret",
        FileKind::Config => "config",
    };
    let (path, key, encrypted) = match source {
        FileSource::Content { text } => {
            let bytes = text.as_bytes().to_vec();
            return Ok(Content {
                digest: plain_digest(&bytes),
                bytes,
            });
        }
        FileSource::File { path, encrypted } => (path, None, *encrypted),
        FileSource::Sops { path, key } => (path, Some(key.as_str()), true),
    };
    let stored = files
        .read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| b.ok_or_else(|| "it is not in the commit".to_string()))
        .map_err(|reason| PayloadError::Read {
            kind: kind_name,
            name: name.to_string(),
            path: path.clone(),
            reason,
        })?;
    let bytes = if encrypted {
        decrypt(path, key, &stored).map_err(|reason| PayloadError::Decrypt {
            name: name.to_string(),
            path: path.clone(),
            reason,
        })?
    } else {
        stored.clone()
    };
    let digest = match kind {
        FileKind::Secret => secret_digest(&stored, &bytes),
        FileKind::Config => plain_digest(&bytes),
    };
    Ok(Content { bytes, digest })
}

/// A secret's digest: HMAC-SHA256 of its content, keyed by a hash of the file as committed (for
/// an age file, its ciphertext). A label holding it tells nothing about the secret to whoever
/// lacks the repository, and no guess can be checked against it without the file; it changes
/// when the content does (and when the file is encrypted again).
pub fn secret_digest(stored: &[u8], plaintext: &[u8]) -> String {
    let key = Sha256::new()
        .chain_update(b"fleet secret digest v1\0")
        .chain_update(stored)
        .finalize();
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .expect("HMAC takes a key of any length");
    mac.update(plaintext);
    hex(&mac.finalize().into_bytes())
}

fn plain_digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{MemoryFiles, load};

    const AGE: &str = "age-encryption.org/v1\n-> X25519 stanza\nbody\n--- mac\npayload";

    fn setup(secret_file: &str) -> (Desired, MemoryFiles) {
        let files = MemoryFiles::new([
            (
                "fleet.yaml",
                "project: shop\nsecrets:\n  pw: { file: pw.age }\n  unused: { file: other.age }\nconfigs:\n  conf: { content: \"x=1\" }\nservices:\n  web:\n    image: web:1\n    secrets: [pw, { source: pw, target: /etc/pw, mode: 0400, uid: 7 }]\n    configs: [conf]\n  plain:\n    image: web:1\n",
            ),
            ("pw.age", secret_file),
            ("other.age", AGE),
        ]);
        let loaded = load(&files);
        (
            loaded
                .desired
                .unwrap_or_else(|| panic!("{:#?}", loaded.diagnostics)),
            files,
        )
    }

    fn fake_decrypt(_: &str, _: Option<&str>, bytes: &[u8]) -> Result<Vec<u8>, String> {
        // Stands in for age: the "plaintext" is what follows the header's last line.
        let text = String::from_utf8_lossy(bytes);
        Ok(text
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .as_bytes()
            .to_vec())
    }

    #[test]
    fn contents_are_read_stamped_and_written_per_mount() {
        let (mut desired, files) = setup(AGE);
        let payload = Payload::read(&desired, &files, &fake_decrypt).unwrap();
        payload.stamp(&mut desired);
        let web = &desired.services["web"];
        let digest = &web.file_digests["secret:pw"];
        assert_eq!(digest.len(), 64);
        assert_ne!(*digest, plain_digest(b"payload"), "never a plain hash");
        assert!(web.file_digests.contains_key("config:conf"));
        assert!(desired.services["plain"].file_digests.is_empty());
        let written = payload.host_files(web, Shipped::Secrets);
        assert_eq!(written.len(), 2);
        assert_eq!(written[0].name, "0-pw");
        assert_eq!(written[0].content, b"payload");
        assert_eq!((written[1].mode, written[1].uid), (0o400, 7));
        assert!(!format!("{payload:?}").contains("payload\""));
    }

    #[test]
    fn a_changed_secret_changes_the_digest_and_the_spec_hash() {
        let (mut a, files) = setup(AGE);
        Payload::read(&a, &files, &fake_decrypt)
            .unwrap()
            .stamp(&mut a);
        let (mut b, files) = setup(&AGE.replace("payload", "rotated"));
        Payload::read(&b, &files, &fake_decrypt)
            .unwrap()
            .stamp(&mut b);
        assert_ne!(
            crate::contract::spec_hash(&a.services["web"]),
            crate::contract::spec_hash(&b.services["web"])
        );
        assert_eq!(
            crate::contract::spec_hash(&a.services["plain"]),
            crate::contract::spec_hash(&b.services["plain"])
        );
    }

    #[test]
    fn a_secret_that_cannot_be_decrypted_is_an_error_naming_it_and_unused_ones_are_not_read() {
        let (desired, files) = setup(AGE);
        let errors = Payload::read(&desired, &files, &|path, _, _| {
            Err(format!("no identity for {path}"))
        })
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].to_string(),
            "secret `pw`: cannot decrypt `pw.age`: no identity for pw.age"
        );
    }
}
