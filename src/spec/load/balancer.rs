//! `balancer:` in fleet.yaml: the balancer image, the ingress hosts (checked against the
//! declared hosts) and the shared ports; and the rules across exposed services: no two share a
//! balancer port, or a host name and path, and one host name has one TLS setting.

use std::collections::BTreeMap;

use super::{ROOT_FILE, State};
use crate::spec::Files;
use crate::spec::decode::{Cx, join};
use crate::spec::diag::{Diagnostics, did_you_mean};
use crate::spec::model::{BalancerSettings, Host, TlsSource};
use crate::spec::yaml::{Node, Pos};

pub const BALANCER_KEYS: &[&str] = &["image", "hosts", "http_port", "https_port"];

/// Where `tls: internal` finds the project CA, relative to the directory of fleet.yaml: the
/// certificate in the clear (clients are given it to trust), the key encrypted with age to
/// `secrets_recipients`. `fleet secret ca init` writes both.
pub const CA_CERTIFICATE: &str = "secrets/fleet-ca.crt";
pub const CA_KEY: &str = "secrets/fleet-ca.key.age";

/// `balancer:` as written, with the position of each ingress host name for later checks.
pub(super) struct BalancerDecl {
    image: Option<String>,
    hosts: Option<(Vec<(String, Pos)>, Pos)>,
    http_port: Option<(u16, Pos)>,
    https_port: Option<(u16, Pos)>,
}

pub(super) fn decode_balancer(cx: &mut Cx, node: &Node) -> Option<BalancerDecl> {
    if node.is_null() {
        return None;
    }
    let mut decl = BalancerDecl {
        image: None,
        hosts: None,
        http_port: None,
        https_port: None,
    };
    for (k, kn, v) in cx.map(
        "balancer",
        node,
        "a mapping with `image`, `hosts`, `http_port`, `https_port`",
    )? {
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
            "http_port" => decl.http_port = cx.int(&f, v, 1, 65535).map(|n| (n as u16, v.pos)),
            "https_port" => decl.https_port = cx.int(&f, v, 1, 65535).map(|n| (n as u16, v.pos)),
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, BALANCER_KEYS),
        }
    }
    Some(decl)
}

/// Ingress hosts must exist and be listed once; two exposed services may not share a balancer
/// port, nor a host name and path.
pub(super) fn check_balancer(
    diags: &mut Diagnostics,
    hosts: &BTreeMap<String, Host>,
    state: &State,
    decl: Option<BalancerDecl>,
    files: &dyn Files,
) -> BalancerSettings {
    let mut settings = BalancerSettings::default();
    let mut cx = Cx::new(ROOT_FILE, diags);
    let decl_ports = decl.as_ref().map(|d| (d.http_port, d.https_port));
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
    let mut shared_at: Option<Pos> = None;
    if let Some(decl) = &decl_ports {
        if let Some((port, _)) = decl.0 {
            settings.http_port = port;
        }
        if let Some((port, _)) = decl.1 {
            settings.https_port = port;
        }
        if settings.http_port == settings.https_port {
            if let Some((_, pos)) = decl.1.or(decl.0) {
                cx.error(
                    pos,
                    "balancer.https_port",
                    format!("http_port and https_port are both {}", settings.http_port),
                    "two different ports",
                );
            }
        }
        shared_at = decl.0.or(decl.1).map(|(_, pos)| pos);
    }
    drop(cx);
    check_ports(diags, state, &settings, shared_at);
    check_routes(diags, state, files);
    settings
}

/// Two exposed services may not share a balancer port of their own, nor take one of the shared
/// ports while a service is routed by name.
fn check_ports(
    diags: &mut Diagnostics,
    state: &State,
    settings: &BalancerSettings,
    shared_at: Option<Pos>,
) {
    let routed = state.services.values().find_map(|e| {
        let expose = e.decoded.service.expose_via.as_ref()?;
        expose.routes.as_ref()?;
        Some(e)
    });
    let mut taken: BTreeMap<u16, (String, String, Pos)> = BTreeMap::new();
    if let Some(entry) = routed {
        let pos = shared_at.unwrap_or(Pos {
            line: 1,
            col: 1,
            file: 0,
        });
        for port in [settings.http_port, settings.https_port] {
            let what = if port == settings.http_port {
                "http_port"
            } else {
                "https_port"
            };
            let file = if shared_at.is_some() {
                ROOT_FILE.to_string()
            } else {
                entry.file.clone()
            };
            taken
                .entry(port)
                .or_insert((format!("the balancers' shared {what}"), file, pos));
        }
    }
    for (name, entry) in &state.services {
        let (Some(expose), Some(at)) =
            (&entry.decoded.service.expose_via, &entry.decoded.expose_at)
        else {
            continue;
        };
        let (Some(port), Some(pos)) = (expose.host_port, at.host_port) else {
            continue;
        };
        let mut cx = Cx::new(entry.file.clone(), diags);
        let field = format!("services.{name}.x-fleet.expose.host_port");
        match taken.get(&port) {
            Some((other, file, other_pos)) => {
                let (owner, hint) = if other.starts_with("the balancers'") {
                    (
                        other.clone(),
                        "services with `hosts` share the balancers' http_port and https_port \
                         (`balancer:` in fleet.yaml); pick another host_port, or route this \
                         service by name with `hosts`"
                            .to_string(),
                    )
                } else {
                    (
                        format!("the balancer port of service `{other}`"),
                        format!(
                            "`{other}` takes it at {file}:{}:{}; pick another port",
                            other_pos.line, other_pos.col
                        ),
                    )
                };
                cx.error_hint(
                    pos,
                    &field,
                    format!("port {port} is already {owner}"),
                    "a host_port no other service uses",
                    hint,
                )
            }
            None => {
                taken.insert(port, (name.clone(), entry.file.clone(), pos));
            }
        }
    }
}

/// A host name and path go to one service; services sharing a host name share its TLS (the
/// balancers pick one certificate per name); `tls: internal` needs the project CA.
fn check_routes(diags: &mut Diagnostics, state: &State, files: &dyn Files) {
    let mut claimed: BTreeMap<(String, String), (String, String, Pos)> = BTreeMap::new();
    let mut tls_of: BTreeMap<String, (String, Option<TlsSource>)> = BTreeMap::new();
    // Names served without TLS, with where: a TLS wildcard of another service must not cover
    // them (its certificate would answer them over TLS, and route them to it).
    let mut plain: Vec<(String, String, String, Pos)> = Vec::new();
    let mut ca_checked = false;
    for (name, entry) in &state.services {
        let (Some(expose), Some(at)) =
            (&entry.decoded.service.expose_via, &entry.decoded.expose_at)
        else {
            continue;
        };
        let Some(routes) = &expose.routes else {
            continue;
        };
        let mut cx = Cx::new(entry.file.clone(), diags);
        let field = format!("services.{name}.x-fleet.expose.hosts");
        for (host, pos) in routes.hosts.iter().zip(&at.hosts) {
            for path in &routes.paths {
                let key = (host.clone(), path.clone());
                match claimed.get(&key) {
                    Some((other, file, other_pos)) => cx.error_hint(
                        *pos,
                        &field,
                        format!("`{host}` path `{path}` is already routed to service `{other}`"),
                        "a host name and path no other service has",
                        format!(
                            "`{other}` claims it at {file}:{}:{}; give one of them other `paths`",
                            other_pos.line, other_pos.col
                        ),
                    ),
                    None => {
                        claimed.insert(
                            key,
                            (name.clone(), cx.diags.file_of(*pos, &entry.file), *pos),
                        );
                    }
                }
            }
            match tls_of.get(host) {
                Some((other, tls)) if *tls != routes.tls => cx.error_hint(
                    *pos,
                    &field,
                    format!("`{host}` is also routed to service `{other}`, with another `tls`"),
                    "the same `tls` for every service of one host name",
                    "the balancers serve one certificate per name: give both services the same `tls`",
                ),
                Some(_) => {}
                None => {
                    tls_of.insert(host.clone(), (name.clone(), routes.tls.clone()));
                }
            }
            if routes.tls.is_none() {
                plain.push((host.clone(), name.clone(), entry.file.clone(), *pos));
            }
        }
        if routes.tls == Some(TlsSource::Internal) && !ca_checked {
            ca_checked = true;
            let missing: Vec<&str> = [CA_CERTIFICATE, CA_KEY]
                .into_iter()
                .filter(|path| !matches!(files.exists(path), Ok(true)))
                .collect();
            if let (false, Some(pos)) = (missing.is_empty(), at.tls) {
                cx.error_hint(
                    pos,
                    &format!("services.{name}.x-fleet.expose.tls"),
                    format!(
                        "`tls: internal` needs the project CA; missing {}",
                        missing.join(", ")
                    ),
                    "the project CA's certificate and encrypted key in the repository",
                    "run `fleet secret ca init` and commit both files",
                );
            }
        }
    }
    for (host, service, file, pos) in plain {
        let covering = tls_of.iter().find(|(wildcard, (other, tls))| {
            tls.is_some()
                && *other != service
                && wildcard.starts_with("*.")
                && crate::tls::name_covers(wildcard, &host)
        });
        if let Some((wildcard, (other, _))) = covering {
            Cx::new(file, diags).error_hint(
                pos,
                &format!("services.{service}.x-fleet.expose.hosts"),
                format!(
                    "`{host}` has no `tls`, but service `{other}` serves `{wildcard}` over TLS"
                ),
                "a name no TLS wildcard of another service covers, or `tls` for it",
                format!(
                    "over https the wildcard's certificate would answer `{host}` and send it to `{other}`; give `{service}` a `tls` of its own"
                ),
            );
        }
    }
}
