//! `p256` and `hmac`: what makes issuing deterministic. RFC 5280 allows one certificate per
//! issuer and serial (Firefox refuses a second one with SEC_ERROR_REUSED_ISSUER_AND_SERIAL),
//! and fleet issues the certificate of a period again on every run and for every host. So the
//! same CA key, names, serial and validity give the same leaf key (derived from the CA key
//! with HMAC-SHA256) and, for a P-256 CA, the same signature (RFC 6979 ECDSA instead of ring's
//! randomized one): the same certificate byte for byte.

use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::DerSignature;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// Domain separation: a leaf key is derived for nothing else.
const LEAF_KEY_CONTEXT: &[u8] = b"fleet leaf key v1\0";
/// A candidate is at or above the group order with probability below 2^-32: one more attempt
/// almost never happens, 64 failing in a row does not.
const MAX_ATTEMPTS: u32 = 64;

/// The project CA's P-256 key, signing for rcgen with deterministic ECDSA (RFC 6979).
pub(super) struct P256Signer {
    key: p256::ecdsa::SigningKey,
    /// The uncompressed point, as in the CA certificate.
    public: Vec<u8>,
    /// The private scalar, big-endian: what leaf keys are derived from, the same whatever
    /// form (PKCS#8 with or without the public key, SEC1) the CA key was read in.
    secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for P256Signer {
    // Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P256Signer").finish_non_exhaustive()
    }
}

impl P256Signer {
    /// A P-256 PKCS#8 private key; the error is the parser's word, without key bytes.
    pub(super) fn from_pkcs8(der: &[u8]) -> Result<P256Signer, String> {
        let secret = p256::SecretKey::from_pkcs8_der(der).map_err(|error| error.to_string())?;
        let mut scalar = secret.to_bytes();
        let secret_bytes = Zeroizing::new(scalar.to_vec());
        scalar.as_mut_slice().zeroize();
        let key = p256::ecdsa::SigningKey::from(secret);
        let public = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        Ok(P256Signer {
            key,
            public,
            secret: secret_bytes,
        })
    }

    pub(super) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl PublicKeyData for P256Signer {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for P256Signer {
    /// ECDSA with SHA-256 over `msg`, DER-encoded as X.509 wants it; the nonce is RFC 6979's.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: DerSignature = self
            .key
            .try_sign(msg)
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(signature.as_bytes().to_vec())
    }
}

/// A leaf's P-256 key pair.
pub(super) struct LeafKey {
    secret: p256::SecretKey,
    /// The uncompressed point, as in the certificate.
    public: Vec<u8>,
}

impl std::fmt::Debug for LeafKey {
    // Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafKey").finish_non_exhaustive()
    }
}

impl LeafKey {
    /// The key as a `PRIVATE KEY` (PKCS#8, with its public key) PEM block.
    pub(super) fn pkcs8_pem(&self) -> Result<Zeroizing<String>, String> {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| error.to_string())
    }
}

impl PublicKeyData for LeafKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The leaf key for a certificate: its private scalar is HMAC-SHA256, keyed by the CA's secret,
/// of the context, an attempt counter and everything that makes the certificate (serial,
/// validity, names, each length-prefixed), taken again with the next counter in the rare case
/// it is not a valid scalar (zero, or not below the group order). Who has the CA key can issue
/// any certificate anyway, so deriving the leaf's key from it gives nobody anything new.
pub(super) fn leaf_key(
    ca_secret: &[u8],
    names: &[String],
    serial: &[u8],
    not_before: i64,
    not_after: i64,
) -> Result<LeafKey, String> {
    for attempt in 0..MAX_ATTEMPTS {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(ca_secret)
            .map_err(|_| "the CA key cannot key HMAC".to_string())?;
        mac.update(LEAF_KEY_CONTEXT);
        mac.update(&attempt.to_be_bytes());
        field(&mut mac, serial);
        mac.update(&not_before.to_be_bytes());
        mac.update(&not_after.to_be_bytes());
        mac.update(&length(names.len()));
        for name in names {
            field(&mut mac, name.as_bytes());
        }
        let mut candidate = mac.finalize().into_bytes();
        let secret = p256::SecretKey::from_slice(&candidate);
        candidate.as_mut_slice().zeroize();
        if let Ok(secret) = secret {
            let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
            return Ok(LeafKey { secret, public });
        }
    }
    Err("no valid leaf key could be derived".into())
}

fn field(mac: &mut Hmac<Sha256>, bytes: &[u8]) {
    mac.update(&length(bytes.len()));
    mac.update(bytes);
}

fn length(len: usize) -> [u8; 8] {
    u64::try_from(len).unwrap_or(u64::MAX).to_be_bytes()
}
