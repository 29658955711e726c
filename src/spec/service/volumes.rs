//! Mounts: `volumes` in the short (`[SOURCE:]TARGET[:ro|rw]`) and long syntax, as named
//! volumes, host binds, binds of paths shipped from the repository, and tmpfs; and `tmpfs`.
//! Named volumes are collected for the loader, which checks they are declared.

use crate::spec::Files;
use crate::spec::decode::{Cx, index, join};
use crate::spec::model::Mount;
use crate::spec::paths::{self, RepoPath};
use crate::spec::yaml::{Kind, Node, Pos};

pub const MOUNT_KEYS: &[&str] = &["type", "source", "target", "read_only"];

fn mount_target(cx: &mut Cx, field: &str, pos: Pos, target: &str) -> bool {
    if target.starts_with('/') {
        true
    } else {
        cx.error(
            pos,
            field,
            format!("`{target}` is not an absolute path in the container"),
            "an absolute path such as /data",
        );
        false
    }
}

pub(super) fn mounts(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    field: &str,
    node: &Node,
    volume_refs: &mut Vec<(String, Pos, String)>,
) -> Vec<Mount> {
    let Some(items) = cx.seq(field, node, "a list of volumes") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        let (kind, source, target, read_only) = match &item.kind {
            Kind::Map(_) => {
                let mut kind = None;
                let mut source = None;
                let mut target = None;
                let mut read_only = false;
                for (k, kn, v) in cx.map(&f, item, "").unwrap_or_default() {
                    let kf = join(&f, k);
                    match k {
                        "type" => match cx.string(&kf, v).as_deref() {
                            Some(t @ ("volume" | "bind" | "tmpfs")) => kind = Some(t.to_string()),
                            Some(other) => cx.error(
                                v.pos,
                                &kf,
                                format!("unknown mount type `{other}`"),
                                "volume, bind or tmpfs",
                            ),
                            None => {}
                        },
                        "source" => source = cx.string(&kf, v),
                        "target" => target = cx.string(&kf, v),
                        "read_only" => read_only = cx.bool(&kf, v).unwrap_or(false),
                        _ => {
                            if !k.starts_with("x-") {
                                cx.unknown_key(kn, &kf, k, MOUNT_KEYS);
                            }
                        }
                    }
                }
                let Some(kind) = kind else {
                    cx.error(
                        item.pos,
                        &join(&f, "type"),
                        "missing `type`",
                        "volume, bind or tmpfs",
                    );
                    continue;
                };
                let Some(target) = target else {
                    cx.error(
                        item.pos,
                        &join(&f, "target"),
                        "missing `target`",
                        "an absolute path in the container",
                    );
                    continue;
                };
                (kind, source, target, read_only)
            }
            _ => {
                let Some(spec) = cx.string(&f, item) else {
                    continue;
                };
                let parts: Vec<&str> = spec.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [t] => (None, t.to_string(), None),
                    [s, t] => (Some(s.to_string()), t.to_string(), None),
                    [s, t, m] => (Some(s.to_string()), t.to_string(), Some(*m)),
                    _ => {
                        cx.error(
                            item.pos,
                            &f,
                            format!("`{spec}` has too many `:`"),
                            "[SOURCE:]TARGET[:ro|rw]",
                        );
                        continue;
                    }
                };
                let read_only = match mode {
                    None | Some("rw") => false,
                    Some("ro") => true,
                    Some(other) => {
                        cx.error(
                            item.pos,
                            &f,
                            format!("unsupported mount option `{other}`"),
                            "ro or rw",
                        );
                        continue;
                    }
                };
                let kind = match &source {
                    Some(s) if s.starts_with(['/', '.', '~']) => "bind",
                    _ => "volume",
                };
                (kind.to_string(), source, target, read_only)
            }
        };
        if !mount_target(cx, &f, item.pos, &target) {
            continue;
        }
        let mount = match (kind.as_str(), source) {
            ("tmpfs", _) => Mount::Tmpfs { target },
            ("volume", source) => {
                if let Some(name) = &source {
                    volume_refs.push((name.clone(), item.pos, f.clone()));
                }
                Mount::Volume {
                    source,
                    target,
                    read_only,
                }
            }
            (_, None) => {
                cx.error(
                    item.pos,
                    &join(&f, "source"),
                    "a bind mount needs a `source`",
                    "a path",
                );
                continue;
            }
            (_, Some(source)) if source.starts_with('/') => Mount::Bind {
                source,
                target,
                read_only,
            },
            (_, Some(source)) if source.starts_with('~') => {
                cx.error_hint(
                    item.pos,
                    &f,
                    format!("`{source}` uses `~`, which has no meaning on a remote host"),
                    "an absolute host path, or a path relative to the repository",
                    "write the absolute path on the host",
                );
                continue;
            }
            (_, Some(source)) => {
                let Some(path) = paths::resolve_in_repo(cx, &f, item.pos, dir, &source) else {
                    continue;
                };
                match files.exists(path.as_str()) {
                    Ok(true) => {}
                    Ok(false) => {
                        cx.error_hint(
                            item.pos,
                            &f,
                            format!("`{source}` does not exist in the repository"),
                            "a file or directory committed in the repository",
                            "a relative bind mount ships that path from the repository to the hosts; commit it or use an absolute host path",
                        );
                        continue;
                    }
                    Err(e) => {
                        cx.error(
                            item.pos,
                            &f,
                            format!("cannot read `{source}`: {e}"),
                            "a readable path",
                        );
                        continue;
                    }
                }
                Mount::RepoBind {
                    source: path.to_string(),
                    target,
                    read_only,
                }
            }
        };
        out.push(mount);
    }
    out
}

/// tmpfs mounts as Compose writes them: `/path` or `/path:size=64m,mode=1777`.
pub(super) fn tmpfs(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for (text, pos) in cx.string_or_list(field, node).unwrap_or_default() {
        if text.starts_with('/') {
            out.push(text);
        } else {
            cx.error(
                pos,
                field,
                format!("`{text}` is not an absolute path"),
                "an absolute path in the container, optionally followed by :options",
            );
        }
    }
    out
}
