//! The CI examples (examples/ci/) read as their CI services read them: the YAML tree through
//! fleet's own position-keeping parser, and the shell scripts of their steps.

use std::path::{Path, PathBuf};

use fleet::spec::yaml::{self, Kind, Node};

/// An example's path in the repository.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name)
}

/// Parses an example, failing the test with `file:line:col` on any YAML error (duplicate keys
/// included).
pub fn parse(name: &str) -> Node {
    let path = example(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = yaml::parse(&text);
    let errors: Vec<String> = parsed
        .errors
        .iter()
        .map(|e| format!("{}:{}: {}", path.display(), e.pos, e.message))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    parsed.root.unwrap_or_else(|| panic!("{name} is empty"))
}

/// The value under `key` in a mapping.
pub fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.kind {
        Kind::Map(entries) => entries
            .iter()
            .find(|(k, _)| text(k) == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The value at a path of keys, failing the test with where the path stops.
pub fn at<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
    let mut node = node;
    for (i, key) in path.iter().enumerate() {
        node = get(node, key)
            .unwrap_or_else(|| panic!("no `{}` (at line {})", path[..=i].join("."), node.pos));
    }
    node
}

pub fn text(node: &Node) -> Option<&str> {
    match &node.kind {
        Kind::Scalar { text, .. } => Some(text),
        _ => None,
    }
}

pub fn items(node: &Node) -> &[Node] {
    match &node.kind {
        Kind::Seq(items) => items,
        _ => &[],
    }
}

pub fn keys(node: &Node) -> Vec<&str> {
    match &node.kind {
        Kind::Map(entries) => entries.iter().filter_map(|(k, _)| text(k)).collect(),
        _ => Vec::new(),
    }
}

/// One step of a GitHub Actions job.
pub struct Step {
    pub name: String,
    pub id: Option<String>,
    /// The shell script (`run:`), none for a `uses:` step.
    pub run: Option<String>,
    /// The names the step's `env:` sets (their values are CI expressions).
    pub env: Vec<String>,
    /// The line the step starts at, for messages.
    pub line: u32,
}

/// The steps of a job of examples/ci/github-actions.yml.
pub fn github_steps(workflow: &Node, job: &str) -> Vec<Step> {
    items(at(workflow, &["jobs", job, "steps"]))
        .iter()
        .map(|step| Step {
            name: get(step, "name")
                .and_then(text)
                .or_else(|| get(step, "uses").and_then(text))
                .unwrap_or("(unnamed)")
                .to_string(),
            id: get(step, "id").and_then(text).map(str::to_string),
            run: get(step, "run").and_then(text).map(str::to_string),
            env: get(step, "env")
                .map(|e| keys(e).into_iter().map(str::to_string).collect())
                .unwrap_or_default(),
            line: step.pos.line,
        })
        .collect()
}

/// The shell script GitLab runs for a job of examples/ci/gitlab-ci.yml: the `before_script` of
/// `.fleet` (which every job extends), then the job's `script`, one line or block after another.
pub fn gitlab_script(pipeline: &Node, job: &str) -> String {
    let lines = |job: &str, key: &str| -> Vec<String> {
        items(at(pipeline, &[job, key]))
            .iter()
            .filter_map(text)
            .map(str::to_string)
            .collect()
    };
    let mut all = lines(".fleet", "before_script");
    all.extend(lines(job, "script"));
    all.join("\n")
}
