//! Typed reads from a [`Node`] tree that report, rather than stop at, every wrong value.
//!
//! Each getter either returns the value or records a diagnostic naming the file, the position,
//! the dotted field path, what was found and what is allowed, and returns `None`, so decoding
//! goes on and one run reports every problem.

use std::time::Duration;

use super::diag::{Diagnostic, Diagnostics, Severity, did_you_mean};
use super::interpolate::Variables;
use super::yaml::{Kind, Node, Pos, Resolved};

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The decoding context for one file.
pub struct Cx<'d> {
    pub file: String,
    pub diags: &'d mut Diagnostics,
    /// The file's variables (`variables:` in fleet.yaml, the `.env` beside it), for
    /// `environment` entries written without a value. Scalars are already interpolated.
    pub vars: std::rc::Rc<Variables>,
}

impl<'d> Cx<'d> {
    pub fn new(file: impl Into<String>, diags: &'d mut Diagnostics) -> Self {
        Cx {
            file: file.into(),
            diags,
            vars: std::rc::Rc::default(),
        }
    }

    pub fn with_vars(mut self, vars: std::rc::Rc<Variables>) -> Self {
        self.vars = vars;
        self
    }

    pub fn report(
        &mut self,
        severity: Severity,
        pos: Pos,
        field: &str,
        message: impl Into<String>,
        expected: Option<String>,
        hint: Option<String>,
    ) {
        let file = self.diags.file_of(pos, &self.file);
        self.diags.push(Diagnostic {
            severity,
            file,
            line: pos.line,
            column: pos.col,
            field: field.to_string(),
            message: message.into(),
            expected,
            hint,
        });
    }

    pub fn error(&mut self, pos: Pos, field: &str, message: impl Into<String>, expected: &str) {
        let expected = (!expected.is_empty()).then(|| expected.to_string());
        self.report(Severity::Error, pos, field, message, expected, None);
    }

    pub fn error_hint(
        &mut self,
        pos: Pos,
        field: &str,
        message: impl Into<String>,
        expected: &str,
        hint: impl Into<String>,
    ) {
        let expected = (!expected.is_empty()).then(|| expected.to_string());
        self.report(
            Severity::Error,
            pos,
            field,
            message,
            expected,
            Some(hint.into()),
        );
    }

    pub fn warning(
        &mut self,
        pos: Pos,
        field: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.report(Severity::Warning, pos, field, message, None, hint);
    }

    pub fn wrong_type(&mut self, node: &Node, field: &str, expected: &str) {
        self.error(
            node.pos,
            field,
            format!("found {}", node.type_name()),
            expected,
        );
    }

    /// A mapping's entries with their keys as text. Non-scalar keys are reported and skipped.
    pub fn map<'n>(
        &mut self,
        field: &str,
        node: &'n Node,
        expected: &str,
    ) -> Option<Vec<(&'n str, &'n Node, &'n Node)>> {
        match &node.kind {
            Kind::Map(entries) => Some(
                entries
                    .iter()
                    .filter_map(|(k, v)| match k.scalar_text() {
                        Some(text) => Some((text, k, v)),
                        None => {
                            self.error(
                                k.pos,
                                field,
                                "a mapping key must be a plain value",
                                "a name",
                            );
                            None
                        }
                    })
                    .collect(),
            ),
            _ => {
                self.wrong_type(node, field, expected);
                None
            }
        }
    }

    pub fn seq<'n>(&mut self, field: &str, node: &'n Node, expected: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, field, expected);
                None
            }
        }
    }

    /// Reports a key the format does not have, suggesting the closest known one.
    pub fn unknown_key(&mut self, key: &Node, field: &str, name: &str, known: &[&str]) {
        let hint =
            did_you_mean(name, known.iter().copied()).map(|k| format!("did you mean `{k}`?"));
        let expected = format!("one of {}", known.join(", "));
        self.report(
            Severity::Error,
            key.pos,
            field,
            format!("unknown key `{name}`"),
            Some(expected),
            hint,
        );
    }

    /// Reports a value outside a closed set (`order: start_first`), suggesting the closest
    /// allowed one. `what` names the value in the message (`unknown order ...`).
    pub fn unknown_value(
        &mut self,
        pos: Pos,
        field: &str,
        what: &str,
        given: &str,
        allowed: &[&str],
    ) {
        let hint =
            did_you_mean(given, allowed.iter().copied()).map(|v| format!("did you mean `{v}`?"));
        let expected = match allowed {
            [] => String::new(),
            [one] => one.to_string(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        self.report(
            Severity::Error,
            pos,
            field,
            format!("unknown {what} `{given}`"),
            Some(expected),
            hint,
        );
    }

    /// A string written as a string (quoted or plain). Numbers and booleans are refused so that
    /// `image: 1.10` does not silently become "1.1".
    /// An interpolated scalar is a string whatever its text looks like, as in Compose.
    pub fn string(&mut self, field: &str, node: &Node) -> Option<String> {
        match node.resolve() {
            Some(Resolved::Str(s)) => Some(s.to_string()),
            Some(_) if node.is_interpolated() => node.scalar_text().map(str::to_string),
            _ => {
                self.wrong_type(node, field, "a string");
                None
            }
        }
    }

    /// Any scalar's text (numbers and booleans as written). Compose accepts these for
    /// environment and label values.
    pub fn text(&mut self, field: &str, node: &Node, expected: &str) -> Option<String> {
        match node.resolve() {
            Some(Resolved::Null) | None => {
                self.wrong_type(node, field, expected);
                None
            }
            Some(_) => node.scalar_text().map(str::to_string),
        }
    }

    pub fn bool(&mut self, field: &str, node: &Node) -> Option<bool> {
        match node.resolve() {
            Some(Resolved::Bool(b)) => Some(b),
            _ => {
                self.wrong_type(node, field, "true or false");
                None
            }
        }
    }

    /// A whole number within `min..=max`.
    pub fn int(&mut self, field: &str, node: &Node, min: i64, max: i64) -> Option<i64> {
        let expected = format!("a whole number from {min} to {max}");
        match node.resolve() {
            Some(Resolved::Int(n)) if (min..=max).contains(&n) => Some(n),
            Some(Resolved::Int(n)) => {
                self.error(node.pos, field, format!("{n} is out of range"), &expected);
                None
            }
            _ => {
                self.wrong_type(node, field, &expected);
                None
            }
        }
    }

    pub fn float(&mut self, field: &str, node: &Node, min: f64, max: f64) -> Option<f64> {
        let expected = format!("a number from {min} to {max}");
        let value = match node.resolve() {
            Some(Resolved::Int(n)) => n as f64,
            Some(Resolved::Float(f)) => f,
            _ => {
                self.wrong_type(node, field, &expected);
                return None;
            }
        };
        if value.is_finite() && (min..=max).contains(&value) {
            Some(value)
        } else {
            self.error(
                node.pos,
                field,
                format!("{value} is out of range"),
                &expected,
            );
            None
        }
    }

    /// A Compose duration such as `10s`, `1m30s` or `500ms`.
    pub fn duration(&mut self, field: &str, node: &Node) -> Option<Duration> {
        const EXPECTED: &str = "a duration such as 10s, 1m30s or 500ms (units us, ms, s, m, h)";
        let Some(text) = node.scalar_text().filter(|_| !node.is_null()) else {
            self.wrong_type(node, field, EXPECTED);
            return None;
        };
        match parse_duration(text) {
            Some(d) => Some(d),
            None => {
                let hint = text
                    .parse::<u64>()
                    .is_ok()
                    .then(|| format!("write `{text}s` for {text} seconds"));
                self.report(
                    Severity::Error,
                    node.pos,
                    field,
                    format!("`{text}` is not a duration"),
                    Some(EXPECTED.to_string()),
                    hint,
                );
                None
            }
        }
    }

    /// A byte size such as `512m`, `1g` or a plain number of bytes.
    pub fn size(&mut self, field: &str, node: &Node) -> Option<u64> {
        const EXPECTED: &str = "a size such as 512m, 1g or a number of bytes (units b, k, m, g)";
        if let Some(Resolved::Int(n)) = node.resolve() {
            if n > 0 {
                return Some(n as u64);
            }
        }
        let Some(text) = node.scalar_text().filter(|_| !node.is_null()) else {
            self.wrong_type(node, field, EXPECTED);
            return None;
        };
        match parse_size(text) {
            Some(n) if n > 0 => Some(n),
            _ => {
                self.error(node.pos, field, format!("`{text}` is not a size"), EXPECTED);
                None
            }
        }
    }

    /// A string or a list of strings, as Compose allows for many keys.
    pub fn string_or_list(&mut self, field: &str, node: &Node) -> Option<Vec<(String, Pos)>> {
        match &node.kind {
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = self.text(&index(field, i), item, "a string") {
                        out.push((s, item.pos));
                    }
                }
                Some(out)
            }
            _ => match node.resolve() {
                Some(Resolved::Str(s)) => Some(vec![(s.to_string(), node.pos)]),
                Some(_) if node.is_interpolated() => {
                    Some(vec![(node.scalar_text()?.to_string(), node.pos)])
                }
                _ => {
                    self.wrong_type(node, field, "a string or a list of strings");
                    None
                }
            },
        }
    }
}

/// Parses Go-style durations as Compose writes them: a sequence of number+unit pairs.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let part = number * seconds;
        if !part.is_finite() || part > 1e10 {
            return None;
        }
        total += Duration::from_secs_f64(part);
    }
    Some(total)
}

pub fn parse_size(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * factor;
    (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_compose_syntax() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("10x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn sizes_accept_compose_units() {
        assert_eq!(parse_size("512m"), Some(512 * 1024 * 1024));
        assert_eq!(parse_size("1G"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_size("1gb"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("12q"), None);
    }
}
