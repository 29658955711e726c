//! `x-fleet.autoscale`: bounds and targets within which `fleet watch` owns a service's replica
//! count (decided by the top-level `autoscale` module).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::seconds;

/// How long a lower recommendation must hold before replicas are removed, when not written.
pub const DEFAULT_SCALE_DOWN_AFTER: Duration = Duration::from_secs(300);
/// The longest `scale_down_after` accepted.
pub const MAX_SCALE_DOWN_AFTER: Duration = Duration::from_secs(3600);
/// The largest `max` accepted.
pub const MAX_REPLICAS: u32 = 10_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
    /// Requests per second per replica, counted by the balancers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Requests in flight (and queued) per replica at the balancers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<f64>,
    /// CPU per replica as a fraction (0.7 for `70%`) of its `deploy.resources.limits.cpus`, or of
    /// one core without a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(with = "seconds")]
    pub scale_down_after: Duration,
}

impl Autoscale {
    /// Whether a target needs the balancers' counters.
    pub fn uses_traffic(&self) -> bool {
        self.requests_per_second.is_some() || self.concurrency.is_some()
    }

    /// `count` within the bounds.
    pub fn clamp(&self, count: u32) -> u32 {
        count.clamp(self.min, self.max)
    }
}
