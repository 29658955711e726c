//! Secrets kept encrypted in the repository: age files (binary or ASCII-armored), decrypted on
//! the machine running fleet and never anywhere else.
//!
//! This module owns the cryptography edge only: finding the identities that can decrypt
//! (`Identities`), decrypting, encrypting to recipients given as text, and a keyed digest of a
//! secret's content for the spec hash, and reading a desired state's payload with this
//! machine's identities (`read_payload`), and reading one value of a SOPS file whose data key
//! is encrypted to age recipients (`sops_value`, in `sops.rs`: AES-256-GCM values and the MAC,
//! with the RustCrypto `aes-gcm` crate). Delivery to hosts and the command line are elsewhere.
//! `age.rs` is the only file that names the `age` crate; nothing here is hand-written crypto.
//!
//! Invariants: no error message, `Debug` output or source note carries plaintext or secret key
//! material (paths, key kinds and public tags only), and a secret's content reaches a label or
//! hash only through `digest`, which is keyed, so a label does not let anyone test guesses.

mod age;
mod read;
mod sops;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub use self::age::{Identities, decrypt, encrypt, generate, recipients_of};
pub use self::read::read_payload;
pub use self::sops::{SopsError, SopsFormat, sops_value};

/// An identity file that exists but cannot be used. Missing files are not errors (they are
/// skipped when looking in the usual places); these are.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read age identities from `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `reason` comes from the parser and names a line number, never the line.
    #[error("`{}` is neither an age identity file nor an SSH private key: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("`{}` holds no age identity", path.display())]
    Empty { path: PathBuf },
    #[error("`{}` is a passphrase-protected SSH key, and fleet does not ask for passphrases", path.display())]
    Encrypted { path: PathBuf },
    #[error("`{}` is an SSH key age cannot use ({kind})", path.display())]
    Unsupported { path: PathBuf, kind: String },
}

impl SecretError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SecretError::Parse { .. } | SecretError::Empty { .. } => Some(
                "an identity file holds `AGE-SECRET-KEY-1...` lines (as `age-keygen` writes them), or is an unencrypted ssh-ed25519 or ssh-rsa private key".into(),
            ),
            SecretError::Encrypted { path } | SecretError::Unsupported { path, .. } => Some(format!(
                "use an age key file (`age-keygen -o ~/.config/fleet/age/keys.txt`) or an unencrypted ssh-ed25519/ssh-rsa key instead of `{}`",
                path.display()
            )),
            SecretError::Read { .. } => None,
        }
    }
}

/// Why an age file was not decrypted. Recipients and identities are described by kind, path
/// and public tag, so these messages are safe to print and log.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    #[error(
        "not an age file (it starts with neither `age-encryption.org/v1` nor `-----BEGIN AGE ENCRYPTED FILE-----`)"
    )]
    NotAge,
    #[error(
        "no age identity on this machine to decrypt with (the file is encrypted to {})",
        list(recipients)
    )]
    NoIdentity { recipients: Vec<String> },
    #[error(
        "no identity on this machine can decrypt this file: it is encrypted to {}, and fleet tried {}",
        list(recipients),
        list(tried)
    )]
    NoMatchingIdentity {
        recipients: Vec<String>,
        tried: Vec<String>,
    },
    /// The header or the payload failed authentication: the file was damaged or tampered with.
    #[error("the age file is corrupt or was tampered with ({0})")]
    Corrupt(String),
}

impl DecryptError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            DecryptError::NoIdentity { .. } | DecryptError::NoMatchingIdentity { .. } => Some(
                "put the matching key in ~/.config/fleet/age/keys.txt, or name its file in FLEET_AGE_KEY_FILE (or SOPS_AGE_KEY_FILE); unencrypted ~/.ssh/id_ed25519 and ~/.ssh/id_rsa are tried too".into(),
            ),
            DecryptError::Corrupt(_) => {
                Some("restore the file from git history, or encrypt the secret again".into())
            }
            DecryptError::NotAge => None,
        }
    }
}

/// Why a secret was not encrypted.
#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    #[error("`{recipient}` is not an age recipient: {reason}")]
    BadRecipient { recipient: String, reason: String },
    #[error("no recipient to encrypt to")]
    NoRecipients,
    #[error("cannot encrypt: {0}")]
    Failed(String),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

/// A keyed digest of a secret's content for the spec hash: HMAC-SHA256 over `plaintext` keyed
/// by `key`, as 64 lowercase hex characters. Keyed because the digest ends up in container
/// labels that anyone with access to the engine can read: a plain hash of a short secret (a
/// password, a PIN) could be brute-forced from it.
pub fn digest(key: &[u8], plaintext: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(plaintext);
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
}
