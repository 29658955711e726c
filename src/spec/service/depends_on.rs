//! `depends_on`: the services a service starts after (a list, or a mapping with `condition`,
//! `restart`, `required`). The names are collected for the loader, which checks they exist
//! (unless `required: false`, as in Compose) and form no cycle. `restart: true` (Compose
//! restarts the service when the dependency is updated) is accepted with a warning: fleet's
//! rollouts are per service and do not restart dependents.

use std::collections::BTreeMap;

use crate::spec::decode::{Cx, index, join};
use crate::spec::model::DependsOn;
use crate::spec::yaml::{Kind, Node, Pos};

pub const DEPENDS_ON_KEYS: &[&str] = &["condition", "restart", "required"];

pub(super) fn depends_on(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    refs: &mut Vec<(String, Pos, String)>,
) -> BTreeMap<String, DependsOn> {
    let mut out = BTreeMap::new();
    match &node.kind {
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let f = index(field, i);
                if let Some(name) = cx.string(&f, item) {
                    refs.push((name.clone(), item.pos, f));
                    out.insert(name, DependsOn::ServiceStarted);
                }
            }
        }
        Kind::Map(_) => {
            for (name, key, value) in cx.map(field, node, "").unwrap_or_default() {
                let f = join(field, name);
                let mut condition = DependsOn::ServiceStarted;
                let mut required = true;
                for (k, kn, v) in cx
                    .map(&f, value, "a mapping with `condition`")
                    .unwrap_or_default()
                {
                    let kf = join(&f, k);
                    match k {
                        "condition" => match cx.string(&kf, v).as_deref() {
                            Some("service_started") => condition = DependsOn::ServiceStarted,
                            Some("service_healthy") => condition = DependsOn::ServiceHealthy,
                            Some("service_completed_successfully") => {
                                condition = DependsOn::ServiceCompletedSuccessfully;
                            }
                            Some(other) => cx.unknown_value(
                                v.pos,
                                &kf,
                                "condition",
                                other,
                                &[
                                    "service_started",
                                    "service_healthy",
                                    "service_completed_successfully",
                                ],
                            ),
                            None => {}
                        },
                        "required" => required = cx.bool(&kf, v).unwrap_or(true),
                        "restart" => {
                            if cx.bool(&kf, v) == Some(true) {
                                cx.warning(
                                    v.pos,
                                    &kf,
                                    format!("fleet does not restart the service when `{name}` is updated"),
                                    Some("accepted for Compose; roll the service out yourself if it must restart".into()),
                                );
                            }
                        }
                        _ => cx.unknown_key(kn, &kf, k, DEPENDS_ON_KEYS),
                    }
                }
                // A dependency that is not required may be missing: only required ones are
                // checked to exist. Ordering still applies when it is there.
                if required {
                    refs.push((name.to_string(), key.pos, f.clone()));
                }
                out.insert(name.to_string(), condition);
            }
        }
        _ => cx.error(
            node.pos,
            field,
            format!("found {}", node.type_name()),
            "a list of service names, or a mapping of service name to condition",
        ),
    }
    out
}

/// Compose `links` (legacy): `SERVICE` or `SERVICE:ALIAS`. On a project network every service
/// is reachable by name already; what a link adds is the start order, so each becomes a
/// `depends_on` with `service_started` (unless `depends_on` names it). An alias other than the
/// service's name is refused: fleet does not make per-link names.
pub(super) fn links(
    cx: &mut Cx,
    field: &str,
    node: &Node,
    depends: &mut BTreeMap<String, DependsOn>,
    refs: &mut Vec<(String, Pos, String)>,
) {
    for (text, pos) in cx.string_or_list(field, node).unwrap_or_default() {
        let (service, alias) = text.split_once(':').unwrap_or((&text, &text));
        if alias != service {
            cx.error_hint(
                pos,
                field,
                format!("the link alias `{alias}` of `{service}` is not supported by fleet"),
                "SERVICE",
                format!(
                    "services reach each other by name; instead: add `{alias}` to the network `aliases` of `{service}`"
                ),
            );
            continue;
        }
        if !depends.contains_key(service) {
            refs.push((service.to_string(), pos, field.to_string()));
            depends.insert(service.to_string(), DependsOn::ServiceStarted);
        }
    }
}
