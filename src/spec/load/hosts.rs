//! `hosts:` in fleet.yaml: each host's name, address (`ssh://` or `unix://`), labels, Docker
//! socket and SSH identity file. Two names for one engine are refused here; whether services
//! can be placed on these hosts is checked in `cross_check`.

use std::collections::BTreeMap;

use super::{NAME_EXPECTED, root_has, valid_name};
use crate::spec::decode::{Cx, join};
use crate::spec::model::{Address, DEFAULT_DOCKER_SOCKET, Host};
use crate::spec::service::labels_of;
use crate::spec::yaml::{Node, Pos};

pub const HOST_KEYS: &[&str] = &[
    "address",
    "labels",
    "docker_socket",
    "identity_file",
    "data_dir",
];

pub(super) fn decode_hosts(cx: &mut Cx, node: &Node) -> BTreeMap<String, Host> {
    let mut hosts = BTreeMap::new();
    let Some(entries) = cx.map(
        "hosts",
        node,
        "a mapping of host name to { address, labels }",
    ) else {
        return hosts;
    };
    if entries.is_empty() {
        cx.error_hint(
            node.pos,
            "hosts",
            "no hosts are listed",
            "at least one host",
            "remove `hosts` to use the local Docker engine",
        );
    }
    let mut seen_addresses: BTreeMap<String, (String, Pos)> = BTreeMap::new();
    for (name, key, value) in entries {
        // Extension fields (YAML anchors' usual home) are not hosts, as in Compose.
        if name.starts_with("x-") {
            continue;
        }
        let field = join("hosts", name);
        if !valid_name(name) {
            cx.error(
                key.pos,
                &field,
                format!("`{name}` is not a valid host name"),
                NAME_EXPECTED,
            );
            continue;
        }
        let Some(host_entries) = cx.map(&field, value, "a mapping with address and labels") else {
            continue;
        };
        let mut address = None;
        let mut socket = None;
        let mut identity_file: Option<(String, Pos)> = None;
        let mut data_dir = None;
        let mut labels = BTreeMap::new();
        for (k, kn, v) in host_entries {
            let f = join(&field, k);
            match k {
                "address" => {
                    address = cx
                        .string(&f, v)
                        .and_then(|a| parse_address(cx, &f, v.pos, &a))
                }
                "labels" => labels = labels_of(cx, &f, v, false),
                "docker_socket" => {
                    socket = cx.string(&f, v).and_then(|s| {
                        if s.starts_with('/') {
                            Some((s, v.pos))
                        } else {
                            cx.error(v.pos, &f, format!("`{s}` is not an absolute path"), "the absolute path of the Docker socket on the host, e.g. /var/run/docker.sock");
                            None
                        }
                    });
                }
                "identity_file" => identity_file = cx.string(&f, v).map(|p| (p, v.pos)),
                "data_dir" => {
                    data_dir = cx.string(&f, v).and_then(|d| data_dir_of(cx, &f, v.pos, d))
                }
                k if k.starts_with("x-") => {}
                _ => cx.unknown_key(kn, &f, k, HOST_KEYS),
            }
        }
        let Some(mut address) = address else {
            if !root_has(value, "address") {
                cx.error(
                    key.pos,
                    &join(&field, "address"),
                    "missing `address`",
                    "ssh://[user@]host[:port] or unix:///path/to/docker.sock",
                );
            }
            continue;
        };
        if let Some((path, pos)) = socket {
            match &mut address {
                Address::Ssh { docker_socket, .. } => *docker_socket = path,
                _ => cx.error(
                    pos,
                    &join(&field, "docker_socket"),
                    "`docker_socket` only applies to ssh:// hosts",
                    "an ssh:// address, or the socket path in the unix:// address",
                ),
            }
        }
        if let (Some((_, pos)), false) = (&identity_file, matches!(address, Address::Ssh { .. })) {
            cx.error(
                *pos,
                &join(&field, "identity_file"),
                "`identity_file` only applies to ssh:// hosts",
                "an ssh:// address",
            );
        }
        let identity = match &address {
            Address::Ssh {
                host,
                port,
                docker_socket,
                ..
            } => format!("ssh://{host}:{}{docker_socket}", port.unwrap_or(22)),
            Address::Unix { path } => format!("unix://{path}"),
            Address::Local => "local".to_string(),
        };
        if let Some((other, _)) = seen_addresses.get(&identity) {
            cx.error_hint(
                value.pos,
                &join(&field, "address"),
                format!("host `{name}` has the same engine as host `{other}`"),
                "each host listed once",
                "two names for one engine would place replicas twice on it; remove one",
            );
        } else {
            seen_addresses.insert(identity, (name.to_string(), value.pos));
        }
        hosts.insert(
            name.to_string(),
            Host {
                address,
                labels,
                identity_file: identity_file.map(|(p, _)| p),
                data_dir,
            },
        );
    }
    hosts
}

/// A host's `data_dir`: an absolute, normalised path below `/` (never `/` itself, so a data
/// directory cannot land on a system directory by accident).
fn data_dir_of(cx: &mut Cx, field: &str, pos: Pos, dir: String) -> Option<String> {
    let expected = "an absolute directory on the host, e.g. /srv/fleet/myapp";
    let trimmed = dir.trim_end_matches('/');
    let parts: Vec<&str> = trimmed.split('/').skip(1).collect();
    if !dir.starts_with('/') {
        cx.error(
            pos,
            field,
            format!("`{dir}` is not an absolute path"),
            expected,
        );
        None
    } else if parts.is_empty()
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        cx.error(
            pos,
            field,
            format!("`{dir}` is not a plain directory below `/`"),
            expected,
        );
        None
    } else {
        Some(trimmed.to_string())
    }
}

const ADDRESS_EXPECTED: &str = "ssh://[user@]host[:port] or unix:///path/to/docker.sock";

fn parse_address(cx: &mut Cx, field: &str, pos: Pos, text: &str) -> Option<Address> {
    if let Some(path) = text.strip_prefix("unix://") {
        if path.starts_with('/') {
            return Some(Address::Unix {
                path: path.to_string(),
            });
        }
        cx.error(
            pos,
            field,
            format!("`{text}` does not name an absolute socket path"),
            ADDRESS_EXPECTED,
        );
        return None;
    }
    let Some(rest) = text.strip_prefix("ssh://") else {
        let hint = if text.contains("://") {
            None
        } else {
            Some(format!("did you mean `ssh://{text}`?"))
        };
        cx.report(
            crate::spec::diag::Severity::Error,
            pos,
            field,
            format!("`{text}` is not a host address"),
            Some(ADDRESS_EXPECTED.into()),
            hint,
        );
        return None;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => {
            cx.error(
                pos,
                field,
                format!("`{text}` has an empty user name"),
                ADDRESS_EXPECTED,
            );
            return None;
        }
        None => (None, rest),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => (h, Some(p.strip_prefix(':').unwrap_or(p))),
            None => ("", None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let bad_host = host.is_empty() || host.contains('/') || host.chars().any(char::is_whitespace);
    if bad_host {
        cx.error(
            pos,
            field,
            format!("`{text}` has no valid host"),
            ADDRESS_EXPECTED,
        );
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                cx.error(
                    pos,
                    field,
                    format!("`{p}` is not a port"),
                    "a port from 1 to 65535",
                );
                return None;
            }
        },
    };
    Some(Address::Ssh {
        user,
        host: host.to_string(),
        port,
        docker_socket: DEFAULT_DOCKER_SOCKET.to_string(),
    })
}
