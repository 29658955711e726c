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
        self.items
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

/// The best "did you mean" candidate among `known`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(given, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}
