//! Faults a test drives on a simulated host: latency, an engine down, a host gone silent,
//! refused calls, a skewed clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Answer, MemoryEngine, lock};

impl MemoryEngine {
    /// Every call takes `latency` before it is carried out.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// The engine is down: every call fails at once (containers keep their state).
    pub fn go_down(&self) {
        *lock(&self.answer) = Answer::Down;
    }

    /// The host stops answering: every call hangs.
    pub fn stop_answering(&self) {
        *lock(&self.answer) = Answer::Silent;
    }

    /// After `changes` more calls that change something are carried out, the host stops
    /// answering, and the returned `Notify` is told (a test drops the run then: a kill at
    /// exactly that step).
    pub fn stop_answering_after(&self, changes: u64) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        *lock(&self.silent_after) = Some((changes, Arc::clone(&notify)));
        notify
    }

    /// The host answers normally again.
    pub fn answer_again(&self) {
        *lock(&self.answer) = Answer::Normally;
        *lock(&self.silent_after) = None;
    }

    /// The next `times` calls named `call` (`"create"`, `"start"`, ...) are refused by the
    /// engine (as a 500 answer: the operation fails, the host stays up).
    pub fn refuse(&self, call: &'static str, times: usize) {
        lock(&self.refusals).insert(call, times);
    }

    /// Sets the host clock `seconds` off the simulation's.
    pub fn skew_clock(&self, seconds: i64) {
        *lock(&self.clock_skew) = seconds;
    }
}
