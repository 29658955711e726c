//! Fixtures come from the `openssl` CLI at test time, so the parsing is checked against what
//! the tool people actually use writes, and issued certificates are checked by `openssl verify`.
//! Without `openssl` these tests fail: they do not skip.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::*;

/// Runs `openssl args...` in `dir` and returns its stdout; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is needed by these tests (not found)");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("openssl output is text")
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("fixture written by openssl")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A self-signed certificate for an existing key, valid for `days`.
fn self_signed(dir: &Path, key: &str, cert: &str, subject: &str, extra: &[&str]) {
    let mut args = vec![
        "req", "-x509", "-key", key, "-out", cert, "-days", "30", "-subj", subject,
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args);
}

/// `notAfter=Dec 30 19:29:15 2026 GMT` (what `openssl x509 -enddate` prints) as unix seconds.
fn openssl_date(line: &str) -> i64 {
    let value = line.trim().split_once('=').expect("key=value").1;
    let parts: Vec<&str> = value.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "unexpected date `{value}`");
    assert_eq!(parts[4], "GMT");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == parts[0]).expect("month") as i64 + 1;
    let day: i64 = parts[1].parse().expect("day");
    let year: i64 = parts[3].parse().expect("year");
    let hms: Vec<i64> = parts[2]
        .split(':')
        .map(|p| p.parse().expect("hms"))
        .collect();
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
}

/// Checks serial, dates, fingerprint, subject and issuer against what openssl says of `cert`.
fn assert_agrees_with_openssl(dir: &Path, cert: &str, info: &CertInfo) {
    let serial = openssl(dir, &["x509", "-in", cert, "-noout", "-serial"]);
    let serial = serial.trim().strip_prefix("serial=").expect("serial=");
    assert_eq!(info.serial.replace(':', ""), serial);
    assert!(
        info.serial
            .split(':')
            .all(|byte| byte.len() == 2 && byte == byte.to_uppercase())
    );
    let start = openssl(dir, &["x509", "-in", cert, "-noout", "-startdate"]);
    assert_eq!(info.not_before, openssl_date(&start));
    let end = openssl(dir, &["x509", "-in", cert, "-noout", "-enddate"]);
    assert_eq!(info.not_after, openssl_date(&end));
    let fingerprint = openssl(
        dir,
        &["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"],
    );
    let fingerprint = fingerprint.trim().split_once('=').expect("key=value").1;
    assert_eq!(info.sha256, fingerprint.replace(':', "").to_lowercase());
}

#[test]
fn rsa_pkcs8_with_sans() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "30",
            "-subj",
            "/CN=shop.example.com",
            "-addext",
            "subjectAltName=DNS:Shop.Example.com,IP:10.0.0.1,DNS:*.EXAMPLE.com",
        ],
    );
    let key = read(d, "key.pem");
    assert!(key.starts_with(b"-----BEGIN PRIVATE KEY-----"));
    let info = inspect(&read(d, "cert.pem"), &key).unwrap();
    // IP addresses are not DNS names; case is folded.
    assert_eq!(info.names, ["shop.example.com", "*.example.com"]);
    assert_eq!(info.subject, "CN=shop.example.com");
    assert_eq!(info.issuer, "CN=shop.example.com");
    assert!(info.self_signed);
    assert!((info.not_after - info.not_before - 30 * 86400).abs() <= 1);
    assert!((info.not_before - now()).abs() < 600);
    assert_agrees_with_openssl(d, "cert.pem", &info);
    assert_eq!(inspect_certificate(&read(d, "cert.pem")).unwrap(), info);
}

#[test]
fn rsa_pkcs1_key_and_a_cert_with_only_a_common_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["genrsa", "-traditional", "-out", "key.pem", "2048"]);
    let key = read(d, "key.pem");
    assert!(key.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
    self_signed(d, "key.pem", "cert.pem", "/CN=Only.Example.com", &[]);
    let info = inspect(&read(d, "cert.pem"), &key).unwrap();
    assert_eq!(info.names, ["only.example.com"]);
    assert_agrees_with_openssl(d, "cert.pem", &info);
}

#[test]
fn ec_sec1_keys_p256_and_p384() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for curve in ["prime256v1", "secp384r1"] {
        openssl(
            d,
            &[
                "ecparam", "-name", curve, "-genkey", "-noout", "-out", "key.pem",
            ],
        );
        let key = read(d, "key.pem");
        assert!(key.starts_with(b"-----BEGIN EC PRIVATE KEY-----"));
        self_signed(
            d,
            "key.pem",
            "cert.pem",
            "/CN=ec.example.com",
            &["-addext", "subjectAltName=DNS:ec.example.com"],
        );
        let info =
            inspect(&read(d, "cert.pem"), &key).unwrap_or_else(|error| panic!("{curve}: {error}"));
        assert_eq!(info.names, ["ec.example.com"]);
        assert_agrees_with_openssl(d, "cert.pem", &info);
    }
}

#[test]
fn ec_key_after_its_parameters_block_and_in_one_file_with_the_cert() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Without -noout, openssl writes an `EC PARAMETERS` block first.
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "key.pem",
        ],
    );
    let key = read(d, "key.pem");
    assert!(key.starts_with(b"-----BEGIN EC PARAMETERS-----"));
    self_signed(d, "key.pem", "cert.pem", "/CN=ec.example.com", &[]);
    let cert = read(d, "cert.pem");
    inspect(&cert, &key).unwrap();
    // A HAProxy `crt` file: certificate then key, passed as both.
    let combined = [cert.as_slice(), b"\n", key.as_slice()].concat();
    assert_eq!(
        inspect(&combined, &combined).unwrap().names,
        ["ec.example.com"]
    );
}

#[test]
fn ed25519_pkcs8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "key.pem"]);
    self_signed(
        d,
        "key.pem",
        "cert.pem",
        "/CN=ed.example.com",
        &["-addext", "subjectAltName=DNS:ed.example.com"],
    );
    let info = inspect(&read(d, "cert.pem"), &read(d, "key.pem")).unwrap();
    assert_eq!(info.names, ["ed.example.com"]);
    assert_agrees_with_openssl(d, "cert.pem", &info);
}

#[test]
fn a_key_that_is_not_the_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, curve) in ["prime256v1", "prime256v1", "secp384r1"].iter().enumerate() {
        openssl(
            d,
            &[
                "ecparam",
                "-name",
                curve,
                "-genkey",
                "-noout",
                "-out",
                &format!("key{i}.pem"),
            ],
        );
    }
    self_signed(d, "key0.pem", "cert.pem", "/CN=shop.example.com", &[]);
    let cert = read(d, "cert.pem");
    // Same kind, another key; and another curve.
    for other in ["key1.pem", "key2.pem"] {
        let key = read(d, other);
        let error = inspect(&cert, &key).unwrap_err();
        assert!(
            matches!(&error, CertError::KeyMismatch { subject } if subject == "CN=shop.example.com"),
            "{error:?}"
        );
        assert_no_key_material(&error.to_string(), &key);
    }
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    let error = inspect(&cert, &read(d, "ed.pem")).unwrap_err();
    assert!(matches!(error, CertError::KeyMismatch { .. }), "{error:?}");
}

/// No base64 line of the key's PEM shows up in `message`.
fn assert_no_key_material(message: &str, key_pem: &[u8]) {
    for line in String::from_utf8_lossy(key_pem).lines() {
        if !line.starts_with("-----") && line.len() > 8 {
            assert!(!message.contains(line), "key material in `{message}`");
        }
    }
}

#[test]
fn unsupported_and_encrypted_keys_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.pem",
        ],
    );
    self_signed(d, "ec.pem", "cert.pem", "/CN=x.example.com", &[]);
    let cert = read(d, "cert.pem");

    openssl(d, &["genpkey", "-algorithm", "ed448", "-out", "ed448.pem"]);
    let error = inspect(&cert, &read(d, "ed448.pem")).unwrap_err();
    assert!(
        matches!(&error, CertError::UnsupportedKey { kind } if kind.contains("Ed448")),
        "{error:?}"
    );

    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "secp521r1",
            "-genkey",
            "-noout",
            "-out",
            "p521.pem",
        ],
    );
    let error = inspect(&cert, &read(d, "p521.pem")).unwrap_err();
    assert!(
        matches!(&error, CertError::UnsupportedKey { kind } if kind.contains("P-521")),
        "{error:?}"
    );
    openssl(
        d,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "p521.pem", "-out", "p521.p8",
        ],
    );
    let error = inspect(&cert, &read(d, "p521.p8")).unwrap_err();
    assert!(
        matches!(&error, CertError::UnsupportedKey { kind } if kind.contains("P-521")),
        "{error:?}"
    );

    // PKCS#8 encrypted, and the old OpenSSL encryption with Proc-Type headers.
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "ec.pem",
            "-out",
            "enc.p8",
            "-passout",
            "pass:secret",
        ],
    );
    let error = inspect(&cert, &read(d, "enc.p8")).unwrap_err();
    assert!(matches!(error, CertError::EncryptedKey), "{error:?}");
    openssl(
        d,
        &[
            "ec",
            "-in",
            "ec.pem",
            "-aes128",
            "-out",
            "enc.pem",
            "-passout",
            "pass:secret",
        ],
    );
    let encrypted = read(d, "enc.pem");
    assert!(String::from_utf8_lossy(&encrypted).contains("Proc-Type: 4,ENCRYPTED"));
    let error = inspect(&cert, &encrypted).unwrap_err();
    assert!(matches!(error, CertError::EncryptedKey), "{error:?}");

    let error = inspect(
        &cert,
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap_err();
    assert!(
        matches!(&error, CertError::UnsupportedKey { kind } if kind.contains("OpenSSH")),
        "{error:?}"
    );
    let error = inspect(&cert, &cert).unwrap_err();
    assert!(matches!(error, CertError::NoKey), "{error:?}");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "key.pem",
        ],
    );
    self_signed(d, "key.pem", "cert.pem", "/CN=x.example.com", &[]);
    let cert = read(d, "cert.pem");
    let key = read(d, "key.pem");
    let cert_text = String::from_utf8(cert.clone()).unwrap();

    assert!(matches!(
        inspect_certificate(b""),
        Err(CertError::NoCertificate)
    ));
    assert!(matches!(
        inspect_certificate(b"\xff\xfe not pem at all \x00"),
        Err(CertError::NoCertificate)
    ));
    let truncated = &cert[..cert.len() / 2];
    assert!(matches!(
        inspect_certificate(truncated),
        Err(CertError::Pem { .. })
    ));
    let bad_base64 = cert_text.replacen('M', "!", 1);
    assert!(matches!(
        inspect_certificate(bad_base64.as_bytes()),
        Err(CertError::Pem { .. })
    ));
    // Valid base64 of bytes that are not a certificate.
    let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        inspect_certificate(not_der.as_bytes()),
        Err(CertError::Certificate { index: 1, .. })
    ));
    // A broken second certificate of a chain is named as such.
    let chain = format!("{cert_text}{not_der}");
    assert!(matches!(
        inspect(chain.as_bytes(), &key),
        Err(CertError::Certificate { index: 2, .. })
    ));
    let not_key = "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n";
    assert!(matches!(
        inspect(&cert, not_key.as_bytes()),
        Err(CertError::Pem { .. })
    ));
    let not_sec1 = not_key.replace("PRIVATE KEY", "EC PRIVATE KEY");
    assert!(matches!(
        inspect(&cert, not_sec1.as_bytes()),
        Err(CertError::Pem { .. })
    ));
    let not_pkcs1 = not_key.replace("PRIVATE KEY", "RSA PRIVATE KEY");
    assert!(inspect(&cert, not_pkcs1.as_bytes()).is_err());
    assert!(matches!(inspect(&cert, b""), Err(CertError::NoKey)));
    // Every prefix of a good input: errors or success, never a panic.
    for end in (0..cert.len()).step_by(7) {
        let _ = inspect(&cert[..end], &key);
        let _ = inspect(&cert, &key[..end.min(key.len())]);
    }
}

#[test]
fn issued_leaf_verifies_with_openssl_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = now();
    let (ca_pem, ca_key) = new_ca("fleet test CA", now).unwrap();
    assert!(ca_key.starts_with("-----BEGIN PRIVATE KEY-----"));
    let ca = inspect(ca_pem.as_bytes(), ca_key.as_bytes()).unwrap();
    assert_eq!(ca.subject, "CN=fleet test CA,O=fleet");
    assert!(ca.self_signed);
    assert_eq!(ca.not_before, now - 3600);
    assert!(ca.not_after >= now + 10 * 365 * 86400);
    assert!(ca.not_after <= now + 3653 * 86400);
    std::fs::write(d.join("ca.pem"), &ca_pem).unwrap();
    let text = openssl(d, &["x509", "-in", "ca.pem", "-noout", "-text"]);
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
    assert_agrees_with_openssl(d, "ca.pem", &ca);

    let names = vec![
        "shop.example.com".to_string(),
        "*.api.example.com".to_string(),
    ];
    let (not_before, not_after) = (now - 60, now + 90 * 86400);
    let (leaf_pem, leaf_key) = issue(
        &ca_pem,
        &ca_key,
        &names,
        &[0x00, 0x0f, 0xa1, 0x07],
        not_before,
        not_after,
    )
    .unwrap();
    std::fs::write(d.join("leaf.pem"), &leaf_pem).unwrap();
    let verified = openssl(
        d,
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            "ca.pem",
            "leaf.pem",
        ],
    );
    assert_eq!(verified.trim(), "leaf.pem: OK");

    let leaf = inspect(leaf_pem.as_bytes(), leaf_key.as_bytes()).unwrap();
    assert_eq!(leaf.names, names);
    assert_eq!(leaf.serial, "0F:A1:07");
    assert_eq!((leaf.not_before, leaf.not_after), (not_before, not_after));
    assert_eq!(leaf.subject, "CN=shop.example.com");
    assert_eq!(leaf.issuer, ca.subject);
    assert!(!leaf.self_signed);
    assert_agrees_with_openssl(d, "leaf.pem", &leaf);
    let text = openssl(d, &["x509", "-in", "leaf.pem", "-noout", "-text"]);
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(text.contains("Digital Signature"), "{text}");

    // The leaf with its CA after it: a chain whose leaf is the issued one.
    let chain = format!("{leaf_pem}{ca_pem}");
    assert_eq!(
        inspect(chain.as_bytes(), leaf_key.as_bytes()).unwrap(),
        leaf
    );
    // The leaf's key is not the CA's.
    assert!(matches!(
        inspect(ca_pem.as_bytes(), leaf_key.as_bytes()),
        Err(CertError::KeyMismatch { .. })
    ));
}

/// RFC 5280: one certificate per issuer and serial. Issued again, for another host or by
/// another run, a certificate is the same bytes, and so is its key.
#[test]
fn issuing_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = now();
    let (ca_pem, ca_key) = new_ca("fleet test CA", now).unwrap();
    std::fs::write(d.join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(d.join("ca.key"), ca_key.as_bytes()).unwrap();
    let names = vec!["shop.internal".to_string(), "*.shop.internal".to_string()];
    let serial = [0x3c, 0x01, 0x02];
    let (not_before, not_after) = (now - 3600, now + 90 * 86400);
    let at = |ca_key: &str, names: &[String], serial: &[u8], not_after: i64| {
        issue(&ca_pem, ca_key, names, serial, not_before, not_after).unwrap()
    };
    let (cert, key) = at(&ca_key, &names, &serial, not_after);
    let (again_cert, again_key) = at(&ca_key, &names, &serial, not_after);
    assert_eq!(again_cert, cert);
    assert_eq!(*again_key, *key);
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
    // The serial written with a leading zero byte is the same serial.
    let padded = [&[0u8][..], &serial].concat();
    assert_eq!(at(&ca_key, &names, &padded, not_after).0, cert);

    // The same CA key read from the SEC1 form openssl converts it to: the same certificate.
    openssl(d, &["ec", "-in", "ca.key", "-out", "ca.sec1.key"]);
    let sec1 = String::from_utf8(read(d, "ca.sec1.key")).unwrap();
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"), "{sec1}");
    let (sec1_cert, sec1_key) = at(&sec1, &names, &serial, not_after);
    assert_eq!((sec1_cert, &*sec1_key), (cert.clone(), &*key));

    // Anything else about the certificate: another key.
    let other_names = vec!["shop.internal".to_string()];
    let reordered: Vec<String> = names.iter().rev().cloned().collect();
    for (other_cert, other_key) in [
        at(&ca_key, &other_names, &serial, not_after),
        at(&ca_key, &reordered, &serial, not_after),
        at(&ca_key, &names, &[0x3c, 0x01, 0x03], not_after),
        at(&ca_key, &names, &serial, not_after + 1),
    ] {
        assert_ne!(other_cert, cert);
        assert_ne!(*other_key, *key);
    }
    // Another CA: another key.
    let (other_ca_pem, other_ca_key) = new_ca("fleet test CA", now).unwrap();
    let (_, other_key) = issue(
        &other_ca_pem,
        &other_ca_key,
        &names,
        &serial,
        not_before,
        not_after,
    )
    .unwrap();
    assert_ne!(*other_key, *key);

    // Still a valid certificate whose key is its own.
    std::fs::write(d.join("leaf.pem"), &cert).unwrap();
    let verified = openssl(
        d,
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            "ca.pem",
            "leaf.pem",
        ],
    );
    assert_eq!(verified.trim(), "leaf.pem: OK");
    let leaf = inspect(cert.as_bytes(), key.as_bytes()).unwrap();
    assert_eq!(leaf.names, names);
    assert_eq!(leaf.serial, "3C:01:02");
    assert_agrees_with_openssl(d, "leaf.pem", &leaf);
    // openssl reads the key and finds the certificate's public key in it.
    std::fs::write(d.join("leaf.key"), key.as_bytes()).unwrap();
    let from_key = openssl(d, &["pkey", "-in", "leaf.key", "-pubout"]);
    let from_cert = openssl(d, &["x509", "-in", "leaf.pem", "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert);
}

/// An RSA CA signs deterministically too (PKCS#1 v1.5), so its certificates are the same bytes.
#[test]
fn issuing_from_an_rsa_ca_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["genrsa", "-out", "ca.key", "2048"]);
    self_signed(d, "ca.key", "ca.pem", "/CN=RSA CA", &[]);
    let ca_pem = String::from_utf8(read(d, "ca.pem")).unwrap();
    let ca_key = String::from_utf8(read(d, "ca.key")).unwrap();
    let names = vec!["intern.example.com".to_string()];
    let now = now();
    let once = || issue(&ca_pem, &ca_key, &names, &[7], now - 60, now + 86400).unwrap();
    let ((a_cert, a_key), (b_cert, b_key)) = (once(), once());
    assert_eq!((a_cert, &*a_key), (b_cert, &*b_key));
}

#[test]
fn issue_from_an_openssl_ca_with_a_pkcs1_rsa_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["genrsa", "-traditional", "-out", "ca.key", "2048"]);
    // openssl's defaults for `req -x509` make a CA (basicConstraints CA:TRUE, key identifiers);
    // C is a PrintableString, the others UTF8Strings, and one is not ASCII.
    self_signed(
        d,
        "ca.key",
        "ca.pem",
        "/C=DE/O=Beispiel Gesellschaft/OU=Betrieb/CN=Wurzel Zertifizierungsstelle \u{00fc}",
        &["-utf8"],
    );
    let ca_pem = String::from_utf8(read(d, "ca.pem")).unwrap();
    let ca_key = String::from_utf8(read(d, "ca.key")).unwrap();
    let names = vec!["intern.example.com".to_string()];
    let now = now();
    let (leaf_pem, leaf_key) = issue(
        &ca_pem,
        &ca_key,
        &names,
        &[0x80, 0x01],
        now - 60,
        now + 86400,
    )
    .unwrap();
    std::fs::write(d.join("leaf.pem"), &leaf_pem).unwrap();
    let verified = openssl(d, &["verify", "-CAfile", "ca.pem", "leaf.pem"]);
    assert_eq!(verified.trim(), "leaf.pem: OK");
    let leaf = inspect(leaf_pem.as_bytes(), leaf_key.as_bytes()).unwrap();
    // A first byte with the top bit set gets a sign byte in DER, not in the serial shown.
    assert_eq!(leaf.serial, "80:01");
    assert_agrees_with_openssl(d, "leaf.pem", &leaf);
    assert_eq!(
        leaf.issuer,
        inspect_certificate(ca_pem.as_bytes()).unwrap().subject
    );
}

#[test]
fn issue_refuses_bad_requests() {
    let now = now();
    let (ca_pem, ca_key) = new_ca("fleet test CA", now).unwrap();
    let (_, other_key) = new_ca("another CA", now).unwrap();
    let names = vec!["shop.example.com".to_string()];
    let ok = |serial: &[u8]| issue(&ca_pem, &ca_key, &names, serial, now, now + 86400);

    let error = issue(&ca_pem, &other_key, &names, &[1], now, now + 86400).unwrap_err();
    assert!(
        matches!(&error, CertError::CaKeyMismatch { subject } if subject == "CN=fleet test CA,O=fleet"),
        "{error:?}"
    );
    assert_no_key_material(&error.to_string(), other_key.as_bytes());
    assert!(matches!(ok(&[]), Err(CertError::Issue { .. })));
    assert!(matches!(ok(&[0, 0]), Err(CertError::Issue { .. })));
    assert!(matches!(ok(&[0x7f; 21]), Err(CertError::Issue { .. })));
    // 20 octets with the top bit set need a 21st for the sign.
    assert!(matches!(ok(&[0x80; 20]), Err(CertError::Issue { .. })));
    let (pem, key) = ok(&[0x7f; 20]).unwrap();
    assert_eq!(
        inspect(pem.as_bytes(), key.as_bytes()).unwrap().serial,
        ["7F"; 20].join(":")
    );
    let issue_with =
        |names: &[String], nb: i64, na: i64| issue(&ca_pem, &ca_key, names, &[1], nb, na);
    assert!(matches!(
        issue_with(&[], now, now + 1),
        Err(CertError::Issue { .. })
    ));
    assert!(matches!(
        issue_with(&["".into()], now, now + 1),
        Err(CertError::Issue { .. })
    ));
    assert!(matches!(
        issue_with(&["bad name.example.com".into()], now, now + 1),
        Err(CertError::Issue { .. })
    ));
    for bad in [
        "bücher.example",
        "*",
        "*.*.example.com",
        "a.*.example.com",
        "example..com",
        "f*.example.com",
    ] {
        assert!(
            matches!(
                issue_with(&[bad.into()], now, now + 1),
                Err(CertError::Issue { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        issue_with(&names, now, now),
        Err(CertError::Issue { .. })
    ));
    assert!(matches!(
        issue_with(&names, i64::MIN, i64::MAX),
        Err(CertError::Issue { .. })
    ));
    assert!(matches!(new_ca(" ", now), Err(CertError::Issue { .. })));
    assert!(matches!(
        new_ca("x", i64::MIN),
        Err(CertError::Issue { .. })
    ));
    assert!(matches!(
        issue("garbage", &ca_key, &names, &[1], now, now + 1),
        Err(CertError::NoCertificate)
    ));
}

#[test]
fn name_covers_as_rfc_6125_says() {
    let table: &[(&str, &str, bool)] = &[
        ("shop.example.com", "shop.example.com", true),
        ("Shop.Example.COM", "shop.example.com", true),
        ("shop.example.com", "SHOP.example.com", true),
        ("shop.example.com.", "shop.example.com", true),
        ("shop.example.com", "shop.example.com.", true),
        ("shop.example.com", "www.shop.example.com", false),
        ("shop.example.com", "example.com", false),
        ("*.example.com", "a.example.com", true),
        ("*.Example.com", "A.EXAMPLE.com", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "a.b.example.com", false),
        ("*.example.com", ".example.com", false),
        ("*.example.com", "a.example.org", false),
        ("*.example.com", "aexample.com", false),
        // A wildcard host is covered by the identical wildcard only.
        ("*.example.com", "*.example.com", true),
        ("*.EXAMPLE.com", "*.example.com", true),
        ("a.example.com", "*.example.com", false),
        ("*.com", "*.example.com", false),
        ("*.b.example.com", "*.example.com", false),
        // Wildcards that cover nothing.
        ("*.com", "example.com", false),
        ("*", "example", false),
        ("*.*.example.com", "a.b.example.com", false),
        ("f*.example.com", "foo.example.com", false),
        ("a.*.example.com", "a.b.example.com", false),
        ("", "", false),
        ("", "example.com", false),
        ("example.com", "", false),
    ];
    for (cert_name, host, covers) in table {
        assert_eq!(
            name_covers(cert_name, host),
            *covers,
            "name_covers({cert_name:?}, {host:?})"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        pem.extend_from_slice(&bytes);
        pem.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
        let _ = inspect_certificate(&bytes);
        let _ = inspect_certificate(&pem);
        let key = [b"-----BEGIN EC PRIVATE KEY-----\n".as_slice(), &bytes, b"\n-----END EC PRIVATE KEY-----\n"].concat();
        let _ = inspect(&pem, &key);
        let text = String::from_utf8_lossy(&bytes);
        let _ = name_covers(&text, &text);
    }
}

#[test]
fn certificates_only_keeps_the_certificates_and_drops_a_key_beside_them() {
    let (ca, key) = new_ca("keep me", 1_700_000_000).unwrap();
    let both = format!("{}\n{ca}", key.as_str());
    let only = certificates_only(both.as_bytes()).unwrap();
    assert!(!only.contains("PRIVATE KEY"), "{only}");
    assert_eq!(
        inspect_certificate(only.as_bytes()).unwrap(),
        inspect_certificate(ca.as_bytes()).unwrap()
    );
    assert!(matches!(
        certificates_only(key.as_bytes()),
        Err(CertError::NoCertificate)
    ));
}
