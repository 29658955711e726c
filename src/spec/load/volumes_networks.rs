//! The project's named volumes and networks, declared at the top level of fleet.yaml or of an
//! included compose file. The same name may be declared in several files when the declarations
//! agree; references to them from services are checked in `cross_check`.

use std::collections::BTreeMap;

use super::{NAME_EXPECTED, State, valid_name};
use crate::spec::decode::{Cx, join};
use crate::spec::model::{Ipam, IpamPool, Network, Volume};
use crate::spec::service::labels_of;
use crate::spec::yaml::{Node, Pos};

pub const VOLUME_KEYS: &[&str] = &["driver", "driver_opts", "labels", "external", "name"];

pub const NETWORK_KEYS: &[&str] = &[
    "driver",
    "driver_opts",
    "labels",
    "external",
    "internal",
    "name",
    "ipam",
];

fn string_map(cx: &mut Cx, field: &str, node: &Node) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, _, v) in cx
        .map(field, node, "a mapping of option to value")
        .unwrap_or_default()
    {
        if let Some(text) = cx.text(&join(field, k), v, "a string") {
            out.insert(k.to_string(), text);
        }
    }
    out
}

pub(super) fn decode_volumes(cx: &mut Cx, node: &Node, state: &mut State) {
    if node.is_null() {
        return;
    }
    let Some(entries) = cx.map("volumes", node, "a mapping of volume name to options") else {
        return;
    };
    for (name, key, value) in entries {
        let field = join("volumes", name);
        if !valid_name(name) {
            cx.error(
                key.pos,
                &field,
                format!("`{name}` is not a valid volume name"),
                NAME_EXPECTED,
            );
            continue;
        }
        let mut volume = Volume::default();
        if !value.is_null() {
            for (k, kn, v) in cx
                .map(&field, value, "a mapping of volume options")
                .unwrap_or_default()
            {
                let f = join(&field, k);
                match k {
                    "driver" => volume.driver = cx.string(&f, v),
                    "driver_opts" => volume.driver_opts = string_map(cx, &f, v),
                    "labels" => volume.labels = labels_of(cx, &f, v, true),
                    "external" => volume.external = cx.bool(&f, v).unwrap_or(false),
                    "name" => volume.name = cx.string(&f, v),
                    k if k.starts_with("x-") => {}
                    _ => cx.unknown_key(kn, &f, k, VOLUME_KEYS),
                }
            }
        }
        merge_named(cx, "volume", name, key.pos, volume, &mut state.volumes);
    }
}

pub(super) fn decode_networks(cx: &mut Cx, node: &Node, state: &mut State) {
    if node.is_null() {
        return;
    }
    let Some(entries) = cx.map("networks", node, "a mapping of network name to options") else {
        return;
    };
    for (name, key, value) in entries {
        let field = join("networks", name);
        if !valid_name(name) {
            cx.error(
                key.pos,
                &field,
                format!("`{name}` is not a valid network name"),
                NAME_EXPECTED,
            );
            continue;
        }
        let mut network = Network::default();
        if !value.is_null() {
            for (k, kn, v) in cx
                .map(&field, value, "a mapping of network options")
                .unwrap_or_default()
            {
                let f = join(&field, k);
                match k {
                    "driver" => network.driver = cx.string(&f, v),
                    "driver_opts" => network.driver_opts = string_map(cx, &f, v),
                    "labels" => network.labels = labels_of(cx, &f, v, true),
                    "external" => network.external = cx.bool(&f, v).unwrap_or(false),
                    "internal" => network.internal = cx.bool(&f, v).unwrap_or(false),
                    "name" => network.name = cx.string(&f, v),
                    "ipam" => network.ipam = ipam(cx, &f, v),
                    k if k.starts_with("x-") => {}
                    _ => crate::spec::service::refuse_nested_key(
                        cx,
                        "network",
                        kn,
                        &f,
                        k,
                        NETWORK_KEYS,
                    ),
                }
            }
        }
        merge_named(cx, "network", name, key.pos, network, &mut state.networks);
    }
}

pub const IPAM_KEYS: &[&str] = &["driver", "config", "options"];
pub const IPAM_POOL_KEYS: &[&str] = &["subnet", "ip_range", "gateway", "aux_addresses"];

/// A network's `ipam`: driver, options and pools, with every address checked.
fn ipam(cx: &mut Cx, field: &str, node: &Node) -> Option<Ipam> {
    let mut out = Ipam::default();
    for (k, kn, v) in cx.map(field, node, "a mapping with driver, config and options")? {
        let f = join(field, k);
        match k {
            "driver" => out.driver = cx.string(&f, v),
            "options" => out.options = string_map(cx, &f, v),
            "config" => {
                for (i, item) in cx
                    .seq(&f, v, "a list of pools")
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let pf = crate::spec::decode::index(&f, i);
                    let mut pool = IpamPool::default();
                    for (pk, pkn, pv) in cx
                        .map(&pf, item, "a pool with subnet, ip_range, gateway")
                        .unwrap_or_default()
                    {
                        let kf = join(&pf, pk);
                        match pk {
                            "subnet" => {
                                pool.subnet =
                                    cx.string(&kf, pv).filter(|t| cidr(cx, &kf, pv.pos, t))
                            }
                            "ip_range" => {
                                pool.ip_range =
                                    cx.string(&kf, pv).filter(|t| cidr(cx, &kf, pv.pos, t))
                            }
                            "gateway" => {
                                pool.gateway =
                                    cx.string(&kf, pv).filter(|t| address(cx, &kf, pv.pos, t))
                            }
                            "aux_addresses" => pool.aux_addresses = string_map(cx, &kf, pv),
                            _ if pk.starts_with("x-") => {}
                            _ => cx.unknown_key(pkn, &kf, pk, IPAM_POOL_KEYS),
                        }
                    }
                    out.config.push(pool);
                }
            }
            _ if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, IPAM_KEYS),
        }
    }
    Some(out)
}

fn address(cx: &mut Cx, field: &str, pos: Pos, text: &str) -> bool {
    let ok = text.parse::<std::net::IpAddr>().is_ok();
    if !ok {
        cx.error(
            pos,
            field,
            format!("`{text}` is not an IP address"),
            "an address such as 172.28.0.1",
        );
    }
    ok
}

fn cidr(cx: &mut Cx, field: &str, pos: Pos, text: &str) -> bool {
    let ok = text.split_once('/').is_some_and(|(ip, bits)| {
        let max = if ip.contains(':') { 128 } else { 32 };
        ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= max)
    });
    if !ok {
        cx.error(
            pos,
            field,
            format!("`{text}` is not a subnet"),
            "an address and prefix length, such as 172.28.0.0/16",
        );
    }
    ok
}

/// Several compose files may declare the same volume or network; that is fine when they agree.
fn merge_named<T: PartialEq>(
    cx: &mut Cx,
    what: &str,
    name: &str,
    pos: Pos,
    value: T,
    into: &mut BTreeMap<String, (T, String, Pos)>,
) {
    match into.get(name) {
        Some((existing, _, _)) if *existing == value => {}
        Some((_, file, first)) => {
            let hint = format!(
                "it is first declared at {file}:{}; make the two the same or rename one",
                first.line
            );
            cx.error_hint(
                pos,
                &format!("{what}s.{name}"),
                format!("{what} `{name}` is declared twice with different settings"),
                "one declaration",
                hint,
            );
        }
        None => {
            into.insert(name.to_string(), (value, cx.file.clone(), pos));
        }
    }
}
