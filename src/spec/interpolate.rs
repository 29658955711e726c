//! Variable interpolation as Compose defines it (`$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alternative}`,
//! `${VAR+alternative}`, `$$` for a literal `$`, defaults nested inside defaults), applied to
//! every scalar value of a file before it is decoded.
//!
//! Values come only from the commit: `variables:` in fleet.yaml, then the `.env` file beside the
//! file being read. Never from the environment of the machine running fleet, so a commit means
//! the same everywhere. A variable without a value and without a default is an error at the
//! scalar that uses it.
//!
//! Values may be secrets: nothing here puts a value in a message (messages name variables), and
//! every substituted value is handed to [`Diagnostics::note_interpolated`] so that messages
//! written by later decoders about an interpolated scalar show what was written, not the value.

use std::collections::BTreeMap;

use super::decode::{index, join};
use super::diag::{Diagnostic, Diagnostics, Severity};
use super::yaml::{Kind, Node, Pos};

/// Where a file's variables come from, in order of precedence.
#[derive(Clone, Debug, Default)]
pub struct Variables {
    /// `variables:` in fleet.yaml; wins over `.env`.
    pub declared: BTreeMap<String, String>,
    /// The `.env` file beside the file being read.
    pub dotenv: BTreeMap<String, String>,
    /// The repository path of that `.env` file, for messages.
    pub dotenv_path: String,
}

impl Variables {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.declared
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }

    /// Where a value for `name` may be set, for hints.
    pub fn where_to_set(&self, name: &str) -> String {
        format!(
            "set `{name}` under `variables:` in fleet.yaml or in `{}` (the .env file beside this file); values never come from the environment of the machine running fleet",
            self.dotenv_path
        )
    }
}

/// Why a scalar could not be interpolated. Never holds a variable's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// `$VAR` or `${VAR}` with the variable not set (a warning: it reads as empty).
    Unset(String),
    /// `${VAR:?message}` / `${VAR?message}`: the message as written in the file.
    Required { name: String, message: String },
    /// Not a valid template: what is wrong.
    Invalid(&'static str),
}

/// The result of interpolating one scalar: the text, and the variables substituted with their
/// values (for the redaction of later messages).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub text: String,
    pub used: Vec<(String, String)>,
    /// Variables used without a default that are not set: each reads as the empty string, as
    /// in Compose, and is warned about.
    pub unset: Vec<String>,
}

/// Defaults nested deeper than this are refused, so hostile input cannot exhaust the stack.
const MAX_NESTING: usize = 32;

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Interpolates `text` with variables looked up in `vars`.
pub fn interpolate(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, Error> {
    let mut out = Interpolated::default();
    if !text.contains('$') {
        out.text = text.to_string();
        return Ok(out);
    }
    expand(text, vars, &mut out, 0)?;
    Ok(out)
}

fn expand(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    out: &mut Interpolated,
    depth: usize,
) -> Result<(), Error> {
    if depth > MAX_NESTING {
        return Err(Error::Invalid("defaults nested more than 32 levels deep"));
    }
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(next) = after.chars().next() else {
            // A `$` at the end is kept, as Compose keeps it.
            out.text.push('$');
            rest = after;
            break;
        };
        if next == '$' {
            out.text.push('$');
            rest = &after[1..];
        } else if is_name_start(next) {
            let len = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
            let name = &after[..len];
            substitute(name, vars(name), out)?;
            rest = &after[len..];
        } else if next == '{' {
            let body = &after[1..];
            let end = closing_brace(body).ok_or(Error::Invalid("`${` without its closing `}`"))?;
            braced(&body[..end], vars, out, depth)?;
            rest = &body[end + 1..];
        } else {
            // Compose keeps a `$` that starts no substitution (`$(date)`, `$ 1`) as it is.
            out.text.push('$');
            rest = after;
        }
    }
    out.text.push_str(rest);
    Ok(())
}

fn substitute(name: &str, value: Option<String>, out: &mut Interpolated) -> Result<(), Error> {
    match value {
        Some(v) => {
            out.text.push_str(&v);
            out.used.push((name.to_string(), v));
            Ok(())
        }
        None => {
            if !out.unset.iter().any(|n| n == name) {
                out.unset.push(name.to_string());
            }
            Ok(())
        }
    }
}

/// The index of the `}` closing a `${`, counting nested `${ ... }` and skipping `$$`.
fn closing_brace(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(
    body: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    out: &mut Interpolated,
    depth: usize,
) -> Result<(), Error> {
    let len = body.find(|c| !is_name_char(c)).unwrap_or(body.len());
    let name = &body[..len];
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(Error::Invalid(
            "`${` must be followed by a variable name (letters, digits and `_`, not starting with a digit)",
        ));
    }
    let op = &body[len..];
    let value = vars(name);
    let (colon, op) = match op.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, op),
    };
    if op.is_empty() && !colon {
        return substitute(name, value, out);
    }
    let mut chars = op.chars();
    let kind = chars.next();
    let arg = chars.as_str();
    // With `:`, an empty value counts as unset; without, only an absent one.
    let set = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match kind {
        Some('-') => {
            if set {
                substitute(name, value, out)
            } else {
                expand(arg, vars, out, depth + 1)
            }
        }
        Some('?') => {
            if set {
                substitute(name, value, out)
            } else {
                Err(Error::Required {
                    name: name.to_string(),
                    message: arg.to_string(),
                })
            }
        }
        Some('+') => {
            if set {
                // The variable's value is not written, but it decided the result.
                expand(arg, vars, out, depth + 1)
            } else {
                Ok(())
            }
        }
        _ => Err(Error::Invalid(
            "after the variable name, `${` takes `}`, `:-`, `-`, `:?`, `?`, `:+` or `+`",
        )),
    }
}

/// What an error says, naming the variable and never a value.
fn describe(error: &Error, vars: &Variables) -> (String, Option<String>) {
    match error {
        Error::Unset(name) => (
            format!("variable `{name}` is not set: it reads as the empty string, as in Compose"),
            Some(format!(
                "{}; or give a default (`${{{name}:-value}}`), or make it required (`${{{name}:?why}}`)",
                vars.where_to_set(name)
            )),
        ),
        Error::Required { name, message } => (
            if message.is_empty() {
                format!("variable `{name}` is required and not set")
            } else {
                format!("variable `{name}` is required and not set: {message}")
            },
            Some(vars.where_to_set(name)),
        ),
        Error::Invalid(why) => (format!("invalid interpolation: {why}"), None),
    }
}

/// Interpolates every scalar value (not keys) of a parsed file in place, reporting each
/// problem at its scalar. `skip_root_key` is a top-level key left as written (fleet.yaml's
/// `variables`).
pub fn interpolate_tree(
    file: &str,
    root: &mut Node,
    vars: &Variables,
    skip_root_key: Option<&str>,
    diags: &mut Diagnostics,
) {
    let lookup = |name: &str| vars.get(name).map(str::to_string);
    let mut walker = Walker {
        file,
        vars,
        lookup: &lookup,
        diags,
    };
    match &mut root.kind {
        Kind::Map(entries) => {
            for (k, v) in entries {
                let key = k.scalar_text().unwrap_or("").to_string();
                if skip_root_key == Some(key.as_str()) {
                    continue;
                }
                walker.walk(&key, v);
            }
        }
        _ => walker.walk("", root),
    }
}

struct Walker<'a> {
    file: &'a str,
    vars: &'a Variables,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    diags: &'a mut Diagnostics,
}

impl Walker<'_> {
    fn walk(&mut self, field: &str, node: &mut Node) {
        let pos = node.pos;
        match &mut node.kind {
            Kind::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.walk(&index(field, i), item);
                }
            }
            Kind::Map(entries) => {
                for (k, v) in entries {
                    let f = join(field, k.scalar_text().unwrap_or("?"));
                    self.walk(&f, v);
                }
            }
            Kind::Scalar {
                text, interpolated, ..
            } => {
                if !text.contains('$') {
                    return;
                }
                match interpolate(text, self.lookup) {
                    Ok(done) => {
                        if done.text != *text {
                            self.diags.note_interpolated(
                                self.file,
                                pos,
                                text.clone(),
                                done.text.clone(),
                                done.used.clone(),
                            );
                        }
                        // Substituted, even by an empty default: typed by its text, and never null.
                        *interpolated =
                            *interpolated || !done.used.is_empty() || done.text != *text;
                        *text = done.text;
                        for name in &done.unset {
                            let warning = self.diagnostic(
                                Severity::Warning,
                                pos,
                                field,
                                &Error::Unset(name.clone()),
                            );
                            self.diags.push(warning);
                        }
                    }
                    Err(e) => self.error(pos, field, &e),
                }
            }
        }
    }

    fn error(&mut self, pos: Pos, field: &str, e: &Error) {
        let error = self.diagnostic(Severity::Error, pos, field, e);
        self.diags.push_superseding(error);
    }

    fn diagnostic(&self, severity: Severity, pos: Pos, field: &str, e: &Error) -> Diagnostic {
        let (message, hint) = describe(e, self.vars);
        Diagnostic {
            severity,
            file: self.file.to_string(),
            line: pos.line,
            column: pos.col,
            field: field.to_string(),
            message,
            expected: None,
            hint,
        }
    }
}

/// A value for an `environment` entry written without one (`- FOO`, `FOO:`), from the same
/// sources as interpolation; `None` when it has none.
pub fn env_value(vars: &Variables, name: &str) -> Option<String> {
    vars.get(name).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, vars: &[(&str, &str)]) -> Result<String, Error> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // An unset variable is reported beside the text; here as the error form, so the
        // table below says which templates read an unset variable.
        match interpolate(text, &|n| map.get(n).cloned()) {
            Ok(done) if !done.unset.is_empty() => Err(Error::Unset(done.unset[0].clone())),
            other => other.map(|i| i.text),
        }
    }

    #[test]
    fn an_unset_variable_reads_as_empty_and_is_named() {
        let done = interpolate("a${X}b$Y${Z:-z}", &|_| None).unwrap();
        assert_eq!(done.text, "abz");
        assert_eq!(done.unset, ["X", "Y"]);
    }

    type Outcome = Result<String, Error>;

    fn unset(name: &str) -> Result<String, Error> {
        Err(Error::Unset(name.into()))
    }

    #[test]
    fn every_compose_form_follows_set_unset_and_empty() {
        let set = [("V", "val")];
        let empty = [("V", "")];
        let none: [(&str, &str); 0] = [];
        // (template, when set, when empty, when unset)
        let table: &[(&str, Outcome, Outcome, Outcome)] = &[
            ("$V", Ok("val".into()), Ok("".into()), unset("V")),
            ("${V}", Ok("val".into()), Ok("".into()), unset("V")),
            ("${V:-d}", Ok("val".into()), Ok("d".into()), Ok("d".into())),
            ("${V-d}", Ok("val".into()), Ok("".into()), Ok("d".into())),
            (
                "${V:?need it}",
                Ok("val".into()),
                Err(Error::Required {
                    name: "V".into(),
                    message: "need it".into(),
                }),
                Err(Error::Required {
                    name: "V".into(),
                    message: "need it".into(),
                }),
            ),
            (
                "${V?need it}",
                Ok("val".into()),
                Ok("".into()),
                Err(Error::Required {
                    name: "V".into(),
                    message: "need it".into(),
                }),
            ),
            ("${V:+alt}", Ok("alt".into()), Ok("".into()), Ok("".into())),
            (
                "${V+alt}",
                Ok("alt".into()),
                Ok("alt".into()),
                Ok("".into()),
            ),
            (
                "a-$V-b",
                Ok("a-val-b".into()),
                Ok("a--b".into()),
                unset("V"),
            ),
            ("$$V", Ok("$V".into()), Ok("$V".into()), Ok("$V".into())),
            (
                "$${V}",
                Ok("${V}".into()),
                Ok("${V}".into()),
                Ok("${V}".into()),
            ),
        ];
        for (template, s, e, u) in table {
            assert_eq!(&run(template, &set), s, "{template} with V set");
            assert_eq!(&run(template, &empty), e, "{template} with V empty");
            assert_eq!(&run(template, &none), u, "{template} with V unset");
        }
    }

    #[test]
    fn defaults_nest_and_are_only_expanded_when_used() {
        assert_eq!(run("${A:-${B:-x}}", &[]), Ok("x".into()));
        assert_eq!(run("${A:-${B:-x}}", &[("B", "b")]), Ok("b".into()));
        assert_eq!(run("${A:-${B}}", &[("A", "a")]), Ok("a".into()));
        assert_eq!(run("${A:-${B}}", &[]), unset("B"));
        assert_eq!(run("${A:-x}:${B:-y}", &[]), Ok("x:y".into()));
        assert_eq!(run("${A:-a}}", &[]), Ok("a}".into()));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let text = format!("{}x{}", "${A:-".repeat(100_000), "}".repeat(100_000));
        assert!(matches!(run(&text, &[]), Err(Error::Invalid(_))));
        assert_eq!(run("${A:-${B:-${C:-x}}}", &[]), Ok("x".into()));
    }

    #[test]
    fn invalid_templates_are_errors() {
        for t in ["${", "${A", "${}", "${1A}", "${A:x}", "${A B}"] {
            assert!(
                matches!(run(t, &[("A", "1")]), Err(Error::Invalid(_))),
                "{t}: {:?}",
                run(t, &[("A", "1")])
            );
        }
    }

    #[test]
    fn a_dollar_that_starts_no_substitution_is_kept_as_compose_keeps_it() {
        for t in ["$", "a $1", "echo $(seq 1 3)", "cost: 5 $", "$-x"] {
            assert_eq!(run(t, &[("A", "1")]), Ok(t.to_string()), "{t}");
        }
        assert_eq!(run("$(x) $A $$", &[("A", "1")]), Ok("$(x) 1 $".into()));
    }

    #[test]
    fn substituted_values_are_recorded_for_redaction() {
        let got = interpolate("${A}-${B:-x}", &|n| {
            (n == "A").then(|| "s3cret".to_string())
        })
        .unwrap();
        assert_eq!(got.used, vec![("A".to_string(), "s3cret".to_string())]);
    }

    #[test]
    fn messages_name_the_variable_never_its_value() {
        let vars = Variables {
            dotenv_path: ".env".into(),
            ..Variables::default()
        };
        let (message, hint) = describe(&Error::Unset("DB_PASSWORD".into()), &vars);
        assert_eq!(
            message,
            "variable `DB_PASSWORD` is not set: it reads as the empty string, as in Compose"
        );
        assert!(hint.unwrap().contains("`variables:` in fleet.yaml"));
    }
}
