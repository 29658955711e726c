//! JSON Schema of fleet.yaml, for editors (yaml-language-server) and CI linters.
//!
//! Hand-written because the loader is hand-written; a test checks that every object here lists
//! exactly the keys the loader accepts, so the two cannot drift apart.

use serde_json::{Value, json};

pub fn schema() -> Value {
    let duration = json!({"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", "description": "A duration such as 10s, 1m30s or 500ms"});
    let string_or_list =
        json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]});
    let size = json!({"type": ["string", "integer"], "description": "A size such as 512m or 1g, or a number of bytes"});
    let file_mounts = json!({"type": "array", "items": {"oneOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": false, "required": ["source"], "properties": {
            "source": {"type": "string"}, "target": {"type": "string"},
            "uid": {"type": ["string", "integer"]}, "gid": {"type": ["string", "integer"]},
            "mode": {"type": ["string", "integer"], "description": "Octal permission bits, e.g. 0440"}
        }}
    ]}});
    let device_request = json!({"type": "object", "additionalProperties": false, "properties": {
        "capabilities": {"type": "array", "items": {"type": "string"}},
        "driver": {"type": "string"},
        "count": {"oneOf": [{"type": "integer", "minimum": 1}, {"const": "all"}]},
        "device_ids": {"type": "array", "items": {"type": "string"}},
        "options": {"type": "object", "additionalProperties": {"type": "string"}}
    }});
    let scalar = json!({"type": ["string", "number", "boolean"]});
    let labels = json!({"oneOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
        {"type": "array", "items": {"type": "string"}}
    ]});
    let update = json!({
        "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
        "properties": {
            "parallelism": {"type": "integer", "minimum": 0},
            "delay": duration,
            "order": {"enum": ["stop-first", "start-first"]},
            "failure_action": {"enum": ["rollback", "pause", "continue"]},
            "monitor": duration,
            "max_failure_ratio": {"type": "number", "minimum": 0, "maximum": 1}
        }
    });
    // The keys added with Compose compatibility, in a second object (one `json!` this large
    // would exceed the macro recursion limit).
    let more = json!({
            "container_name": {"type": "string", "description": "An extra DNS alias of the service; replicas keep fleet's names"},
            "links": {"type": "array", "items": {"type": "string"}, "description": "Legacy Compose links: SERVICE (or SERVICE:SERVICE), started first"},
            "secrets": file_mounts.clone(),
            "configs": file_mounts.clone(),
            "profiles": {"type": "array", "items": {"type": "string"}, "description": "Active only when fleet.yaml's `profiles` lists one of these"},
            "pull_policy": {"enum": ["always", "missing", "if_not_present", "never"]},
            "build": {"description": "Ignored (with a note) when `image` is set: fleet deploys images and does not build them"},
            "shm_size": size,
            "gpus": {"oneOf": [{"const": "all"}, {"type": "array", "items": device_request.clone()}]},
            "ulimits": {"type": "object", "additionalProperties": {"oneOf": [
                {"type": "integer"},
                {"type": "object", "additionalProperties": false, "required": ["soft", "hard"],
                 "properties": {"soft": {"type": "integer"}, "hard": {"type": "integer"}}}
            ]}},
            "sysctls": labels,
            "security_opt": {"type": "array", "items": {"type": "string"}},
            "stdin_open": {"type": "boolean"},
            "tty": {"type": "boolean"},
            "platform": {"type": "string"},
            "runtime": {"type": "string"},
            "pids_limit": {"type": "integer", "minimum": -1},
            "mem_limit": size,
            "memswap_limit": size,
            "mem_reservation": size,
            "cpus": {"type": ["string", "number"]},
            "cpu_shares": {"type": "integer", "minimum": 0},
            "cpuset": {"type": "string"},
            "devices": {"type": "array", "items": {"oneOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}}, "required": ["source"],
                 "properties": {"source": {"type": "string"}, "target": {"type": "string"}, "permissions": {"type": "string"}}}
            ]}},
            "privileged": {"type": "boolean"},
            "group_add": {"type": "array", "items": {"type": ["string", "integer"]}},
            "ipc": {"type": "string"},
            "pid": {"type": "string"},
            "dns": string_or_list,
            "dns_search": string_or_list,
            "dns_opt": {"type": "array", "items": {"type": "string"}},
            "oom_score_adj": {"type": "integer", "minimum": -1000, "maximum": 1000},
            "network_mode": {"enum": ["host", "none", "bridge"]}
    });
    let mut service = json!({
        "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
        "required": ["image"],
        "properties": {
            "image": {"type": "string"},
            "command": string_or_list,
            "entrypoint": string_or_list,
            "environment": {"oneOf": [
                {"type": "object", "additionalProperties": scalar},
                {"type": "array", "items": {"type": "string", "pattern": "^[^=]+="}}
            ]},
            "env_file": {"oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"oneOf": [
                    {"type": "string"},
                    {"type": "object", "additionalProperties": false, "required": ["path"],
                     "properties": {"path": {"type": "string"}, "required": {"type": "boolean"}}}
                ]}}
            ]},
            "ports": {"type": "array", "items": {"oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string"},
                {"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}}, "required": ["target"],
                 "properties": {
                    "target": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "published": {"type": ["integer", "string"]},
                    "host_ip": {"type": "string"},
                    "protocol": {"enum": ["tcp", "udp"]},
                    "mode": {"enum": ["host"]},
                    "name": {"type": "string"},
                    "app_protocol": {"type": "string"}
                 }}
            ]}},
            "volumes": {"type": "array", "items": {"oneOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}}, "required": ["type", "target"],
                 "properties": {
                    "type": {"enum": ["volume", "bind", "tmpfs"]},
                    "source": {"type": "string"},
                    "target": {"type": "string"},
                    "read_only": {"type": "boolean"},
                    "consistency": {"type": "string"},
                    "bind": {"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                     "properties": {
                        "propagation": {"enum": ["private", "rprivate", "shared", "rshared", "slave", "rslave"]},
                        "create_host_path": {"type": "boolean"},
                        "selinux": {"enum": ["z", "Z"]}
                     }},
                    "volume": {"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                     "properties": {"nocopy": {"type": "boolean"}, "subpath": {"type": "string"}}},
                    "tmpfs": {"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                     "properties": {"size": {"type": ["integer", "string"]}, "mode": {"type": ["integer", "string"]}}}
                 }}
            ]}},
            "networks": {"oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"oneOf": [
                    {"type": "null"},
                    {"type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                     "properties": {"aliases": {"type": "array", "items": {"type": "string"}}, "ipv4_address": {"type": "string"}, "ipv6_address": {"type": "string"}}}
                ]}}
            ]},
            "labels": labels,
            "healthcheck": {
                "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                "properties": {
                    "test": string_or_list,
                    "interval": duration,
                    "timeout": duration,
                    "retries": {"type": "integer", "minimum": 0},
                    "start_period": duration,
                    "start_interval": duration,
                    "disable": {"type": "boolean"}
                }
            },
            "restart": {"type": "string", "pattern": "^(no|always|unless-stopped|on-failure(:[0-9]+)?)$"},
            "user": scalar,
            "working_dir": {"type": "string"},
            "stop_grace_period": duration,
            "stop_signal": {"type": ["string", "integer"]},
            "init": {"type": "boolean"},
            "read_only": {"type": "boolean"},
            "cap_add": {"type": "array", "items": {"type": "string"}},
            "cap_drop": {"type": "array", "items": {"type": "string"}},
            "extra_hosts": {"oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "string"}}
            ]},
            "expose": {"type": "array", "items": {"type": ["string", "integer"]}},
            "hostname": {"type": "string"},
            "logging": {
                "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                "properties": {
                    "driver": {"type": "string"},
                    "options": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
                }
            },
            "tmpfs": string_or_list,
            "depends_on": {"oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "condition": {"enum": ["service_started", "service_healthy", "service_completed_successfully"]},
                        "restart": {"type": "boolean"},
                        "required": {"type": "boolean"}
                    }
                }}
            ]},
            "deploy": {
                "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                "properties": {
                    "mode": {"enum": ["replicated", "global"]},
                    "replicas": {"type": "integer", "minimum": 0},
                    "placement": {
                        "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                        "properties": {
                            "constraints": {"type": "array", "items": {"type": "string", "pattern": "^\\s*node\\.(labels\\.[^=!\\s]+|hostname)\\s*(==|!=)\\s*\\S"}},
                            "preferences": {"type": "array", "items": {
                                "type": "object", "additionalProperties": false,
                                "properties": {"spread": {"type": "string", "pattern": "^node\\.labels\\."}}
                            }},
                            "max_replicas_per_node": {"type": "integer", "minimum": 1}
                        }
                    },
                    "update_config": update,
                    "rollback_config": update,
                    "restart_policy": {
                        "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                        "properties": {
                            "condition": {"enum": ["none", "on-failure", "any"]},
                            "max_attempts": {"type": "integer", "minimum": 0}
                        }
                    },
                    "resources": {
                        "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                        "properties": {
                            "limits": {
                                "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                                "properties": {
                                    "cpus": {"type": ["string", "number"]},
                                    "memory": size,
                                    "pids": {"type": "integer", "minimum": -1}
                                }
                            },
                            "reservations": {
                                "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                                "properties": {
                                    "memory": size,
                                    "cpus": {"type": ["string", "number"], "description": "Ignored with a note: placement does not account for reservations"},
                                    "devices": {"type": "array", "items": device_request.clone()}
                                }
                            }
                        }
                    }
                }
            }
        }
    });
    if let (Some(props), Value::Object(more)) = (service["properties"].as_object_mut(), more) {
        props.extend(more);
    }
    let volume = json!({"oneOf": [{"type": "null"}, {
        "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
        "properties": {
            "driver": {"type": "string"},
            "driver_opts": {"type": "object", "additionalProperties": scalar},
            "labels": labels,
            "external": {"type": "boolean"},
            "name": {"type": "string"}
        }
    }]});
    let network = json!({"oneOf": [{"type": "null"}, {
        "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
        "properties": {
            "driver": {"type": "string"},
            "driver_opts": {"type": "object", "additionalProperties": scalar},
            "labels": labels,
            "external": {"type": "boolean"},
            "internal": {"type": "boolean"},
            "ipam": {"type": "object", "additionalProperties": false, "properties": {
                "driver": {"type": "string"},
                "options": {"type": "object", "additionalProperties": {"type": "string"}},
                "config": {"type": "array", "items": {"type": "object", "additionalProperties": false, "properties": {
                    "subnet": {"type": "string"}, "ip_range": {"type": "string"}, "gateway": {"type": "string"},
                    "aux_addresses": {"type": "object", "additionalProperties": {"type": "string"}}
                }}}
            }},
            "name": {"type": "string"}
        }
    }]});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "fleet.yaml",
        "description": "Desired state of a fleet project: hosts and services written with Compose Specification keys",
        "type": "object",
        "additionalProperties": false,
        "patternProperties": {"^x-": {}},
        "required": ["project"],
        "properties": {
            "project": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$"},
            "hosts": {"type": "object", "minProperties": 1, "additionalProperties": {
                "type": "object", "additionalProperties": false, "patternProperties": {"^x-": {}},
                "required": ["address"],
                "properties": {
                    "address": {"type": "string", "pattern": "^(ssh://|unix:///)"},
                    "labels": labels,
                    "docker_socket": {"type": "string", "pattern": "^/"},
                    "identity_file": {"type": "string"},
                    "data_dir": {"type": "string", "pattern": "^/.", "description": "Where the project's data directories (relative paths not in the repository) live on this host; default /var/lib/fleet/PROJECT"}
                }
            }},
            "services": {"type": "object", "additionalProperties": service},
            "profiles": {"type": "array", "items": {"type": "string"}, "description": "The active Compose profiles; services without profiles are always active"},
            "secrets_recipients": {"type": "array", "items": {"type": "string", "pattern": "^(age1|ssh-ed25519 |ssh-rsa )"}, "description": "Who `fleet secret set` encrypts new secrets to"},
            "secrets": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": false, "properties": {
                "file": {"type": "string", "description": "A file of the repository; age-encrypted when it ends in .age"},
                "name": {"type": "string"}
            }}},
            "configs": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": false, "properties": {
                "file": {"type": "string"}, "content": {"type": "string"}, "name": {"type": "string"}
            }}},
            "include": {"type": "array", "items": {"oneOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": false, "required": ["path"], "properties": {"path": {"type": "string"}}}
            ]}},
            "volumes": {"type": "object", "additionalProperties": volume},
            "networks": {"type": "object", "additionalProperties": network},
            "balancer": {
                "type": "object",
                "description": "The load balancers (HAProxy) in front of services with x-fleet.expose",
                "additionalProperties": false,
                "patternProperties": {"^x-": {}},
                "properties": {
                    "image": {"type": "string", "description": "HAProxy image (default haproxy:3.2)"},
                    "hosts": {"type": "array", "items": {"type": "string"}, "description": "Ingress hosts that run a balancer (default: every host)"},
                    "http_port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "Port of services routed by host name over HTTP (default 80)"},
                    "https_port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "Port of services routed by host name over TLS (default 443)"}
                }
            },
            "variables": {
                "type": "object",
                "description": "Values for ${VAR} interpolation in every file, taken as written; they win over the .env file beside each file. Values never come from the environment of the machine running fleet",
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
            },
            "watch": {
                "type": "object",
                "description": "How `fleet watch` treats this project",
                "additionalProperties": false,
                "patternProperties": {"^x-": {}},
                "properties": {
                    "host_down_after": {"type": "string", "description": "A host unreachable this long is declared down and its replicas move (default 60s)"},
                    "allow_mass_delete": {"type": "boolean", "description": "Let a commit remove more than half of the running replicas"},
                    "notify": {"type": "array", "description": "Webhooks told about rollouts, rollbacks, failed heals, hosts down and up, refused commits", "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "url": {"type": "string", "pattern": "^https?://"},
                            "url_secret": {"type": "string", "description": "A secret holding the URL"},
                            "format": {"enum": ["json", "slack"]},
                            "events": {"type": "array", "items": {"enum": ["rollout", "rollback", "heal_failed", "host_down", "host_up", "commit_refused", "autoscale"]}}
                        }
                    }}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{load, service};

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    }

    fn sorted(k: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn schema_lists_exactly_the_keys_the_loader_accepts() {
        let s = schema();
        assert_eq!(keys(&s), sorted(load::ROOT_KEYS));
        assert_eq!(
            keys(&s["properties"]["hosts"]["additionalProperties"]),
            sorted(load::HOST_KEYS)
        );
        let svc = &s["properties"]["services"]["additionalProperties"];
        assert_eq!(keys(svc), sorted(service::SERVICE_KEYS));
        let deploy = &svc["properties"]["deploy"];
        assert_eq!(keys(deploy), sorted(service::DEPLOY_KEYS));
        assert_eq!(
            keys(&deploy["properties"]["placement"]),
            sorted(service::PLACEMENT_KEYS)
        );
        assert_eq!(
            keys(&deploy["properties"]["update_config"]),
            sorted(service::UPDATE_KEYS)
        );
        assert_eq!(
            keys(&deploy["properties"]["restart_policy"]),
            sorted(service::RESTART_POLICY_KEYS)
        );
        assert_eq!(
            keys(&deploy["properties"]["resources"]),
            sorted(service::RESOURCES_KEYS)
        );
        assert_eq!(
            keys(&deploy["properties"]["resources"]["properties"]["limits"]),
            sorted(service::LIMITS_KEYS)
        );
        assert_eq!(
            keys(&deploy["properties"]["resources"]["properties"]["reservations"]),
            sorted(&["cpus", "devices", "memory"])
        );
        assert_eq!(
            keys(&svc["properties"]["healthcheck"]),
            sorted(service::HEALTHCHECK_KEYS)
        );
        assert_eq!(
            keys(&svc["properties"]["logging"]),
            sorted(service::LOGGING_KEYS)
        );
        assert_eq!(
            keys(&svc["properties"]["ports"]["items"]["oneOf"][2]),
            sorted(service::PORT_KEYS)
        );
        assert_eq!(
            keys(&svc["properties"]["volumes"]["items"]["oneOf"][1]),
            sorted(service::MOUNT_KEYS)
        );
        let mount = &svc["properties"]["volumes"]["items"]["oneOf"][1]["properties"];
        assert_eq!(keys(&mount["bind"]), sorted(service::MOUNT_BIND_KEYS));
        assert_eq!(keys(&mount["volume"]), sorted(service::MOUNT_VOLUME_KEYS));
        assert_eq!(keys(&mount["tmpfs"]), sorted(service::MOUNT_TMPFS_KEYS));
        assert_eq!(
            keys(&s["properties"]["volumes"]["additionalProperties"]["oneOf"][1]),
            sorted(load::VOLUME_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["networks"]["additionalProperties"]["oneOf"][1]),
            sorted(load::NETWORK_KEYS)
        );
        assert_eq!(keys(&s["properties"]["watch"]), sorted(load::WATCH_KEYS));
        assert_eq!(
            keys(&s["properties"]["balancer"]),
            sorted(load::BALANCER_KEYS)
        );
    }
}
