//! From raw samples to [`Reading`]s: the balancers' `show stat` counters and the engines' CPU
//! counters, read every few seconds, become rates by difference with the previous read (never
//! HAProxy's own one-second rate fields). A counter that went back (a balancer reloaded or
//! replaced) or a first read gives no rate this round: missing, not zero.

use std::collections::BTreeMap;

use super::decide::Reading;

/// A backend's counters in one read of one balancer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests so far (HTTP), or sessions so far (TCP, where a connection is the request).
    pub requests: u64,
    /// Sessions open to the replicas plus requests queued for one.
    pub in_flight: u64,
}

/// One read of one balancer: its backends' counters, and when (seconds, monotonic).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BalancerRead {
    pub at: f64,
    pub backends: BTreeMap<String, Counters>,
}

/// The `BACKEND` rows of HAProxy's `show stat` CSV, by backend name. Rows and columns it cannot
/// read are skipped: a balancer that answers nonsense reads as missing its backends.
pub fn parse_show_stat(csv: &str) -> BTreeMap<String, Counters> {
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else {
        return BTreeMap::new();
    };
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(px), Some(sv), Some(qcur), Some(scur), Some(stot)) = (
        at("pxname"),
        at("svname"),
        at("qcur"),
        at("scur"),
        at("stot"),
    ) else {
        return BTreeMap::new();
    };
    let req_tot = at("req_tot");
    let mut out = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.get(sv) != Some(&"BACKEND") {
            continue;
        }
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        let Some(name) = fields.get(px) else { continue };
        let (Some(stot), Some(scur)) = (number(stot), number(scur)) else {
            continue;
        };
        out.insert(
            (*name).to_string(),
            Counters {
                requests: req_tot.and_then(number).unwrap_or(stot),
                in_flight: scur + number(qcur).unwrap_or(0),
            },
        );
    }
    out
}

/// The previous read of each balancer, to take rates from.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    previous: BTreeMap<String, BalancerRead>,
}

/// Per backend: requests per second and requests in flight over all balancers.
pub type TrafficReadings = BTreeMap<String, (Reading, Reading)>;

impl Traffic {
    /// Takes this round's reads (per ingress host expected to run a balancer; `None` where it
    /// could not be read) and gives the readings of `backends`.
    pub fn round(
        &mut self,
        reads: BTreeMap<String, Option<BalancerRead>>,
        backends: &[String],
    ) -> TrafficReadings {
        let mut out = TrafficReadings::new();
        for backend in backends {
            let (mut rate, mut rate_missing) = (0.0, 0);
            let (mut in_flight, mut in_flight_missing) = (0.0, 0);
            for (host, read) in &reads {
                let now = read
                    .as_ref()
                    .and_then(|r| Some((r.at, *r.backends.get(backend)?)));
                let Some((at, counters)) = now else {
                    rate_missing += 1;
                    in_flight_missing += 1;
                    continue;
                };
                in_flight += counters.in_flight as f64;
                let before = self
                    .previous
                    .get(host)
                    .and_then(|p| Some((p.at, *p.backends.get(backend)?)));
                match before {
                    Some((then, old)) if at > then && counters.requests >= old.requests => {
                        rate += (counters.requests - old.requests) as f64 / (at - then);
                    }
                    _ => rate_missing += 1,
                }
            }
            let reading = |total: f64, missing: usize| {
                if missing >= reads.len() {
                    Reading::NoData
                } else {
                    Reading::Traffic { total, missing }
                }
            };
            out.insert(
                backend.clone(),
                (
                    reading(rate, rate_missing),
                    reading(in_flight, in_flight_missing),
                ),
            );
        }
        // A balancer not read this round keeps its last read: the next rate spans the gap.
        for (host, read) in reads {
            if let Some(read) = read {
                self.previous.insert(host, read);
            }
        }
        out
    }

    /// Forgets balancers no longer expected.
    pub fn retain(&mut self, hosts: &[String]) {
        self.previous.retain(|h, _| hosts.contains(h));
    }
}

/// One read of a container's CPU counter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuRead {
    /// CPU time used so far, in nanoseconds.
    pub usage_ns: u64,
    /// When the engine read it, in seconds (the engine's clock).
    pub at: f64,
}

/// One replica in a CPU round.
#[derive(Clone, Debug, PartialEq)]
pub struct Replica {
    pub service: String,
    pub id: String,
    /// What 100 % means for it: its cpu limit in cores, or one core.
    pub cores: f64,
    /// Healthy (or running without a check) for long enough that its CPU is not start-up work.
    pub warm: bool,
    pub read: Option<CpuRead>,
}

/// The previous CPU read of each container.
#[derive(Clone, Debug, Default)]
pub struct Cpu {
    previous: BTreeMap<String, CpuRead>,
}

impl Cpu {
    /// Per service: the CPU of its warm replicas with a rate this round (summed, as fractions of
    /// each one's limit), and how many those are.
    pub fn round(&mut self, replicas: &[Replica]) -> BTreeMap<String, Reading> {
        let mut sums: BTreeMap<String, (f64, u32)> = BTreeMap::new();
        let mut next = BTreeMap::new();
        for r in replicas {
            let entry = sums.entry(r.service.clone()).or_default();
            let Some(now) = r.read else { continue };
            next.insert(r.id.clone(), now);
            let Some(then) = self.previous.get(&r.id) else {
                continue;
            };
            if !r.warm || now.at <= then.at || now.usage_ns < then.usage_ns || r.cores <= 0.0 {
                continue;
            }
            let cores = (now.usage_ns - then.usage_ns) as f64 / 1e9 / (now.at - then.at);
            entry.0 += cores / r.cores;
            entry.1 += 1;
        }
        self.previous = next;
        sums.into_iter()
            .map(|(service, (total, measured))| {
                let reading = if measured == 0 {
                    Reading::NoData
                } else {
                    Reading::Cpu { total, measured }
                };
                (service, reading)
            })
            .collect()
    }
}
