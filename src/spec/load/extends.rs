//! Compose `extends`: a service built on another one, from the same file or another file
//! (`extends: base`, `extends: { service: base, file: common.yaml }`). The base is resolved
//! first (it may extend another, up to a depth and without cycles), its relative paths are
//! made relative to the extending file, and the two are merged as Compose merges them:
//! mappings key by key, `command`, `entrypoint` and `healthcheck.test` replaced, lists
//! appended, mounts and ports by their target. What comes from the base keeps its position in
//! its own file, so problems in it are reported there.

use std::collections::BTreeMap;

use super::{State, interpolate_file, read_yaml};
use crate::spec::Files;
use crate::spec::decode::{Cx, join};
use crate::spec::paths::{RepoPath, resolve_in_repo};
use crate::spec::yaml::{Kind, Node, Pos};

pub const EXTENDS_KEYS: &[&str] = &["service", "file"];

/// How deep `extends` may chain (a cycle is reported before it gets there).
const MAX_EXTENDS_DEPTH: usize = 16;

/// The service `node` with its `extends` resolved and merged, or `None` when it has no
/// `extends` (decode it as it is) or the base could not be found (reported).
pub(super) fn resolve(
    cx: &mut Cx,
    files: &dyn Files,
    state: &State,
    dir: &RepoPath,
    services: &Node,
    name: &str,
    node: &Node,
) -> Option<Node> {
    let mut chain = vec![(cx.file.clone(), name.to_string())];
    resolve_in(cx, files, state, dir, services, name, node, &mut chain)
}

#[allow(clippy::too_many_arguments)]
fn resolve_in(
    cx: &mut Cx,
    files: &dyn Files,
    state: &State,
    dir: &RepoPath,
    services: &Node,
    name: &str,
    node: &Node,
    chain: &mut Vec<(String, String)>,
) -> Option<Node> {
    let Kind::Map(entries) = &node.kind else {
        return None;
    };
    let (key, value) = entries
        .iter()
        .find(|(k, _)| k.scalar_text() == Some("extends"))?;
    let field = join(&join("services", name), "extends");
    let (base_name, file) = target(cx, &field, value)?;
    if chain.len() > MAX_EXTENDS_DEPTH {
        cx.error(
            key.pos,
            &field,
            "`extends` chains too deeply",
            &format!("at most {MAX_EXTENDS_DEPTH} levels"),
        );
        return None;
    }

    // Where the base is: this file's services, or another file's (read and interpolated with
    // the `.env` beside it, its positions tagged with that file).
    let (base_file, base_dir, base_services) = match &file {
        None => (cx.file.clone(), dir.clone(), services.clone()),
        Some((written, pos)) => {
            let path = resolve_in_repo(cx, &join(&field, "file"), *pos, dir, written)?;
            let from = cx.file.clone();
            let written = written.clone();
            let pos = *pos;
            let f = join(&field, "file");
            let mut root = read_yaml(files, &path, cx.diags, &from, |d| {
                Cx::new(from.clone(), d).error_hint(
                    pos,
                    &f,
                    format!("`{written}` does not exist in the repository"),
                    "a compose file committed in the repository",
                    "commit the file or fix the path",
                );
            })?;
            interpolate_file(files, cx.diags, &path, &mut root, &state.variables);
            let tag = cx.diags.source(path.as_str());
            retag(&mut root, tag);
            let services = child(&root, "services").cloned().unwrap_or(Node {
                pos: root.pos,
                kind: Kind::Map(Vec::new()),
            });
            (path.to_string(), path.parent(), services)
        }
    };
    if chain.contains(&(base_file.clone(), base_name.clone())) {
        let names: Vec<String> = chain.iter().map(|(_, n)| format!("`{n}`")).collect();
        cx.error(
            value.pos,
            &field,
            format!(
                "`extends` forms a cycle: {} -> `{base_name}`",
                names.join(" -> ")
            ),
            "a chain of services that ends",
        );
        return None;
    }
    let Some(base) = child(&base_services, &base_name).cloned() else {
        let known: Vec<&str> = match &base_services.kind {
            Kind::Map(entries) => entries
                .iter()
                .filter_map(|(k, _)| k.scalar_text())
                .collect(),
            _ => Vec::new(),
        };
        cx.error_hint(
            value.pos,
            &join(&field, "service"),
            format!("service `{base_name}` is not defined in {base_file}"),
            "the name of a service in that file",
            format!("services there: {}", known.join(", ")),
        );
        return None;
    };
    chain.push((base_file.clone(), base_name.clone()));
    let base = match resolve_in(
        cx,
        files,
        state,
        &base_dir,
        &base_services,
        &base_name,
        &base,
        chain,
    ) {
        Some(resolved) => resolved,
        None => without(&base, "extends"),
    };
    let base = if base_dir == *dir {
        base
    } else {
        rebase_paths(base, &relative(dir, &base_dir))
    };
    Some(merge_service(&base, &without(node, "extends")))
}

/// `extends: NAME` or `extends: { service: NAME, file: PATH }`.
fn target(cx: &mut Cx, field: &str, node: &Node) -> Option<(String, Option<(String, Pos)>)> {
    if let Kind::Scalar { .. } = node.kind {
        return cx.string(field, node).map(|s| (s, None));
    }
    let mut service = None;
    let mut file = None;
    for (k, kn, v) in cx.map(
        field,
        node,
        "a service name, or a mapping with `service` and `file`",
    )? {
        let f = join(field, k);
        match k {
            "service" => service = cx.string(&f, v),
            "file" => file = cx.string(&f, v).map(|s| (s, v.pos)),
            _ => cx.unknown_key(kn, &f, k, EXTENDS_KEYS),
        }
    }
    match service {
        Some(s) => Some((s, file)),
        None => {
            cx.error(
                node.pos,
                &join(field, "service"),
                "missing `service`",
                "the name of the service to extend",
            );
            None
        }
    }
}

fn child<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.kind {
        Kind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.scalar_text() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn without(node: &Node, key: &str) -> Node {
    match &node.kind {
        Kind::Map(entries) => Node {
            pos: node.pos,
            kind: Kind::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k.scalar_text() != Some(key))
                    .cloned()
                    .collect(),
            ),
        },
        _ => node.clone(),
    }
}

/// Marks every position of a tree as being in the file numbered `tag`.
fn retag(node: &mut Node, tag: u16) {
    node.pos.file = tag;
    match &mut node.kind {
        Kind::Scalar { .. } => {}
        Kind::Seq(items) => items.iter_mut().for_each(|n| retag(n, tag)),
        Kind::Map(entries) => {
            for (k, v) in entries {
                retag(k, tag);
                retag(v, tag);
            }
        }
    }
}

/// The way from directory `from` to directory `to`, both in the repository: `../b` and such,
/// empty when they are the same.
fn relative(from: &RepoPath, to: &RepoPath) -> String {
    let a: Vec<&str> = from.as_str().split('/').filter(|p| !p.is_empty()).collect();
    let b: Vec<&str> = to.as_str().split('/').filter(|p| !p.is_empty()).collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; a.len() - common];
    parts.extend(&b[common..]);
    parts.join("/")
}

/// Makes the base's relative paths (`env_file`, bind sources) relative to the extending file.
fn rebase_paths(mut base: Node, prefix: &str) -> Node {
    let rebase = |text: &str| -> Option<String> {
        (text.starts_with("./") || text.starts_with("../") || text == ".")
            .then(|| format!("{prefix}/{text}"))
    };
    let Kind::Map(entries) = &mut base.kind else {
        return base;
    };
    for (k, v) in entries.iter_mut() {
        match k.scalar_text() {
            Some("env_file") => {
                rewrite_scalars(v, &|t| rebase(t).or_else(|| Some(format!("{prefix}/{t}"))))
            }
            Some("volumes") => {
                if let Kind::Seq(items) = &mut v.kind {
                    for item in items {
                        match &mut item.kind {
                            Kind::Scalar { text, .. } => {
                                if let Some((source, rest)) = text.split_once(':') {
                                    if let Some(new) = rebase(source) {
                                        *text = format!("{new}:{rest}");
                                    }
                                }
                            }
                            Kind::Map(fields) => {
                                for (fk, fv) in fields {
                                    if fk.scalar_text() == Some("source") {
                                        rewrite_scalars(fv, &rebase);
                                    }
                                }
                            }
                            Kind::Seq(_) => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    base
}

/// Rewrites every string scalar under `node` (keys of mappings excepted) that `f` maps.
fn rewrite_scalars(node: &mut Node, f: &dyn Fn(&str) -> Option<String>) {
    match &mut node.kind {
        Kind::Scalar { text, .. } => {
            if let Some(new) = f(text) {
                *text = new;
            }
        }
        Kind::Seq(items) => items.iter_mut().for_each(|n| rewrite_scalars(n, f)),
        Kind::Map(entries) => entries
            .iter_mut()
            .filter(|(k, _)| k.scalar_text() == Some("path"))
            .for_each(|(_, v)| rewrite_scalars(v, f)),
    }
}

/// Merges a service over its base as Compose does.
fn merge_service(base: &Node, local: &Node) -> Node {
    merge_maps(base, local, &merge_key)
}

fn merge_key(key: &str, base: &Node, local: &Node) -> Node {
    match key {
        "command" | "entrypoint" => local.clone(),
        "environment" | "labels" | "sysctls" | "annotations" => {
            merge_maps(&as_map(base), &as_map(local), &|_, _, l| l.clone())
        }
        "volumes" | "devices" | "ports" | "secrets" | "configs" => merge_by_target(base, local),
        // Key by key; the test is one command, so it is replaced, never appended.
        "healthcheck" => merge_maps(base, local, &|_, _, l| l.clone()),
        _ => deep_merge(base, local),
    }
}

/// Mappings merged key by key (the local value wins, or `both` decides when both are
/// mappings); anything else is the local value.
fn merge_maps(base: &Node, local: &Node, both: &dyn Fn(&str, &Node, &Node) -> Node) -> Node {
    let (Kind::Map(b), Kind::Map(l)) = (&base.kind, &local.kind) else {
        return local.clone();
    };
    let mut out: Vec<(Node, Node)> = Vec::new();
    for (k, bv) in b {
        let key = k.scalar_text().unwrap_or("");
        match l.iter().find(|(lk, _)| lk.scalar_text() == Some(key)) {
            None => out.push((k.clone(), bv.clone())),
            Some((lk, lv)) => out.push((lk.clone(), both(key, bv, lv))),
        }
    }
    for (k, lv) in l {
        let key = k.scalar_text().unwrap_or("");
        if !b.iter().any(|(bk, _)| bk.scalar_text() == Some(key)) {
            out.push((k.clone(), lv.clone()));
        }
    }
    Node {
        pos: local.pos,
        kind: Kind::Map(out),
    }
}

/// Mappings merged recursively, lists appended (without exact repeats), scalars replaced.
fn deep_merge(base: &Node, local: &Node) -> Node {
    match (&base.kind, &local.kind) {
        (Kind::Map(_), Kind::Map(_)) => merge_maps(base, local, &|_, b, l| deep_merge(b, l)),
        (Kind::Seq(b), Kind::Seq(l)) => appended(b.clone(), l, local.pos),
        // `networks: [a]` over `networks: { b: {...} }` and the like: as mappings.
        (Kind::Seq(_), Kind::Map(_)) | (Kind::Map(_), Kind::Seq(_)) => {
            deep_merge(&as_map(base), &as_map(local))
        }
        _ => local.clone(),
    }
}

/// Lists of mounts, ports, secrets: the base's entries whose target a local entry has are
/// dropped, the rest appended.
fn merge_by_target(base: &Node, local: &Node) -> Node {
    let (Kind::Seq(b), Kind::Seq(l)) = (&base.kind, &local.kind) else {
        return local.clone();
    };
    let targets: Vec<String> = l.iter().filter_map(target_of).collect();
    let kept: Vec<Node> = b
        .iter()
        .filter(|i| target_of(i).is_none_or(|t| !targets.contains(&t)))
        .cloned()
        .collect();
    appended(kept, l, local.pos)
}

/// `items` then each of `more` not already among them, as a list at `pos`.
fn appended(mut items: Vec<Node>, more: &[Node], pos: Pos) -> Node {
    for item in more {
        if !items.iter().any(|i| same(i, item)) {
            items.push(item.clone());
        }
    }
    Node {
        pos,
        kind: Kind::Seq(items),
    }
}

/// What a list entry is keyed by: a mount's target, a port's container port, a secret's
/// name (approximately, from the text: enough to let a local entry replace a base one).
fn target_of(node: &Node) -> Option<String> {
    match &node.kind {
        Kind::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            match parts.len() {
                1 => Some(parts[0].to_string()),
                _ if parts[1].starts_with('/') => Some(parts[1].to_string()),
                _ => parts.last().map(|p| p.to_string()),
            }
        }
        Kind::Map(entries) => ["target", "source"].iter().find_map(|key| {
            entries
                .iter()
                .find(|(k, _)| k.scalar_text() == Some(key))
                .and_then(|(_, v)| v.scalar_text().map(str::to_string))
        }),
        Kind::Seq(_) => None,
    }
}

/// Equal as written (positions aside).
fn same(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Scalar { text: x, .. }, Kind::Scalar { text: y, .. }) => x == y,
        (Kind::Seq(x), Kind::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Kind::Map(x), Kind::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        _ => false,
    }
}

/// A `NAME=value` list (or a list of names) as a mapping; a mapping as it is.
fn as_map(node: &Node) -> Node {
    let Kind::Seq(items) = &node.kind else {
        return node.clone();
    };
    let mut entries: BTreeMap<usize, (Node, Node)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for item in items {
        let Some(text) = item.scalar_text() else {
            continue;
        };
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (text.to_string(), None),
        };
        let key = Node {
            pos: item.pos,
            kind: Kind::Scalar {
                text: name.clone(),
                plain: false,
                interpolated: false,
            },
        };
        let value = Node {
            pos: item.pos,
            kind: match value {
                Some(v) => Kind::Scalar {
                    text: v,
                    plain: false,
                    interpolated: item.is_interpolated(),
                },
                None => Kind::Scalar {
                    text: String::new(),
                    plain: true,
                    interpolated: false,
                },
            },
        };
        let i = match order.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                order.push(name);
                order.len() - 1
            }
        };
        entries.insert(i, (key, value));
    }
    Node {
        pos: node.pos,
        kind: Kind::Map(entries.into_values().collect()),
    }
}
