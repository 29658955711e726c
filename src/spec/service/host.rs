//! The keys that tune the container's host configuration (`shm_size`, `ulimits`, `sysctls`,
//! `devices`, `dns`, `network_mode`, ...), decoded into [`HostSettings`] and passed to the engine
//! as Compose passes them. Also `pull_policy`, which is not part of the container.

use super::string_list;
use crate::spec::decode::{Cx, index, join};
use crate::spec::model::{Device, DeviceRequest, HostSettings, PullPolicy, Ulimit};
use crate::spec::yaml::{Kind, Node, Resolved};

pub const ULIMIT_KEYS: &[&str] = &["soft", "hard"];
pub const DEVICE_KEYS: &[&str] = &["source", "target", "permissions"];
pub const DEVICE_REQUEST_KEYS: &[&str] =
    &["capabilities", "driver", "count", "device_ids", "options"];

/// Decodes one host-configuration key into `h`; false when `key` is not one.
pub(super) fn host_key(
    cx: &mut Cx,
    field: &str,
    key: &str,
    v: &Node,
    h: &mut HostSettings,
) -> bool {
    match key {
        "shm_size" => h.shm_size = cx.size(field, v),
        "gpus" => h.gpus = gpus(cx, field, v),
        "ulimits" => h.ulimits = ulimits(cx, field, v),
        "sysctls" => h.sysctls = super::labels_of(cx, field, v, false),
        "security_opt" => h.security_opt = string_list(cx, field, v),
        "stdin_open" => h.stdin_open = cx.bool(field, v),
        "tty" => h.tty = cx.bool(field, v),
        // `platform: ${DOCKER_PLATFORM:-}` is empty when unset: the engine's own platform.
        "platform" => {
            h.platform = cx
                .text(field, v, "a platform such as linux/amd64")
                .filter(|p| !p.is_empty())
        }
        "runtime" => h.runtime = cx.text(field, v, "a runtime name such as runc"),
        "pids_limit" => h.pids_limit = cx.int(field, v, -1, i64::MAX),
        "mem_limit" => h.mem_limit = cx.size(field, v),
        "memswap_limit" => {
            h.memswap_limit = match v.resolve() {
                Some(Resolved::Int(-1)) => Some(-1),
                _ => cx
                    .size(field, v)
                    .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            }
        }
        "mem_reservation" => h.mem_reservation = cx.size(field, v),
        "cpus" => h.cpus = cpus(cx, field, v),
        "cpu_shares" => h.cpu_shares = cx.int(field, v, 0, 262_144),
        "cpuset" => h.cpuset = cx.text(field, v, "CPUs such as 0-3 or 0,1"),
        "devices" => h.devices = devices(cx, field, v),
        "privileged" => h.privileged = cx.bool(field, v),
        "group_add" => {
            h.group_add = match cx.seq(field, v, "a list of group names or ids") {
                Some(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| cx.text(&index(field, i), item, "a group name or id"))
                    .collect(),
                None => Vec::new(),
            }
        }
        "ipc" => h.ipc = cx.text(field, v, "shareable, private or host"),
        "pid" => h.pid = cx.text(field, v, "host"),
        "dns" => h.dns = strings(cx, field, v),
        "dns_search" => h.dns_search = strings(cx, field, v),
        "dns_opt" => h.dns_opt = string_list(cx, field, v),
        "oom_score_adj" => h.oom_score_adj = cx.int(field, v, -1000, 1000),
        "network_mode" => h.network_mode = network_mode(cx, field, v),
        _ => return false,
    }
    true
}

/// A CPU count such as `0.5`, written as a number or a string.
pub(super) fn cpus(cx: &mut Cx, field: &str, v: &Node) -> Option<f64> {
    let value = match v.resolve() {
        Some(Resolved::Str(s)) => s.parse::<f64>().ok(),
        Some(Resolved::Int(n)) => Some(n as f64),
        Some(Resolved::Float(x)) => Some(x),
        _ => None,
    };
    let valid = value.filter(|x| x.is_finite() && *x > 0.0 && *x <= 1024.0);
    if valid.is_none() {
        cx.error(
            v.pos,
            field,
            format!("`{}` is not a CPU count", v.scalar_text().unwrap_or("…")),
            "a number of cores greater than 0, e.g. 0.5",
        );
    }
    valid
}

fn strings(cx: &mut Cx, field: &str, v: &Node) -> Vec<String> {
    cx.string_or_list(field, v)
        .unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

fn ulimits(cx: &mut Cx, field: &str, node: &Node) -> std::collections::BTreeMap<String, Ulimit> {
    let mut out = std::collections::BTreeMap::new();
    for (name, _, v) in cx
        .map(
            field,
            node,
            "a mapping of limit name to a number or { soft, hard }",
        )
        .unwrap_or_default()
    {
        let f = join(field, name);
        let limit = match &v.kind {
            Kind::Map(_) => {
                let (mut soft, mut hard) = (None, None);
                for (k, kn, lv) in cx.map(&f, v, "").unwrap_or_default() {
                    let kf = join(&f, k);
                    match k {
                        "soft" => soft = cx.int(&kf, lv, -1, i64::MAX),
                        "hard" => hard = cx.int(&kf, lv, -1, i64::MAX),
                        _ => cx.unknown_key(kn, &kf, k, ULIMIT_KEYS),
                    }
                }
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Some(Ulimit { soft, hard }),
                    _ => {
                        cx.error(
                            v.pos,
                            &f,
                            "a limit needs both `soft` and `hard`",
                            "{ soft, hard }",
                        );
                        None
                    }
                }
            }
            _ => cx
                .int(&f, v, -1, i64::MAX)
                .map(|n| Ulimit { soft: n, hard: n }),
        };
        if let Some(limit) = limit {
            out.insert(name.to_string(), limit);
        }
    }
    out
}

fn devices(cx: &mut Cx, field: &str, node: &Node) -> Vec<Device> {
    let Some(items) = cx.seq(field, node, "a list of devices") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        let device = match &item.kind {
            Kind::Map(_) => {
                let mut d = Device {
                    host: String::new(),
                    container: String::new(),
                    permissions: "rwm".into(),
                };
                for (k, kn, v) in cx.map(&f, item, "").unwrap_or_default() {
                    let kf = join(&f, k);
                    match k {
                        "source" => d.host = cx.string(&kf, v).unwrap_or_default(),
                        "target" => d.container = cx.string(&kf, v).unwrap_or_default(),
                        "permissions" => {
                            d.permissions = cx.string(&kf, v).unwrap_or_else(|| "rwm".into())
                        }
                        _ => cx.unknown_key(kn, &kf, k, DEVICE_KEYS),
                    }
                }
                if d.container.is_empty() {
                    d.container = d.host.clone();
                }
                Some(d)
            }
            _ => cx.string(&f, item).map(|text| {
                let mut parts = text.splitn(3, ':');
                let host = parts.next().unwrap_or_default().to_string();
                let container = parts.next().map(str::to_string).unwrap_or(host.clone());
                let permissions = parts.next().unwrap_or("rwm").to_string();
                Device {
                    host,
                    container,
                    permissions,
                }
            }),
        };
        match device {
            Some(d) if d.host.starts_with('/') && d.container.starts_with('/') => out.push(d),
            Some(_) => cx.error(
                item.pos,
                &f,
                "a device needs absolute host and container paths",
                "/dev/HOST[:/dev/CONTAINER[:rwm]] or { source, target, permissions }",
            ),
            None => {}
        }
    }
    out
}

fn network_mode(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
    let mode = cx.string(field, node)?;
    match mode.as_str() {
        "host" | "none" | "bridge" => Some(mode),
        m if m.starts_with("service:") || m.starts_with("container:") => {
            cx.error_hint(
                node.pos,
                field,
                format!("`network_mode: {m}` is not supported"),
                "host, none or bridge",
                "replicas of different services may run on different hosts, and a network namespace cannot be shared across hosts; put the services on a common network instead",
            );
            None
        }
        m => {
            cx.error_hint(
                node.pos,
                field,
                format!("unknown network mode `{m}`"),
                "host, none or bridge",
                "to join a network, list it under `networks`",
            );
            None
        }
    }
}

pub(super) fn pull_policy(cx: &mut Cx, field: &str, node: &Node) -> Option<PullPolicy> {
    let text = cx.string(field, node)?;
    match text.as_str() {
        "always" => Some(PullPolicy::Always),
        "missing" | "if_not_present" => Some(PullPolicy::Missing),
        "never" => Some(PullPolicy::Never),
        "build" => {
            cx.error_hint(
                node.pos,
                field,
                "`pull_policy: build` is not supported",
                "always, missing, if_not_present or never",
                "fleet deploys images and does not build them; build and push the image in CI",
            );
            None
        }
        other => {
            cx.error(
                node.pos,
                field,
                format!("unknown pull policy `{other}`"),
                "always, missing, if_not_present or never",
            );
            None
        }
    }
}

/// Compose `gpus`: `all`, or a list of requests like `reservations.devices` whose capability
/// is `gpu`.
fn gpus(cx: &mut Cx, field: &str, node: &Node) -> Vec<DeviceRequest> {
    if node.scalar_text() == Some("all") {
        return vec![DeviceRequest {
            count: Some(-1),
            capabilities: vec!["gpu".into()],
            ..Default::default()
        }];
    }
    let mut out = device_requests(cx, field, node, false);
    for request in &mut out {
        if !request.capabilities.iter().any(|c| c == "gpu") {
            request.capabilities.push("gpu".into());
        }
    }
    out
}

/// `reservations.devices` (and `gpus` entries): each a mapping of `capabilities` (required
/// unless `capabilities_optional`), `driver`, `count` (a number or `all`), `device_ids`,
/// `options`.
pub(super) fn device_requests(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    capabilities_required: bool,
) -> Vec<DeviceRequest> {
    let mut out = Vec::new();
    let Some(items) = cx.seq(field, node, "a list of device requests") else {
        return out;
    };
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        let mut request = DeviceRequest::default();
        for (k, kn, v) in cx
            .map(
                &f,
                item,
                "a mapping with capabilities, driver, count, device_ids",
            )
            .unwrap_or_default()
        {
            let kf = join(&f, k);
            match k {
                "capabilities" => request.capabilities = string_list(cx, &kf, v),
                "driver" => request.driver = cx.string(&kf, v),
                "count" => {
                    request.count = if v.scalar_text() == Some("all") {
                        Some(-1)
                    } else {
                        cx.int(&kf, v, 1, i64::from(u32::MAX))
                    }
                }
                "device_ids" => request.device_ids = string_list(cx, &kf, v),
                "options" => request.options = super::labels_of(cx, &kf, v, false),
                _ if k.starts_with("x-") => {}
                _ => cx.unknown_key(kn, &kf, k, DEVICE_REQUEST_KEYS),
            }
        }
        if request.count.is_some() && !request.device_ids.is_empty() {
            cx.error(
                item.pos,
                &f,
                "`count` and `device_ids` cannot both be set",
                "one of them",
            );
            continue;
        }
        if capabilities_required && request.capabilities.is_empty() {
            cx.error(
                item.pos,
                &join(&f, "capabilities"),
                "missing `capabilities`",
                "a list such as [gpu]",
            );
            continue;
        }
        out.push(request);
    }
    out
}
