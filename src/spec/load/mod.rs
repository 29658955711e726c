//! Loading the desired state: fleet.yaml, the compose files it includes, and the env files they
//! name, all read through [`Files`] (one commit, or the working tree), into a [`Desired`].
//!
//! The loader reports every problem it finds rather than stopping at the first. It does no I/O
//! of its own; the caller decides where files come from.
//!
//! This module reads the files and owns fleet.yaml's top level (`project`, `watch`, `services`),
//! and orchestrates the rest: hosts, the balancer, includes, volumes and networks each have a
//! submodule, services are decoded by `spec::service`, and the checks across all of them run
//! last, in `cross_check`.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::Files;
use super::decode::{Cx, join};
use super::diag::did_you_mean;
use super::diag::{Diagnostic, Diagnostics};
use super::dotenv;
use super::interpolate::{Variables, interpolate_tree};
use super::model::{
    Address, Desired, FileSource, Host, LOCAL_HOST, NOTIFY_EVENTS, Network, NotifyFormat,
    NotifyTarget, NotifyUrl, Volume, WatchSettings,
};
use super::paths::RepoPath;
use super::service::{self, Decoded, FileKind};
use super::yaml::{self, Kind, Node, Pos};

mod balancer;
mod cross_check;
mod extends;
mod files;
mod hosts;
mod include;
mod profiles;
mod volumes_networks;

pub use balancer::{BALANCER_KEYS, CA_CERTIFICATE, CA_KEY};
pub use extends::EXTENDS_KEYS;
pub use files::{CONFIG_KEYS, SECRET_KEYS};
pub use hosts::HOST_KEYS;
pub use include::COMPOSE_KEYS;
pub use volumes_networks::{NETWORK_KEYS, VOLUME_KEYS};

use balancer::{check_balancer, decode_balancer};
use cross_check::cross_check;
use files::decode_files;
use hosts::decode_hosts;
use include::{include_file, include_list};
use profiles::{apply_profiles, check_container_names, decode_profiles};
use volumes_networks::{decode_networks, decode_volumes};

pub const ROOT_FILE: &str = "fleet.yaml";

pub const ROOT_KEYS: &[&str] = &[
    "project",
    "hosts",
    "services",
    "include",
    "volumes",
    "networks",
    "watch",
    "balancer",
    "variables",
    "profiles",
    "secrets",
    "configs",
    "secrets_recipients",
];

pub const WATCH_KEYS: &[&str] = &["host_down_after", "allow_mass_delete", "notify"];
pub const NOTIFY_KEYS: &[&str] = &["url", "url_secret", "format", "events"];

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
    /// `variables:` in fleet.yaml, for interpolation in every file.
    variables: BTreeMap<String, String>,
    /// Top-level `secrets:` and `configs:`, with where each was declared.
    secrets: BTreeMap<String, (FileSource, String, Pos)>,
    configs: BTreeMap<String, (FileSource, String, Pos)>,
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
                    file: 0,
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
                Pos {
                    line: 1,
                    col: 1,
                    file: 0,
                },
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
    let mut root = read_yaml(files, &root_path, diags, ROOT_FILE, |d| {
        Cx::new(ROOT_FILE, d).error_hint(
            Pos::default(),
            "",
            "no fleet.yaml at the project root",
            "",
            "run `fleet init` in the directory of a compose file to write one (`fleet schema` prints the format for editors), or point fleet at the project with -C DIR or --repo",
        );
    })?;
    let mut state = State::default();
    state.included.insert(root_path.clone());
    if let Kind::Map(entries) = &root.kind {
        if let Some((_, node)) = entries
            .iter()
            .find(|(k, _)| k.scalar_text() == Some("variables"))
        {
            state.variables = decode_variables(&mut Cx::new(ROOT_FILE, diags), node);
        }
    }
    let vars = interpolate_file(files, diags, &root_path, &mut root, &state.variables);
    let mut cx = Cx::new(ROOT_FILE, diags).with_vars(vars);
    let entries = cx.map("", &root, "a mapping with project, hosts, services")?;

    let mut project = None;
    let mut hosts = None;
    let mut includes = Vec::new();
    let mut services_node = None;
    let mut watch = WatchSettings::default();
    let mut notify_secrets = Vec::new();
    let mut balancer = None;
    let mut active_profiles = Vec::new();
    let mut recipients = Vec::new();
    for (key, key_node, value) in entries {
        match key {
            "project" => project = project_name(&mut cx, value),
            "hosts" => hosts = Some(decode_hosts(&mut cx, value)),
            "services" => services_node = Some(value),
            "include" => includes = include_list(&mut cx, "include", value),
            "volumes" => decode_volumes(&mut cx, value, &mut state),
            "networks" => decode_networks(&mut cx, value, &mut state),
            "secrets" => decode_files(
                &mut cx,
                files,
                &RepoPath::root(),
                FileKind::Secret,
                value,
                &mut state,
            ),
            "configs" => decode_files(
                &mut cx,
                files,
                &RepoPath::root(),
                FileKind::Config,
                value,
                &mut state,
            ),
            "secrets_recipients" => recipients = decode_recipients(&mut cx, value),
            "watch" => watch = decode_watch(&mut cx, value, &mut notify_secrets),
            "balancer" => balancer = decode_balancer(&mut cx, value),
            "variables" => {}
            "profiles" => active_profiles = decode_profiles(&mut cx, value),
            k if k.starts_with("x-") => {}
            k => include::compose_top_level_key(&mut cx, key_node, k, ROOT_KEYS),
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
                data_dir: None,
            },
        )])
    });
    apply_profiles(diags, &active_profiles, &mut state);
    check_container_names(diags, &state);
    cross_check(diags, &hosts, &state);
    let balancer = check_balancer(diags, &hosts, &state, balancer, files);
    let mut cx = Cx::new(ROOT_FILE, diags);
    for (name, pos, field) in notify_secrets {
        if !state.secrets.contains_key(&name) {
            let hint = did_you_mean(&name, state.secrets.keys().map(String::as_str))
                .map(|v| format!("did you mean `{v}`?"))
                .unwrap_or_else(|| format!("declare it under the top-level `secrets:` (`{name}: {{ file: ./path.age }}`)"));
            cx.error_hint(
                pos,
                &field,
                format!("secret `{name}` is not declared"),
                "a secret declared under the top-level `secrets`",
                hint,
            );
        }
    }
    drop(cx);

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
        secrets: state
            .secrets
            .into_iter()
            .map(|(k, (v, _, _))| (k, v))
            .collect(),
        secrets_recipients: recipients,
        certificates: BTreeMap::new(),
        configs: state
            .configs
            .into_iter()
            .map(|(k, (v, _, _))| (k, v))
            .collect(),
    })
}

/// Reads the `.env` file beside `path` and interpolates every scalar of the file (but
/// fleet.yaml's own `variables:`), returning the file's variables for the decoders.
pub(super) fn interpolate_file(
    files: &dyn Files,
    diags: &mut Diagnostics,
    path: &RepoPath,
    root: &mut Node,
    declared: &BTreeMap<String, String>,
) -> Rc<Variables> {
    let dotenv_path = path.parent().join(".env").unwrap_or_else(RepoPath::root);
    let mut vars = Variables {
        declared: declared.clone(),
        dotenv: BTreeMap::new(),
        dotenv_path: dotenv_path.to_string(),
    };
    match files.read(dotenv_path.as_str()) {
        Ok(Some(bytes)) => match dotenv::parse(&String::from_utf8_lossy(&bytes)) {
            Ok(parsed) => vars.dotenv = parsed,
            Err(errors) => dotenv::report(&mut Cx::new(dotenv_path.to_string(), diags), errors),
        },
        Ok(None) => {}
        Err(e) => Cx::new(dotenv_path.to_string(), diags).error(
            Pos::default(),
            "",
            format!("cannot read the file: {e}"),
            "",
        ),
    }
    let skip = (path.as_str() == ROOT_FILE).then_some("variables");
    interpolate_tree(path.as_str(), root, &vars, skip, diags);
    Rc::new(vars)
}

/// fleet.yaml's `variables:`: names to values, taken as written (not interpolated).
fn decode_variables(cx: &mut Cx, node: &Node) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if node.is_null() {
        return out;
    }
    for (name, key, value) in cx
        .map("variables", node, "a mapping of variable name to value")
        .unwrap_or_default()
    {
        let f = join("variables", name);
        let valid = name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
            && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
        if !valid {
            cx.error(
                key.pos,
                &f,
                format!("`{name}` is not a variable name"),
                "letters, digits and `_`, not starting with a digit",
            );
            continue;
        }
        let text = if value.is_null() {
            Some(String::new())
        } else {
            cx.text(&f, value, "a string, number or boolean")
        };
        if let Some(text) = text {
            out.insert(name.to_string(), text);
        }
    }
    out
}

/// `secrets_recipients:` a list of age recipients and SSH public keys.
fn decode_recipients(cx: &mut Cx, node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for (i, item) in cx
        .seq(
            "secrets_recipients",
            node,
            "a list of age recipients or SSH public keys",
        )
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = super::decode::index("secrets_recipients", i);
        let Some(text) = cx.string(&field, item) else {
            continue;
        };
        let text = text.trim().to_string();
        let known = text.starts_with("age1")
            || text.starts_with("ssh-ed25519 ")
            || text.starts_with("ssh-rsa ");
        if known {
            out.push(text);
        } else {
            cx.error(
                item.pos,
                &field,
                "not an age recipient or SSH public key",
                "age1... (from `fleet secret init` or age-keygen), or a line of an id_ed25519.pub or id_rsa.pub",
            );
        }
    }
    out
}

/// One `watch.notify` entry: `url` (http or https) or `url_secret` (a secret holding it), a
/// `format` and the `events` to send.
fn decode_notify(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    secret_refs: &mut Vec<(String, Pos, String)>,
) -> Option<NotifyTarget> {
    let mut url = None;
    let mut format = NotifyFormat::Json;
    let mut events = Vec::new();
    for (k, kn, v) in cx.map(
        field,
        node,
        "a mapping with `url` or `url_secret`, `format`, `events`",
    )? {
        let f = join(field, k);
        match k {
            "url" => {
                if let Some(u) = cx.string(&f, v) {
                    let rest = u
                        .strip_prefix("https://")
                        .or_else(|| u.strip_prefix("http://"));
                    if rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace)) {
                        url = Some(NotifyUrl::Url(u));
                    } else {
                        cx.error(
                            v.pos,
                            &f,
                            format!("`{u}` is not an http(s) URL"),
                            "a URL such as https://hooks.example.com/fleet",
                        );
                    }
                }
            }
            "url_secret" => {
                if let Some(name) = cx.string(&f, v) {
                    secret_refs.push((name.clone(), v.pos, f.clone()));
                    url = Some(NotifyUrl::Secret(name));
                }
            }
            "format" => match cx.string(&f, v).as_deref() {
                Some("json") => format = NotifyFormat::Json,
                Some("slack") => format = NotifyFormat::Slack,
                Some(other) => cx.error(
                    v.pos,
                    &f,
                    format!("unknown format `{other}`"),
                    "`json` or `slack`",
                ),
                None => {}
            },
            "events" => {
                for item in cx.seq(&f, v, "a list of event names").unwrap_or_default() {
                    let Some(event) = cx.string(&f, item) else {
                        continue;
                    };
                    if NOTIFY_EVENTS.contains(&event.as_str()) {
                        events.push(event);
                    } else {
                        let hint = did_you_mean(&event, NOTIFY_EVENTS.iter().copied())
                            .map(|h| format!("did you mean `{h}`?"))
                            .unwrap_or_else(|| format!("one of {}", NOTIFY_EVENTS.join(", ")));
                        cx.error_hint(
                            item.pos,
                            &f,
                            format!("unknown event `{event}`"),
                            "an event fleet sends",
                            hint,
                        );
                    }
                }
            }
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, NOTIFY_KEYS),
        }
    }
    if url.is_none() && !root_has(node, "url") && !root_has(node, "url_secret") {
        cx.error(
            node.pos,
            &join(field, "url"),
            "missing `url` or `url_secret`",
            "where to send the notifications",
        );
    }
    Some(NotifyTarget {
        url: url?,
        format,
        events,
    })
}

fn decode_watch(
    cx: &mut Cx,
    node: &Node,
    secret_refs: &mut Vec<(String, Pos, String)>,
) -> WatchSettings {
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
            "notify" => {
                for (i, item) in cx
                    .seq(&f, v, "a list of `{ url, format, events }`")
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    if let Some(target) =
                        decode_notify(cx, &super::decode::index(&f, i), item, secret_refs)
                    {
                        watch.notify.push(target);
                    }
                }
            }
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
        let merged;
        let value = if root_has(value, "extends") {
            match extends::resolve(cx, files, state, dir, node, name, value) {
                Some(resolved) => {
                    merged = resolved;
                    &merged
                }
                // Reported; decoding what is left would only add confusion.
                None => continue,
            }
        } else {
            value
        };
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
