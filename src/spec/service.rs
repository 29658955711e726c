//! Decoding of one service written with Compose Specification keys.
//!
//! Every key Compose defines is either decoded here into the typed [`Service`] or refused with a
//! reason; nothing is accepted and then ignored. Values are checked as far as one service allows:
//! references to other services, volumes and networks are checked by the loader afterwards.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::decode::{Cx, index, join};
use super::model::{
    Constraint, ConstraintOp, ConstraintSubject, DEFAULT_DRAIN, DependsOn, Deploy, Expose,
    ExposeProtocol, FailureAction, Healthcheck, Logging, Mode, Mount, Origin, Placement, Port,
    Protocol, Resources, Restart, Service, ServiceNetwork, UpdateConfig, UpdateOrder,
};
use super::paths::{self, RepoPath};
use super::yaml::{Kind, Node, Pos, Resolved};
use super::{Files, dotenv};
use crate::labels;

pub const SERVICE_KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "networks",
    "labels",
    "healthcheck",
    "restart",
    "user",
    "working_dir",
    "stop_grace_period",
    "stop_signal",
    "init",
    "read_only",
    "cap_add",
    "cap_drop",
    "extra_hosts",
    "expose",
    "hostname",
    "logging",
    "tmpfs",
    "depends_on",
    "deploy",
];

pub const DEPLOY_KEYS: &[&str] = &[
    "mode",
    "replicas",
    "placement",
    "update_config",
    "rollback_config",
    "restart_policy",
    "resources",
];
pub const PLACEMENT_KEYS: &[&str] = &["constraints", "preferences", "max_replicas_per_node"];
pub const UPDATE_KEYS: &[&str] = &[
    "parallelism",
    "delay",
    "order",
    "failure_action",
    "monitor",
    "max_failure_ratio",
];
pub const RESTART_POLICY_KEYS: &[&str] = &["condition", "max_attempts"];
pub const RESOURCES_KEYS: &[&str] = &["limits"];
pub const LIMITS_KEYS: &[&str] = &["cpus", "memory"];
pub const HEALTHCHECK_KEYS: &[&str] = &[
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
];
pub const LOGGING_KEYS: &[&str] = &["driver", "options"];
pub const PORT_KEYS: &[&str] = &["target", "published", "host_ip", "protocol", "mode"];
pub const MOUNT_KEYS: &[&str] = &["type", "source", "target", "read_only"];
pub const SERVICE_NETWORK_KEYS: &[&str] = &["aliases"];
pub const ENV_FILE_KEYS: &[&str] = &["path", "required"];
pub const DEPENDS_ON_KEYS: &[&str] = &["condition", "restart", "required"];

/// Why a Compose service key that fleet does not implement is refused, so the message can
/// say what to do instead.
fn unsupported_service_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "build" => {
            "fleet deploys images and does not build them; build and push the image in CI and set `image`"
        }
        "container_name" => {
            "fleet names containers itself (<project>-<service>-<slot>) so that it can run replicas"
        }
        "scale" => "set the number of replicas with `deploy.replicas`",
        "links" | "external_links" => {
            "links are a legacy Compose feature; services reach each other by name on the project network"
        }
        "network_mode" => "replicas join the project's networks; set `networks` instead",
        "secrets" | "configs" => "Compose secrets and configs are not supported by fleet yet",
        "profiles" => "every service in the desired state is deployed; remove it or move it out",
        "pull_policy" => "fleet pulls an image when a host lacks the exact tag or digest",
        "platform"
        | "domainname"
        | "dns"
        | "dns_search"
        | "dns_opt"
        | "devices"
        | "privileged"
        | "pid"
        | "ipc"
        | "ulimits"
        | "sysctls"
        | "security_opt"
        | "shm_size"
        | "mem_limit"
        | "memswap_limit"
        | "cpus"
        | "cpu_shares"
        | "cpuset"
        | "mac_address"
        | "userns_mode"
        | "group_add"
        | "isolation"
        | "cgroup"
        | "cgroup_parent"
        | "runtime"
        | "storage_opt"
        | "stdin_open"
        | "tty"
        | "attach"
        | "blkio_config"
        | "cpu_count"
        | "cpu_percent"
        | "cpu_period"
        | "cpu_quota"
        | "cpu_rt_period"
        | "cpu_rt_runtime"
        | "device_cgroup_rules"
        | "env_from"
        | "extends"
        | "annotations"
        | "oom_kill_disable"
        | "oom_score_adj"
        | "pids_limit"
        | "label_file"
        | "develop"
        | "gpus"
        | "models"
        | "provider"
        | "use_api_socket"
        | "volumes_from"
        | "credential_spec"
        | "post_start"
        | "pre_stop"
        | "mem_reservation"
        | "mem_swappiness"
        | "lifecycle" => "fleet does not support this Compose key yet",
        _ => return None,
    })
}

/// Reports an unknown or unsupported key of a service-level mapping.
fn refuse_key(cx: &mut Cx, key_node: &Node, field: &str, key: &str, known: &[&str]) {
    if key.starts_with("x-") {
        return;
    }
    match unsupported_service_key(key).filter(|_| known == SERVICE_KEYS) {
        Some(reason) => cx.error_hint(
            key_node.pos,
            field,
            format!("the Compose key `{key}` is not supported"),
            "",
            reason,
        ),
        None if known == SERVICE_KEYS && DEPLOY_KEYS.contains(&key) => cx.error_hint(
            key_node.pos,
            field,
            format!("unknown key `{key}`"),
            "",
            format!("`{key}` belongs under `deploy:` (`deploy.{key}`), as in Compose"),
        ),
        None => cx.unknown_key(key_node, field, key, known),
    }
}

/// Everything about a service that the loader checks across services afterwards.
pub struct Decoded {
    pub service: Service,
    /// Named volumes used, with where they were written.
    pub volume_refs: Vec<(String, Pos, String)>,
    pub network_refs: Vec<(String, Pos, String)>,
    pub depends_refs: Vec<(String, Pos, String)>,
    /// Position of `deploy.replicas` (or of the service) for placement messages.
    pub replicas_pos: Pos,
    pub constraint_pos: Vec<Pos>,
    /// Position of `x-fleet.expose.host_port`, for clashes between services.
    pub expose_pos: Option<Pos>,
}

/// Decodes one service. `dir` is the directory of the file it is written in, for relative paths.
pub fn decode(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    name: &str,
    name_pos: Pos,
    field: &str,
    node: &Node,
) -> Option<Decoded> {
    let entries = cx.map(field, node, "a mapping of Compose service keys")?;
    let mut image = None;
    let mut s = Service {
        image: String::new(),
        command: None,
        entrypoint: None,
        environment: BTreeMap::new(),
        ports: Vec::new(),
        volumes: Vec::new(),
        networks: BTreeMap::new(),
        labels: BTreeMap::new(),
        healthcheck: None,
        restart: Restart::No,
        user: None,
        working_dir: None,
        stop_grace_period: None,
        stop_signal: None,
        init: None,
        read_only: None,
        cap_add: Vec::new(),
        cap_drop: Vec::new(),
        extra_hosts: Vec::new(),
        expose: Vec::new(),
        hostname: None,
        logging: None,
        tmpfs: Vec::new(),
        depends_on: BTreeMap::new(),
        expose_via: None,
        deploy: Deploy {
            mode: Mode::Replicated,
            replicas: 1,
            placement: Placement::default(),
            update_config: UpdateConfig::update_default(),
            rollback_config: UpdateConfig::rollback_default(),
            resources: Resources::default(),
        },
        origin: Origin {
            file: cx.file.clone(),
            line: name_pos.line,
            column: name_pos.col,
        },
    };
    let mut decoded = Decoded {
        service: s.clone(),
        volume_refs: Vec::new(),
        network_refs: Vec::new(),
        depends_refs: Vec::new(),
        replicas_pos: name_pos,
        constraint_pos: Vec::new(),
        expose_pos: None,
    };
    let mut env_file_vars = BTreeMap::new();
    let mut environment = BTreeMap::new();
    let mut restart_key: Option<Pos> = None;
    let mut restart_policy_key: Option<Pos> = None;

    for (key, key_node, value) in entries {
        let f = join(field, key);
        match key {
            "image" => {
                image = cx
                    .string(&f, value)
                    .and_then(|i| check_image(cx, &f, value, i))
            }
            "command" => s.command = command(cx, &f, value),
            "entrypoint" => s.entrypoint = command(cx, &f, value),
            "environment" => environment = env_map(cx, &f, value),
            "env_file" => env_file_vars = env_files(cx, files, dir, &f, value),
            "ports" => s.ports = ports(cx, &f, value),
            "volumes" => s.volumes = mounts(cx, files, dir, &f, value, &mut decoded.volume_refs),
            "networks" => s.networks = networks(cx, &f, value, &mut decoded.network_refs),
            "labels" => s.labels = user_labels(cx, &f, value),
            "healthcheck" => s.healthcheck = healthcheck(cx, &f, value),
            "restart" => {
                restart_key = Some(key_node.pos);
                s.restart = restart(cx, &f, value).unwrap_or_default();
            }
            "user" => s.user = cx.text(&f, value, "a user name or id"),
            "working_dir" => s.working_dir = absolute_path(cx, &f, value),
            "stop_grace_period" => s.stop_grace_period = cx.duration(&f, value),
            "stop_signal" => s.stop_signal = stop_signal(cx, &f, value),
            "init" => s.init = cx.bool(&f, value),
            "read_only" => s.read_only = cx.bool(&f, value),
            "cap_add" => s.cap_add = string_list(cx, &f, value),
            "cap_drop" => s.cap_drop = string_list(cx, &f, value),
            "extra_hosts" => s.extra_hosts = extra_hosts(cx, &f, value),
            "expose" => s.expose = expose(cx, &f, value),
            "hostname" => s.hostname = hostname(cx, &f, value),
            "logging" => s.logging = logging(cx, &f, value),
            "tmpfs" => s.tmpfs = tmpfs(cx, &f, value),
            "depends_on" => s.depends_on = depends_on(cx, &f, value, &mut decoded.depends_refs),
            "deploy" => {
                if let Some((deploy, policy)) = deploy(cx, &f, value, &mut decoded) {
                    s.deploy = deploy;
                    if let Some((pos, policy)) = policy {
                        restart_policy_key = Some(pos);
                        s.restart = policy;
                    }
                }
            }
            "x-fleet" => {
                if let Some(pos) = x_fleet(cx, &f, value, &mut s.expose_via) {
                    decoded.expose_pos = Some(pos);
                }
            }
            _ => refuse_key(cx, key_node, &f, key, SERVICE_KEYS),
        }
    }

    if let (Some(a), Some(_)) = (restart_key, restart_policy_key) {
        cx.error_hint(
            a,
            &join(field, "restart"),
            "both `restart` and `deploy.restart_policy` are set",
            "one of them",
            "remove one; they set the same engine restart policy",
        );
    }
    match image {
        Some(i) => s.image = i,
        None if !entries_have(node, "image") => cx.error_hint(
            name_pos,
            &join(field, "image"),
            format!("service `{name}` has no image"),
            "an image reference such as nginx:1.27 or registry.example.com/app:1.4.2",
            "add `image:`; fleet deploys images and does not build them",
        ),
        None => {}
    }
    // env_file first, then `environment` on top, as Compose does.
    env_file_vars.extend(environment);
    s.environment = env_file_vars;
    decoded.service = s;
    Some(decoded)
}

pub const X_FLEET_KEYS: &[&str] = &["expose"];
pub const EXPOSE_KEYS: &[&str] = &["port", "host_port", "protocol", "drain", "health_path"];

/// `x-fleet:` of a service: fleet's own extension (Compose ignores `x-` keys, so the file stays
/// a valid compose file). Returns the position of `expose.host_port` when one was decoded.
fn x_fleet(cx: &mut Cx, field: &str, node: &Node, out: &mut Option<Expose>) -> Option<Pos> {
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

fn entries_have(node: &Node, key: &str) -> bool {
    matches!(&node.kind, Kind::Map(e) if e.iter().any(|(k, _)| k.scalar_text() == Some(key)))
}

fn check_image(cx: &mut Cx, field: &str, node: &Node, image: String) -> Option<String> {
    let image = interpolate(cx, field, node, &image)?;
    let valid = !image.is_empty()
        && !image.chars().any(|c| c.is_whitespace() || c.is_control())
        && !image.starts_with(['-', ':', '@', '/'])
        && !image.ends_with([':', '@', '/']);
    if valid {
        Some(image)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{image}` is not an image reference"),
            "an image reference such as nginx:1.27 or registry.example.com/app@sha256:…",
        );
        None
    }
}

/// Compose interpolates `${VAR}` from the environment of whoever runs it. fleet's desired state
/// must mean the same on every machine and in CI, so variables are refused; `$$` still means a
/// literal `$`, as in Compose, so existing files keep their escaping.
pub fn interpolate(cx: &mut Cx, field: &str, node: &Node, text: &str) -> Option<String> {
    if !text.contains('$') {
        return Some(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some(&n) if n == '{' || n == '_' || n.is_ascii_alphabetic() => {
                let var: String = if n == '{' {
                    chars.by_ref().take_while(|&c| c != '}').collect::<String>()
                } else {
                    let mut v = String::new();
                    while let Some(&c) = chars.peek() {
                        if c == '_' || c.is_ascii_alphanumeric() {
                            v.push(c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    v
                };
                let var = var.trim_start_matches('{');
                let name: String = var
                    .chars()
                    .take_while(|c| *c == '_' || c.is_ascii_alphanumeric())
                    .collect();
                cx.error_hint(
                    node.pos,
                    field,
                    format!("variable interpolation (`${name}`) is not supported"),
                    "a literal value",
                    format!(
                        "git is the source of truth, so values cannot come from the environment of the machine running fleet; write the value, or `$${name}` for a literal `$`"
                    ),
                );
                return None;
            }
            _ => out.push('$'),
        }
    }
    Some(out)
}

/// A command as Compose writes it: a list, or a string split like a shell would.
fn command(cx: &mut Cx, field: &str, node: &Node) -> Option<Vec<String>> {
    match &node.kind {
        Kind::Seq(_) => {
            let items = cx.string_or_list(field, node)?;
            let mut out = Vec::with_capacity(items.len());
            for (item, _) in items {
                out.push(interpolate(cx, field, node, &item)?);
            }
            Some(out)
        }
        _ => {
            let text = cx.string(field, node)?;
            let text = interpolate(cx, field, node, &text)?;
            match shlex::split(&text) {
                Some(words) => Some(words),
                None => {
                    cx.error(
                        node.pos,
                        field,
                        "unbalanced quotes in the command",
                        "a command with matched quotes, or a list of arguments",
                    );
                    None
                }
            }
        }
    }
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.chars().any(|c| c.is_whitespace() || c == '\0')
}

fn env_map(cx: &mut Cx, field: &str, node: &Node) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let missing_value = |cx: &mut Cx, pos: Pos, f: &str, name: &str| {
        cx.error_hint(
            pos,
            f,
            format!("`{name}` has no value"),
            "NAME: value",
            "fleet does not pass variables through from the environment of the machine it runs on; write the value (an empty string is allowed)",
        );
    };
    match &node.kind {
        Kind::Map(_) => {
            for (name, key, value) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, name);
                if !valid_env_name(name) {
                    cx.error(
                        key.pos,
                        &f,
                        format!("`{name}` is not a variable name"),
                        "a name without `=` or spaces",
                    );
                    continue;
                }
                if value.is_null() {
                    missing_value(cx, value.pos, &f, name);
                    continue;
                }
                if let Some(v) = cx.text(&f, value, "a string, number or boolean") {
                    if let Some(v) = interpolate(cx, &f, value, &v) {
                        out.insert(name.to_string(), v);
                    }
                }
            }
        }
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                let Some(entry) = cx.string(&f, item) else {
                    continue;
                };
                let (name, value) = match entry.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (entry.clone(), None),
                };
                if !valid_env_name(&name) {
                    cx.error(
                        item.pos,
                        &f,
                        format!("`{entry}` is not NAME=value"),
                        "NAME=value",
                    );
                    continue;
                }
                let Some(value) = value else {
                    missing_value(cx, item.pos, &f, &name);
                    continue;
                };
                if let Some(v) = interpolate(cx, &f, item, &value) {
                    out.insert(name, v);
                }
            }
        }
        _ => {
            cx.error(
                node.pos,
                field,
                format!("found {}", node.type_name()),
                "a mapping of NAME: value, or a list of NAME=value",
            );
        }
    }
    out
}

fn env_files(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    field: &str,
    node: &Node,
) -> BTreeMap<String, String> {
    let mut entries: Vec<(String, bool, Pos, String)> = Vec::new();
    match &node.kind {
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                if let Kind::Map(_) = item.kind {
                    let mut path = None;
                    let mut required = true;
                    for (k, kn, v) in cx.map(&f, item, "").unwrap_or_default() {
                        match k {
                            "path" => path = cx.string(&join(&f, k), v).map(|p| (p, v.pos)),
                            "required" => required = cx.bool(&join(&f, k), v).unwrap_or(true),
                            _ => cx.unknown_key(kn, &join(&f, k), k, ENV_FILE_KEYS),
                        }
                    }
                    match path {
                        Some((p, pos)) => entries.push((p, required, pos, join(&f, "path"))),
                        None => cx.error(
                            item.pos,
                            &f,
                            "missing `path`",
                            "path: <file in the repository>",
                        ),
                    }
                } else if let Some(p) = cx.string(&f, item) {
                    entries.push((p, true, item.pos, f));
                }
            }
        }
        _ => {
            if let Some(p) = cx.string(field, node) {
                entries.push((p, true, node.pos, field.to_string()));
            }
        }
    }
    let mut vars = BTreeMap::new();
    for (path, required, pos, f) in entries {
        let Some(repo_path) = paths::resolve_in_repo(cx, &f, pos, dir, &path) else {
            continue;
        };
        match files.read(repo_path.as_str()) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                match dotenv::parse(&text) {
                    Ok(parsed) => vars.extend(parsed),
                    Err(errors) => {
                        let saved = std::mem::replace(&mut cx.file, repo_path.to_string());
                        for (line, message) in errors {
                            cx.error(
                                Pos { line, col: 1 },
                                "",
                                message,
                                "NAME=value, a # comment or an empty line",
                            );
                        }
                        cx.file = saved;
                    }
                }
            }
            Ok(None) if !required => {}
            Ok(None) => cx.error_hint(
                pos,
                &f,
                format!("`{path}` does not exist in the repository"),
                "a file committed in the repository",
                "commit the file, fix the path, or mark it `required: false`",
            ),
            Err(e) => cx.error(
                pos,
                &f,
                format!("cannot read `{path}`: {e}"),
                "a readable file",
            ),
        }
    }
    vars
}

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
    // An IPv6 host address is written in brackets: [::1]:8080:80.
    let (host_ip, rest) = if let Some(after) = body.strip_prefix('[') {
        let (ip, rest) = after
            .split_once("]:")
            .ok_or("unclosed `[` around an IPv6 address")?;
        (Some(ip), rest)
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        match parts.len() {
            1 | 2 => (None, body),
            3 => (Some(parts[0]), &body[parts[0].len() + 1..]),
            _ => return Err(format!("`{spec}` has too many `:`")),
        }
    };
    let host_ip = match host_ip {
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
            host_ip,
            protocol,
        })
        .collect())
}

fn ports(cx: &mut Cx, field: &str, node: &Node) -> Vec<Port> {
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
                match port_number(text) {
                    Some(p) => port.published = Some(p),
                    None => {
                        cx.error(
                            v.pos,
                            &f,
                            format!("`{text}` is not a port"),
                            "a port from 1 to 65535",
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
                    cx.error(
                        v.pos,
                        &f,
                        format!("unknown protocol `{other}`"),
                        "tcp or udp",
                    );
                    ok = false;
                }
                None => ok = false,
            },
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

fn mount_target(cx: &mut Cx, field: &str, pos: Pos, target: &str) -> bool {
    if target.starts_with('/') {
        true
    } else {
        cx.error(
            pos,
            field,
            format!("`{target}` is not an absolute path in the container"),
            "an absolute path such as /data",
        );
        false
    }
}

fn mounts(
    cx: &mut Cx,
    files: &dyn Files,
    dir: &RepoPath,
    field: &str,
    node: &Node,
    volume_refs: &mut Vec<(String, Pos, String)>,
) -> Vec<Mount> {
    let Some(items) = cx.seq(field, node, "a list of volumes") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        let (kind, source, target, read_only) = match &item.kind {
            Kind::Map(_) => {
                let mut kind = None;
                let mut source = None;
                let mut target = None;
                let mut read_only = false;
                for (k, kn, v) in cx.map(&f, item, "").unwrap_or_default() {
                    let kf = join(&f, k);
                    match k {
                        "type" => match cx.string(&kf, v).as_deref() {
                            Some(t @ ("volume" | "bind" | "tmpfs")) => kind = Some(t.to_string()),
                            Some(other) => cx.error(
                                v.pos,
                                &kf,
                                format!("unknown mount type `{other}`"),
                                "volume, bind or tmpfs",
                            ),
                            None => {}
                        },
                        "source" => source = cx.string(&kf, v),
                        "target" => target = cx.string(&kf, v),
                        "read_only" => read_only = cx.bool(&kf, v).unwrap_or(false),
                        _ => {
                            if !k.starts_with("x-") {
                                cx.unknown_key(kn, &kf, k, MOUNT_KEYS);
                            }
                        }
                    }
                }
                let Some(kind) = kind else {
                    cx.error(
                        item.pos,
                        &join(&f, "type"),
                        "missing `type`",
                        "volume, bind or tmpfs",
                    );
                    continue;
                };
                let Some(target) = target else {
                    cx.error(
                        item.pos,
                        &join(&f, "target"),
                        "missing `target`",
                        "an absolute path in the container",
                    );
                    continue;
                };
                (kind, source, target, read_only)
            }
            _ => {
                let Some(spec) = cx.string(&f, item) else {
                    continue;
                };
                let parts: Vec<&str> = spec.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [t] => (None, t.to_string(), None),
                    [s, t] => (Some(s.to_string()), t.to_string(), None),
                    [s, t, m] => (Some(s.to_string()), t.to_string(), Some(*m)),
                    _ => {
                        cx.error(
                            item.pos,
                            &f,
                            format!("`{spec}` has too many `:`"),
                            "[SOURCE:]TARGET[:ro|rw]",
                        );
                        continue;
                    }
                };
                let read_only = match mode {
                    None | Some("rw") => false,
                    Some("ro") => true,
                    Some(other) => {
                        cx.error(
                            item.pos,
                            &f,
                            format!("unsupported mount option `{other}`"),
                            "ro or rw",
                        );
                        continue;
                    }
                };
                let kind = match &source {
                    Some(s) if s.starts_with(['/', '.', '~']) => "bind",
                    _ => "volume",
                };
                (kind.to_string(), source, target, read_only)
            }
        };
        if !mount_target(cx, &f, item.pos, &target) {
            continue;
        }
        let mount = match (kind.as_str(), source) {
            ("tmpfs", _) => Mount::Tmpfs { target },
            ("volume", source) => {
                if let Some(name) = &source {
                    volume_refs.push((name.clone(), item.pos, f.clone()));
                }
                Mount::Volume {
                    source,
                    target,
                    read_only,
                }
            }
            (_, None) => {
                cx.error(
                    item.pos,
                    &join(&f, "source"),
                    "a bind mount needs a `source`",
                    "a path",
                );
                continue;
            }
            (_, Some(source)) if source.starts_with('/') => Mount::Bind {
                source,
                target,
                read_only,
            },
            (_, Some(source)) if source.starts_with('~') => {
                cx.error_hint(
                    item.pos,
                    &f,
                    format!("`{source}` uses `~`, which has no meaning on a remote host"),
                    "an absolute host path, or a path relative to the repository",
                    "write the absolute path on the host",
                );
                continue;
            }
            (_, Some(source)) => {
                let Some(path) = paths::resolve_in_repo(cx, &f, item.pos, dir, &source) else {
                    continue;
                };
                match files.exists(path.as_str()) {
                    Ok(true) => {}
                    Ok(false) => {
                        cx.error_hint(
                            item.pos,
                            &f,
                            format!("`{source}` does not exist in the repository"),
                            "a file or directory committed in the repository",
                            "a relative bind mount ships that path from the repository to the hosts; commit it or use an absolute host path",
                        );
                        continue;
                    }
                    Err(e) => {
                        cx.error(
                            item.pos,
                            &f,
                            format!("cannot read `{source}`: {e}"),
                            "a readable path",
                        );
                        continue;
                    }
                }
                Mount::RepoBind {
                    source: path.to_string(),
                    target,
                    read_only,
                }
            }
        };
        out.push(mount);
    }
    out
}

fn networks(
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
                            _ => {
                                if !k.starts_with("x-") {
                                    cx.unknown_key(kn, &join(&f, k), k, SERVICE_NETWORK_KEYS);
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

/// Labels given as a mapping or as a list of `key=value`, with fleet's own prefix refused.
pub fn labels_of(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    reserved_check: bool,
) -> BTreeMap<String, String> {
    let mut pairs: Vec<(String, String, Pos, String)> = Vec::new();
    match &node.kind {
        Kind::Map(_) => {
            for (k, kn, v) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, k);
                let value = if v.is_null() {
                    Some(String::new())
                } else {
                    cx.text(&f, v, "a string")
                };
                if let Some(value) = value {
                    pairs.push((k.to_string(), value, kn.pos, f));
                }
            }
        }
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                if let Some(entry) = cx.string(&f, item) {
                    let (k, v) = entry.split_once('=').unwrap_or((&entry, ""));
                    pairs.push((k.to_string(), v.to_string(), item.pos, f));
                }
            }
        }
        _ => cx.error(
            node.pos,
            field,
            format!("found {}", node.type_name()),
            "a mapping of key: value, or a list of key=value",
        ),
    }
    let mut out = BTreeMap::new();
    for (k, v, pos, f) in pairs {
        if k.is_empty() || k.chars().any(char::is_whitespace) {
            cx.error(
                pos,
                &f,
                format!("`{k}` is not a label key"),
                "a key without spaces",
            );
        } else if reserved_check && k.starts_with(labels::PREFIX) {
            cx.error_hint(
                pos,
                &f,
                format!("the label key `{k}` is reserved"),
                format!("a key not starting with `{}`", labels::PREFIX).as_str(),
                "fleet writes these labels itself to recognise the containers it manages",
            );
        } else {
            out.insert(k, v);
        }
    }
    out
}

fn user_labels(cx: &mut Cx, field: &str, node: &Node) -> BTreeMap<String, String> {
    labels_of(cx, field, node, true)
}

fn healthcheck(cx: &mut Cx, field: &str, node: &Node) -> Option<Healthcheck> {
    let mut hc = Healthcheck {
        test: Vec::new(),
        interval: None,
        timeout: None,
        retries: None,
        start_period: None,
        start_interval: None,
    };
    let mut disabled = false;
    for (k, kn, v) in cx.map(
        field,
        node,
        "a mapping with test, interval, timeout, retries, start_period",
    )? {
        let f = join(field, k);
        match k {
            "test" => hc.test = health_test(cx, &f, v).unwrap_or_default(),
            "interval" => hc.interval = cx.duration(&f, v),
            "timeout" => hc.timeout = cx.duration(&f, v),
            "retries" => hc.retries = cx.int(&f, v, 0, i64::from(u32::MAX)).map(|n| n as u32),
            "start_period" => hc.start_period = cx.duration(&f, v),
            "start_interval" => hc.start_interval = cx.duration(&f, v),
            "disable" => disabled = cx.bool(&f, v).unwrap_or(false),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, HEALTHCHECK_KEYS);
                }
            }
        }
    }
    if disabled {
        hc.test = vec!["NONE".into()];
    } else if hc.test.is_empty() {
        cx.error(
            node.pos,
            &join(field, "test"),
            "missing `test`",
            "a command, e.g. [\"CMD\", \"wget\", \"-qO-\", \"http://127.0.0.1:8080/\"]",
        );
        return None;
    }
    Some(hc)
}

fn health_test(cx: &mut Cx, field: &str, node: &Node) -> Option<Vec<String>> {
    const EXPECTED: &str = "a shell command string, or a list starting with CMD, CMD-SHELL or NONE";
    if let Some(Resolved::Str(s)) = node.resolve() {
        let s = interpolate(cx, field, node, s)?;
        return Some(vec!["CMD-SHELL".into(), s]);
    }
    let items = cx.string_or_list(field, node)?;
    let mut words = Vec::with_capacity(items.len());
    for (w, _) in items {
        words.push(interpolate(cx, field, node, &w)?);
    }
    match words.first().map(String::as_str) {
        Some("CMD" | "CMD-SHELL") if words.len() > 1 => Some(words),
        Some("NONE") if words.len() == 1 => Some(words),
        _ => {
            cx.error(node.pos, field, "not a health check command", EXPECTED);
            None
        }
    }
}

fn restart(cx: &mut Cx, field: &str, node: &Node) -> Option<Restart> {
    const EXPECTED: &str = "no, always, on-failure, on-failure:N or unless-stopped";
    let text = cx.string(field, node)?;
    let policy = match text.as_str() {
        "no" => Restart::No,
        "always" => Restart::Always,
        "unless-stopped" => Restart::UnlessStopped,
        "on-failure" => Restart::OnFailure { max_retries: None },
        other => match other.strip_prefix("on-failure:").map(str::parse::<u32>) {
            Some(Ok(n)) => Restart::OnFailure {
                max_retries: Some(n),
            },
            _ => {
                cx.error(
                    node.pos,
                    field,
                    format!("unknown restart policy `{other}`"),
                    EXPECTED,
                );
                return None;
            }
        },
    };
    Some(policy)
}

fn absolute_path(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
    let path = cx.string(field, node)?;
    if path.starts_with('/') {
        Some(path)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{path}` is not an absolute path"),
            "an absolute path in the container",
        );
        None
    }
}

fn stop_signal(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
    let signal = cx.text(field, node, "a signal name such as SIGTERM")?;
    let valid = signal.starts_with("SIG")
        && signal.len() > 3
        && signal[3..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '+')
        || signal.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n));
    if valid {
        Some(signal)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{signal}` is not a signal"),
            "a signal name such as SIGTERM, or its number",
        );
        None
    }
}

fn string_list(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
    let Some(items) = cx.seq(field, node, "a list of strings") else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| cx.string(&index(field, i), item))
        .collect()
}

fn extra_hosts(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
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

/// Container ports documented as exposed (`"3000"`, `"8000-8010/udp"`); no host port.
fn expose(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
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

fn hostname(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
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

fn logging(cx: &mut Cx, field: &str, node: &Node) -> Option<Logging> {
    let mut logging = Logging {
        driver: None,
        options: BTreeMap::new(),
    };
    for (k, kn, v) in cx.map(field, node, "a mapping with driver and options")? {
        let f = join(field, k);
        match k {
            "driver" => logging.driver = cx.string(&f, v),
            "options" => {
                for (ok, _, ov) in cx
                    .map(&f, v, "a mapping of option to value")
                    .unwrap_or_default()
                {
                    if let Some(value) = cx.text(&join(&f, ok), ov, "a string") {
                        logging.options.insert(ok.to_string(), value);
                    }
                }
            }
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, LOGGING_KEYS);
                }
            }
        }
    }
    Some(logging)
}

/// tmpfs mounts as Compose writes them: `/path` or `/path:size=64m,mode=1777`.
fn tmpfs(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for (text, pos) in cx.string_or_list(field, node).unwrap_or_default() {
        if text.starts_with('/') {
            out.push(text);
        } else {
            cx.error(
                pos,
                field,
                format!("`{text}` is not an absolute path"),
                "an absolute path in the container, optionally followed by :options",
            );
        }
    }
    out
}

fn depends_on(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    refs: &mut Vec<(String, Pos, String)>,
) -> BTreeMap<String, DependsOn> {
    let mut out = BTreeMap::new();
    match &node.kind {
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                if let Some(name) = cx.string(&f, item) {
                    refs.push((name.clone(), item.pos, f));
                    out.insert(name, DependsOn::ServiceStarted);
                }
            }
        }
        Kind::Map(_) => {
            for (name, key, value) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, name);
                refs.push((name.to_string(), key.pos, f.clone()));
                let mut condition = DependsOn::ServiceStarted;
                for (k, kn, v) in cx
                    .map(&f, value, "a mapping with `condition`")
                    .unwrap_or_default()
                {
                    let kf = join(&f, k);
                    match k {
                        "condition" => match cx.string(&kf, v).as_deref() {
                            Some("service_started") => condition = DependsOn::ServiceStarted,
                            Some("service_healthy") => condition = DependsOn::ServiceHealthy,
                            Some("service_completed_successfully") => {
                                condition = DependsOn::ServiceCompletedSuccessfully;
                            }
                            Some(other) => cx.error(
                                v.pos,
                                &kf,
                                format!("unknown condition `{other}`"),
                                "service_started, service_healthy or service_completed_successfully",
                            ),
                            None => {}
                        },
                        "restart" | "required" => {
                            cx.bool(&kf, v);
                            cx.error(kn.pos, &kf, format!("`{k}` is not supported in depends_on"), "condition");
                        }
                        _ => cx.unknown_key(kn, &kf, k, DEPENDS_ON_KEYS),
                    }
                }
                out.insert(name.to_string(), condition);
            }
        }
        _ => cx.error(
            node.pos,
            field,
            format!("found {}", node.type_name()),
            "a list of service names, or a mapping of service name to condition",
        ),
    }
    out
}

type RestartFromPolicy = Option<(Pos, Restart)>;

fn deploy(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    decoded: &mut Decoded,
) -> Option<(Deploy, RestartFromPolicy)> {
    let mut deploy = Deploy {
        mode: Mode::Replicated,
        replicas: 1,
        placement: Placement::default(),
        update_config: UpdateConfig::update_default(),
        rollback_config: UpdateConfig::rollback_default(),
        resources: Resources::default(),
    };
    let mut policy = None;
    let mut replicas_set = None;
    for (k, kn, v) in cx.map(field, node, "a mapping of deploy settings")? {
        let f = join(field, k);
        match k {
            "mode" => match cx.string(&f, v).as_deref() {
                Some("replicated") => deploy.mode = Mode::Replicated,
                Some("global") => deploy.mode = Mode::Global,
                Some(other) => cx.error(
                    v.pos,
                    &f,
                    format!("unknown mode `{other}`"),
                    "replicated or global",
                ),
                None => {}
            },
            "replicas" => {
                decoded.replicas_pos = v.pos;
                if let Some(n) = cx.int(&f, v, 0, 10_000) {
                    deploy.replicas = n as u32;
                    replicas_set = Some(v.pos);
                }
            }
            "placement" => deploy.placement = placement(cx, &f, v, &mut decoded.constraint_pos),
            "update_config" => {
                deploy.update_config =
                    update_config(cx, &f, v, UpdateConfig::update_default(), true)
            }
            "rollback_config" => {
                deploy.rollback_config =
                    update_config(cx, &f, v, UpdateConfig::rollback_default(), false)
            }
            "restart_policy" => policy = restart_policy(cx, &f, v).map(|p| (kn.pos, p)),
            "resources" => deploy.resources = resources(cx, &f, v),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, DEPLOY_KEYS);
                }
            }
        }
    }
    if let (Mode::Global, Some(pos)) = (deploy.mode, replicas_set) {
        cx.error(
            pos,
            &join(field, "replicas"),
            "`replicas` cannot be set with `mode: global`",
            "one of them",
        );
    }
    Some((deploy, policy))
}

fn placement(cx: &mut Cx, field: &str, node: &Node, positions: &mut Vec<Pos>) -> Placement {
    let mut placement = Placement::default();
    for (k, kn, v) in cx
        .map(
            field,
            node,
            "a mapping with constraints, preferences, max_replicas_per_node",
        )
        .unwrap_or_default()
    {
        let f = join(field, k);
        match k {
            "constraints" => {
                for (i, item) in cx
                    .seq(&f, v, "a list of constraints")
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let cf = index(&f, i);
                    if let Some(text) = cx.string(&cf, item) {
                        match parse_constraint(&text) {
                            Ok(c) => {
                                placement.constraints.push(c);
                                positions.push(item.pos);
                            }
                            Err(why) => cx.error(
                                item.pos,
                                &cf,
                                why,
                                "node.labels.KEY == VALUE, node.labels.KEY != VALUE or node.hostname == HOST",
                            ),
                        }
                    }
                }
            }
            "preferences" => {
                for (i, item) in cx
                    .seq(&f, v, "a list of `spread: node.labels.KEY`")
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let pf = index(&f, i);
                    for (pk, pkn, pv) in cx
                        .map(&pf, item, "a mapping `spread: node.labels.KEY`")
                        .unwrap_or_default()
                    {
                        let pkf = join(&pf, pk);
                        if pk != "spread" {
                            cx.unknown_key(pkn, &pkf, pk, &["spread"]);
                            continue;
                        }
                        if let Some(text) = cx.string(&pkf, pv) {
                            match text.trim().strip_prefix("node.labels.") {
                                Some(key) if !key.is_empty() => {
                                    placement.spread.push(key.to_string())
                                }
                                _ => cx.error(
                                    pv.pos,
                                    &pkf,
                                    format!("cannot spread over `{text}`"),
                                    "node.labels.KEY",
                                ),
                            }
                        }
                    }
                }
            }
            "max_replicas_per_node" => {
                placement.max_replicas_per_node = cx.int(&f, v, 1, 10_000).map(|n| n as u32);
            }
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, PLACEMENT_KEYS);
                }
            }
        }
    }
    placement
}

pub fn parse_constraint(text: &str) -> Result<Constraint, String> {
    let (lhs, op, rhs) = if let Some((l, r)) = text.split_once("==") {
        (l, ConstraintOp::Eq, r)
    } else if let Some((l, r)) = text.split_once("!=") {
        (l, ConstraintOp::Ne, r)
    } else {
        return Err(format!("`{text}` has no `==` or `!=`"));
    };
    let (lhs, rhs) = (lhs.trim(), rhs.trim());
    if rhs.is_empty() {
        return Err(format!("`{text}` has nothing to compare with"));
    }
    let subject = if lhs == "node.hostname" {
        ConstraintSubject::Hostname
    } else if let Some(key) = lhs.strip_prefix("node.labels.").filter(|k| !k.is_empty()) {
        ConstraintSubject::Label(key.to_string())
    } else {
        return Err(format!("`{lhs}` cannot be used in a constraint"));
    };
    Ok(Constraint {
        subject,
        op,
        value: rhs.to_string(),
        text: text.trim().to_string(),
    })
}

fn update_config(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    mut config: UpdateConfig,
    allow_rollback: bool,
) -> UpdateConfig {
    for (k, kn, v) in cx
        .map(field, node, "a mapping of rollout settings")
        .unwrap_or_default()
    {
        let f = join(field, k);
        match k {
            "parallelism" => {
                if let Some(n) = cx.int(&f, v, 0, 10_000) {
                    config.parallelism = n as u32;
                }
            }
            "delay" => config.delay = cx.duration(&f, v).unwrap_or(config.delay),
            "monitor" => config.monitor = cx.duration(&f, v).unwrap_or(config.monitor),
            "order" => match cx.string(&f, v).as_deref() {
                Some("stop-first") => config.order = UpdateOrder::StopFirst,
                Some("start-first") => config.order = UpdateOrder::StartFirst,
                Some(other) => cx.error(
                    v.pos,
                    &f,
                    format!("unknown order `{other}`"),
                    "stop-first or start-first",
                ),
                None => {}
            },
            "failure_action" => match cx.string(&f, v).as_deref() {
                Some("rollback") if allow_rollback => {
                    config.failure_action = FailureAction::Rollback
                }
                Some("pause") => config.failure_action = FailureAction::Pause,
                Some("continue") => config.failure_action = FailureAction::Continue,
                Some(other) => {
                    let expected = if allow_rollback {
                        "rollback, pause or continue"
                    } else {
                        "pause or continue"
                    };
                    cx.error(
                        v.pos,
                        &f,
                        format!("unknown failure action `{other}`"),
                        expected,
                    );
                }
                None => {}
            },
            "max_failure_ratio" => {
                config.max_failure_ratio = cx
                    .float(&f, v, 0.0, 1.0)
                    .unwrap_or(config.max_failure_ratio);
            }
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, UPDATE_KEYS);
                }
            }
        }
    }
    config
}

fn restart_policy(cx: &mut Cx, field: &str, node: &Node) -> Option<Restart> {
    let mut condition = None;
    let mut max_attempts = None;
    for (k, kn, v) in cx.map(field, node, "a mapping with condition and max_attempts")? {
        let f = join(field, k);
        match k {
            "condition" => match cx.string(&f, v).as_deref() {
                Some(c @ ("none" | "on-failure" | "any")) => condition = Some((c.to_string(), v.pos)),
                Some(other) => cx.error(v.pos, &f, format!("unknown condition `{other}`"), "none, on-failure or any"),
                None => {}
            },
            "max_attempts" => max_attempts = cx.int(&f, v, 0, i64::from(u32::MAX)).map(|n| n as u32),
            "delay" | "window" => cx.error_hint(
                kn.pos,
                &f,
                format!("`{k}` is not supported"),
                "condition or max_attempts",
                "the engine restarts with its own backoff; `fleet watch` adds crash-loop backoff per replica",
            ),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, RESTART_POLICY_KEYS);
                }
            }
        }
    }
    Some(match condition.as_ref().map(|(c, _)| c.as_str()) {
        Some("none") => Restart::No,
        Some("on-failure") => Restart::OnFailure {
            max_retries: max_attempts,
        },
        // Swarm's default condition is `any`.
        _ => Restart::Always,
    })
}

fn resources(cx: &mut Cx, field: &str, node: &Node) -> Resources {
    let mut resources = Resources::default();
    for (k, kn, v) in cx
        .map(field, node, "a mapping with `limits`")
        .unwrap_or_default()
    {
        let f = join(field, k);
        match k {
            "limits" => {
                for (lk, lkn, lv) in cx.map(&f, v, "a mapping with cpus and memory").unwrap_or_default() {
                    let lf = join(&f, lk);
                    match lk {
                        "cpus" => {
                            let value = match lv.resolve() {
                                Some(Resolved::Str(s)) => s.parse::<f64>().ok(),
                                Some(Resolved::Int(n)) => Some(n as f64),
                                Some(Resolved::Float(x)) => Some(x),
                                _ => None,
                            };
                            match value.filter(|x| x.is_finite() && *x > 0.0 && *x <= 1024.0) {
                                Some(x) => resources.cpus = Some(x),
                                None => cx.error(lv.pos, &lf, format!("`{}` is not a CPU count", lv.scalar_text().unwrap_or("…")), "a number of cores greater than 0, e.g. 0.5"),
                            }
                        }
                        "memory" => resources.memory = cx.size(&lf, lv),
                        _ => {
                            if !lk.starts_with("x-") {
                                cx.unknown_key(lkn, &lf, lk, LIMITS_KEYS);
                            }
                        }
                    }
                }
            }
            "reservations" => cx.error_hint(
                kn.pos,
                &f,
                "`reservations` is not supported",
                "limits",
                "placement does not account for reserved resources; use constraints and max_replicas_per_node",
            ),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, RESOURCES_KEYS);
                }
            }
        }
    }
    resources
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
        assert!(parse_port("8000-8001:80").is_err());
        assert!(parse_port("a:b:c:d").is_err());
    }

    #[test]
    fn constraints_parse_labels_and_hostname() {
        let c = parse_constraint("node.labels.zone == a").unwrap();
        assert_eq!(c.subject, ConstraintSubject::Label("zone".into()));
        assert_eq!(c.op, ConstraintOp::Eq);
        assert_eq!(c.value, "a");
        let c = parse_constraint("node.hostname!=web-1").unwrap();
        assert_eq!(c.subject, ConstraintSubject::Hostname);
        assert_eq!(c.op, ConstraintOp::Ne);
        assert!(parse_constraint("node.role == manager").is_err());
        assert!(parse_constraint("node.labels.zone").is_err());
        assert!(parse_constraint("node.labels.zone ==").is_err());
    }
}
