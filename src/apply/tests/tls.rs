//! The balancers' certificates on the hosts: written (root only) before the configuration that
//! names them, a new certificate a new file, the rotated-out key blanked once no balancer reads
//! it, and nothing written on a host that is not an ingress host.

use super::harness::Fleet;
use crate::engine::memory::Behaviour;

const HOSTS: &str = "project: shop
hosts:
  a: {address: ssh://a}
  b: {address: ssh://b}
  c: {address: ssh://c}
balancer: { hosts: [a, b] }
";

fn state() -> String {
    format!(
        "{HOSTS}secrets:
  crt: {{ file: crt.pem }}
  key: {{ file: key.pem }}
services:
  web:
    image: web:1
    deploy: {{ replicas: 2 }}
    x-fleet: {{ expose: {{ port: 8080, hosts: [shop.example.test], tls: {{ certificate: crt, key: key }} }} }}
"
    )
}

fn now() -> i64 {
    crate::clock::unix_now()
}

/// A certificate for shop.example.test with `serial`, and its key.
fn certificate(serial: u8) -> (String, String) {
    let (ca, ca_key) = crate::tls::new_ca("test", now() - 3600).unwrap();
    let (cert, key) = crate::tls::issue(
        &ca,
        &ca_key,
        &["shop.example.test".to_string()],
        &[serial],
        now() - 60,
        now() + 30 * 24 * 3600,
    )
    .unwrap();
    (cert, key.to_string())
}

fn bundle_path(desired: &crate::spec::Desired) -> String {
    let id = &desired.certificates["web"].id;
    format!("/run/fleet/shop/.balancer-tls/{id}/bundle.pem")
}

#[tokio::test(start_paused = true)]
async fn certificates_reach_the_ingress_hosts_only_and_a_rotated_out_key_is_blanked() {
    let fleet = Fleet::new(HOSTS);
    for image in ["web:1", crate::spec::model::DEFAULT_BALANCER_IMAGE] {
        fleet.publish(image, Behaviour::Serves);
    }
    let (cert, key) = certificate(1);
    fleet.commit_file("crt.pem", &cert);
    fleet.commit_file("key.pem", &key);
    let first = fleet.deploy(&state()).await;
    let old = bundle_path(&first);
    for host in ["a", "b"] {
        let file = fleet
            .host(host)
            .host_file(&old)
            .expect("the bundle on an ingress host");
        assert_eq!((file.mode, file.uid), (0o400, 0));
        let text = String::from_utf8(file.content).unwrap();
        assert!(
            text.starts_with(&cert) && text.ends_with(&key),
            "chain, then key"
        );
    }
    assert!(
        fleet.host("c").host_file(&old).is_none(),
        "c runs no balancer"
    );

    let (new_cert, new_key) = certificate(2);
    fleet.commit_file("crt.pem", &new_cert);
    fleet.commit_file("key.pem", &new_key);
    let second = fleet.desired(&state());
    assert_ne!(second.certificates["web"].id, first.certificates["web"].id);
    let outcome = fleet.apply(&second).await;
    assert!(outcome.report.success, "{:#?}", outcome.report);
    let new = bundle_path(&second);
    for host in ["a", "b"] {
        let file = fleet.host(host).host_file(&new).unwrap();
        assert!(String::from_utf8(file.content).unwrap().ends_with(&new_key));
        let blanked = fleet.host(host).host_file(&old).unwrap();
        assert!(blanked.content.is_empty(), "the old key stays on {host}");
    }
}
