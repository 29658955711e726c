//! `depends_on`: the services a service starts after (a list, or a mapping with `condition`).
//! The names are collected for the loader, which checks they exist and form no cycle.

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
                refs.push((name.to_string(), key.pos, f.clone()));
                let mut condition = DependsOn::ServiceStarted;
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
                            Some(other) => cx.error(
                                v.pos,
                                &kf,
                                format!("unknown condition `{other}`"),
                                "service_started, service_healthy or service_completed_successfully",
                            ),
                            None => {}
                        },
                        "restart" | "required" => {
                            cx.bool(&kf, v);
                            cx.error(kn.pos, &kf, format!("`{k}` is not supported in depends_on"), "condition");
                        }
                        _ => cx.unknown_key(kn, &kf, k, DEPENDS_ON_KEYS),
                    }
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
