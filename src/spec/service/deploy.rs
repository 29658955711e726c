//! `deploy`: mode and replicas, `placement` (constraints, spread preferences, replicas per
//! host), `update_config` and `rollback_config`, `restart_policy` and `resources.limits`.
//! Whether the placement can be met by the declared hosts is checked by the loader.

use super::Decoded;
use crate::spec::decode::{Cx, index, join};
use crate::spec::model::{
    Constraint, ConstraintOp, ConstraintSubject, Deploy, FailureAction, Mode, Placement, Resources,
    Restart, UpdateConfig, UpdateOrder,
};
use crate::spec::yaml::{Node, Pos, Resolved};

pub const DEPLOY_KEYS: &[&str] = &[
    "mode",
    "replicas",
    "placement",
    "update_config",
    "rollback_config",
    "restart_policy",
    "resources",
];

pub const PLACEMENT_KEYS: &[&str] = &["constraints", "preferences", "max_replicas_per_node"];

pub const UPDATE_KEYS: &[&str] = &[
    "parallelism",
    "delay",
    "order",
    "failure_action",
    "monitor",
    "max_failure_ratio",
];

pub const RESTART_POLICY_KEYS: &[&str] = &["condition", "max_attempts"];

pub const RESOURCES_KEYS: &[&str] = &["limits", "reservations"];

pub const LIMITS_KEYS: &[&str] = &["cpus", "memory", "pids"];

pub const RESERVATIONS_KEYS: &[&str] = &["cpus", "memory", "devices", "generic_resources"];

type RestartFromPolicy = Option<(Pos, Restart)>;

pub(super) fn deploy(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    decoded: &mut Decoded,
) -> Option<(Deploy, RestartFromPolicy)> {
    let mut deploy = Deploy {
        mode: Mode::Replicated,
        replicas: 1,
        placement: Placement::default(),
        update_config: UpdateConfig::update_default(),
        rollback_config: UpdateConfig::rollback_default(),
        resources: Resources::default(),
    };
    let mut policy = None;
    let mut replicas_set = None;
    for (k, kn, v) in cx.map(field, node, "a mapping of deploy settings")? {
        let f = join(field, k);
        match k {
            "mode" => match cx.string(&f, v).as_deref() {
                Some("replicated") => deploy.mode = Mode::Replicated,
                Some("global") => deploy.mode = Mode::Global,
                Some(other) => {
                    cx.unknown_value(v.pos, &f, "mode", other, &["replicated", "global"])
                }
                None => {}
            },
            "replicas" => {
                decoded.replicas_pos = v.pos;
                if let Some(n) = cx.int(&f, v, 0, 10_000) {
                    deploy.replicas = n as u32;
                    replicas_set = Some(v.pos);
                }
            }
            "placement" => deploy.placement = placement(cx, &f, v, &mut decoded.constraint_pos),
            "update_config" => {
                deploy.update_config =
                    update_config(cx, &f, v, UpdateConfig::update_default(), true)
            }
            "rollback_config" => {
                deploy.rollback_config =
                    update_config(cx, &f, v, UpdateConfig::rollback_default(), false)
            }
            "restart_policy" => policy = restart_policy(cx, &f, v).map(|p| (kn.pos, p)),
            "resources" => deploy.resources = resources(cx, &f, v),
            _ => {
                if !k.starts_with("x-") {
                    super::refuse_nested_key(cx, "deploy", kn, &f, k, DEPLOY_KEYS);
                }
            }
        }
    }
    if let (Mode::Global, Some(pos)) = (deploy.mode, replicas_set) {
        cx.error(
            pos,
            &join(field, "replicas"),
            "`replicas` cannot be set with `mode: global`",
            "one of them",
        );
    }
    Some((deploy, policy))
}

fn placement(cx: &mut Cx, field: &str, node: &Node, positions: &mut Vec<Pos>) -> Placement {
    let mut placement = Placement::default();
    for (k, kn, v) in cx
        .map(
            field,
            node,
            "a mapping with constraints, preferences, max_replicas_per_node",
        )
        .unwrap_or_default()
    {
        let f = join(field, k);
        match k {
            "constraints" => {
                for (i, item) in cx
                    .seq(&f, v, "a list of constraints")
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let cf = index(&f, i);
                    if let Some(text) = cx.string(&cf, item) {
                        match parse_constraint(&text) {
                            Ok(c) => {
                                placement.constraints.push(c);
                                positions.push(item.pos);
                            }
                            Err(why) => cx.error(
                                item.pos,
                                &cf,
                                why,
                                "node.labels.KEY == VALUE, node.labels.KEY != VALUE or node.hostname == HOST",
                            ),
                        }
                    }
                }
            }
            "preferences" => {
                for (i, item) in cx
                    .seq(&f, v, "a list of `spread: node.labels.KEY`")
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let pf = index(&f, i);
                    for (pk, pkn, pv) in cx
                        .map(&pf, item, "a mapping `spread: node.labels.KEY`")
                        .unwrap_or_default()
                    {
                        let pkf = join(&pf, pk);
                        if pk != "spread" {
                            cx.unknown_key(pkn, &pkf, pk, &["spread"]);
                            continue;
                        }
                        if let Some(text) = cx.string(&pkf, pv) {
                            match text.trim().strip_prefix("node.labels.") {
                                Some(key) if !key.is_empty() => {
                                    placement.spread.push(key.to_string())
                                }
                                _ => cx.error(
                                    pv.pos,
                                    &pkf,
                                    format!("cannot spread over `{text}`"),
                                    "node.labels.KEY",
                                ),
                            }
                        }
                    }
                }
            }
            "max_replicas_per_node" => {
                placement.max_replicas_per_node = cx.int(&f, v, 1, 10_000).map(|n| n as u32);
            }
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, PLACEMENT_KEYS);
                }
            }
        }
    }
    placement
}

pub fn parse_constraint(text: &str) -> Result<Constraint, String> {
    let (lhs, op, rhs) = if let Some((l, r)) = text.split_once("==") {
        (l, ConstraintOp::Eq, r)
    } else if let Some((l, r)) = text.split_once("!=") {
        (l, ConstraintOp::Ne, r)
    } else {
        return Err(format!("`{text}` has no `==` or `!=`"));
    };
    let (lhs, rhs) = (lhs.trim(), rhs.trim());
    if rhs.is_empty() {
        return Err(format!("`{text}` has nothing to compare with"));
    }
    let subject = if lhs == "node.hostname" {
        ConstraintSubject::Hostname
    } else if let Some(key) = lhs.strip_prefix("node.labels.").filter(|k| !k.is_empty()) {
        ConstraintSubject::Label(key.to_string())
    } else {
        return Err(format!("`{lhs}` cannot be used in a constraint"));
    };
    Ok(Constraint {
        subject,
        op,
        value: rhs.to_string(),
        text: text.trim().to_string(),
    })
}

fn update_config(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    mut config: UpdateConfig,
    allow_rollback: bool,
) -> UpdateConfig {
    for (k, kn, v) in cx
        .map(field, node, "a mapping of rollout settings")
        .unwrap_or_default()
    {
        let f = join(field, k);
        match k {
            "parallelism" => {
                if let Some(n) = cx.int(&f, v, 0, 10_000) {
                    config.parallelism = n as u32;
                }
            }
            "delay" => config.delay = cx.duration(&f, v).unwrap_or(config.delay),
            "monitor" => config.monitor = cx.duration(&f, v).unwrap_or(config.monitor),
            "order" => match cx.string(&f, v).as_deref() {
                Some("stop-first") => config.order = UpdateOrder::StopFirst,
                Some("start-first") => config.order = UpdateOrder::StartFirst,
                Some(other) => {
                    cx.unknown_value(v.pos, &f, "order", other, &["stop-first", "start-first"])
                }
                None => {}
            },
            "failure_action" => match cx.string(&f, v).as_deref() {
                Some("rollback") if allow_rollback => {
                    config.failure_action = FailureAction::Rollback
                }
                Some("pause") => config.failure_action = FailureAction::Pause,
                Some("continue") => config.failure_action = FailureAction::Continue,
                Some(other) => {
                    let allowed: &[&str] = if allow_rollback {
                        &["rollback", "pause", "continue"]
                    } else {
                        &["pause", "continue"]
                    };
                    cx.unknown_value(v.pos, &f, "failure action", other, allowed);
                }
                None => {}
            },
            "max_failure_ratio" => {
                config.max_failure_ratio = cx
                    .float(&f, v, 0.0, 1.0)
                    .unwrap_or(config.max_failure_ratio);
            }
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, UPDATE_KEYS);
                }
            }
        }
    }
    config
}

fn restart_policy(cx: &mut Cx, field: &str, node: &Node) -> Option<Restart> {
    let mut condition = None;
    let mut max_attempts = None;
    for (k, kn, v) in cx.map(field, node, "a mapping with condition and max_attempts")? {
        let f = join(field, k);
        match k {
            "condition" => match cx.string(&f, v).as_deref() {
                Some(c @ ("none" | "on-failure" | "any")) => condition = Some((c.to_string(), v.pos)),
                Some(other) => cx.unknown_value(v.pos, &f, "condition", other, &["none", "on-failure", "any"]),
                None => {}
            },
            "max_attempts" => max_attempts = cx.int(&f, v, 0, i64::from(u32::MAX)).map(|n| n as u32),
            "delay" | "window" => cx.error_hint(
                kn.pos,
                &f,
                format!("`{k}` is not supported"),
                "condition or max_attempts",
                "the engine restarts with its own backoff; `fleet watch` adds crash-loop backoff per replica",
            ),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, RESTART_POLICY_KEYS);
                }
            }
        }
    }
    Some(match condition.as_ref().map(|(c, _)| c.as_str()) {
        Some("none") => Restart::No,
        Some("on-failure") => Restart::OnFailure {
            max_retries: max_attempts,
        },
        // Swarm's default condition is `any`.
        _ => Restart::Always,
    })
}

fn resources(cx: &mut Cx, field: &str, node: &Node) -> Resources {
    let mut resources = Resources::default();
    for (k, kn, v) in cx
        .map(field, node, "a mapping with `limits`")
        .unwrap_or_default()
    {
        let f = join(field, k);
        match k {
            "limits" => {
                for (lk, lkn, lv) in cx
                    .map(&f, v, "a mapping with cpus and memory")
                    .unwrap_or_default()
                {
                    let lf = join(&f, lk);
                    match lk {
                        "cpus" => {
                            let value = match lv.resolve() {
                                Some(Resolved::Str(s)) => s.parse::<f64>().ok(),
                                Some(Resolved::Int(n)) => Some(n as f64),
                                Some(Resolved::Float(x)) => Some(x),
                                _ => None,
                            };
                            match value.filter(|x| x.is_finite() && *x > 0.0 && *x <= 1024.0) {
                                Some(x) => resources.cpus = Some(x),
                                None => cx.error(
                                    lv.pos,
                                    &lf,
                                    format!(
                                        "`{}` is not a CPU count",
                                        lv.scalar_text().unwrap_or("…")
                                    ),
                                    "a number of cores greater than 0, e.g. 0.5",
                                ),
                            }
                        }
                        "memory" => resources.memory = cx.size(&lf, lv),
                        "pids" => resources.pids = cx.int(&lf, lv, -1, i64::MAX),
                        _ => {
                            if !lk.starts_with("x-") {
                                cx.unknown_key(lkn, &lf, lk, LIMITS_KEYS);
                            }
                        }
                    }
                }
            }
            "reservations" => reservations(cx, &f, v, &mut resources),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, RESOURCES_KEYS);
                }
            }
        }
    }
    resources
}

/// `resources.reservations`: `memory` is the engine's soft limit; `cpus` only informs a
/// scheduler, which fleet's placement is not, so it is noted and ignored.
fn reservations(cx: &mut Cx, field: &str, node: &Node, resources: &mut Resources) {
    for (k, kn, v) in cx
        .map(field, node, "a mapping with cpus and memory")
        .unwrap_or_default()
    {
        let f = join(field, k);
        match k {
            "memory" => resources.reservation_memory = cx.size(&f, v),
            "cpus" => cx.warning(
                kn.pos,
                &f,
                "`reservations.cpus` is ignored: fleet's placement does not account for reserved CPUs",
                Some("use `limits.cpus`, constraints or `max_replicas_per_node`".into()),
            ),
            "devices" => resources.devices = super::host::device_requests(cx, &f, v, true),
            "generic_resources" => cx.error_hint(
                kn.pos,
                &f,
                "`reservations.generic_resources` is not supported by fleet",
                "memory or devices",
                "generic resources are a Swarm scheduling feature; instead: use `devices` (device requests) and placement constraints",
            ),
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, RESERVATIONS_KEYS);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_parse_labels_and_hostname() {
        let c = parse_constraint("node.labels.zone == a").unwrap();
        assert_eq!(c.subject, ConstraintSubject::Label("zone".into()));
        assert_eq!(c.op, ConstraintOp::Eq);
        assert_eq!(c.value, "a");
        let c = parse_constraint("node.hostname!=web-1").unwrap();
        assert_eq!(c.subject, ConstraintSubject::Hostname);
        assert_eq!(c.op, ConstraintOp::Ne);
        assert!(parse_constraint("node.role == manager").is_err());
        assert!(parse_constraint("node.labels.zone").is_err());
        assert!(parse_constraint("node.labels.zone ==").is_err());
    }
}
