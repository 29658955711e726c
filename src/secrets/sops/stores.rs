//! The stores sops reads besides YAML: JSON with its members in order, and dotenv with its
//! flattened metadata.

use super::{SopsError, Value};

/// JSON read as sops' JSON store reads it: object members in order (duplicates kept), integers
/// that fit in 64 bits as integers and other numbers as floats.
pub(super) struct Json(pub(super) Value);

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor).map(Json)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        // Go's store falls back to float64 too.
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Json(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Seq(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let Json(v) = map.next_value()?;
            out.push((k, v));
        }
        Ok(Value::Map(out))
    }
}

/// A dotenv file as sops' dotenv store reads it: `KEY=VALUE` lines (`\n` in a value is a
/// newline), `#` comments, and the metadata flattened into `sops_`-prefixed keys.
pub(super) fn dotenv(bytes: &[u8]) -> Result<(Value, Value), SopsError> {
    let mut tree = Vec::new();
    let mut flat = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| SopsError::Malformed(format!("line {} is not UTF-8", n + 1)))?;
        let (key, value) = line.split_once('=').ok_or_else(|| {
            SopsError::Malformed(format!("line {} of the dotenv file has no `=`", n + 1))
        })?;
        let value = value.replace("\\n", "\n");
        match key.strip_prefix("sops_") {
            Some(meta) => flat.push((meta.to_string(), value)),
            None => tree.push((key.to_string(), Value::Str(value))),
        }
    }
    if flat.is_empty() {
        return Err(SopsError::NotSops("no `sops_` metadata lines".into()));
    }
    Ok((Value::Map(tree), unflatten(flat)))
}

/// The dotenv metadata as the nested tree the other formats have: `age__list_N__map_FIELD`
/// becomes `age[N].FIELD`; other flattened lists only need to be seen as present.
fn unflatten(flat: Vec<(String, String)>) -> Value {
    let mut age: std::collections::BTreeMap<usize, Vec<(String, Value)>> = Default::default();
    let mut out: Vec<(String, Value)> = Vec::new();
    for (key, value) in flat {
        if let Some(rest) = key.strip_prefix("age__list_") {
            if let Some((index, field)) = rest.split_once("__map_") {
                if let Ok(index) = index.parse() {
                    age.entry(index)
                        .or_default()
                        .push((field.to_string(), Value::Str(value)));
                    continue;
                }
            }
        }
        match key.split_once("__") {
            Some((top, _)) if !out.iter().any(|(k, _)| k == top) => {
                out.push((top.to_string(), Value::Seq(vec![Value::Null])));
            }
            Some(_) => {}
            None => out.push((key, Value::Str(value))),
        }
    }
    if !age.is_empty() {
        let entries = age.into_values().map(Value::Map).collect();
        out.push(("age".into(), Value::Seq(entries)));
    }
    Value::Map(out)
}
