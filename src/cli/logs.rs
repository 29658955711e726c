//! How `fleet watch` writes a log line as text: the message, then `key=value` fields, empty ones
//! left out, and a `hint` on a line of its own, as the CLI's printer shows hints. JSON lines
//! keep `hint` as a field like any other.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// The field formatter of text log lines.
pub struct TextFields;

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut line = Line::default();
        fields.record(&mut line);
        let mut parts: Vec<String> = line.message.into_iter().collect();
        parts.extend(
            line.fields
                .iter()
                .map(|(name, value)| format!("{name}={value}")),
        );
        write!(writer, "{}", parts.join(" "))?;
        if let Some(hint) = line.hint {
            write!(writer, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Line {
    message: Option<String>,
    fields: Vec<(&'static str, String)>,
    hint: Option<String>,
}

impl Line {
    /// `quoted` is the value as the field's own `Debug` shows it (strings quoted), `plain` as
    /// people read it.
    fn add(&mut self, field: &Field, plain: String, quoted: String) {
        if plain.is_empty() {
            return;
        }
        match field.name() {
            "message" => self.message = Some(plain),
            "hint" => self.hint = Some(plain),
            name => self.fields.push((name, quoted)),
        }
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, value.to_string(), format!("{value:?}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields arrive here with a `Debug` that is their `Display`: shown as they are.
        let text = format!("{value:?}");
        self.add(field, text.clone(), text);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text_of(log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_level(false)
            .fmt_fields(TextFields)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_hint_goes_on_a_line_of_its_own() {
        let text = text_of(|| {
            tracing::warn!(
                error = %"no fleet.yaml",
                hint = "commit fleet.yaml",
                "cannot read the repository"
            )
        });
        assert_eq!(
            text,
            "cannot read the repository error=no fleet.yaml\n  hint: commit fleet.yaml\n"
        );
    }

    #[test]
    fn empty_and_absent_fields_are_left_out() {
        let none: Option<&str> = None;
        let text = text_of(|| {
            tracing::info!(
                reason = "resync",
                detail = "",
                hint = none,
                changes = 2,
                "reconcile"
            )
        });
        assert_eq!(text, "reconcile reason=\"resync\" changes=2\n");
    }
}
