use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::*;

/// A throwaway unencrypted ed25519 key made for these tests (`ssh-keygen -t ed25519 -N ''`).
const SSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACC8KhDDREV7P2uJHPVUdKILhXumwh7FlIs+TnpdAekuEAAAAJDoPQej6D0H
owAAAAtzc2gtZWQyNTUxOQAAACC8KhDDREV7P2uJHPVUdKILhXumwh7FlIs+TnpdAekuEA
AAAEAtAGdu+Goo97TFvijbawfDLpa8f1otM1GiFxjkuIqRBrwqEMNERXs/a4kc9VR0oguF
e6bCHsWUiz5Oel0B6S4QAAAACmZsZWV0LXRlc3QBAgM=
-----END OPENSSH PRIVATE KEY-----
";
const SSH_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILwqEMNERXs/a4kc9VR0oguFe6bCHsWUiz5Oel0B6S4Q fleet-test";

/// The same kind of key, protected by the passphrase `hunter2`.
const SSH_KEY_LOCKED: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBOMNoREt
OgR3cB2qfEX/mQAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIL0gTShQWVM0mTZC
O7zsqLvSlO3h77hZR5r5hOfqK0LZAAAAkJGzM5RUgCE/C0X+mUJbiZzzcIFxoq0ZF6fHgT
kkCiIopfA7jGCaSblJ9c4Qlirj95uMm2jsY6heA3cTbbnBYZNZvFhCbP/YqoWsJaPkaTto
LHCSktfcaxvEF2++t0ZTdaAiOzs7D3X9HJwHvsD1fQtFqEYClzNeh92thdpchd45b/Nmtt
DaaKrPhLJddZDIxg==
-----END OPENSSH PRIVATE KEY-----
";

const PLAIN: &[u8] = b"db-password: correct horse battery staple\n";

/// A key file holding a fresh identity; returns its path and recipient.
fn key_file(dir: &Path, name: &str) -> (PathBuf, String) {
    let (secret, recipient) = generate();
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(
        &path,
        format!("# created: now\n# public key: {recipient}\n{secret}\n"),
    )
    .unwrap();
    (path, recipient)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn x25519_round_trip_binary_and_armored() {
    let dir = tempfile::tempdir().unwrap();
    let (path, recipient) = key_file(dir.path(), "keys.txt");
    let identities = Identities::from_files(&[path]).unwrap();
    let binary = encrypt(PLAIN, std::slice::from_ref(&recipient), false).unwrap();
    assert!(binary.starts_with(b"age-encryption.org/v1\n"));
    assert_eq!(decrypt(&binary, &identities).unwrap(), PLAIN);

    let armored = encrypt(PLAIN, &[recipient], true).unwrap();
    assert!(armored.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(armored.is_ascii());
    assert_eq!(decrypt(&armored, &identities).unwrap(), PLAIN);
}

#[test]
fn ssh_ed25519_round_trip_names_the_key_by_its_tag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id_ed25519");
    write(&path, SSH_KEY);
    let identities = Identities::from_files(&[path]).unwrap();
    let ciphertext = encrypt(PLAIN, &[SSH_PUB.to_string()], false).unwrap();
    assert_eq!(decrypt(&ciphertext, &identities).unwrap(), PLAIN);
    let recipients = recipients_of(&ciphertext);
    assert_eq!(recipients.len(), 1, "{recipients:?}");
    // The tag in the header and the one fleet shows for the loaded key are the same.
    assert!(
        recipients[0].starts_with("ssh-ed25519 key "),
        "{recipients:?}"
    );
    assert!(
        identities.sources()[0].ends_with(&format!("({})", recipients[0])),
        "{:?} vs {recipients:?}",
        identities.sources()
    );
}

#[test]
fn a_wrong_identity_lists_the_recipients_and_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let (_, recipient) = key_file(dir.path(), "a.txt");
    let (other, _) = key_file(dir.path(), "b.txt");
    let ciphertext = encrypt(PLAIN, &[recipient, SSH_PUB.to_string()], false).unwrap();
    let identities = Identities::from_files(std::slice::from_ref(&other)).unwrap();
    match decrypt(&ciphertext, &identities) {
        Err(DecryptError::NoMatchingIdentity { recipients, tried }) => {
            assert_eq!(recipients[0], "X25519 recipient");
            assert!(
                recipients[1].starts_with("ssh-ed25519 key "),
                "{recipients:?}"
            );
            assert_eq!(
                tried,
                vec![format!("{} (X25519 identity)", other.display())]
            );
        }
        other => panic!("expected NoMatchingIdentity, got {other:?}"),
    }
}

#[test]
fn no_identity_at_all_is_its_own_error() {
    let (_, recipient) = generate();
    let ciphertext = encrypt(PLAIN, &[recipient], true).unwrap();
    let none = Identities::from_files(&[]).unwrap();
    assert!(none.is_empty());
    match decrypt(&ciphertext, &none) {
        Err(DecryptError::NoIdentity { recipients }) => {
            assert_eq!(recipients, vec!["X25519 recipient".to_string()]);
        }
        other => panic!("expected NoIdentity, got {other:?}"),
    }
}

#[test]
fn a_flipped_byte_in_the_payload_fails_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let (path, recipient) = key_file(dir.path(), "keys.txt");
    let identities = Identities::from_files(&[path]).unwrap();
    let mut ciphertext = encrypt(PLAIN, &[recipient], false).unwrap();
    // The payload is after the header: the last byte is inside the last chunk's tag.
    let last = ciphertext.len() - 1;
    ciphertext[last] ^= 0x01;
    let error = decrypt(&ciphertext, &identities).unwrap_err();
    assert!(matches!(error, DecryptError::Corrupt(_)), "{error:?}");
    assert!(!error.to_string().contains("correct horse"), "{error}");
}

#[test]
fn a_changed_header_fails_its_mac() {
    let dir = tempfile::tempdir().unwrap();
    let (path, recipient) = key_file(dir.path(), "keys.txt");
    let identities = Identities::from_files(&[path]).unwrap();
    let mut ciphertext = encrypt(PLAIN, &[recipient], false).unwrap();
    // Change the MAC's first character on the `--- ` line to another base64 digit (flipping a
    // bit could make it no base64 at all, which is a parse error, not a failed MAC).
    let at = ciphertext.windows(4).position(|w| w == b"\n---").unwrap() + 5;
    ciphertext[at] = if ciphertext[at] == b'A' { b'B' } else { b'A' };
    let error = decrypt(&ciphertext, &identities).unwrap_err();
    assert!(matches!(error, DecryptError::Corrupt(_)), "{error:?}");
}

#[test]
fn bytes_that_are_not_age_are_refused_as_such() {
    let identities = Identities::from_files(&[]).unwrap();
    for bytes in [
        &b"password=hunter2\n"[..],
        b"",
        b"-----BEGIN PGP MESSAGE-----\n",
    ] {
        let error = decrypt(bytes, &identities).unwrap_err();
        assert!(matches!(error, DecryptError::NotAge), "{error:?}");
        assert!(!error.to_string().contains("hunter2"));
        assert!(recipients_of(bytes).is_empty());
    }
}

#[test]
fn recipients_of_lists_every_stanza_in_order() {
    let (_, first) = generate();
    let (_, second) = generate();
    for armor in [false, true] {
        let ciphertext = encrypt(
            PLAIN,
            &[first.clone(), SSH_PUB.into(), second.clone()],
            armor,
        )
        .unwrap();
        let recipients = recipients_of(&ciphertext);
        assert_eq!(recipients.len(), 3, "{recipients:?}");
        assert_eq!(recipients[0], "X25519 recipient");
        assert!(recipients[1].starts_with("ssh-ed25519 key "));
        assert_eq!(recipients[2], "X25519 recipient");
    }
}

#[test]
fn an_unparseable_recipient_is_named() {
    for bad in [
        "age1notakey",
        "ssh-ed25519 AAAAnotbase64!",
        "alice@example.com",
    ] {
        match encrypt(PLAIN, &[bad.to_string()], false) {
            Err(EncryptError::BadRecipient { recipient, .. }) => assert_eq!(recipient, bad),
            other => panic!("{bad}: expected BadRecipient, got {other:?}"),
        }
    }
    assert!(matches!(
        encrypt(PLAIN, &[], false),
        Err(EncryptError::NoRecipients)
    ));
}

#[test]
fn generate_gives_a_matching_pair() {
    let (secret, recipient) = generate();
    assert!(secret.starts_with("AGE-SECRET-KEY-1"), "wrong kind of key");
    assert!(recipient.starts_with("age1"));
    assert_ne!(generate().1, recipient, "two identities are the same");
}

#[test]
fn digest_is_keyed_stable_and_not_a_plain_hash() {
    let one = digest(b"key", PLAIN);
    assert_eq!(one.len(), 64);
    assert!(
        one.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(digest(b"key", PLAIN), one);
    assert_ne!(digest(b"other key", PLAIN), one);
    assert_ne!(digest(b"key", b"another secret"), one);
    let plain_hash = data_encoding::HEXLOWER.encode(&Sha256::digest(PLAIN));
    assert_ne!(one, plain_hash);
    assert_ne!(digest(b"", PLAIN), plain_hash);
    // RFC 4231 test case 2, so the construction is HMAC-SHA256 and nothing home-made.
    assert_eq!(
        digest(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

fn env_of(vars: &[(&str, &Path)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.display().to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn load_looks_in_the_documented_order() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (fleet_file, fleet_recipient) = key_file(dir.path(), "fleet.txt");
    let (sops_file, _) = key_file(dir.path(), "sops.txt");
    let (keys_txt, keys_recipient) = key_file(&home, ".config/fleet/age/keys.txt");
    write(&home.join(".ssh/id_ed25519"), SSH_KEY);
    let env = env_of(&[
        ("FLEET_AGE_KEY_FILE", &fleet_file),
        ("SOPS_AGE_KEY_FILE", &sops_file),
    ]);
    let identities = Identities::load(&env, Some(&home)).unwrap();
    let sources: Vec<&str> = identities.sources().iter().map(String::as_str).collect();
    assert_eq!(sources.len(), 4, "{sources:?}");
    assert_eq!(
        sources[0],
        format!("{} (X25519 identity)", fleet_file.display())
    );
    assert_eq!(
        sources[1],
        format!("{} (X25519 identity)", sops_file.display())
    );
    assert_eq!(
        sources[2],
        format!("{} (X25519 identity)", keys_txt.display())
    );
    assert!(
        sources[3].starts_with(&format!(
            "{} (ssh-ed25519 key ",
            home.join(".ssh/id_ed25519").display()
        )),
        "{sources:?}"
    );
    // Every one of them decrypts.
    for recipient in [fleet_recipient, keys_recipient, SSH_PUB.to_string()] {
        let ciphertext = encrypt(PLAIN, &[recipient], false).unwrap();
        assert_eq!(decrypt(&ciphertext, &identities).unwrap(), PLAIN);
    }
}

#[test]
fn load_skips_missing_files_and_locked_ssh_keys_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    write(&home.join(".ssh/id_ed25519"), SSH_KEY_LOCKED);
    let missing = dir.path().join("nowhere.txt");
    let env = env_of(&[("SOPS_AGE_KEY_FILE", &missing)]);
    let identities = Identities::load(&env, Some(&home)).unwrap();
    assert!(identities.is_empty());
    let sources = identities.sources();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(sources[0].contains("SOPS_AGE_KEY_FILE") && sources[0].ends_with("missing"));
    assert!(sources[1].contains("passphrase-protected"), "{sources:?}");

    // No home and no variables: nothing, and no error.
    let nothing = Identities::load(&|_| None, None).unwrap();
    assert!(nothing.is_empty() && nothing.sources().is_empty());
}

#[test]
fn a_file_that_exists_but_does_not_parse_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let keys_txt = home.join(".config/fleet/age/keys.txt");
    write(&keys_txt, "# mine\nAGE-SECRET-KEY-1NOTREALLYAKEY\n");
    let error = Identities::load(&|_| None, Some(&home)).unwrap_err();
    assert!(
        matches!(&error, SecretError::Parse { path, .. } if *path == keys_txt),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&keys_txt.display().to_string()),
        "{message}"
    );
    assert!(
        !message.contains("NOTREALLYAKEY"),
        "the message shows key material: {message}"
    );

    write(&keys_txt, "# only comments\n");
    let error = Identities::load(&|_| None, Some(&home)).unwrap_err();
    assert!(matches!(error, SecretError::Empty { .. }), "{error:?}");

    // Named explicitly, a locked SSH key is an error rather than a note.
    let locked = dir.path().join("locked");
    write(&locked, SSH_KEY_LOCKED);
    let error = Identities::from_files(&[locked]).unwrap_err();
    assert!(matches!(error, SecretError::Encrypted { .. }), "{error:?}");
    assert!(error.hint().is_some());
}

#[test]
fn debug_output_shows_no_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = key_file(dir.path(), "keys.txt");
    let secret = std::fs::read_to_string(&path).unwrap();
    let secret = secret.lines().last().unwrap();
    let identities = Identities::from_files(&[path]).unwrap();
    let debug = format!("{identities:?}");
    assert!(
        !debug.contains(secret) && !debug.contains("AGE-SECRET-KEY"),
        "{debug}"
    );
}
