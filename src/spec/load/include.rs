//! `include:` and the compose files it names: paths resolved in the repository, cycles, double
//! includes and nesting depth refused, and each file's top-level keys (`services`, `volumes`,
//! `networks`, nested `include`) handed to the same decoders as fleet.yaml's.

use super::files::decode_files;
use super::volumes_networks::{decode_networks, decode_volumes};
use super::{State, decode_services, interpolate_file, read_yaml};
use crate::spec::Files;
use crate::spec::decode::{Cx, index, join};
use crate::spec::diag::Diagnostics;
use crate::spec::paths::{RepoPath, resolve_in_repo};
use crate::spec::service::FileKind;
use crate::spec::yaml::{Kind, Node, Pos};

pub const COMPOSE_KEYS: &[&str] = &[
    "services", "volumes", "networks", "include", "version", "secrets", "configs",
];

/// Included files deeper than this are refused (a cycle is reported before it gets there).
const MAX_INCLUDE_DEPTH: usize = 16;

/// A top-level key of the Compose Specification that fleet does not decode (in fleet.yaml or
/// an included file): a warning when it can be ignored safely, an error with the reason
/// otherwise, and "unknown key" only for keys Compose does not define either.
pub(super) fn compose_top_level_key(cx: &mut Cx, key_node: &Node, key: &str, known: &[&str]) {
    match key {
        "version" => cx.warning(
            key_node.pos,
            "version",
            "`version` is obsolete in the Compose Specification and has no effect",
            Some("remove it".into()),
        ),
        "name" => cx.warning(
            key_node.pos,
            "name",
            "`name` is ignored: the project name is `project` in fleet.yaml",
            Some("remove `name`".into()),
        ),
        "models" => cx.error_hint(
            key_node.pos,
            key,
            "the Compose key `models` is not supported by fleet",
            "",
            "AI models are a Docker Desktop feature; instead: run the model server as a service",
        ),
        k => cx.unknown_key(key_node, k, k, known),
    }
}

pub(super) fn include_list(cx: &mut Cx, field: &str, node: &Node) -> Vec<(String, Pos)> {
    let Some(items) = cx.seq(field, node, "a list of compose files") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        match &item.kind {
            Kind::Map(_) => {
                for (k, kn, v) in cx.map(&f, item, "").unwrap_or_default() {
                    match k {
                        "path" => {
                            if let Some(p) = cx.string(&join(&f, k), v) {
                                out.push((p, v.pos));
                            }
                        }
                        _ => cx.unknown_key(kn, &join(&f, k), k, &["path"]),
                    }
                }
            }
            _ => {
                if let Some(p) = cx.string(&f, item) {
                    out.push((p, item.pos));
                }
            }
        }
    }
    out
}

pub(super) fn include_file(
    files: &dyn Files,
    diags: &mut Diagnostics,
    from_file: &str,
    written: &str,
    pos: Pos,
    state: &mut State,
    depth: usize,
) {
    let from_dir = RepoPath::root()
        .join(from_file)
        .map(|p| p.parent())
        .unwrap_or_default();
    let path = {
        let mut cx = Cx::new(from_file, diags);
        let Some(path) = resolve_in_repo(&mut cx, "include", pos, &from_dir, written) else {
            return;
        };
        if state.included.contains(&path) {
            cx.error(
                pos,
                "include",
                format!("`{written}` is included more than once (or includes itself)"),
                "each file included once",
            );
            return;
        }
        if depth > MAX_INCLUDE_DEPTH {
            cx.error(
                pos,
                "include",
                "includes nest too deeply",
                format!("at most {MAX_INCLUDE_DEPTH} levels").as_str(),
            );
            return;
        }
        path
    };
    state.included.insert(path.clone());
    let from = from_file.to_string();
    let Some(mut root) = read_yaml(files, &path, diags, &from, |d| {
        Cx::new(from.clone(), d).error_hint(
            pos,
            "include",
            format!("`{written}` does not exist in the repository"),
            "a compose file committed in the repository",
            "commit the file or fix the path",
        );
    }) else {
        return;
    };
    let file = path.to_string();
    let vars = interpolate_file(files, diags, &path, &mut root, &state.variables);
    let mut cx = Cx::new(file.clone(), diags).with_vars(vars);
    let Some(entries) = cx.map("", &root, "a compose file: a mapping with `services`") else {
        return;
    };
    let mut nested = Vec::new();
    for (key, key_node, value) in entries {
        match key {
            "services" => decode_services(&mut cx, files, &path.parent(), value, state),
            "volumes" => decode_volumes(&mut cx, value, state),
            "networks" => decode_networks(&mut cx, value, state),
            "secrets" => decode_files(
                &mut cx,
                files,
                &path.parent(),
                FileKind::Secret,
                value,
                state,
            ),
            "configs" => decode_files(
                &mut cx,
                files,
                &path.parent(),
                FileKind::Config,
                value,
                state,
            ),
            "include" => nested = include_list(&mut cx, "include", value),
            k if k.starts_with("x-") => {}
            k => compose_top_level_key(&mut cx, key_node, k, COMPOSE_KEYS),
        }
    }
    drop(cx);
    for (p, pos) in nested {
        include_file(files, diags, &file, &p, pos, state, depth + 1);
    }
}
