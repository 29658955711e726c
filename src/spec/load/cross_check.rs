//! Checks that need every service and host, run once all files are decoded: references to
//! volumes, networks and services, dependency cycles, and placement that cannot work whatever
//! the hosts run.

use std::collections::{BTreeMap, BTreeSet};

use super::{ServiceEntry, State};
use crate::spec::decode::{Cx, index};
use crate::spec::diag::{Diagnostics, did_you_mean};
use crate::spec::model::{ConstraintOp, ConstraintSubject, Host, Mode, Service};

/// Checks that need every service and host: references, dependency cycles and placement that
/// cannot work whatever the hosts run.
pub(super) fn cross_check(diags: &mut Diagnostics, hosts: &BTreeMap<String, Host>, state: &State) {
    let all_labels: BTreeSet<&str> = hosts
        .values()
        .flat_map(|h| h.labels.keys().map(String::as_str))
        .collect();
    for (name, entry) in &state.services {
        let mut cx = Cx::new(entry.file.clone(), diags);
        let d = &entry.decoded;
        for (volume, pos, field) in &d.volume_refs {
            if !state.volumes.contains_key(volume) {
                let hint = did_you_mean(volume, state.volumes.keys().map(String::as_str))
                    .map(|v| format!("did you mean `{v}`?"))
                    .unwrap_or_else(|| format!("declare it under the top-level `volumes:` (`volumes: {{ {volume}: {{}} }}`)"));
                cx.error_hint(
                    *pos,
                    field,
                    format!("volume `{volume}` is not declared"),
                    "a volume declared under the top-level `volumes`",
                    hint,
                );
            }
        }
        for (network, pos, field) in &d.network_refs {
            if network != "default" && !state.networks.contains_key(network) {
                let hint = did_you_mean(network, state.networks.keys().map(String::as_str))
                    .map(|v| format!("did you mean `{v}`?"))
                    .unwrap_or_else(|| "declare it under the top-level `networks:`".into());
                cx.error_hint(
                    *pos,
                    field,
                    format!("network `{network}` is not declared"),
                    "a network declared under the top-level `networks`, or `default`",
                    hint,
                );
            }
        }
        for (network, pos, field) in &d.network_refs {
            let Some(attached) = d.service.networks.get(network) else {
                continue;
            };
            let Some((declared, _, _)) = state.networks.get(network) else {
                continue;
            };
            let fixed: Vec<std::net::IpAddr> = attached
                .ipv4_address
                .map(std::net::IpAddr::from)
                .into_iter()
                .chain(attached.ipv6_address.map(std::net::IpAddr::from))
                .collect();
            if declared.external {
                continue;
            }
            let subnets: Vec<&str> = declared
                .ipam
                .iter()
                .flat_map(|i| &i.config)
                .filter_map(|p| p.subnet.as_deref())
                .collect();
            for address in fixed {
                if !subnets.iter().any(|s| in_subnet(address, s)) {
                    cx.error_hint(
                        *pos,
                        field,
                        format!("`{address}` is in no subnet of network `{network}`"),
                        "an address inside a subnet given under the network's `ipam.config`",
                        if subnets.is_empty() {
                            format!("the engine only gives fixed addresses on a network with a subnet: add `ipam: {{ config: [{{ subnet: ... }}] }}` to network `{network}`")
                        } else {
                            format!("subnets of `{network}`: {}", subnets.join(", "))
                        },
                    );
                }
            }
        }
        for (source, pos, field) in &d.file_refs {
            let (kind, declared) = if field.contains(".secrets[")
                || field.contains(".env_from_secrets.")
                || field.contains(".expose.tls.")
            {
                ("secret", &state.secrets)
            } else {
                ("config", &state.configs)
            };
            if !declared.contains_key(source) {
                let hint = did_you_mean(source, declared.keys().map(String::as_str))
                    .map(|v| format!("did you mean `{v}`?"))
                    .unwrap_or_else(|| {
                        format!("declare it under the top-level `{kind}s:` (`{source}: {{ file: ./path }}`)")
                    });
                cx.error_hint(
                    *pos,
                    field,
                    format!("{kind} `{source}` is not declared"),
                    &format!("a {kind} declared under the top-level `{kind}s`"),
                    hint,
                );
            }
        }
        for (dep, pos, field) in &d.depends_refs {
            if dep == name {
                cx.error(
                    *pos,
                    field,
                    format!("service `{name}` depends on itself"),
                    "another service",
                );
            } else if !state.services.contains_key(dep) {
                let hint = did_you_mean(dep, state.services.keys().map(String::as_str))
                    .map(|v| format!("did you mean `{v}`?"));
                cx.report(
                    crate::spec::diag::Severity::Error,
                    *pos,
                    field,
                    format!("service `{dep}` does not exist"),
                    Some("the name of a service".into()),
                    hint,
                );
            }
        }
        check_placement(&mut cx, name, entry, hosts, &all_labels);
    }
    report_dependency_cycles(diags, state);
}

fn check_placement(
    cx: &mut Cx,
    name: &str,
    entry: &ServiceEntry,
    hosts: &BTreeMap<String, Host>,
    all_labels: &BTreeSet<&str>,
) {
    let d = &entry.decoded;
    let service: &Service = &d.service;
    let placement = &service.deploy.placement;
    let field = format!("services.{name}.deploy.placement.constraints");
    for (i, (constraint, pos)) in placement
        .constraints
        .iter()
        .zip(&d.constraint_pos)
        .enumerate()
    {
        let f = index(&field, i);
        match &constraint.subject {
            ConstraintSubject::Label(key) if !all_labels.contains(key.as_str()) => cx.warning(
                *pos,
                &f,
                format!("no host has the label `{key}`"),
                did_you_mean(key, all_labels.iter().copied())
                    .map(|k| format!("did you mean `node.labels.{k}`?")),
            ),
            ConstraintSubject::Label(key) if constraint.op == ConstraintOp::Eq => {
                let values: BTreeSet<&str> = hosts
                    .values()
                    .filter_map(|h| h.labels.get(key).map(String::as_str))
                    .collect();
                if !values.contains(constraint.value.as_str()) {
                    let listed = values.iter().copied().collect::<Vec<_>>().join(", ");
                    cx.warning(
                        *pos,
                        &f,
                        format!(
                            "no host has the label `{key}` with value `{}` (hosts have: {listed})",
                            constraint.value
                        ),
                        did_you_mean(&constraint.value, values.iter().copied())
                            .map(|v| format!("did you mean `{v}`?")),
                    );
                }
            }
            ConstraintSubject::Hostname if !hosts.contains_key(&constraint.value) => cx.warning(
                *pos,
                &f,
                format!("no host is named `{}`", constraint.value),
                did_you_mean(&constraint.value, hosts.keys().map(String::as_str))
                    .map(|h| format!("did you mean `{h}`?")),
            ),
            _ => {}
        }
    }
    for key in &placement.spread {
        if !all_labels.contains(key.as_str()) {
            cx.warning(
                d.replicas_pos,
                &format!("services.{name}.deploy.placement.preferences"),
                format!("no host has the label `{key}` to spread over"),
                None,
            );
        }
    }
    let eligible = hosts
        .iter()
        .filter(|(host, h)| {
            placement
                .constraints
                .iter()
                .all(|c| c.matches(host, &h.labels))
        })
        .count() as u64;
    let replicas_field = format!("services.{name}.deploy.replicas");
    if service.deploy.mode == Mode::Global {
        if eligible == 0 {
            cx.warning(
                d.replicas_pos,
                &field,
                format!(
                    "no host satisfies the constraints, so global service `{name}` runs nowhere"
                ),
                None,
            );
        }
        return;
    }
    let replicas = u64::from(service.deploy.replicas);
    if replicas == 0 {
        return;
    }
    if eligible == 0 {
        cx.error_hint(
            d.replicas_pos,
            &replicas_field,
            format!("no host satisfies the placement constraints of `{name}`"),
            "constraints that at least one host satisfies",
            format!(
                "hosts: {}",
                hosts.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
        return;
    }
    if let Some(max) = placement.max_replicas_per_node {
        let capacity = eligible * u64::from(max);
        if replicas > capacity {
            cx.error_hint(
                d.replicas_pos,
                &replicas_field,
                format!("{replicas} replicas cannot be placed: {eligible} eligible host(s) × max_replicas_per_node {max} = {capacity}"),
                format!("at most {capacity} replicas").as_str(),
                "add hosts, relax the constraints, or raise max_replicas_per_node",
            );
            return;
        }
    }
    if service.has_fixed_address() && replicas > eligible {
        cx.error_hint(
            d.replicas_pos,
            &replicas_field,
            format!(
                "{replicas} replicas cannot each hold their fixed network address: only {eligible} eligible host(s), and an address fits one replica per host"
            ),
            format!("at most {eligible} replicas").as_str(),
            "drop `ipv4_address`/`ipv6_address` to let the engine pick, or add hosts",
        );
        return;
    }
    if let Some(port) = service.ports.iter().find(|p| p.published.is_some()) {
        if replicas > eligible {
            cx.error_hint(
                d.replicas_pos,
                &replicas_field,
                format!(
                    "{replicas} replicas cannot each bind host port {}: only {eligible} eligible host(s), and a fixed host port fits one replica per host",
                    port.published.unwrap_or_default()
                ),
                format!("at most {eligible} replicas").as_str(),
                "drop the host port to let the engine pick one per replica, or add hosts",
            );
        }
    }
}

fn report_dependency_cycles(diags: &mut Diagnostics, state: &State) {
    // Depth-first search; each cycle is reported once, at the service that closes it.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in state.services.keys() {
        let mut path: Vec<&str> = Vec::new();
        visit(start, state, &mut path, &mut done, diags);
    }

    fn visit<'a>(
        name: &'a str,
        state: &'a State,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        diags: &mut Diagnostics,
    ) {
        if done.contains(name) {
            return;
        }
        if let Some(i) = path.iter().position(|p| *p == name) {
            let cycle: Vec<&str> = path[i..].iter().copied().chain([name]).collect();
            let last = path[path.len() - 1];
            if let Some(entry) = state.services.get(last) {
                let (pos, field) = entry
                    .decoded
                    .depends_refs
                    .iter()
                    .find(|(dep, _, _)| dep == name)
                    .map(|(_, p, f)| (*p, f.clone()))
                    .unwrap_or((entry.name_pos, format!("services.{last}.depends_on")));
                Cx::new(entry.file.clone(), diags).error(
                    pos,
                    &field,
                    format!("dependency cycle: {}", cycle.join(" -> ")),
                    "dependencies without cycles",
                );
            }
            return;
        }
        let Some(entry) = state.services.get(name) else {
            return;
        };
        path.push(name);
        for dep in entry.decoded.service.depends_on.keys() {
            visit(dep, state, path, done, diags);
        }
        path.pop();
        done.insert(name);
    }
}

/// Whether `address` is inside `subnet` (`a.b.c.d/n` or an IPv6 prefix), both already checked.
fn in_subnet(address: std::net::IpAddr, subnet: &str) -> bool {
    use std::net::IpAddr;
    let Some((base, bits)) = subnet.split_once('/') else {
        return false;
    };
    let (Ok(base), Ok(bits)) = (base.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    let (a, b, width) = match (address, base) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    (a & mask) == (b & mask)
}
