//! The container itself: `image`, `command` and `entrypoint`, `restart`, `working_dir`,
//! `stop_signal` and `logging`, the keys that say what the engine runs and how it treats the
//! process. Simple scalar keys (`user`, `init`, `read_only`, `cap_add`, ...) are decoded in
//! place by the service decoder.

use std::collections::BTreeMap;

use crate::spec::decode::{Cx, join};
use crate::spec::model::{Logging, Restart};
use crate::spec::yaml::{Kind, Node};

pub const LOGGING_KEYS: &[&str] = &["driver", "options"];

pub(super) fn check_image(cx: &mut Cx, field: &str, node: &Node, image: String) -> Option<String> {
    let valid = !image.is_empty()
        && !image.chars().any(|c| c.is_whitespace() || c.is_control())
        && !image.starts_with(['-', ':', '@', '/'])
        && !image.ends_with([':', '@', '/']);
    if valid {
        Some(image)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{image}` is not an image reference"),
            "an image reference such as nginx:1.27 or registry.example.com/app@sha256:…",
        );
        None
    }
}

/// A command as Compose writes it: a list, or a string split like a shell would.
pub(super) fn command(cx: &mut Cx, field: &str, node: &Node) -> Option<Vec<String>> {
    match &node.kind {
        Kind::Seq(_) => {
            let items = cx.string_or_list(field, node)?;
            let mut out = Vec::with_capacity(items.len());
            for (item, _) in items {
                out.push(item);
            }
            Some(out)
        }
        _ => {
            let text = cx.string(field, node)?;
            match shlex::split(&text) {
                Some(words) => Some(words),
                None => {
                    cx.error(
                        node.pos,
                        field,
                        "unbalanced quotes in the command",
                        "a command with matched quotes, or a list of arguments",
                    );
                    None
                }
            }
        }
    }
}

pub(super) fn restart(cx: &mut Cx, field: &str, node: &Node) -> Option<Restart> {
    const EXPECTED: &str = "no, always, on-failure, on-failure:N or unless-stopped";
    let text = cx.string(field, node)?;
    let policy = match text.as_str() {
        "no" => Restart::No,
        "always" => Restart::Always,
        "unless-stopped" => Restart::UnlessStopped,
        "on-failure" => Restart::OnFailure { max_retries: None },
        other => match other.strip_prefix("on-failure:").map(str::parse::<u32>) {
            Some(Ok(n)) => Restart::OnFailure {
                max_retries: Some(n),
            },
            _ => {
                cx.error(
                    node.pos,
                    field,
                    format!("unknown restart policy `{other}`"),
                    EXPECTED,
                );
                return None;
            }
        },
    };
    Some(policy)
}

pub(super) fn absolute_path(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
    let path = cx.string(field, node)?;
    if path.starts_with('/') {
        Some(path)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{path}` is not an absolute path"),
            "an absolute path in the container",
        );
        None
    }
}

pub(super) fn stop_signal(cx: &mut Cx, field: &str, node: &Node) -> Option<String> {
    let signal = cx.text(field, node, "a signal name such as SIGTERM")?;
    let valid = signal.starts_with("SIG")
        && signal.len() > 3
        && signal[3..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '+')
        || signal.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n));
    if valid {
        Some(signal)
    } else {
        cx.error(
            node.pos,
            field,
            format!("`{signal}` is not a signal"),
            "a signal name such as SIGTERM, or its number",
        );
        None
    }
}

pub(super) fn logging(cx: &mut Cx, field: &str, node: &Node) -> Option<Logging> {
    let mut logging = Logging {
        driver: None,
        options: BTreeMap::new(),
    };
    for (k, kn, v) in cx.map(field, node, "a mapping with driver and options")? {
        let f = join(field, k);
        match k {
            "driver" => logging.driver = cx.string(&f, v),
            "options" => {
                for (ok, _, ov) in cx
                    .map(&f, v, "a mapping of option to value")
                    .unwrap_or_default()
                {
                    if let Some(value) = cx.text(&join(&f, ok), ov, "a string") {
                        logging.options.insert(ok.to_string(), value);
                    }
                }
            }
            _ => {
                if !k.starts_with("x-") {
                    cx.unknown_key(kn, &f, k, LOGGING_KEYS);
                }
            }
        }
    }
    Some(logging)
}
