//! Human output on stderr: colour decisions, diagnostics, errors with causes and hints.

use std::error::Error;
use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use clap::ValueEnum;

use crate::spec::{Diagnostic, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Writes to stderr with or without colour, and at the chosen verbosity.
pub struct Printer {
    color: bool,
    stdout_color: bool,
    pub quiet: bool,
    pub verbose: bool,
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

impl Printer {
    pub fn new(choice: ColorChoice, quiet: bool, verbose: bool) -> Self {
        let auto = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let (color, stdout_color) = match choice {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto => (
                auto && std::io::stderr().is_terminal(),
                auto && std::io::stdout().is_terminal(),
            ),
        };
        Printer {
            color,
            stdout_color,
            quiet,
            verbose,
        }
    }

    /// Whether data printed on stdout may be coloured.
    pub fn stdout_color(&self) -> bool {
        self.stdout_color
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// A progress or context line (suppressed by `-q`).
    pub fn info(&self, line: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// Extra detail shown with `-v`.
    pub fn detail(&self, line: &str) {
        if self.verbose {
            let _ = writeln!(std::io::stderr(), "{}", self.paint(DIM, line));
        }
    }

    pub fn diagnostic(&self, d: &Diagnostic) {
        if self.quiet && d.severity == Severity::Warning {
            return;
        }
        let (style, word) = match d.severity {
            Severity::Error => (ERROR, "error"),
            Severity::Warning => (WARNING, "warning"),
        };
        let location = if d.line > 0 {
            format!("{}:{}:{}:", d.file, d.line, d.column)
        } else {
            format!("{}:", d.file)
        };
        let mut line = format!(
            "{} {}: ",
            self.paint(BOLD, &location),
            self.paint(style, word)
        );
        if !d.field.is_empty() {
            line.push_str(&format!("{}: ", d.field));
        }
        line.push_str(&d.message);
        if let Some(expected) = &d.expected {
            line.push_str(&format!("; expected {expected}"));
        }
        if let Some(hint) = &d.hint {
            line.push_str(&format!("\n  {} {hint}", self.paint(HINT, "hint:")));
        }
        let _ = writeln!(std::io::stderr(), "{}", printable(&line));
    }

    /// A failure tied to one host: `error: host `name`: message`, then its hint.
    pub fn host_error(&self, host: &str, message: &str, hint: Option<&str>) {
        let mut out = format!("{} host `{host}`: {message}", self.paint(ERROR, "error:"));
        if let Some(hint) = hint {
            out.push_str(&format!("\n{} {hint}", self.paint(HINT, "hint:")));
        }
        let _ = writeln!(std::io::stderr(), "{}", printable(&out));
    }

    /// `error: message`, then the hint.
    pub fn fail(&self, message: &str, hint: Option<&str>) {
        let mut out = format!("{} {message}", self.paint(ERROR, "error:"));
        if let Some(hint) = hint {
            out.push_str(&format!("\n{} {hint}", self.paint(HINT, "hint:")));
        }
        let _ = writeln!(std::io::stderr(), "{}", printable(&out));
    }

    /// `error: …`, each cause on a `Caused by:` line, then the hint.
    pub fn error(&self, error: &dyn Error, hint: Option<&str>) {
        let mut out = format!("{} {error}", self.paint(ERROR, "error:"));
        let mut source = error.source();
        while let Some(cause) = source {
            out.push_str(&format!("\n  Caused by: {cause}"));
            source = cause.source();
        }
        if let Some(hint) = hint {
            out.push_str(&format!("\n{} {hint}", self.paint(HINT, "hint:")));
        }
        let _ = writeln!(std::io::stderr(), "{}", printable(&out));
    }
}

/// Text from files and hosts may carry terminal control sequences: show them escaped, never
/// let them act on the terminal. Our own colour codes and line breaks stay.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            // anstyle's own SGR sequences: ESC [ digits/; m
            '\x1b' if chars.peek() == Some(&'[') => {
                let rest: String = chars.clone().take(16).collect();
                let sgr = rest[1..].find('m').is_some_and(|end| {
                    rest[1..1 + end]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == ';')
                });
                if sgr {
                    out.push(c);
                } else {
                    out.push_str("\\u{1b}");
                }
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_shown_escaped_but_colours_survive() {
        assert_eq!(printable("a\x1b]0;title\x07b"), "a\\u{1b}]0;title\\u{7}b");
        assert_eq!(
            printable("x\x1b[2Jy"),
            "x\x1b[2Jy".replace("\x1b[2J", "\\u{1b}[2J")
        );
        assert_eq!(
            printable("\x1b[31mred\x1b[0m\nnext"),
            "\x1b[31mred\x1b[0m\nnext"
        );
    }
}
