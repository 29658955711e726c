//! The `age` crate, and nothing else of fleet: identities from files, decryption, encryption,
//! and what an age header says about its recipients.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age::secrecy::zeroize::Zeroize;
use sha2::{Digest, Sha256};

use super::{DecryptError, EncryptError, SecretError};

const BINARY_MAGIC: &[u8] = b"age-encryption.org/";
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// Decryption identities found on the machine running fleet, with where each came from.
pub struct Identities {
    keys: Vec<Box<dyn age::Identity>>,
    /// One entry per key in `keys`: its path and kind, for "fleet tried ..." messages.
    tried: Vec<String>,
    /// Every place looked at that had something: loaded keys and notes on skipped ones.
    sources: Vec<String>,
}

impl std::fmt::Debug for Identities {
    // Never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// What one file turned out to hold.
enum Loaded {
    Keys(Vec<Box<dyn age::Identity>>, String),
    /// A passphrase-protected (or otherwise unusable) SSH key: fleet cannot prompt.
    Unusable(SecretError),
}

impl Identities {
    /// In order: the file named by FLEET_AGE_KEY_FILE, then SOPS_AGE_KEY_FILE, then
    /// `~/.config/fleet/age/keys.txt`, then the SSH keys `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`.
    /// Missing files are skipped (a variable naming a missing file leaves a note in
    /// `sources`); SSH keys in the usual places that are passphrase-protected are skipped with a
    /// note, since SSH keys are often protected and fleet does not prompt. Any other file that
    /// exists but cannot be used is an error naming it. `env` and `home` are parameters so
    /// tests control them.
    pub fn load(
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Identities, SecretError> {
        let mut out = Identities::empty();
        for var in ["FLEET_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"] {
            let Some(path) = env(var).filter(|p| !p.is_empty()) else {
                continue;
            };
            let path = PathBuf::from(path);
            match load_file(&path)? {
                None => out
                    .sources
                    .push(format!("{} (named by {var}): missing", path.display())),
                Some(Loaded::Keys(keys, kind)) => out.add(keys, &path, &kind),
                Some(Loaded::Unusable(error)) => return Err(error),
            }
        }
        let Some(home) = home else {
            return Ok(out);
        };
        let keys_txt = home.join(".config/fleet/age/keys.txt");
        match load_file(&keys_txt)? {
            None => {}
            Some(Loaded::Keys(keys, kind)) => out.add(keys, &keys_txt, &kind),
            Some(Loaded::Unusable(error)) => return Err(error),
        }
        for name in ["id_ed25519", "id_rsa"] {
            let path = home.join(".ssh").join(name);
            match load_file(&path)? {
                None => {}
                Some(Loaded::Keys(keys, kind)) => out.add(keys, &path, &kind),
                Some(Loaded::Unusable(error)) => out
                    .sources
                    .push(format!("{}: skipped ({error})", path.display())),
            }
        }
        Ok(out)
    }

    /// Identities from the files given, each an age identity file or an SSH private key. Named
    /// explicitly, so a missing or unusable file is an error.
    pub fn from_files(paths: &[PathBuf]) -> Result<Identities, SecretError> {
        let mut out = Identities::empty();
        for path in paths {
            match load_file(path)? {
                None => {
                    return Err(SecretError::Read {
                        path: path.clone(),
                        source: std::io::ErrorKind::NotFound.into(),
                    });
                }
                Some(Loaded::Keys(keys, kind)) => out.add(keys, path, &kind),
                Some(Loaded::Unusable(error)) => return Err(error),
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Where the identities came from, and notes on files skipped, for messages.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    fn empty() -> Identities {
        Identities {
            keys: Vec::new(),
            tried: Vec::new(),
            sources: Vec::new(),
        }
    }

    fn add(&mut self, keys: Vec<Box<dyn age::Identity>>, path: &Path, kind: &str) {
        let entry = format!("{} ({kind})", path.display());
        self.tried.push(entry.clone());
        self.sources.push(entry);
        self.keys.extend(keys);
    }
}

/// Reads one identity file; `None` when it does not exist.
fn load_file(path: &Path) -> Result<Option<Loaded>, SecretError> {
    let mut bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SecretError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let loaded = parse_identities(&bytes, path);
    bytes.zeroize();
    loaded.map(Some)
}

fn parse_identities(bytes: &[u8], path: &Path) -> Result<Loaded, SecretError> {
    // OpenSSH and PEM private keys both start with a `-----BEGIN` line; age identity files
    // never do (their lines are comments or `AGE-SECRET-KEY-1...`).
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return parse_ssh(bytes, path);
    }
    let file =
        age::IdentityFile::from_buffer(BufReader::new(bytes)).map_err(|e| SecretError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let keys = file.into_identities().map_err(|e| SecretError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if keys.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_path_buf(),
        });
    }
    let kind = match keys.len() {
        1 => "X25519 identity".to_string(),
        n => format!("{n} X25519 identities"),
    };
    Ok(Loaded::Keys(keys, kind))
}

fn parse_ssh(bytes: &[u8], path: &Path) -> Result<Loaded, SecretError> {
    use age::ssh::{Identity, Recipient, UnsupportedKey};
    let identity = Identity::from_buffer(BufReader::new(bytes), Some(path.display().to_string()))
        .map_err(|e| SecretError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let path = path.to_path_buf();
    match identity {
        Identity::Unencrypted(_) => {
            // The public half gives the tag age headers name this key by.
            let kind = match Recipient::try_from(identity.clone()) {
                Ok(Recipient::SshEd25519(public, _)) => format!("ssh-ed25519 key {}", tag(&public)),
                Ok(Recipient::SshRsa(public, _)) => format!("ssh-rsa key {}", tag(&public)),
                Err(_) => "SSH key".to_string(),
            };
            Ok(Loaded::Keys(vec![Box::new(identity)], kind))
        }
        Identity::Encrypted(_) | Identity::Unsupported(UnsupportedKey::EncryptedPem) => {
            Ok(Loaded::Unusable(SecretError::Encrypted { path }))
        }
        Identity::Unsupported(UnsupportedKey::EncryptedSsh(cipher)) => {
            Ok(Loaded::Unusable(SecretError::Unsupported {
                path,
                kind: format!("encrypted with {cipher}"),
            }))
        }
        Identity::Unsupported(UnsupportedKey::Hardware(kind) | UnsupportedKey::Type(kind)) => {
            Ok(Loaded::Unusable(SecretError::Unsupported { path, kind }))
        }
    }
}

/// The public tag an age header gives an SSH recipient: the first 4 bytes of the SHA-256 of
/// the key in SSH wire format, unpadded base64. Shown on both sides so a user can match a file's
/// recipient to a key.
fn tag(ssh_public_key: &[u8]) -> String {
    data_encoding::BASE64_NOPAD.encode(&Sha256::digest(ssh_public_key)[..4])
}

/// The bytes of the binary age file in `ciphertext`, which is binary or armored.
fn reader(ciphertext: &[u8]) -> Result<Box<dyn BufRead + '_>, DecryptError> {
    if ciphertext.starts_with(BINARY_MAGIC) {
        return Ok(Box::new(ciphertext));
    }
    // The age CLI accepts leading whitespace before the armor, as editors and YAML add it.
    let trimmed = ciphertext.trim_ascii_start();
    if trimmed.starts_with(ARMOR_BEGIN) {
        return Ok(Box::new(BufReader::new(age::armor::ArmoredReader::new(
            trimmed,
        ))));
    }
    Err(DecryptError::NotAge)
}

/// Decrypts an age file (binary or armored, detected from its first bytes) with the first
/// identity that can.
pub fn decrypt(ciphertext: &[u8], identities: &Identities) -> Result<Vec<u8>, DecryptError> {
    let decryptor = age::Decryptor::new_buffered(reader(ciphertext)?).map_err(translate)?;
    if identities.is_empty() {
        return Err(DecryptError::NoIdentity {
            recipients: recipients_of(ciphertext),
        });
    }
    let mut stream = match decryptor.decrypt(identities.keys.iter().map(|k| k.as_ref() as _)) {
        Ok(stream) => stream,
        Err(age::DecryptError::NoMatchingKeys) => {
            return Err(DecryptError::NoMatchingIdentity {
                recipients: recipients_of(ciphertext),
                tried: identities.tried.clone(),
            });
        }
        Err(e) => return Err(translate(e)),
    };
    let mut plaintext = Vec::new();
    if let Err(e) = stream.read_to_end(&mut plaintext) {
        // Whatever was authenticated before the failure is still secret.
        plaintext.zeroize();
        let what = match e.kind() {
            std::io::ErrorKind::InvalidData => "the content fails authentication",
            _ => "the content cannot be read whole",
        };
        return Err(DecryptError::Corrupt(format!("{what}: {e}")));
    }
    Ok(plaintext)
}

fn translate(error: age::DecryptError) -> DecryptError {
    match error {
        age::DecryptError::UnknownFormat => DecryptError::NotAge,
        age::DecryptError::InvalidMac => {
            DecryptError::Corrupt("the header's MAC does not match".into())
        }
        other => DecryptError::Corrupt(other.to_string()),
    }
}

/// Who a file is encrypted to, as far as its header says, for messages: "X25519 recipient",
/// "ssh-ed25519 key <tag>", "ssh-rsa key <tag>", "scrypt passphrase", or "<tag> stanza" for
/// kinds fleet does not know (plugins). Empty when the header cannot be read.
pub fn recipients_of(ciphertext: &[u8]) -> Vec<String> {
    let Ok(mut input) = reader(ciphertext) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut line = String::new();
    // A header is small; the bound keeps a damaged file from being read whole.
    for _ in 0..1024 {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.starts_with("---") {
            break;
        }
        let Some(stanza) = line.strip_prefix("-> ") else {
            continue;
        };
        let mut args = stanza.split_whitespace();
        let kind = args.next().unwrap_or_default();
        let first = args.next().unwrap_or_default();
        match kind {
            "X25519" => out.push("X25519 recipient".into()),
            "ssh-ed25519" => out.push(format!("ssh-ed25519 key {first}")),
            "ssh-rsa" => out.push(format!("ssh-rsa key {first}")),
            "scrypt" => out.push("scrypt passphrase".into()),
            // Random stanzas the age tools add so parsers stay tolerant; not recipients.
            grease if grease.ends_with("-grease") => {}
            other => out.push(format!("{other} stanza")),
        }
    }
    out
}

/// Encrypts to recipients given as text: `age1...` (X25519), `ssh-ed25519 AAAA... [comment]`,
/// `ssh-rsa AAAA... [comment]`. `armor` chooses the ASCII form.
pub fn encrypt(
    plaintext: &[u8],
    recipients: &[String],
    armor: bool,
) -> Result<Vec<u8>, EncryptError> {
    let mut parsed: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
    for text in recipients {
        parsed.push(parse_recipient(text.trim())?);
    }
    if parsed.is_empty() {
        return Err(EncryptError::NoRecipients);
    }
    let failed = |e: &dyn std::fmt::Display| EncryptError::Failed(e.to_string());
    let encryptor = age::Encryptor::with_recipients(parsed.iter().map(|r| r.as_ref() as _))
        .map_err(|e| failed(&e))?;
    let format = if armor {
        age::armor::Format::AsciiArmor
    } else {
        age::armor::Format::Binary
    };
    let output =
        age::armor::ArmoredWriter::wrap_output(Vec::new(), format).map_err(|e| failed(&e))?;
    let mut writer = encryptor.wrap_output(output).map_err(|e| failed(&e))?;
    writer.write_all(plaintext).map_err(|e| failed(&e))?;
    writer
        .finish()
        .and_then(|armored| armored.finish())
        .map_err(|e| failed(&e))
}

fn parse_recipient(text: &str) -> Result<Box<dyn age::Recipient + Send>, EncryptError> {
    let bad = |reason: &str| EncryptError::BadRecipient {
        recipient: text.to_string(),
        reason: reason.to_string(),
    };
    if text.starts_with("age1") {
        return age::x25519::Recipient::from_str(text)
            .map(|r| Box::new(r) as _)
            .map_err(&bad);
    }
    if text.starts_with("ssh-") {
        use age::ssh::ParseRecipientKeyError as E;
        return age::ssh::Recipient::from_str(text)
            .map(|r| Box::new(r) as _)
            .map_err(|e| match e {
                E::Invalid(why) => bad(why),
                E::RsaModulusTooLarge => bad("the RSA key is larger than age supports"),
                E::RsaModulusTooSmall => bad("the RSA key is shorter than 2048 bits"),
                E::Unsupported(kind) => bad(&format!("age cannot encrypt to {kind} keys")),
                E::Ignore => bad("age cannot encrypt to this kind of key"),
            });
    }
    Err(bad(
        "expected `age1...`, `ssh-ed25519 AAAA...` or `ssh-rsa AAAA...`",
    ))
}

/// A new X25519 identity: (secret key `AGE-SECRET-KEY-1...`, recipient `age1...`).
pub fn generate() -> (String, String) {
    let identity = age::x25519::Identity::generate();
    let secret = identity.to_string().expose_secret().to_string();
    (secret, identity.to_public().to_string())
}
