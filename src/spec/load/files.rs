//! Top-level Compose `secrets:` and `configs:`: files of the repository (`file:`, a secret
//! encrypted with age when it ends in `.age`) or, for configs, inline `content:`. Values from
//! the environment of whoever runs fleet and Swarm's external ones are refused: the commit
//! alone decides what runs.

use super::{NAME_EXPECTED, State, valid_name};
use crate::spec::Files;
use crate::spec::decode::{Cx, join};
use crate::spec::model::FileSource;
use crate::spec::paths::{RepoPath, resolve_in_repo};
use crate::spec::service::FileKind;
use crate::spec::yaml::{Node, Pos};

pub const SECRET_KEYS: &[&str] = &["file", "key", "name"];
pub const CONFIG_KEYS: &[&str] = &["file", "content", "name"];

/// The first bytes of an age file, binary or armored.
const AGE_BINARY: &[u8] = b"age-encryption.org/v1\n";
const AGE_ARMOR: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

pub(super) fn decode_files(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    kind: FileKind,
    node: &Node,
    state: &mut State,
) {
    if node.is_null() {
        return;
    }
    let top = kind.key();
    let Some(entries) = cx.map(top, node, "a mapping of name to { file }") else {
        return;
    };
    for (name, key, value) in entries {
        if name.starts_with("x-") {
            continue;
        }
        let field = join(top, name);
        if !valid_name(name) {
            cx.error(
                key.pos,
                &field,
                format!("`{name}` is not a valid name"),
                NAME_EXPECTED,
            );
            continue;
        }
        // A declaration whose source was refused still declares the name (the load fails
        // anyway): the services naming it should not also read "not declared".
        let source =
            decode_one(cx, files, dir, kind, &field, value).unwrap_or(FileSource::Content {
                text: String::new(),
            });
        let into = match kind {
            FileKind::Secret => &mut state.secrets,
            FileKind::Config => &mut state.configs,
        };
        match into.get(name) {
            Some((existing, _, _)) if *existing == source => {}
            Some((_, file, first)) => {
                let hint = format!(
                    "it is first declared at {file}:{}; declare it once",
                    first.line
                );
                cx.error_hint(
                    key.pos,
                    &field,
                    format!("`{name}` is declared twice, differently"),
                    "one declaration",
                    hint,
                );
            }
            None => {
                into.insert(name.to_string(), (source, cx.file.clone(), key.pos));
            }
        }
    }
}

fn decode_one(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    kind: FileKind,
    field: &str,
    node: &Node,
) -> Option<FileSource> {
    let known = match kind {
        FileKind::Secret => SECRET_KEYS,
        FileKind::Config => CONFIG_KEYS,
    };
    let mut out = None;
    let mut written = false;
    let mut file_node = None;
    let mut sops_key = None;
    for (k, kn, v) in cx.map(field, node, "a mapping with `file`")? {
        written |= k == "file" || (k == "content" && kind == FileKind::Config);
        let f = join(field, k);
        match (k, kind) {
            ("file", _) => file_node = Some((f, v)),
            ("key", FileKind::Secret) => sops_key = cx.string(&f, v).map(|key| (key, v.pos, f)),
            ("content", FileKind::Config) => {
                out = cx
                    .text(&f, v, "the file's text")
                    .map(|text| FileSource::Content { text });
            }
            ("name", _) => {
                cx.string(&f, v);
            }
            ("environment", _) => cx.error_hint(
                kn.pos,
                &f,
                format!("the Compose key `{top}.*.environment` is not supported by fleet", top = kind.key()),
                "",
                "a value from the environment of whoever runs fleet would differ between machines; instead: commit it as a file (a secret encrypted with `fleet secret set`)",
            ),
            ("external", _) => cx.error_hint(
                kn.pos,
                &f,
                format!("the Compose key `{top}.*.external` is not supported by fleet", top = kind.key()),
                "",
                "external secrets and configs live in a Swarm; instead: commit the file (a secret encrypted with `fleet secret set`)",
            ),
            ("driver" | "driver_opts" | "template_driver" | "labels", _) => cx.error_hint(
                kn.pos,
                &f,
                format!("the Compose key `{k}` is not supported by fleet"),
                "",
                "secret and config drivers are a Swarm feature; instead: a file of the repository",
            ),
            _ if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, known),
        }
    }
    match (file_node, sops_key) {
        (Some((f, v)), None) => out = file(cx, files, dir, kind, &f, v),
        (Some((f, v)), Some((key, pos, kf))) => {
            out = sops(cx, files, dir, &f, v).and_then(|path| {
                if key.trim().is_empty() {
                    cx.error(
                        pos,
                        &kf,
                        "an empty key",
                        "the dotted path of the value, e.g. db.password",
                    );
                    None
                } else {
                    Some(FileSource::Sops { path, key })
                }
            })
        }
        (None, Some((_, pos, kf))) => cx.error(
            pos,
            &kf,
            "`key` picks a value of a SOPS `file`, and there is none",
            "file: ./secrets.enc.yaml",
        ),
        (None, None) => {}
    }
    if out.is_none() && !written && !has_error_at(node) {
        cx.error(
            node.pos,
            field,
            match kind {
                FileKind::Secret => "a secret needs a `file`",
                FileKind::Config => "a config needs a `file` or `content`",
            },
            "file: ./path/in/the/repository",
        );
    }
    out
}

/// Whether the entry names a source fleet refuses (already reported with its reason).
fn has_error_at(node: &Node) -> bool {
    ["environment", "external"]
        .iter()
        .any(|k| super::root_has(node, k))
}

/// The file a `file:` names: as written, its path in the repository, and its bytes at the
/// commit (reported when it is not there).
fn committed(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    field: &str,
    node: &Node,
) -> Option<(String, RepoPath, Vec<u8>)> {
    let written = cx.string(field, node)?;
    let path = resolve_in_repo(cx, field, node.pos, dir, &written)?;
    let bytes = match files.read(path.as_str()) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            cx.error_hint(
                node.pos,
                field,
                format!("`{written}` does not exist in the repository"),
                "a file committed in the repository",
                "commit the file or fix the path",
            );
            return None;
        }
        Err(e) => {
            cx.error(
                node.pos,
                field,
                format!("cannot read `{written}`: {e}"),
                "a readable file",
            );
            return None;
        }
    };
    Some((written, path, bytes))
}

fn file(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    kind: FileKind,
    field: &str,
    node: &Node,
) -> Option<FileSource> {
    let (written, path, bytes) = committed(cx, files, dir, field, node)?;
    let encrypted = path.as_str().ends_with(".age");
    if encrypted && !(bytes.starts_with(AGE_BINARY) || bytes.starts_with(AGE_ARMOR)) {
        cx.error_hint(
            node.pos,
            field,
            format!("`{written}` ends in .age but is not an age file"),
            "a file written by age or `fleet secret set`",
            "encrypt it with `fleet secret set NAME --file PLAIN`, or rename it if it is not meant to be encrypted",
        );
        return None;
    }
    if kind == FileKind::Secret && !encrypted {
        not_encrypted(cx, node.pos, field, &written);
    }
    Some(FileSource::File {
        path: path.to_string(),
        encrypted,
    })
}

/// A SOPS file (YAML, JSON or dotenv, by its extension) in the repository: its path.
fn sops(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    field: &str,
    node: &Node,
) -> Option<String> {
    let (written, path, bytes) = committed(cx, files, dir, field, node)?;
    let text = String::from_utf8_lossy(&bytes);
    let marker = match sops_format(path.as_str()) {
        Some("json") => text.contains("\"sops\""),
        Some("dotenv") => text.lines().any(|l| l.starts_with("sops_")),
        Some(_) => text.lines().any(|l| l.starts_with("sops:")),
        None => {
            cx.error(
                node.pos,
                field,
                format!("`{written}` is not a SOPS file fleet reads"),
                "a .yaml, .yml, .json or .env file encrypted by sops",
            );
            return None;
        }
    };
    if !marker {
        cx.error_hint(
            node.pos,
            field,
            format!("`{written}` has no sops metadata"),
            "a file encrypted by sops (with age recipients)",
            "encrypt it with `sops --encrypt --age RECIPIENT`, or drop `key` for an age file",
        );
        return None;
    }
    Some(path.to_string())
}

/// The format of a SOPS file by its extension: `yaml`, `json` or `dotenv`.
pub fn sops_format(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("yaml" | "yml") => Some("yaml"),
        Some("json") => Some("json"),
        Some("env") => Some("dotenv"),
        _ if name == ".env" => Some("dotenv"),
        _ => None,
    }
}

fn not_encrypted(cx: &mut Cx, pos: Pos, field: &str, written: &str) {
    cx.warning(
        pos,
        field,
        format!("the secret `{written}` is a plain file: anyone who can read the repository reads it"),
        Some("encrypt it with `fleet secret set NAME --file PLAIN` (age); fleet decrypts `.age` files".into()),
    );
}
