//! `rcgen`: issuing the project CA and leaf certificates.
//!
//! rcgen reads no certificates here (its `x509-parser` feature is off), so the issuer is
//! rebuilt from the CA certificate as `x509-cert` reads it: its subject attribute by attribute
//! with the same string types, and its subjectKeyIdentifier for the leaf's
//! authorityKeyIdentifier. Every leaf is read back and its issuer compared with the CA's
//! subject byte for byte, so a name rcgen would write differently fails here, not in a client.
//!
//! rcgen writes serial, validity, names and extensions as given, and its key identifiers are
//! hashes of public keys; leaf keys and P-256 signatures come from `derive.rs`. So nothing in
//! a leaf is random, and issuing it again gives the same bytes.

use rcgen::string::{Ia5String, PrintableString};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData,
    SanType, SerialNumber, SignatureAlgorithm, SigningKey,
};
use ring::rand::SecureRandom;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::cert::{self, StringType};
use super::{CertError, derive, key};

/// How long before `now` a new CA is valid from, for hosts whose clocks are behind.
const CA_BACKDATE_SECS: i64 = 3600;
/// Ten years, counting the leap days.
const CA_LIFETIME_SECS: i64 = 3653 * 24 * 3600;
/// RFC 5280: serials are at most 20 octets, encoded (with a sign byte when needed).
const MAX_SERIAL_OCTETS: usize = 20;

pub(super) fn new_ca(
    common_name: &str,
    now: i64,
) -> Result<(String, Zeroizing<String>), CertError> {
    if common_name.trim().is_empty() {
        return Err(issue_error("the CA needs a common name"));
    }
    let not_before = now
        .checked_sub(CA_BACKDATE_SECS)
        .ok_or_else(|| issue_error("the time given is out of range"))?;
    let not_after = not_before
        .checked_add(CA_LIFETIME_SECS)
        .ok_or_else(|| issue_error("the time given is out of range"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "fleet");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    params.not_before = datetime(not_before)?;
    params.not_after = datetime(not_after)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(rcgen_error)?;
    let cert = params.self_signed(&key).map_err(rcgen_error)?;
    Ok((cert.pem(), Zeroizing::new(key.serialize_pem())))
}

pub(super) fn issue(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    names: &[String],
    serial: &[u8],
    not_before: i64,
    not_after: i64,
) -> Result<(String, Zeroizing<String>), CertError> {
    let ca_chain = cert::read_chain(ca_cert_pem.as_bytes())?;
    let ca = ca_chain.first().ok_or(CertError::NoCertificate)?;
    let ca_key = key::PrivateKey::from_pem(ca_key_pem.as_bytes())?;
    if !ca_key.matches(ca.public_key()) {
        return Err(CertError::CaKeyMismatch {
            subject: ca.subject(),
        });
    }
    let ca_signer =
        if ca_key.is_p256() {
            CaSigner::P256(derive::P256Signer::from_pkcs8(ca_key.pkcs8_der()).map_err(
                |reason| CertError::BadKey {
                    kind: ca_key.kind_name(),
                    reason,
                },
            )?)
        } else {
            CaSigner::Ring(KeyPair::try_from(ca_key.pkcs8_der()).map_err(|error| {
                CertError::BadKey {
                    kind: ca_key.kind_name(),
                    reason: format!("rcgen cannot sign with it: {error}"),
                }
            })?)
        };
    let ca_ski = ca.subject_key_id()?;

    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = distinguished_name(ca.subject_name()).map_err(|reason| {
        issue_error(&format!(
            "the CA's subject `{}` cannot be written as an issuer: {reason}",
            ca.subject()
        ))
    })?;
    if let Some(ski) = &ca_ski {
        ca_params.key_identifier_method = KeyIdMethod::PreSpecified(ski.clone());
    }
    // Leaf keys are derived from the CA key: a P-256 key by its scalar, so its PEM form does
    // not matter; another kind by its PKCS#8 bytes.
    let ca_secret = Zeroizing::new(ca_signer.secret(&ca_key).to_vec());
    let issuer = Issuer::new(ca_params, ca_signer);

    let mut params = CertificateParams::default();
    params.subject_alt_names = dns_names(names)?;
    params.distinguished_name = DistinguishedName::new();
    // `dns_names` refused an empty list.
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(DnType::CommonName, first.as_str());
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serial = checked_serial(serial)?;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    if not_before >= not_after {
        return Err(issue_error("the validity ends before it starts"));
    }
    params.not_before = datetime(not_before)?;
    params.not_after = datetime(not_after)?;
    // Without a CA key identifier to name, clients find the CA by name alone.
    params.use_authority_key_identifier_extension = ca_ski.is_some();

    let key = derive::leaf_key(&ca_secret, names, &serial, not_before, not_after)
        .map_err(|reason| issue_error(&format!("the leaf key: {reason}")))?;
    let leaf = params.signed_by(&key, &issuer).map_err(rcgen_error)?;

    let issued = cert::from_der(leaf.der())?;
    if cert::name_der(issued.issuer_name())? != cert::name_der(ca.subject_name())? {
        return Err(issue_error(&format!(
            "the leaf's issuer would not be the CA's subject `{}` byte for byte",
            ca.subject()
        )));
    }
    let key_pem = key
        .pkcs8_pem()
        .map_err(|reason| issue_error(&format!("the leaf key cannot be written: {reason}")))?;
    Ok((leaf.pem(), key_pem))
}

/// What signs for the CA: a P-256 key deterministically (RFC 6979, so a certificate issued
/// again is the same bytes), another kind with ring (RSA PKCS#1 v1.5 and Ed25519 signatures are
/// deterministic as well; ring's P-384 ECDSA is not).
enum CaSigner {
    P256(derive::P256Signer),
    Ring(KeyPair),
}

impl CaSigner {
    /// The secret leaf keys are derived from.
    fn secret<'a>(&'a self, ca_key: &'a key::PrivateKey) -> &'a [u8] {
        match self {
            CaSigner::P256(signer) => signer.secret(),
            CaSigner::Ring(_) => ca_key.pkcs8_der(),
        }
    }
}

impl PublicKeyData for CaSigner {
    fn der_bytes(&self) -> &[u8] {
        match self {
            CaSigner::P256(signer) => signer.der_bytes(),
            CaSigner::Ring(pair) => pair.der_bytes(),
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            CaSigner::P256(signer) => signer.algorithm(),
            CaSigner::Ring(pair) => pair.algorithm(),
        }
    }
}

impl SigningKey for CaSigner {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            CaSigner::P256(signer) => signer.sign(msg),
            CaSigner::Ring(pair) => pair.sign(msg),
        }
    }
}

/// `name` as rcgen writes it: the same attributes in the same order with the same string
/// types. rcgen keeps one value per attribute type, so a repeated type is refused.
fn distinguished_name(name: &x509_cert::name::Name) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    for attribute in cert::attributes(name)? {
        let ty = DnType::from_oid(&attribute.oid);
        if dn.get(&ty).is_some() {
            return Err("it repeats an attribute type".into());
        }
        let value = match attribute.string_type {
            StringType::Utf8 => DnValue::Utf8String(attribute.value),
            StringType::Printable => DnValue::PrintableString(
                PrintableString::try_from(attribute.value)
                    .map_err(|_| "a PrintableString holds characters it may not".to_string())?,
            ),
            StringType::Ia5 => DnValue::Ia5String(
                Ia5String::try_from(attribute.value)
                    .map_err(|_| "an IA5String holds characters it may not".to_string())?,
            ),
        };
        dn.push(ty, value);
    }
    Ok(dn)
}

fn dns_names(names: &[String]) -> Result<Vec<SanType>, CertError> {
    if names.is_empty() {
        return Err(issue_error("a certificate needs at least one name"));
    }
    names
        .iter()
        .map(|name| {
            if !is_dns_name(name) {
                return Err(issue_error(&format!("`{name}` is not a DNS name")));
            }
            Ia5String::try_from(name.as_str())
                .map(SanType::DnsName)
                .map_err(|_| issue_error(&format!("`{name}` is not a DNS name")))
        })
        .collect()
}

/// Letters, digits, `-` and `_` in non-empty labels, and a `*` only as the whole first label:
/// what a certificate name can be. Internationalized names are given as A-labels (`xn--`).
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The serial without leading zero bytes; positive and at most 20 octets once encoded.
fn checked_serial(serial: &[u8]) -> Result<Vec<u8>, CertError> {
    let start = serial
        .iter()
        .position(|b| *b != 0)
        .ok_or_else(|| issue_error("the serial must be a positive number"))?;
    let digits = serial.get(start..).unwrap_or_default();
    let sign_byte = digits.first().is_some_and(|b| b & 0x80 != 0);
    if digits.len() + usize::from(sign_byte) > MAX_SERIAL_OCTETS {
        return Err(issue_error("the serial is longer than 20 octets"));
    }
    Ok(digits.to_vec())
}

/// 16 random bytes, first bit clear so the DER needs no sign byte, never zero.
fn random_serial() -> Result<[u8; 16], CertError> {
    let mut serial = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| issue_error("no randomness for a serial"))?;
    serial[0] = (serial[0] & 0x7f) | 0x01;
    Ok(serial)
}

fn datetime(unix: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| issue_error(&format!("the time {unix} is out of range")))
}

fn rcgen_error(error: rcgen::Error) -> CertError {
    issue_error(&error.to_string())
}

fn issue_error(reason: &str) -> CertError {
    CertError::Issue {
        reason: reason.into(),
    }
}
