//! Planning: `plan(&Desired, &Observed) -> Plan`, pure and deterministic.
//!
//! No I/O happens here: the desired state and the observation are passed in, and the result is
//! a plain, serialisable [`Plan`]. Rendering and executing are separate consumers of that value;
//! neither may depend on the `reason` text, which is for people.

mod diff;
mod guard;
mod place;
pub mod ship;

pub use diff::{changed_field, field_diff};
pub use guard::{MassDelete, mass_delete};

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::autoscale::{self, Autoscaled};
use crate::balancer::{self, Rotation};
use crate::contract::{self, container_name, container_spec, spec_hash};
use crate::observe::{
    Balancer as ObservedBalancer, Container, Health, HostState, Observed, Owner, RunState,
};
use crate::spec::Desired;
use crate::spec::model::CertificateSummary;
use crate::spec::model::{Mount, Service};

/// Bumped when the JSON shape of a plan changes incompatibly (2: durations are seconds).
pub const FORMAT_VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub project: String,
    /// The commit the desired state was read from (absent for a working tree outside git).
    pub commit: Option<String>,
    /// Fingerprint of the observation the plan was made from (see `Observed::fingerprint`).
    pub observed: String,
    /// Fingerprint of the desired state the plan was made from ([`desired_fingerprint`]): a
    /// saved plan is stale when it changed, whatever commit it was read at.
    pub desired: String,
    /// Every replica and every container considered, including those left as they are.
    pub changes: Vec<Change>,
    /// Hosts that could not be observed.
    pub unreachable: Vec<Unreachable>,
    /// Replicas not found on reachable hosts that may be running on an unreachable one: they are
    /// not recreated elsewhere (moving replicas off a lost host is `fleet watch`'s decision).
    pub held_back: Vec<HeldBack>,
    /// The balancer of every reachable ingress host (and those to remove).
    #[serde(default)]
    pub balancers: Vec<BalancerChange>,
    /// The replicas the balancers route to now, per exposed service: where applying starts from.
    #[serde(default)]
    pub rotation: Rotation,
    /// The data directories the containers to create mount, per host: the engine creates each
    /// one that is missing; fleet never deletes one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_dirs: Vec<DataDirUse>,
    /// Sets of secrets on the hosts that no replica uses once the plan is carried out: their
    /// files are blanked after the service's rollout succeeds (they hold old values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale_secrets: Vec<StaleSecrets>,
    /// The count each autoscaled service is planned with, and where it came from: `fleet watch`
    /// owns it within the bounds, so a plan keeps what runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub autoscaled: Vec<Autoscaled>,
    /// Images shipped from the machine running fleet to the hosts that lack them (`ship`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ships: Vec<ship::Ship>,
}

/// A directory of old secret files on a host, and what is needed to blank them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleSecrets {
    pub host: String,
    pub service: String,
    pub dir: String,
    pub files: Vec<String>,
    /// An image the host has (the old replica's), for the engine to write through.
    pub image: String,
}

/// One data directory on one host, and the services whose new containers mount it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataDirUse {
    pub host: String,
    pub path: String,
    pub services: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalancerAction {
    Create,
    Replace,
    Start,
    /// The configuration is out of date: rewrite it and reload (no connection is dropped).
    Reload,
    Remove,
    Keep,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalancerChange {
    pub host: String,
    pub action: BalancerAction,
    pub container: Option<ContainerRef>,
    /// Upstreams the new configuration adds and removes (`service address (host container)`).
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Certificates the new configuration serves that this balancer does not yet, said for
    /// people (service, serial, names, expiry; never the key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
    /// Ids of the certificates this balancer serves now and will not once updated: their files
    /// are blanked on the host after the reload (no old key stays readable there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_certificates: Vec<String>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldBack {
    pub service: String,
    pub slots: Vec<u32>,
    pub hosts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unreachable {
    pub host: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Replace,
    Start,
    Remove,
    /// Matches the desired state; nothing to do.
    Keep,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub host: String,
    /// The service, when the container is (or will be) a replica of one.
    pub service: Option<String>,
    pub slot: Option<u32>,
    pub action: Action,
    /// The existing container (for replace, start, remove and keep).
    pub container: Option<ContainerRef>,
    /// The container to create (for create and replace).
    pub create: Option<NewContainer>,
    /// Field-level differences between the running spec and the desired one (replace).
    pub diff: Vec<FieldDiff>,
    /// Why, for people.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRef {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewContainer {
    pub name: String,
    pub spec_hash: String,
    pub spec: Service,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// Dotted path, e.g. `image` or `environment.LOG_LEVEL`.
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error("cannot place replica {slot} of service `{service}`: {reason}")]
    Unplaceable {
        service: String,
        slot: u32,
        reason: String,
    },
}

impl Plan {
    /// The changes that do something.
    pub fn actions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::Keep)
    }

    pub fn is_empty(&self) -> bool {
        self.actions().next().is_none() && self.balancer_actions().next().is_none()
    }

    /// The balancer changes that do something.
    pub fn balancer_actions(&self) -> impl Iterator<Item = &BalancerChange> {
        self.balancers
            .iter()
            .filter(|b| b.action != BalancerAction::Keep)
    }

    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// A digest of everything in `desired` that planning and applying read (the digests of secrets
/// and configs included), and nothing about where it was written: a commit that only moves
/// lines or edits comments keeps it.
pub fn desired_fingerprint(desired: &Desired) -> String {
    use sha2::{Digest, Sha256};
    let mut value = serde_json::to_value(desired).unwrap_or(Value::Null);
    if let Some(Value::Object(services)) = value.get_mut("services") {
        for service in services.values_mut() {
            if let Value::Object(service) = service {
                service.remove("origin");
            }
        }
    }
    Sha256::digest(value.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn reference(c: &Container) -> ContainerRef {
    ContainerRef {
        id: c.id.clone(),
        name: c.name.clone(),
    }
}

/// Plans the changes that make the observed hosts match the desired state.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    commit: Option<&str>,
) -> Result<Plan, Vec<PlanError>> {
    let (plan, unplaceable) = plan_best_effort(desired, observed, commit);
    if unplaceable.is_empty() {
        Ok(plan)
    } else {
        Err(unplaceable)
    }
}

/// Like [`plan`], but replicas that cannot be placed are left out of the plan and returned
/// beside it, so that a daemon can still heal everything else while capacity is short.
pub fn plan_best_effort(
    desired: &Desired,
    observed: &Observed,
    commit: Option<&str>,
) -> (Plan, Vec<PlanError>) {
    plan_scaled(desired, observed, commit, &autoscale::Decided::new())
}

/// Like [`plan_best_effort`], with the replica counts `fleet watch` decided for autoscaled
/// services (the others read theirs back from the hosts: see [`autoscale::settle`]).
pub fn plan_scaled(
    desired: &Desired,
    observed: &Observed,
    commit: Option<&str>,
    decided: &autoscale::Decided,
) -> (Plan, Vec<PlanError>) {
    // A saved plan is checked against the desired state as git has it, before any count settles.
    let fingerprint = desired_fingerprint(desired);
    let (settled, autoscaled) = autoscale::settle(desired, observed, decided);
    let desired = settled.as_ref();
    let (placement, unplaceable) = place::place(desired, observed);
    let mut changes = Vec::new();
    // Hashing and serialising specs dominates planning time: do it once per service, and parse
    // each distinct running spec once.
    let hashes: BTreeMap<&str, String> = desired
        .services
        .iter()
        .map(|(n, s)| (n.as_str(), spec_hash(s)))
        .collect();
    let mut specs: BTreeMap<&str, Value> = BTreeMap::new();
    let mut running_specs: BTreeMap<&str, Value> = BTreeMap::new();

    for kept in &placement.kept {
        let service = &desired.services[&kept.service];
        let hash = hashes[kept.service.as_str()].clone();
        let Owner::Replica {
            spec_hash: running_hash,
            spec: running_spec,
            ..
        } = &kept.container.owner
        else {
            continue;
        };
        let name = container_name(&desired.project, &kept.service, kept.slot, &hash);
        let base = Change {
            host: kept.host.clone(),
            service: Some(kept.service.clone()),
            slot: Some(kept.slot),
            action: Action::Keep,
            container: Some(reference(&kept.container)),
            create: None,
            diff: Vec::new(),
            reason: String::new(),
        };
        let change = if *running_hash != hash {
            let before = running_specs
                .entry(running_hash.as_str())
                .or_insert_with(|| {
                    running_spec
                        .as_deref()
                        .and_then(|s| serde_json::from_str::<Value>(s).ok())
                        .unwrap_or(Value::Null)
                });
            let after = specs
                .entry(kept.service.as_str())
                .or_insert_with(|| container_spec(service));
            let diff = field_diff(before, after);
            let reason = if diff.is_empty() {
                "the spec changed".to_string()
            } else {
                format!(
                    "changed: {}",
                    diff.iter()
                        .map(|d| changed_field(&d.field))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            Change {
                action: Action::Replace,
                create: Some(NewContainer {
                    name,
                    spec_hash: hash,
                    spec: service.clone(),
                }),
                diff,
                reason,
                ..base
            }
        } else {
            match kept.container.state {
                RunState::Running
                    if kept.container.health == Some(Health::Unhealthy)
                        && service.replace_unhealthy =>
                {
                    // Another name than the unhealthy one's, so that the new replica can run
                    // beside it until it is good (start-first), as any replacement.
                    let name = if kept.container.name == name {
                        format!("{name}-r")
                    } else {
                        name
                    };
                    Change {
                        action: Action::Replace,
                        create: Some(NewContainer {
                            name,
                            spec_hash: hash,
                            spec: service.clone(),
                        }),
                        reason: "unhealthy: its health check fails".into(),
                        ..base
                    }
                }
                RunState::Running | RunState::Restarting => Change {
                    reason: "up to date".into(),
                    ..base
                },
                RunState::Dead | RunState::Removing => Change {
                    action: Action::Replace,
                    create: Some(NewContainer {
                        name,
                        spec_hash: hash,
                        spec: service.clone(),
                    }),
                    reason: format!("container is {:?}", kept.container.state).to_lowercase(),
                    ..base
                },
                state => Change {
                    action: Action::Start,
                    reason: format!("container is {state:?}").to_lowercase(),
                    ..base
                },
            }
        };
        changes.push(change);
    }

    for created in &placement.created {
        let service = &desired.services[&created.service];
        let hash = hashes[created.service.as_str()].clone();
        changes.push(Change {
            host: created.host.clone(),
            service: Some(created.service.clone()),
            slot: Some(created.slot),
            action: Action::Create,
            container: None,
            create: Some(NewContainer {
                name: container_name(&desired.project, &created.service, created.slot, &hash),
                spec_hash: hash,
                spec: service.clone(),
            }),
            diff: Vec::new(),
            reason: created.reason.clone(),
        });
    }

    for removed in &placement.removed {
        let (service, slot) = match &removed.container.owner {
            Owner::Replica { service, slot, .. } => (Some(service.clone()), Some(*slot)),
            Owner::Malformed { .. } => (None, None),
        };
        changes.push(Change {
            host: removed.host.clone(),
            service,
            slot,
            action: Action::Remove,
            container: Some(reference(&removed.container)),
            create: None,
            diff: Vec::new(),
            reason: removed.reason.clone(),
        });
    }

    changes.sort_by(|a, b| {
        (
            &a.service,
            &a.host,
            a.slot,
            a.action,
            a.container.as_ref().map(|c| &c.name),
        )
            .cmp(&(
                &b.service,
                &b.host,
                b.slot,
                b.action,
                b.container.as_ref().map(|c| &c.name),
            ))
    });
    let unreachable = observed
        .hosts
        .iter()
        .filter_map(|(host, state)| match state {
            HostState::Unreachable { reason } => Some(Unreachable {
                host: host.clone(),
                reason: reason.clone(),
            }),
            HostState::Down { reason } => Some(Unreachable {
                host: host.clone(),
                reason: format!("down ({reason}); its replicas are placed elsewhere"),
            }),
            HostState::Reachable { .. } => None,
        })
        .collect();
    let rotation = balancer::rotation(desired, observed);
    let balancers = plan_balancers(desired, observed, &rotation);
    let data_dirs = data_dirs(desired, &changes);
    let stale_secrets = stale_secrets(desired, observed, &changes);
    let plan = Plan {
        format_version: FORMAT_VERSION,
        project: desired.project.clone(),
        commit: commit.map(str::to_string),
        observed: observed.fingerprint(),
        desired: fingerprint,
        changes,
        unreachable,
        held_back: placement.held_back,
        balancers,
        rotation,
        data_dirs,
        stale_secrets,
        autoscaled,
        ships: Vec::new(),
    };
    (plan, unplaceable)
}

/// The secret sets that replaced and removed containers leave behind unused.
fn stale_secrets(desired: &Desired, observed: &Observed, changes: &[Change]) -> Vec<StaleSecrets> {
    let container = |host: &str, id: &str| -> Option<Container> {
        match observed.hosts.get(host)? {
            HostState::Reachable { containers } => containers.iter().find(|c| c.id == id).cloned(),
            _ => None,
        }
    };
    // The secrets of a running container: its service and (directory, files).
    let secrets_of = |host: &str, id: &str| -> Option<(String, String, Vec<String>, String)> {
        let c = container(host, id)?;
        let Owner::Replica {
            service,
            spec: Some(spec),
            ..
        } = &c.owner
        else {
            return None;
        };
        let spec: Value = serde_json::from_str(spec).ok()?;
        let (dir, files) = contract::secrets_of_spec(desired, service, &spec)?;
        Some((service.clone(), dir, files, c.image_id.clone()))
    };
    let mut in_use: BTreeSet<(String, String)> = BTreeSet::new();
    let mut given_up = Vec::new();
    for c in changes {
        match c.action {
            Action::Create | Action::Replace => {
                if let (Some(new), Some(service)) = (&c.create, &c.service) {
                    let kind = contract::Shipped::Secrets;
                    if let Some(dir) =
                        contract::files_dir(desired, &c.host, service, &new.spec, kind)
                    {
                        in_use.insert((c.host.clone(), dir));
                    }
                }
            }
            Action::Keep | Action::Start => {
                if let Some((_, dir, _, _)) = c
                    .container
                    .as_ref()
                    .and_then(|r| secrets_of(&c.host, &r.id))
                {
                    in_use.insert((c.host.clone(), dir));
                }
            }
            Action::Remove => {}
        }
        if matches!(c.action, Action::Replace | Action::Remove) {
            if let Some(old) = c
                .container
                .as_ref()
                .and_then(|r| secrets_of(&c.host, &r.id))
            {
                given_up.push((c.host.clone(), old));
            }
        }
    }
    let mut out: Vec<StaleSecrets> = Vec::new();
    for (host, (service, dir, files, image)) in given_up {
        if in_use.contains(&(host.clone(), dir.clone()))
            || out.iter().any(|s| s.host == host && s.dir == dir)
        {
            continue;
        }
        out.push(StaleSecrets {
            host,
            service,
            dir,
            files,
            image,
        });
    }
    out
}

/// The data directories the containers to create mount, by host and path.
fn data_dirs(desired: &Desired, changes: &[Change]) -> Vec<DataDirUse> {
    let mut uses: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for change in changes {
        let (Some(new), Some(service)) = (&change.create, &change.service) else {
            continue;
        };
        for mount in &new.spec.volumes {
            if let Mount::DataDir { source, .. } = mount {
                let path = desired.data_path(&change.host, source);
                uses.entry((change.host.clone(), path))
                    .or_default()
                    .insert(service.clone());
            }
        }
    }
    uses.into_iter()
        .map(|((host, path), services)| DataDirUse {
            host,
            path,
            services: services.into_iter().collect(),
        })
        .collect()
}

/// One balancer per reachable ingress host, of the current image, running the configuration
/// for `rotation`; balancers anywhere else are removed.
fn plan_balancers(
    desired: &Desired,
    observed: &Observed,
    rotation: &Rotation,
) -> Vec<BalancerChange> {
    let ingress = desired.ingress_hosts();
    let config = balancer::render(desired, rotation);
    let hash = contract::balancer_spec_hash(desired);
    let name = contract::balancer_container_name(&desired.project);
    let mut out = Vec::new();
    for (host, state) in &observed.hosts {
        if !matches!(state, HostState::Reachable { .. }) {
            continue;
        }
        let mut found: Vec<&ObservedBalancer> =
            observed.balancers.get(host).into_iter().flatten().collect();
        let change = |action, b: Option<&ObservedBalancer>, reason: String| {
            let served = b
                .and_then(|b| b.config.as_deref())
                .map(balancer::read_certificates)
                .unwrap_or_default();
            let wanted: BTreeSet<&str> = desired
                .certificates
                .values()
                .map(|c| c.id.as_str())
                .collect();
            let retired: BTreeSet<String> = served
                .values()
                .map(|c| c.id.clone())
                .filter(|id| !wanted.contains(id.as_str()))
                .collect();
            BalancerChange {
                host: host.clone(),
                action,
                container: b.map(|b| ContainerRef {
                    id: b.id.clone(),
                    name: b.name.clone(),
                }),
                added: Vec::new(),
                removed: Vec::new(),
                certificates: certificate_changes(served, &desired.certificates),
                retired_certificates: retired.into_iter().collect(),
                reason,
            }
        };
        if !ingress.contains(&host.as_str()) {
            let why = if desired.exposed().next().is_none() {
                "no service is exposed"
            } else {
                "not an ingress host (balancer.hosts)"
            };
            out.extend(
                found
                    .iter()
                    .map(|b| change(BalancerAction::Remove, Some(b), why.into())),
            );
            continue;
        }
        // The one to keep: the current spec, running, under the usual name; the rest go.
        found.sort_by_key(|b| {
            (
                b.spec_hash != hash,
                b.state != RunState::Running,
                b.name != name,
            )
        });
        let mut found = found.into_iter();
        let current = found.next();
        out.extend(
            found.map(|b| change(BalancerAction::Remove, Some(b), "a second balancer".into())),
        );
        let Some(b) = current else {
            let mut c = change(
                BalancerAction::Create,
                None,
                "ingress host without a balancer".into(),
            );
            (c.added, c.removed) = balancer::rotation_diff(&Rotation::new(), rotation);
            out.push(c);
            continue;
        };
        let c = if b.spec_hash != hash {
            change(
                BalancerAction::Replace,
                Some(b),
                format!("the balancer image is now {}", desired.balancer.image),
            )
        } else if matches!(b.state, RunState::Dead | RunState::Removing) {
            change(
                BalancerAction::Replace,
                Some(b),
                format!("container is {:?}", b.state).to_lowercase(),
            )
        } else if b.state != RunState::Running {
            change(
                BalancerAction::Start,
                Some(b),
                format!("container is {:?}", b.state).to_lowercase(),
            )
        } else if b.config.as_deref() != Some(config.as_str()) {
            let before = b
                .config
                .as_deref()
                .and_then(balancer::read_rotation)
                .unwrap_or_default();
            let mut c = change(BalancerAction::Reload, Some(b), String::new());
            (c.added, c.removed) = balancer::rotation_diff(&before, rotation);
            c.reason = if !(c.added.is_empty() && c.removed.is_empty()) {
                "the replicas in rotation changed".into()
            } else if !c.certificates.is_empty() {
                "a certificate changed".into()
            } else {
                "the configuration changed".into()
            };
            c
        } else {
            change(BalancerAction::Keep, Some(b), "up to date".into())
        };
        out.push(c);
    }
    out
}

/// The certificates of `wanted` that a balancer serving `served` does not serve yet, one line
/// each: what it is and what it replaces.
fn certificate_changes(
    served: BTreeMap<String, CertificateSummary>,
    wanted: &BTreeMap<String, CertificateSummary>,
) -> Vec<String> {
    let describe = |c: &CertificateSummary| {
        format!(
            "serial {}, {}, valid until {}",
            c.serial,
            c.names.join(" "),
            crate::clock::rfc3339(u64::try_from(c.not_after).unwrap_or_default())
        )
    };
    wanted
        .iter()
        .filter(|(service, c)| served.get(*service).map(|s| &s.id) != Some(&c.id))
        .map(|(service, c)| match served.get(service) {
            Some(old) => format!("{service}: {} (was {})", describe(c), describe(old)),
            None => format!("{service}: {}", describe(c)),
        })
        .collect()
}

#[cfg(test)]
mod tests;
