//! The rules ARCHITECTURE.md states about the code's shape, checked on the sources: no import
//! cycle between the top-level modules of `src/`, nothing but the CLI imports the CLI, the
//! outside world's crates only in their edge modules, and no source file a newcomer cannot
//! hold in their head.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Test code (`tests.rs`, `tests/` folders) is not held to the module rules.
fn is_test_code(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "tests.rs")
        || path.components().any(|c| c.as_os_str() == "tests")
}

/// Each top-level module of `src/` and its non-test files.
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" || name == "bin" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
        files.retain(|f| !is_test_code(f.strip_prefix(&src).unwrap()));
        out.entry(name).or_default().extend(files);
    }
    out
}

/// The top-level modules a text names as `crate::NAME`, also inside `use crate::{NAME, ...}`.
fn named(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if modules.contains(&word) {
            out.insert(word);
        } else if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find(';').unwrap_or(group.len())];
            for part in group.split([',', '{', '}', ' ', '\n']) {
                let head = part.split("::").next().unwrap_or_default().trim();
                if modules.contains(head) {
                    out.insert(head.to_string());
                }
            }
        }
    }
    out
}

fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(name, files)| {
            let mut deps = BTreeSet::new();
            for file in files {
                deps.extend(named(&std::fs::read_to_string(file).unwrap(), &names));
            }
            deps.remove(name);
            (name.clone(), deps)
        })
        .collect()
}

/// A path of imports from `from` back to itself, if there is one.
fn cycle_through(from: &str, deps: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in deps.get(last).into_iter().flatten() {
            if next == from {
                let mut cycle = path.clone();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let deps = dependencies();
    assert!(deps.len() > 10, "modules not found: {deps:?}");
    let cycles: Vec<String> = deps
        .keys()
        .filter_map(|m| cycle_through(m, &deps))
        .map(|c| c.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn nothing_but_the_cli_imports_the_cli() {
    let importers: Vec<String> = dependencies()
        .into_iter()
        .filter(|(name, deps)| name != "cli" && deps.contains("cli"))
        .map(|(name, _)| name)
        .collect();
    assert!(importers.is_empty(), "modules importing cli: {importers:?}");
}

#[test]
fn outside_crates_only_in_their_edge_modules() {
    let edges = [
        ("bollard", "docker"),
        ("russh", "ssh"),
        ("git2", "source"),
        ("indicatif", "cli"),
        ("clap", "cli"),
        ("clap_complete", "cli"),
        ("clap_mangen", "cli"),
        ("age", "secrets"),
    ];
    let mut wrong = Vec::new();
    for (module, files) in modules() {
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (krate, edge) in edges {
                let used =
                    text.contains(&format!("{krate}::")) || text.contains(&format!("use {krate}"));
                if used && module != edge {
                    wrong.push(format!("{} uses {krate} (only {edge} may)", file.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = modules()
        .into_values()
        .flatten()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:#?}");
}

#[test]
fn the_checker_sees_imports_in_both_forms() {
    let modules: BTreeSet<String> = ["plan", "observe", "spec"].map(String::from).into();
    let text = "use crate::plan::Plan;\nuse crate::{observe::{self, Observed}, spec};\n";
    assert_eq!(named(text, &modules), modules);
}
