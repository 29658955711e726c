//! The shared frontends of services routed by host name, and the forwarding headers every HTTP
//! frontend sets.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::contract;
use crate::spec::Desired;

/// Where the balancer container finds the certificate files (bound read-only from the host's
/// [`contract::balancer_tls_dir`]).
fn certificate_path(id: &str) -> String {
    format!(
        "{}/{id}/{}",
        contract::BALANCER_TLS_DIR,
        contract::BALANCER_CERTIFICATE_FILE
    )
}

/// One routing rule: requests for these names and this path prefix go to `service`.
struct Rule<'a> {
    service: &'a str,
    wildcard: bool,
    hosts: Vec<&'a str>,
    path: &'a str,
}

/// The shared frontends of services routed by name (named with a `:`, which no service name
/// has, so they never clash with a service's own frontend): plain HTTP on `http_port` (redirecting to
/// https where asked), TLS on `https_port` with every certificate, the certificate picked by
/// SNI (`strict-sni`: a name without one gets no handshake, never another's certificate).
/// Each request is matched once against every rule, exact names before wildcards and longer
/// paths before shorter, and the first match names its backend; no match is a 404.
pub(super) fn render_routed(out: &mut String, desired: &Desired) {
    let mut rules: Vec<Rule> = Vec::new();
    for (service, via) in desired.exposed() {
        let Some(routes) = &via.routes else {
            continue;
        };
        for wildcard in [false, true] {
            let hosts: Vec<&str> = routes
                .hosts
                .iter()
                .filter(|h| h.starts_with("*.") == wildcard)
                .map(String::as_str)
                .collect();
            if hosts.is_empty() {
                continue;
            }
            for path in &routes.paths {
                rules.push(Rule {
                    service,
                    wildcard,
                    hosts: hosts.clone(),
                    path,
                });
            }
        }
    }
    if rules.is_empty() {
        return;
    }
    rules.sort_by(|a, b| {
        (a.wildcard, std::cmp::Reverse(a.path.len()), a.service).cmp(&(
            b.wildcard,
            std::cmp::Reverse(b.path.len()),
            b.service,
        ))
    });
    let tls_of = |service: &str| {
        desired
            .services
            .get(service)
            .and_then(|s| s.expose_via.as_ref())
            .and_then(|e| e.routes.as_ref())
            .filter(|r| r.tls.is_some())
    };
    let redirected: Vec<&str> = rules
        .iter()
        .map(|r| r.service)
        .filter(|s| tls_of(s).is_some_and(|r| r.redirect_http))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let _ = write!(
        out,
        "\nfrontend fleet:http\n\
         \x20   bind :{}\n\
         \x20   mode http\n\
         \x20   option httplog\n",
        desired.balancer.http_port
    );
    forwarded_headers(out, "http");
    route_lines(out, &rules);
    if !redirected.is_empty() {
        // To the name asked for (without the port it came to), on https_port, path and query
        // kept.
        let port = match desired.balancer.https_port {
            443 => String::new(),
            port => format!(":{port}"),
        };
        let _ = writeln!(
            out,
            "    http-request redirect location https://%[req.hdr(host),field(1,:),lower]{port}%[pathq] code 308 if {{ var(txn.fleet_route) -m str {} }}",
            redirected.join(" ")
        );
    }
    let _ = writeln!(out, "    use_backend %[var(txn.fleet_route)]");
    let tls_rules: Vec<&Rule> = rules
        .iter()
        .filter(|r| tls_of(r.service).is_some())
        .collect();
    let certificates: BTreeSet<&str> = tls_rules
        .iter()
        .filter_map(|r| desired.certificates.get(r.service))
        .map(|c| c.id.as_str())
        .collect();
    if tls_rules.is_empty() || certificates.is_empty() {
        return;
    }
    let crts: Vec<String> = certificates
        .iter()
        .map(|id| format!("crt {}", certificate_path(id)))
        .collect();
    let _ = write!(
        out,
        "\nfrontend fleet:https\n\
         \x20   bind :{} ssl {} strict-sni alpn h2,http/1.1\n\
         \x20   mode http\n\
         \x20   option httplog\n",
        desired.balancer.https_port,
        crts.join(" ")
    );
    forwarded_headers(out, "https");
    // A request for another name than the connection's (HTTP/2 coalescing, or a client
    // fronting one name with another's certificate) is sent back to open its own connection.
    let _ = writeln!(
        out,
        "    http-request set-var(txn.fleet_host) req.hdr(host),field(1,:),lower\n    \
         http-request return status 421 content-type text/plain string \"misdirected request: the host name is not the TLS server name\" if {{ ssl_fc_sni -m found }} !{{ ssl_fc_sni,lower,strcmp(txn.fleet_host) eq 0 }}"
    );
    let tls_rules: Vec<Rule> = tls_rules
        .into_iter()
        .map(|r| Rule {
            service: r.service,
            wildcard: r.wildcard,
            hosts: r.hosts.clone(),
            path: r.path,
        })
        .collect();
    route_lines(out, &tls_rules);
    let _ = writeln!(out, "    use_backend %[var(txn.fleet_route)]");
}

/// The balancers are the edge: what a client sends as forwarding headers is dropped, and
/// replaced with what the balancer saw (its address, the scheme, the Host it asked for).
pub(super) fn forwarded_headers(out: &mut String, proto: &str) {
    let _ = writeln!(
        out,
        "    option forwardfor\n    \
         http-request del-header Forwarded\n    \
         http-request del-header X-Forwarded-For\n    \
         http-request del-header X-Forwarded-Host\n    \
         http-request set-header X-Forwarded-Proto {proto}\n    \
         http-request set-header X-Forwarded-Host %[req.hdr(host)] if {{ req.hdr(host) -m found }}"
    );
}

/// The rules as HAProxy lines: the first rule that matches names the backend in
/// `txn.fleet_route`; a request no rule matches gets a 404.
fn route_lines(out: &mut String, rules: &[Rule]) {
    for rule in rules {
        let host = if rule.wildcard {
            let patterns: Vec<String> = rule
                .hosts
                .iter()
                // One label of a DNS name's characters, as `hosts` allows.
                .map(|h| {
                    format!(
                        "^[a-z0-9-]+{}$",
                        h.trim_start_matches('*').replace('.', "\\.")
                    )
                })
                .collect();
            format!(
                "{{ req.hdr(host),field(1,:),lower -m reg {} }}",
                patterns.join(" ")
            )
        } else {
            format!(
                "{{ req.hdr(host),field(1,:),lower -m str {} }}",
                rule.hosts.join(" ")
            )
        };
        let unset = "!{ var(txn.fleet_route) -m found }";
        let set = format!(
            "http-request set-var(txn.fleet_route) str({})",
            rule.service
        );
        if rule.path == "/" {
            let _ = writeln!(out, "    {set} if {unset} {host}");
        } else {
            // Whole segments: `/v1` takes `/v1` and `/v1/...`, not `/v1x`.
            let _ = writeln!(
                out,
                "    {set} if {unset} {host} {{ path -m str {p} }} || {unset} {host} {{ path -m beg {p}/ }}",
                p = rule.path
            );
        }
    }
    let _ = writeln!(
        out,
        "    http-request return status 404 content-type text/plain string \"no service for this host name and path\" unless {{ var(txn.fleet_route) -m found }}"
    );
}
