//! `ring`, `pkcs8` and `sec1`: reading a private key in the forms openssl writes, and whether
//! it belongs to a certificate. Every form is turned into PKCS#8 first, the one form both ring
//! and rcgen read.

use pkcs8::PrivateKeyInfoRef;
use pkcs8::der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::AlgorithmIdentifierRef;
use ring::signature::{self, KeyPair};
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use super::{CertError, pem};

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Rsa => "RSA",
            Kind::P256 => "ECDSA P-256",
            Kind::P384 => "ECDSA P-384",
            Kind::Ed25519 => "Ed25519",
        }
    }

    fn of_ec_curve(curve: ObjectIdentifier) -> Result<Kind, CertError> {
        match curve {
            P256 => Ok(Kind::P256),
            P384 => Ok(Kind::P384),
            other => Err(CertError::UnsupportedKey {
                kind: format!("EC key on curve {}", curve_name(other)),
            }),
        }
    }
}

/// A private key that ring accepted, as PKCS#8, with the public key it derives.
pub(super) struct PrivateKey {
    kind: Kind,
    pkcs8: Zeroizing<Vec<u8>>,
    /// As in a certificate's subjectPublicKey: the RSAPublicKey DER for RSA, the uncompressed
    /// point for ECDSA, the 32 bytes for Ed25519.
    public: Vec<u8>,
}

impl std::fmt::Debug for PrivateKey {
    // Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// The first private key block of `input`; other blocks (certificates, `EC PARAMETERS`
    /// that `openssl ecparam -genkey` writes first) are skipped.
    pub(super) fn from_pem(input: &[u8]) -> Result<PrivateKey, CertError> {
        for block in pem::blocks(input, "private key")? {
            let wrap = match block.label {
                "CERTIFICATE" | "TRUSTED CERTIFICATE" | "EC PARAMETERS" => continue,
                "PRIVATE KEY" => None,
                "RSA PRIVATE KEY" => Some(Form::Pkcs1),
                "EC PRIVATE KEY" => Some(Form::Sec1),
                "ENCRYPTED PRIVATE KEY" => return Err(CertError::EncryptedKey),
                "OPENSSH PRIVATE KEY" => return Err(unsupported("OpenSSH-format key")),
                "DSA PRIVATE KEY" => return Err(unsupported("DSA key")),
                other => return Err(unsupported(&format!("PEM block `{other}`"))),
            };
            let der = block.decode("private key")?;
            let pkcs8 = match wrap {
                None => der,
                Some(form) => form.to_pkcs8(&der)?,
            };
            return PrivateKey::from_pkcs8(pkcs8);
        }
        Err(CertError::NoKey)
    }

    fn from_pkcs8(pkcs8: Zeroizing<Vec<u8>>) -> Result<PrivateKey, CertError> {
        let info = PrivateKeyInfoRef::from_der(&pkcs8).map_err(|error| CertError::Pem {
            what: "private key",
            reason: format!("not a PKCS#8 private key: {error}"),
        })?;
        let kind = match info.algorithm.oid {
            RSA => Kind::Rsa,
            EC => {
                let curve = info.algorithm.parameters_oid().map_err(|_| {
                    unsupported("EC key without a named curve (explicit parameters)")
                })?;
                Kind::of_ec_curve(curve)?
            }
            ED25519 => Kind::Ed25519,
            other => return Err(unsupported(algorithm_name(other))),
        };
        let rejected = |error: ring::error::KeyRejected| CertError::BadKey {
            kind: kind.name(),
            reason: error.to_string(),
        };
        let public = match kind {
            Kind::Rsa => signature::RsaKeyPair::from_pkcs8(&pkcs8)
                .map_err(rejected)?
                .public_key()
                .as_ref()
                .to_vec(),
            Kind::P256 | Kind::P384 => {
                let alg = if kind == Kind::P256 {
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let rng = ring::rand::SystemRandom::new();
                signature::EcdsaKeyPair::from_pkcs8(alg, &pkcs8, &rng)
                    .map_err(rejected)?
                    .public_key()
                    .as_ref()
                    .to_vec()
            }
            // openssl writes PKCS#8 v1, without the public key ring's `from_pkcs8` insists on.
            Kind::Ed25519 => signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
                .map_err(rejected)?
                .public_key()
                .as_ref()
                .to_vec(),
        };
        Ok(PrivateKey {
            kind,
            pkcs8,
            public,
        })
    }

    /// Whether `spki` (a certificate's) is this key's public key: same algorithm, same curve,
    /// same bytes.
    pub(super) fn matches(&self, spki: &SubjectPublicKeyInfoOwned) -> bool {
        let kind = match spki.algorithm.oid {
            RSA => Kind::Rsa,
            EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                match curve.map(Kind::of_ec_curve) {
                    Some(Ok(kind)) => kind,
                    _ => return false,
                }
            }
            ED25519 => Kind::Ed25519,
            _ => return false,
        };
        kind == self.kind && spki.subject_public_key.as_bytes() == Some(self.public.as_slice())
    }

    pub(super) fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub(super) fn is_p256(&self) -> bool {
        self.kind == Kind::P256
    }

    pub(super) fn kind_name(&self) -> &'static str {
        self.kind.name()
    }
}

/// The traditional forms openssl writes.
#[derive(Clone, Copy)]
enum Form {
    /// `RSA PRIVATE KEY`: an RSAPrivateKey.
    Pkcs1,
    /// `EC PRIVATE KEY`: an ECPrivateKey naming its curve.
    Sec1,
}

impl Form {
    /// The same key as a PKCS#8 PrivateKeyInfo, which holds the traditional structure as is.
    fn to_pkcs8(self, der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CertError> {
        let (kind, parameters) = match self {
            Form::Pkcs1 => (Kind::Rsa, AnyRef::NULL),
            Form::Sec1 => {
                let key = sec1::EcPrivateKey::from_der(der).map_err(|error| CertError::Pem {
                    what: "private key",
                    reason: format!("not a SEC1 EC private key: {error}"),
                })?;
                let curve = key
                    .parameters
                    .and_then(|p| p.named_curve())
                    .ok_or_else(|| unsupported("SEC1 EC key without a named curve"))?;
                let kind = Kind::of_ec_curve(curve)?;
                let parameters = match kind {
                    Kind::P384 => AnyRef::from(&P384),
                    _ => AnyRef::from(&P256),
                };
                (kind, parameters)
            }
        };
        let oid = if kind == Kind::Rsa { RSA } else { EC };
        let key = OctetStringRef::new(der).map_err(|error| encode_error(kind, error))?;
        let info = PrivateKeyInfoRef::new(
            AlgorithmIdentifierRef {
                oid,
                parameters: Some(parameters),
            },
            key,
        );
        let mut out = Zeroizing::new(Vec::new());
        info.encode_to_vec(&mut out)
            .map_err(|error| encode_error(kind, error))?;
        Ok(out)
    }
}

fn encode_error(kind: Kind, error: pkcs8::der::Error) -> CertError {
    CertError::BadKey {
        kind: kind.name(),
        reason: format!("cannot convert it to PKCS#8: {error}"),
    }
}

fn unsupported(kind: &str) -> CertError {
    CertError::UnsupportedKey { kind: kind.into() }
}

fn algorithm_name(oid: ObjectIdentifier) -> &'static str {
    match oid.to_string().as_str() {
        "1.2.840.113549.1.1.10" => "RSA-PSS key",
        "1.2.840.10040.4.1" => "DSA key",
        "1.3.101.113" => "Ed448 key",
        "1.3.101.110" | "1.3.101.111" => "X25519/X448 key (for key agreement, not signing)",
        "1.2.156.10197.1.301" => "SM2 key",
        _ => "key of an unknown algorithm",
    }
}

fn curve_name(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.132.0.35" => "P-521".into(),
        "1.3.132.0.10" => "secp256k1".into(),
        other => other.into(),
    }
}
