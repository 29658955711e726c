//! Field-level differences between the spec a replica runs and the one it should run, as the
//! plan shows them.

use serde::Serialize;
use serde_json::Value;

use super::FieldDiff;

/// Leaf-level differences between two JSON values, in field order.
pub fn field_diff(before: &Value, after: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    // Spec labels hold durations as `{"secs", "nanos"}` (contract::container_spec): a diff
    // shows them in seconds, like every duration in fleet's JSON, and as one field.
    walk("", &label_seconds(before), &label_seconds(after), &mut out);
    out
}

fn walk(path: &str, before: &Value, after: &Value, out: &mut Vec<FieldDiff>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(&child, x, y, out),
                    (x, y) => out.push(FieldDiff {
                        field: child,
                        before: x.cloned(),
                        after: y.cloned(),
                    }),
                }
            }
        }
        _ => out.push(FieldDiff {
            field: path.to_string(),
            before: Some(before.clone()),
            after: Some(after.clone()),
        }),
    }
}

/// `value` with every duration in serde's form (`{"secs": 2, "nanos": 0}`) as seconds.
fn label_seconds(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let duration = (map.len() == 2)
                .then(|| {
                    let secs = map.get("secs")?.as_u64()?;
                    let nanos = u32::try_from(map.get("nanos")?.as_u64()?).ok()?;
                    serde_json::to_value(Seconds(std::time::Duration::new(secs, nanos))).ok()
                })
                .flatten();
            duration.unwrap_or_else(|| {
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), label_seconds(v)))
                        .collect(),
                )
            })
        }
        Value::Array(items) => Value::Array(items.iter().map(label_seconds).collect()),
        other => other.clone(),
    }
}

#[derive(Serialize)]
struct Seconds(#[serde(with = "crate::spec::model::seconds")] std::time::Duration);

/// A changed field as the plan names it: a secret's or config's content digest is said as
/// "secret NAME" / "config NAME" (its value means nothing to a person, and is never shown).
pub fn changed_field(field: &str) -> String {
    match field
        .strip_prefix("file_digests.")
        .and_then(|key| key.split_once(':'))
    {
        Some((kind, name)) => format!("{kind} {name}"),
        None => field.to_string(),
    }
}
