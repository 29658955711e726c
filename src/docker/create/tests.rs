//! The create requests built from the desired state, checked field by field.
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
    let d =
        desired("project: shop\nservices:\n  web:\n    image: demo:1\n    network_mode: host\n");
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

#[test]
fn device_requests_from_reservations_and_gpus_reach_the_engine() {
    let d = desired(
        "project: shop\nservices:\n  web:\n    image: demo:1\n    gpus: all\n    deploy:\n      resources:\n        reservations:\n          devices: [{ driver: nvidia, device_ids: ['0', '3'], capabilities: [gpu, utility] }]\n",
    );
    let h = container_body(&d, "a", &d.services["web"], &identity())
        .host_config
        .unwrap();
    let requests = h.device_requests.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].count, Some(-1));
    assert_eq!(
        requests[0].capabilities,
        Some(vec![vec!["gpu".to_string()]])
    );
    assert_eq!(requests[1].driver.as_deref(), Some("nvidia"));
    assert_eq!(
        requests[1].device_ids,
        Some(vec!["0".to_string(), "3".to_string()])
    );
    assert_eq!(requests[1].count, Some(0));
    assert_eq!(
        requests[1].capabilities,
        Some(vec![vec!["gpu".to_string(), "utility".to_string()]])
    );
}
