//! `fleet config`: the desired state fully resolved (includes, merges, defaults), as fleet
//! will deploy it; like `docker compose config`.

use super::validate::open_source;
use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::render;
use crate::spec::{self, Severity};

pub fn run(global: &GlobalOptions, printer: &Printer) -> ExitCode {
    let Some(snapshot) = open_source(global, printer) else {
        return ExitCode::Failure;
    };
    let loaded = spec::load(snapshot.files());
    for d in &loaded.diagnostics {
        printer.diagnostic(d);
    }
    let Some(desired) = loaded.desired else {
        let errors = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        printer.fail(
            &format!("the desired state is invalid ({errors} error(s)); nothing to show"),
            Some("`fleet validate` lists the problems"),
        );
        return ExitCode::Failure;
    };
    let mut value = render::desired(&desired);
    prune(&mut value);
    match global.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        Format::Text | Format::Markdown => {
            compose_durations(&mut value);
            out!("{}", render::yaml(&value))
        }
    }
    ExitCode::Success
}

/// Leaves out what is not set (nulls, empty lists and maps), so the output reads like a
/// compose file; JSON keeps the same shape.
fn prune(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            // Where in the files a service was declared: for diagnostics, not for reading.
            map.remove("origin");
            for v in map.values_mut() {
                prune(v);
            }
            map.retain(|_, v| !is_unset(v));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

/// The keys whose values are durations in the model (`spec::model::seconds`): JSON has them in
/// seconds, the YAML of `fleet config` in Compose's words.
const DURATION_KEYS: &[&str] = &[
    "stop_grace_period",
    "interval",
    "timeout",
    "start_period",
    "start_interval",
    "delay",
    "monitor",
    "drain",
    "hsts",
    "host_down_after",
];

/// Every duration (a number of seconds under one of [`DURATION_KEYS`]) as Compose writes it.
fn compose_durations(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v.as_f64() {
                    Some(seconds) if DURATION_KEYS.contains(&key.as_str()) => {
                        *v = Value::String(duration(seconds));
                    }
                    _ => compose_durations(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(compose_durations),
        _ => {}
    }
}

/// Seconds in Compose's words: `1m30s`, `250ms`.
fn duration(seconds: f64) -> String {
    let d = std::time::Duration::from_secs_f64(seconds.max(0.0));
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    let mut out = String::new();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if nanos > 0 {
        out.push_str(&format!("{}ms", nanos / 1_000_000));
    }
    if out.is_empty() { "0s".into() } else { out }
}

fn is_unset(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_values_are_left_out_at_every_depth() {
        let mut value = serde_json::json!({
            "a": null, "b": [], "c": {"d": null, "e": {}}, "f": [1, {"g": null, "h": 2}], "i": false
        });
        prune(&mut value);
        assert_eq!(value, serde_json::json!({"f": [1, {"h": 2}], "i": false}));
    }

    #[test]
    fn durations_read_as_compose_writes_them() {
        let mut value = serde_json::json!({
            "stop_grace_period": 90,
            "healthcheck": {"interval": 0.25, "timeout": 0, "retries": 3},
            "deploy": {"update_config": {"delay": 3661, "parallelism": 2}},
            "environment": {"interval": "5"},
            "origin": {"file": "compose.yaml", "line": 3}
        });
        prune(&mut value);
        compose_durations(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "stop_grace_period": "1m30s",
                "healthcheck": {"interval": "250ms", "timeout": "0s", "retries": 3},
                "deploy": {"update_config": {"delay": "1h1m1s", "parallelism": 2}},
                "environment": {"interval": "5"}
            })
        );
    }
}
