//! Loading the desired state: fleet.yaml, the compose files it includes, and the env files they
//! name, all read through [`Files`] (one commit, or the working tree), into a [`Desired`].
//!
//! The loader reports every problem it finds rather than stopping at the first. It does no I/O
//! of its own; the caller decides where files come from.

use std::collections::{BTreeMap, BTreeSet};

use super::Files;
use super::decode::{Cx, index, join};
use super::diag::{Diagnostic, Diagnostics, did_you_mean};
use super::model::{
    Address, BalancerSettings, ConstraintOp, ConstraintSubject, DEFAULT_DOCKER_SOCKET, Desired,
    Host, LOCAL_HOST, Mode, Network, Service, Volume, WatchSettings,
};
use super::paths::{RepoPath, resolve_in_repo};
use super::service::{self, Decoded, labels_of};
use super::yaml::{self, Kind, Node, Pos};

pub const ROOT_FILE: &str = "fleet.yaml";
pub const ROOT_KEYS: &[&str] = &[
    "project", "hosts", "services", "include", "volumes", "networks", "watch", "balancer",
];
pub const BALANCER_KEYS: &[&str] = &["image", "hosts"];
pub const WATCH_KEYS: &[&str] = &["host_down_after", "allow_mass_delete"];
pub const HOST_KEYS: &[&str] = &["address", "labels", "docker_socket", "identity_file"];
pub const COMPOSE_KEYS: &[&str] = &["services", "volumes", "networks", "include", "version"];
pub const VOLUME_KEYS: &[&str] = &["driver", "driver_opts", "labels", "external", "name"];
pub const NETWORK_KEYS: &[&str] = &[
    "driver",
    "driver_opts",
    "labels",
    "external",
    "internal",
    "name",
];

/// Included files deeper than this are refused (a cycle is reported before it gets there).
const MAX_INCLUDE_DEPTH: usize = 16;

/// What loading produced: the desired state when there were no errors, and every diagnostic.
#[derive(Debug)]
pub struct Loaded {
    pub desired: Option<Desired>,
    pub diagnostics: Vec<Diagnostic>,
}

struct ServiceEntry {
    decoded: Decoded,
    file: String,
    name_pos: Pos,
}

#[derive(Default)]
struct State {
    services: BTreeMap<String, ServiceEntry>,
    volumes: BTreeMap<String, (Volume, String, Pos)>,
    networks: BTreeMap<String, (Network, String, Pos)>,
    /// Files already read, to refuse include cycles and double includes.
    included: BTreeSet<RepoPath>,
}

pub fn load(files: &dyn Files) -> Loaded {
    let mut diags = Diagnostics::default();
    let desired = load_into(files, &mut diags);
    let failed = diags.has_errors();
    Loaded {
        desired: if failed { None } else { desired },
        diagnostics: diags.into_sorted(),
    }
}

fn read_yaml(
    files: &dyn Files,
    path: &RepoPath,
    diags: &mut Diagnostics,
    cx_file: &str,
    missing: impl FnOnce(&mut Diagnostics),
) -> Option<Node> {
    let bytes = match files.read(path.as_str()) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            missing(diags);
            return None;
        }
        Err(e) => {
            Cx::new(cx_file, diags).error(
                Pos::default(),
                "",
                format!("cannot read the file: {e}"),
                "",
            );
            return None;
        }
    };
    let mut cx = Cx::new(path.as_str(), diags);
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let upto = &bytes[..e.valid_up_to()];
            let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
            let col = upto.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            cx.error(
                Pos {
                    line: line as u32,
                    col: col as u32,
                },
                "",
                "the file is not valid UTF-8",
                "UTF-8 text",
            );
            return None;
        }
    };
    let parsed = yaml::parse(text);
    for e in &parsed.errors {
        cx.error(e.pos, "", format!("invalid YAML: {}", e.message), "");
    }
    if !parsed.errors.is_empty() {
        return None;
    }
    match parsed.root {
        Some(root) if !root.is_null() => Some(root),
        _ => {
            cx.error(
                Pos { line: 1, col: 1 },
                "",
                "the file is empty",
                "a mapping of top-level keys",
            );
            None
        }
    }
}

fn load_into(files: &dyn Files, diags: &mut Diagnostics) -> Option<Desired> {
    let root_path = RepoPath::root().join(ROOT_FILE)?;
    let root = read_yaml(files, &root_path, diags, ROOT_FILE, |d| {
        Cx::new(ROOT_FILE, d).error_hint(
            Pos::default(),
            "",
            "no fleet.yaml at the project root",
            "",
            "create fleet.yaml (see examples/quickstart), or point fleet at the project with -C DIR or --repo",
        );
    })?;
    let mut state = State::default();
    state.included.insert(root_path.clone());
    let mut cx = Cx::new(ROOT_FILE, diags);
    let entries = cx.map("", &root, "a mapping with project, hosts, services")?;

    let mut project = None;
    let mut hosts = None;
    let mut includes = Vec::new();
    let mut services_node = None;
    let mut watch = WatchSettings::default();
    let mut balancer = None;
    for (key, key_node, value) in entries {
        match key {
            "project" => project = project_name(&mut cx, value),
            "hosts" => hosts = Some(decode_hosts(&mut cx, value)),
            "services" => services_node = Some(value),
            "include" => includes = include_list(&mut cx, "include", value),
            "volumes" => decode_volumes(&mut cx, value, &mut state),
            "networks" => decode_networks(&mut cx, value, &mut state),
            "watch" => watch = decode_watch(&mut cx, value),
            "balancer" => balancer = decode_balancer(&mut cx, value),
            k if k.starts_with("x-") => {}
            k => cx.unknown_key(key_node, k, k, ROOT_KEYS),
        }
    }
    if project.is_none() && !root_has(&root, "project") {
        cx.error_hint(
            root.pos,
            "project",
            "missing `project`",
            "a name of lowercase letters, digits and `-`",
            "add e.g. `project: shop`; it scopes every label fleet writes, so two projects never touch each other's containers",
        );
    }
    if let Some(node) = services_node {
        decode_services(&mut cx, files, &RepoPath::root(), node, &mut state);
    }
    drop(cx);
    for (path, pos) in includes {
        include_file(files, diags, ROOT_FILE, &path, pos, &mut state, 1);
    }

    let hosts = hosts.unwrap_or_else(|| {
        BTreeMap::from([(
            LOCAL_HOST.to_string(),
            Host {
                address: Address::Local,
                labels: BTreeMap::new(),
                identity_file: None,
            },
        )])
    });
    cross_check(diags, &hosts, &state);
    let balancer = check_balancer(diags, &hosts, &state, balancer);

    let project = project?;
    Some(Desired {
        project,
        hosts,
        services: state
            .services
            .into_iter()
            .map(|(name, entry)| (name, entry.decoded.service))
            .collect(),
        volumes: state
            .volumes
            .into_iter()
            .map(|(k, (v, _, _))| (k, v))
            .collect(),
        networks: state
            .networks
            .into_iter()
            .map(|(k, (v, _, _))| (k, v))
            .collect(),
        watch,
        balancer,
    })
}

/// `balancer:` as written, with the position of each ingress host name for later checks.
struct BalancerDecl {
    image: Option<String>,
    hosts: Option<(Vec<(String, Pos)>, Pos)>,
}

fn decode_balancer(cx: &mut Cx, node: &Node) -> Option<BalancerDecl> {
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
fn check_balancer(
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

fn decode_watch(cx: &mut Cx, node: &Node) -> WatchSettings {
    let mut watch = WatchSettings::default();
    if node.is_null() {
        return watch;
    }
    for (k, kn, v) in cx
        .map("watch", node, "a mapping of `fleet watch` settings")
        .unwrap_or_default()
    {
        let f = join("watch", k);
        match k {
            "host_down_after" => {
                if let Some(d) = cx.duration(&f, v) {
                    if d < std::time::Duration::from_secs(1) {
                        cx.error(v.pos, &f, "must be at least 1s", "a duration of 1s or more");
                    } else {
                        watch.host_down_after = d;
                    }
                }
            }
            "allow_mass_delete" => watch.allow_mass_delete = cx.bool(&f, v).unwrap_or(false),
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, WATCH_KEYS),
        }
    }
    watch
}

fn root_has(node: &Node, key: &str) -> bool {
    matches!(&node.kind, Kind::Map(e) if e.iter().any(|(k, _)| k.scalar_text() == Some(key)))
}

fn project_name(cx: &mut Cx, node: &Node) -> Option<String> {
    let name = cx.string("project", node)?;
    let valid = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Some(name)
    } else {
        let suggestion: String = name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let suggestion = suggestion.trim_matches('-').to_string();
        let hint = (!suggestion.is_empty() && suggestion.len() <= 40)
            .then(|| format!("did you mean `{suggestion}`?"));
        cx.report(
            super::diag::Severity::Error,
            node.pos,
            "project",
            format!("`{name}` is not a valid project name"),
            Some("1 to 40 characters of a-z, 0-9 and `-`, not starting or ending with `-`".into()),
            hint,
        );
        None
    }
}

/// Names of services and hosts: what Docker accepts in a container name, and Compose in a
/// service name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

const NAME_EXPECTED: &str =
    "1 to 63 characters of letters, digits, `_`, `.` and `-`, starting with a letter or digit";

fn decode_hosts(cx: &mut Cx, node: &Node) -> BTreeMap<String, Host> {
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
            },
        );
    }
    hosts
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
            super::diag::Severity::Error,
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

fn include_list(cx: &mut Cx, field: &str, node: &Node) -> Vec<(String, Pos)> {
    let Some(items) = cx.seq(field, node, "a list of compose files") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        match &item.kind {
            Kind::Map(_) => {
                for (k, kn, v) in cx.map(&f, item, "").unwrap_or_default() {
                    match k {
                        "path" => {
                            if let Some(p) = cx.string(&join(&f, k), v) {
                                out.push((p, v.pos));
                            }
                        }
                        _ => cx.unknown_key(kn, &join(&f, k), k, &["path"]),
                    }
                }
            }
            _ => {
                if let Some(p) = cx.string(&f, item) {
                    out.push((p, item.pos));
                }
            }
        }
    }
    out
}

fn include_file(
    files: &dyn Files,
    diags: &mut Diagnostics,
    from_file: &str,
    written: &str,
    pos: Pos,
    state: &mut State,
    depth: usize,
) {
    let from_dir = RepoPath::root()
        .join(from_file)
        .map(|p| p.parent())
        .unwrap_or_default();
    let path = {
        let mut cx = Cx::new(from_file, diags);
        let Some(path) = resolve_in_repo(&mut cx, "include", pos, &from_dir, written) else {
            return;
        };
        if state.included.contains(&path) {
            cx.error(
                pos,
                "include",
                format!("`{written}` is included more than once (or includes itself)"),
                "each file included once",
            );
            return;
        }
        if depth > MAX_INCLUDE_DEPTH {
            cx.error(
                pos,
                "include",
                "includes nest too deeply",
                format!("at most {MAX_INCLUDE_DEPTH} levels").as_str(),
            );
            return;
        }
        path
    };
    state.included.insert(path.clone());
    let from = from_file.to_string();
    let Some(root) = read_yaml(files, &path, diags, &from, |d| {
        Cx::new(from.clone(), d).error_hint(
            pos,
            "include",
            format!("`{written}` does not exist in the repository"),
            "a compose file committed in the repository",
            "commit the file or fix the path",
        );
    }) else {
        return;
    };
    let file = path.to_string();
    let mut cx = Cx::new(file.clone(), diags);
    let Some(entries) = cx.map("", &root, "a compose file: a mapping with `services`") else {
        return;
    };
    let mut nested = Vec::new();
    for (key, key_node, value) in entries {
        match key {
            "services" => decode_services(&mut cx, files, &path.parent(), value, state),
            "volumes" => decode_volumes(&mut cx, value, state),
            "networks" => decode_networks(&mut cx, value, state),
            "include" => nested = include_list(&mut cx, "include", value),
            "version" => cx.warning(
                key_node.pos,
                "version",
                "`version` is obsolete in the Compose Specification and has no effect",
                Some("remove it".into()),
            ),
            "name" => cx.error_hint(
                key_node.pos,
                "name",
                "an included compose file cannot set the project name",
                "",
                "the project name is `project` in fleet.yaml; remove `name`",
            ),
            "secrets" | "configs" => cx.error(
                key_node.pos,
                key,
                format!("Compose `{key}` are not supported by fleet yet"),
                "services, volumes, networks",
            ),
            k if k.starts_with("x-") => {}
            k => cx.unknown_key(key_node, k, k, COMPOSE_KEYS),
        }
    }
    drop(cx);
    for (p, pos) in nested {
        include_file(files, diags, &file, &p, pos, state, depth + 1);
    }
}

fn decode_services(cx: &mut Cx, files: &dyn Files, dir: &RepoPath, node: &Node, state: &mut State) {
    if node.is_null() {
        return;
    }
    let Some(entries) = cx.map("services", node, "a mapping of service name to service") else {
        return;
    };
    for (name, key, value) in entries {
        // Extension fields (YAML anchors' usual home) are not services, as in Compose.
        if name.starts_with("x-") {
            continue;
        }
        let field = join("services", name);
        if !valid_name(name) {
            cx.error(
                key.pos,
                &field,
                format!("`{name}` is not a valid service name"),
                NAME_EXPECTED,
            );
            continue;
        }
        if let Some(first) = state.services.get(name) {
            let (file, line) = (first.file.clone(), first.name_pos.line);
            cx.error_hint(
                key.pos,
                &field,
                format!("service `{name}` is defined twice"),
                "each service defined once",
                format!("it is first defined at {file}:{line}; rename or remove one"),
            );
            continue;
        }
        if let Some(decoded) = service::decode(cx, files, dir, name, key.pos, &field, value) {
            state.services.insert(
                name.to_string(),
                ServiceEntry {
                    decoded,
                    file: cx.file.clone(),
                    name_pos: key.pos,
                },
            );
        }
    }
}

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

fn decode_volumes(cx: &mut Cx, node: &Node, state: &mut State) {
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

fn decode_networks(cx: &mut Cx, node: &Node, state: &mut State) {
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
                    k if k.starts_with("x-") => {}
                    _ => cx.unknown_key(kn, &f, k, NETWORK_KEYS),
                }
            }
        }
        merge_named(cx, "network", name, key.pos, network, &mut state.networks);
    }
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

/// Checks that need every service and host: references, dependency cycles and placement that
/// cannot work whatever the hosts run.
fn cross_check(diags: &mut Diagnostics, hosts: &BTreeMap<String, Host>, state: &State) {
    let all_labels: BTreeSet<&str> = hosts
        .values()
        .flat_map(|h| h.labels.keys().map(String::as_str))
        .collect();
    for (name, entry) in &state.services {
        let mut cx = Cx::new(entry.file.clone(), diags);
        let d = &entry.decoded;
        for (volume, pos, field) in &d.volume_refs {
            if !state.volumes.contains_key(volume) {
                let hint = did_you_mean(volume, state.volumes.keys().map(String::as_str))
                    .map(|v| format!("did you mean `{v}`?"))
                    .unwrap_or_else(|| format!("declare it under the top-level `volumes:` (`volumes: {{ {volume}: {{}} }}`)"));
                cx.error_hint(
                    *pos,
                    field,
                    format!("volume `{volume}` is not declared"),
                    "a volume declared under the top-level `volumes`",
                    hint,
                );
            }
        }
        for (network, pos, field) in &d.network_refs {
            if network != "default" && !state.networks.contains_key(network) {
                let hint = did_you_mean(network, state.networks.keys().map(String::as_str))
                    .map(|v| format!("did you mean `{v}`?"))
                    .unwrap_or_else(|| "declare it under the top-level `networks:`".into());
                cx.error_hint(
                    *pos,
                    field,
                    format!("network `{network}` is not declared"),
                    "a network declared under the top-level `networks`, or `default`",
                    hint,
                );
            }
        }
        for (dep, pos, field) in &d.depends_refs {
            if dep == name {
                cx.error(
                    *pos,
                    field,
                    format!("service `{name}` depends on itself"),
                    "another service",
                );
            } else if !state.services.contains_key(dep) {
                let hint = did_you_mean(dep, state.services.keys().map(String::as_str))
                    .map(|v| format!("did you mean `{v}`?"));
                cx.report(
                    super::diag::Severity::Error,
                    *pos,
                    field,
                    format!("service `{dep}` does not exist"),
                    Some("the name of a service".into()),
                    hint,
                );
            }
        }
        check_placement(&mut cx, name, entry, hosts, &all_labels);
    }
    report_dependency_cycles(diags, state);
}

fn check_placement(
    cx: &mut Cx,
    name: &str,
    entry: &ServiceEntry,
    hosts: &BTreeMap<String, Host>,
    all_labels: &BTreeSet<&str>,
) {
    let d = &entry.decoded;
    let service: &Service = &d.service;
    let placement = &service.deploy.placement;
    let field = format!("services.{name}.deploy.placement.constraints");
    for (i, (constraint, pos)) in placement
        .constraints
        .iter()
        .zip(&d.constraint_pos)
        .enumerate()
    {
        let f = index(&field, i);
        match &constraint.subject {
            ConstraintSubject::Label(key) if !all_labels.contains(key.as_str()) => cx.warning(
                *pos,
                &f,
                format!("no host has the label `{key}`"),
                did_you_mean(key, all_labels.iter().copied())
                    .map(|k| format!("did you mean `node.labels.{k}`?")),
            ),
            ConstraintSubject::Label(key) if constraint.op == ConstraintOp::Eq => {
                let values: BTreeSet<&str> = hosts
                    .values()
                    .filter_map(|h| h.labels.get(key).map(String::as_str))
                    .collect();
                if !values.contains(constraint.value.as_str()) {
                    let listed = values.iter().copied().collect::<Vec<_>>().join(", ");
                    cx.warning(
                        *pos,
                        &f,
                        format!(
                            "no host has the label `{key}` with value `{}` (hosts have: {listed})",
                            constraint.value
                        ),
                        did_you_mean(&constraint.value, values.iter().copied())
                            .map(|v| format!("did you mean `{v}`?")),
                    );
                }
            }
            ConstraintSubject::Hostname if !hosts.contains_key(&constraint.value) => cx.warning(
                *pos,
                &f,
                format!("no host is named `{}`", constraint.value),
                did_you_mean(&constraint.value, hosts.keys().map(String::as_str))
                    .map(|h| format!("did you mean `{h}`?")),
            ),
            _ => {}
        }
    }
    for key in &placement.spread {
        if !all_labels.contains(key.as_str()) {
            cx.warning(
                d.replicas_pos,
                &format!("services.{name}.deploy.placement.preferences"),
                format!("no host has the label `{key}` to spread over"),
                None,
            );
        }
    }
    let eligible = hosts
        .iter()
        .filter(|(host, h)| {
            placement
                .constraints
                .iter()
                .all(|c| c.matches(host, &h.labels))
        })
        .count() as u64;
    let replicas_field = format!("services.{name}.deploy.replicas");
    if service.deploy.mode == Mode::Global {
        if eligible == 0 {
            cx.warning(
                d.replicas_pos,
                &field,
                format!(
                    "no host satisfies the constraints, so global service `{name}` runs nowhere"
                ),
                None,
            );
        }
        return;
    }
    let replicas = u64::from(service.deploy.replicas);
    if replicas == 0 {
        return;
    }
    if eligible == 0 {
        cx.error_hint(
            d.replicas_pos,
            &replicas_field,
            format!("no host satisfies the placement constraints of `{name}`"),
            "constraints that at least one host satisfies",
            format!(
                "hosts: {}",
                hosts.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
        return;
    }
    if let Some(max) = placement.max_replicas_per_node {
        let capacity = eligible * u64::from(max);
        if replicas > capacity {
            cx.error_hint(
                d.replicas_pos,
                &replicas_field,
                format!("{replicas} replicas cannot be placed: {eligible} eligible host(s) × max_replicas_per_node {max} = {capacity}"),
                format!("at most {capacity} replicas").as_str(),
                "add hosts, relax the constraints, or raise max_replicas_per_node",
            );
            return;
        }
    }
    if let Some(port) = service.ports.iter().find(|p| p.published.is_some()) {
        if replicas > eligible {
            cx.error_hint(
                d.replicas_pos,
                &replicas_field,
                format!(
                    "{replicas} replicas cannot each bind host port {}: only {eligible} eligible host(s), and a fixed host port fits one replica per host",
                    port.published.unwrap_or_default()
                ),
                format!("at most {eligible} replicas").as_str(),
                "drop the host port to let the engine pick one per replica, or add hosts",
            );
        }
    }
}

fn report_dependency_cycles(diags: &mut Diagnostics, state: &State) {
    // Depth-first search; each cycle is reported once, at the service that closes it.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in state.services.keys() {
        let mut path: Vec<&str> = Vec::new();
        visit(start, state, &mut path, &mut done, diags);
    }

    fn visit<'a>(
        name: &'a str,
        state: &'a State,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        diags: &mut Diagnostics,
    ) {
        if done.contains(name) {
            return;
        }
        if let Some(i) = path.iter().position(|p| *p == name) {
            let cycle: Vec<&str> = path[i..].iter().copied().chain([name]).collect();
            let last = path[path.len() - 1];
            if let Some(entry) = state.services.get(last) {
                let (pos, field) = entry
                    .decoded
                    .depends_refs
                    .iter()
                    .find(|(dep, _, _)| dep == name)
                    .map(|(_, p, f)| (*p, f.clone()))
                    .unwrap_or((entry.name_pos, format!("services.{last}.depends_on")));
                Cx::new(entry.file.clone(), diags).error(
                    pos,
                    &field,
                    format!("dependency cycle: {}", cycle.join(" -> ")),
                    "dependencies without cycles",
                );
            }
            return;
        }
        let Some(entry) = state.services.get(name) else {
            return;
        };
        path.push(name);
        for dep in entry.decoded.service.depends_on.keys() {
            visit(dep, state, path, done, diags);
        }
        path.pop();
        done.insert(name);
    }
}
