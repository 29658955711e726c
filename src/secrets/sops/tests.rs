//! Against real files the sops CLI wrote (tests/fixtures/sops/, see SOURCE.md there), never
//! against files written by this code.

use std::path::PathBuf;

use super::*;

const FLUX_RECIPIENT: &str = "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29";

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sops")
        .join(name)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap()
}

fn identities(name: &str) -> Identities {
    Identities::from_files(&[path(name)]).unwrap()
}

fn read(text: &str, format: SopsFormat, key: &str) -> Result<Vec<u8>, SopsError> {
    sops_value(text.as_bytes(), format, key, &identities("age.txt"))
}

/// `text` with `from` replaced by `to` exactly once.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} is not in the fixture once"
    );
    text.replacen(from, to, 1)
}

fn tampered(result: Result<Vec<u8>, SopsError>) -> String {
    match result {
        Err(SopsError::Tampered(why)) => why,
        other => panic!("expected a tampering error, got {other:?}"),
    }
}

#[test]
fn yaml_value_is_decrypted_after_the_mac_check() {
    let value = read(&fixture("age.yaml"), SopsFormat::Yaml, "stringData.key").unwrap();
    assert_eq!(value, b"value");
}

#[test]
fn yaml_value_with_another_key_and_sops_version() {
    let text = fixture("global.yaml");
    let value = sops_value(
        text.as_bytes(),
        SopsFormat::Yaml,
        "stringData.key",
        &identities("age-global.txt"),
    )
    .unwrap();
    assert_eq!(value, b"global-value");
}

#[test]
fn unencrypted_values_are_read_as_written() {
    // `encrypted_regex: ^(data|stringData)$` leaves the rest in the clear, under the MAC.
    let text = fixture("age.yaml");
    assert_eq!(
        read(&text, SopsFormat::Yaml, "metadata.name").unwrap(),
        b"age"
    );
    assert_eq!(read(&text, SopsFormat::Yaml, "kind").unwrap(), b"Secret");
}

#[test]
fn json_value_is_decrypted() {
    let value = read(&fixture("file.json"), SopsFormat::Json, "data").unwrap();
    assert_eq!(value, b"value");
}

#[test]
fn dotenv_values_are_decrypted() {
    for name in ["env.env", "component.env"] {
        let value = read(&fixture(name), SopsFormat::Dotenv, "key").unwrap();
        assert_eq!(value, b"value", "{name}");
    }
}

#[test]
fn a_changed_ciphertext_byte_fails_authentication() {
    let text = edit(&fixture("age.yaml"), "data:mHeXsmQ=", "data:nHeXsmQ=");
    let why = tampered(read(&text, SopsFormat::Yaml, "stringData.key"));
    assert!(why.contains("`stringData.key`"), "{why}");

    let text = edit(&fixture("file.json"), "data:QNbPAYY=", "data:RNbPAYY=");
    tampered(read(&text, SopsFormat::Json, "data"));
}

#[test]
fn a_changed_tag_fails_authentication() {
    let text = edit(
        &fixture("env.env"),
        "tag:mK2Tu7JWDdEmZUrXz3uRzw==",
        "tag:mK2Tu7JWDdEmZUrXz3uRzA==",
    );
    tampered(read(&text, SopsFormat::Dotenv, "key"));
}

#[test]
fn a_value_moved_to_another_key_fails_authentication() {
    // The key path is the additional data of each value.
    let text = edit(&fixture("env.env"), "key=ENC", "other=ENC");
    let why = tampered(read(&text, SopsFormat::Dotenv, "other"));
    assert!(why.contains("`other`"), "{why}");
}

#[test]
fn a_changed_unencrypted_value_fails_the_mac() {
    let text = edit(&fixture("age.yaml"), "  name: age\n", "  name: agf\n");
    let why = tampered(read(&text, SopsFormat::Yaml, "stringData.key"));
    assert!(why.contains("do not match its MAC"), "{why}");
}

#[test]
fn reordered_values_fail_the_mac() {
    // The MAC covers the order of the values, so mapping order must be kept.
    let text = edit(
        &fixture("age.yaml"),
        "apiVersion: v1\nkind: Secret\n",
        "kind: Secret\napiVersion: v1\n",
    );
    let why = tampered(read(&text, SopsFormat::Yaml, "stringData.key"));
    assert!(why.contains("do not match its MAC"), "{why}");
}

#[test]
fn a_removed_value_fails_the_mac() {
    let text = edit(&fixture("age.yaml"), "kind: Secret\n", "");
    tampered(read(&text, SopsFormat::Yaml, "stringData.key"));
}

#[test]
fn a_changed_lastmodified_fails_the_mac_authentication() {
    let text = edit(
        &fixture("age.yaml"),
        "lastmodified: \"2024-11-12T13:33:42Z\"",
        "lastmodified: \"2024-11-12T13:33:43Z\"",
    );
    let why = tampered(read(&text, SopsFormat::Yaml, "stringData.key"));
    assert!(why.contains("MAC fails authentication"), "{why}");
}

#[test]
fn a_file_without_mac_is_refused() {
    let text = fixture("env.env");
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("sops_mac="))
        .map(|l| format!("{l}\n"))
        .collect();
    let why = tampered(read(&text, SopsFormat::Dotenv, "key"));
    assert!(why.contains("no MAC"), "{why}");
}

#[test]
fn a_wrong_identity_names_the_recipients() {
    let text = fixture("age.yaml");
    let error = sops_value(
        text.as_bytes(),
        SopsFormat::Yaml,
        "stringData.key",
        &identities("age-global.txt"),
    )
    .unwrap_err();
    let SopsError::DataKey { recipients, reason } = &error else {
        panic!("expected a data key error, got {error:?}");
    };
    assert_eq!(recipients, &[FLUX_RECIPIENT.to_string()]);
    assert!(
        matches!(reason, DecryptError::NoMatchingIdentity { .. }),
        "{reason:?}"
    );
    let message = error.to_string();
    assert!(message.contains(FLUX_RECIPIENT), "{message}");
    assert!(message.contains("age-global.txt"), "{message}");
    assert!(error.hint().is_some());
}

#[test]
fn no_identity_at_all_is_a_data_key_error() {
    let text = fixture("env.env");
    let none = Identities::from_files(&[]).unwrap();
    let error = sops_value(text.as_bytes(), SopsFormat::Dotenv, "key", &none).unwrap_err();
    assert!(
        matches!(&error, SopsError::DataKey { reason: DecryptError::NoIdentity { .. }, recipients } if recipients == &[FLUX_RECIPIENT.to_string()]),
        "{error:?}"
    );
}

#[test]
fn a_file_without_age_recipient_says_what_it_has() {
    let error = read(&fixture("pgp.yaml"), SopsFormat::Yaml, "foo").unwrap_err();
    assert!(
        matches!(&error, SopsError::NoAgeRecipient { others } if others == &["pgp".to_string()]),
        "{error:?}"
    );
}

#[test]
fn plain_files_are_not_sops_files() {
    for (text, format) in [
        ("a: 1\n", SopsFormat::Yaml),
        ("{\"a\": 1}", SopsFormat::Json),
        ("A=1\n", SopsFormat::Dotenv),
    ] {
        let error = read(text, format, "a").unwrap_err();
        assert!(
            matches!(error, SopsError::NotSops(_)),
            "{format:?}: {error:?}"
        );
    }
    let error = read("[1, 2]", SopsFormat::Json, "a").unwrap_err();
    assert!(matches!(error, SopsError::NotSops(_)), "{error:?}");
}

#[test]
fn keys_that_are_not_there_or_not_values() {
    let text = fixture("age.yaml");
    let error = read(&text, SopsFormat::Yaml, "stringData.nope").unwrap_err();
    assert!(matches!(&error, SopsError::KeyNotFound { key } if key == "stringData.nope"));
    let error = read(&text, SopsFormat::Yaml, "stringData").unwrap_err();
    assert!(
        matches!(
            error,
            SopsError::NotAValue {
                found: "a mapping",
                ..
            }
        ),
        "{error:?}"
    );
    // The metadata is not part of the document.
    let error = read(&text, SopsFormat::Yaml, "sops.mac").unwrap_err();
    assert!(matches!(error, SopsError::KeyNotFound { .. }), "{error:?}");
}

#[test]
fn the_mac_is_checked_before_a_missing_key_is_reported() {
    let text = edit(&fixture("age.yaml"), "  name: age\n", "  name: agf\n");
    tampered(read(&text, SopsFormat::Yaml, "stringData.nope"));
}

#[test]
fn messages_never_carry_the_plaintext() {
    let text = fixture("global.yaml");
    let ours = identities("age-global.txt");
    let changed = edit(&text, "  name: global-age-secret\n", "  name: x\n");
    let errors = [
        sops_value(
            text.as_bytes(),
            SopsFormat::Yaml,
            "stringData.key",
            &identities("age.txt"),
        ),
        sops_value(
            changed.as_bytes(),
            SopsFormat::Yaml,
            "stringData.key",
            &ours,
        ),
        sops_value(text.as_bytes(), SopsFormat::Yaml, "stringData", &ours),
    ];
    for result in errors {
        let error = result.unwrap_err();
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains("global-value"), "{text}");
        }
    }
}

#[test]
fn go_formats() {
    assert_eq!(go_float(1.0), "1");
    assert_eq!(go_float(1.5), "1.5");
    assert_eq!(go_float(-0.25), "-0.25");
    assert_eq!(go_float(1e21), "1000000000000000000000");
    assert_eq!(go_float(f64::INFINITY), "+Inf");
    assert_eq!(go_bool("True"), Some(true));
    assert_eq!(go_bool("f"), Some(false));
    assert_eq!(go_bool("yes"), None);
    assert_eq!(
        go_rfc3339("2024-11-12T13:33:42Z").unwrap(),
        "2024-11-12T13:33:42Z"
    );
    assert_eq!(
        go_rfc3339("2024-11-12T13:33:42.5Z").unwrap(),
        "2024-11-12T13:33:42Z"
    );
    assert_eq!(
        go_rfc3339("2024-11-12T13:33:42+00:00").unwrap(),
        "2024-11-12T13:33:42Z"
    );
    assert_eq!(
        go_rfc3339("2024-11-12T13:33:42+02:00").unwrap(),
        "2024-11-12T13:33:42+02:00"
    );
    assert_eq!(go_rfc3339("2024-11-12 13:33:42Z"), None);
    assert_eq!(go_rfc3339("yesterday"), None);
}

#[test]
fn formats_from_paths() {
    assert_eq!(
        SopsFormat::from_path("a/secret.enc.yaml"),
        Some(SopsFormat::Yaml)
    );
    assert_eq!(SopsFormat::from_path("x.YML"), Some(SopsFormat::Yaml));
    assert_eq!(SopsFormat::from_path("x.json"), Some(SopsFormat::Json));
    assert_eq!(SopsFormat::from_path(".env"), Some(SopsFormat::Dotenv));
    assert_eq!(SopsFormat::from_path("x.txt"), None);
    assert_eq!(SopsFormat::from_path("noext"), None);
}

#[test]
fn unencrypted_scalars_are_hashed_as_sops_writes_them() {
    assert_eq!(scalar_bytes(&Value::Int(-7)), b"-7");
    assert_eq!(scalar_bytes(&Value::Float(2.0)), b"2");
    assert_eq!(scalar_bytes(&Value::Bool(false)), b"False");
    assert_eq!(scalar_bytes(&Value::Str("x".into())), b"x");
}
