//! Mounts: `volumes` in the short (`[SOURCE:]TARGET[:OPTIONS]`) and long syntax, as named
//! volumes, host binds, binds of paths shipped from the repository, data directories (relative
//! paths not in the repository), and tmpfs; and `tmpfs`.
//! Named volumes are collected for the loader, which checks they are declared. Engine options
//! (propagation, SELinux relabelling, nocopy, subpath, tmpfs size and mode) are kept as Compose
//! passes them; `cached`, `delegated` and `consistency` only mean something on macOS and are
//! accepted and dropped.

use crate::spec::Files;
use crate::spec::decode::{Cx, index, join};
use crate::spec::model::{Mount, MountOptions};
use crate::spec::paths::{self, RepoPath};
use crate::spec::yaml::{Kind, Node, Pos};

pub const MOUNT_KEYS: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "bind",
    "volume",
    "tmpfs",
    "consistency",
];
pub const MOUNT_BIND_KEYS: &[&str] = &["propagation", "create_host_path", "selinux"];
pub const MOUNT_VOLUME_KEYS: &[&str] = &["nocopy", "subpath"];
pub const MOUNT_TMPFS_KEYS: &[&str] = &["size", "mode"];

const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];
const SHORT_OPTIONS: &str =
    "ro, rw, z, Z, nocopy, a propagation (rprivate, shared, ...), cached or delegated";

/// Short-syntax options (`ro`, `rw,z`, `rshared`, `nocopy`, ...): read-only, and the rest.
fn short_options(text: &str) -> Result<(bool, MountOptions), String> {
    let mut read_only = false;
    let mut options = MountOptions::default();
    for option in text.split(',') {
        match option {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "z" | "Z" => options.selinux = Some(option.to_string()),
            "nocopy" => options.nocopy = true,
            // macOS file-sharing hints: no meaning on the hosts fleet deploys to.
            "cached" | "delegated" | "consistent" => {}
            p if PROPAGATIONS.contains(&p) => options.propagation = Some(p.to_string()),
            other => return Err(format!("unsupported mount option `{other}`")),
        }
    }
    Ok((read_only, options))
}

/// The long syntax's `bind:`, `volume:` and `tmpfs:` sub-options, into `options`.
fn long_options(cx: &mut Cx, field: &str, key: &str, node: &Node, options: &mut MountOptions) {
    let known = match key {
        "bind" => MOUNT_BIND_KEYS,
        "volume" => MOUNT_VOLUME_KEYS,
        _ => MOUNT_TMPFS_KEYS,
    };
    for (k, kn, v) in cx.map(field, node, "").unwrap_or_default() {
        let f = join(field, k);
        match (key, k) {
            ("bind", "propagation") => match cx.string(&f, v) {
                Some(p) if PROPAGATIONS.contains(&p.as_str()) => options.propagation = Some(p),
                Some(p) => cx.unknown_value(v.pos, &f, "propagation", &p, PROPAGATIONS),
                None => {}
            },
            ("bind", "create_host_path") => options.create_host_path = cx.bool(&f, v),
            ("bind", "selinux") => match cx.string(&f, v) {
                Some(z) if z == "z" || z == "Z" => options.selinux = Some(z),
                Some(z) => cx.error(v.pos, &f, format!("unknown SELinux option `{z}`"), "z or Z"),
                None => {}
            },
            ("volume", "nocopy") => options.nocopy = cx.bool(&f, v).unwrap_or(false),
            ("volume", "subpath") => options.subpath = cx.string(&f, v),
            ("tmpfs", "size") => options.size = cx.size(&f, v),
            ("tmpfs", "mode") => {
                // Permission bits, written in octal as in chmod (1777, "0755").
                let text = v.scalar_text().unwrap_or_default();
                match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
                    Ok(mode) if mode <= 0o7777 => options.mode = Some(mode),
                    _ => cx.error(
                        v.pos,
                        &f,
                        format!("`{text}` is not a file mode"),
                        "octal permission bits such as 1777 or 0755",
                    ),
                }
            }
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, known);
                }
            }
        }
    }
}

/// Options that make no sense for the mount's kind are errors; SELinux relabelling of a volume
/// cannot be asked of the engine's mount API, so it is a warning and not applied.
fn check_options(cx: &mut Cx, field: &str, pos: Pos, kind: &str, options: &mut MountOptions) {
    let misplaced: Vec<(&str, bool)> = match kind {
        "bind" => vec![
            ("nocopy", options.nocopy),
            ("subpath", options.subpath.is_some()),
            ("size", options.size.is_some()),
            ("mode", options.mode.is_some()),
        ],
        "volume" => vec![
            ("propagation", options.propagation.is_some()),
            ("create_host_path", options.create_host_path.is_some()),
            ("size", options.size.is_some()),
            ("mode", options.mode.is_some()),
        ],
        _ => vec![
            ("propagation", options.propagation.is_some()),
            ("create_host_path", options.create_host_path.is_some()),
            ("selinux", options.selinux.is_some()),
            ("nocopy", options.nocopy),
            ("subpath", options.subpath.is_some()),
        ],
    };
    for (name, _) in misplaced.iter().filter(|(_, set)| *set) {
        cx.error(
            pos,
            field,
            format!("`{name}` does not apply to a {kind} mount"),
            "options of the mount's type",
        );
    }
    if kind == "volume" {
        if let Some(z) = options.selinux.take() {
            cx.warning(
                pos,
                field,
                format!("SELinux relabelling `{z}` of a volume is not applied"),
                Some("the engine relabels bind mounts only; relabel the volume's data on the host if needed".into()),
            );
        }
    }
}

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
        let (kind, source, target, read_only, mut options) = match &item.kind {
            Kind::Map(_) => {
                let mut kind = None;
                let mut source = None;
                let mut target = None;
                let mut read_only = false;
                let mut options = MountOptions::default();
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
                        "bind" | "volume" | "tmpfs" => long_options(cx, &kf, k, v, &mut options),
                        "consistency" => {
                            cx.string(&kf, v);
                        }
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
                (kind, source, target, read_only, options)
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
                            "[SOURCE:]TARGET[:OPTIONS]",
                        );
                        continue;
                    }
                };
                let (read_only, options) = match mode.map(short_options) {
                    None => (false, MountOptions::default()),
                    Some(Ok(parsed)) => parsed,
                    Some(Err(why)) => {
                        cx.error(item.pos, &f, why, SHORT_OPTIONS);
                        continue;
                    }
                };
                let kind = match &source {
                    Some(s) if s.starts_with(['/', '.', '~']) => "bind",
                    _ => "volume",
                };
                (kind.to_string(), source, target, read_only, options)
            }
        };
        if !mount_target(cx, &f, item.pos, &target) {
            continue;
        }
        check_options(cx, &f, item.pos, &kind, &mut options);
        let mount = match (kind.as_str(), source) {
            ("tmpfs", _) => Mount::Tmpfs { target, options },
            ("volume", source) => {
                if let Some(name) = &source {
                    volume_refs.push((name.clone(), item.pos, f.clone()));
                }
                Mount::Volume {
                    source,
                    target,
                    read_only,
                    options,
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
                options,
            },
            (_, Some(source)) if home_path(&source).is_some() => {
                let rest = home_path(&source).unwrap_or_default();
                let path = if rest.is_empty() {
                    "home".to_string()
                } else {
                    format!("home/{rest}")
                };
                let shown = shown_path(item, &path);
                cx.warning(
                    item.pos,
                    &f,
                    format!(
                        "`{source}` is in the home directory of whoever runs Compose, which a remote host does not have: it is the data directory `<data_dir>/{shown}` on each host (data_dir is /var/lib/fleet/<project> unless the host sets it), created when missing and never deleted"
                    ),
                    Some("to keep it elsewhere, write an absolute host path".into()),
                );
                Mount::DataDir {
                    source: path,
                    target,
                    read_only,
                    options,
                }
            }
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
                        let shown = shown_path(item, path.as_str());
                        data_dir_note(cx, item.pos, &f, &source, &shown);
                        out.push(Mount::DataDir {
                            source: path.to_string(),
                            target,
                            read_only,
                            options,
                        });
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
                    options,
                }
            }
        };
        out.push(mount);
    }
    out
}

/// A data directory's path for a message: hidden when a variable went into it, since messages
/// never show a variable's value (`fleet plan` shows where it is on each host).
fn shown_path(item: &Node, path: &str) -> String {
    fn interpolated(node: &Node) -> bool {
        match &node.kind {
            Kind::Scalar { .. } => node.is_interpolated(),
            Kind::Seq(items) => items.iter().any(interpolated),
            Kind::Map(entries) => entries.iter().any(|(_, v)| interpolated(v)),
        }
    }
    if interpolated(item) {
        "… (from a variable; `fleet plan` shows it)".to_string()
    } else {
        path.to_string()
    }
}

/// The part of `~` or `~/a/b` after the home directory (`""`, `a/b`), normalised; `None` for
/// anything else (`~user/x`, or a path that climbs out with `..`).
fn home_path(source: &str) -> Option<String> {
    let rest = match source.strip_prefix('~')? {
        "" => return Some(String::new()),
        r => r.strip_prefix('/')?,
    };
    let parts: Vec<&str> = rest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Says where a relative path that is not in the repository goes: Compose would make it a
/// directory beside the compose file; fleet makes it one under each host's data directory. A
/// name that looks like a file (`./nginx.conf`) is most likely a file someone forgot to commit,
/// so the note says that too.
fn data_dir_note(cx: &mut Cx, pos: Pos, field: &str, written: &str, path: &str) {
    let last = written.rsplit('/').next().unwrap_or(written);
    let looks_like_file = last
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && (1..=5).contains(&ext.len()));
    let hint = if looks_like_file {
        format!("if `{written}` is a file, commit it: a missing path becomes an empty directory")
    } else {
        "to keep the data elsewhere, set `data_dir` on the host in fleet.yaml".to_string()
    };
    cx.warning(
        pos,
        field,
        format!(
            "`{written}` is not in the repository: on each host it is the data directory \
             `<data_dir>/{path}` (data_dir is /var/lib/fleet/<project> unless the host sets it), \
             created when missing and never deleted"
        ),
        Some(hint),
    );
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
