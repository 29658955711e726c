//! Decoding of one service written with Compose Specification keys.
//!
//! Every key Compose defines is either decoded here into the typed [`Service`] or refused with a
//! reason; nothing is accepted and then ignored. Values are checked as far as one service allows:
//! references to other services, volumes and networks are checked by the loader afterwards.
//!
//! This module owns the table of service keys, the refusal of unsupported ones, and [`decode`],
//! which walks a service's keys and hands each area of the format to its submodule: the
//! container and its process, environment and labels, ports, mounts, networks, the health
//! check, dependencies, `deploy`, and fleet's `x-fleet` extension.

use std::collections::BTreeMap;

use super::Files;
use super::decode::{Cx, index, join};
use super::model::{Deploy, Mode, Origin, Placement, Resources, Restart, Service, UpdateConfig};
use super::paths::RepoPath;
use super::yaml::{Kind, Node, Pos};

mod container;
mod depends_on;
mod deploy;
mod env;
mod healthcheck;
mod networks;
mod ports;
mod volumes;
mod x_fleet;

pub use container::LOGGING_KEYS;
pub use depends_on::DEPENDS_ON_KEYS;
pub use deploy::{
    DEPLOY_KEYS, LIMITS_KEYS, PLACEMENT_KEYS, RESOURCES_KEYS, RESTART_POLICY_KEYS, UPDATE_KEYS,
    parse_constraint,
};
pub use env::{ENV_FILE_KEYS, labels_of};
pub use healthcheck::HEALTHCHECK_KEYS;
pub use networks::SERVICE_NETWORK_KEYS;
pub use ports::{PORT_KEYS, parse_port};
pub use volumes::MOUNT_KEYS;
pub use x_fleet::{EXPOSE_KEYS, X_FLEET_KEYS};

use container::{absolute_path, check_image, command, logging, restart, stop_signal};
use depends_on::depends_on;
use deploy::deploy;
use env::{env_files, env_map, user_labels};
use healthcheck::healthcheck;
use networks::{extra_hosts, hostname, networks};
use ports::{expose, ports};
use volumes::{mounts, tmpfs};
use x_fleet::x_fleet;

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

fn entries_have(node: &Node, key: &str) -> bool {
    matches!(&node.kind, Kind::Map(e) if e.iter().any(|(k, _)| k.scalar_text() == Some(key)))
}

/// Interpolation now happens once for every scalar of a file, before decoding
/// (`spec::interpolate`), so the text given here is already final. Kept as a pass-through so
/// the decoders that call it need no change.
pub fn interpolate(_cx: &mut Cx, _field: &str, _node: &Node, text: &str) -> Option<String> {
    Some(text.to_string())
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
