//! A Compose secret that is one value of a SOPS file (as Flux and Argo CD users keep them),
//! read through the same path as `fleet plan` and `apply`: the value is decrypted with the
//! identity in FLEET_AGE_KEY_FILE, and its digest stamped into the service. The fixtures are
//! Flux's (tests/fixtures/sops/SOURCE.md), encrypted by the sops CLI.

use fleet::spec::{MemoryFiles, load};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sops")
            .join(name),
    )
    .unwrap()
}

#[test]
fn a_sops_value_is_a_secret_and_a_tampered_file_is_refused() {
    let yaml = "project: shop\nsecrets:\n  api_key: { file: secrets.yaml, key: stringData.key }\nservices:\n  web: { image: web:1, secrets: [api_key] }\n";
    let sops = fixture("age.yaml");
    let files = MemoryFiles::new([("fleet.yaml", yaml), ("secrets.yaml", sops.as_str())]);
    let loaded = load(&files);
    let mut desired = loaded
        .desired
        .unwrap_or_else(|| panic!("{:#?}", loaded.diagnostics));
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops/age.txt");
    // SAFETY: nextest runs each test in a process of its own; nothing else reads it meanwhile.
    unsafe { std::env::set_var("FLEET_AGE_KEY_FILE", &key) };
    let payload = fleet::secrets::read_payload(&desired, &files).expect("decrypted");
    payload.stamp(&mut desired);
    let web = &desired.services["web"];
    let written = payload.host_files(web, fleet::contract::Shipped::Secrets);
    assert_eq!(written[0].content, b"value");
    assert_eq!(web.file_digests["secret:api_key"].len(), 64);

    // One changed character of the ciphertext: the file's MAC fails, nothing is read.
    let tampered = sops.replacen("data:mHeXsmQ=", "data:mHeXsmR=", 1);
    assert_ne!(tampered, sops);
    let files = MemoryFiles::new([("fleet.yaml", yaml), ("secrets.yaml", tampered.as_str())]);
    let errors = fleet::secrets::read_payload(&desired, &files).unwrap_err();
    let message = errors[0].to_string();
    assert!(
        message.starts_with("secret `api_key`: cannot decrypt `secrets.yaml`"),
        "{message}"
    );
    assert!(!message.contains("value\""), "{message}");
}
