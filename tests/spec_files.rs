//! Compose `secrets:` and `configs:` in the desired state: where each comes from, where it is
//! mounted and as whom, and every bad input reported at its place.

use fleet::spec::model::{FileMount, FileSource};
use fleet::spec::{Desired, MemoryFiles, load};

const AGE_FILE: &str = "age-encryption.org/v1\n-> X25519 abc\nxyz\n--- mac\nbinary";

fn loaded(files: &[(&str, &str)]) -> (Option<Desired>, Vec<String>) {
    let loaded = load(&MemoryFiles::new(files.iter().copied()));
    let diags = loaded.diagnostics.iter().map(ToString::to_string).collect();
    (loaded.desired, diags)
}

#[test]
fn secrets_and_configs_are_declared_once_and_mounted_where_compose_mounts_them() {
    let (desired, diags) = loaded(&[
        (
            "fleet.yaml",
            "project: shop
secrets:
  db_password: { file: ./secrets/db_password.age }
configs:
  nginx_conf: { file: ./nginx/nginx.conf }
  banner: { content: \"hello\" }
services:
  web:
    image: nginx
    secrets:
      - db_password
      - { source: db_password, target: other, uid: '1000', gid: 1000, mode: 0440 }
    configs:
      - { source: nginx_conf, target: /etc/nginx/nginx.conf, mode: 0o444 }
      - banner
",
        ),
        ("secrets/db_password.age", AGE_FILE),
        ("nginx/nginx.conf", "events {}\n"),
    ]);
    let desired = desired.unwrap_or_else(|| panic!("{diags:#?}"));
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(
        desired.secrets["db_password"],
        FileSource::File {
            path: "secrets/db_password.age".into(),
            encrypted: true
        }
    );
    assert_eq!(
        desired.configs["banner"],
        FileSource::Content {
            text: "hello".into()
        }
    );
    let web = &desired.services["web"];
    assert_eq!(
        web.secrets,
        [
            FileMount {
                source: "db_password".into(),
                target: "/run/secrets/db_password".into(),
                uid: None,
                gid: None,
                mode: 0o444
            },
            FileMount {
                source: "db_password".into(),
                target: "/run/secrets/other".into(),
                uid: Some(1000),
                gid: Some(1000),
                mode: 0o440
            },
        ]
    );
    assert_eq!(web.configs[0].target, "/etc/nginx/nginx.conf");
    assert_eq!(web.configs[1].target, "/banner");
}

#[test]
fn a_plain_secret_file_loads_with_a_warning() {
    let (desired, diags) = loaded(&[
        (
            "fleet.yaml",
            "project: shop\nsecrets:\n  pw: { file: pw.txt }\nservices:\n  db: { image: pg, secrets: [pw] }\n",
        ),
        ("pw.txt", "hunter2"),
    ]);
    assert!(desired.is_some(), "{diags:#?}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].contains("warning") && diags[0].contains("plain file"));
    assert!(!diags[0].contains("hunter2"));
}

#[test]
fn each_bad_secret_or_config_is_an_error_at_its_place() {
    let cases: &[(&str, &str)] = &[
        (
            "secrets: { pw: { file: pw.age } }\nservices:\n  db: { image: pg, secrets: [nope] }\n",
            "fleet.yaml:4:30: error: services.db.secrets[0]: secret `nope` is not declared",
        ),
        (
            "secrets: { pw: { file: gone.age } }\n",
            "fleet.yaml:2:24: error: secrets.pw.file: `gone.age` does not exist in the repository",
        ),
        (
            "secrets: { pw: { file: plain.age } }\n",
            "fleet.yaml:2:24: error: secrets.pw.file: `plain.age` ends in .age but is not an age file",
        ),
        (
            "secrets: { pw: { environment: PW } }\n",
            "fleet.yaml:2:18: error: secrets.pw.environment: the Compose key `secrets.*.environment` is not supported by fleet",
        ),
        (
            "secrets: { pw: { file: pw.age } }\nservices:\n  db: { image: pg, secrets: [{ source: pw, mode: 0999 }] }\n",
            "fleet.yaml:4:50: error: services.db.secrets[0].mode: `0999` is not an octal file mode",
        ),
        (
            "secrets: { pw: { file: pw.age } }\nservices:\n  db: { image: pg, secrets: [{ source: pw, uid: root }] }\n",
            "fleet.yaml:4:49: error: services.db.secrets[0].uid: `root` is not a numeric id",
        ),
        (
            "configs: { c: { content: x } }\nservices:\n  db: { image: pg, configs: [{ source: c, target: etc/c }] }\n",
            "fleet.yaml:4:51: error: services.db.configs[0].target: `etc/c` is not an absolute path",
        ),
    ];
    for (yaml, expected) in cases {
        let (desired, diags) = loaded(&[
            ("fleet.yaml", &format!("project: shop\n{yaml}")),
            ("pw.age", AGE_FILE),
            ("plain.age", "not encrypted"),
        ]);
        assert!(desired.is_none(), "{yaml}: accepted");
        assert!(
            diags.iter().any(|d| d.starts_with(expected)),
            "{yaml}\nexpected: {expected}\n{diags:#?}"
        );
    }
}
