//! Rendering a [`Plan`] for people (text, Markdown) and machines (JSON).
//!
//! Pure functions from a plan to a string. Secret-looking environment values are masked here,
//! in every format, so they never reach a terminal, a CI log or a pull-request comment.

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::plan::{Action, BalancerAction, BalancerChange, Change, FieldDiff, Plan};

pub use crate::contract::is_secret_name;

const MASK: &str = "(sensitive)";

fn masked_value(field: &str, value: &Value) -> Value {
    match field.strip_prefix("environment.") {
        Some(name) if is_secret_name(name) => Value::String(MASK.into()),
        _ if field == "environment" => match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            if is_secret_name(k) {
                                Value::String(MASK.into())
                            } else {
                                v.clone()
                            },
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        },
        _ => value.clone(),
    }
}

/// The desired state as plain data, with secret-looking environment values masked: what
/// `fleet config` prints and `fleet validate --format json` includes.
pub fn desired(desired: &crate::spec::Desired) -> Value {
    let mut value = serde_json::to_value(desired).unwrap_or(Value::Null);
    if let Some(Value::Object(services)) = value.get_mut("services") {
        for service in services.values_mut() {
            if let Some(Value::Object(env)) = service.get_mut("environment") {
                for (k, v) in env.iter_mut() {
                    if is_secret_name(k) {
                        *v = Value::String(MASK.into());
                    }
                }
            }
        }
    }
    value
}

/// A value as block-style YAML (strings quoted whenever YAML could read them as something
/// else, in JSON's syntax, which YAML reads too).
pub fn yaml(value: &Value) -> String {
    let mut out = String::new();
    yaml_into(&mut out, value, 0);
    out
}

fn yaml_into(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                out.push_str(&format!("{pad}{}:", yaml_scalar(key)));
                yaml_after_key(out, v, indent);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for v in items {
                out.push_str(&format!("{pad}-"));
                yaml_after_key(out, v, indent);
            }
        }
        other => out.push_str(&format!("{pad}{}\n", yaml_leaf(other))),
    }
}

fn yaml_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            yaml_into(out, value, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            yaml_into(out, value, indent + 2);
        }
        leaf => out.push_str(&format!(" {}\n", yaml_leaf(leaf))),
    }
}

fn yaml_leaf(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_scalar(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a YAML scalar: plain when YAML reads it back as the same string, else quoted.
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-@+=,()".contains(c))
        && !text.starts_with(['-', '@', '.', '+', '='])
        && text.parse::<f64>().is_err()
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
        );
    if plain {
        text.to_string()
    } else {
        Value::String(text.to_string()).to_string()
    }
}

/// The plan as JSON, with secrets masked. The shape is documented in docs/plan-json.md.
pub fn json(plan: &Plan) -> String {
    let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Some(changes) = value.get_mut("changes").and_then(Value::as_array_mut) {
        for change in changes {
            if let Some(Value::Object(env)) = change.pointer_mut("/create/spec/environment") {
                for (k, v) in env.iter_mut() {
                    if is_secret_name(k) {
                        *v = Value::String(MASK.into());
                    }
                }
            }
            if let Some(diffs) = change.get_mut("diff").and_then(Value::as_array_mut) {
                for d in diffs {
                    let field = d
                        .get("field")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    for side in ["before", "after"] {
                        if let Some(v) = d.get_mut(side) {
                            *v = masked_value(&field, v);
                        }
                    }
                }
            }
        }
    }
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    out
}

fn glyph(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Replace => "~",
        Action::Start => ">",
        Action::Remove => "-",
        Action::Keep => " ",
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Replace => "replace",
        Action::Start => "start",
        Action::Remove => "remove",
        Action::Keep => "keep",
    }
}

fn short_commit(plan: &Plan) -> String {
    plan.commit
        .as_deref()
        .map(|c| crate::source::short_commit(c).to_string())
        .unwrap_or_else(|| "the working tree".into())
}

fn show(value: &Option<Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

/// One diff line per changed field; multi-line strings get a line diff.
fn diff_lines(d: &FieldDiff) -> Vec<String> {
    // A secret's or config's digest: what changed, never the digest.
    if d.field == "file_digests" {
        let names = |v: &Option<Value>| -> Vec<String> {
            v.as_ref()
                .and_then(Value::as_object)
                .map(|o| {
                    o.keys()
                        .map(|k| crate::plan::changed_field(&format!("file_digests.{k}")))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (before, after) = (names(&d.before), names(&d.after));
        let mut out: Vec<String> = after
            .iter()
            .filter(|n| !before.contains(n))
            .map(|n| format!("+ {n}"))
            .collect();
        out.extend(
            before
                .iter()
                .filter(|n| !after.contains(n))
                .map(|n| format!("- {n}")),
        );
        return out;
    }
    if d.field.starts_with("file_digests.") {
        let what = crate::plan::changed_field(&d.field);
        return vec![match (&d.before, &d.after) {
            (None, Some(_)) => format!("+ {what}"),
            (Some(_), None) => format!("- {what}"),
            _ => format!("~ {what} changed"),
        }];
    }
    let before = d.before.as_ref().map(|v| masked_value(&d.field, v));
    let after = d.after.as_ref().map(|v| masked_value(&d.field, v));
    if let (Some(Value::String(a)), Some(Value::String(b))) = (&before, &after) {
        if a.contains('\n') || b.contains('\n') {
            let mut out = vec![format!("~ {}:", d.field)];
            for change in similar::TextDiff::from_lines(a, b).iter_all_changes() {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => " ",
                };
                out.push(format!(
                    "    {sign} {}",
                    change.value().trim_end_matches('\n')
                ));
            }
            return out;
        }
    }
    vec![match (&before, &after) {
        (None, Some(_)) => format!("+ {}: {}", d.field, show(&after)),
        (Some(_), None) => format!("- {}: {}", d.field, show(&before)),
        _ => format!("~ {}: {} -> {}", d.field, show(&before), show(&after)),
    }]
}

fn change_line(c: &Change) -> String {
    let what = match (&c.service, c.slot) {
        (Some(service), Some(slot)) => format!("{service}[{slot}]"),
        _ => c
            .container
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
    };
    let container = match (&c.container, &c.create) {
        (Some(old), Some(new)) => format!(" {} -> {}", old.name, new.name),
        (Some(old), None) => format!(" {}", old.name),
        (None, Some(new)) => format!(" {}", new.name),
        (None, None) => String::new(),
    };
    format!(
        "{} {what} on {}: {}{container} ({})",
        glyph(c.action),
        c.host,
        verb(c.action),
        c.reason
    )
}

fn balancer_line(b: &BalancerChange) -> String {
    let (glyph, verb) = match b.action {
        BalancerAction::Create => ("+", "create"),
        BalancerAction::Replace => ("~", "replace"),
        BalancerAction::Start => (">", "start"),
        BalancerAction::Reload => ("~", "reload"),
        BalancerAction::Remove => ("-", "remove"),
        BalancerAction::Keep => (" ", "keep"),
    };
    format!("{glyph} balancer on {}: {verb} ({})", b.host, b.reason)
}

/// The balancer lines with the upstreams each change adds and removes.
fn balancer_lines(plan: &Plan) -> Vec<(BalancerAction, String)> {
    let mut out = Vec::new();
    for b in plan.balancer_actions() {
        out.push((b.action, balancer_line(b)));
        for a in &b.added {
            out.push((b.action, format!("    + upstream {a}")));
        }
        for r in &b.removed {
            out.push((b.action, format!("    - upstream {r}")));
        }
        for c in &b.certificates {
            out.push((b.action, format!("    ~ certificate {c}")));
        }
    }
    out
}

/// One line per data directory the new containers mount: host, path and the services.
fn data_dir_lines(plan: &Plan) -> Vec<String> {
    plan.data_dirs
        .iter()
        .map(|d| {
            format!(
                "= data directory {}:{} (mounted by {})",
                d.host,
                d.path,
                d.services.join(", ")
            )
        })
        .collect()
}

/// One line per image shipped from the machine running fleet: `ship image app:1.4 (182 MB)
/// to fh2, fh3` (hosts that already have it are not named).
fn ship_lines(plan: &Plan) -> Vec<String> {
    plan.ships
        .iter()
        .filter(|s| !s.hosts.is_empty())
        .map(|s| {
            let from = match &s.source.from {
                crate::plan::ship::ShipFrom::Local => String::new(),
                crate::plan::ship::ShipFrom::Archive { path } => format!(" from {path}"),
            };
            format!(
                "ship image {} ({}){from} to {}",
                s.source.image,
                crate::plan::ship::human_size(s.source.size),
                s.hosts.join(", ")
            )
        })
        .collect()
}

/// Groups the changes by service (containers of no service last), in plan order.
fn groups(plan: &Plan) -> Vec<(String, Vec<&Change>)> {
    let mut out: Vec<(String, Vec<&Change>)> = Vec::new();
    for c in plan.actions() {
        let key = c
            .service
            .clone()
            .unwrap_or_else(|| "(not a replica)".into());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(c),
            None => out.push((key, vec![c])),
        }
    }
    out
}

pub fn summary(plan: &Plan) -> String {
    if plan.is_empty() && !plan.unreachable.is_empty() {
        return format!(
            "No changes on the reachable hosts; {} host(s) could not be checked against {}.",
            plan.unreachable.len(),
            short_commit(plan)
        );
    }
    if plan.is_empty() {
        return format!("No changes. The fleet matches {}.", short_commit(plan));
    }
    let mut parts = vec![
        format!("{} to create", plan.count(Action::Create)),
        format!("{} to replace", plan.count(Action::Replace)),
    ];
    if plan.count(Action::Start) > 0 {
        parts.push(format!("{} to start", plan.count(Action::Start)));
    }
    parts.push(format!("{} to remove", plan.count(Action::Remove)));
    let ships = plan.ships.iter().filter(|s| !s.hosts.is_empty()).count();
    if ships > 0 {
        parts.push(format!("{ships} image(s) to ship"));
    }
    let balancers = plan.balancer_actions().count();
    if balancers > 0 {
        parts.push(format!("{balancers} balancer change(s)"));
    }
    format!("Plan: {}.", parts.join(", "))
}

/// One line per autoscaled service: its count, its bounds, and where the count came from.
fn autoscaled_lines(plan: &Plan) -> Vec<String> {
    use crate::autoscale::CountFrom;
    plan.autoscaled
        .iter()
        .map(|a| {
            let from = match (a.from, a.clamped_from) {
                (_, Some(was)) => format!("{was} clamped to the bounds"),
                (CountFrom::Hosts, None) => "as the hosts run; fleet watch owns the count".into(),
                (CountFrom::Start, None) => "the starting count, deploy.replicas".into(),
                (CountFrom::Decided, None) => "decided by fleet watch".into(),
            };
            format!(
                "{}: {} replicas (autoscaled, {}-{}; {from})",
                a.service, a.replicas, a.min, a.max
            )
        })
        .collect()
}

fn warnings(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for u in &plan.unreachable {
        out.push(format!(
            "host `{}` is unreachable ({}); what runs there is unknown and left as it is",
            u.host, u.reason
        ));
    }
    for h in &plan.held_back {
        let slots: Vec<String> = h.slots.iter().map(u32::to_string).collect();
        out.push(format!(
            "{}: replica(s) {} not found on reachable hosts; they may run on {}, so they are not recreated elsewhere",
            h.service,
            slots.join(", "),
            h.hosts.join(", ")
        ));
    }
    out
}

/// Terraform-like text: changes grouped by service, one line per replica, field diffs under
/// replacements, then warnings and the summary line. Readable without colour.
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = |style: Style, line: &str| {
        if color {
            format!("{style}{line}{style:#}")
        } else {
            line.to_string()
        }
    };
    let mut out = String::new();
    if !plan.is_empty() {
        out.push_str(&format!(
            "fleet will make these changes to match {}:\n",
            short_commit(plan)
        ));
        let ships = ship_lines(plan);
        if !ships.is_empty() {
            out.push_str("\n  # images (from this machine, no registry)\n");
            for line in ships {
                out.push_str(&format!(
                    "  {}\n",
                    paint(AnsiColor::Cyan.on_default(), &line)
                ));
            }
        }
        for (service, changes) in groups(plan) {
            let image = changes
                .iter()
                .find_map(|c| c.create.as_ref().map(|n| n.spec.image.clone()));
            match image {
                Some(image) => out.push_str(&format!("\n  # {service} ({image})\n")),
                None => out.push_str(&format!("\n  # {service}\n")),
            }
            for c in changes {
                let style = match c.action {
                    Action::Create => AnsiColor::Green.on_default(),
                    Action::Replace | Action::Start => AnsiColor::Yellow.on_default(),
                    Action::Remove => AnsiColor::Red.on_default(),
                    Action::Keep => Style::new(),
                };
                out.push_str(&format!("  {}\n", paint(style, &change_line(c))));
                for d in &c.diff {
                    for line in diff_lines(d) {
                        out.push_str(&format!("      {line}\n"));
                    }
                }
            }
        }
        let balancers = balancer_lines(plan);
        if !balancers.is_empty() {
            out.push_str("\n  # balancers\n");
            for (action, line) in balancers {
                let style = match action {
                    BalancerAction::Create => AnsiColor::Green.on_default(),
                    BalancerAction::Remove => AnsiColor::Red.on_default(),
                    _ => AnsiColor::Yellow.on_default(),
                };
                out.push_str(&format!("  {}\n", paint(style, &line)));
            }
        }
        let dirs = data_dir_lines(plan);
        if !dirs.is_empty() {
            out.push_str("\n  # data directories (created when missing, never deleted)\n");
            for line in dirs {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out.push('\n');
    }
    for line in autoscaled_lines(plan) {
        out.push_str(&format!("{line}\n"));
    }
    for w in warnings(plan) {
        out.push_str(&paint(
            AnsiColor::Yellow.on_default().bold(),
            &format!("warning: {w}"),
        ));
        out.push('\n');
    }
    out.push_str(&paint(Style::new().bold(), &summary(plan)));
    out.push('\n');
    out
}

/// GitHub's limit on a pull-request comment and a job summary, in characters: what
/// `fleet plan --format markdown` fits into unless told otherwise.
pub const MARKDOWN_MAX_CHARS: usize = 65_536;

/// The smallest limit [`markdown`] honours: the heading, summary and truncation note fit.
pub const MARKDOWN_MIN_CHARS: usize = 1_000;

/// The first line of every Markdown plan: an invisible marker by which a CI job finds the
/// comment it wrote for this project before, to update it in place.
pub fn markdown_marker(project: &str) -> String {
    format!("<!-- fleet-plan project={project} -->")
}

/// Markdown for a pull-request comment: the summary first (with warnings and a table per
/// service), every change in a collapsed `<details>` diff block. Beyond `max_chars` characters
/// (never less than [`MARKDOWN_MIN_CHARS`]) the lines that do not fit are left out, whole, the
/// open blocks are closed, and a note says how many lines were left out.
pub fn markdown(plan: &Plan, max_chars: usize) -> String {
    let mut head = format!(
        "{}\n### fleet plan for `{}` at `{}`\n\n**{}**\n",
        markdown_marker(&plan.project),
        plan.project,
        short_commit(plan),
        summary(plan)
    );
    let warnings = warnings(plan);
    if !warnings.is_empty() || !plan.autoscaled.is_empty() {
        head.push('\n');
    }
    // The lines after the heading, in order; `details` marks those inside the diff block.
    let mut lines: Vec<(bool, String)> = warnings
        .iter()
        .map(|w| (false, format!("> **Warning:** {w}\n")))
        .collect();
    lines.extend(
        autoscaled_lines(plan)
            .into_iter()
            .map(|l| (false, format!("- {l}\n"))),
    );
    if !plan.is_empty() {
        lines.push((
            false,
            "\n| service | create | replace | start | remove |\n|---|---:|---:|---:|---:|\n".into(),
        ));
        for (service, changes) in groups(plan) {
            let n = |a: Action| changes.iter().filter(|c| c.action == a).count();
            lines.push((
                false,
                format!(
                    "| {service} | {} | {} | {} | {} |\n",
                    n(Action::Create),
                    n(Action::Replace),
                    n(Action::Start),
                    n(Action::Remove)
                ),
            ));
        }
        for line in ship_lines(plan) {
            lines.push((true, format!("{line}\n")));
        }
        for (_, changes) in groups(plan) {
            for c in changes {
                lines.push((true, format!("{}\n", change_line(c))));
                for d in &c.diff {
                    for line in diff_lines(d) {
                        lines.push((true, format!("    {line}\n")));
                    }
                }
            }
        }
        for (_, line) in balancer_lines(plan) {
            lines.push((true, format!("{line}\n")));
        }
        for line in data_dir_lines(plan) {
            lines.push((true, format!("{line}\n")));
        }
    }
    const OPEN: &str = "\n<details><summary>Changes</summary>\n\n```diff\n";
    const CLOSE: &str = "```\n\n</details>\n";
    let chars = |s: &str| s.chars().count();
    let total = lines.len();
    // Room for the note, whose numbers take at most 20 digits each.
    let note_room = chars(&truncation_note(usize::MAX, usize::MAX, usize::MAX));
    let full: usize = chars(&head)
        + lines.iter().map(|(_, l)| chars(l)).sum::<usize>()
        + if lines.iter().any(|(d, _)| *d) {
            chars(OPEN) + chars(CLOSE)
        } else {
            0
        };
    let max = max_chars.max(MARKDOWN_MIN_CHARS);
    let budget = if full <= max {
        usize::MAX
    } else {
        max.saturating_sub(note_room + chars(CLOSE))
    };
    let mut out = head;
    let mut used = chars(&out);
    let mut in_details = false;
    let mut shown = 0;
    for (details, line) in &lines {
        let opening = if *details && !in_details { OPEN } else { "" };
        let cost = chars(opening) + chars(line);
        if used.saturating_add(cost) > budget {
            break;
        }
        out.push_str(opening);
        out.push_str(line);
        used += cost;
        in_details |= *details;
        shown += 1;
    }
    if in_details {
        out.push_str(CLOSE);
    }
    if shown < total {
        out.push_str(&truncation_note(total - shown, total, max));
    }
    out
}

fn truncation_note(left_out: usize, total: usize, max: usize) -> String {
    format!(
        "\n> **Note:** {left_out} of {total} lines were left out to fit {max} characters; \
         run `fleet plan` for the whole plan.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_every_string_yaml_would_read_as_something_else() {
        for text in [
            "", "yes", "No", "on", "null", "~", "1.0", "10", "-x", "a: b", "#c", "@x", " x",
        ] {
            assert!(yaml_scalar(text).starts_with('"'), "`{text}` left plain");
        }
        for text in ["nginx", "a.b/c", "web-1", "8080/tcp"] {
            assert_eq!(yaml_scalar(text), text);
        }
        let value = serde_json::json!({"a": {"b": [1, "x", {"c": true}], "e": {}}, "d": null});
        assert_eq!(
            yaml(&value),
            "a:\n  b:\n    - 1\n    - x\n    -\n      c: true\n  e: {}\nd: null\n"
        );
    }
}
