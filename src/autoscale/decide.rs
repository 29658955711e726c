//! The decision: Kubernetes HPA's algorithm on plain numbers, with its known pitfalls avoided.
//!
//! Per signal, desired = ceil(current x observed / target), the largest wins; nothing changes
//! within a 10 % tolerance. Up at once, by at most max(+100 %, +4) per decision; down only to
//! the highest recommendation seen over `scale_down_after`. Missing data counts as 0 % of the
//! target when it would scale up and as 100 % when it would scale down, so a gap in the numbers
//! never removes replicas. The bounds always win.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::spec::model::Autoscale;

/// Ratios within this of 1 change nothing.
pub const TOLERANCE: f64 = 0.1;
/// At most this many replicas more per decision, or doubling, whichever is more.
pub const UP_STEP: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    RequestsPerSecond,
    Concurrency,
    Cpu,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::RequestsPerSecond => "requests_per_second",
            Signal::Concurrency => "concurrency",
            Signal::Cpu => "cpu",
        }
    }

    /// The target per replica the service sets for it.
    pub fn target(self, scale: &Autoscale) -> Option<f64> {
        match self {
            Signal::RequestsPerSecond => scale.requests_per_second,
            Signal::Concurrency => scale.concurrency,
            Signal::Cpu => scale.cpu,
        }
    }
}

/// What one signal measured in one round.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// Summed over the balancers: requests per second, or requests in flight. `missing`
    /// balancers could not be read (their share is unknown).
    Traffic { total: f64, missing: usize },
    /// Summed over the replicas measured, as fractions of each one's limit (or of a core).
    /// Replicas not measured (unreadable, warming up) are the rest of the current count.
    Cpu { total: f64, measured: u32 },
    /// Nothing could be read (or there is no earlier sample to take a rate from yet).
    NoData,
}

/// One signal's value per replica beside its target, for status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalValue {
    pub signal: Signal,
    /// Per replica; `None` without data.
    pub value: Option<f64>,
    pub target: f64,
    /// What it alone recommends.
    pub recommends: Option<u32>,
}

/// One decision, with its inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub current: u32,
    pub desired: u32,
    pub signals: Vec<SignalValue>,
    pub reason: String,
}

impl Decision {
    pub fn changes(&self) -> bool {
        self.desired != self.current
    }
}

/// What one signal recommends for `current` replicas, and its value per replica.
fn recommend(reading: &Reading, target: f64, current: u32) -> (Option<u32>, Option<f64>) {
    let n = f64::from(current.max(1));
    let scaled = |ratio: f64| (n * ratio - 1e-9).ceil().max(0.0) as u32;
    match *reading {
        Reading::NoData => (None, None),
        Reading::Traffic { total, missing } => {
            let ratio = total / n / target;
            let value = Some(total / n);
            if (ratio - 1.0).abs() <= TOLERANCE {
                return (Some(current), value);
            }
            let wanted = scaled(ratio);
            // An unread balancer's traffic is unknown: it may carry the rest (no scale down).
            if missing > 0 && wanted < current {
                return (Some(current), value);
            }
            (Some(wanted), value)
        }
        Reading::Cpu { total, measured } => {
            if measured == 0 {
                return (None, None);
            }
            let average = total / f64::from(measured);
            let ratio = average / target;
            if (ratio - 1.0).abs() <= TOLERANCE {
                return (Some(current), Some(average));
            }
            let unmeasured = f64::from(current.saturating_sub(measured));
            let all = f64::from(measured) + unmeasured;
            // The unmeasured at 0 % when going up, at 100 % when going down; a direction that
            // flips or lands within the tolerance changes nothing.
            let ratio = if ratio > 1.0 {
                total / all / target
            } else {
                (total + unmeasured * target) / all / target
            };
            let flipped = (ratio - 1.0).abs() <= TOLERANCE || (ratio > 1.0) != (average > target);
            if flipped {
                return (Some(current), Some(average));
            }
            (Some(scaled(ratio)), Some(average))
        }
    }
}

/// The recommendations of the last `scale_down_after`, and the decision rule.
#[derive(Clone, Debug, Default)]
pub struct Recommender {
    /// (seconds since an arbitrary origin, recommendation), oldest first.
    history: VecDeque<(f64, u32)>,
}

impl Recommender {
    /// Decides for `current` replicas at `now` (seconds, monotonic) from this round's readings.
    pub fn decide(
        &mut self,
        scale: &Autoscale,
        current: u32,
        readings: &[(Signal, Reading)],
        now: f64,
    ) -> Decision {
        let mut signals = Vec::new();
        let mut raw: Option<u32> = None;
        let mut why = String::new();
        for (signal, reading) in readings {
            let Some(target) = signal.target(scale) else {
                continue;
            };
            let (recommends, value) = recommend(reading, target, current);
            if let Some(r) = recommends {
                if raw.is_none_or(|best| r > best) {
                    raw = Some(r);
                    why = match value {
                        Some(v) => format!(
                            "{} {} per replica (target {})",
                            signal.as_str(),
                            show(*signal, v),
                            show(*signal, target)
                        ),
                        None => signal.as_str().to_string(),
                    };
                }
            }
            signals.push(SignalValue {
                signal: *signal,
                value,
                target,
                recommends,
            });
        }
        // No data: as if at target, so an old low recommendation cannot scale down alone.
        let recommendation = raw.unwrap_or(current);
        // A daemon that just started has seen nothing low for a window yet: it starts from now.
        if self.history.is_empty() {
            self.history.push_back((now, current));
        }
        self.remember(now, recommendation, scale.scale_down_after);
        let (desired, reason) = if current < scale.min || current > scale.max {
            (
                scale.clamp(current),
                format!("bounds {}-{} from git", scale.min, scale.max),
            )
        } else if raw.is_none() {
            (current, "no data: no change".to_string())
        } else if recommendation > current {
            let step = current
                .saturating_mul(2)
                .max(current.saturating_add(UP_STEP));
            (scale.clamp(recommendation.min(step)), why)
        } else if recommendation < current {
            let highest = self.highest().unwrap_or(current);
            if highest < current {
                (scale.clamp(highest), format!("{why} for {}", window(scale)))
            } else {
                (
                    current,
                    format!("{why}; holding until it has lasted {}", window(scale)),
                )
            }
        } else {
            (current, format!("{why}: within tolerance"))
        };
        Decision {
            current,
            desired,
            signals,
            reason,
        }
    }

    fn remember(&mut self, now: f64, recommendation: u32, window: Duration) {
        self.history.push_back((now, recommendation));
        let horizon = now - window.as_secs_f64();
        while self.history.front().is_some_and(|(at, _)| *at < horizon) {
            self.history.pop_front();
        }
    }

    /// The highest recommendation within the window.
    fn highest(&self) -> Option<u32> {
        self.history.iter().map(|(_, r)| *r).max()
    }
}

fn window(scale: &Autoscale) -> String {
    format!("{}s", scale.scale_down_after.as_secs())
}

/// A value as people read it: CPU as a percentage, rates with one decimal.
pub fn show(signal: Signal, value: f64) -> String {
    match signal {
        Signal::Cpu => format!("{:.0}%", value * 100.0),
        _ => format!("{value:.1}"),
    }
}
