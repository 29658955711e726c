//! `balancer:` in fleet.yaml: the balancer image and the ingress hosts, checked against the
//! declared hosts; and the one rule across exposed services, that no two share a balancer port.

use std::collections::BTreeMap;

use super::{ROOT_FILE, State};
use crate::spec::decode::{Cx, join};
use crate::spec::diag::{Diagnostics, did_you_mean};
use crate::spec::model::{BalancerSettings, Host};
use crate::spec::yaml::{Node, Pos};

pub const BALANCER_KEYS: &[&str] = &["image", "hosts"];

/// `balancer:` as written, with the position of each ingress host name for later checks.
pub(super) struct BalancerDecl {
    image: Option<String>,
    hosts: Option<(Vec<(String, Pos)>, Pos)>,
}

pub(super) fn decode_balancer(cx: &mut Cx, node: &Node) -> Option<BalancerDecl> {
    if node.is_null() {
        return None;
    }
    let mut decl = BalancerDecl {
        image: None,
        hosts: None,
    };
    for (k, kn, v) in cx.map("balancer", node, "a mapping with `image` and `hosts`")? {
        let f = join("balancer", k);
        match k {
            "image" => {
                decl.image = cx.string(&f, v).filter(|i| {
                    let valid = !i.is_empty() && !i.chars().any(|c| c.is_whitespace() || c == '$');
                    if !valid {
                        cx.error(
                            v.pos,
                            &f,
                            "not an image reference",
                            "an image such as haproxy:3.2",
                        );
                    }
                    valid
                })
            }
            "hosts" => {
                let mut hosts = Vec::new();
                for item in cx.seq(&f, v, "a list of host names").unwrap_or_default() {
                    if let Some(name) = cx.string(&f, item) {
                        hosts.push((name, item.pos));
                    }
                }
                decl.hosts = Some((hosts, v.pos));
            }
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, BALANCER_KEYS),
        }
    }
    Some(decl)
}

/// Ingress hosts must exist and be listed once; two exposed services may not share a balancer
/// port.
pub(super) fn check_balancer(
    diags: &mut Diagnostics,
    hosts: &BTreeMap<String, Host>,
    state: &State,
    decl: Option<BalancerDecl>,
) -> BalancerSettings {
    let mut settings = BalancerSettings::default();
    let mut cx = Cx::new(ROOT_FILE, diags);
    if let Some(decl) = decl {
        if let Some(image) = decl.image {
            settings.image = image;
        }
        if let Some((list, list_pos)) = decl.hosts {
            let mut names: Vec<String> = Vec::new();
            for (name, pos) in list {
                if !hosts.contains_key(&name) {
                    let hint = did_you_mean(&name, hosts.keys().map(String::as_str))
                        .map(|h| format!("did you mean `{h}`?"))
                        .unwrap_or_else(|| "list hosts declared under `hosts:`".into());
                    cx.error_hint(
                        pos,
                        "balancer.hosts",
                        format!("unknown host `{name}`"),
                        "a host declared under `hosts:`",
                        hint,
                    );
                } else if names.contains(&name) {
                    cx.error(
                        pos,
                        "balancer.hosts",
                        format!("`{name}` is listed twice"),
                        "each host once",
                    );
                } else {
                    names.push(name);
                }
            }
            if names.is_empty() {
                cx.error_hint(
                    list_pos,
                    "balancer.hosts",
                    "no ingress host",
                    "at least one host name",
                    "remove `hosts` to run a balancer on every host",
                );
            }
            settings.hosts = Some(names);
        }
    }
    drop(cx);
    let mut taken: BTreeMap<u16, (&str, &str, Pos)> = BTreeMap::new();
    for (name, entry) in &state.services {
        let (Some(expose), Some(pos)) =
            (&entry.decoded.service.expose_via, entry.decoded.expose_pos)
        else {
            continue;
        };
        let mut cx = Cx::new(entry.file.clone(), diags);
        let field = format!("services.{name}.x-fleet.expose.host_port");
        match taken.get(&expose.host_port) {
            Some((other, file, other_pos)) => cx.error_hint(
                pos,
                &field,
                format!(
                    "port {} is already the balancer port of service `{other}`",
                    expose.host_port
                ),
                "a host_port no other service uses",
                format!(
                    "`{other}` takes it at {file}:{}:{}; pick another port",
                    other_pos.line, other_pos.col
                ),
            ),
            None => {
                taken.insert(expose.host_port, (name, &entry.file, pos));
            }
        }
    }
    settings
}
