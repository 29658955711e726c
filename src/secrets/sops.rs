//! SOPS files (YAML, JSON, dotenv) whose data key is encrypted to age recipients: the value at
//! one key, decrypted with this machine's identities after the file's MAC is checked.
//!
//! What SOPS (getsops/sops, `aes/cipher.go`, `sops.go`, `stores/`) writes, and so what this
//! reads:
//! - every value is `ENC[AES256_GCM,data:B64,iv:B64,tag:B64,type:T]`: AES-256-GCM with the
//!   file's 32-byte data key, a 32-byte IV (sops seals with `NewGCMWithNonceSize(block, 32)`),
//!   a 16-byte tag, and as additional data the value's path, the mapping keys from the root
//!   joined with `:` plus a trailing `:` (list indices are not part of it), so a value moved to
//!   another key fails authentication. An empty string is stored as is, unencrypted.
//! - which values are encrypted: all but those with a path component ending in
//!   `unencrypted_suffix` (default `_unencrypted`), or only those ending in `encrypted_suffix`,
//!   or matching `encrypted_regex`, or all but those matching `unencrypted_regex`;
//! - the MAC: SHA-512 over every leaf value in document order (after decryption; nulls and
//!   comments skipped), ints and floats in Go's decimal form, booleans as `True`/`False`; with
//!   `mac_only_encrypted` only the encrypted values, after 32 fixed bytes. Its upper-case hex is
//!   stored in `sops.mac`, encrypted like a value with `sops.lastmodified` (RFC 3339, seconds)
//!   as additional data;
//! - `sops.age[]` (dotenv: `sops_age__list_N__map_recipient`/`_enc`): `recipient` (`age1...`)
//!   and `enc`, an armored age file holding the 32 raw bytes of the data key.
//!
//! Not supported: key groups (Shamir), the comment regexes (fleet's YAML parser keeps no
//! comments), several YAML documents in one file, keys that contain a `.` (the key path is
//! dotted). fleet's YAML parser applies merge keys (`<<`) where sops keeps them as keys, and its
//! core-schema typing of unencrypted plain scalars can differ from go-yaml's in corner cases
//! (`0755`, `1_000`): a file relying on those fails its MAC check rather than reading wrongly.
//!
//! Messages carry key paths, recipients and kinds, never values (a value a user forgot to
//! encrypt is not echoed either).

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::{DecryptError, Identities, decrypt, list};
use crate::spec::yaml::{self, Kind, Node, Resolved};

use self::stores::{Json, dotenv};

mod stores;

/// Plaintext, zeroed when dropped.
type Secret = Zeroizing<Vec<u8>>;

/// AES-256-GCM with the 32-byte IVs sops writes (`aes.nonceSize`), not the usual 12.
type SopsGcm = aes_gcm::AesGcm<Aes256, U32>;

/// The SHA-512 of `sops` that starts a MAC over the encrypted values only
/// (`sops.MACOnlyEncryptedInitialization`).
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Kinds of master key other than age that a `sops` section can list.
const OTHER_KINDS: [&str; 6] = ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"];

/// The syntax of a SOPS file, chosen by the caller (from the file's extension, as sops does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SopsFormat {
    Yaml,
    Json,
    Dotenv,
}

impl SopsFormat {
    /// The format sops would read a file named `path` as: `.yaml`/`.yml`, `.json`, `.env`.
    pub fn from_path(path: &str) -> Option<SopsFormat> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => Some(SopsFormat::Yaml),
            "json" => Some(SopsFormat::Json),
            "env" => Some(SopsFormat::Dotenv),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SopsFormat::Yaml => "YAML",
            SopsFormat::Json => "JSON",
            SopsFormat::Dotenv => "dotenv",
        }
    }
}

/// Why a value was not read from a SOPS file. Never carries a value, encrypted or not.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    #[error("not a SOPS file: {0}")]
    NotSops(String),
    #[error(
        "the SOPS file's data key is encrypted to no age recipient (only to {}); fleet reads SOPS files with age keys only",
        list(others)
    )]
    NoAgeRecipient { others: Vec<String> },
    /// No identity here decrypted the data key from any of the file's age entries; `reason` is
    /// what the last attempt said (who the age file is encrypted to, what fleet tried).
    #[error(
        "cannot decrypt the SOPS data key, encrypted to {}: {reason}",
        list(recipients)
    )]
    DataKey {
        recipients: Vec<String>,
        reason: DecryptError,
    },
    #[error("no `{key}` in the SOPS file")]
    KeyNotFound { key: String },
    #[error("`{key}` in the SOPS file is {found}, not a single value")]
    NotAValue { key: String, found: &'static str },
    /// A value, or the MAC, fails authentication, or the MAC does not match the values.
    #[error("the SOPS file was changed or damaged since it was encrypted: {0}")]
    Tampered(String),
    #[error("malformed SOPS file: {0}")]
    Malformed(String),
    #[error("unsupported SOPS file: {0}")]
    Unsupported(String),
}

impl SopsError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SopsError::DataKey { reason, .. } => reason.hint(),
            SopsError::Tampered(_) => Some(
                "restore the file from git history, or edit it with `sops` so it writes a new MAC"
                    .into(),
            ),
            SopsError::NoAgeRecipient { .. } => Some(
                "add an age recipient with `sops updatekeys` (or `sops -r -i --add-age age1...`)"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// A SOPS document as sops' stores see it: mappings keep their order, which the MAC covers.
#[derive(Debug)]
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Metadata fields are read weakly typed, as sops' mapstructure does.
    fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
            scalar => Some(String::from_utf8_lossy(&scalar_bytes(scalar)).into_owned()),
        }
    }
}

/// The value at `key` (dotted path, e.g. `db.password`, list items by index; for dotenv the
/// variable name) of a SOPS file, decrypted with `identities`. The file's MAC is verified first
/// (a tampered file is an error). An unencrypted value (`_unencrypted` suffix, ...) is returned
/// as sops prints it.
pub fn sops_value(
    bytes: &[u8],
    format: SopsFormat,
    key: &str,
    identities: &Identities,
) -> Result<Vec<u8>, SopsError> {
    let (tree, meta) = load(bytes, format)?;
    let meta = Metadata::read(&meta)?;
    let data_key = data_key(&meta, identities)?;
    let cipher = SopsGcm::new_from_slice(&data_key[..])
        .map_err(|_| SopsError::Malformed("the data key is not 32 bytes".into()))?;

    let mut mac = Mac::new(&meta, &cipher);
    mac.walk(&tree, &mut Vec::new())?;
    mac.verify()?;

    let target: Vec<&str> = match format {
        SopsFormat::Dotenv => vec![key],
        SopsFormat::Yaml | SopsFormat::Json => key.split('.').collect(),
    };
    let (value, names) = lookup(&tree, &target).ok_or_else(|| SopsError::KeyNotFound {
        key: key.to_string(),
    })?;
    if matches!(value, Value::Null | Value::Seq(_) | Value::Map(_)) {
        return Err(SopsError::NotAValue {
            key: key.to_string(),
            found: value.kind(),
        });
    }
    let (plaintext, _) = leaf(&meta, &cipher, value, &names)?;
    Ok(plaintext.to_vec())
}

/// The document without its metadata, and the metadata (`sops` section) as a tree.
fn load(bytes: &[u8], format: SopsFormat) -> Result<(Value, Value), SopsError> {
    let malformed = |why: String| SopsError::Malformed(format!("not {}: {why}", format.name()));
    let mut tree = match format {
        SopsFormat::Yaml => {
            let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8".into()))?;
            let parsed = yaml::parse(text);
            if let Some(error) = parsed.errors.first() {
                return Err(malformed(format!("{}: {}", error.pos, error.message)));
            }
            match parsed.root {
                Some(root) => from_yaml(&root)?,
                None => Value::Map(Vec::new()),
            }
        }
        SopsFormat::Json => {
            serde_json::from_slice::<Json>(bytes)
                .map_err(|e| malformed(format!("line {} column {}", e.line(), e.column())))?
                .0
        }
        SopsFormat::Dotenv => return dotenv(bytes),
    };
    let Value::Map(entries) = &mut tree else {
        return Err(SopsError::NotSops(format!(
            "the document is {}, not a mapping",
            tree.kind()
        )));
    };
    let mut meta = None;
    entries.retain_mut(|(k, v)| {
        if k == "sops" {
            if meta.is_none() {
                meta = Some(std::mem::replace(v, Value::Null));
            }
            false
        } else {
            true
        }
    });
    let meta = meta.ok_or_else(|| SopsError::NotSops("no `sops` section".into()))?;
    Ok((tree, meta))
}

fn from_yaml(node: &Node) -> Result<Value, SopsError> {
    Ok(match &node.kind {
        Kind::Scalar { .. } => match node.resolve() {
            Some(Resolved::Bool(b)) => Value::Bool(b),
            Some(Resolved::Int(i)) => Value::Int(i),
            Some(Resolved::Float(f)) => Value::Float(f),
            Some(Resolved::Str(s)) => Value::Str(s.to_string()),
            Some(Resolved::Null) | None => Value::Null,
        },
        Kind::Seq(items) => Value::Seq(items.iter().map(from_yaml).collect::<Result<_, _>>()?),
        Kind::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = k.scalar_text().ok_or_else(|| {
                    SopsError::Malformed(format!("{}: a mapping key that is not a string", k.pos))
                })?;
                out.push((key.to_string(), from_yaml(v)?));
            }
            Value::Map(out)
        }
    })
}

/// Which values are encrypted (`sops.go`, `shouldBeEncrypted`), from a value's mapping keys.
enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(regex_lite::Regex),
    EncryptedRegex(regex_lite::Regex),
}

impl Rule {
    fn encrypts(&self, names: &[&str]) -> bool {
        match self {
            Rule::UnencryptedSuffix(s) => !names.iter().any(|n| n.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => names.iter().any(|n| n.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !names.iter().any(|n| r.is_match(n)),
            Rule::EncryptedRegex(r) => names.iter().any(|n| r.is_match(n)),
        }
    }
}

struct Metadata {
    /// (`recipient`, `enc`) of each `age` entry.
    age: Vec<(String, String)>,
    others: Vec<String>,
    lastmodified: String,
    mac: String,
    rule: Rule,
    mac_only_encrypted: bool,
}

impl Metadata {
    fn read(meta: &Value) -> Result<Metadata, SopsError> {
        let Value::Map(_) = meta else {
            return Err(SopsError::Malformed(format!(
                "the `sops` section is {}, not a mapping",
                meta.kind()
            )));
        };
        let field = |name: &str| meta.get(name).and_then(Value::text).unwrap_or_default();
        let non_empty =
            |name: &str| matches!(meta.get(name), Some(Value::Seq(items)) if !items.is_empty());
        if non_empty("key_groups") {
            return Err(SopsError::Unsupported(
                "its data key is split in key groups (Shamir secret sharing)".into(),
            ));
        }
        let mut age = Vec::new();
        if let Some(Value::Seq(entries)) = meta.get("age") {
            for entry in entries {
                let recipient = entry.get("recipient").and_then(Value::text);
                let enc = entry.get("enc").and_then(Value::text);
                let (Some(recipient), Some(enc)) = (recipient, enc) else {
                    return Err(SopsError::Malformed(
                        "an `age` entry without `recipient` and `enc`".into(),
                    ));
                };
                age.push((recipient, enc));
            }
        }
        let others = OTHER_KINDS
            .iter()
            .filter(|k| non_empty(k))
            .map(|k| k.to_string())
            .collect();

        let rules: Vec<(&str, String)> = [
            "unencrypted_suffix",
            "encrypted_suffix",
            "unencrypted_regex",
            "encrypted_regex",
            "unencrypted_comment_regex",
            "encrypted_comment_regex",
        ]
        .into_iter()
        .map(|name| (name, field(name)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
        let regex = |name: &str, pattern: &str| {
            regex_lite::Regex::new(pattern).map_err(|_| {
                SopsError::Malformed(format!("`{name}` is not a valid regular expression"))
            })
        };
        let rule = match rules.as_slice() {
            [] => Rule::UnencryptedSuffix("_unencrypted".into()),
            [("unencrypted_suffix", s)] => Rule::UnencryptedSuffix(s.clone()),
            [("encrypted_suffix", s)] => Rule::EncryptedSuffix(s.clone()),
            [("unencrypted_regex", r)] => Rule::UnencryptedRegex(regex("unencrypted_regex", r)?),
            [("encrypted_regex", r)] => Rule::EncryptedRegex(regex("encrypted_regex", r)?),
            [(name, _)] => {
                return Err(SopsError::Unsupported(format!(
                    "`{name}` (fleet does not read comments)"
                )));
            }
            _ => {
                return Err(SopsError::Malformed(
                    "more than one of the encrypted/unencrypted suffix and regex settings".into(),
                ));
            }
        };
        let mac_only_encrypted = match meta.get("mac_only_encrypted") {
            Some(Value::Bool(b)) => *b,
            Some(Value::Int(i)) => *i != 0,
            Some(Value::Str(s)) => go_bool(s).unwrap_or(false),
            _ => false,
        };
        Ok(Metadata {
            age,
            others,
            lastmodified: field("lastmodified"),
            mac: field("mac"),
            rule,
            mac_only_encrypted,
        })
    }
}

/// The data key, from the first `age` entry an identity here decrypts.
fn data_key(meta: &Metadata, identities: &Identities) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    if meta.age.is_empty() {
        return Err(SopsError::NoAgeRecipient {
            others: meta.others.clone(),
        });
    }
    let mut last = None;
    for (_, enc) in &meta.age {
        match decrypt(enc.as_bytes(), identities) {
            Ok(key) => {
                let key = Zeroizing::new(key);
                if key.len() != 32 {
                    return Err(SopsError::Malformed(format!(
                        "the data key is {} bytes, not 32",
                        key.len()
                    )));
                }
                return Ok(key);
            }
            // A damaged entry says more than "no identity" for another one.
            Err(e) => {
                if !matches!(last, Some(DecryptError::Corrupt(_))) {
                    last = Some(e);
                }
            }
        }
    }
    Err(SopsError::DataKey {
        recipients: meta.age.iter().map(|(r, _)| r.clone()).collect(),
        reason: last.unwrap_or(DecryptError::NotAge),
    })
}

/// The plaintext of a leaf (decrypted if the rule encrypts it) and the bytes the MAC takes of
/// it, which for ints, floats and booleans is sops' canonical text.
fn leaf(
    meta: &Metadata,
    cipher: &SopsGcm,
    value: &Value,
    names: &[&str],
) -> Result<(Secret, Secret), SopsError> {
    if !meta.rule.encrypts(names) {
        let bytes = Zeroizing::new(scalar_bytes(value));
        return Ok((bytes.clone(), bytes));
    }
    let path = names.join(".");
    let Value::Str(text) = value else {
        return Err(SopsError::Malformed(format!(
            "`{path}` should be encrypted but is {}",
            value.kind()
        )));
    };
    if text.is_empty() {
        return Ok((Zeroizing::new(Vec::new()), Zeroizing::new(Vec::new())));
    }
    let aad: String = names.iter().map(|n| format!("{n}:")).collect();
    let (plaintext, ty) = open(cipher, text, &aad).map_err(|e| match e {
        Open::Malformed(why) => SopsError::Malformed(format!("`{path}` {why}")),
        Open::Auth => SopsError::Tampered(format!(
            "the value of `{path}` fails authentication (changed, moved from another key, or from another file)"
        )),
    })?;
    let text = || std::str::from_utf8(&plaintext).ok();
    let bad = |what: &str| SopsError::Malformed(format!("`{path}` is typed {what} but is not one"));
    let hashed = match ty.as_str() {
        "str" | "bytes" | "time" | "comment" => plaintext.clone(),
        "int" => {
            let n: i64 = text()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| bad("int"))?;
            Zeroizing::new(n.to_string().into_bytes())
        }
        "float" => {
            let f: f64 = text()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| bad("float"))?;
            Zeroizing::new(go_float(f).into_bytes())
        }
        "bool" => {
            let b = text().and_then(go_bool).ok_or_else(|| bad("bool"))?;
            Zeroizing::new(if b {
                b"True".to_vec()
            } else {
                b"False".to_vec()
            })
        }
        _ => {
            return Err(SopsError::Malformed(format!(
                "`{path}` has an unknown type"
            )));
        }
    };
    Ok((plaintext, hashed))
}

enum Open {
    Malformed(&'static str),
    Auth,
}

/// Decrypts one `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]` value.
fn open(cipher: &SopsGcm, text: &str, aad: &str) -> Result<(Zeroizing<Vec<u8>>, String), Open> {
    const NOT_ENC: Open = Open::Malformed("is not an encrypted SOPS value");
    let rest = text
        .strip_prefix("ENC[AES256_GCM,data:")
        .and_then(|r| r.strip_suffix(']'))
        .ok_or(NOT_ENC)?;
    let (data, rest) = rest.split_once(",iv:").ok_or(NOT_ENC)?;
    let (iv, rest) = rest.split_once(",tag:").ok_or(NOT_ENC)?;
    let (tag, ty) = rest.split_once(",type:").ok_or(NOT_ENC)?;
    let b64 = |s: &str| {
        data_encoding::BASE64
            .decode(s.as_bytes())
            .map_err(|_| Open::Malformed("has a part that is not base64"))
    };
    let mut sealed = b64(data)?;
    let iv = b64(iv)?;
    let tag = b64(tag)?;
    if tag.len() != 16 {
        return Err(Open::Malformed("has a tag that is not 16 bytes"));
    }
    let nonce = aes_gcm::Nonce::<U32>::try_from(iv.as_slice())
        .map_err(|_| Open::Malformed("has an IV that is not 32 bytes"))?;
    sealed.extend_from_slice(&tag);
    let plaintext = cipher
        .decrypt(
            &nonce,
            Payload {
                msg: &sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| Open::Auth)?;
    Ok((Zeroizing::new(plaintext), ty.to_string()))
}

/// The running MAC over a document's leaves.
struct Mac<'a> {
    meta: &'a Metadata,
    cipher: &'a SopsGcm,
    hash: Sha512,
}

impl<'a> Mac<'a> {
    fn new(meta: &'a Metadata, cipher: &'a SopsGcm) -> Mac<'a> {
        let mut hash = Sha512::new();
        if meta.mac_only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        Mac { meta, cipher, hash }
    }

    /// Every leaf in document order; `names` are the mapping keys down to `value` (list
    /// indices are not part of a path in sops).
    fn walk<'v>(&mut self, value: &'v Value, names: &mut Vec<&'v str>) -> Result<(), SopsError> {
        match value {
            Value::Null => {}
            Value::Map(entries) => {
                for (k, v) in entries {
                    names.push(k.as_str());
                    self.walk(v, names)?;
                    names.pop();
                }
            }
            Value::Seq(items) => {
                for item in items {
                    self.walk(item, names)?;
                }
            }
            scalar => {
                let (_, hashed) = leaf(self.meta, self.cipher, scalar, names)?;
                if !self.meta.mac_only_encrypted || self.meta.rule.encrypts(names) {
                    self.hash.update(&hashed[..]);
                }
            }
        }
        Ok(())
    }

    /// Compares the MAC of the values with the one stored (encrypted) in the file.
    fn verify(self) -> Result<(), SopsError> {
        let meta = self.meta;
        let computed = data_encoding::HEXUPPER.encode(&self.hash.finalize()[..]);
        if meta.mac.is_empty() {
            return Err(SopsError::Tampered("it has no MAC (`sops.mac`)".into()));
        }
        let aad = go_rfc3339(&meta.lastmodified).ok_or_else(|| {
            SopsError::Malformed("`sops.lastmodified` is not an RFC 3339 time".into())
        })?;
        let (stored, _) = open(self.cipher, &meta.mac, &aad).map_err(|e| match e {
            Open::Malformed(why) => SopsError::Malformed(format!("`sops.mac` {why}")),
            Open::Auth => SopsError::Tampered(
                "its MAC fails authentication (`sops.mac` or `sops.lastmodified` was changed)"
                    .into(),
            ),
        })?;
        if stored.as_slice() != computed.as_bytes() {
            return Err(SopsError::Tampered(
                "its values do not match its MAC".into(),
            ));
        }
        Ok(())
    }
}

/// The node at a key path, with the mapping keys leading to it (the value's SOPS path).
fn lookup<'v>(root: &'v Value, target: &[&str]) -> Option<(&'v Value, Vec<&'v str>)> {
    let mut node = root;
    let mut names = Vec::new();
    for part in target {
        node = match node {
            Value::Map(entries) => {
                let (k, v) = entries.iter().find(|(k, _)| k == part)?;
                names.push(k.as_str());
                v
            }
            Value::Seq(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some((node, names))
}

/// A scalar as sops' `ToBytes` writes it.
fn scalar_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => go_float(*f).into_bytes(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Null | Value::Seq(_) | Value::Map(_) => Vec::new(),
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest decimal that reads back the same,
/// never in exponent form, which is also what Rust's `Display` writes, but for infinities.
fn go_float(f: f64) -> String {
    if f.is_infinite() {
        let sign = if f > 0.0 { '+' } else { '-' };
        format!("{sign}Inf")
    } else {
        f.to_string()
    }
}

/// Go's `strconv.ParseBool`.
fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `lastmodified` as Go writes it back after parsing (`time.RFC3339`): fractional seconds
/// dropped, a zero offset as `Z`. This is the additional data of the MAC.
fn go_rfc3339(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let zone = match rest {
        "Z" | "+00:00" | "-00:00" => "Z",
        z if z.len() == 6
            && (z.starts_with('+') || z.starts_with('-'))
            && z.as_bytes()[3] == b':'
            && z[1..3]
                .bytes()
                .chain(z[4..].bytes())
                .all(|c| c.is_ascii_digit()) =>
        {
            z
        }
        _ => return None,
    };
    Some(format!("{}{zone}", &s[..19]))
}

#[cfg(test)]
mod tests;
