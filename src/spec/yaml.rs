//! A YAML document as a tree in which every node knows where it was written.
//!
//! This module owns turning text into [`Node`]s: anchors and aliases are expanded, merge keys
//! (`<<`) are applied, and plain scalars keep their "plain" flag so the decoder can resolve
//! `true`, `42` or `null` the way YAML 1.2's core schema does. It knows nothing of fleet's format.
//! It must never panic or recurse without bound on hostile input: nesting depth and alias
//! expansion are both capped.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deeper nesting than this is refused; no real configuration comes close.
const MAX_DEPTH: usize = 128;
/// Alias expansion beyond this many nodes is refused (the "billion laughs" guard).
const MAX_NODES: usize = 1_000_000;

/// 1-based line and column, in the file being decoded, or, when `file` is not 0, in another
/// file registered with [`crate::spec::diag::Diagnostics::source`] (a service `extends` one in
/// another file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
    pub file: u16,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

impl Pos {
    fn from_span(span: &Span) -> Pos {
        Pos {
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
            col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
            file: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar as written. `plain` is false for quoted and block scalars and for `!!str`,
    /// which are always strings. `interpolated` is true once a variable was substituted into
    /// it (see `spec::interpolate`): its type is then decided by its text, as Compose does
    /// after interpolation, whatever its quoting, and it is never null.
    Scalar {
        text: String,
        plain: bool,
        interpolated: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// The value of a scalar under YAML 1.2's core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Node {
    pub fn resolve(&self) -> Option<Resolved<'_>> {
        match &self.kind {
            Kind::Scalar {
                text,
                interpolated: true,
                ..
            } => match resolve_plain(text) {
                Resolved::Null => Some(Resolved::Str(text)),
                resolved => Some(resolved),
            },
            Kind::Scalar {
                text, plain: false, ..
            } => Some(Resolved::Str(text)),
            Kind::Scalar {
                text, plain: true, ..
            } => Some(resolve_plain(text)),
            _ => None,
        }
    }

    /// Whether a variable was substituted into this scalar.
    pub fn is_interpolated(&self) -> bool {
        matches!(
            self.kind,
            Kind::Scalar {
                interpolated: true,
                ..
            }
        )
    }

    pub fn is_null(&self) -> bool {
        matches!(self.resolve(), Some(Resolved::Null))
    }

    /// What a user would call this node's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Scalar { .. } => match self.resolve() {
                Some(Resolved::Null) => "nothing (null)",
                Some(Resolved::Bool(_)) => "a boolean",
                Some(Resolved::Int(_)) => "an integer",
                Some(Resolved::Float(_)) => "a number",
                _ => "a string",
            },
        }
    }

    /// The scalar's text whatever its resolved type: map keys and label values are strings
    /// even when they look like numbers.
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    fn size(&self) -> usize {
        match &self.kind {
            Kind::Scalar { .. } => 1,
            Kind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Kind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }
}

fn resolve_plain(text: &str) -> Resolved<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(n) = i64::from_str_radix(hex, 16) {
            return Resolved::Int(n);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(n) = i64::from_str_radix(oct, 8) {
            return Resolved::Int(n);
        }
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Resolved::Int(n);
        }
    }
    let looks_numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_numeric {
        if let Ok(f) = text.parse::<f64>() {
            return Resolved::Float(f);
        }
    }
    Resolved::Str(text)
}

/// A problem that makes the text unreadable as YAML, or that YAML itself forbids.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// The result of parsing one file: the root node (None for an empty file) and every problem
/// found. Syntax errors stop parsing; duplicate keys and bad merges do not.
#[derive(Debug, Default)]
pub struct Parsed {
    pub root: Option<Node>,
    pub errors: Vec<SyntaxError>,
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// At most this many closing brackets are moved (see [`parse`]).
const MAX_BRACKET_FIXES: usize = 256;

/// Parses one YAML document.
///
/// A flow collection closed on a line of its own at its key's indentation
/// (`command: [` ... `]`) is valid YAML as go-yaml, PyYAML and `docker compose` read it, but
/// saphyr-parser (0.3.4, the newest) requires flow content to be indented past the key and
/// fails with "invalid indentation" at the bracket. When it fails exactly so, at a `]` or `}`
/// that starts its line, that line is indented by one space and the text parsed again. The
/// bracket carries no value and nothing else on other lines moves, so every position stays
/// true; block scalars are never touched, as the parser only fails there on real brackets.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = parse_once(text);
    let mut current = std::borrow::Cow::Borrowed(text);
    for _ in 0..MAX_BRACKET_FIXES {
        let Some(line) = closing_bracket_to_indent(&current, &parsed) else {
            break;
        };
        let mut next = String::with_capacity(current.len() + 1);
        for (i, l) in current.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                next.push(' ');
            }
            next.push_str(l);
        }
        let again = parse_once(&next);
        if again
            .errors
            .first()
            .is_some_and(|e| usize::try_from(e.pos.line).ok() == Some(line))
        {
            // Moving the bracket did not help: report the original error.
            break;
        }
        parsed = again;
        current = std::borrow::Cow::Owned(next);
    }
    parsed
}

/// The 1-based line of a closing bracket that saphyr-parser refused only for its indentation.
fn closing_bracket_to_indent(text: &str, parsed: &Parsed) -> Option<usize> {
    let [error] = parsed.errors.as_slice() else {
        return None;
    };
    if error.message != "invalid indentation" {
        return None;
    }
    let line = text
        .lines()
        .nth(usize::try_from(error.pos.line).ok()?.checked_sub(1)?)?;
    let col = usize::try_from(error.pos.col).ok()?.checked_sub(1)?;
    let mut chars = line.chars();
    let before_is_indent = chars.by_ref().take(col).all(|c| c == ' ');
    let at_bracket = matches!(chars.next(), Some(']' | '}'));
    if before_is_indent && at_bracket {
        usize::try_from(error.pos.line).ok()
    } else {
        None
    }
}

fn parse_once(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut expanded = 0usize;
    let mut documents = 0usize;

    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(pair) => pair,
            Err(e) => {
                out.errors.push(SyntaxError {
                    pos: Pos {
                        line: u32::try_from(e.marker().line()).unwrap_or(u32::MAX),
                        col: u32::try_from(e.marker().col() + 1).unwrap_or(u32::MAX),
                        file: 0,
                    },
                    message: e.info().to_string(),
                });
                return out;
            }
        };
        let pos = Pos::from_span(&span);
        let is_seq = matches!(event, Event::SequenceStart(..));
        let complete = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    out.errors.push(SyntaxError {
                        pos,
                        message: "a second YAML document (`---`) in one file; fleet reads one document per file".into(),
                    });
                    return out;
                }
                continue;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let plain = match tag.as_deref() {
                    None => plain,
                    Some(t) if t.handle == "tag:yaml.org,2002:" || t.handle == "!!" => {
                        if t.suffix == "str" { false } else { plain }
                    }
                    Some(t) => {
                        out.errors.push(SyntaxError {
                            pos,
                            message: format!(
                                "the YAML tag `{}{}` is not supported; remove it",
                                t.handle, t.suffix
                            ),
                        });
                        plain
                    }
                };
                let node = Node {
                    pos,
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        plain,
                        interpolated: false,
                    },
                };
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => {
                    expanded = expanded.saturating_add(node.size());
                    if expanded > MAX_NODES {
                        out.errors.push(SyntaxError {
                            pos,
                            message: format!(
                                "aliases expand to more than {MAX_NODES} nodes; refusing to expand further"
                            ),
                        });
                        return out;
                    }
                    let mut node = node.clone();
                    node.pos = pos;
                    node
                }
                None => {
                    out.errors.push(SyntaxError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                    });
                    return out;
                }
            },
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if let Some(t) = tag.as_deref() {
                    if !(t.handle == "!!" || t.handle == "tag:yaml.org,2002:") {
                        out.errors.push(SyntaxError {
                            pos,
                            message: format!(
                                "the YAML tag `{}{}` is not supported; remove it",
                                t.handle, t.suffix
                            ),
                        });
                    }
                }
                if stack.len() >= MAX_DEPTH {
                    out.errors.push(SyntaxError {
                        pos,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                    return out;
                }
                stack.push(if is_seq {
                    Frame::Seq {
                        pos,
                        anchor,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        pos,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                    }
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => {
                    let node = Node {
                        pos,
                        kind: Kind::Seq(items),
                    };
                    if anchor > 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    node
                }
                _ => continue,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => {
                    let node = Node {
                        pos,
                        kind: Kind::Map(finish_map(entries, &mut out.errors)),
                    };
                    if anchor > 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    node
                }
                _ => continue,
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                continue;
            }
        };
        attach(&mut stack, &mut out.root, complete);
    }
    out
}

fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map { entries, key, .. }) => match key.take() {
            None => *key = Some(node),
            Some(k) => entries.push((k, node)),
        },
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { text, plain: true, .. } if text == "<<")
}

/// Applies merge keys and reports duplicate keys. Explicit keys win over merged ones, and
/// earlier merge sources win over later ones, as the YAML merge-key spec says.
fn finish_map(entries: Vec<(Node, Node)>, errors: &mut Vec<SyntaxError>) -> Vec<(Node, Node)> {
    let mut explicit: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (key, value) in entries {
        if is_merge_key(&key) {
            let sources: Vec<Node> = match value.kind {
                Kind::Map(_) => vec![value],
                Kind::Seq(items) => items,
                _ => {
                    errors.push(SyntaxError {
                        pos: value.pos,
                        message: "a merge key `<<` takes a mapping or a list of mappings".into(),
                    });
                    continue;
                }
            };
            for source in sources {
                match source.kind {
                    Kind::Map(pairs) => {
                        for (k, v) in pairs {
                            if !merged.iter().any(|(m, _)| same_key(m, &k)) {
                                merged.push((k, v));
                            }
                        }
                    }
                    _ => errors.push(SyntaxError {
                        pos: source.pos,
                        message: "a merge key `<<` takes a mapping or a list of mappings".into(),
                    }),
                }
            }
            continue;
        }
        if let Some((first, _)) = explicit.iter().find(|(k, _)| same_key(k, &key)) {
            errors.push(SyntaxError {
                pos: key.pos,
                message: format!(
                    "duplicate key `{}` (first written at line {})",
                    key.scalar_text().unwrap_or("?"),
                    first.pos.line
                ),
            });
            continue;
        }
        explicit.push((key, value));
    }
    for (k, v) in merged {
        if !explicit.iter().any(|(e, _)| same_key(e, &k)) {
            explicit.push((k, v));
        }
    }
    explicit
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Scalar { text: x, .. }, Kind::Scalar { text: y, .. }) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let parsed = parse(text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.root.expect("a root node")
    }

    #[test]
    fn positions_are_one_based_line_and_column() {
        let node = root("a:\n  b: 1\n");
        let Kind::Map(entries) = &node.kind else {
            panic!("map expected")
        };
        let (_, inner) = &entries[0];
        let Kind::Map(inner) = &inner.kind else {
            panic!("map expected")
        };
        assert_eq!(
            inner[0].0.pos,
            Pos {
                line: 2,
                col: 3,
                file: 0
            }
        );
        assert_eq!(
            inner[0].1.pos,
            Pos {
                line: 2,
                col: 6,
                file: 0
            }
        );
    }

    #[test]
    fn plain_scalars_resolve_by_core_schema_and_quoted_stay_strings() {
        let node = root("[1, '1', true, \"true\", ~, 1.5, 0x10, abc]");
        let Kind::Seq(items) = &node.kind else {
            panic!("seq expected")
        };
        let got: Vec<_> = items.iter().map(|n| n.resolve().unwrap()).collect();
        assert_eq!(
            got,
            vec![
                Resolved::Int(1),
                Resolved::Str("1"),
                Resolved::Bool(true),
                Resolved::Str("true"),
                Resolved::Null,
                Resolved::Float(1.5),
                Resolved::Int(16),
                Resolved::Str("abc"),
            ]
        );
    }

    #[test]
    fn merge_keys_fill_in_without_overriding_explicit_keys() {
        let node = root("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n");
        let Kind::Map(entries) = &node.kind else {
            panic!()
        };
        let Kind::Map(used) = &entries[1].1.kind else {
            panic!()
        };
        let pairs: Vec<_> = used
            .iter()
            .map(|(k, v)| (k.scalar_text().unwrap(), v.scalar_text().unwrap()))
            .collect();
        assert_eq!(pairs, vec![("y", "3"), ("x", "1")]);
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_lines() {
        let parsed = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(
            parsed.errors,
            vec![SyntaxError {
                pos: Pos {
                    line: 3,
                    col: 1,
                    file: 0
                },
                message: "duplicate key `a` (first written at line 1)".into()
            }]
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let parsed = parse(&text);
        assert!(
            parsed.errors[0].message.contains("aliases expand"),
            "{:?}",
            parsed.errors
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let text = "[".repeat(100_000);
        let parsed = parse(&text);
        assert!(!parsed.errors.is_empty());
    }

    #[test]
    fn a_flow_collection_closed_at_its_keys_indentation_is_valid() {
        let node =
            root("a:\n  b: [\n    1, 2\n  ]\n  c: {\n    d: e\n  }\n  f: [[\n    1\n  ]\n  ]\n");
        let Kind::Map(entries) = &node.kind else {
            panic!()
        };
        let Kind::Map(inner) = &entries[0].1.kind else {
            panic!()
        };
        assert!(matches!(&inner[0].1.kind, Kind::Seq(items) if items.len() == 2));
        assert_eq!(
            inner[0].1.pos,
            Pos {
                line: 2,
                col: 6,
                file: 0
            }
        );
        assert!(matches!(&inner[1].1.kind, Kind::Map(e) if e.len() == 1));
        assert_eq!(
            inner[1].1.pos,
            Pos {
                line: 5,
                col: 6,
                file: 0
            }
        );
        assert!(matches!(&inner[2].1.kind, Kind::Seq(items) if items.len() == 1));
    }

    #[test]
    fn a_bracket_left_of_its_key_is_still_an_error_and_block_scalars_are_untouched() {
        let parsed = parse("a:\n  b: [\n    1\n]\n");
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        let node = root("a: |\n  x\n  ]\nb: [\n  1\n]\n");
        let Kind::Map(entries) = &node.kind else {
            panic!()
        };
        assert_eq!(entries[0].1.scalar_text(), Some("x\n]\n"));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let parsed = parse("a: [1, 2\nb: c\n");
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].pos.line >= 1);
    }
}
