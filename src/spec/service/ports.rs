//! Ports: `ports` in the Compose short syntax (`[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`,
//! ranges included) and the long syntax, and `expose`, the container ports documented as
//! exposed. Whether replicas with a fixed host port fit on the hosts is checked by the loader.

use std::net::IpAddr;

use crate::spec::decode::{Cx, index, join};
use crate::spec::model::{Port, Protocol};
use crate::spec::yaml::{Kind, Node, Resolved};

/// `name` and `app_protocol` are informational in Compose: accepted, not used.
pub const PORT_KEYS: &[&str] = &[
    "target",
    "published",
    "host_ip",
    "protocol",
    "mode",
    "name",
    "app_protocol",
];

fn port_number(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|p| *p > 0)
}

fn port_range(text: &str) -> Option<(u16, u16)> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port_number(a)?, port_number(b)?);
            (a <= b).then_some((a, b))
        }
        None => port_number(text).map(|p| (p, p)),
    }
}

const PORT_EXPECTED: &str =
    "[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp] with ports 1-65535, e.g. 8080:80";

/// Parses the Compose short syntax into one entry per container port.
pub fn parse_port(spec: &str) -> Result<Vec<Port>, String> {
    let (body, protocol) = match spec.rsplit_once('/') {
        Some((b, "tcp")) => (b, Protocol::Tcp),
        Some((b, "udp")) => (b, Protocol::Udp),
        Some((_, p)) => return Err(format!("`{spec}` has an unknown protocol `{p}`")),
        None => (spec, Protocol::Tcp),
    };
    // An IPv6 host address is written in brackets ([::1]:8080:80) or bare (::1:8080:80): the
    // last two `:`-separated parts are the ports, the rest the address (empty = none).
    let (host_ip, rest) = if let Some(after) = body.strip_prefix('[') {
        let (ip, rest) = after
            .split_once("]:")
            .ok_or("unclosed `[` around an IPv6 address")?;
        (Some(ip), rest)
    } else {
        let parts: Vec<&str> = body.rsplitn(3, ':').collect();
        match parts.len() {
            1 | 2 => (None, body),
            _ => (Some(parts[2]), &body[parts[2].len() + 1..]),
        }
    };
    let host_ip = match host_ip.filter(|ip| !ip.is_empty()) {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| format!("`{ip}` is not an IP address"))?,
        ),
        None => None,
    };
    let (published, target) = match rest.split_once(':') {
        Some((p, t)) => (if p.is_empty() { None } else { Some(p) }, t),
        None => (None, rest),
    };
    let (t0, t1) =
        port_range(target).ok_or_else(|| format!("`{target}` is not a port or port range"))?;
    let published = match published {
        Some(p) => Some(port_range(p).ok_or_else(|| format!("`{p}` is not a port or port range"))?),
        None => None,
    };
    // A host range for one container port: the engine picks the host port in the range.
    if let Some((p0, p1)) = published.filter(|(p0, p1)| t0 == t1 && p0 != p1) {
        return Ok(vec![Port {
            target: t0,
            published: None,
            published_range: Some((p0, p1)),
            host_ip,
            protocol,
        }]);
    }
    if let Some((p0, p1)) = published {
        if p1 - p0 != t1 - t0 {
            return Err(format!(
                "`{spec}`: the host and container port ranges differ in length"
            ));
        }
    }
    Ok((0..=(t1 - t0))
        .map(|i| Port {
            target: t0 + i,
            published: published.map(|(p0, _)| p0 + i),
            published_range: None,
            host_ip,
            protocol,
        })
        .collect())
}

pub(super) fn ports(cx: &mut Cx, field: &str, node: &Node) -> Vec<Port> {
    let Some(items) = cx.seq(field, node, "a list of ports") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        match &item.kind {
            Kind::Map(_) => out.extend(port_long(cx, &f, item)),
            _ => {
                let spec = match item.resolve() {
                    Some(Resolved::Int(n)) => n.to_string(),
                    Some(Resolved::Str(s)) => s.to_string(),
                    _ => {
                        cx.error(
                            item.pos,
                            &f,
                            format!("found {}", item.type_name()),
                            PORT_EXPECTED,
                        );
                        continue;
                    }
                };
                match parse_port(&spec) {
                    Ok(ports) => out.extend(ports),
                    Err(why) => cx.error(item.pos, &f, why, PORT_EXPECTED),
                }
            }
        }
    }
    out
}

fn port_long(cx: &mut Cx, field: &str, node: &Node) -> Option<Port> {
    let mut port = Port {
        target: 0,
        published: None,
        published_range: None,
        host_ip: None,
        protocol: Protocol::Tcp,
    };
    let mut ok = true;
    for (k, kn, v) in cx.map(field, node, "")? {
        let f = join(field, k);
        match k {
            "target" => match cx.int(&f, v, 1, 65535) {
                Some(n) => port.target = n as u16,
                None => ok = false,
            },
            "published" => {
                let text = v.scalar_text().unwrap_or_default();
                match port_range(text) {
                    Some((p, q)) if p == q => port.published = Some(p),
                    Some(range) => port.published_range = Some(range),
                    None => {
                        cx.error(
                            v.pos,
                            &f,
                            format!("`{text}` is not a port or port range"),
                            "a port from 1 to 65535, or a range such as 8000-8002",
                        );
                        ok = false;
                    }
                }
            }
            "host_ip" => match cx.string(&f, v).map(|s| s.parse::<IpAddr>()) {
                Some(Ok(ip)) => port.host_ip = Some(ip),
                Some(Err(_)) => {
                    cx.error(v.pos, &f, "not an IP address", "an IPv4 or IPv6 address");
                    ok = false;
                }
                None => ok = false,
            },
            "protocol" => match cx.string(&f, v).as_deref() {
                Some("tcp") => port.protocol = Protocol::Tcp,
                Some("udp") => port.protocol = Protocol::Udp,
                Some(other) => {
                    cx.unknown_value(v.pos, &f, "protocol", other, &["tcp", "udp"]);
                    ok = false;
                }
                None => ok = false,
            },
            "name" | "app_protocol" => {
                cx.string(&f, v);
            }
            "mode" => match cx.string(&f, v).as_deref() {
                Some("host") | None => {}
                Some(other) => {
                    cx.error_hint(
                        v.pos,
                        &f,
                        format!("port mode `{other}` is not supported"),
                        "host",
                        "fleet publishes a port on the host that runs the replica; there is no routing mesh",
                    );
                    ok = false;
                }
            },
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, PORT_KEYS);
                }
            }
        }
    }
    if port.target == 0 && ok {
        cx.error(
            node.pos,
            &join(field, "target"),
            "missing `target`",
            "the container port",
        );
        return None;
    }
    ok.then_some(port)
}

/// Container ports documented as exposed (`"3000"`, `"8000-8010/udp"`); no host port.
pub(super) fn expose(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
    let Some(items) = cx.seq(field, node, "a list of ports") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        let Some(text) = cx.text(&f, item, "a port such as 3000 or 8000-8010/udp") else {
            continue;
        };
        let (ports, proto) = text.split_once('/').unwrap_or((text.as_str(), "tcp"));
        if port_range(ports).is_some() && matches!(proto, "tcp" | "udp") {
            out.push(text);
        } else {
            cx.error(
                item.pos,
                &f,
                format!("`{text}` is not a port"),
                "a port such as 3000 or 8000-8010/udp",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_short_syntax_covers_compose_forms() {
        let p = |s: &str| parse_port(s).unwrap();
        assert_eq!(p("80")[0].published, None);
        assert_eq!(p("8080:80")[0].published, Some(8080));
        assert_eq!(p("8080:80")[0].target, 80);
        assert_eq!(
            p("127.0.0.1:8080:80")[0].host_ip,
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(p("127.0.0.1::80")[0].published, None);
        assert_eq!(p("[::1]:8080:80")[0].host_ip, Some("::1".parse().unwrap()));
        assert_eq!(p("53:53/udp")[0].protocol, Protocol::Udp);
        let range = p("8000-8002:9000-9002");
        assert_eq!(range.len(), 3);
        assert_eq!((range[2].published, range[2].target), (Some(8002), 9002));
        assert!(parse_port("70000").is_err());
        assert!(parse_port("0").is_err());
        assert!(parse_port("80/sctp").is_err());
        assert!(parse_port("8000-8001:80-82").is_err());
        assert!(parse_port("8000:80-81").is_err());
        assert!(parse_port("a:b:c:d").is_err());
        assert_eq!(p("::1:6000:6000")[0].host_ip, Some("::1".parse().unwrap()));
        assert_eq!(p("::1:6000:6000")[0].published, Some(6000));
        assert_eq!(p(":2283:2283")[0].host_ip, None);
        assert_eq!(p(":2283:2283")[0].published, Some(2283));
        let picked = p("8000-9000:80");
        assert_eq!(picked.len(), 1);
        assert_eq!(
            (
                picked[0].published,
                picked[0].published_range,
                picked[0].target
            ),
            (None, Some((8000, 9000)), 80)
        );
    }
}
