//! Translation of a desired replica into the Docker Engine's container-create request.
//!
//! Pure: no I/O, so every mapping rule is unit-tested on plain values. Names of engine-side
//! objects (networks, volumes) follow Docker Compose (`{project}_{name}` unless `name:` is set),
//! so a project moved from `docker compose` keeps its volumes.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigLogConfig, Mount, MountBindOptions, MountBindOptionsPropagationEnum,
    MountTmpfsOptions, MountType, MountVolumeOptions, NetworkingConfig, PortBinding,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
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

    let (mounts, binds) = mounts(desired, host, service);

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
            SpecMount::Bind {
                source,
                target,
                read_only,
                options,
            }
            | SpecMount::RepoBind {
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
pub fn balancer_body(desired: &Desired) -> ContainerCreateBody {
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
            ..Default::default()
        }),
        ..Default::default()
    }
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
mod tests {
    use super::*;
    use crate::labels;
    use crate::spec::MemoryFiles;

    fn desired(yaml: &str) -> Desired {
        let loaded = crate::spec::load(&MemoryFiles::new([("fleet.yaml", yaml)]));
        loaded
            .desired
            .unwrap_or_else(|| panic!("invalid test state: {:#?}", loaded.diagnostics))
    }

    #[test]
    fn a_replica_carries_its_identity_and_the_compose_settings() {
        let d = desired(
            "project: shop\nservices:\n  web:\n    image: demo:1\n    ports: ['8080', '9000:9000/udp']\n    environment: { A: '1' }\n    labels: { team: web }\n    restart: unless-stopped\n    stop_grace_period: 20s\n    healthcheck: { test: ['CMD', 'true'], interval: 2s }\n    volumes: ['data:/var/lib/data:ro']\n    networks: { back: { aliases: [api] } }\n    deploy: { resources: { limits: { cpus: '0.5', memory: 256m } } }\nvolumes: { data: {} }\nnetworks: { back: {} }\n",
        );
        let service = &d.services["web"];
        let body = container_body(
            &d,
            "a",
            service,
            &ReplicaIdentity {
                project: "shop",
                service: "web",
                slot: 3,
                spec_hash: "abcd",
                commit: Some("c0ffee"),
            },
        );
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(labels[labels::SLOT], "3");
        assert_eq!(labels[labels::SERVICE], "web");
        assert_eq!(labels[labels::SPEC_HASH], "abcd");
        assert_eq!(labels[labels::COMMIT], "c0ffee");
        assert_eq!(labels["team"], "web");
        assert_eq!(body.env, Some(vec!["A=1".to_string()]));
        let host = body.host_config.as_ref().unwrap();
        let ports = host.port_bindings.as_ref().unwrap();
        assert_eq!(
            ports["8080/tcp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("")
        );
        assert_eq!(
            ports["9000/udp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("9000")
        );
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.memory, Some(256 * 1024 * 1024));
        assert_eq!(host.network_mode.as_deref(), Some("shop_back"));
        let mount = &host.mounts.as_ref().unwrap()[0];
        assert_eq!(mount.source.as_deref(), Some("shop_data"));
        assert_eq!(mount.read_only, Some(true));
        assert_eq!(
            host.restart_policy.as_ref().unwrap().name,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );
        assert_eq!(body.stop_timeout, Some(20));
        assert_eq!(
            body.healthcheck.as_ref().unwrap().interval,
            Some(2_000_000_000)
        );
        let endpoints = body
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap();
        assert_eq!(
            endpoints["shop_back"].aliases,
            Some(vec!["web".to_string(), "api".to_string()])
        );
    }

    #[test]
    fn a_service_without_networks_joins_the_project_default_network() {
        let d = desired("project: shop\nservices:\n  web: { image: demo:1 }\n");
        let body = container_body(
            &d,
            "a",
            &d.services["web"],
            &ReplicaIdentity {
                project: "shop",
                service: "web",
                slot: 0,
                spec_hash: "x",
                commit: None,
            },
        );
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("shop_default")
        );
    }

    fn identity() -> ReplicaIdentity<'static> {
        ReplicaIdentity {
            project: "shop",
            service: "web",
            slot: 0,
            spec_hash: "x",
            commit: None,
        }
    }

    #[test]
    fn container_name_is_an_extra_alias_on_every_network() {
        let d = desired(
            "project: shop\nservices:\n  web:\n    image: demo:1\n    container_name: legacy-web\n    networks: [a, b]\nnetworks: { a: {}, b: {} }\n",
        );
        let body = container_body(&d, "a", &d.services["web"], &identity());
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        for net in ["shop_a", "shop_b"] {
            assert_eq!(
                endpoints[net].aliases,
                Some(vec!["web".to_string(), "legacy-web".to_string()])
            );
        }
    }

    #[test]
    fn host_settings_reach_the_host_config_as_compose_passes_them() {
        let d = desired(
            "project: shop\nservices:\n  web:\n    image: demo:1\n    shm_size: 1g\n    ulimits: { nofile: { soft: 1024, hard: 2048 }, core: 0 }\n    sysctls: { net.core.somaxconn: '1024' }\n    security_opt: [no-new-privileges]\n    stdin_open: true\n    tty: true\n    runtime: runc\n    pids_limit: 50\n    mem_limit: 512m\n    memswap_limit: -1\n    mem_reservation: 256m\n    cpus: 1.5\n    cpu_shares: 512\n    cpuset: 0-1\n    devices: ['/dev/fuse:/dev/fuse:rwm']\n    privileged: true\n    group_add: [audio, 1000]\n    ipc: host\n    pid: host\n    dns: 1.1.1.1\n    dns_search: [example.com]\n    dns_opt: [ndots:2]\n    oom_score_adj: -500\n",
        );
        let body = container_body(&d, "a", &d.services["web"], &identity());
        assert_eq!(body.open_stdin, Some(true));
        assert_eq!(body.tty, Some(true));
        let h = body.host_config.unwrap();
        assert_eq!(h.shm_size, Some(1 << 30));
        let ulimits = h.ulimits.unwrap();
        assert!(ulimits.contains(&ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(1024),
            hard: Some(2048)
        }));
        assert!(ulimits.contains(&ResourcesUlimits {
            name: Some("core".into()),
            soft: Some(0),
            hard: Some(0)
        }));
        assert_eq!(h.sysctls.unwrap()["net.core.somaxconn"], "1024");
        assert_eq!(h.security_opt, Some(vec!["no-new-privileges".to_string()]));
        assert_eq!(h.runtime.as_deref(), Some("runc"));
        assert_eq!(h.pids_limit, Some(50));
        assert_eq!(h.memory, Some(512 << 20));
        assert_eq!(h.memory_swap, Some(-1));
        assert_eq!(h.memory_reservation, Some(256 << 20));
        assert_eq!(h.nano_cpus, Some(1_500_000_000));
        assert_eq!(h.cpu_shares, Some(512));
        assert_eq!(h.cpuset_cpus.as_deref(), Some("0-1"));
        assert_eq!(
            h.devices.unwrap()[0],
            DeviceMapping {
                path_on_host: Some("/dev/fuse".into()),
                path_in_container: Some("/dev/fuse".into()),
                cgroup_permissions: Some("rwm".into()),
            }
        );
        assert_eq!(h.privileged, Some(true));
        assert_eq!(
            h.group_add,
            Some(vec!["audio".to_string(), "1000".to_string()])
        );
        assert_eq!(h.ipc_mode.as_deref(), Some("host"));
        assert_eq!(h.pid_mode.as_deref(), Some("host"));
        assert_eq!(h.dns, Some(vec!["1.1.1.1".to_string()]));
        assert_eq!(h.dns_search, Some(vec!["example.com".to_string()]));
        assert_eq!(h.dns_options, Some(vec!["ndots:2".to_string()]));
        assert_eq!(h.oom_score_adj, Some(-500));
        assert_eq!(h.network_mode.as_deref(), Some("shop_default"));
    }

    #[test]
    fn deploy_limits_win_over_the_service_keys() {
        let d = desired(
            "project: shop\nservices:\n  web:\n    image: demo:1\n    cpus: 2\n    mem_limit: 1g\n    pids_limit: 10\n    deploy: { resources: { limits: { cpus: '0.5', memory: 256m, pids: 20 }, reservations: { memory: 128m } } }\n",
        );
        let h = container_body(&d, "a", &d.services["web"], &identity())
            .host_config
            .unwrap();
        assert_eq!(h.nano_cpus, Some(500_000_000));
        assert_eq!(h.memory, Some(256 << 20));
        assert_eq!(h.pids_limit, Some(20));
        assert_eq!(h.memory_reservation, Some(128 << 20));
    }

    #[test]
    fn network_mode_host_joins_no_project_network() {
        let d = desired(
            "project: shop\nservices:\n  web:\n    image: demo:1\n    network_mode: host\n",
        );
        let body = container_body(&d, "a", &d.services["web"], &identity());
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("host")
        );
        assert!(
            body.networking_config
                .unwrap()
                .endpoints_config
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn pull_parameters_always_name_a_tag_or_digest() {
        assert_eq!(pull_parameters("nginx"), ("nginx".into(), "latest".into()));
        assert_eq!(
            pull_parameters("nginx:1.27"),
            ("nginx".into(), "1.27".into())
        );
        assert_eq!(
            pull_parameters("localhost:5000/a/b"),
            ("localhost:5000/a/b".into(), "latest".into())
        );
        assert_eq!(
            pull_parameters("localhost:5000/a/b:2"),
            ("localhost:5000/a/b".into(), "2".into())
        );
        assert_eq!(
            pull_parameters("a/b@sha256:00"),
            ("a/b".into(), "sha256:00".into())
        );
    }

    #[test]
    fn registries_are_named_as_in_docker_config() {
        assert_eq!(registry_of("nginx"), "docker.io");
        assert_eq!(registry_of("library/nginx:1"), "docker.io");
        assert_eq!(registry_of("ghcr.io/a/b:1"), "ghcr.io");
        assert_eq!(registry_of("localhost:5000/b"), "localhost:5000");
        assert_eq!(registry_of("localhost/b"), "localhost");
    }

    fn body_of(services: &str) -> ContainerCreateBody {
        let d = desired(&format!("project: shop\nservices:\n  web:\n{services}"));
        container_body(
            &d,
            "a",
            &d.services["web"],
            &ReplicaIdentity {
                project: "shop",
                service: "web",
                slot: 0,
                spec_hash: "x",
                commit: None,
            },
        )
    }

    #[test]
    fn a_healthcheck_without_test_sends_an_empty_test_so_the_engine_keeps_the_image_check() {
        let body = body_of("    image: demo:1\n    healthcheck: { interval: 10s }\n");
        let hc = body.healthcheck.unwrap();
        assert_eq!(hc.test, Some(Vec::new()));
        assert_eq!(hc.interval, Some(10_000_000_000));
    }

    #[test]
    fn a_host_port_range_goes_to_the_engine_as_a_range_it_picks_from() {
        let body = body_of("    image: demo:1\n    ports: ['8000-9000:80', '::1:6000:6000']\n");
        let ports = body.host_config.unwrap().port_bindings.unwrap();
        let ranged = &ports["80/tcp"].as_ref().unwrap()[0];
        assert_eq!(ranged.host_port.as_deref(), Some("8000-9000"));
        let v6 = &ports["6000/tcp"].as_ref().unwrap()[0];
        assert_eq!(
            (v6.host_ip.as_deref(), v6.host_port.as_deref()),
            (Some("::1"), Some("6000"))
        );
    }

    #[test]
    fn mount_options_reach_the_engine_and_selinux_binds_go_as_binds() {
        let d = desired(
            "project: shop\nservices:\n  web:\n    image: demo:1\n    volumes:\n      - /srv/a:/a:rw,z\n      - /srv/b:/b:ro,rshared\n      - data:/d:nocopy\n      - { type: volume, source: data, target: /e, volume: { subpath: sub } }\n      - { type: tmpfs, target: /t, tmpfs: { size: 64m, mode: 1777 } }\n      - { type: bind, source: /srv/c, target: /c, bind: { create_host_path: true } }\nvolumes: { data: {} }\n",
        );
        let body = container_body(
            &d,
            "a",
            &d.services["web"],
            &ReplicaIdentity {
                project: "shop",
                service: "web",
                slot: 0,
                spec_hash: "x",
                commit: None,
            },
        );
        let host = body.host_config.unwrap();
        assert_eq!(host.binds, Some(vec!["/srv/a:/a:rw,z".to_string()]));
        let mounts = host.mounts.unwrap();
        let b = mounts[0].bind_options.as_ref().unwrap();
        assert_eq!(
            b.propagation,
            Some(MountBindOptionsPropagationEnum::RSHARED)
        );
        assert_eq!(mounts[0].read_only, Some(true));
        let v = mounts[1].volume_options.as_ref().unwrap();
        assert_eq!(v.no_copy, Some(true));
        let v = mounts[2].volume_options.as_ref().unwrap();
        assert_eq!(v.subpath.as_deref(), Some("sub"));
        let t = mounts[3].tmpfs_options.as_ref().unwrap();
        assert_eq!(
            (t.size_bytes, t.mode),
            (Some(64 * 1024 * 1024), Some(0o1777))
        );
        let c = mounts[4].bind_options.as_ref().unwrap();
        assert_eq!(c.create_mountpoint, Some(true));
    }

    #[test]
    fn a_data_directory_is_a_bind_under_the_host_data_dir_which_the_engine_creates() {
        let d = desired(
            "project: shop\nhosts:\n  a: { address: ssh://a.example }\n  b: { address: ssh://b.example, data_dir: /srv/shop }\nservices:\n  web:\n    image: demo:1\n    volumes: ['./data:/data:z', './conf:/conf:ro']\n",
        );
        let binds = |host| {
            let body = container_body(&d, host, &d.services["web"], &identity());
            let h = body.host_config.unwrap();
            assert!(h.mounts.unwrap_or_default().is_empty());
            h.binds.unwrap()
        };
        assert_eq!(
            binds("a"),
            [
                "/var/lib/fleet/shop/data:/data:rw,z",
                "/var/lib/fleet/shop/conf:/conf:ro"
            ]
        );
        assert_eq!(
            binds("b"),
            ["/srv/shop/data:/data:rw,z", "/srv/shop/conf:/conf:ro"]
        );
    }

    #[test]
    fn a_fixed_address_goes_to_the_endpoint_and_others_get_none() {
        let d = desired(
            "project: shop\nnetworks:\n  back: { ipam: { config: [{ subnet: 172.28.0.0/16 }] } }\n  front: {}\nservices:\n  web:\n    image: demo:1\n    networks: { back: { ipv4_address: 172.28.0.10 }, front: {} }\n",
        );
        let body = container_body(&d, "a", &d.services["web"], &identity());
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        let back = endpoints["shop_back"].ipam_config.as_ref().unwrap();
        assert_eq!(back.ipv4_address.as_deref(), Some("172.28.0.10"));
        assert!(endpoints["shop_front"].ipam_config.is_none());
    }
}
