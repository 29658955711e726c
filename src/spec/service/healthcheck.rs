//! `healthcheck`: the test command (a shell string, or a list starting with `CMD`, `CMD-SHELL`
//! or `NONE`), its timings and retries, and `disable`. Without `test` the image's own check is
//! kept and only the timings given are overridden, as in Compose.

use crate::spec::decode::{Cx, join};
use crate::spec::model::Healthcheck;
use crate::spec::yaml::{Node, Resolved};

pub const HEALTHCHECK_KEYS: &[&str] = &[
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
];

pub(super) fn healthcheck(cx: &mut Cx, field: &str, node: &Node) -> Option<Healthcheck> {
    let mut hc = Healthcheck {
        test: Vec::new(),
        interval: None,
        timeout: None,
        retries: None,
        start_period: None,
        start_interval: None,
    };
    let mut disabled = false;
    for (k, kn, v) in cx.map(
        field,
        node,
        "a mapping with test, interval, timeout, retries, start_period",
    )? {
        let f = join(field, k);
        match k {
            "test" => hc.test = health_test(cx, &f, v).unwrap_or_default(),
            "interval" => hc.interval = cx.duration(&f, v),
            "timeout" => hc.timeout = cx.duration(&f, v),
            "retries" => hc.retries = cx.int(&f, v, 0, i64::from(u32::MAX)).map(|n| n as u32),
            "start_period" => hc.start_period = cx.duration(&f, v),
            "start_interval" => hc.start_interval = cx.duration(&f, v),
            "disable" => disabled = cx.bool(&f, v).unwrap_or(false),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, HEALTHCHECK_KEYS);
                }
            }
        }
    }
    // An empty `test` is the engine's "inherit the image's check" (Docker API `HealthConfig`).
    if disabled {
        hc.test = vec!["NONE".into()];
    }
    Some(hc)
}

fn health_test(cx: &mut Cx, field: &str, node: &Node) -> Option<Vec<String>> {
    const EXPECTED: &str = "a shell command string, or a list starting with CMD, CMD-SHELL or NONE";
    if let Some(Resolved::Str(s)) = node.resolve() {
        return Some(vec!["CMD-SHELL".into(), s.to_string()]);
    }
    let items = cx.string_or_list(field, node)?;
    let words: Vec<String> = items.into_iter().map(|(w, _)| w).collect();
    match words.first().map(String::as_str) {
        Some("CMD" | "CMD-SHELL") if words.len() > 1 => Some(words),
        Some("NONE") if words.len() == 1 => Some(words),
        _ => {
            cx.error(node.pos, field, "not a health check command", EXPECTED);
            None
        }
    }
}
