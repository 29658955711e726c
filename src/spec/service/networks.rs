//! A service's place on the network: `networks` (a list, or a mapping with `aliases`),
//! `extra_hosts` and `hostname`. Network names are collected for the loader, which checks they
//! are declared.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::string_list;
use crate::spec::decode::{Cx, index, join};
use crate::spec::model::ServiceNetwork;
use crate::spec::yaml::{Kind, Node, Pos};

pub const SERVICE_NETWORK_KEYS: &[&str] = &["aliases", "ipv4_address", "ipv6_address"];

pub(super) fn networks(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    refs: &mut Vec<(String, Pos, String)>,
) -> BTreeMap<String, ServiceNetwork> {
    let mut out = BTreeMap::new();
    match &node.kind {
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                if let Some(name) = cx.string(&f, item) {
                    refs.push((name.clone(), item.pos, f));
                    out.insert(name, ServiceNetwork::default());
                }
            }
        }
        Kind::Map(_) => {
            for (name, key, value) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, name);
                refs.push((name.to_string(), key.pos, f.clone()));
                let mut net = ServiceNetwork::default();
                if !value.is_null() {
                    for (k, kn, v) in cx
                        .map(&f, value, "a mapping with `aliases`")
                        .unwrap_or_default()
                    {
                        match k {
                            "aliases" => net.aliases = string_list(cx, &join(&f, k), v),
                            "ipv4_address" => {
                                net.ipv4_address = fixed_address(
                                    cx,
                                    &join(&f, k),
                                    v,
                                    "an IPv4 address such as 172.28.0.10",
                                )
                            }
                            "ipv6_address" => {
                                net.ipv6_address = fixed_address(
                                    cx,
                                    &join(&f, k),
                                    v,
                                    "an IPv6 address such as fd00::10",
                                )
                            }
                            _ => {
                                if !k.starts_with("x-") {
                                    super::refuse_nested_key(
                                        cx,
                                        "service_network",
                                        kn,
                                        &join(&f, k),
                                        k,
                                        SERVICE_NETWORK_KEYS,
                                    );
                                }
                            }
                        }
                    }
                }
                out.insert(name.to_string(), net);
            }
        }
        _ => cx.error(
            node.pos,
            field,
            format!("found {}", node.type_name()),
            "a list of network names, or a mapping of network name to options",
        ),
    }
    out
}

fn fixed_address<T: std::str::FromStr>(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    expected: &str,
) -> Option<T> {
    let text = cx.string(field, node)?;
    match text.parse() {
        Ok(address) => Some(address),
        Err(_) => {
            cx.error(
                node.pos,
                field,
                format!("`{text}` is not an address"),
                expected,
            );
            None
        }
    }
}

pub(super) fn extra_hosts(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    match &node.kind {
        Kind::Map(_) => {
            for (host, _, v) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, host);
                if let Some(ip) = cx.string(&f, v) {
                    if ip.parse::<IpAddr>().is_ok() || ip == "host-gateway" {
                        out.push(format!("{host}:{ip}"));
                    } else {
                        cx.error(
                            v.pos,
                            &f,
                            format!("`{ip}` is not an IP address"),
                            "an IP address or host-gateway",
                        );
                    }
                }
            }
        }
        _ => {
            for (i, item) in cx
                .seq(field, node, "a list of HOST:IP, or a mapping of host to IP")
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let f = index(field, i);
                let Some(entry) = cx.string(&f, item) else {
                    continue;
                };
                let split = entry.split_once('=').or_else(|| entry.split_once(':'));
                match split {
                    Some((host, ip))
                        if !host.is_empty()
                            && (ip.parse::<IpAddr>().is_ok() || ip == "host-gateway") =>
                    {
                        out.push(format!("{host}:{ip}"));
                    }
                    _ => cx.error(
                        item.pos,
                        &f,
                        format!("`{entry}` is not HOST:IP"),
                        "HOST:IP, e.g. db.internal:10.0.0.5",
                    ),
                }
            }
        }
    }
    out
}

pub(super) fn hostname(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
    let name = cx.string(field, node)?;
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
        });
    if valid {
        Some(name)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{name}` is not a host name"),
            "letters, digits, `-` and `.`",
        );
        None
    }
}
