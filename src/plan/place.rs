//! Placement: which replica runs on which host.
//!
//! Deterministic and stable: existing replicas stay where they are while their host is still
//! eligible and within limits (minimal moves); missing replicas go to the eligible, reachable
//! host that best spreads the service over the preferred label values, then has the fewest
//! replicas of the service, then runs the most of the services it depends on, then the fewest
//! replicas overall, then the first name. A fixed host
//! port fits one replica per host and is never given to two services on one host.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use super::{HeldBack, PlanError};
use crate::observe::{Container, Health, HostState, Observed, Owner, RunState};
use crate::spec::Desired;
use crate::spec::model::{Mode, Protocol, Service};

pub struct Kept {
    pub host: String,
    pub service: String,
    pub slot: u32,
    pub container: Container,
}

pub struct Created {
    pub host: String,
    pub service: String,
    pub slot: u32,
    pub reason: String,
}

pub struct Removed {
    pub host: String,
    pub container: Container,
    pub reason: String,
}

#[derive(Default)]
pub struct Placement {
    pub kept: Vec<Kept>,
    pub created: Vec<Created>,
    pub removed: Vec<Removed>,
    pub held_back: Vec<HeldBack>,
}

type HostPort = (u16, Protocol, Option<std::net::IpAddr>);

fn fixed_ports(service: &Service) -> Vec<HostPort> {
    service
        .ports
        .iter()
        .filter_map(|p| p.published.map(|port| (port, p.protocol, p.host_ip)))
        .collect()
}

/// How good a replica is to keep, when several claim one slot: lower is better.
fn keep_rank(c: &Container, hash: &str) -> (u8, u8, u8, std::cmp::Reverse<i64>) {
    let owner_hash = match &c.owner {
        Owner::Replica { spec_hash, .. } => spec_hash.as_str(),
        Owner::Malformed { .. } => "",
    };
    let running = matches!(c.state, RunState::Running | RunState::Restarting);
    (
        u8::from(owner_hash != hash),
        u8::from(!running),
        u8::from(c.health == Some(Health::Unhealthy)),
        std::cmp::Reverse(c.created),
    )
}

struct Load {
    /// Replicas of each service per host, as placed so far.
    per_service: BTreeMap<(String, String), u32>,
    /// All replicas per host, as placed so far.
    total: BTreeMap<String, u32>,
    /// Fixed host ports taken per host.
    ports: BTreeMap<String, BTreeSet<HostPort>>,
}

impl Load {
    fn count(&self, service: &str, host: &str) -> u32 {
        self.per_service
            .get(&(service.to_string(), host.to_string()))
            .copied()
            .unwrap_or(0)
    }

    fn add(&mut self, service: &str, host: &str, ports: &[HostPort]) {
        *self
            .per_service
            .entry((service.to_string(), host.to_string()))
            .or_default() += 1;
        *self.total.entry(host.to_string()).or_default() += 1;
        self.ports
            .entry(host.to_string())
            .or_default()
            .extend(ports.iter().copied());
    }

    fn remove(&mut self, service: &str, host: &str, ports: &[HostPort]) {
        if let Some(n) = self
            .per_service
            .get_mut(&(service.to_string(), host.to_string()))
        {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = self.total.get_mut(host) {
            *n = n.saturating_sub(1);
        }
        if let Some(taken) = self.ports.get_mut(host) {
            for p in ports {
                taken.remove(p);
            }
        }
    }

    fn ports_free(&self, host: &str, ports: &[HostPort]) -> bool {
        let taken = self.ports.get(host);
        ports.iter().all(|p| {
            taken.is_none_or(|t| {
                !t.iter().any(|q| {
                    q.0 == p.0 && q.1 == p.1 && (q.2.is_none() || p.2.is_none() || q.2 == p.2)
                })
            })
        })
    }
}

/// Where one service stands on each of its eligible hosts (indexed as `eligible`, which is in
/// name order): how crowded each host is for it (per spread key, the service's replicas on the
/// eligible hosts sharing the host's label value; then its replicas on the host itself), and
/// every replica on the host. Counted from the [`Load`] once, then kept equal to it by
/// [`Standing::add`] and [`Standing::remove`] as the service's replicas are placed and moved,
/// so comparing two hosts is a few integer comparisons instead of a recount of their groups
/// (which made placement cubic in the number of hosts).
struct Standing {
    /// Per spread key: the group of each host, and the service's replicas in each group.
    groups: Vec<(Vec<usize>, Vec<u32>)>,
    /// The service's replicas on each host.
    count: Vec<u32>,
    /// All replicas on each host.
    total: Vec<u32>,
    /// How many of the services it depends on have a replica on each host.
    near: Vec<usize>,
}

impl Standing {
    fn new(desired: &Desired, load: &Load, service: (&str, &Service), eligible: &[&str]) -> Self {
        debug_assert!(eligible.is_sorted(), "ties are broken by host name");
        let (name, spec) = service;
        let count: Vec<u32> = eligible.iter().map(|h| load.count(name, h)).collect();
        let total = eligible
            .iter()
            .map(|h| load.total.get(*h).copied().unwrap_or(0))
            .collect();
        let near = eligible
            .iter()
            .map(|h| {
                spec.depends_on
                    .keys()
                    .filter(|d| load.count(d, h) > 0)
                    .count()
            })
            .collect();
        let groups = spec
            .deploy
            .placement
            .spread
            .iter()
            .map(|key| {
                let mut ids: BTreeMap<Option<&String>, usize> = BTreeMap::new();
                let of: Vec<usize> = eligible
                    .iter()
                    .map(|h| {
                        let next = ids.len();
                        *ids.entry(desired.hosts[*h].labels.get(key)).or_insert(next)
                    })
                    .collect();
                let mut sums = vec![0; ids.len()];
                for (group, n) in of.iter().zip(&count) {
                    sums[*group] += n;
                }
                (of, sums)
            })
            .collect();
        Standing {
            groups,
            count,
            total,
            near,
        }
    }

    /// How crowded the `i`th host is: per spread key, the replicas in its group, then the
    /// replicas on the host itself.
    fn crowding(&self, i: usize) -> (Vec<u32>, u32) {
        let spread = self.groups.iter().map(|(of, sums)| sums[of[i]]).collect();
        (spread, self.count[i])
    }

    /// Compares two hosts by crowding alone.
    fn crowding_cmp(&self, a: usize, b: usize) -> Ordering {
        self.groups
            .iter()
            .map(|(of, sums)| sums[of[a]].cmp(&sums[of[b]]))
            .chain([self.count[a].cmp(&self.count[b])])
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    /// Which host is the better place for a new replica (the lesser): by crowding, then by the
    /// services it depends on running there (replicas reach each other by name on one host
    /// only, so a Compose app of single replicas stays together as under Compose), then by all
    /// replicas on the host, then by name.
    fn place_cmp(&self, a: usize, b: usize) -> Ordering {
        self.crowding_cmp(a, b)
            .then(self.near[b].cmp(&self.near[a]))
            .then(self.total[a].cmp(&self.total[b]))
            .then(a.cmp(&b))
    }

    /// A replica of the service was placed on the `i`th host.
    fn add(&mut self, i: usize) {
        self.count[i] += 1;
        self.total[i] += 1;
        for (of, sums) in &mut self.groups {
            sums[of[i]] += 1;
        }
    }

    /// A replica of the service left the `i`th host.
    fn remove(&mut self, i: usize) {
        self.count[i] = self.count[i].saturating_sub(1);
        self.total[i] = self.total[i].saturating_sub(1);
        for (of, sums) in &mut self.groups {
            sums[of[i]] = sums[of[i]].saturating_sub(1);
        }
    }
}

/// Decides where every replica lives. Replicas that fit nowhere are returned as errors beside
/// the placement of all the others.
pub fn place(desired: &Desired, observed: &Observed) -> (Placement, Vec<PlanError>) {
    let mut out = Placement::default();
    let mut errors = Vec::new();
    let mut load = Load {
        per_service: BTreeMap::new(),
        total: BTreeMap::new(),
        ports: BTreeMap::new(),
    };

    // Every observed container, by service; malformed ones and those of removed services go.
    let mut by_service: BTreeMap<String, Vec<(String, Container)>> = BTreeMap::new();
    for (host, state) in &observed.hosts {
        let HostState::Reachable { containers } = state else {
            continue;
        };
        for c in containers {
            match &c.owner {
                Owner::Malformed { why } => out.removed.push(Removed {
                    host: host.clone(),
                    container: c.clone(),
                    reason: format!("not a replica fleet made: {why}"),
                }),
                Owner::Replica { service, .. } if !desired.services.contains_key(service) => {
                    out.removed.push(Removed {
                        host: host.clone(),
                        container: c.clone(),
                        reason: format!("service `{service}` is no longer in the desired state"),
                    })
                }
                Owner::Replica { service, .. } => by_service
                    .entry(service.clone())
                    .or_default()
                    .push((host.clone(), c.clone())),
            }
        }
    }
    // Nothing can be placed on a host that cannot be reached, down or not; but only replicas of
    // a host declared down are presumed lost (the others are held back).
    let unreachable: BTreeSet<&str> = observed
        .hosts
        .iter()
        .filter(|(_, s)| !matches!(s, HostState::Reachable { .. }))
        .map(|(h, _)| h.as_str())
        .collect();
    let silent: BTreeSet<&str> = observed
        .hosts
        .iter()
        .filter(|(_, s)| matches!(s, HostState::Unreachable { .. }))
        .map(|(h, _)| h.as_str())
        .collect();

    // First pass: keep what can stay, for every service, so that ports and load held by kept
    // replicas are known before anything new is placed.
    struct Pending<'a> {
        name: &'a str,
        service: &'a Service,
        eligible: Vec<&'a str>,
        missing: Vec<u32>,
    }
    let mut pending = Vec::new();
    for (name, service) in &desired.services {
        let hash = crate::contract::spec_hash(service);
        let ports = fixed_ports(service);
        // A fixed host port or network address fits one replica per host.
        let per_host_cap = match (
            service.deploy.placement.max_replicas_per_node,
            ports.is_empty() && !service.has_fixed_address(),
        ) {
            (Some(max), true) => max,
            (Some(_), false) | (None, false) => 1,
            (None, true) => u32::MAX,
        };
        let eligible: Vec<&str> = desired.eligible_hosts(service);
        let is_eligible: BTreeSet<&str> = eligible.iter().copied().collect();
        let mut existing = by_service.remove(name).unwrap_or_default();
        // Best candidates first, so the one kept for a slot is the best one.
        existing.sort_by(|(ha, a), (hb, b)| {
            (slot_of(a), keep_rank(a, &hash), ha).cmp(&(slot_of(b), keep_rank(b, &hash), hb))
        });

        let wanted: Vec<u32> = match service.deploy.mode {
            Mode::Replicated => (0..service.deploy.replicas).collect(),
            Mode::Global => Vec::new(),
        };
        let mut filled: BTreeSet<u32> = BTreeSet::new();
        let mut global_hosts: BTreeSet<String> = BTreeSet::new();
        for (host, c) in existing {
            let slot = slot_of(&c);
            let removal = |reason: String| Removed {
                host: host.clone(),
                container: c.clone(),
                reason,
            };
            if !is_eligible.contains(host.as_str()) {
                out.removed.push(removal(format!(
                    "host `{host}` no longer satisfies the placement constraints"
                )));
                continue;
            }
            match service.deploy.mode {
                Mode::Global => {
                    if global_hosts.insert(host.clone()) {
                        load.add(name, &host, &ports);
                        out.kept.push(Kept {
                            host,
                            service: name.clone(),
                            slot,
                            container: c,
                        });
                    } else {
                        out.removed.push(removal(
                            "a second replica of a global service on one host".into(),
                        ));
                    }
                }
                Mode::Replicated => {
                    if slot >= service.deploy.replicas {
                        out.removed.push(removal(format!(
                            "scale down to {} replica(s)",
                            service.deploy.replicas
                        )));
                    } else if filled.contains(&slot) {
                        out.removed
                            .push(removal(format!("duplicate of replica {slot}")));
                    } else if load.count(name, &host) >= per_host_cap
                        || !load.ports_free(&host, &ports)
                    {
                        out.removed.push(removal(
                            if service.has_fixed_address() && ports.is_empty() {
                                "its fixed network address fits one replica per host".into()
                            } else if ports.is_empty() {
                                format!(
                                    "more than max_replicas_per_node ({per_host_cap}) on `{host}`"
                                )
                            } else {
                                "its fixed host port is taken on this host".into()
                            },
                        ));
                    } else {
                        filled.insert(slot);
                        load.add(name, &host, &ports);
                        out.kept.push(Kept {
                            host,
                            service: name.clone(),
                            slot,
                            container: c,
                        });
                    }
                }
            }
        }
        let missing: Vec<u32> = match service.deploy.mode {
            Mode::Replicated => wanted.into_iter().filter(|s| !filled.contains(s)).collect(),
            Mode::Global => Vec::new(),
        };
        let lost: Vec<String> = eligible
            .iter()
            .filter(|h| silent.contains(**h))
            .map(|h| h.to_string())
            .collect();
        if service.deploy.mode == Mode::Global {
            for host in &eligible {
                if !unreachable.contains(host) && !global_hosts.contains(*host) {
                    load.add(name, host, &ports);
                    out.created.push(Created {
                        host: host.to_string(),
                        service: name.clone(),
                        slot: 0,
                        reason: "global service: one replica per eligible host".into(),
                    });
                }
            }
        } else if !missing.is_empty() && !lost.is_empty() {
            out.held_back.push(HeldBack {
                service: name.clone(),
                slots: missing,
                hosts: lost,
            });
        } else if !missing.is_empty() {
            pending.push(Pending {
                name,
                service,
                eligible,
                missing,
            });
        }
    }

    // Second pass: place what is missing, dependencies before the services that depend on them
    // (so a dependent can be placed beside them).
    let level: BTreeMap<String, usize> = desired
        .dependency_levels()
        .into_iter()
        .enumerate()
        .flat_map(|(i, names)| names.into_iter().map(move |n| (n, i)))
        .collect();
    pending.sort_by_key(|p| (level.get(p.name).copied().unwrap_or(0), p.name));
    for p in pending {
        let ports = fixed_ports(p.service);
        let cap = match (
            p.service.deploy.placement.max_replicas_per_node,
            ports.is_empty() && !p.service.has_fixed_address(),
        ) {
            (Some(max), true) => max,
            (_, false) => 1,
            (None, true) => u32::MAX,
        };
        let mut standing = Standing::new(desired, &load, (p.name, p.service), &p.eligible);
        let open: Vec<bool> = p
            .eligible
            .iter()
            .map(|h| !unreachable.contains(h))
            .collect();
        for slot in p.missing {
            let best = (0..p.eligible.len())
                .filter(|&i| open[i] && standing.count[i] < cap)
                .filter(|&i| ports.is_empty() || load.ports_free(p.eligible[i], &ports))
                .min_by(|&a, &b| standing.place_cmp(a, b));
            match best {
                Some(i) => {
                    let host = p.eligible[i];
                    standing.add(i);
                    load.add(p.name, host, &ports);
                    out.created.push(Created {
                        host: host.to_string(),
                        service: p.name.to_string(),
                        slot,
                        reason: format!(
                            "replica {slot} of {} is missing",
                            p.service.deploy.replicas
                        ),
                    });
                }
                None => errors.push(PlanError::Unplaceable {
                    service: p.name.to_string(),
                    slot,
                    reason: why_unplaceable(
                        desired,
                        &p.eligible,
                        &unreachable,
                        cap,
                        !ports.is_empty(),
                    ),
                }),
            }
        }
    }
    rebalance(desired, &unreachable, &silent, &mut load, &mut out);
    (out, errors)
}

/// Moves kept replicas from the most crowded host to the least crowded one while that evens the
/// spread out by at least one replica: after a lost host returns (its old replicas went as
/// duplicates) or a host joins, the service spreads as if placed afresh. A move is a create on
/// the new host and a removal on the old one, so the apply stage starts the new replica first.
/// Nothing moves while an eligible host is unreachable but not down: its replicas are unknown.
fn rebalance(
    desired: &Desired,
    unreachable: &BTreeSet<&str>,
    silent: &BTreeSet<&str>,
    load: &mut Load,
    out: &mut Placement,
) {
    for (name, service) in &desired.services {
        if service.deploy.mode != Mode::Replicated {
            continue;
        }
        let eligible: Vec<&str> = desired.eligible_hosts(service);
        if eligible.iter().any(|h| silent.contains(h)) {
            continue;
        }
        let ports = fixed_ports(service);
        let cap = match (
            service.deploy.placement.max_replicas_per_node,
            ports.is_empty(),
        ) {
            (Some(max), true) => max,
            (_, false) => 1,
            (None, true) => u32::MAX,
        };
        let position: BTreeMap<&str, usize> =
            eligible.iter().enumerate().map(|(i, h)| (*h, i)).collect();
        let reachable: Vec<usize> = (0..eligible.len())
            .filter(|&i| !unreachable.contains(eligible[i]))
            .collect();
        let mut standing = Standing::new(desired, load, (name, service), &eligible);
        // Each move lowers the sum of squared group sizes, so this ends; the bound is a guard.
        for _ in 0..service.deploy.replicas {
            // Kept replicas are all on eligible hosts (the first pass removed the others).
            let source = out
                .kept
                .iter()
                .filter(|k| &k.service == name)
                .filter_map(|k| position.get(k.host.as_str()).copied())
                .max_by(|&a, &b| standing.crowding_cmp(a, b).then(b.cmp(&a)));
            let Some(source_i) = source else {
                break;
            };
            let target = reachable
                .iter()
                .copied()
                .filter(|&i| i != source_i && standing.count[i] < cap)
                .filter(|&i| ports.is_empty() || load.ports_free(eligible[i], &ports))
                .min_by(|&a, &b| standing.place_cmp(a, b));
            let Some(target_i) = target else {
                break;
            };
            let (source, target) = (
                eligible[source_i].to_string(),
                eligible[target_i].to_string(),
            );
            if !evens_out(
                desired,
                service,
                &standing.crowding(source_i),
                &standing.crowding(target_i),
                &source,
                &target,
            ) {
                break;
            }
            // A replica whose slot the target still holds a container of (a stale duplicate
            // being removed) would collide with that container's name: move another one.
            let stale_on_target: BTreeSet<u32> = out
                .removed
                .iter()
                .filter(|r| r.host == target)
                .filter_map(|r| match &r.container.owner {
                    Owner::Replica { service, slot, .. } if service == name => Some(*slot),
                    _ => None,
                })
                .collect();
            let Some(index) = out
                .kept
                .iter()
                .enumerate()
                .filter(|(_, k)| &k.service == name && k.host == source)
                .filter(|(_, k)| !stale_on_target.contains(&k.slot))
                .max_by_key(|(_, k)| k.slot)
                .map(|(i, _)| i)
            else {
                break;
            };
            let moved = out.kept.remove(index);
            load.remove(name, &source, &ports);
            load.add(name, &target, &ports);
            standing.remove(source_i);
            standing.add(target_i);
            out.created.push(Created {
                host: target.clone(),
                service: name.clone(),
                slot: moved.slot,
                reason: format!(
                    "rebalance: replica {} moves here from `{source}`",
                    moved.slot
                ),
            });
            out.removed.push(Removed {
                host: source.clone(),
                container: moved.container,
                reason: format!("rebalance: replica {} moves to `{target}`", moved.slot),
            });
        }
    }
}

/// Whether moving one replica from `source` to `target` makes the spread more even: on the
/// first spread key where their groups differ, the source's group is larger by two or more; if
/// they share every group, the source host itself holds two or more replicas more.
fn evens_out(
    desired: &Desired,
    service: &Service,
    source_crowding: &(Vec<u32>, u32),
    target_crowding: &(Vec<u32>, u32),
    source: &str,
    target: &str,
) -> bool {
    for (i, key) in service.deploy.placement.spread.iter().enumerate() {
        if desired.hosts[source].labels.get(key) != desired.hosts[target].labels.get(key) {
            return source_crowding.0[i] >= target_crowding.0[i] + 2;
        }
    }
    source_crowding.1 >= target_crowding.1 + 2
}

fn slot_of(c: &Container) -> u32 {
    match &c.owner {
        Owner::Replica { slot, .. } => *slot,
        Owner::Malformed { .. } => u32::MAX,
    }
}

fn why_unplaceable(
    desired: &Desired,
    eligible: &[&str],
    unreachable: &BTreeSet<&str>,
    cap: u32,
    fixed_port: bool,
) -> String {
    if eligible.is_empty() {
        return format!(
            "no host satisfies its placement constraints (hosts: {})",
            desired.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let reachable: Vec<&str> = eligible
        .iter()
        .copied()
        .filter(|h| !unreachable.contains(h))
        .collect();
    if reachable.is_empty() {
        return format!(
            "every eligible host is unreachable ({})",
            eligible.join(", ")
        );
    }
    if fixed_port {
        format!(
            "it publishes a fixed host port, which fits one replica per host, and the eligible hosts ({}) are full or have the port taken",
            reachable.join(", ")
        )
    } else {
        format!(
            "every eligible host ({}) already runs max_replicas_per_node ({cap})",
            reachable.join(", ")
        )
    }
}
