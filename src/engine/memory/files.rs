//! The files fleet writes on a simulated host (secrets and configs), and what a test does to
//! them.

use std::collections::{BTreeMap, HashMap};

use super::{EngineError, HostFile, MemoryEngine, lock, refused};

impl MemoryEngine {
    /// The host's files under `prefix` are gone (a reboot empties the tmpfs of secrets).
    pub fn wipe_files(&self, prefix: &str) {
        lock(&self.state)
            .host_files
            .retain(|path, _| !path.starts_with(prefix));
    }

    /// The file fleet wrote at `path` on the host.
    pub fn host_file(&self, path: &str) -> Option<HostFile> {
        lock(&self.state).host_files.get(path).cloned()
    }

    /// Every path fleet wrote a file at on the host.
    pub fn host_file_paths(&self) -> Vec<String> {
        lock(&self.state).host_files.keys().cloned().collect()
    }
}

/// The engine's answer to a bind of a host path that does not exist.
pub(super) fn missing_bind(path: &str) -> EngineError {
    refused(&format!(
        "invalid mount config for type \"bind\": bind source path does not exist: {path}"
    ))
}

/// What a bind of the host path `source` at `target` shows in the container: the file there,
/// or every file under the directory there; empty when nothing is there.
pub(super) fn bound(
    files: &BTreeMap<String, HostFile>,
    source: &str,
    target: &str,
) -> HashMap<String, String> {
    let text = |f: &HostFile| String::from_utf8_lossy(&f.content).into_owned();
    if let Some(file) = files.get(source) {
        return HashMap::from([(target.to_string(), text(file))]);
    }
    let dir = format!("{source}/");
    files
        .iter()
        .filter_map(|(path, f)| {
            path.strip_prefix(&dir)
                .map(|rel| (format!("{target}/{rel}"), text(f)))
        })
        .collect()
}
