//! Every class of problem in the desired state is reported at the right file, line and column,
//! with the field path, and all of them in one run.

use fleet::spec::{MemoryFiles, Severity, load};

const HOSTS: &str = "project: shop
hosts:
  a1: { address: ssh://a1, labels: { zone: a, role: web } }
  b1: { address: ssh://b1, labels: { zone: b, role: web } }
  c1: { address: ssh://c1, labels: { zone: c, role: db } }
";

/// Loads the files and returns the first line of every diagnostic, in order.
fn problems(files: &[(&str, &str)]) -> Vec<String> {
    let loaded = load(&MemoryFiles::new(files.iter().copied()));
    if loaded
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        assert!(
            loaded.desired.is_none(),
            "a desired state came back despite errors"
        );
    }
    loaded
        .diagnostics
        .iter()
        .map(|d| d.to_string().lines().next().unwrap().to_string())
        .collect()
}

fn with_services(services: &str) -> String {
    format!("{HOSTS}services:\n{services}")
}

struct Case {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    expected: Vec<&'static str>,
}

fn case(name: &'static str, fleet_yaml: String, expected: &[&'static str]) -> Case {
    Case {
        name,
        files: vec![("fleet.yaml", fleet_yaml)],
        expected: expected.to_vec(),
    }
}

#[test]
fn each_error_class_is_reported_at_its_file_line_and_column() {
    let cases = vec![
        case(
            "yaml syntax",
            "project: shop\nservices:\n  web: [unclosed\n".into(),
            &[
                "fleet.yaml:4:1: error: invalid YAML: while parsing a flow sequence, expected ',' or ']'",
            ],
        ),
        case(
            "yaml duplicate key",
            with_services("  web: { image: a }\n  web: { image: b }\n"),
            &["fleet.yaml:8:3: error: invalid YAML: duplicate key `web` (first written at line 7)"],
        ),
        case(
            "wrong type",
            with_services("  web:\n    image: nginx\n    deploy: { replicas: two }\n"),
            &[
                "fleet.yaml:9:25: error: services.web.deploy.replicas: found a string; expected a whole number from 0 to 10000",
            ],
        ),
        case(
            "unknown key",
            with_services("  web:\n    image: nginx\n    replicas: 2\n    imgae: x\n"),
            &[
                "fleet.yaml:9:5: error: services.web.replicas: unknown key `replicas`",
                "fleet.yaml:10:5: error: services.web.imgae: unknown key `imgae`; expected one of image, command, entrypoint, environment, env_file, ports, volumes, networks, labels, healthcheck, restart, user, working_dir, stop_grace_period, stop_signal, init, read_only, cap_add, cap_drop, extra_hosts, expose, hostname, logging, tmpfs, depends_on, deploy, container_name, links, secrets, configs, profiles, pull_policy, build, shm_size, gpus, ulimits, sysctls, security_opt, stdin_open, tty, platform, runtime, pids_limit, mem_limit, memswap_limit, mem_reservation, cpus, cpu_shares, cpuset, devices, privileged, group_add, ipc, pid, dns, dns_search, dns_opt, oom_score_adj, network_mode, x-fleet",
            ],
        ),
        case(
            "exposure",
            with_services(
                "  web:\n    image: nginx\n    x-fleet:\n      expose: { port: 0, host_port: 80, protocol: udp }\n  \
                 db:\n    image: db\n    x-fleet: { expose: { port: 5432, protocol: tcp, health_path: /x } }\n  \
                 api:\n    image: api\n    x-fleet: { expose: { port: 80, host_port: 80 }, expsoe: {} }\n  \
                 app:\n    image: app\n    x-fleet: { expose: { port: 81, host_port: 80 } }\n",
            ),
            &[
                "fleet.yaml:10:23: error: services.web.x-fleet.expose.port: 0 is out of range; expected a whole number from 1 to 65535",
                "fleet.yaml:10:51: error: services.web.x-fleet.expose.protocol: unknown protocol `udp`; expected http or tcp",
                "fleet.yaml:13:24: error: services.db.x-fleet.expose.host_port: missing `host_port` or `hosts`; expected a port number from 1 to 65535, or a list of host names",
                "fleet.yaml:13:66: error: services.db.x-fleet.expose.health_path: `health_path` needs `protocol: http`; expected no health_path for tcp",
                "fleet.yaml:16:53: error: services.api.x-fleet.expsoe: unknown key `expsoe`; expected one of expose, env_from_secrets, replace_unhealthy, autoscale, image_source",
                "fleet.yaml:19:47: error: services.app.x-fleet.expose.host_port: port 80 is already the balancer port of service `api`; expected a host_port no other service uses",
            ],
        ),
        case(
            "routing by host name",
            format!(
                "{HOSTS}balancer: {{ http_port: 8080 }}\nsecrets:\n  crt: {{ file: ./c.pem }}\nservices:\n  \
                 web:\n    image: web\n    x-fleet:\n      expose: {{ port: 80, hosts: [Shop.example.com, '*.x.example.com'], paths: [/v1/] }}\n  \
                 api:\n    image: api\n    x-fleet:\n      expose: {{ port: 80, hosts: [shop.example.com], paths: [/v1], tls: {{ certificate: crt, key: missing }} }}\n  \
                 bad:\n    image: bad\n    x-fleet: {{ expose: {{ port: 80, hosts: ['a..b', '*'], paths: [v2] }} }}\n  \
                 db:\n    image: db\n    x-fleet: {{ expose: {{ port: 5432, protocol: tcp, host_port: 5432, tls: internal }} }}\n  \
                 old:\n    image: old\n    x-fleet: {{ expose: {{ port: 80, host_port: 8080, hsts: true }} }}\n  \
                 www:\n    image: www\n    x-fleet: {{ expose: {{ port: 80, hosts: ['*.example.com'], tls: internal }} }}\n"
            ),
            &[
                "fleet.yaml:8:16: error: secrets.crt.file: `./c.pem` does not exist in the repository; expected a file committed in the repository",
                "fleet.yaml:13:35: error: services.web.x-fleet.expose.hosts: `shop.example.com` path `/v1` is already routed to service `api`; expected a host name and path no other service has",
                "fleet.yaml:13:35: error: services.web.x-fleet.expose.hosts: `shop.example.com` is also routed to service `api`, with another `tls`; expected the same `tls` for every service of one host name",
                "fleet.yaml:13:35: error: services.web.x-fleet.expose.hosts: `shop.example.com` has no `tls`, but service `www` serves `*.example.com` over TLS; expected a name no TLS wildcard of another service covers, or `tls` for it",
                "fleet.yaml:17:98: error: services.api.x-fleet.expose.tls.key: secret `missing` is not declared; expected a secret declared under the top-level `secrets`",
                "fleet.yaml:20:44: error: services.bad.x-fleet.expose.hosts: `a..b` is not a host name: it has an empty label (`..`, or a leading or trailing dot); expected a DNS name such as shop.example.com, or a wildcard such as *.example.com",
                "fleet.yaml:20:52: error: services.bad.x-fleet.expose.hosts: `*` is not a host name: a wildcard needs at least two labels after `*.`; expected a DNS name such as shop.example.com, or a wildcard such as *.example.com",
                "fleet.yaml:20:66: error: services.bad.x-fleet.expose.paths: `v2` is not a request path; expected a path starting with `/` of letters, digits and -._~!$&()*+,;=:@/% such as /api",
                "fleet.yaml:23:75: error: services.db.x-fleet.expose.tls: `tls` on a tcp service: the balancers terminate TLS only for routed http services; expected no tls for a tcp service",
                "fleet.yaml:26:59: error: services.old.x-fleet.expose.hsts: `hsts` needs `tls`; expected `tls` beside `hsts`",
                "fleet.yaml:29:67: error: services.www.x-fleet.expose.tls: `tls: internal` needs the project CA; missing secrets/fleet-ca.crt, secrets/fleet-ca.key.age; expected the project CA's certificate and encrypted key in the repository",
            ],
        ),
        case(
            "watch notifications",
            format!(
                "{HOSTS}watch:\n  notify:\n    - {{ url: 'ftp://x', events: [rollout, rolback] }}\n    - {{ url_secret: hook, format: teams }}\n    - {{ events: [host_down] }}\nservices:\n  web:\n    image: nginx\n"
            ),
            &[
                "fleet.yaml:8:14: error: watch.notify[0].url: `ftp://x` is not an http(s) URL; expected a URL such as https://hooks.example.com/fleet",
                "fleet.yaml:8:43: error: watch.notify[0].events: unknown event `rolback`; expected an event fleet sends",
                "fleet.yaml:9:21: error: watch.notify[1].url_secret: secret `hook` is not declared; expected a secret declared under the top-level `secrets`",
                "fleet.yaml:9:35: error: watch.notify[1].format: unknown format `teams`; expected `json` or `slack`",
                "fleet.yaml:10:7: error: watch.notify[2].url: missing `url` or `url_secret`; expected where to send the notifications",
            ],
        ),
        case(
            "balancer hosts",
            format!(
                "{HOSTS}balancer:\n  hosts: [a1, zz]\n  imag: x\nservices:\n  web:\n    image: nginx\n"
            ),
            &[
                "fleet.yaml:7:15: error: balancer.hosts: unknown host `zz`; expected a host declared under `hosts:`",
                "fleet.yaml:8:3: error: balancer.imag: unknown key `imag`; expected one of image, hosts, http_port, https_port",
            ],
        ),
        case(
            "unknown top-level key",
            format!("{HOSTS}servics: {{}}\n"),
            &[
                "fleet.yaml:6:1: error: servics: unknown key `servics`; expected one of project, hosts, services, include, volumes, networks, watch, balancer, variables, profiles, secrets, configs, secrets_recipients",
            ],
        ),
        case(
            "missing image",
            with_services("  web:\n    ports: [\"80\"]\n"),
            &[
                "fleet.yaml:7:3: error: services.web.image: service `web` has no image; expected an image reference such as nginx:1.27 or registry.example.com/app:1.4.2",
            ],
        ),
        case(
            "bad duration",
            with_services("  web:\n    image: nginx\n    stop_grace_period: 10\n"),
            &[
                "fleet.yaml:9:24: error: services.web.stop_grace_period: `10` is not a duration; expected a duration such as 10s, 1m30s or 500ms (units us, ms, s, m, h)",
            ],
        ),
        case(
            "bad size",
            with_services(
                "  web:\n    image: nginx\n    deploy: { resources: { limits: { memory: 12qb } } }\n",
            ),
            &[
                "fleet.yaml:9:46: error: services.web.deploy.resources.limits.memory: `12qb` is not a size; expected a size such as 512m, 1g or a number of bytes (units b, k, m, g)",
            ],
        ),
        case(
            "bad port",
            with_services(
                "  web:\n    image: nginx\n    ports:\n      - \"8080:80\"\n      - \"70000:80\"\n",
            ),
            &[
                "fleet.yaml:11:9: error: services.web.ports[1]: `70000` is not a port or port range; expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp] with ports 1-65535, e.g. 8080:80",
            ],
        ),
        case(
            "constraint on a label no host has",
            with_services(
                "  web:\n    image: nginx\n    deploy:\n      placement:\n        constraints: [\"node.labels.region == eu\"]\n",
            ),
            &[
                "fleet.yaml:7:3: error: services.web.deploy.replicas: no host satisfies the placement constraints of `web`; expected constraints that at least one host satisfies",
                "fleet.yaml:11:23: warning: services.web.deploy.placement.constraints[0]: no host has the label `region`",
            ],
        ),
        case(
            "placement impossible by construction",
            with_services(
                "  web:\n    image: nginx\n    deploy:\n      replicas: 5\n      placement:\n        constraints: [node.labels.role == web]\n        max_replicas_per_node: 2\n",
            ),
            &[
                "fleet.yaml:10:17: error: services.web.deploy.replicas: 5 replicas cannot be placed: 2 eligible host(s) × max_replicas_per_node 2 = 4; expected at most 4 replicas",
            ],
        ),
        case(
            "fixed host port with more replicas than hosts",
            with_services(
                "  web:\n    image: nginx\n    ports: [\"80:80\"]\n    deploy: { replicas: 4 }\n",
            ),
            &[
                "fleet.yaml:10:25: error: services.web.deploy.replicas: 4 replicas cannot each bind host port 80: only 3 eligible host(s), and a fixed host port fits one replica per host; expected at most 3 replicas",
            ],
        ),
        case(
            "env_file escaping the repo",
            with_services("  web:\n    image: nginx\n    env_file: ../secrets.env\n"),
            &[
                "fleet.yaml:9:15: error: services.web.env_file: `../secrets.env` is outside the repository; expected a path relative to the file it is written in, inside the repository",
            ],
        ),
        case(
            "bind mount escaping the repo",
            with_services("  web:\n    image: nginx\n    volumes: [\"../../etc:/etc/app\"]\n"),
            &[
                "fleet.yaml:9:15: error: services.web.volumes[0]: `../../etc` is outside the repository; expected a path relative to the file it is written in, inside the repository",
            ],
        ),
        case(
            "bad host address",
            "project: shop\nhosts:\n  a1: { address: \"a1:22\" }\nservices: {}\n".into(),
            &[
                "fleet.yaml:3:18: error: hosts.a1.address: `a1:22` is not a host address; expected ssh://[user@]host[:port] or unix:///path/to/docker.sock",
            ],
        ),
        case(
            "bad project name",
            "project: Shop_1\n".into(),
            &[
                "fleet.yaml:1:10: error: project: `Shop_1` is not a valid project name; expected 1 to 40 characters of a-z, 0-9 and `-`, not starting or ending with `-`",
            ],
        ),
        case(
            "undeclared volume",
            with_services(
                "  db:\n    image: postgres:16\n    volumes: [\"pgdata:/var/lib/postgresql/data\"]\n",
            ),
            &[
                "fleet.yaml:9:15: error: services.db.volumes[0]: volume `pgdata` is not declared; expected a volume declared under the top-level `volumes`",
            ],
        ),
        case(
            "dependency cycle",
            with_services(
                "  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
            ),
            &[
                "fleet.yaml:12:18: error: services.b.depends_on[0]: dependency cycle: a -> b -> a; expected dependencies without cycles",
            ],
        ),
        case(
            "required variable not set",
            with_services("  web:\n    image: \"nginx:${TAG:?}\"\n"),
            &["fleet.yaml:8:12: error: services.web.image: variable `TAG` is required and not set"],
        ),
        case(
            "reserved label",
            with_services("  web:\n    image: nginx\n    labels: { fleet.project: other }\n"),
            &[
                "fleet.yaml:9:15: error: services.web.labels.fleet.project: the label key `fleet.project` is reserved; expected a key not starting with `fleet.`",
            ],
        ),
        case(
            "missing project",
            "services: {}\n".into(),
            &[
                "fleet.yaml:1:1: error: project: missing `project`; expected a name of lowercase letters, digits and `-`",
            ],
        ),
        Case {
            name: "duplicate service across files",
            files: vec![
                (
                    "fleet.yaml",
                    format!(
                        "{HOSTS}include: [compose/app.yaml]\nservices:\n  web: {{ image: nginx }}\n"
                    ),
                ),
                (
                    "compose/app.yaml",
                    "services:\n  api: { image: api }\n  web: { image: other }\n".into(),
                ),
            ],
            expected: vec![
                "compose/app.yaml:3:3: error: services.web: service `web` is defined twice; expected each service defined once",
            ],
        },
        Case {
            name: "env_file missing, and errors inside an env file",
            files: vec![
                (
                    "fleet.yaml",
                    with_services("  web:\n    image: nginx\n    env_file: [web.env, nope.env]\n"),
                ),
                ("web.env", "OK=1\nthis is wrong\n".into()),
            ],
            expected: vec![
                "fleet.yaml:9:25: error: services.web.env_file[1]: `nope.env` does not exist in the repository; expected a file committed in the repository",
                "web.env:2:1: error: this line is not NAME=value; expected NAME=value, a # comment or an empty line",
            ],
        },
        Case {
            name: "include missing",
            files: vec![(
                "fleet.yaml",
                format!("{HOSTS}include:\n  - docker-compose.yml\n"),
            )],
            expected: vec![
                "fleet.yaml:7:5: error: include: `docker-compose.yml` does not exist in the repository; expected a compose file committed in the repository",
            ],
        },
    ];
    let mut failures = Vec::new();
    for case in &cases {
        let files: Vec<(&str, &str)> = case.files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        let got = problems(&files);
        if got != case.expected {
            failures.push(format!(
                "case `{}`:\n  expected {:#?}\n  got      {:#?}",
                case.name, case.expected, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_problem_is_reported_in_one_run_not_just_the_first() {
    let got = problems(&[(
        "fleet.yaml",
        &with_services(
            "  web:\n    imag: nginx\n    ports: [\"x\"]\n  api:\n    image: api\n    stop_grace_period: soon\n    restart: sometimes\n",
        ),
    )]);
    assert_eq!(got.len(), 5, "{got:#?}");
    let lines: Vec<&str> = got.iter().map(|l| l.split(": ").next().unwrap()).collect();
    assert_eq!(
        lines,
        vec![
            "fleet.yaml:7:3",
            "fleet.yaml:8:5",
            "fleet.yaml:9:13",
            "fleet.yaml:12:24",
            "fleet.yaml:13:14"
        ]
    );
}

#[test]
fn typos_get_a_did_you_mean_hint() {
    let loaded = load(&MemoryFiles::new([(
        "fleet.yaml",
        with_services("  web:\n    image: nginx\n    helthcheck: { test: true }\n").as_str(),
    )]));
    assert_eq!(
        loaded.diagnostics[0].hint.as_deref(),
        Some("did you mean `healthcheck`?")
    );
}

/// A value outside a closed set gets the same hint as a key: Compose writes `start-first`, and
/// `start_first` is the usual slip.
#[test]
fn enum_values_get_a_did_you_mean_hint() {
    for (services, expected, hint) in [
        (
            "  web:\n    image: nginx\n    deploy: { update_config: { order: start_first } }\n",
            "error: services.web.deploy.update_config.order: unknown order `start_first`; expected stop-first or start-first",
            "did you mean `start-first`?",
        ),
        (
            "  web:\n    image: nginx\n    deploy: { mode: globl }\n",
            "error: services.web.deploy.mode: unknown mode `globl`; expected replicated or global",
            "did you mean `global`?",
        ),
        (
            "  web:\n    image: nginx\n    deploy: { rollback_config: { failure_action: rollback } }\n",
            "error: services.web.deploy.rollback_config.failure_action: unknown failure action `rollback`; expected pause or continue",
            "",
        ),
    ] {
        let loaded = load(&MemoryFiles::new([(
            "fleet.yaml",
            with_services(services).as_str(),
        )]));
        let d = &loaded.diagnostics[0];
        let text = d.to_string();
        assert!(text.lines().next().unwrap().ends_with(expected), "{text}");
        assert_eq!(d.hint.as_deref().unwrap_or(""), hint, "{text}");
    }
}

/// `x-fleet` is a service key a user may have meant: it is in the list and in the hints.
#[test]
fn the_service_keys_listed_include_x_fleet() {
    let loaded = load(&MemoryFiles::new([(
        "fleet.yaml",
        with_services("  web:\n    image: nginx\n    xfleet: { expose: { port: 80 } }\n").as_str(),
    )]));
    let d = &loaded.diagnostics[0];
    assert!(d.expected.as_deref().unwrap().ends_with(", x-fleet"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `x-fleet`?"));
}

#[test]
fn a_valid_state_decodes_compose_keys_into_typed_values() {
    let yaml = with_services(
        "  web:
    image: nginx:1.27
    command: nginx -g 'daemon off;'
    environment: [A=1, B=two]
    env_file: web.env
    ports: [\"8080:80/tcp\", 9090]
    healthcheck: { test: wget -qO- localhost, interval: 5s, retries: 3 }
    restart: on-failure:3
    deploy:
      replicas: 2
      placement:
        constraints: [node.labels.role == web]
        preferences: [{ spread: node.labels.zone }]
      update_config: { parallelism: 2, order: start-first, failure_action: rollback, monitor: 1m }
",
    );
    let loaded = load(&MemoryFiles::new([
        ("fleet.yaml", yaml.as_str()),
        ("web.env", "A=from-file\nC=3\n"),
    ]));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let desired = loaded.desired.unwrap();
    let web = &desired.services["web"];
    assert_eq!(
        web.command.as_deref(),
        Some(&["nginx".to_string(), "-g".into(), "daemon off;".into()][..])
    );
    // `environment` wins over env_file, as in Compose.
    assert_eq!(web.environment["A"], "1");
    assert_eq!(web.environment["C"], "3");
    assert_eq!(web.ports.len(), 2);
    assert_eq!(web.ports[1].published, None);
    assert_eq!(
        web.healthcheck.as_ref().unwrap().test,
        vec!["CMD-SHELL", "wget -qO- localhost"]
    );
    assert_eq!(
        web.restart,
        fleet::spec::model::Restart::OnFailure {
            max_retries: Some(3)
        }
    );
    assert_eq!(web.deploy.replicas, 2);
    assert_eq!(web.deploy.placement.spread, vec!["zone"]);
    assert_eq!(web.deploy.update_config.parallelism, 2);
    assert_eq!(
        web.deploy.update_config.monitor,
        std::time::Duration::from_secs(60)
    );
    assert_eq!(desired.hosts.len(), 3);
}

#[test]
fn no_hosts_means_the_local_engine() {
    let loaded = load(&MemoryFiles::new([(
        "fleet.yaml",
        "project: p\nservices:\n  web: { image: nginx }\n",
    )]));
    let desired = loaded.desired.expect("valid");
    assert_eq!(desired.hosts.keys().collect::<Vec<_>>(), vec!["local"]);
    assert_eq!(
        desired.hosts["local"].address,
        fleet::spec::model::Address::Local
    );
}

#[test]
fn a_typical_production_compose_file_is_accepted_as_is() {
    let compose = r#"version: "3.8"
x-logging: &default-logging
  driver: json-file
  options: { max-size: "10m", max-file: "3" }
services:
  proxy:
    image: nginx:1.27-alpine
    hostname: proxy
    ports: ["80:80", "443:443"]
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - certs:/etc/letsencrypt
    depends_on:
      app: { condition: service_healthy }
    restart: unless-stopped
    logging: *default-logging
  app:
    image: ghcr.io/example/app:2.3.1
    expose: ["3000", 9090]
    environment:
      - NODE_ENV=production
      - DATABASE_URL=postgres://app@db:5432/app
    tmpfs: /tmp
    healthcheck:
      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:3000/health || exit 1"]
      interval: 30s
      timeout: 5s
      retries: 3
      start_period: 20s
    logging: *default-logging
    deploy:
      replicas: 2
      resources: { limits: { cpus: "1.5", memory: 512M } }
  db:
    image: postgres:16
    environment: { POSTGRES_USER: app, POSTGRES_DB: app, POSTGRES_PASSWORD: change-me }
    volumes: [pgdata:/var/lib/postgresql/data]
    stop_grace_period: 1m
volumes:
  certs:
  pgdata:
"#;
    let loaded = load(&MemoryFiles::new([
        (
            "fleet.yaml",
            format!("{HOSTS}include: [docker-compose.yml]\n").as_str(),
        ),
        ("docker-compose.yml", compose),
        ("nginx.conf", "events {}\n"),
    ]));
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let desired = loaded.desired.unwrap();
    let app = &desired.services["app"];
    assert_eq!(app.expose, vec!["3000", "9090"]);
    assert_eq!(app.tmpfs, vec!["/tmp"]);
    assert_eq!(app.logging.as_ref().unwrap().options["max-size"], "10m");
    assert_eq!(desired.services["proxy"].hostname.as_deref(), Some("proxy"));
    assert_eq!(app.deploy.resources.memory, Some(512 * 1024 * 1024));
    // The only remark is the obsolete `version`, as a warning.
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(
        loaded.diagnostics[0].to_string().lines().next().unwrap(),
        "docker-compose.yml:1:1: warning: version: `version` is obsolete in the Compose Specification and has no effect"
    );
}

#[test]
fn bad_expose_hostname_and_tmpfs_are_reported() {
    let got = problems(&[(
        "fleet.yaml",
        &with_services(
            "  web:\n    image: nginx\n    expose: [\"http\"]\n    hostname: \"bad host\"\n    tmpfs: [relative]\n",
        ),
    )]);
    assert_eq!(
        got,
        vec![
            "fleet.yaml:9:14: error: services.web.expose[0]: `http` is not a port; expected a port such as 3000 or 8000-8010/udp",
            "fleet.yaml:10:15: error: services.web.hostname: `bad host` is not a host name; expected letters, digits, `-` and `.`",
            "fleet.yaml:11:13: error: services.web.tmpfs: `relative` is not an absolute path; expected an absolute path in the container, optionally followed by :options",
        ]
    );
}

#[test]
fn extension_fields_under_services_and_hosts_are_neither_services_nor_hosts() {
    let yaml = "project: shop
hosts:
  x-defaults: &host { labels: { zone: a } }
  a1: { <<: *host, address: ssh://a1 }
services:
  x-base: &base { image: demo:1 }
  web: { <<: *base }
";
    let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml)]));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let desired = loaded.desired.unwrap();
    assert_eq!(desired.hosts.keys().collect::<Vec<_>>(), ["a1"]);
    assert_eq!(desired.services.keys().collect::<Vec<_>>(), ["web"]);
    assert_eq!(desired.hosts["a1"].labels["zone"], "a");
}

/// Loads a state that must be valid and returns it.
fn valid(services: &str) -> fleet::spec::model::Desired {
    let loaded = load(&MemoryFiles::new([(
        "fleet.yaml",
        with_services(services).as_str(),
    )]));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    loaded.desired.expect("valid")
}

#[test]
fn a_healthcheck_without_test_keeps_the_image_check_and_overrides_its_timings() {
    let d = valid(
        "  a: { image: x, healthcheck: { interval: 10s } }
  b: { image: x, healthcheck: { disable: false, retries: 5 } }
  c: { image: x, healthcheck: { disable: true } }
",
    );
    let a = d.services["a"].healthcheck.as_ref().unwrap();
    assert!(a.test.is_empty(), "empty test = the image's own check");
    assert_eq!(a.interval, Some(std::time::Duration::from_secs(10)));
    let b = d.services["b"].healthcheck.as_ref().unwrap();
    assert!(b.test.is_empty());
    assert_eq!(b.retries, Some(5));
    assert_eq!(
        d.services["c"].healthcheck.as_ref().unwrap().test,
        vec!["NONE"]
    );
}

#[test]
fn compose_port_forms_with_ranges_ipv6_and_informational_keys_are_accepted() {
    let d = valid(
        "  web:
    image: x
    ports:
      - \"8000-9000:80\"
      - \"::1:6000:6000\"
      - \":2283:2283\"
      - { target: 81, published: \"8000-8002\", name: web, app_protocol: http }
      - { target: 82, published: \"8100\" }
",
    );
    let p = &d.services["web"].ports;
    assert_eq!(
        (p[0].published, p[0].published_range),
        (None, Some((8000, 9000)))
    );
    assert_eq!(p[1].host_ip, Some("::1".parse().unwrap()));
    assert_eq!((p[2].host_ip, p[2].published), (None, Some(2283)));
    assert_eq!(
        (p[3].target, p[3].published_range),
        (81, Some((8000, 8002)))
    );
    assert_eq!(p[4].published, Some(8100));
}

#[test]
fn depends_on_accepts_required_and_restart_and_an_optional_dependency_may_be_missing() {
    let found = problems(&[(
        "fleet.yaml",
        with_services(
            "  db: { image: x }
  web:
    image: x
    depends_on:
      db: { condition: service_healthy, restart: true, required: true }
      cache: { condition: service_started, required: false }
      queue: { required: true }
",
        )
        .as_str(),
    )]);
    assert_eq!(
        found,
        vec![
            "fleet.yaml:11:50: warning: services.web.depends_on.db.restart: fleet does not restart the service when `db` is updated",
            "fleet.yaml:13:7: error: services.web.depends_on.queue: service `queue` does not exist; expected the name of a service",
        ]
    );
}

#[test]
fn compose_volume_options_are_accepted_and_misplaced_ones_reported() {
    let d = valid(
        "  web:
    image: x
    volumes:
      - /srv/a:/a:rw,z
      - /srv/b:/b:Z
      - /srv/c:/c:cached
      - /srv/d:/d:ro,delegated
      - /srv/e:/e:rprivate
      - data:/f:nocopy
      - { type: bind, source: /srv/g, target: /g, bind: { propagation: shared, create_host_path: true, selinux: z } }
      - { type: volume, source: data, target: /h, volume: { nocopy: true, subpath: x } }
      - { type: tmpfs, target: /i, tmpfs: { size: 10m, mode: 1777 } }
volumes: { data: {} }
",
    );
    assert_eq!(d.services["web"].volumes.len(), 9);
    let found = problems(&[(
        "fleet.yaml",
        with_services(
            "  web:
    image: x
    volumes:
      - /srv/a:/a:nocopy
      - /srv/b:/b:bogus
      - { type: volume, source: data, target: /h, volume: { subpth: x } }
volumes: { data: {} }
",
        )
        .as_str(),
    )]);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].contains("`nocopy` does not apply to a bind mount"),
        "{found:#?}"
    );
    assert!(
        found[1].contains("unsupported mount option `bogus`"),
        "{found:#?}"
    );
    assert!(found[2].contains("unknown key `subpth`"), "{found:#?}");
}

#[test]
fn a_problem_in_a_block_merged_into_several_services_is_reported_once() {
    let found = problems(&[(
        "fleet.yaml",
        "project: shop
x-defaults: &defaults
  image: x
  restart: sometimes
  healthcheck: { interval: soon }
services:
  a: { <<: *defaults }
  b:
    <<: *defaults
  c: { <<: *defaults, image: y }
",
    )]);
    assert_eq!(
        found,
        vec![
            "fleet.yaml:4:12: error: services.a.restart: unknown restart policy `sometimes` (in services a, b, c); expected no, always, on-failure, on-failure:N or unless-stopped",
            "fleet.yaml:5:28: error: services.a.healthcheck.interval: `soon` is not a duration (in services a, b, c); expected a duration such as 10s, 1m30s or 500ms (units us, ms, s, m, h)",
        ]
    );
}
