//! The `x509-cert` crate: reading certificates and what fleet shows about them.

use data_encoding::{HEXLOWER, HEXUPPER};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{SubjectAltName, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Time;

use super::{CertError, CertInfo, pem};

/// A parsed certificate with the DER it was read from (the fingerprint is over those bytes,
/// not a re-encoding).
pub(super) struct Parsed {
    der: Vec<u8>,
    cert: Certificate,
    /// Counting from 1, for errors about this certificate.
    index: usize,
}

/// The certificates of a PEM, in order; other blocks (keys) are skipped. At least one.
pub(super) fn read_chain(input: &[u8]) -> Result<Vec<Parsed>, CertError> {
    let mut chain = Vec::new();
    for block in pem::blocks(input, "certificate")? {
        if block.label != "CERTIFICATE" {
            continue;
        }
        let index = chain.len() + 1;
        // Certificates are public: no need to keep the buffer zeroizing.
        let der = block.decode("certificate")?.to_vec();
        chain.push(Parsed::from_der(der, index)?);
    }
    if chain.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(chain)
}

/// One DER certificate (from rcgen, which hands back DER).
pub(super) fn from_der(der: &[u8]) -> Result<Parsed, CertError> {
    Parsed::from_der(der.to_vec(), 1)
}

impl Parsed {
    fn from_der(der: Vec<u8>, index: usize) -> Result<Parsed, CertError> {
        let cert = Certificate::from_der(&der).map_err(|error| CertError::Certificate {
            index,
            reason: error.to_string(),
        })?;
        Ok(Parsed { der, cert, index })
    }

    pub(super) fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        self.cert.tbs_certificate().subject_public_key_info()
    }

    pub(super) fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    pub(super) fn subject_name(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    pub(super) fn issuer_name(&self) -> &Name {
        self.cert.tbs_certificate().issuer()
    }

    /// The subjectKeyIdentifier extension's bytes, if there is one.
    pub(super) fn subject_key_id(&self) -> Result<Option<Vec<u8>>, CertError> {
        match self
            .cert
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
        {
            Ok(found) => Ok(found.map(|(_, ski)| ski.0.as_bytes().to_vec())),
            Err(error) => Err(self.invalid("subjectKeyIdentifier", error)),
        }
    }

    pub(super) fn info(&self) -> Result<CertInfo, CertError> {
        let tbs = self.cert.tbs_certificate();
        let validity = tbs.validity();
        Ok(CertInfo {
            names: self.names()?,
            serial: serial_hex(tbs.serial_number().as_bytes()),
            not_before: unix(&validity.not_before),
            not_after: unix(&validity.not_after),
            sha256: HEXLOWER.encode(&Sha256::digest(&self.der)),
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            self_signed: tbs.issuer() == tbs.subject(),
        })
    }

    /// subjectAltName's DNS names; the CN only without the extension, as RFC 6125 clients look.
    fn names(&self) -> Result<Vec<String>, CertError> {
        let tbs = self.cert.tbs_certificate();
        match tbs.get_extension::<SubjectAltName>() {
            Ok(Some((_, san))) => Ok(san
                .0
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DnsName(dns) => Some(dns.as_str().to_ascii_lowercase()),
                    _ => None,
                })
                .collect()),
            Ok(None) => {
                let cn = tbs
                    .subject()
                    .common_name()
                    .map_err(|error| self.invalid("subject common name", error))?;
                Ok(cn
                    .map(|cn| cn.value().to_ascii_lowercase())
                    .into_iter()
                    .collect())
            }
            Err(error) => Err(self.invalid("subjectAltName", error)),
        }
    }

    fn invalid(&self, part: &str, error: x509_cert::der::Error) -> CertError {
        CertError::Certificate {
            index: self.index,
            reason: format!("its {part} cannot be read: {error}"),
        }
    }
}

/// A name's DER, for comparing an issuer with a subject byte for byte.
pub(super) fn name_der(name: &Name) -> Result<Vec<u8>, CertError> {
    name.to_der().map_err(|error| CertError::Issue {
        reason: format!("cannot encode the name `{name}`: {error}"),
    })
}

/// One attribute of a name as rcgen needs it: its OID's arcs, and its value as text with the
/// ASN.1 string type it was written with.
pub(super) struct Attribute {
    pub(super) oid: Vec<u64>,
    pub(super) value: String,
    pub(super) string_type: StringType,
}

pub(super) enum StringType {
    Utf8,
    Printable,
    Ia5,
}

/// The attributes of `name`, one per relative distinguished name, in order. Names with
/// several attributes in one RDN, or string types other than UTF8String, PrintableString and
/// IA5String, are refused with the reason: rcgen could not write them back identically.
pub(super) fn attributes(name: &Name) -> Result<Vec<Attribute>, String> {
    let mut out = Vec::new();
    for rdn in name.iter_rdn() {
        if rdn.len() != 1 {
            return Err(format!(
                "`{rdn}` has {} attributes in one RDN (multi-valued)",
                rdn.len()
            ));
        }
        for atv in rdn.iter() {
            let string_type = match atv.value.tag() {
                Tag::Utf8String => StringType::Utf8,
                Tag::PrintableString => StringType::Printable,
                Tag::Ia5String => StringType::Ia5,
                other => return Err(format!("`{atv}` is a {other}")),
            };
            let value = String::from_utf8(atv.value.value().to_vec())
                .map_err(|_| format!("`{}` is not UTF-8", atv.oid))?;
            out.push(Attribute {
                oid: atv.oid.arcs().map(u64::from).collect(),
                value,
                string_type,
            });
        }
    }
    Ok(out)
}

/// As openssl prints serials in `-text`, but uppercase: `4F:1A:...`; no leading `00` (the
/// DER sign byte, not part of the number).
fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    let digits = bytes.get(start..).unwrap_or_default();
    if digits.is_empty() {
        return "00".into();
    }
    digits
        .iter()
        .map(|b| HEXUPPER.encode(&[*b]))
        .collect::<Vec<_>>()
        .join(":")
}

fn unix(time: &Time) -> i64 {
    // Dates past year 292 billion do not exist in DER's four-digit years.
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}
