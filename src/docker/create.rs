//! Translation of a desired replica into the Docker Engine's container-create request.
//!
//! Pure: no I/O, so every mapping rule is unit-tested on plain values. Names of engine-side
//! objects (networks, volumes) follow Docker Compose (`{project}_{name}` unless `name:` is set),
//! so a project moved from `docker compose` keeps its volumes.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, HostConfigLogConfig, Mount,
    MountType, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};

use crate::contract::{self, ReplicaIdentity, network_name, service_networks, volume_name};
use crate::spec::Desired;
use crate::spec::model::{Mount as SpecMount, Port, Protocol, Restart, Service};

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The create request for one replica of `service`.
pub fn container_body(
    desired: &Desired,
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
                // Empty: the engine picks a free port.
                host_port: Some(port.published.map(|p| p.to_string()).unwrap_or_default()),
            });
    }
    for text in &service.expose {
        let (port, proto) = text.split_once('/').unwrap_or((text, "tcp"));
        exposed.push(format!("{port}/{proto}"));
    }

    let mounts = service
        .volumes
        .iter()
        .map(|m| match m {
            SpecMount::Volume {
                source,
                target,
                read_only,
            } => Mount {
                typ: Some(MountType::VOLUME),
                source: source.as_ref().map(|s| volume_name(desired, s)),
                target: Some(target.clone()),
                read_only: Some(*read_only),
                ..Default::default()
            },
            SpecMount::Bind {
                source,
                target,
                read_only,
            }
            | SpecMount::RepoBind {
                source,
                target,
                read_only,
            } => Mount {
                typ: Some(MountType::BIND),
                source: Some(source.clone()),
                target: Some(target.clone()),
                read_only: Some(*read_only),
                ..Default::default()
            },
            SpecMount::Tmpfs { target } => Mount {
                typ: Some(MountType::TMPFS),
                target: Some(target.clone()),
                ..Default::default()
            },
        })
        .collect::<Vec<_>>();

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

    let networks = service_networks(service);
    let endpoints: HashMap<String, EndpointSettings> = networks
        .iter()
        .map(|net| {
            let mut aliases = vec![id.service.to_string()];
            if let Some(extra) = service.networks.get(net) {
                aliases.extend(extra.aliases.iter().cloned());
            }
            (
                network_name(desired, net),
                EndpointSettings {
                    aliases: Some(aliases),
                    ..Default::default()
                },
            )
        })
        .collect();

    let host_config = HostConfig {
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
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
            .map(|c| (c * 1e9).round() as i64),
        memory: service
            .deploy
            .resources
            .memory
            .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        network_mode: networks.first().map(|n| network_name(desired, n)),
        ..Default::default()
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
        host_config: Some(host_config),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..Default::default()
    }
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
}
