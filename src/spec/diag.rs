//! Diagnostics: what is wrong with the desired state, where, and what would be right.
//!
//! Every problem found while loading is collected here instead of stopping at the first, so one
//! `fleet validate` run shows them all. Rendering to text or JSON happens in the CLI layer.

use std::fmt;

use serde::Serialize;

use super::yaml::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Path of the file relative to the project root, as the user wrote it.
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// Dotted path of the field, e.g. `services.web.deploy.replicas`; empty for the document.
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.column,
            file: 0,
        }
    }
}

/// `file:line:col: error: field: message; expected ...` on one line, and the hint on the next.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": {severity}: ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(expected) = &self.expected {
            write!(f, "; expected {expected}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one load. Decoding code reports through this and carries on.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    /// Interpolated scalars, so that no message shows a variable's value (values may be
    /// secrets): see [`Diagnostics::note_interpolated`].
    interpolated: Vec<Interpolated>,
    /// Diagnostics that say all there is to say about their place: any other at the same
    /// file, line and column is dropped (a scalar that could not be interpolated is not
    /// also misread by the decoders after).
    superseding: Vec<usize>,
    /// Files other than the one being decoded that positions may point into (`Pos::file` is
    /// an index into this, plus one).
    sources: Vec<String>,
}

#[derive(Debug)]
struct Interpolated {
    file: String,
    pos: Pos,
    written: String,
    result: String,
    used: Vec<(String, String)>,
}

/// Values this long are replaced in every message, wherever it points; shorter ones only in
/// messages about the scalar they were substituted into (a 2-character value would otherwise
/// mangle unrelated words).
const REDACT_EVERYWHERE_LEN: usize = 6;
const REDACT_AT_SCALAR_LEN: usize = 2;

impl Diagnostics {
    /// The `Pos::file` number of `file`, registered on first use.
    pub fn source(&mut self, file: &str) -> u16 {
        let i = match self.sources.iter().position(|f| f == file) {
            Some(i) => i,
            None => {
                self.sources.push(file.to_string());
                self.sources.len() - 1
            }
        };
        u16::try_from(i + 1).unwrap_or(u16::MAX)
    }

    /// The file a position is in, given the file being decoded.
    pub fn file_of(&self, pos: Pos, decoding: &str) -> String {
        match pos.file {
            0 => decoding.to_string(),
            n => self
                .sources
                .get(usize::from(n) - 1)
                .cloned()
                .unwrap_or_else(|| decoding.to_string()),
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Pushes a diagnostic that replaces every other one at the same place.
    pub fn push_superseding(&mut self, diagnostic: Diagnostic) {
        self.superseding.push(self.items.len());
        self.items.push(diagnostic);
    }

    fn drop_superseded(&mut self) {
        if self.superseding.is_empty() {
            return;
        }
        let places: Vec<(String, u32, u32)> = self
            .superseding
            .iter()
            .map(|&i| {
                let d = &self.items[i];
                (d.file.clone(), d.line, d.column)
            })
            .collect();
        let mut i = 0;
        self.items.retain(|d| {
            let keep = self.superseding.contains(&i)
                || !places
                    .iter()
                    .any(|(f, l, c)| *f == d.file && *l == d.line && *c == d.column);
            i += 1;
            keep
        });
        self.superseding.clear();
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Records that the scalar at `file`:`pos`, written `written`, was interpolated into
    /// `result` with the variables `used` (name, value). Messages are then rewritten, when
    /// taken out, to show what was written and variable names instead of values.
    pub fn note_interpolated(
        &mut self,
        file: &str,
        pos: Pos,
        written: String,
        result: String,
        used: Vec<(String, String)>,
    ) {
        self.interpolated.push(Interpolated {
            file: file.to_string(),
            pos,
            written,
            result,
            used,
        });
    }

    fn redact(&mut self) {
        if self.interpolated.is_empty() {
            return;
        }
        let mut everywhere: Vec<(&str, &str)> = Vec::new();
        for i in &self.interpolated {
            for (name, value) in &i.used {
                if value.len() >= REDACT_EVERYWHERE_LEN {
                    everywhere.push((name, value));
                }
            }
        }
        everywhere.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        for d in &mut self.items {
            let mut texts: Vec<&mut String> = vec![&mut d.message];
            if let Some(h) = &mut d.hint {
                texts.push(h);
            }
            for i in &self.interpolated {
                if i.file != d.file || i.pos.line != d.line || i.pos.col != d.column {
                    continue;
                }
                let mut values: Vec<&(String, String)> = i
                    .used
                    .iter()
                    .filter(|(_, v)| v.len() >= REDACT_AT_SCALAR_LEN)
                    .collect();
                values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
                for t in texts.iter_mut() {
                    if !i.used.is_empty()
                        && i.result.len() >= REDACT_AT_SCALAR_LEN
                        && t.contains(&i.result)
                    {
                        **t = t.replace(&i.result, &i.written);
                    }
                    for (name, value) in &values {
                        if t.contains(value.as_str()) {
                            **t = replace_outside_templates(t, value, name);
                        }
                    }
                }
            }
            for t in texts.iter_mut() {
                for (name, value) in &everywhere {
                    if t.contains(value) {
                        **t = replace_outside_templates(t, value, name);
                    }
                }
            }
        }
    }

    /// Sorted by file, then position, so output is stable and reads top to bottom.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.drop_superseded();
        self.redact();
        self.items.sort_by(|a, b| {
            (&a.file, a.line, a.column, a.severity).cmp(&(&b.file, b.line, b.column, b.severity))
        });
        self.items.dedup();
        merge_shared(self.items)
    }
}

/// Replaces `value` by `${name}`, leaving text inside `${...}` (what was written) alone.
fn replace_outside_templates(text: &str, value: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let (plain, template) = match rest.find("${") {
            Some(at) => {
                let end = rest[at..].find('}').map_or(rest.len(), |e| at + e + 1);
                (&rest[..at], &rest[at..end])
            }
            None => (rest, ""),
        };
        out.push_str(&plain.replace(value, &format!("${{{name}}}")));
        out.push_str(template);
        rest = &rest[plain.len() + template.len()..];
    }
    out
}

/// One diagnostic per source location: a problem in a block that several services share
/// (`<<: *defaults`, an alias) is found once per service, at the same file, line and column.
/// Those are reported once, with the first one's field, naming every user: `(in services a, b)`.
fn merge_shared(items: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(items.len());
    let mut fields: Vec<Vec<String>> = Vec::with_capacity(items.len());
    for d in items {
        let same = out.iter().rposition(|o| {
            d.line > 0
                && (&o.file, o.line, o.column, o.severity)
                    == (&d.file, d.line, d.column, d.severity)
                && (&o.message, &o.expected, &o.hint) == (&d.message, &d.expected, &d.hint)
        });
        match same {
            Some(i) => fields[i].push(d.field),
            None => {
                fields.push(vec![d.field.clone()]);
                out.push(d);
            }
        }
    }
    for (d, fields) in out.iter_mut().zip(fields) {
        if let Some((section, users)) = users(&fields) {
            d.message = format!("{} (in {section} {})", d.message, users.join(", "));
        }
    }
    out
}

/// `services.a.x.y` and `services.b.x.y` → ("services", ["a", "b"]): the top-level section and
/// what differs between the fields, when that is one name each (names may hold dots).
fn users(fields: &[String]) -> Option<(&str, Vec<&str>)> {
    if fields.len() < 2 {
        return None;
    }
    let (section, _) = fields[0].split_once('.')?;
    let rests = fields
        .iter()
        .map(|f| f.strip_prefix(section)?.strip_prefix('.'))
        .collect::<Option<Vec<&str>>>()?;
    // The longest common tail that starts at a `.` (or is empty).
    let mut tail = rests[0].find('.').map_or("", |i| &rests[0][i..]);
    for r in &rests[1..] {
        while !r.ends_with(tail) {
            tail = match tail[1..].find('.') {
                Some(i) => &tail[i + 1..],
                None => "",
            };
        }
    }
    let names: Vec<&str> = rests.iter().map(|r| &r[..r.len() - tail.len()]).collect();
    let names_ok = names.iter().all(|n| !n.is_empty() && !n.contains('['));
    names_ok.then_some((section, names))
}

/// The best "did you mean" candidate among `known`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(given, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, field: &str, message: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: "fleet.yaml".into(),
            line,
            column: 5,
            field: field.into(),
            message: message.into(),
            expected: None,
            hint: None,
        }
    }

    #[test]
    fn a_problem_in_a_shared_block_is_reported_once_naming_its_users() {
        let mut diags = Diagnostics::default();
        for service in ["web", "api.v2", "worker"] {
            diags.push(at(
                3,
                &format!("services.{service}.healthcheck.retries"),
                "too many",
            ));
        }
        diags.push(at(3, "services.web.healthcheck.retries", "another problem"));
        diags.push(at(9, "services.web.image", "too many"));
        let out = diags.into_sorted();
        let text: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "fleet.yaml:3:5: error: services.web.healthcheck.retries: too many (in services web, api.v2, worker)",
                "fleet.yaml:3:5: error: services.web.healthcheck.retries: another problem",
                "fleet.yaml:9:5: error: services.web.image: too many",
            ]
        );
    }
}
