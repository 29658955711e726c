//! TLS at fleet's HAProxy balancers: the X.509 edge.
//!
//! This module owns certificates and their private keys as bytes: reading a PEM chain and key
//! and saying what they are (`inspect`, `inspect_certificate`), whether a certificate name
//! covers a host (`name_covers`), and issuing a project CA and leaf certificates signed by it
//! (`new_ca`, `issue`). Pure functions on bytes: reading files, delivering them to hosts and
//! the command line are elsewhere. It is the only place that names `x509-cert` (`cert.rs`),
//! `ring`, `pkcs8` and `sec1` (`key.rs`), `rcgen` (`issue.rs`) and `p256` (`derive.rs`);
//! nothing here is hand-written cryptography.
//!
//! Issuing is deterministic: the same CA, names, serial and validity give the same leaf key
//! and, for a P-256 CA, the same certificate byte for byte (`derive.rs`), since RFC 5280 allows
//! one certificate per issuer and serial and fleet issues a period's certificate again on every
//! run and for every host.
//!
//! Invariants: no input makes these functions panic, and no error message or `Debug` output
//! carries key material (key kinds, subjects and names only). Private keys handed back are
//! `Zeroizing`, and decoded key bytes are held in `Zeroizing` buffers while they are used.

mod cert;
mod derive;
mod issue;
mod key;
mod pem;
#[cfg(test)]
mod tests;

use zeroize::Zeroizing;

/// What fleet shows and checks about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The DNS names the certificate is for: its subjectAltName dNSName entries, lowercased;
    /// the subject's common name only when there is no subjectAltName extension (as
    /// RFC 6125 clients do).
    pub names: Vec<String>,
    /// Hex, uppercase, bytes separated by colons, without a leading `00` sign byte.
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// Lowercase hex SHA-256 of the certificate's DER: the fingerprint browsers and
    /// `openssl x509 -fingerprint -sha256` show.
    pub sha256: String,
    /// RFC 4514, e.g. `CN=shop.example.com,O=fleet`.
    pub subject: String,
    pub issuer: String,
    /// The issuer's name is the subject's (a CA certificate, or a test certificate).
    pub self_signed: bool,
}

/// Why certificates or keys were not read, or not issued. Names certificates by subject and
/// keys by kind; never carries key bytes.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("the {what} is not valid PEM: {reason}")]
    Pem { what: &'static str, reason: String },
    #[error("no certificate found (expected a `-----BEGIN CERTIFICATE-----` block)")]
    NoCertificate,
    /// `index` counts from 1: the leaf is certificate 1.
    #[error("certificate {index} of the PEM is not a valid X.509 certificate: {reason}")]
    Certificate { index: usize, reason: String },
    #[error(
        "no private key found (expected a `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)"
    )]
    NoKey,
    #[error("the private key is passphrase-protected, and fleet needs it unencrypted")]
    EncryptedKey,
    #[error(
        "unsupported private key: {kind} (fleet reads RSA, ECDSA P-256/P-384 and Ed25519 keys)"
    )]
    UnsupportedKey { kind: String },
    /// `reason` is the parser's word for what is wrong (`InvalidEncoding`, `TooSmall`, ...).
    #[error("the {kind} private key cannot be used: {reason}")]
    BadKey { kind: &'static str, reason: String },
    #[error("the private key does not belong to the certificate for `{subject}`")]
    KeyMismatch { subject: String },
    #[error("the CA key does not belong to the CA certificate for `{subject}`")]
    CaKeyMismatch { subject: String },
    #[error("cannot issue a certificate: {reason}")]
    Issue { reason: String },
}

/// Reads a PEM chain (the leaf first; any further certificates are its chain) and a PEM
/// private key, and checks that the key belongs to the leaf: the public key derived from the
/// private key must be the leaf's. Keys: PKCS#8 `PRIVATE KEY` (RSA, ECDSA P-256/P-384,
/// Ed25519), PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY` (P-256/P-384). Other PEM blocks
/// in either input are skipped, so one HAProxy-style file holding both can be passed twice.
pub fn inspect(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertInfo, CertError> {
    let chain = cert::read_chain(cert_pem)?;
    let leaf = chain.first().ok_or(CertError::NoCertificate)?;
    let key = key::PrivateKey::from_pem(key_pem)?;
    if !key.matches(leaf.public_key()) {
        return Err(CertError::KeyMismatch {
            subject: leaf.subject(),
        });
    }
    leaf.info()
}

/// Only the certificates of a PEM text, each block as written, one after the other: what may be
/// shown or shipped of a file that could also hold a key.
pub fn certificates_only(pem: &[u8]) -> Result<String, CertError> {
    let mut out = String::new();
    for block in pem::blocks(pem, "certificate")? {
        if block.label == "CERTIFICATE" {
            out.push_str(&String::from_utf8_lossy(block.text()));
            out.push('\n');
        }
    }
    if out.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(out)
}

/// Reads only a certificate (the first of the PEM), e.g. a CA certificate for status output.
pub fn inspect_certificate(cert_pem: &[u8]) -> Result<CertInfo, CertError> {
    let chain = cert::read_chain(cert_pem)?;
    chain.first().ok_or(CertError::NoCertificate)?.info()
}

/// Whether the certificate name `cert_name` covers the host name `host`, as RFC 6125 says:
/// case-insensitive (ASCII; internationalized names are compared as A-labels), one trailing
/// dot ignored; a wildcard is only a whole leftmost label, `*.example.com`, and covers exactly
/// one label there: `a.example.com`, but neither `example.com` nor `a.b.example.com`. A
/// wildcard needs two labels after it (`*.com` covers nothing), since no CA issues those. A
/// host that is itself a wildcard is covered only by the identical wildcard name, because a
/// certificate for `*.example.com` is what such a host needs.
pub fn name_covers(cert_name: &str, host: &str) -> bool {
    let cert_name = normalize(cert_name);
    let host = normalize(host);
    if cert_name.is_empty() || host.is_empty() {
        return false;
    }
    if host.contains('*') {
        return cert_name == host;
    }
    let Some(suffix) = cert_name.strip_prefix("*.") else {
        // A `*` anywhere else (`f*.example.com`) is a partial wildcard RFC 6125 lets clients
        // refuse; such a name covers nothing, since no host name holds a `*`.
        return cert_name == host;
    };
    if suffix.contains('*') || !suffix.contains('.') || suffix.starts_with('.') {
        return false;
    }
    match host.split_once('.') {
        Some((first, rest)) => !first.is_empty() && rest == suffix,
        None => false,
    }
}

fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// A new project CA: a fresh ECDSA P-256 key, self-signed, a CA that can sign leaves but no
/// further CAs (path length 0), key usage keyCertSign and cRLSign, subject `O=fleet` and
/// `CN=common_name`, valid from an hour before `now` (unix seconds; clocks differ) for ten
/// years. Returns the certificate PEM and the key as PKCS#8 PEM.
pub fn new_ca(common_name: &str, now: i64) -> Result<(String, Zeroizing<String>), CertError> {
    issue::new_ca(common_name, now)
}

/// A leaf certificate for `names` (DNS names, wildcards allowed; the subject CN is the first)
/// signed by the CA: an ECDSA P-256 key derived from the CA key and the certificate's names,
/// serial and validity, for TLS servers (serverAuth, digitalSignature),
/// not a CA, with the serial given (big-endian bytes, a positive number of at most 20 bytes)
/// and validity (unix seconds). The issuer name is the CA certificate's subject byte for
/// byte, so OpenSSL and others find the CA. Fails when the CA key does not belong to the CA
/// certificate. Returns the certificate PEM and the key as PKCS#8 PEM: the same bytes for the
/// same inputs when the CA key is ECDSA P-256 (as `new_ca` makes it), RSA or Ed25519 (a P-384
/// CA's signature is randomized by ring).
pub fn issue(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    names: &[String],
    serial: &[u8],
    not_before: i64,
    not_after: i64,
) -> Result<(String, Zeroizing<String>), CertError> {
    issue::issue(
        ca_cert_pem,
        ca_key_pem,
        names,
        serial,
        not_before,
        not_after,
    )
}
