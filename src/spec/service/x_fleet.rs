//! `x-fleet:`, fleet's own extension of a service (Compose ignores `x-` keys, so the file stays
//! a valid compose file): `expose`, which puts the service behind the balancers with its
//! container port, balancer port, protocol, drain time and health path. Clashes of balancer
//! ports between services are checked by the loader.

use std::time::Duration;

use super::autoscale::autoscale;
use super::entries_have;
use crate::spec::decode::{Cx, join};
use crate::spec::model::{
    DEFAULT_DRAIN, Expose, ExposeProtocol, ImageSource, Routes, Service, SourceAt, TlsSource,
};
use crate::spec::paths::{RepoPath, resolve_in_repo};
use crate::spec::yaml::{Node, Pos, Resolved};

pub const X_FLEET_KEYS: &[&str] = &[
    "expose",
    "env_from_secrets",
    "replace_unhealthy",
    "autoscale",
    "image_source",
];

pub const EXPOSE_KEYS: &[&str] = &[
    "port",
    "host_port",
    "protocol",
    "drain",
    "health_path",
    "hosts",
    "paths",
    "tls",
    "redirect_http",
    "hsts",
];

const TLS_KEYS: &[&str] = &["certificate", "key"];

/// How long `hsts: true` asks browsers to remember: one year, as the HSTS preload list wants.
const HSTS_DEFAULT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Where an exposure was written, for the checks across services.
#[derive(Clone, Debug)]
pub struct ExposeAt {
    pub expose: Pos,
    pub host_port: Option<Pos>,
    /// Of each of `routes.hosts`, in order.
    pub hosts: Vec<Pos>,
    pub tls: Option<Pos>,
}

/// Where parts of `x-fleet` were written, for the checks across keys and services.
#[derive(Default)]
pub struct XFleetAt {
    pub expose: Option<ExposeAt>,
    pub image_source: Option<Pos>,
}

/// `x-fleet:` of a service: fleet's own extension (Compose ignores `x-` keys, so the file stays
/// a valid compose file), decoded into `s`. `dir` is the directory of the file it is written
/// in, for a relative archive path.
pub(super) fn x_fleet(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    dir: &RepoPath,
    s: &mut Service,
    secret_refs: &mut Vec<(String, Pos, String)>,
) -> XFleetAt {
    let mut at = XFleetAt::default();
    if node.is_null() {
        return at;
    }
    let Some(entries) = cx.map(field, node, "a mapping with `expose`") else {
        return at;
    };
    let mut autoscale_node = None;
    for (k, kn, v) in entries {
        let f = join(field, k);
        match k {
            "expose" => {
                let Some((expose, expose_at)) = expose_via(cx, &f, v, secret_refs) else {
                    return at;
                };
                s.expose_via = Some(expose);
                at.expose = Some(expose_at);
            }
            "image_source" => {
                s.image_source = image_source(cx, &f, v, dir);
                at.image_source = Some(v.pos);
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
                        s.env_from_secrets.insert(name.to_string(), secret);
                    }
                }
            }
            "replace_unhealthy" => {
                if let Some(b) = cx.bool(&f, v) {
                    s.replace_unhealthy = b;
                }
            }
            // Decoded after the loop: whether the service is exposed decides what it may target.
            "autoscale" => autoscale_node = Some((f, v)),
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, X_FLEET_KEYS),
        }
    }
    if let Some((f, v)) = autoscale_node {
        s.autoscale = autoscale(cx, &f, v, s.expose_via.is_some());
    }
    at
}

/// `image_source: local`, or the path of a `docker save` archive (`.tar`, relative to the file
/// it is written in, inside the project).
fn image_source(cx: &mut Cx, field: &str, node: &Node, dir: &RepoPath) -> Option<ImageSource> {
    let text = cx.string(field, node)?;
    if text == "local" {
        return Some(ImageSource::Local);
    }
    let expected = "`local`, or the path of a `docker save` archive such as `./build/app.tar`";
    if text == "registry" || !(text.starts_with("./") || text.starts_with("../")) {
        cx.error_hint(
            node.pos,
            field,
            format!("`{text}` is not an image source"),
            expected,
            "write `local` for the engine of the machine running fleet, or a path starting with `./`",
        );
        return None;
    }
    if !text.ends_with(".tar") {
        cx.error(
            node.pos,
            field,
            format!("`{text}` is not a `.tar` archive"),
            expected,
        );
        return None;
    }
    let path = resolve_in_repo(cx, field, node.pos, dir, &text)?;
    Some(ImageSource::Archive {
        path: path.as_str().to_string(),
        at: SourceAt {
            file: cx.diags.file_of(node.pos, &cx.file),
            line: node.pos.line,
            column: node.pos.col,
        },
    })
}

fn expose_via(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    secret_refs: &mut Vec<(String, Pos, String)>,
) -> Option<(Expose, ExposeAt)> {
    let entries = cx.map(
        field,
        node,
        "a mapping with `port` and `host_port` or `hosts`, and optionally `protocol`, `drain`, \
         `health_path`, `paths`, `tls`, `redirect_http`, `hsts`",
    )?;
    let mut port = None;
    let mut host_port = None;
    let mut protocol = (ExposeProtocol::Http, node.pos);
    let mut drain = DEFAULT_DRAIN;
    let mut health_path: Option<(String, Pos)> = None;
    let mut hosts: Option<(Vec<(String, Pos)>, Pos)> = None;
    let mut paths: Option<(Vec<String>, Pos)> = None;
    let mut tls: Option<(TlsSource, Pos)> = None;
    let mut redirect_http: Option<(bool, Pos)> = None;
    let mut hsts: Option<(Option<Duration>, Pos)> = None;
    let mut ok = true;
    for (k, kn, v) in entries {
        let f = join(field, k);
        match k {
            "port" => port = cx.int(&f, v, 1, 65535).map(|n| n as u16),
            "host_port" => host_port = cx.int(&f, v, 1, 65535).map(|n| (n as u16, v.pos)),
            "protocol" => match cx.string(&f, v).as_deref() {
                Some("http") => protocol = (ExposeProtocol::Http, v.pos),
                Some("tcp") => protocol = (ExposeProtocol::Tcp, v.pos),
                Some(other) => {
                    cx.unknown_value(v.pos, &f, "protocol", other, &["http", "tcp"]);
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
            "health_path" => match request_path(cx, &f, v, "such as /healthz", true) {
                Some(p) => health_path = Some((p, v.pos)),
                None => ok = false,
            },
            "hosts" => match host_names(cx, &f, v) {
                Some(list) => hosts = Some((list, v.pos)),
                None => ok = false,
            },
            "paths" => {
                let mut list: Vec<String> = Vec::new();
                for item in cx
                    .seq(&f, v, "a list of path prefixes such as /api")
                    .unwrap_or_default()
                {
                    let Some(p) = request_path(cx, &f, item, "such as /api", false) else {
                        ok = false;
                        continue;
                    };
                    // `/api/` and `/api` are one prefix: whole segments are matched.
                    let p = match p.trim_end_matches('/') {
                        "" => "/".to_string(),
                        trimmed => trimmed.to_string(),
                    };
                    if list.contains(&p) {
                        cx.error(
                            item.pos,
                            &f,
                            format!("`{p}` is listed twice"),
                            "each path once",
                        );
                        ok = false;
                    } else {
                        list.push(p);
                    }
                }
                if list.is_empty() && ok {
                    cx.error(
                        v.pos,
                        &f,
                        "no path",
                        "at least one prefix; remove `paths` for all (`/`)",
                    );
                    ok = false;
                }
                paths = Some((list, v.pos));
            }
            "tls" => match tls_source(cx, &f, v, secret_refs) {
                Some(t) => tls = Some((t, v.pos)),
                None => ok = false,
            },
            "redirect_http" => match cx.bool(&f, v) {
                Some(b) => redirect_http = Some((b, v.pos)),
                None => ok = false,
            },
            "hsts" => match v.resolve() {
                Some(Resolved::Bool(true)) => hsts = Some((Some(HSTS_DEFAULT), v.pos)),
                Some(Resolved::Bool(false)) => hsts = Some((None, v.pos)),
                _ => match cx.duration(&f, v) {
                    Some(d) if d.as_secs() == 0 => {
                        cx.error(
                            v.pos,
                            &f,
                            "must be longer than 0s",
                            "true, or a duration such as 365d",
                        );
                        ok = false;
                    }
                    Some(d) => hsts = Some((Some(d), v.pos)),
                    None => ok = false,
                },
            },
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, EXPOSE_KEYS),
        }
    }
    if port.is_none() && !entries_have(node, "port") {
        cx.error_hint(
            node.pos,
            &join(field, "port"),
            "missing `port`",
            "a port number from 1 to 65535",
            "`port` is the container port the replicas serve on",
        );
    }
    if host_port.is_none()
        && hosts.is_none()
        && !entries_have(node, "host_port")
        && !entries_have(node, "hosts")
    {
        cx.error_hint(
            node.pos,
            &join(field, "host_port"),
            "missing `host_port` or `hosts`",
            "a port number from 1 to 65535, or a list of host names",
            "`host_port` is a port the balancers listen on for this service alone; `hosts` routes \
             requests for those names on the balancers' shared http_port and https_port",
        );
    }
    let http = protocol.0 == ExposeProtocol::Http;
    if let (Some((_, pos)), false) = (&health_path, http) {
        cx.error_hint(
            *pos,
            &join(field, "health_path"),
            "`health_path` needs `protocol: http`",
            "no health_path for tcp",
            "a tcp service is checked by opening a connection; remove `health_path`",
        );
        ok = false;
    }
    if let (Some((_, pos)), false) = (&hosts, http) {
        cx.error_hint(
            *pos,
            &join(field, "hosts"),
            "routing by host name needs `protocol: http`",
            "no hosts for a tcp service",
            "a tcp service is reached on a `host_port` of its own",
        );
        ok = false;
    }
    if let Some((_, pos)) = &tls {
        if !http {
            cx.error_hint(
                *pos,
                &join(field, "tls"),
                "`tls` on a tcp service: the balancers terminate TLS only for routed http services",
                "no tls for a tcp service",
                "terminate TLS in the service itself, or use `protocol: http` with `hosts`",
            );
            ok = false;
        } else if hosts.is_none() && !entries_have(node, "hosts") {
            cx.error_hint(
                *pos,
                &join(field, "tls"),
                "`tls` needs `hosts`: the balancers pick the certificate by the name the client asks for",
                "`hosts` beside `tls`",
                "list the names the certificate is for under `hosts`",
            );
            ok = false;
        }
    }
    for (key, pos) in [
        ("paths", paths.as_ref().map(|p| p.1)),
        ("redirect_http", redirect_http.as_ref().map(|p| p.1)),
        ("hsts", hsts.as_ref().map(|p| p.1)),
    ] {
        let Some(pos) = pos else { continue };
        let needs = if key == "paths" {
            hosts.is_none() && !entries_have(node, "hosts")
        } else {
            tls.is_none() && !entries_have(node, "tls")
        };
        if needs {
            let (what, hint) = if key == "paths" {
                (
                    "`hosts`",
                    "paths are routed on the shared ports, under host names",
                )
            } else {
                (
                    "`tls`",
                    "it applies to services the balancers serve over TLS",
                )
            };
            cx.error_hint(
                pos,
                &join(field, key),
                format!("`{key}` needs {what}"),
                &format!("{what} beside `{key}`"),
                hint,
            );
            ok = false;
        }
    }
    let port = port?;
    let at = ExposeAt {
        expose: node.pos,
        host_port: host_port.map(|(_, pos)| pos),
        hosts: hosts
            .iter()
            .flat_map(|(list, _)| list.iter().map(|(_, pos)| *pos))
            .collect(),
        tls: tls.as_ref().map(|(_, pos)| *pos),
    };
    let tls_at = at.tls.map(|pos| SourceAt {
        file: cx.diags.file_of(pos, &cx.file),
        line: pos.line,
        column: pos.col,
    });
    let routes = hosts.map(|(hosts, _)| {
        let has_tls = tls.is_some();
        Routes {
            hosts: hosts.iter().map(|(h, _)| h.clone()).collect(),
            paths: paths
                .map(|(p, _)| p)
                .unwrap_or_else(|| vec!["/".to_string()]),
            tls: tls.map(|(t, _)| t),
            redirect_http: redirect_http.map_or(has_tls, |(b, _)| b),
            hsts: hsts.and_then(|(d, _)| d),
            tls_at,
        }
    });
    (ok && (host_port.is_some() || routes.is_some())).then(|| {
        (
            Expose {
                port,
                host_port: host_port.map(|(p, _)| p),
                protocol: protocol.0,
                drain,
                health_path: health_path.map(|(p, _)| p),
                routes,
            },
            at,
        )
    })
}

/// A request path as the balancers' configuration can hold it: starts with `/`, then the
/// characters RFC 3986 allows in a path (no quote or backslash, which HAProxy would read as
/// syntax); a query (`?`) only where `query` says so (a health check's path may have one).
fn request_path(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    example: &str,
    query: bool,
) -> Option<String> {
    let p = cx.string(field, node)?;
    let allowed = |b: u8| {
        b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/%".contains(&b) || (query && b == b'?')
    };
    if p.starts_with('/') && p.bytes().all(allowed) {
        Some(p)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{p}` is not a request path"),
            &format!(
                "a path starting with `/` of letters, digits and -._~!$&()*+,;=:@/% {example}"
            ),
        );
        None
    }
}

/// `hosts:`: DNS names, lowercased, each once; `*.` as a whole first label is a wildcard.
fn host_names(cx: &mut Cx, field: &str, node: &Node) -> Option<Vec<(String, Pos)>> {
    let items = cx.seq(field, node, "a list of host names such as shop.example.com")?;
    let mut out: Vec<(String, Pos)> = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(name) = cx.string(field, item) else {
            ok = false;
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if let Err(why) = check_host_name(&lower) {
            cx.error(
                item.pos,
                field,
                format!("`{name}` is not a host name: {why}"),
                "a DNS name such as shop.example.com, or a wildcard such as *.example.com",
            );
            ok = false;
        } else if out.iter().any(|(n, _)| *n == lower) {
            cx.error(
                item.pos,
                field,
                format!("`{name}` is listed twice"),
                "each name once",
            );
            ok = false;
        } else {
            out.push((lower, item.pos));
        }
    }
    if out.is_empty() && ok {
        cx.error(
            node.pos,
            field,
            "no host name",
            "at least one name such as shop.example.com",
        );
        ok = false;
    }
    ok.then_some(out)
}

/// Why a (lowercase) name is not a DNS name a balancer can route: RFC 1123 labels of letters,
/// digits and inner hyphens, at most 63 characters each and 253 in all; a wildcard only as the
/// whole first label of a name of at least two more.
pub fn check_host_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" {
            if i != 0 {
                return Err("`*` may only be the first label".into());
            }
            if labels.len() < 3 {
                return Err("a wildcard needs at least two labels after `*.`".into());
            }
            continue;
        }
        if label.is_empty() {
            return Err("it has an empty label (`..`, or a leading or trailing dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "label `{label}` has a character other than letters, digits and `-`"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("it is an IP address or ends in a numeric label".into());
    }
    Ok(())
}

/// `tls: internal`, or `tls: { certificate: SECRET, key: SECRET }`.
fn tls_source(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    secret_refs: &mut Vec<(String, Pos, String)>,
) -> Option<TlsSource> {
    const EXPECTED: &str =
        "`internal`, or a mapping `{ certificate: SECRET, key: SECRET }` of two secrets (PEM)";
    if let Some(Resolved::Str(s)) = node.resolve() {
        if s == "internal" {
            return Some(TlsSource::Internal);
        }
        cx.error(
            node.pos,
            field,
            format!("unknown tls source `{s}`"),
            EXPECTED,
        );
        return None;
    }
    let entries = cx.map(field, node, EXPECTED)?;
    let mut certificate = None;
    let mut key = None;
    for (k, kn, v) in entries {
        let f = join(field, k);
        match k {
            "certificate" | "key" => {
                let Some(name) = cx.string(&f, v) else {
                    continue;
                };
                secret_refs.push((name.clone(), v.pos, f));
                if k == "certificate" {
                    certificate = Some(name);
                } else {
                    key = Some(name);
                }
            }
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, TLS_KEYS),
        }
    }
    for (k, present) in [
        ("certificate", certificate.is_some()),
        ("key", key.is_some()),
    ] {
        if !present && !entries_have(node, k) {
            cx.error(
                node.pos,
                &join(field, k),
                format!("missing `{k}`"),
                "the name of a secret declared under `secrets:`",
            );
        }
    }
    Some(TlsSource::Secrets {
        certificate: certificate?,
        key: key?,
    })
}
