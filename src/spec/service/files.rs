//! A service's Compose `secrets` and `configs`: names of top-level ones (short syntax) or
//! `{ source, target, uid, gid, mode }`. A secret goes to `/run/secrets/<source>` (a relative
//! target is under `/run/secrets` too); a config to `/<source>`. The names are collected for
//! the loader, which checks that they are declared.

use crate::spec::decode::{Cx, index, join};
use crate::spec::model::FileMount;
use crate::spec::yaml::{Kind, Node, Pos, Resolved};

pub const FILE_MOUNT_KEYS: &[&str] = &["source", "target", "uid", "gid", "mode"];

/// Which of the two the list is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Secret,
    Config,
}

impl FileKind {
    pub fn key(self) -> &'static str {
        match self {
            FileKind::Secret => "secrets",
            FileKind::Config => "configs",
        }
    }

    fn default_target(self, source: &str) -> String {
        match self {
            FileKind::Secret => format!("/run/secrets/{source}"),
            FileKind::Config => format!("/{source}"),
        }
    }
}

pub(super) fn file_mounts(
    cx: &mut Cx,
    kind: FileKind,
    field: &str,
    node: &Node,
    refs: &mut Vec<(String, Pos, String)>,
) -> Vec<FileMount> {
    let mut out: Vec<FileMount> = Vec::new();
    let Some(items) = cx.seq(
        field,
        node,
        "a list of names, or of { source, target, mode }",
    ) else {
        return out;
    };
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        let mount = match &item.kind {
            Kind::Map(_) => long(cx, kind, &f, item, refs),
            _ => cx.string(&f, item).map(|source| {
                refs.push((source.clone(), item.pos, f.clone()));
                FileMount {
                    target: kind.default_target(&source),
                    source,
                    uid: None,
                    gid: None,
                    mode: 0o444,
                }
            }),
        };
        let Some(mount) = mount else { continue };
        if out.iter().any(|m| m.target == mount.target) {
            cx.error(
                item.pos,
                &f,
                format!("two {} are mounted at `{}`", kind.key(), mount.target),
                "one file per target",
            );
            continue;
        }
        out.push(mount);
    }
    out
}

fn long(
    cx: &mut Cx,
    kind: FileKind,
    field: &str,
    node: &Node,
    refs: &mut Vec<(String, Pos, String)>,
) -> Option<FileMount> {
    let mut source = None;
    let mut target: Option<(String, Pos)> = None;
    let mut uid = None;
    let mut gid = None;
    let mut mode = 0o444;
    for (k, kn, v) in cx.map(field, node, "")? {
        let f = join(field, k);
        match k {
            "source" => {
                source = cx.string(&f, v);
                if let Some(s) = &source {
                    refs.push((s.clone(), v.pos, f.clone()));
                }
            }
            "target" => target = cx.string(&f, v).map(|t| (t, v.pos)),
            "uid" => uid = id(cx, &f, v),
            "gid" => gid = id(cx, &f, v),
            "mode" => mode = octal_mode(cx, &f, v)?,
            _ if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, FILE_MOUNT_KEYS),
        }
    }
    let Some(source) = source else {
        cx.error(
            node.pos,
            &join(field, "source"),
            "missing `source`",
            &format!("the name of a top-level {}", kind.key()),
        );
        return None;
    };
    let target = match target {
        None => kind.default_target(&source),
        Some((t, _)) if t.starts_with('/') => t,
        Some((t, _)) if kind == FileKind::Secret && !t.is_empty() => format!("/run/secrets/{t}"),
        Some((t, pos)) => {
            cx.error(
                pos,
                &join(field, "target"),
                format!("`{t}` is not an absolute path"),
                "an absolute path in the container",
            );
            return None;
        }
    };
    Some(FileMount {
        source,
        target,
        uid,
        gid,
        mode,
    })
}

/// A user or group id: a number, written as Compose allows (`1000` or `"1000"`).
fn id(cx: &mut Cx, field: &str, node: &Node) -> Option<u32> {
    let text = match node.resolve() {
        Some(Resolved::Int(n)) => n.to_string(),
        _ => cx.text(field, node, "a numeric user or group id")?,
    };
    match text.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            cx.error(
                node.pos,
                field,
                format!("`{text}` is not a numeric id"),
                "a number such as 1000 (names are not resolved on the host)",
            );
            None
        }
    }
}

/// File permission bits as Compose writes them: octal (`0440`, `0o440`, `"440"`), as the
/// Compose file format reads them whether or not YAML would.
fn octal_mode(cx: &mut Cx, field: &str, node: &Node) -> Option<u32> {
    let text = node.scalar_text().unwrap_or_default().to_string();
    let digits = text
        .strip_prefix("0o")
        .or_else(|| text.strip_prefix("0O"))
        .unwrap_or(&text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o7777 && !digits.is_empty() => Some(mode),
        _ => {
            cx.error(
                node.pos,
                field,
                format!("`{text}` is not an octal file mode"),
                "octal permission bits such as 0440",
            );
            None
        }
    }
}
