//! The certificates the balancers serve: read from the secrets a service names (checked
//! against its host names, its key and the clock), or issued by the project CA for the names of
//! every `tls: internal` service. Public facts go into the desired state (the plan, labels and
//! status show them); the chain and key stay in the payload, for the hosts' tmpfs only.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{Decrypt, PayloadError};
use crate::spec::load::{CA_CERTIFICATE, CA_KEY};
use crate::spec::model::{CertificateSummary, Routes, TlsSource};
use crate::spec::{Desired, Files};
use crate::tls::{self, CertInfo};

/// A fleet-issued certificate is valid this long and issued anew every [`REISSUE_EVERY`], so
/// that one in use always has two months left; the period fixes its serial and dates, so every
/// run within a period describes the same certificate.
const INTERNAL_VALIDITY: i64 = 90 * DAY;
const REISSUE_EVERY: i64 = 30 * DAY;
const DAY: i64 = 24 * 3600;
/// Clocks of clients may be behind the machine that issued.
const BACKDATE: i64 = 3600;

/// Whether a certificate fleet issued for `desired` belongs to an earlier period than `now`'s:
/// reading the same commit again then issues its successor (the daemon does, so a project
/// that sees no commit for months keeps valid certificates).
pub fn renewal_due(desired: &Desired, now: i64) -> bool {
    let period = now.div_euclid(REISSUE_EVERY);
    desired
        .certificates
        .values()
        .any(|c| c.internal && (c.not_before + BACKDATE).div_euclid(REISSUE_EVERY) != period)
}

/// What the balancers need for TLS: per service the certificate's public facts, per certificate
/// id the file they read (chain, then key).
#[derive(Default, Clone)]
pub(super) struct Certified {
    pub summaries: BTreeMap<String, CertificateSummary>,
    pub bundles: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

/// The certificates of every service with `tls`. `secret` gives a secret's decrypted content
/// (already read with the others).
pub(super) fn certify(
    desired: &Desired,
    files: &dyn Files,
    decrypt: Decrypt<'_>,
    secret: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: i64,
) -> Result<Certified, Vec<PayloadError>> {
    let mut out = Certified::default();
    let mut errors = Vec::new();
    let mut internal: Vec<(&str, &Routes)> = Vec::new();
    for (service, via) in desired.exposed() {
        let Some(routes) = &via.routes else { continue };
        match &routes.tls {
            None => {}
            Some(TlsSource::Internal) => internal.push((service, routes)),
            Some(TlsSource::Secrets { certificate, key }) => {
                match from_secrets(routes, certificate, key, secret, now) {
                    Ok((summary, bundle)) => {
                        out.bundles.insert(summary.id.clone(), bundle);
                        out.summaries.insert(service.to_string(), summary);
                    }
                    Err(reason) => errors.push(problem(service, routes, reason)),
                }
            }
        }
    }
    if !internal.is_empty() {
        // One certificate for every name: services sharing a name share it, and the balancers
        // load one file.
        let names: BTreeSet<&str> = internal
            .iter()
            .flat_map(|(_, r)| r.hosts.iter().map(String::as_str))
            .collect();
        let names: Vec<String> = names.into_iter().map(str::to_string).collect();
        let (service, routes) = internal[0];
        match from_ca(files, decrypt, &names, now) {
            Ok((summary, bundle)) => {
                out.bundles.insert(summary.id.clone(), bundle);
                for (service, _) in &internal {
                    out.summaries.insert(service.to_string(), summary.clone());
                }
            }
            Err(CaFailure::Decrypt(reason)) => errors.push(PayloadError::Decrypt {
                name: "project CA key".into(),
                path: CA_KEY.into(),
                reason,
            }),
            Err(CaFailure::Other(reason)) => errors.push(problem(service, routes, reason)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn problem(service: &str, routes: &Routes, reason: String) -> PayloadError {
    PayloadError::Certificate {
        at: routes.tls_at.clone(),
        service: service.to_string(),
        reason,
    }
}

/// A certificate and key from two secrets: they belong together, cover every host name of the
/// service, and are valid now.
fn from_secrets(
    routes: &Routes,
    certificate: &str,
    key: &str,
    secret: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: i64,
) -> Result<(CertificateSummary, Zeroizing<Vec<u8>>), String> {
    let (Some(chain), Some(key_pem)) = (secret(certificate), secret(key).map(Zeroizing::new))
    else {
        return Err(format!("secrets `{certificate}` and `{key}` were not read"));
    };
    let info = tls::inspect(&chain, &key_pem)
        .map_err(|e| format!("certificate `{certificate}` with key `{key}`: {e}"))?;
    let described = describe(&info);
    let uncovered: Vec<&str> = routes
        .hosts
        .iter()
        .filter(|h| !info.names.iter().any(|n| tls::name_covers(n, h)))
        .map(String::as_str)
        .collect();
    if !uncovered.is_empty() {
        return Err(format!(
            "certificate `{certificate}` does not cover {} ({described})",
            uncovered.join(", ")
        ));
    }
    if info.not_after <= now {
        return Err(format!(
            "certificate `{certificate}` has expired ({described}); renew it and update the secret"
        ));
    }
    if info.not_before > now {
        return Err(format!(
            "certificate `{certificate}` is not valid yet ({described})"
        ));
    }
    let mut bundle = Zeroizing::new(chain.clone());
    if !bundle.ends_with(b"\n") {
        bundle.push(b'\n');
    }
    bundle.extend_from_slice(&key_pem);
    Ok((summary(&info, &info.sha256, false), bundle))
}

enum CaFailure {
    /// The CA key could not be decrypted on this machine.
    Decrypt(String),
    Other(String),
}

impl From<String> for CaFailure {
    fn from(reason: String) -> Self {
        CaFailure::Other(reason)
    }
}

/// A certificate for `names` from the project CA (its key decrypted here), for the current
/// period.
fn from_ca(
    files: &dyn Files,
    decrypt: Decrypt<'_>,
    names: &[String],
    now: i64,
) -> Result<(CertificateSummary, Zeroizing<Vec<u8>>), CaFailure> {
    let read = |path: &str| {
        files
            .read(path)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("`{path}` is not in the commit: run `fleet secret ca init`"))
    };
    let ca_pem = read(CA_CERTIFICATE)?;
    let ca_key = Zeroizing::new(decrypt(CA_KEY, None, &read(CA_KEY)?).map_err(CaFailure::Decrypt)?);
    let ca = tls::inspect(&ca_pem, &ca_key)
        .map_err(|e| format!("the project CA (`{CA_CERTIFICATE}`): {e}"))?;
    let period = now.div_euclid(REISSUE_EVERY);
    let not_before = period * REISSUE_EVERY - BACKDATE;
    let not_after = (period * REISSUE_EVERY + INTERNAL_VALIDITY).min(ca.not_after);
    if not_after <= now {
        return Err(CaFailure::Other(format!(
            "the project CA expired on {}: make a new one with `fleet secret ca init --force`",
            crate::clock::rfc3339(u64::try_from(ca.not_after).unwrap_or_default())
        )));
    }
    let mut hasher = Sha256::new();
    hasher.update(b"fleet internal certificate v1\0");
    hasher.update(ca.sha256.as_bytes());
    for name in names {
        hasher.update(name.as_bytes());
        hasher.update([0]);
    }
    hasher.update(period.to_be_bytes());
    let digest = hasher.finalize();
    // A positive serial of 16 bytes (RFC 5280 allows 20).
    let mut serial = digest[..16].to_vec();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    // Only its certificate travels to the balancers, whatever else the file holds.
    let ca_pem_text = tls::certificates_only(&ca_pem)
        .map_err(|e| format!("the project CA (`{CA_CERTIFICATE}`): {e}"))?;
    let ca_key_text = Zeroizing::new(String::from_utf8_lossy(&ca_key).into_owned());
    let (cert, key) = tls::issue(
        &ca_pem_text,
        &ca_key_text,
        names,
        &serial,
        not_before,
        not_after,
    )
    .map_err(|e| format!("issuing a certificate for {}: {e}", names.join(", ")))?;
    let info = tls::inspect_certificate(cert.as_bytes())
        .map_err(|e| format!("the issued certificate: {e}"))?;
    let mut bundle = Zeroizing::new(cert.into_bytes());
    bundle.extend_from_slice(ca_pem_text.as_bytes());
    if !bundle.ends_with(b"\n") {
        bundle.push(b'\n');
    }
    bundle.extend_from_slice(key.as_bytes());
    // Issued again by every run and for every host, the same bytes (`tls::issue` is
    // deterministic): RFC 5280 allows one certificate per issuer and serial.
    let identity: String = Sha256::digest(info.serial.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((summary(&info, &identity, true), bundle))
}

fn summary(info: &CertInfo, identity: &str, internal: bool) -> CertificateSummary {
    CertificateSummary {
        id: identity.chars().take(16).collect(),
        names: info.names.clone(),
        serial: info.serial.clone(),
        not_before: info.not_before,
        not_after: info.not_after,
        issuer: info.issuer.clone(),
        internal,
    }
}

/// Names and dates of a certificate, for messages.
fn describe(info: &CertInfo) -> String {
    let date = |t: i64| crate::clock::rfc3339(u64::try_from(t).unwrap_or_default());
    format!(
        "it is for {}, valid from {} until {}",
        if info.names.is_empty() {
            "no DNS name".to_string()
        } else {
            info.names.join(", ")
        },
        date(info.not_before),
        date(info.not_after)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{MemoryFiles, load};

    /// A project with two `tls: internal` services and a CA whose key is stored in the clear
    /// (the decryption is the identity here).
    fn project() -> (Desired, MemoryFiles) {
        let (ca, key) = tls::new_ca("fleet CA for shop", 1_700_000_000).unwrap();
        let files = MemoryFiles::new([
            (
                "fleet.yaml",
                "project: shop\nservices:\n  web:\n    image: w:1\n    \
                 x-fleet: { expose: { port: 80, hosts: [shop.internal, '*.shop.internal'], tls: internal } }\n  \
                 api:\n    image: a:1\n    \
                 x-fleet: { expose: { port: 80, hosts: [api.internal], tls: internal } }\n",
            ),
            (CA_CERTIFICATE, ca.as_str()),
            (CA_KEY, key.as_str()),
        ]);
        let loaded = load(&files);
        let desired = loaded
            .desired
            .unwrap_or_else(|| panic!("{:#?}", loaded.diagnostics));
        (desired, files)
    }

    fn issue_at(desired: &Desired, files: &MemoryFiles, now: i64) -> Certified {
        let plain = |_: &str, _: Option<&str>, bytes: &[u8]| Ok(bytes.to_vec());
        certify(desired, files, &plain, &|_| None, now).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn one_internal_certificate_covers_every_name_and_is_the_same_within_a_period() {
        let (desired, files) = project();
        let now = 1_800_000_000;
        let a = issue_at(&desired, &files, now);
        let web = &a.summaries["web"];
        assert_eq!(web, &a.summaries["api"], "one certificate for every name");
        assert_eq!(
            web.names,
            vec!["*.shop.internal", "api.internal", "shop.internal"]
        );
        assert!(web.internal);
        assert!(web.not_before <= now && web.not_after >= now + 60 * DAY);
        assert_eq!(a.bundles.len(), 1);
        let bundle = String::from_utf8(a.bundles[&web.id].to_vec()).unwrap();
        assert!(bundle.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(
            bundle.contains("PRIVATE KEY-----"),
            "the key for the balancer"
        );
        // Issued again later in the period (or for another host): the same certificate and
        // key, byte for byte, as RFC 5280 requires of one issuer and serial.
        let b = issue_at(&desired, &files, now + 3600);
        assert_eq!(b.summaries["web"], *web);
        assert_eq!(b.bundles[&web.id], a.bundles[&web.id]);
        // The next period: a new one, and a desired state stamped with the old one is due.
        let later = now + REISSUE_EVERY;
        let c = issue_at(&desired, &files, later);
        assert_ne!(c.summaries["web"].serial, web.serial);
        let mut stamped = desired.clone();
        stamped.certificates = a.summaries.clone();
        assert!(!renewal_due(&stamped, now + 3600));
        assert!(renewal_due(&stamped, later));
    }

    #[test]
    fn an_undecryptable_ca_key_is_a_decrypt_error_and_a_wrong_one_names_the_ca() {
        let (desired, files) = project();
        let refuse = |_: &str, _: Option<&str>, _: &[u8]| Err("no identity".to_string());
        let errors = certify(&desired, &files, &refuse, &|_| None, 1_800_000_000)
            .err()
            .unwrap();
        assert!(
            matches!(&errors[..], [PayloadError::Decrypt { path, .. }] if path == CA_KEY),
            "{errors:?}"
        );
        let (_, other_key) = tls::new_ca("other", 1_700_000_000).unwrap();
        let swap = |_: &str, _: Option<&str>, _: &[u8]| Ok(other_key.as_bytes().to_vec());
        let errors = certify(&desired, &files, &swap, &|_| None, 1_800_000_000)
            .err()
            .unwrap();
        let text = errors[0].to_string();
        assert!(
            text.contains("the project CA (`secrets/fleet-ca.crt`)"),
            "{text}"
        );
        assert!(!text.contains("PRIVATE"), "{text}");
    }
}
