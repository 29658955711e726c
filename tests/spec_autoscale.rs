//! `x-fleet.autoscale` is validated at file:line:col, and a valid one reaches the model.

use fleet::spec::{MemoryFiles, Severity, load};

fn errors(service: &str) -> Vec<String> {
    let yaml = format!("project: shop\nservices:\n  web:\n    image: demo:1\n{service}");
    let loaded = load(&MemoryFiles::new([("fleet.yaml", yaml.as_str())]));
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string().lines().next().unwrap().to_string())
        .collect()
}

#[test]
fn bad_bounds_targets_and_windows_are_refused_where_they_are_written() {
    let cases = [
        (
            "    x-fleet:\n      autoscale: { min: 5, max: 2, cpu: 50% }\n",
            "fleet.yaml:6:25: error: services.web.x-fleet.autoscale.min: `min` (5) is more than `max` (2)",
        ),
        (
            "    x-fleet:\n      autoscale: { min: 1, max: 20000, cpu: 50% }\n",
            "fleet.yaml:6:33: error: services.web.x-fleet.autoscale.max: 20000 is out of range",
        ),
        (
            "    x-fleet:\n      autoscale: { min: 1, max: 3, cpu: -5% }\n",
            "fleet.yaml:6:41: error: services.web.x-fleet.autoscale.cpu: -5% is out of range",
        ),
        (
            "    x-fleet:\n      autoscale: { min: 1, max: 3, cpu: 50%, scale_down_after: 2h }\n",
            "fleet.yaml:6:64: error: services.web.x-fleet.autoscale.scale_down_after: the window is longer than 1h",
        ),
        (
            "    x-fleet:\n      autoscale: { min: 1, max: 3 }\n",
            "fleet.yaml:6:18: error: services.web.x-fleet.autoscale: no target to scale on",
        ),
        (
            "    x-fleet:\n      autoscale: { min: 1, max: 3, requests_per_second: 50 }\n",
            "fleet.yaml:6:57: error: services.web.x-fleet.autoscale.requests_per_second: a traffic target needs the service behind the balancers",
        ),
        (
            "    x-fleet:\n      expose: { port: 80, host_port: 8080 }\n      autoscale: { min: 1, max: 3, concurrency: 0 }\n",
            "fleet.yaml:7:49: error: services.web.x-fleet.autoscale.concurrency: the target must be more than 0",
        ),
        (
            "    x-fleet:\n      autoscale: { min: 0, max: 3, cpu: 50% }\n",
            "fleet.yaml:6:25: error: services.web.x-fleet.autoscale.min: scaling to zero is not supported",
        ),
        (
            "    deploy: { mode: global }\n    x-fleet:\n      autoscale: { min: 1, max: 3, cpu: 50% }\n",
            "fleet.yaml:3:3: error: services.web.x-fleet.autoscale: a global service runs one replica per eligible host and cannot be autoscaled",
        ),
    ];
    for (service, expected) in cases {
        let got = errors(service);
        assert!(
            got.iter().any(|e| e.starts_with(expected)),
            "for\n{service}expected `{expected}`, got {got:#?}"
        );
    }
}

#[test]
fn a_valid_autoscale_reaches_the_model_and_does_not_change_the_spec_hash() {
    let plain = "project: shop\nservices:\n  web:\n    image: demo:1\n    deploy: { replicas: 3 }\n    x-fleet:\n      expose: { port: 80, host_port: 8080 }\n";
    let scaled = format!(
        "{plain}      autoscale:\n        min: 2\n        max: 20\n        requests_per_second: 50\n        concurrency: 20\n        cpu: 70%\n        scale_down_after: 5m\n"
    );
    let a = load(&MemoryFiles::new([("fleet.yaml", plain)]))
        .desired
        .unwrap();
    let loaded = load(&MemoryFiles::new([("fleet.yaml", scaled.as_str())]));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let b = loaded.desired.unwrap();
    let scale = b.services["web"].autoscale.clone().unwrap();
    assert_eq!((scale.min, scale.max), (2, 20));
    assert_eq!(scale.requests_per_second, Some(50.0));
    assert_eq!(scale.concurrency, Some(20.0));
    assert_eq!(scale.cpu, Some(0.7));
    assert_eq!(scale.scale_down_after.as_secs(), 300);
    assert_eq!(
        fleet::contract::spec_hash(&a.services["web"]),
        fleet::contract::spec_hash(&b.services["web"]),
        "adding autoscale must not replace replicas"
    );
}
