//! The Compose keys fleet accepts, notes or refuses: every key of the Compose Specification is
//! either supported or refused with a reason, never "unknown".

use crate::spec::diag::Diagnostic;
use crate::spec::model::{Mount, PullPolicy, Ulimit};
use crate::spec::{Desired, MemoryFiles, load};

/// The service properties of the Compose Specification (compose-spec/compose-spec,
/// `schema/compose-spec.json`, `definitions.service.properties`).
const COMPOSE_SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "pull_refresh_after",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];
const COMPOSE_TOP_KEYS: &[&str] = &[
    "configs", "include", "models", "name", "networks", "secrets", "services", "version", "volumes",
];
const COMPOSE_NETWORK_KEYS: &[&str] = &[
    "attachable",
    "driver",
    "driver_opts",
    "enable_ipv4",
    "enable_ipv6",
    "external",
    "internal",
    "ipam",
    "labels",
    "name",
];
const COMPOSE_SERVICE_NETWORK_KEYS: &[&str] = &[
    "aliases",
    "interface_name",
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "driver_opts",
    "priority",
    "gw_priority",
];
const COMPOSE_DEPLOY_KEYS: &[&str] = &[
    "endpoint_mode",
    "labels",
    "mode",
    "placement",
    "replicas",
    "resources",
    "restart_policy",
    "rollback_config",
    "update_config",
];

fn diagnostics(yaml: &str) -> Vec<Diagnostic> {
    load(&MemoryFiles::new([("fleet.yaml", yaml)])).diagnostics
}

fn desired(yaml: &str) -> Desired {
    let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml)]));
    loaded
        .desired
        .unwrap_or_else(|| panic!("invalid: {:#?}", loaded.diagnostics))
}

fn assert_no_unknown_key(what: &str, yaml: &str) {
    for d in diagnostics(yaml) {
        assert!(
            !d.message.contains("unknown key"),
            "{what}: {} ({yaml})",
            d.message
        );
    }
}

#[test]
fn no_compose_service_key_is_an_unknown_key() {
    for key in COMPOSE_SERVICE_KEYS {
        assert_no_unknown_key(
            key,
            &format!("project: p\nservices:\n  web:\n    image: demo:1\n    {key}: null\n"),
        );
    }
}

#[test]
fn no_compose_top_level_network_or_deploy_key_is_an_unknown_key() {
    for key in COMPOSE_TOP_KEYS {
        assert_no_unknown_key(key, &format!("project: p\n{key}: null\n"));
    }
    for key in COMPOSE_NETWORK_KEYS {
        assert_no_unknown_key(
            key,
            &format!("project: p\nnetworks:\n  n:\n    {key}: null\n"),
        );
    }
    for key in COMPOSE_SERVICE_NETWORK_KEYS {
        assert_no_unknown_key(
            key,
            &format!(
                "project: p\nservices:\n  web:\n    image: demo:1\n    networks:\n      default:\n        {key}: null\n"
            ),
        );
    }
    for key in COMPOSE_DEPLOY_KEYS {
        assert_no_unknown_key(
            key,
            &format!(
                "project: p\nservices:\n  web:\n    image: demo:1\n    deploy:\n      {key}: null\n"
            ),
        );
    }
}

#[test]
fn a_refused_compose_key_says_why_and_what_instead() {
    for key in COMPOSE_SERVICE_KEYS {
        if let Some(reason) = super::unsupported_service_key(key) {
            assert!(reason.contains("instead"), "{key}: {reason}");
        }
    }
}

#[test]
fn container_name_is_accepted_with_a_note() {
    let yaml = "project: p\nservices:\n  db:\n    image: demo:1\n    container_name: postgres\n";
    let d = desired(yaml);
    assert_eq!(d.services["db"].container_name.as_deref(), Some("postgres"));
    let diags = diagnostics(yaml);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(!diags[0].is_error());
    assert!(diags[0].message.contains("DNS alias"));
}

#[test]
fn two_services_with_one_container_name_are_an_error() {
    let diags = diagnostics(
        "project: p\nservices:\n  a:\n    image: demo:1\n    container_name: x\n  b:\n    image: demo:1\n    container_name: x\n",
    );
    assert!(
        diags
            .iter()
            .any(|d| d.is_error() && d.message.contains("also the container_name")),
        "{diags:#?}"
    );
}

#[test]
fn services_of_inactive_profiles_are_left_out() {
    let base = "services:\n  web:\n    image: demo:1\n  debug:\n    image: demo:1\n    profiles: [tools]\n";
    let d = desired(&format!("project: p\n{base}"));
    assert!(d.services.contains_key("web"));
    assert!(!d.services.contains_key("debug"));
    let d = desired(&format!("project: p\nprofiles: [tools]\n{base}"));
    assert!(d.services.contains_key("debug"));
}

#[test]
fn depending_on_an_inactive_service_is_an_error() {
    let diags = diagnostics(
        "project: p\nservices:\n  web:\n    image: demo:1\n    depends_on: [debug]\n  debug:\n    image: demo:1\n    profiles: [tools]\n",
    );
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{diags:#?}");
    assert!(errors[0].message.contains("not active"));
}

#[test]
fn host_settings_are_decoded_in_both_forms() {
    let d = desired(
        "project: p\nservices:\n  web:\n    image: demo:1\n    shm_size: 64m\n    ulimits: { nofile: 1024, nproc: { soft: 10, hard: 20 } }\n    sysctls: [net.core.somaxconn=1024]\n    devices: ['/dev/fuse', { source: /dev/a, target: /dev/b, permissions: r }]\n    pull_policy: always\n    network_mode: host\n    deploy: { resources: { limits: { pids: 100 }, reservations: { memory: 1g } } }\n",
    );
    let s = &d.services["web"];
    assert_eq!(s.host.shm_size, Some(64 * 1024 * 1024));
    assert_eq!(
        s.host.ulimits["nofile"],
        Ulimit {
            soft: 1024,
            hard: 1024
        }
    );
    assert_eq!(s.host.ulimits["nproc"], Ulimit { soft: 10, hard: 20 });
    assert_eq!(s.host.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(s.host.devices[0].container, "/dev/fuse");
    assert_eq!(s.host.devices[1].permissions, "r");
    assert_eq!(s.pull_policy, PullPolicy::Always);
    assert_eq!(s.deploy.resources.pids, Some(100));
    assert_eq!(s.deploy.resources.reservation_memory, Some(1 << 30));
}

#[test]
fn network_modes_that_share_a_namespace_are_refused_with_a_reason() {
    for mode in ["service:db", "container:x"] {
        let diags = diagnostics(&format!(
            "project: p\nservices:\n  web:\n    image: demo:1\n    network_mode: '{mode}'\n"
        ));
        assert!(
            diags.iter().any(|d| d.is_error()
                && d.hint
                    .as_deref()
                    .is_some_and(|h| h.contains("across hosts"))),
            "{diags:#?}"
        );
    }
}

#[test]
fn build_with_an_image_deploys_the_image_and_build_alone_is_refused() {
    let diags = diagnostics("project: p\nservices:\n  web:\n    image: demo:1\n    build: .\n");
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:#?}");
    assert_eq!(diags.len(), 1);
    let diags = diagnostics("project: p\nservices:\n  web:\n    build: .\n");
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{diags:#?}");
    assert!(
        errors[0]
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("push the image")
    );
}

#[test]
fn top_level_name_is_a_warning() {
    let diags = diagnostics("project: p\nname: shop\n");
    assert_eq!(diags.len(), 1);
    assert!(!diags[0].is_error());
}

#[test]
fn keys_added_later_leave_the_spec_hash_of_existing_services_alone() {
    let d = desired(
        "project: p\nservices:\n  web:\n    image: demo:1\n    profiles: [a]\n    pull_policy: never\nprofiles: [a]\n",
    );
    let spec = crate::contract::container_spec(&d.services["web"]);
    for key in ["host", "container_name", "profiles", "pull_policy"] {
        assert!(spec.get(key).is_none(), "{key} in {spec}");
    }
    assert!(spec["deploy"]["resources"].get("pids").is_none());
}

#[test]
fn network_mode_cannot_be_set_behind_the_balancers() {
    let diags = diagnostics(
        "project: p\nservices:\n  web:\n    image: demo:1\n    network_mode: host\n    x-fleet: { expose: { port: 80, host_port: 80 } }\n",
    );
    assert!(
        diags
            .iter()
            .any(|d| d.is_error() && d.message.contains("behind the balancers")),
        "{diags:#?}"
    );
}

#[test]
fn a_relative_path_not_in_the_repository_is_a_data_directory_with_a_note() {
    let files = MemoryFiles::new([
        (
            "fleet.yaml",
            "project: p\nhosts:\n  a: { address: ssh://a.example }\n  b: { address: ssh://b.example, data_dir: /srv/shop/ }\ninclude: [app/compose.yaml]\n",
        ),
        (
            "app/compose.yaml",
            "services:\n  db:\n    image: demo:1\n    volumes: ['./data:/var/lib/db', './nginx.conf:/etc/nginx.conf:ro']\n",
        ),
    ]);
    let loaded = load(&files);
    let d = loaded
        .desired
        .unwrap_or_else(|| panic!("invalid: {:#?}", loaded.diagnostics));
    let volumes = &d.services["db"].volumes;
    assert!(
        matches!(&volumes[0], Mount::DataDir { source, target, read_only: false, .. }
            if source == "app/data" && target == "/var/lib/db"),
        "{volumes:?}"
    );
    assert!(matches!(
        &volumes[1],
        Mount::DataDir {
            read_only: true,
            ..
        }
    ));
    assert_eq!(d.data_path("a", "app/data"), "/var/lib/fleet/p/app/data");
    assert_eq!(d.data_path("b", "app/data"), "/srv/shop/app/data");
    let notes = &loaded.diagnostics;
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(
        notes
            .iter()
            .all(|n| !n.is_error() && n.message.contains("data directory"))
    );
    // A name that looks like a file is most likely a file someone forgot to commit.
    assert!(notes[1].hint.as_deref().unwrap().contains("commit it"));
    assert!(!notes[0].hint.as_deref().unwrap().contains("commit it"));
}

#[test]
fn a_host_data_dir_must_be_an_absolute_directory_below_the_root() {
    for bad in ["data", "/", "//", "/srv/../etc", "/srv/./x"] {
        let diags = diagnostics(&format!(
            "project: p\nhosts:\n  a: {{ address: ssh://a.example, data_dir: '{bad}' }}\n"
        ));
        assert!(
            diags
                .iter()
                .any(|d| d.is_error() && d.field == "hosts.a.data_dir"),
            "{bad}: {diags:#?}"
        );
    }
}

#[test]
fn links_become_start_order_and_an_alias_other_than_the_name_is_refused() {
    let d = desired(
        "project: p\nservices:\n  db:\n    image: demo:1\n  web:\n    image: demo:1\n    links: [db, 'db:db']\n",
    );
    assert!(d.services["web"].depends_on.contains_key("db"));
    let diags = diagnostics(
        "project: p\nservices:\n  db:\n    image: demo:1\n  web:\n    image: demo:1\n    links: ['db:database', nope]\n",
    );
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 2, "{diags:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("link alias `database`"))
    );
    assert!(errors.iter().any(|e| e.message.contains("nope")));
}

#[test]
fn a_home_directory_path_is_a_data_directory_and_climbing_out_is_refused() {
    let yaml = "project: p\nservices:\n  web:\n    image: demo:1\n    volumes: ['~/.cfg/web:/config', '~:/home']\n";
    let d = desired(yaml);
    let sources: Vec<&str> = d.services["web"]
        .volumes
        .iter()
        .map(|m| match m {
            Mount::DataDir { source, .. } => source.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sources, ["home/.cfg/web", "home"]);
    assert!(diagnostics(yaml).iter().all(|d| !d.is_error()));
    for bad in ["~/../etc:/x", "~root/x:/x"] {
        let diags = diagnostics(&format!(
            "project: p\nservices:\n  web:\n    image: demo:1\n    volumes: ['{bad}']\n"
        ));
        assert!(diags.iter().any(|d| d.is_error()), "{bad}: {diags:#?}");
    }
}

#[test]
fn a_fixed_address_needs_a_subnet_of_its_network_and_one_replica_per_host() {
    let base = "project: p\nhosts:\n  a: { address: ssh://a.example }\n  b: { address: ssh://b.example }\nnetworks:\n  back:\n    ipam: { driver: default, config: [{ subnet: 172.28.0.0/16, gateway: 172.28.0.1 }] }\n";
    let d = desired(&format!(
        "{base}services:\n  db:\n    image: demo:1\n    deploy: {{ replicas: 2 }}\n    networks: {{ back: {{ ipv4_address: 172.28.0.10 }} }}\n"
    ));
    let ipam = d.networks["back"].ipam.as_ref().unwrap();
    assert_eq!(ipam.config[0].subnet.as_deref(), Some("172.28.0.0/16"));
    assert!(d.services["db"].has_fixed_address());
    for (yaml, expect) in [
        ("ipv4_address: 10.0.0.5", "in no subnet of network `back`"),
        ("ipv4_address: nope", "is not an address"),
    ] {
        let diags = diagnostics(&format!(
            "{base}services:\n  db:\n    image: demo:1\n    networks: {{ back: {{ {yaml} }} }}\n"
        ));
        assert!(
            diags
                .iter()
                .any(|d| d.is_error() && d.message.contains(expect)),
            "{yaml}: {diags:#?}"
        );
    }
    let diags = diagnostics(&format!(
        "{base}services:\n  db:\n    image: demo:1\n    deploy: {{ replicas: 3 }}\n    networks: {{ back: {{ ipv4_address: 172.28.0.10 }} }}\n"
    ));
    assert!(
        diags
            .iter()
            .any(|d| d.is_error() && d.message.contains("fits one replica per host")),
        "{diags:#?}"
    );
    let diags = diagnostics(
        "project: p\nnetworks:\n  n: { ipam: { config: [{ subnet: 10.0.0.0/33 }] } }\n",
    );
    assert!(
        diags
            .iter()
            .any(|d| d.is_error() && d.message.contains("not a subnet"))
    );
}

#[test]
fn device_requests_need_capabilities_and_not_both_count_and_ids() {
    let d = desired(
        "project: p\nservices:\n  web:\n    image: demo:1\n    deploy: { resources: { reservations: { devices: [{ capabilities: [gpu], count: all }] } } }\n",
    );
    assert_eq!(
        d.services["web"].deploy.resources.devices[0].count,
        Some(-1)
    );
    for bad in [
        "{ driver: nvidia }",
        "{ capabilities: [gpu], count: 1, device_ids: ['0'] }",
    ] {
        let diags = diagnostics(&format!(
            "project: p\nservices:\n  web:\n    image: demo:1\n    deploy: {{ resources: {{ reservations: {{ devices: [{bad}] }} }} }}\n"
        ));
        assert!(diags.iter().any(|d| d.is_error()), "{bad}: {diags:#?}");
    }
}

#[test]
fn an_image_source_is_local_or_an_archive_inside_the_project_and_not_in_the_spec_hash() {
    use crate::spec::model::ImageSource;
    let d = desired(
        "project: p\nservices:\n  web:\n    image: app:1\n    x-fleet: { image_source: local }\n  api:\n    image: api:1\n    x-fleet:\n      image_source: ./build/../images/api.tar\n",
    );
    assert_eq!(d.services["web"].image_source, Some(ImageSource::Local));
    match &d.services["api"].image_source {
        Some(ImageSource::Archive { path, at }) => {
            assert_eq!(path, "images/api.tar");
            assert_eq!(
                (at.file.as_str(), at.line, at.column),
                ("fleet.yaml", 9, 21)
            );
        }
        other => panic!("{other:?}"),
    }
    let plain = desired("project: p\nservices:\n  web:\n    image: app:1\n");
    assert_eq!(
        crate::contract::spec_hash(&d.services["web"]),
        crate::contract::spec_hash(&plain.services["web"]),
        "where an image comes from does not shape the container"
    );
}

#[test]
fn a_bad_image_source_is_an_error_at_its_value() {
    for (value, says) in [
        ("registry", "is not an image source"),
        ("/tmp/app.tar", "is not an image source"),
        ("./app.tgz", "is not a `.tar` archive"),
        ("../../app.tar", "outside the repository"),
        ("[local]", "a string"),
    ] {
        let diags = diagnostics(&format!(
            "project: p\nservices:\n  web:\n    image: app:1\n    x-fleet: {{ image_source: {value} }}\n"
        ));
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), 1, "{value}: {diags:#?}");
        assert_eq!((errors[0].line, errors[0].column), (5, 30), "{value}");
        assert!(
            errors[0].message.contains(says)
                || errors[0].expected.as_deref().unwrap_or("").contains(says),
            "{value}: {:?}",
            errors[0]
        );
    }
}

#[test]
fn a_shipped_image_is_never_pulled_so_pull_policy_always_is_refused() {
    let diags = diagnostics(
        "project: p\nservices:\n  web:\n    image: app:1\n    pull_policy: always\n    x-fleet: { image_source: local }\n",
    );
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{diags:#?}");
    assert!(
        errors[0].message.contains("never pulled"),
        "{:?}",
        errors[0]
    );
    assert_eq!(errors[0].line, 6);
    desired(
        "project: p\nservices:\n  web:\n    image: app:1\n    pull_policy: never\n    x-fleet: { image_source: local }\n",
    );
}
