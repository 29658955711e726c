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
use super::model::{
    Deploy, Mode, Origin, Placement, PullPolicy, Resources, Restart, Service, UpdateConfig,
};
use super::paths::RepoPath;
use super::yaml::{Kind, Node, Pos};

mod autoscale;
mod container;
mod depends_on;
mod deploy;
mod env;
mod files;
mod healthcheck;
mod host;
mod networks;
mod ports;
#[cfg(test)]
mod tests;
mod volumes;
mod x_fleet;

pub use autoscale::AUTOSCALE_KEYS;
pub use container::LOGGING_KEYS;
pub use depends_on::DEPENDS_ON_KEYS;
pub use deploy::{
    DEPLOY_KEYS, LIMITS_KEYS, PLACEMENT_KEYS, RESOURCES_KEYS, RESTART_POLICY_KEYS, UPDATE_KEYS,
    parse_constraint,
};
pub use env::{ENV_FILE_KEYS, labels_of};
pub use files::{FILE_MOUNT_KEYS, FileKind};
pub use healthcheck::HEALTHCHECK_KEYS;
pub use host::{DEVICE_KEYS, ULIMIT_KEYS};
pub use networks::SERVICE_NETWORK_KEYS;
pub use ports::{PORT_KEYS, parse_port};
pub use volumes::{MOUNT_BIND_KEYS, MOUNT_KEYS, MOUNT_TMPFS_KEYS, MOUNT_VOLUME_KEYS};
pub use x_fleet::{EXPOSE_KEYS, ExposeAt, X_FLEET_KEYS, check_host_name};

use container::{absolute_path, check_image, command, logging, restart, stop_signal};
use depends_on::{depends_on, links};
use deploy::deploy;
use env::{env_files, env_map, user_labels};
use files::file_mounts;
use healthcheck::healthcheck;
use host::{host_key, pull_policy};
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
    "container_name",
    "links",
    "secrets",
    "configs",
    "profiles",
    "pull_policy",
    "build",
    // The container's host configuration, decoded by `host::host_key`.
    "shm_size",
    "gpus",
    "ulimits",
    "sysctls",
    "security_opt",
    "stdin_open",
    "tty",
    "platform",
    "runtime",
    "pids_limit",
    "mem_limit",
    "memswap_limit",
    "mem_reservation",
    "cpus",
    "cpu_shares",
    "cpuset",
    "devices",
    "privileged",
    "group_add",
    "ipc",
    "pid",
    "dns",
    "dns_search",
    "dns_opt",
    "oom_score_adj",
    "network_mode",
];

/// Why a Compose service key that fleet does not implement is refused, and what to do
/// instead, so the message can say both. Every service key of the Compose Specification is
/// either decoded by [`decode`] or listed here (a unit test walks the specification's list).
pub fn unsupported_service_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "scale" => "fleet places replicas itself; instead: set `deploy.replicas`",
        "external_links" => {
            "links to containers outside the project are a legacy Compose feature; instead: join an `external` network and address the container by name"
        }
        "volumes_from" => {
            "replicas may run on different hosts; instead: mount the same named volume in both services"
        }
        "develop" => {
            "`develop` drives `docker compose watch` on a developer machine; instead: remove it from the deployed file"
        }
        "attach" => {
            "fleet does not attach to container output; instead: read logs with `docker logs`"
        }
        "domainname" | "mac_address" => {
            "a fixed identity cannot be shared by several replicas; instead: use `hostname` or network aliases"
        }
        "userns_mode" | "isolation" | "cgroup" | "cgroup_parent" | "storage_opt"
        | "credential_spec" | "uts" => {
            "fleet does not pass this engine setting yet; instead: set it in the hosts' daemon.json where possible"
        }
        "blkio_config"
        | "cpu_count"
        | "cpu_percent"
        | "cpu_period"
        | "cpu_quota"
        | "cpu_rt_period"
        | "cpu_rt_runtime"
        | "mem_swappiness"
        | "oom_kill_disable"
        | "device_cgroup_rules" => {
            "fleet does not pass this resource setting yet; instead: use `cpus`, `cpu_shares`, `mem_limit` or `deploy.resources`"
        }
        "env_from" | "label_file" => "not implemented; instead: use `env_file` and `labels`",
        "annotations" => "fleet does not pass OCI annotations yet; instead: use `labels`",
        "models" | "provider" | "use_api_socket" => {
            "a Docker Desktop feature with no meaning on a remote host; instead: run the service it stands for as a service"
        }
        "pull_refresh_after" => {
            "fleet pulls when a host lacks the image, or on every run with `pull_policy: always`; instead: use `pull_policy: always` or `fleet apply --pull always`"
        }
        "post_start" | "pre_stop" | "lifecycle" => {
            "fleet does not run lifecycle hooks yet; instead: do the work in the image's entrypoint"
        }
        _ => return None,
    })
}

/// Why a Compose key below the service level (`area` is `network`, `service_network` or
/// `deploy`) that fleet does not implement is refused, and what to do instead.
pub fn unsupported_nested_key(area: &str, key: &str) -> Option<&'static str> {
    Some(match (area, key) {
        ("network", "attachable") => {
            "an attachable overlay network is a Swarm feature; instead: use a bridge network per host (the default)"
        }
        ("network", "enable_ipv6" | "enable_ipv4") => {
            "fleet does not pass address-family settings yet; instead: create the network yourself and mark it `external`"
        }
        ("service_network", "link_local_ips" | "mac_address") => {
            "several replicas cannot share one fixed address; instead: reach the service by its name or an alias"
        }
        ("service_network", "priority" | "gw_priority" | "interface_name" | "driver_opts") => {
            "fleet does not pass per-endpoint settings yet; instead: leave the engine's default"
        }
        ("deploy", "endpoint_mode") => {
            "a Swarm virtual IP has no meaning without Swarm; instead: put the service behind fleet's balancers with `x-fleet.expose`"
        }
        ("deploy", "labels") => {
            "these label a Swarm service, which fleet does not create; instead: use the service's `labels`"
        }
        _ => return None,
    })
}

/// Reports a key below the service level: "not supported" with the reason when Compose defines
/// it, "unknown key" otherwise.
pub fn refuse_nested_key(
    cx: &mut Cx,
    area: &str,
    key_node: &Node,
    field: &str,
    key: &str,
    known: &[&str],
) {
    match unsupported_nested_key(area, key) {
        Some(reason) => cx.error_hint(
            key_node.pos,
            field,
            format!("the Compose key `{key}` is not supported by fleet"),
            "",
            reason,
        ),
        None => cx.unknown_key(key_node, field, key, known),
    }
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
            format!("the Compose key `{key}` is not supported by fleet"),
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
        // `x-fleet` is matched apart from the Compose keys (any other `x-` key is an extension
        // fleet ignores), but it is a key a user may have meant.
        None if known == SERVICE_KEYS => {
            let with_extension: Vec<&str> = known.iter().copied().chain(["x-fleet"]).collect();
            cx.unknown_key(key_node, field, key, &with_extension)
        }
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
    /// Where `x-fleet.expose` and its ports and host names were written, for clashes between
    /// services.
    pub expose_at: Option<ExposeAt>,
    /// Position of `container_name`, for clashes between services.
    pub container_name_pos: Option<Pos>,
    /// Secrets and configs named, with where (the field says which of the two).
    pub file_refs: Vec<(String, Pos, String)>,
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
        container_name: None,
        profiles: Vec::new(),
        pull_policy: Default::default(),
        image_source: None,
        host: Default::default(),
        secrets: Vec::new(),
        configs: Vec::new(),
        env_from_secrets: BTreeMap::new(),
        replace_unhealthy: true,
        autoscale: None,
        file_digests: BTreeMap::new(),
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
        expose_at: None,
        container_name_pos: None,
        file_refs: Vec::new(),
    };
    let mut env_file_vars = BTreeMap::new();
    let mut environment = BTreeMap::new();
    let mut restart_key: Option<Pos> = None;
    let mut restart_policy_key: Option<Pos> = None;
    let mut build_key: Option<Pos> = None;
    let mut image_source_pos: Option<Pos> = None;
    let mut links_node: Option<(String, &Node)> = None;

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
            "depends_on" => {
                s.depends_on
                    .extend(depends_on(cx, &f, value, &mut decoded.depends_refs))
            }
            "links" => links_node = Some((f.clone(), value)),
            "secrets" => {
                s.secrets = file_mounts(cx, FileKind::Secret, &f, value, &mut decoded.file_refs)
            }
            "configs" => {
                s.configs = file_mounts(cx, FileKind::Config, &f, value, &mut decoded.file_refs)
            }
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
                let at = x_fleet(cx, &f, value, dir, &mut s, &mut decoded.file_refs);
                decoded.expose_at = at.expose;
                image_source_pos = at.image_source;
            }
            "container_name" => {
                s.container_name = container_name(cx, &f, value);
                decoded.container_name_pos = Some(value.pos);
            }
            "profiles" => s.profiles = profiles(cx, &f, value),
            "pull_policy" => s.pull_policy = pull_policy(cx, &f, value).unwrap_or_default(),
            "build" => build_key = Some(key_node.pos),
            _ if host_key(cx, &f, key, value, &mut s.host) => {}
            _ => refuse_key(cx, key_node, &f, key, SERVICE_KEYS),
        }
    }
    if let Some((f, node)) = links_node {
        links(cx, &f, node, &mut s.depends_on, &mut decoded.depends_refs);
    }
    if let Some(name) = &s.container_name {
        cx.warning(
            decoded.container_name_pos.unwrap_or(name_pos),
            &join(field, "container_name"),
            format!(
                "replicas keep fleet's container names; `{name}` becomes a DNS alias of the service on its networks"
            ),
            Some("other services can keep addressing it by that name".into()),
        );
    }
    if s.host.network_mode.is_some() && entries_have(node, "networks") {
        cx.error(
            name_pos,
            &join(field, "network_mode"),
            "`network_mode` and `networks` cannot both be set",
            "one of them",
        );
    }
    if s.host.memswap_limit.is_some()
        && s.host.mem_limit.is_none()
        && s.deploy.resources.memory.is_none()
    {
        cx.error(
            name_pos,
            &join(field, "memswap_limit"),
            "`memswap_limit` needs a memory limit (the engine refuses it alone)",
            "`mem_limit` or `deploy.resources.limits.memory` as well",
        );
    }
    if s.autoscale.is_some() && s.deploy.mode == Mode::Global {
        cx.error(
            name_pos,
            &join(field, "x-fleet.autoscale"),
            "a global service runs one replica per eligible host and cannot be autoscaled",
            "`deploy.mode: replicated`, or no `autoscale`",
        );
    }
    if s.host.network_mode.is_some() && s.expose_via.is_some() {
        cx.error_hint(
            name_pos,
            &join(field, "network_mode"),
            "`network_mode` cannot be set on a service behind the balancers",
            "no `network_mode`, or no `x-fleet.expose`",
            "the balancers reach a replica on the host port the engine publishes, and the engine publishes no port outside the project's networks",
        );
    }
    if let (Some(pos), Some(_), PullPolicy::Always) =
        (image_source_pos, &s.image_source, s.pull_policy)
    {
        cx.error_hint(
            pos,
            &join(field, "x-fleet.image_source"),
            "an image shipped from this machine is never pulled, but `pull_policy` is `always`",
            "no `pull_policy: always` beside `image_source`",
            "remove `pull_policy: always`, or remove `x-fleet.image_source` to pull from a registry",
        );
    }
    match (build_key, entries_have(node, "image")) {
        (Some(pos), true) => cx.warning(
            pos,
            &join(field, "build"),
            "`build` is ignored: fleet deploys the image and does not build it",
            Some("build and push the image in CI".into()),
        ),
        (Some(pos), false) => cx.error_hint(
            pos,
            &join(field, "build"),
            "the Compose key `build` is not supported by fleet",
            "an `image` published to a registry",
            "fleet deploys images and does not build them; build and push the image in CI and set `image`",
        ),
        (None, _) => {}
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
        None if !entries_have(node, "image") && build_key.is_none() => cx.error_hint(
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

/// `container_name`: what Docker accepts as a container name, which is also a DNS name.
fn container_name(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
    let name = cx.string(field, node)?;
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Some(name)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{name}` is not a valid container name"),
            "1 to 63 characters of letters, digits, `_`, `.` and `-`, starting with a letter or digit",
        );
        None
    }
}

/// `profiles`: names of profiles, as Compose writes them.
fn profiles(cx: &mut Cx, field: &str, node: &Node) -> Vec<String> {
    let names = string_list(cx, field, node);
    for name in &names {
        if !valid_profile(name) {
            cx.error(
                node.pos,
                field,
                format!("`{name}` is not a valid profile name"),
                "letters, digits, `_`, `.` and `-`, starting with a letter or digit",
            );
        }
    }
    names
}

pub fn valid_profile(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
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
