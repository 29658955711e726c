//! The desired state: its format, loading, validation and JSON Schema.
//!
//! This module does no I/O of its own. Files come through [`Files`], implemented by the
//! `source` module for a git commit or the working tree, and by tests in memory.

pub mod decode;
pub mod diag;
pub mod dotenv;
pub mod interpolate;
pub mod load;
pub mod model;
pub mod paths;
pub mod schema;
pub mod service;
pub mod yaml;

pub use diag::{Diagnostic, Severity};
pub use load::{Loaded, load};
pub use model::Desired;

/// Read access to the project's files, by path relative to the project root (`/`-separated,
/// normalised, never escaping the root).
pub trait Files {
    /// The file's bytes, or `None` when there is no such file.
    fn read(&self, path: &str) -> std::io::Result<Option<Vec<u8>>>;
    /// Whether a file or directory exists at the path.
    fn exists(&self, path: &str) -> std::io::Result<bool>;
    /// The files under the directory `dir`, as paths relative to it, in order; empty when
    /// `dir` is a file or does not exist.
    fn list(&self, dir: &str) -> std::io::Result<Vec<String>>;
}

/// Files held in memory, for tests and for tools that generate a desired state.
#[derive(Clone, Debug, Default)]
pub struct MemoryFiles {
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemoryFiles {
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        MemoryFiles {
            files: files
                .into_iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect(),
        }
    }
}

impl Files for MemoryFiles {
    fn read(&self, path: &str) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.files.get(path).cloned())
    }

    fn exists(&self, path: &str) -> std::io::Result<bool> {
        let dir = format!("{path}/");
        Ok(self.files.contains_key(path) || self.files.keys().any(|k| k.starts_with(&dir)))
    }

    fn list(&self, dir: &str) -> std::io::Result<Vec<String>> {
        let prefix = format!("{dir}/");
        Ok(self
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect())
    }
}
