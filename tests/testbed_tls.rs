//! TLS and routing by host name at the balancers, on the testbed: two services on the shared
//! ports of three ingress hosts, certificates from encrypted secrets or from the project CA,
//! reached by name through every ingress host (the client resolves the names to testbed
//! addresses itself); unknown names get a 404 or no handshake; plain HTTP is redirected; a
//! certificate rotated under load fails no request; no private key reaches any output, label,
//! log or plan file.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::traffic::{self, Client, Traffic};
use common::{Cleanup, Output, Repo, Testbed, fleet_env, unique_project};

const BALANCER_IMAGE: &str = "fleet-haproxy:2.6";
const HOSTS: [usize; 3] = [1, 2, 3];
const DAY: i64 = 24 * 3600;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A repository with an age identity of its own, whose recipient encrypts the secrets.
struct Project {
    testbed: Testbed,
    repo: Repo,
    home: tempfile::TempDir,
    key: String,
    recipient: String,
    name: String,
}

impl Project {
    fn new(prefix: &str) -> Project {
        let home = tempfile::tempdir().unwrap();
        let key = home.path().join("key.txt");
        let (identity, recipient) = fleet::secrets::generate();
        std::fs::write(&key, format!("{identity}\n")).unwrap();
        Project {
            testbed: Testbed::get(),
            repo: Repo::new(),
            key: key.to_str().unwrap().to_string(),
            recipient,
            home,
            name: unique_project(prefix),
        }
    }

    fn fleet(&self, args: &[&str]) -> Output {
        let known = self.testbed.known_hosts();
        fleet_env(
            self.repo.path(),
            args,
            &[
                ("FLEET_KNOWN_HOSTS", known.to_str().unwrap()),
                ("HOME", self.home.path().to_str().unwrap()),
                ("FLEET_AGE_KEY_FILE", &self.key),
            ],
        )
    }

    fn secret(&self, name: &str, value: &str) {
        let bytes = fleet::secrets::encrypt(
            value.as_bytes(),
            std::slice::from_ref(&self.recipient),
            true,
        )
        .unwrap();
        std::fs::create_dir_all(self.repo.path().join("secrets")).unwrap();
        std::fs::write(self.repo.path().join(format!("secrets/{name}.age")), bytes).unwrap();
    }

    fn at(&self, host: usize, port: u16) -> SocketAddr {
        format!("{}:{port}", self.testbed.address(host))
            .parse()
            .unwrap()
    }
}

fn ok(out: &Output, what: &str) {
    assert_eq!(
        out.code, 0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

/// A replica of fleet-demo:`version` that answers `/` with "demo N" and `/cgi-bin/h` with the
/// forwarded headers it was given.
fn service(version: u32, replicas: u32, expose: &str) -> String {
    format!(
        "    image: fleet-demo:{version}\n    \
         command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM INT; mkdir -p /www/cgi-bin; printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\necho \\\"$$HTTP_X_FORWARDED_PROTO $$HTTP_X_FORWARDED_HOST $$HTTP_X_FORWARDED_FOR\\\"\\\\n' > /www/cgi-bin/h; chmod +x /www/cgi-bin/h; httpd -f -p 8080 -h /www & wait\"]\n    \
         healthcheck: {{ test: [CMD, wget, -qO-, 'http://127.0.0.1:8080/'], interval: 1s, retries: 2 }}\n    \
         deploy: {{ replicas: {replicas}, update_config: {{ parallelism: 1, monitor: 2s }} }}\n    \
         x-fleet:\n      expose: {expose}\n"
    )
}

/// A certificate for `names` from `ca`, valid from a day ago for `days`, with `serial`.
fn certificate(ca: &(String, String), names: &[&str], serial: u8, days: i64) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let (cert, key) = fleet::tls::issue(
        &ca.0,
        &ca.1,
        &names,
        &[0x42, serial],
        now() - DAY,
        now() + days * DAY,
    )
    .unwrap();
    (cert, key.to_string())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The serial of the certificate a balancer presents for `name`, as openssl prints it.
fn served_serial(at: SocketAddr, name: &str) -> String {
    let s_client = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect {at} -servername {name} </dev/null 2>/dev/null | openssl x509 -noout -serial"
        ))
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&s_client.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_string()
}

/// Waits until every ingress host serves `path` for `client` (the replicas' first health checks).
fn wait_serving(project: &Project, port: u16, client: &Client) {
    let rt = runtime();
    for host in HOSTS {
        let at = project.at(host, port);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match rt.block_on(traffic::get_with(at, "/", client)) {
                Ok(_) => break,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("fh{host}:{port} does not serve {:?}: {e}", client.host)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

/// No key body anywhere fleet writes: the output given, the balancers' logs and configuration,
/// every label of the project's containers.
fn assert_no_key_anywhere(project: &Project, outputs: &[&str], keys: &[&str]) {
    let bodies: Vec<String> = keys
        .iter()
        .flat_map(|k| {
            k.lines()
                .filter(|l| !l.starts_with("-----"))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut seen: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
    for host in HOSTS {
        let name = format!("{}-balancer", project.name);
        seen.push(project.testbed.docker(host, &["logs", &name]));
        // The image has no shell: the file comes as a tar archive, text inside.
        let config = format!("{name}:/usr/local/etc/haproxy/haproxy.cfg");
        let config = project.testbed.docker(host, &["cp", &config, "-"]);
        assert!(config.contains("frontend fleet:https"), "{config}");
        seen.push(config);
        let ids = project.testbed.docker(
            host,
            &[
                "ps",
                "-aq",
                "--filter",
                &format!("label=fleet.project={}", project.name),
            ],
        );
        for id in ids.split_whitespace() {
            seen.push(project.testbed.docker(host, &["inspect", id]));
        }
    }
    for text in &seen {
        for body in &bodies {
            assert!(
                !text.contains(body.as_str()),
                "a private key line is in: {text}"
            );
        }
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}

#[test]
fn routed_tls_services_answer_by_name_on_every_ingress_host_and_a_rotation_under_load_fails_nothing()
 {
    let project = Project::new("tls");
    let _cleanup = Cleanup::of(&project.testbed, &HOSTS, &project.name);
    let (http, https) = (18680, 18643);
    let ca = fleet::tls::new_ca("test CA", now() - DAY).unwrap();
    let ca = (ca.0, ca.1.to_string());
    let (shop_cert, shop_key) =
        certificate(&ca, &["shop.example.test", "www.shop.example.test"], 1, 60);
    let (api_cert, api_key) = certificate(&ca, &["api.example.test"], 2, 60);
    project.secret("shop_cert", &shop_cert);
    project.secret("shop_key", &shop_key);
    project.secret("api_cert", &api_cert);
    project.secret("api_key", &api_key);
    let yaml = format!(
        "project: {name}\n{hosts}secrets_recipients: [{recipient}]\n\
         balancer: {{ image: {BALANCER_IMAGE}, http_port: {http}, https_port: {https} }}\n\
         secrets:\n  shop_cert: {{ file: secrets/shop_cert.age }}\n  shop_key: {{ file: secrets/shop_key.age }}\n  \
         api_cert: {{ file: secrets/api_cert.age }}\n  api_key: {{ file: secrets/api_key.age }}\n\
         services:\n  web:\n{web}  api:\n{api}",
        name = project.name,
        hosts = project.testbed.hosts_yaml(&HOSTS),
        recipient = project.recipient,
        web = service(
            1,
            3,
            "{ port: 8080, hosts: [shop.example.test, www.shop.example.test], health_path: /, drain: 1s, hsts: 1h, tls: { certificate: shop_cert, key: shop_key } }"
        ),
        api = service(
            2,
            2,
            "{ port: 8080, hosts: [api.example.test], paths: [/], health_path: /, drain: 1s, tls: { certificate: api_cert, key: api_key } }"
        ),
    );
    project.repo.commit(&yaml);
    let applied = project.fleet(&["apply", "--yes"]);
    ok(&applied, "apply");

    let shop = Client::tls("shop.example.test", &ca.0);
    let api = Client::tls("api.example.test", &ca.0);
    wait_serving(&project, https, &shop);
    wait_serving(&project, https, &api);
    let rt = runtime();
    for host in HOSTS {
        let at = project.at(host, https);
        assert_eq!(
            rt.block_on(traffic::get_with(at, "/", &shop)).unwrap(),
            "demo 1",
            "fh{host}"
        );
        assert_eq!(
            rt.block_on(traffic::get_with(at, "/", &api)).unwrap(),
            "demo 2",
            "fh{host}"
        );
        let www = Client::tls("www.shop.example.test", &ca.0);
        assert_eq!(
            rt.block_on(traffic::get_with(at, "/", &www)).unwrap(),
            "demo 1"
        );
        // Forwarded headers, and HSTS on web only.
        let headers = rt
            .block_on(traffic::request(at, "/cgi-bin/h", &shop))
            .unwrap();
        assert_eq!(headers.status, 200, "{headers:?}");
        assert!(
            headers.body.starts_with("https shop.example.test 10.250."),
            "{headers:?}"
        );
        assert_eq!(
            headers.header("strict-transport-security"),
            Some("max-age=3600")
        );
        let api_root = rt.block_on(traffic::request(at, "/", &api)).unwrap();
        assert_eq!(api_root.header("strict-transport-security"), None);
        // An unknown name gets no handshake over TLS, a 404 over HTTP.
        let unknown = rt.block_on(traffic::request(
            at,
            "/",
            &Client::tls("nope.example.test", &ca.0),
        ));
        assert!(unknown.is_err(), "{unknown:?}");
        let plain = project.at(host, http);
        let unknown = rt
            .block_on(traffic::request(
                plain,
                "/",
                &Client::named("nope.example.test"),
            ))
            .unwrap();
        assert_eq!(unknown.status, 404, "{unknown:?}");
        // Plain HTTP for a TLS name is redirected, path kept.
        let redirect = rt
            .block_on(traffic::request(
                plain,
                "/a/b?c=1",
                &Client::named("shop.example.test"),
            ))
            .unwrap();
        assert_eq!(redirect.status, 308, "{redirect:?}");
        assert_eq!(
            redirect.header("location"),
            Some(format!("https://shop.example.test:{https}/a/b?c=1").as_str())
        );
    }
    assert_eq!(
        served_serial(project.at(1, https), "shop.example.test"),
        "4201"
    );

    // A new certificate for web, under load through every ingress host.
    let (new_cert, new_key) =
        certificate(&ca, &["shop.example.test", "www.shop.example.test"], 3, 90);
    project.secret("shop_cert", &new_cert);
    project.secret("shop_key", &new_key);
    project.repo.commit_all("rotate the shop certificate");
    let plan = project.fleet(&["plan", "--out", "rotation.plan"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(
            "~ certificate web: serial 42:03, shop.example.test www.shop.example.test, valid until"
        ),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("(was serial 42:01"), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains("api: serial"),
        "api's certificate did not change: {}",
        plan.stdout
    );
    let saved = std::fs::read_to_string(project.repo.path().join("rotation.plan")).unwrap();
    let load: Vec<Traffic> = HOSTS
        .iter()
        .map(|&h| {
            Traffic::start_with(
                project.at(h, https),
                "/",
                15,
                Duration::from_secs(60),
                shop.clone(),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let rotated = project.fleet(&["apply", "--yes"]);
    ok(&rotated, "apply of the rotation");
    std::thread::sleep(Duration::from_secs(2));
    let outcomes: Vec<_> = load.into_iter().flat_map(Traffic::finish).collect();
    let failed = traffic::failures(&outcomes);
    assert!(outcomes.len() > 100, "only {} requests", outcomes.len());
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        outcomes.len()
    );
    for host in HOSTS {
        assert_eq!(
            served_serial(project.at(host, https), "shop.example.test"),
            "4203",
            "fh{host}"
        );
        assert_eq!(
            served_serial(project.at(host, https), "api.example.test"),
            "4202",
            "fh{host}"
        );
    }
    // The new certificate and key are root's alone on the hosts; the old key was blanked.
    let dir = format!("/run/fleet/{}/.balancer-tls", project.name);
    let file = |cert: &str| {
        let id = &fleet::tls::inspect_certificate(cert.as_bytes())
            .unwrap()
            .sha256[..16];
        std::fs::metadata(format!("{dir}/{id}/bundle.pem")).unwrap()
    };
    use std::os::unix::fs::MetadataExt;
    let new = file(&new_cert);
    assert_eq!((new.mode() & 0o777, new.uid()), (0o400, 0));
    assert!(new.len() > 0);
    assert_eq!(
        file(&shop_cert).len(),
        0,
        "the rotated-out key was not blanked"
    );
    assert!(file(&api_cert).len() > 0);
    let status = project.fleet(&["status"]);
    assert!(status.stdout.contains("CERTIFICATE"), "{}", status.stdout);
    assert!(
        status
            .stdout
            .contains("shop.example.test www.shop.example.test"),
        "{}",
        status.stdout
    );
    assert_no_key_anywhere(
        &project,
        &[
            &applied.stdout,
            &applied.stderr,
            &plan.stdout,
            &plan.stderr,
            &saved,
            &rotated.stdout,
            &rotated.stderr,
            &status.stdout,
        ],
        &[&shop_key, &api_key, &new_key],
    );
}

#[test]
fn internal_certificates_verify_against_the_ca_fleet_prints() {
    let project = Project::new("tlsca");
    let hosts = [4, 5];
    let _cleanup = Cleanup::of(&project.testbed, &hosts, &project.name);
    let (http, https) = (18681, 18644);
    let yaml = format!(
        "project: {name}\n{hosts}secrets_recipients: [{recipient}]\n\
         balancer: {{ image: {BALANCER_IMAGE}, http_port: {http}, https_port: {https} }}\n\
         services:\n  web:\n{web}",
        name = project.name,
        hosts = project.testbed.hosts_yaml(&hosts),
        recipient = project.recipient,
        web = service(
            1,
            2,
            "{ port: 8080, hosts: [app.internal.test, '*.apps.internal.test'], health_path: /, drain: 1s, redirect_http: false, tls: internal }"
        ),
    );
    project.repo.write("fleet.yaml", &yaml);
    let init = project.fleet(&["secret", "ca", "init"]);
    ok(&init, "secret ca init");
    project.repo.commit_all("a project CA");
    let applied = project.fleet(&["apply", "--yes"]);
    ok(&applied, "apply");
    let printed = project.fleet(&["secret", "ca", "cert"]);
    ok(&printed, "secret ca cert");
    assert!(printed.stdout.starts_with("-----BEGIN CERTIFICATE-----"));

    let rt = runtime();
    for name in ["app.internal.test", "x.apps.internal.test"] {
        let client = Client::tls(name, &printed.stdout);
        for host in hosts {
            let at = format!("{}:{https}", project.testbed.address(host))
                .parse()
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            let answer = loop {
                match rt.block_on(traffic::get_with(at, "/", &client)) {
                    Ok(body) => break body,
                    Err(e) if std::time::Instant::now() > deadline => {
                        panic!("{name} on fh{host}: {e}")
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            };
            assert_eq!(answer, "demo 1");
        }
    }
    // Without a redirect, plain HTTP serves the name too.
    let plain = format!("{}:{http}", project.testbed.address(4))
        .parse()
        .unwrap();
    let body = rt
        .block_on(traffic::get_with(
            plain,
            "/",
            &Client::named("app.internal.test"),
        ))
        .unwrap();
    assert_eq!(body, "demo 1");
    // A client trusting another CA refuses the certificate.
    let other = fleet::tls::new_ca("other", now() - DAY).unwrap().0;
    let at = format!("{}:{https}", project.testbed.address(4))
        .parse()
        .unwrap();
    let refused = rt.block_on(traffic::get_with(
        at,
        "/",
        &Client::tls("app.internal.test", &other),
    ));
    assert!(refused.is_err(), "{refused:?}");
    // The status shows the certificate fleet issued, with its expiry.
    let status = project.fleet(&["status", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let certs = report["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["internal"], true);
    assert!(certs[0]["days_left"].as_i64().unwrap() >= 59, "{certs:?}");
    assert_eq!(certs[0]["balancers"].as_array().unwrap().len(), 2);
}

/// Requests for `client` through `at` until one succeeds, for at most `limit`; how long it took.
fn serving_within(at: SocketAddr, client: &Client, limit: Duration) -> Option<Duration> {
    let rt = runtime();
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if rt.block_on(traffic::get_with(at, "/", client)).is_ok() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn tls_serves_again_after_an_engine_restart_and_a_link_cut_during_rotation_is_caught_up() {
    let project = Project::new("tlsfault");
    let hosts = [5, 6];
    let _cleanup = Cleanup::of(&project.testbed, &hosts, &project.name);
    let (http, https) = (18682, 18645);
    let ca = fleet::tls::new_ca("test CA", now() - DAY).unwrap();
    let ca = (ca.0, ca.1.to_string());
    let (cert, key) = certificate(&ca, &["shop.example.test"], 1, 60);
    project.secret("crt", &cert);
    project.secret("key", &key);
    let yaml = format!(
        "project: {name}\n{hosts}secrets_recipients: [{recipient}]\n\
         balancer: {{ image: {BALANCER_IMAGE}, http_port: {http}, https_port: {https} }}\n\
         secrets:\n  crt: {{ file: secrets/crt.age }}\n  key: {{ file: secrets/key.age }}\n\
         services:\n  web:\n{web}",
        name = project.name,
        hosts = project.testbed.hosts_yaml(&hosts),
        recipient = project.recipient,
        web = service(
            1,
            2,
            "{ port: 8080, hosts: [shop.example.test], health_path: /, drain: 1s, tls: { certificate: crt, key: key } }"
        ),
    );
    project.repo.commit(&yaml);
    ok(&project.fleet(&["apply", "--yes"]), "apply");
    let shop = Client::tls("shop.example.test", &ca.0);
    let fh6 = project.at(6, https);
    assert!(serving_within(fh6, &shop, Duration::from_secs(30)).is_some());

    // The engine restarts (its containers stop with it): the next apply starts the balancer
    // again, with its certificate, and fh6 serves TLS again.
    project.testbed.fault(&["dockerd-stop", "6"]);
    project.testbed.fault(&["dockerd-start", "6"]);
    let restarted = std::time::Instant::now();
    let converge = project.fleet(&["apply", "--yes"]);
    ok(&converge, "apply after the engine restart");
    let back = serving_within(fh6, &shop, Duration::from_secs(30)).map(|_| restarted.elapsed());
    eprintln!("TLS on fh6 after the engine answered again: {back:?}");
    if back.is_none() {
        let name = format!("{}-balancer", project.name);
        panic!(
            "fh6 does not serve TLS after an engine restart\n{}\n{}",
            project.testbed.docker(6, &["ps", "-a"]),
            project.testbed.docker(6, &["logs", "--tail", "20", &name]),
        );
    }

    // A rotation while fh6 is cut off: fh5 rotates, fh6 keeps serving the old certificate
    // it has (its files are on the host) and is caught up once it answers.
    let (new_cert, new_key) = certificate(&ca, &["shop.example.test"], 2, 60);
    project.secret("crt", &new_cert);
    project.secret("key", &new_key);
    project.repo.commit_all("rotate");
    project.testbed.fault(&["link-down", "6"]);
    let cut = project.fleet(&["apply", "--yes", "--connect-timeout", "2"]);
    project.testbed.fault(&["link-up", "6"]);
    assert_ne!(
        cut.code, 0,
        "fh6 was unreachable: {}{}",
        cut.stdout, cut.stderr
    );
    assert_eq!(
        served_serial(project.at(5, https), "shop.example.test"),
        "4202"
    );
    assert_eq!(served_serial(fh6, "shop.example.test"), "4201");
    let plan = project.fleet(&["plan"]);
    assert!(
        plan.stdout
            .contains("balancer on fh6: reload (a certificate changed)")
            && plan.stdout.contains("~ certificate web: serial 42:02"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("balancer on fh5"), "{}", plan.stdout);
    ok(
        &project.fleet(&["apply", "--yes"]),
        "apply after the link is back",
    );
    assert_eq!(served_serial(fh6, "shop.example.test"), "4202");
}
