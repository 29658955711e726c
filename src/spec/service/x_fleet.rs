//! `x-fleet:`, fleet's own extension of a service (Compose ignores `x-` keys, so the file stays
//! a valid compose file): `expose`, which puts the service behind the balancers with its
//! container port, balancer port, protocol, drain time and health path. Clashes of balancer
//! ports between services are checked by the loader.

use std::collections::BTreeMap;
use std::time::Duration;

use super::entries_have;
use crate::spec::decode::{Cx, join};
use crate::spec::model::{DEFAULT_DRAIN, Expose, ExposeProtocol};
use crate::spec::yaml::{Node, Pos};

pub const X_FLEET_KEYS: &[&str] = &["expose", "env_from_secrets"];

pub const EXPOSE_KEYS: &[&str] = &["port", "host_port", "protocol", "drain", "health_path"];

/// `x-fleet:` of a service: fleet's own extension (Compose ignores `x-` keys, so the file stays
/// a valid compose file). Returns the position of `expose.host_port` when one was decoded.
pub(super) fn x_fleet(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    out: &mut Option<Expose>,
    env_from_secrets: &mut BTreeMap<String, String>,
    secret_refs: &mut Vec<(String, Pos, String)>,
) -> Option<Pos> {
    if node.is_null() {
        return None;
    }
    let mut host_port_pos = None;
    for (k, kn, v) in cx.map(field, node, "a mapping with `expose`")? {
        let f = join(field, k);
        match k {
            "expose" => {
                let (expose, pos) = expose_via(cx, &f, v)?;
                *out = Some(expose);
                host_port_pos = Some(pos);
            }
            // For images that read a secret only from their environment: visible to whoever
            // can inspect the container, which is why it is asked for by name.
            "env_from_secrets" => {
                for (name, key, value) in cx
                    .map(&f, v, "a mapping of variable name to secret name")
                    .unwrap_or_default()
                {
                    let ef = join(&f, name);
                    let valid = !name.is_empty()
                        && !name.contains('=')
                        && !name.chars().any(char::is_whitespace);
                    if !valid {
                        cx.error(
                            key.pos,
                            &ef,
                            format!("`{name}` is not a variable name"),
                            "a name without `=` or spaces",
                        );
                        continue;
                    }
                    if let Some(secret) = cx.string(&ef, value) {
                        secret_refs.push((secret.clone(), value.pos, ef));
                        env_from_secrets.insert(name.to_string(), secret);
                    }
                }
            }
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, X_FLEET_KEYS),
        }
    }
    host_port_pos
}

fn expose_via(cx: &mut Cx, field: &str, node: &Node) -> Option<(Expose, Pos)> {
    let entries = cx.map(
        field,
        node,
        "a mapping with `port`, `host_port`, `protocol`, `drain`, `health_path`",
    )?;
    let mut port = None;
    let mut host_port = None;
    let mut protocol = ExposeProtocol::Http;
    let mut drain = DEFAULT_DRAIN;
    let mut health_path: Option<(String, Pos)> = None;
    let mut ok = true;
    for (k, kn, v) in entries {
        let f = join(field, k);
        match k {
            "port" => port = cx.int(&f, v, 1, 65535).map(|n| n as u16),
            "host_port" => host_port = cx.int(&f, v, 1, 65535).map(|n| (n as u16, v.pos)),
            "protocol" => match cx.string(&f, v).as_deref() {
                Some("http") => protocol = ExposeProtocol::Http,
                Some("tcp") => protocol = ExposeProtocol::Tcp,
                Some(other) => {
                    cx.error(
                        v.pos,
                        &f,
                        format!("unknown protocol `{other}`"),
                        "`http` or `tcp`",
                    );
                    ok = false;
                }
                None => ok = false,
            },
            "drain" => match cx.duration(&f, v) {
                Some(d) if d > Duration::from_secs(3600) => {
                    cx.error(v.pos, &f, "must be at most 1h", "a duration such as 10s");
                    ok = false;
                }
                Some(d) => drain = d,
                None => ok = false,
            },
            "health_path" => match cx.string(&f, v) {
                Some(p)
                    if p.starts_with('/')
                        && p.bytes().all(|b| b.is_ascii_graphic() && b != b'#') =>
                {
                    health_path = Some((p, v.pos))
                }
                Some(p) => {
                    cx.error(
                        v.pos,
                        &f,
                        format!("`{p}` is not a request path"),
                        "a path starting with `/`, without spaces, such as /healthz",
                    );
                    ok = false;
                }
                None => ok = false,
            },
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, EXPOSE_KEYS),
        }
    }
    for (key, present) in [("port", port.is_some()), ("host_port", host_port.is_some())] {
        if !present && !entries_have(node, key) {
            cx.error_hint(
                node.pos,
                &join(field, key),
                format!("missing `{key}`"),
                "a port number from 1 to 65535",
                "`port` is the container port the replicas serve on, `host_port` the port the \
                 balancers listen on",
            );
        }
    }
    if let (Some((_, pos)), ExposeProtocol::Tcp) = (&health_path, protocol) {
        cx.error_hint(
            *pos,
            &join(field, "health_path"),
            "`health_path` needs `protocol: http`",
            "no health_path for tcp",
            "a tcp service is checked by opening a connection; remove `health_path`",
        );
        ok = false;
    }
    let (port, (host_port, pos)) = (port?, host_port?);
    ok.then(|| {
        (
            Expose {
                port,
                host_port,
                protocol,
                drain,
                health_path: health_path.map(|(p, _)| p),
            },
            pos,
        )
    })
}
