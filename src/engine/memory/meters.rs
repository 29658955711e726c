//! Counters a simulated host answers with, set by the test: what a balancer's statistics socket
//! says, and how fast each container uses CPU.

use std::collections::BTreeMap;

use super::{MemoryEngine, lock};
use crate::engine::{CpuUsage, EngineError};

#[derive(Debug, Default)]
pub(super) struct Meters {
    sockets: BTreeMap<String, String>,
    /// Per container: CPU time used up to `at`, and the cores it uses from then on.
    cpu: BTreeMap<String, (f64, f64, f64)>,
}

impl Meters {
    pub(super) fn answer(&self, path: &str) -> Result<String, EngineError> {
        self.sockets
            .get(path)
            .cloned()
            .ok_or_else(|| EngineError::Unexpected(format!("{path}: no such socket")))
    }

    pub(super) fn cpu(&self, id: &str, now: f64) -> Result<CpuUsage, EngineError> {
        let (used, at, cores) = self
            .cpu
            .get(id)
            .copied()
            .ok_or_else(|| EngineError::Unexpected(format!("no stats for {id}")))?;
        Ok(CpuUsage {
            total_ns: ((used + (now - at).max(0.0) * cores) * 1e9) as u64,
            at: now,
        })
    }
}

impl MemoryEngine {
    /// The Unix socket at `path` answers `text` from now on; `None`: there is no such socket.
    pub fn set_socket_answer(&self, path: &str, text: Option<&str>) {
        let mut state = lock(&self.state);
        match text {
            Some(text) => state.meters.sockets.insert(path.into(), text.into()),
            None => state.meters.sockets.remove(path),
        };
    }

    /// Container `id` uses `cores` of CPU from now on.
    pub fn set_cpu(&self, id: &str, cores: f64) {
        let now = self.now_secs();
        let mut state = lock(&self.state);
        let used = state
            .meters
            .cpu(id, now)
            .map_or(0.0, |u| u.total_ns as f64 / 1e9);
        state.meters.cpu.insert(id.into(), (used, now, cores));
    }
}
