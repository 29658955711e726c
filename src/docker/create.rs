//! Translation of a desired replica into the Docker Engine's container-create request.
//!
//! Pure: no I/O, so every mapping rule is unit-tested on plain values. Names of engine-side
//! objects (networks, volumes) follow Docker Compose (`{project}_{name}` unless `name:` is set),
//! so a project moved from `docker compose` keeps its volumes.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, EndpointIpamConfig, EndpointSettings,
    HealthConfig, HostConfig, HostConfigLogConfig, Mount, MountBindOptions,
    MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType, MountVolumeOptions,
    NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};

use crate::contract::{self, ReplicaIdentity, network_name, service_networks, volume_name};
use crate::spec::Desired;
use crate::spec::model::{Mount as SpecMount, Port, Protocol, Restart, Service};

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The create request for one replica of `service` on `host`.
pub fn container_body(
    desired: &Desired,
    host: &str,
    service: &Service,
    id: &ReplicaIdentity<'_>,
) -> ContainerCreateBody {
    let labels = contract::replica_labels(service, id);

    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    // Behind the balancers the replica's port goes on a port the engine picks, so the old and
    // the new replica of a start-first rollout can run side by side on one host.
    let balanced = service.expose_via.as_ref().map(|via| Port {
        target: via.port,
        published: None,
        published_range: None,
        host_ip: None,
        protocol: Protocol::Tcp,
    });
    for port in service.ports.iter().chain(&balanced) {
        let key = format!(
            "{}/{}",
            port.target,
            match port.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            }
        );
        exposed.push(key.clone());
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: port.host_ip.map(|ip| ip.to_string()),
                // Empty: the engine picks a free port; `a-b`: it picks one in that range.
                host_port: Some(match (port.published, port.published_range) {
                    (Some(p), _) => p.to_string(),
                    (None, Some((a, b))) => format!("{a}-{b}"),
                    (None, None) => String::new(),
                }),
            });
    }
    for text in &service.expose {
        let (port, proto) = text.split_once('/').unwrap_or((text, "tcp"));
        exposed.push(format!("{port}/{proto}"));
    }

    let (mut mounts, binds) = mounts(desired, host, service);
    // Secrets and configs, read-only. The mount API refuses a missing file (the `Binds` form
    // would make a directory in its place): a replica never starts without its secret.
    for bound in contract::mounted_files(desired, host, id.service, service) {
        mounts.push(Mount {
            typ: Some(MountType::BIND),
            source: Some(bound.source),
            target: Some(bound.target),
            read_only: Some(bound.read_only),
            ..Default::default()
        });
    }

    let tmpfs: HashMap<String, String> = service
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((path, options)) => (path.to_string(), options.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect();

    let restart_policy = match &service.restart {
        Restart::No => RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        },
        Restart::Always => RestartPolicy {
            name: Some(RestartPolicyNameEnum::ALWAYS),
            maximum_retry_count: None,
        },
        Restart::UnlessStopped => RestartPolicy {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            maximum_retry_count: None,
        },
        Restart::OnFailure { max_retries } => RestartPolicy {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: max_retries.map(i64::from),
        },
    };

    // With `network_mode: host|none|bridge` the replica joins none of the project's networks.
    let networks = match &service.host.network_mode {
        Some(_) => Vec::new(),
        None => service_networks(service),
    };
    let endpoints: HashMap<String, EndpointSettings> = networks
        .iter()
        .map(|net| {
            let mut aliases = vec![id.service.to_string()];
            if let Some(extra) = service.networks.get(net) {
                aliases.extend(extra.aliases.iter().cloned());
            }
            // `container_name` stays reachable by that name, as an alias of the service.
            if let Some(name) = &service.container_name {
                if !aliases.contains(name) {
                    aliases.push(name.clone());
                }
            }
            let fixed = service
                .networks
                .get(net)
                .filter(|n| n.ipv4_address.is_some() || n.ipv6_address.is_some());
            (
                network_name(desired, net),
                EndpointSettings {
                    aliases: Some(aliases),
                    ipam_config: fixed.map(|n| EndpointIpamConfig {
                        ipv4_address: n.ipv4_address.map(|a| a.to_string()),
                        ipv6_address: n.ipv6_address.map(|a| a.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
        })
        .collect();

    let host_config = HostConfig {
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
        binds: (!binds.is_empty()).then_some(binds),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        restart_policy: Some(restart_policy),
        init: service.init,
        readonly_rootfs: service.read_only,
        cap_add: (!service.cap_add.is_empty()).then(|| service.cap_add.clone()),
        cap_drop: (!service.cap_drop.is_empty()).then(|| service.cap_drop.clone()),
        extra_hosts: (!service.extra_hosts.is_empty()).then(|| service.extra_hosts.clone()),
        log_config: service.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: l.driver.clone(),
            config: (!l.options.is_empty())
                .then(|| l.options.clone().into_iter().collect::<HashMap<_, _>>()),
        }),
        nano_cpus: service
            .deploy
            .resources
            .cpus
            .or(service.host.cpus)
            .map(|c| (c * 1e9).round() as i64),
        memory: service
            .deploy
            .resources
            .memory
            .or(service.host.mem_limit)
            .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        network_mode: match &service.host.network_mode {
            Some(mode) => Some(mode.clone()),
            None => networks.first().map(|n| network_name(desired, n)),
        },
        ..host_settings(service)
    };

    ContainerCreateBody {
        image: Some(service.image.clone()),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: Some(
            service
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        labels: Some(labels),
        healthcheck: service.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval.map(nanos),
            timeout: h.timeout.map(nanos),
            retries: h.retries.map(i64::from),
            start_period: h.start_period.map(nanos),
            start_interval: h.start_interval.map(nanos),
        }),
        user: service.user.clone(),
        working_dir: service.working_dir.clone(),
        hostname: service.hostname.clone(),
        stop_signal: service.stop_signal.clone(),
        stop_timeout: service
            .stop_grace_period
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        open_stdin: service.host.stdin_open,
        tty: service.host.tty,
        host_config: Some(host_config),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..Default::default()
    }
}

fn some_vec<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn bytes(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The host-configuration keys of a service (`shm_size`, `ulimits`, ...), as Compose passes
/// them to the engine. `cpus` and `mem_limit` give way to `deploy.resources.limits`, which the
/// caller sets.
fn host_settings(service: &Service) -> HostConfig {
    let h = &service.host;
    let limits = &service.deploy.resources;
    HostConfig {
        shm_size: h.shm_size.map(bytes),
        ulimits: (!h.ulimits.is_empty()).then(|| {
            h.ulimits
                .iter()
                .map(|(name, l)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(l.soft),
                    hard: Some(l.hard),
                })
                .collect()
        }),
        sysctls: (!h.sysctls.is_empty())
            .then(|| h.sysctls.clone().into_iter().collect::<HashMap<_, _>>()),
        security_opt: some_vec(&h.security_opt),
        runtime: h.runtime.clone(),
        pids_limit: limits.pids.or(h.pids_limit),
        nano_cpus: h.cpus.map(|c| (c * 1e9).round() as i64),
        memory: h.mem_limit.map(bytes),
        memory_swap: h.memswap_limit,
        memory_reservation: limits.reservation_memory.or(h.mem_reservation).map(bytes),
        cpu_shares: h.cpu_shares,
        cpuset_cpus: h.cpuset.clone(),
        devices: (!h.devices.is_empty()).then(|| {
            h.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host.clone()),
                    path_in_container: Some(d.container.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect()
        }),
        privileged: h.privileged,
        group_add: some_vec(&h.group_add),
        ipc_mode: h.ipc.clone(),
        pid_mode: h.pid.clone(),
        dns: some_vec(&h.dns),
        dns_search: some_vec(&h.dns_search),
        dns_options: some_vec(&h.dns_opt),
        oom_score_adj: h.oom_score_adj,
        device_requests: some_vec(
            &h.gpus
                .iter()
                .chain(&service.deploy.resources.devices)
                .map(|r| DeviceRequest {
                    driver: r.driver.clone(),
                    // The engine reads no count and no ids as none: all is -1.
                    count: Some(
                        r.count
                            .unwrap_or(if r.device_ids.is_empty() { -1 } else { 0 }),
                    ),
                    device_ids: some_vec(&r.device_ids),
                    capabilities: Some(vec![r.capabilities.clone()]),
                    options: (!r.options.is_empty())
                        .then(|| r.options.clone().into_iter().collect()),
                })
                .collect::<Vec<_>>(),
        ),
        ..Default::default()
    }
}

/// The service's mounts through the engine's mount API, and, in the `Binds` form, the binds
/// that ask for SELinux relabelling (`z`, `Z`), which the mount API cannot express, and the
/// data directories, which the engine creates when missing only in that form.
fn mounts(desired: &Desired, host: &str, service: &Service) -> (Vec<Mount>, Vec<String>) {
    let mut mounts = Vec::new();
    let mut binds = Vec::new();
    for m in &service.volumes {
        match m {
            SpecMount::DataDir {
                source,
                target,
                read_only,
                options,
            } => {
                let mode = if *read_only { "ro" } else { "rw" };
                let mut text = format!("{}:{target}:{mode}", desired.data_path(host, source));
                for option in options.selinux.iter().chain(&options.propagation) {
                    text.push(',');
                    text.push_str(option);
                }
                binds.push(text);
            }
            SpecMount::Volume {
                source,
                target,
                read_only,
                options,
            } => mounts.push(Mount {
                typ: Some(MountType::VOLUME),
                source: source.as_ref().map(|s| volume_name(desired, s)),
                target: Some(target.clone()),
                read_only: Some(*read_only),
                volume_options: (options.nocopy || options.subpath.is_some()).then(|| {
                    MountVolumeOptions {
                        no_copy: options.nocopy.then_some(true),
                        subpath: options.subpath.clone(),
                        ..Default::default()
                    }
                }),
                ..Default::default()
            }),
            // Written on the host by fleet, bound with the secrets and configs.
            SpecMount::RepoBind { .. } => {}
            SpecMount::Bind {
                source,
                target,
                read_only,
                options,
            } => {
                if let Some(selinux) = &options.selinux {
                    // Binds create a missing host path, as Compose's short syntax does.
                    let mode = if *read_only { "ro" } else { "rw" };
                    let mut text = format!("{source}:{target}:{mode},{selinux}");
                    if let Some(p) = &options.propagation {
                        text.push(',');
                        text.push_str(p);
                    }
                    binds.push(text);
                    continue;
                }
                let propagation = options
                    .propagation
                    .as_deref()
                    .and_then(|p| p.parse::<MountBindOptionsPropagationEnum>().ok());
                mounts.push(Mount {
                    typ: Some(MountType::BIND),
                    source: Some(source.clone()),
                    target: Some(target.clone()),
                    read_only: Some(*read_only),
                    bind_options: (propagation.is_some() || options.create_host_path.is_some())
                        .then(|| MountBindOptions {
                            propagation,
                            create_mountpoint: options.create_host_path,
                            ..Default::default()
                        }),
                    ..Default::default()
                });
            }
            SpecMount::Tmpfs { target, options } => mounts.push(Mount {
                typ: Some(MountType::TMPFS),
                target: Some(target.clone()),
                tmpfs_options: (options.size.is_some() || options.mode.is_some()).then(|| {
                    MountTmpfsOptions {
                        size_bytes: options.size.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
                        mode: options.mode.map(i64::from),
                        ..Default::default()
                    }
                }),
                ..Default::default()
            }),
        }
    }
    (mounts, binds)
}

/// The create request for the project's balancer on one host: HAProxy in master-worker mode on
/// the host's network (it listens on the exposed services' ports and reaches every host's
/// published ports), as root for ports below 1024 but with no capability beyond binding them.
pub fn balancer_body(desired: &Desired, host: &str) -> ContainerCreateBody {
    let labels = contract::balancer_labels(desired);
    ContainerCreateBody {
        image: Some(desired.balancer.image.clone()),
        entrypoint: Some(
            ["haproxy", "-W", "-db", "-f"]
                .into_iter()
                .map(String::from)
                .chain([crate::contract::balancer_config_path()])
                .collect(),
        ),
        cmd: Some(Vec::new()),
        user: Some("0:0".into()),
        labels: Some(labels),
        // HAProxy stops at once on SIGUSR1 after its connections end; SIGTERM would cut them.
        stop_signal: Some("SIGUSR1".into()),
        stop_timeout: Some(10),
        host_config: Some(HostConfig {
            network_mode: Some("host".into()),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(vec!["NET_BIND_SERVICE".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            // The `Binds` form makes the directory when it is missing (a host just rebooted).
            binds: balancer_binds(desired, host),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The host directories a balancer binds: the certificates (read-only) when a service has TLS,
/// the statistics socket's directory when a service autoscales on traffic.
fn balancer_binds(desired: &Desired, host: &str) -> Option<Vec<String>> {
    use crate::contract as c;
    let mut binds = Vec::new();
    if c::balancer_binds_tls(desired) {
        binds.push(format!(
            "{}:{}:ro",
            c::balancer_tls_dir(&desired.project),
            c::BALANCER_TLS_DIR
        ));
    }
    if c::balancer_binds_stats(desired) {
        binds.push(format!(
            "{}:{}",
            c::balancer_stats_dir(&desired.project, host),
            c::BALANCER_STATS_DIR
        ));
    }
    (!binds.is_empty()).then_some(binds)
}

/// Splits an image reference into the `fromImage` and `tag` parameters of a pull. Without an
/// explicit tag the engine would pull every tag of the repository.
pub fn pull_parameters(reference: &str) -> (String, String) {
    if let Some((name, digest)) = reference.split_once('@') {
        return (name.to_string(), digest.to_string());
    }
    let last_segment = reference.rsplit('/').next().unwrap_or(reference);
    match last_segment.rsplit_once(':') {
        Some((_, tag)) => {
            let name = &reference[..reference.len() - tag.len() - 1];
            (name.to_string(), tag.to_string())
        }
        None => (reference.to_string(), "latest".to_string()),
    }
}

/// The registry an image reference is pulled from, as Docker's config.json names it.
pub fn registry_of(reference: &str) -> String {
    let first = reference.split('/').next().unwrap_or_default();
    let has_registry = reference.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        first.to_string()
    } else {
        "docker.io".to_string()
    }
}

#[cfg(test)]
mod tests;
