//! Crash-loop backoff per replica slot, with Kubernetes' numbers: the first crash is healed at
//! once, the next ones after 10 s, 20 s, 40 s, ... up to 5 minutes; a slot that ran for 10
//! minutes without crashing starts over. Time is passed in, so this is tested without waiting.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use serde::Serialize;

pub const FIRST_DELAY: Duration = Duration::from_secs(10);
pub const MAX_DELAY: Duration = Duration::from_secs(300);
pub const RESET_AFTER: Duration = Duration::from_secs(600);

/// A replica slot: service and slot number.
pub type Slot = (String, u32);

#[derive(Clone, Debug)]
struct Crashes {
    count: u32,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct Backoff {
    slots: BTreeMap<Slot, Crashes>,
}

/// What status shows for a slot that crashed recently.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SlotBackoff {
    pub service: String,
    pub slot: u32,
    /// Crashes in a row (none more than 10 minutes apart).
    pub crashes: u32,
    /// Seconds until fleet restarts it again; 0 when it may be restarted now.
    pub retry_in_seconds: f64,
}

/// The wait before healing after the `count`-th crash in a row.
pub fn delay(count: u32) -> Duration {
    match count {
        0 | 1 => Duration::ZERO,
        n => FIRST_DELAY
            .saturating_mul(1u32.checked_shl(n - 2).unwrap_or(u32::MAX))
            .min(MAX_DELAY),
    }
}

impl Backoff {
    /// Records that the slot's container exited on its own (not stopped or killed by anyone).
    pub fn crashed(&mut self, slot: Slot, now: Instant) {
        let entry = self.slots.entry(slot).or_insert(Crashes {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= RESET_AFTER {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
    }

    /// When the slot may be healed again, if it has to wait.
    pub fn wait_until(&self, slot: &Slot, now: Instant) -> Option<Instant> {
        let c = self.slots.get(slot)?;
        let at = c.last + delay(c.count);
        (at > now).then_some(at)
    }

    /// The earliest moment a waiting slot may be healed.
    pub fn next_wake(&self, now: Instant) -> Option<Instant> {
        self.slots
            .keys()
            .filter_map(|s| self.wait_until(s, now))
            .min()
    }

    /// Forgets slots quiet for the reset period, and those of services no longer wanted.
    pub fn forget_old(&mut self, now: Instant, keep: impl Fn(&Slot) -> bool) {
        self.slots
            .retain(|s, c| keep(s) && now.duration_since(c.last) < RESET_AFTER);
    }

    pub fn report(&self, now: Instant) -> Vec<SlotBackoff> {
        self.slots
            .iter()
            .map(|((service, slot), c)| SlotBackoff {
                service: service.clone(),
                slot: *slot,
                crashes: c.count,
                retry_in_seconds: self
                    .wait_until(&(service.clone(), *slot), now)
                    .map_or(0.0, |at| at.duration_since(now).as_secs_f64()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(slot: u32) -> Slot {
        ("web".into(), slot)
    }

    #[test]
    fn delays_double_from_ten_seconds_to_five_minutes() {
        let secs: Vec<u64> = (1..=9).map(|n| delay(n).as_secs()).collect();
        assert_eq!(secs, vec![0, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(delay(200), MAX_DELAY);
    }

    #[test]
    fn the_first_crash_heals_at_once_and_the_next_ones_wait() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        b.crashed(web(0), t0);
        assert_eq!(b.wait_until(&web(0), t0), None);
        let t1 = t0 + Duration::from_secs(2);
        b.crashed(web(0), t1);
        assert_eq!(b.wait_until(&web(0), t1), Some(t1 + FIRST_DELAY));
        assert_eq!(b.next_wake(t1), Some(t1 + FIRST_DELAY));
        assert_eq!(b.wait_until(&web(1), t1), None, "slots are independent");
        let t2 = t1 + Duration::from_secs(11);
        b.crashed(web(0), t2);
        assert_eq!(b.wait_until(&web(0), t2), Some(t2 + 2 * FIRST_DELAY));
        let report = b.report(t2);
        assert_eq!(report[0].crashes, 3);
        assert_eq!(report[0].retry_in_seconds, 20.0);
    }

    #[test]
    fn ten_quiet_minutes_start_the_count_over() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        for i in 0..5 {
            b.crashed(web(0), t0 + Duration::from_secs(i));
        }
        let later = t0 + RESET_AFTER + Duration::from_secs(5);
        b.crashed(web(0), later);
        assert_eq!(b.wait_until(&web(0), later), None);
        b.forget_old(later + RESET_AFTER, |_| true);
        assert!(b.report(later + RESET_AFTER).is_empty());
    }
}
