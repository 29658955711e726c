//! `x-fleet.autoscale`: `min`, `max`, the targets (`requests_per_second`, `concurrency`, `cpu`)
//! and `scale_down_after`.

use crate::spec::decode::{Cx, join};
use crate::spec::model::{Autoscale, DEFAULT_SCALE_DOWN_AFTER, MAX_REPLICAS, MAX_SCALE_DOWN_AFTER};
use crate::spec::yaml::{Node, Resolved};

pub const AUTOSCALE_KEYS: &[&str] = &[
    "min",
    "max",
    "requests_per_second",
    "concurrency",
    "cpu",
    "scale_down_after",
];

/// The largest target accepted for a rate or a count (per replica).
const MAX_TARGET: f64 = 1e9;

/// Decodes `x-fleet.autoscale`; `exposed` says whether the service has `x-fleet.expose`
/// (traffic targets are counted by its balancers).
pub(super) fn autoscale(cx: &mut Cx, field: &str, node: &Node, exposed: bool) -> Option<Autoscale> {
    let entries = cx.map(
        field,
        node,
        "a mapping with `min`, `max` and at least one of `requests_per_second`, `concurrency`, `cpu`",
    )?;
    let mut out = Autoscale {
        min: 1,
        max: 0,
        requests_per_second: None,
        concurrency: None,
        cpu: None,
        scale_down_after: DEFAULT_SCALE_DOWN_AFTER,
    };
    let mut min_node = None;
    let mut max_node = None;
    let mut traffic_pos = None;
    let mut valid = true;
    for (k, kn, v) in entries {
        let f = join(field, k);
        match k {
            "min" => {
                min_node = Some(v.pos);
                match v.resolve() {
                    Some(Resolved::Int(0)) => {
                        cx.error_hint(
                            v.pos,
                            &f,
                            "scaling to zero is not supported",
                            "a whole number from 1",
                            "keep one replica warm with `min: 1`",
                        );
                        valid = false;
                    }
                    _ => match cx.int(&f, v, 1, i64::from(MAX_REPLICAS)) {
                        Some(n) => out.min = n as u32,
                        None => valid = false,
                    },
                }
            }
            "max" => {
                max_node = Some(v.pos);
                match cx.int(&f, v, 1, i64::from(MAX_REPLICAS)) {
                    Some(n) => out.max = n as u32,
                    None => valid = false,
                }
            }
            "requests_per_second" | "concurrency" => {
                traffic_pos.get_or_insert((v.pos, f.clone()));
                match positive(cx, &f, v) {
                    Some(x) if k == "concurrency" => out.concurrency = Some(x),
                    Some(x) => out.requests_per_second = Some(x),
                    None => valid = false,
                }
            }
            "cpu" => match percent(cx, &f, v) {
                Some(x) => out.cpu = Some(x),
                None => valid = false,
            },
            "scale_down_after" => match cx.duration(&f, v) {
                Some(d) if d <= MAX_SCALE_DOWN_AFTER => out.scale_down_after = d,
                Some(_) => {
                    cx.error(
                        v.pos,
                        &f,
                        "the window is longer than 1h",
                        "a duration of at most 1h",
                    );
                    valid = false;
                }
                None => valid = false,
            },
            k if k.starts_with("x-") => {}
            _ => cx.unknown_key(kn, &f, k, AUTOSCALE_KEYS),
        }
    }
    if max_node.is_none() {
        cx.error(
            node.pos,
            &join(field, "max"),
            "`max` is missing",
            "the largest replica count",
        );
        return None;
    }
    if valid && out.min > out.max {
        cx.error(
            min_node.or(max_node).unwrap_or(node.pos),
            &join(field, "min"),
            format!("`min` ({}) is more than `max` ({})", out.min, out.max),
            "`min` at most `max`",
        );
        valid = false;
    }
    if out.requests_per_second.is_none() && out.concurrency.is_none() && out.cpu.is_none() && valid
    {
        cx.error(
            node.pos,
            field,
            "no target to scale on",
            "at least one of `requests_per_second`, `concurrency`, `cpu`",
        );
        valid = false;
    }
    if let (Some((pos, f)), false) = (traffic_pos, exposed) {
        cx.error_hint(
            pos,
            &f,
            "a traffic target needs the service behind the balancers",
            "`x-fleet.expose` on this service, or a `cpu` target only",
            "the balancers count the requests; add `expose: { port: ..., host_port: ... }`",
        );
        valid = false;
    }
    valid.then_some(out)
}

/// A positive number.
fn positive(cx: &mut Cx, field: &str, node: &Node) -> Option<f64> {
    let x = cx.float(field, node, 0.0, MAX_TARGET)?;
    if x > 0.0 {
        Some(x)
    } else {
        cx.error(
            node.pos,
            field,
            "the target must be more than 0",
            "a positive number",
        );
        None
    }
}

/// `70%`, or a bare number of percent; as a fraction.
fn percent(cx: &mut Cx, field: &str, node: &Node) -> Option<f64> {
    const EXPECTED: &str = "a percentage such as 70% (of the cpu limit, or of one core)";
    let value = match node.resolve() {
        Some(Resolved::Int(n)) => Some(n as f64),
        Some(Resolved::Float(f)) => Some(f),
        Some(Resolved::Str(s)) => s
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse().ok()),
        _ => None,
    };
    match value {
        Some(p) if p.is_finite() && p > 0.0 && p <= 10_000.0 => Some(p / 100.0),
        Some(p) => {
            cx.error(node.pos, field, format!("{p}% is out of range"), EXPECTED);
            None
        }
        None => {
            cx.wrong_type(node, field, EXPECTED);
            None
        }
    }
}
