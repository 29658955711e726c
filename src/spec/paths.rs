//! Paths inside the repository: normalised, relative to the project root, never escaping it.

use std::fmt;

use super::decode::Cx;
use super::yaml::Pos;

/// A normalised path relative to the project root: no `.`, no `..`, no leading `/`.
/// The empty path is the root itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoPath(String);

impl RepoPath {
    pub fn root() -> Self {
        RepoPath(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory holding this path.
    pub fn parent(&self) -> RepoPath {
        match self.0.rfind('/') {
            Some(i) => RepoPath(self.0[..i].to_string()),
            None => RepoPath::root(),
        }
    }

    /// Joins a relative path onto this directory. `None` if it climbs above the root or is
    /// absolute.
    pub fn join(&self, relative: &str) -> Option<RepoPath> {
        if relative.starts_with('/') || relative.starts_with('\\') {
            return None;
        }
        let mut parts: Vec<&str> = self.0.split('/').filter(|p| !p.is_empty()).collect();
        for part in relative.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p),
            }
        }
        Some(RepoPath(parts.join("/")))
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(".")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// Resolves a path written in a file in `dir`, reporting it when it is absolute or escapes the
/// project root.
pub fn resolve_in_repo(
    cx: &mut Cx,
    field: &str,
    pos: Pos,
    dir: &RepoPath,
    written: &str,
) -> Option<RepoPath> {
    match dir.join(written) {
        Some(path) if !path.as_str().is_empty() => Some(path),
        _ => {
            cx.error_hint(
                pos,
                field,
                format!("`{written}` is outside the repository"),
                "a path relative to the file it is written in, inside the repository",
                "fleet reads everything from the repository at one commit, so every file it uses must be committed there",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalises_and_refuses_escapes() {
        let dir = RepoPath::root().join("compose/app").unwrap();
        assert_eq!(dir.join("./x.env").unwrap().as_str(), "compose/app/x.env");
        assert_eq!(dir.join("../../top.env").unwrap().as_str(), "top.env");
        assert_eq!(dir.join("../../../etc/passwd"), None);
        assert_eq!(dir.join("/etc/passwd"), None);
        assert_eq!(dir.parent().as_str(), "compose");
        assert_eq!(
            RepoPath::root().join("a").unwrap().parent(),
            RepoPath::root()
        );
    }
}
