//! The content of a desired state's secrets and configs, with this machine's identities for
//! the encrypted ones: what `fleet plan`, `apply` and `watch` deliver.

use std::cell::OnceCell;

use super::{Identities, SecretError, SopsFormat, decrypt, sops_value};
use crate::payload::{Payload, PayloadError};
use crate::spec::{Desired, Files};

/// Reads the secrets and configs the services of `desired` mount from `files` (one commit).
/// Identities are looked for only when an encrypted secret is used, in the usual places (see
/// [`Identities::load`]); a secret no identity can decrypt is an error naming its file, who it
/// is encrypted to, and what was tried.
pub fn read_payload(desired: &Desired, files: &dyn Files) -> Result<Payload, Vec<PayloadError>> {
    let identities: OnceCell<Result<Identities, SecretError>> = OnceCell::new();
    let decrypt_one = |path: &str, key: Option<&str>, bytes: &[u8]| -> Result<Vec<u8>, String> {
        let loaded = identities.get_or_init(|| {
            Identities::load(
                &|name| std::env::var(name).ok(),
                dirs::home_dir().as_deref(),
            )
        });
        let identities = loaded
            .as_ref()
            .map_err(|e| with_hint(e.to_string(), e.hint()))?;
        match key {
            None => decrypt(bytes, identities).map_err(|e| with_hint(e.to_string(), e.hint())),
            Some(key) => {
                let format = SopsFormat::from_path(path)
                    .ok_or_else(|| "not a .yaml, .yml, .json or .env SOPS file".to_string())?;
                sops_value(bytes, format, key, identities)
                    .map_err(|e| with_hint(e.to_string(), e.hint()))
            }
        }
    };
    Payload::read(desired, files, &decrypt_one)
}

fn with_hint(message: String, hint: Option<String>) -> String {
    match hint {
        Some(hint) => format!("{message} ({hint})"),
        None => message,
    }
}
