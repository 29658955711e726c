//! The variables and labels of a service: `environment` (a mapping or a list of `NAME=value`),
//! `env_file` (files read from the repository, under `environment`), and `labels`, whose
//! decoder [`labels_of`] is shared with the top-level volumes, networks and hosts. fleet's own
//! label prefix is refused here.

use std::collections::BTreeMap;

use crate::labels;
use crate::spec::decode::{Cx, index, join};
use crate::spec::paths::{self, RepoPath};
use crate::spec::yaml::{Kind, Node, Pos};
use crate::spec::{Files, dotenv};

pub const ENV_FILE_KEYS: &[&str] = &["path", "required"];

fn valid_env_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.chars().any(|c| c.is_whitespace() || c == '\0')
}

pub(super) fn env_map(cx: &mut Cx, field: &str, node: &Node) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // An entry without a value takes the variable's value from the commit, never from the
    // environment of the machine running fleet; without one it is left out, as Compose leaves
    // out a variable its shell does not set.
    let mut unset: Vec<String> = Vec::new();
    let mut missing_value = |cx: &mut Cx, name: &str| {
        let value = cx.vars.get(name).map(str::to_string);
        if value.is_none() {
            unset.push(name.to_string());
        }
        value
    };
    match &node.kind {
        Kind::Map(_) => {
            for (name, key, value) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, name);
                if !valid_env_name(name) {
                    cx.error(
                        key.pos,
                        &f,
                        format!("`{name}` is not a variable name"),
                        "a name without `=` or spaces",
                    );
                    continue;
                }
                if value.is_null() {
                    if let Some(v) = missing_value(cx, name) {
                        out.insert(name.to_string(), v);
                    }
                    continue;
                }
                if let Some(v) = cx.text(&f, value, "a string, number or boolean") {
                    out.insert(name.to_string(), v);
                }
            }
        }
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                let Some(entry) = cx.string(&f, item) else {
                    continue;
                };
                let (name, value) = match entry.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (entry.clone(), None),
                };
                if !valid_env_name(&name) {
                    cx.error(
                        item.pos,
                        &f,
                        format!("`{entry}` is not NAME=value"),
                        "NAME=value",
                    );
                    continue;
                }
                let Some(value) = value.or_else(|| missing_value(cx, &name)) else {
                    continue;
                };
                out.insert(name, value);
            }
        }
        _ => {
            cx.error(
                node.pos,
                field,
                format!("found {}", node.type_name()),
                "a mapping of NAME: value, or a list of NAME=value",
            );
        }
    }
    if !unset.is_empty() {
        let names: Vec<String> = unset.iter().map(|n| format!("`{n}`")).collect();
        let hint = format!(
            "to pass a value, write it, or {}",
            cx.vars.where_to_set(&unset[0])
        );
        cx.warning(
            node.pos,
            field,
            format!(
                "{} {} no value and no variable of the commit sets {}: left out of the container's environment, as Compose does",
                names.join(", "),
                if unset.len() == 1 { "has" } else { "have" },
                if unset.len() == 1 { "it" } else { "them" },
            ),
            Some(hint),
        );
    }
    out
}

pub(super) fn env_files(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    field: &str,
    node: &Node,
) -> BTreeMap<String, String> {
    let mut entries: Vec<(String, bool, Pos, String)> = Vec::new();
    match &node.kind {
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                if let Kind::Map(_) = item.kind {
                    let mut path = None;
                    let mut required = true;
                    for (k, kn, v) in cx.map(&f, item, "").unwrap_or_default() {
                        match k {
                            "path" => path = cx.string(&join(&f, k), v).map(|p| (p, v.pos)),
                            "required" => required = cx.bool(&join(&f, k), v).unwrap_or(true),
                            _ => cx.unknown_key(kn, &join(&f, k), k, ENV_FILE_KEYS),
                        }
                    }
                    match path {
                        Some((p, pos)) => entries.push((p, required, pos, join(&f, "path"))),
                        None => cx.error(
                            item.pos,
                            &f,
                            "missing `path`",
                            "path: <file in the repository>",
                        ),
                    }
                } else if let Some(p) = cx.string(&f, item) {
                    entries.push((p, true, item.pos, f));
                }
            }
        }
        _ => {
            if let Some(p) = cx.string(field, node) {
                entries.push((p, true, node.pos, field.to_string()));
            }
        }
    }
    let mut vars = BTreeMap::new();
    for (path, required, pos, f) in entries {
        let Some(repo_path) = paths::resolve_in_repo(cx, &f, pos, dir, &path) else {
            continue;
        };
        match files.read(repo_path.as_str()) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                match dotenv::parse(&text) {
                    Ok(parsed) => vars.extend(parsed),
                    Err(errors) => {
                        let saved = std::mem::replace(&mut cx.file, repo_path.to_string());
                        dotenv::report(cx, errors);
                        cx.file = saved;
                    }
                }
            }
            Ok(None) if !required => {}
            Ok(None) => cx.error_hint(
                pos,
                &f,
                format!("`{path}` does not exist in the repository"),
                "a file committed in the repository",
                "commit the file, fix the path, or mark it `required: false`",
            ),
            Err(e) => cx.error(
                pos,
                &f,
                format!("cannot read `{path}`: {e}"),
                "a readable file",
            ),
        }
    }
    vars
}

/// Labels given as a mapping or as a list of `key=value`, with fleet's own prefix refused.
pub fn labels_of(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    reserved_check: bool,
) -> BTreeMap<String, String> {
    let mut pairs: Vec<(String, String, Pos, String)> = Vec::new();
    match &node.kind {
        Kind::Map(_) => {
            for (k, kn, v) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, k);
                let value = if v.is_null() {
                    Some(String::new())
                } else {
                    cx.text(&f, v, "a string")
                };
                if let Some(value) = value {
                    pairs.push((k.to_string(), value, kn.pos, f));
                }
            }
        }
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                if let Some(entry) = cx.string(&f, item) {
                    let (k, v) = entry.split_once('=').unwrap_or((&entry, ""));
                    pairs.push((k.to_string(), v.to_string(), item.pos, f));
                }
            }
        }
        _ => cx.error(
            node.pos,
            field,
            format!("found {}", node.type_name()),
            "a mapping of key: value, or a list of key=value",
        ),
    }
    let mut out = BTreeMap::new();
    for (k, v, pos, f) in pairs {
        if k.is_empty() || k.chars().any(char::is_whitespace) {
            cx.error(
                pos,
                &f,
                format!("`{k}` is not a label key"),
                "a key without spaces",
            );
        } else if reserved_check && k.starts_with(labels::PREFIX) {
            cx.error_hint(
                pos,
                &f,
                format!("the label key `{k}` is reserved"),
                format!("a key not starting with `{}`", labels::PREFIX).as_str(),
                "fleet writes these labels itself to recognise the containers it manages",
            );
        } else {
            out.insert(k, v);
        }
    }
    out
}

pub(super) fn user_labels(cx: &mut Cx, field: &str, node: &Node) -> BTreeMap<String, String> {
    labels_of(cx, field, node, true)
}
