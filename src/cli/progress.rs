//! Progress of `fleet apply`: one bar per host on a terminal, timestamped lines otherwise.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::apply::Progress;

/// Plain lines, prefixed with the time since the start: for CI logs and pipes.
pub struct Lines {
    /// When the first line was written: the run starts then (not at a confirmation prompt).
    start: std::sync::OnceLock<Instant>,
    /// stdout for text output; stderr when stdout carries JSON.
    to_stdout: bool,
}

impl Lines {
    pub fn new(to_stdout: bool) -> Lines {
        Lines {
            start: std::sync::OnceLock::new(),
            to_stdout,
        }
    }

    fn line(&self, text: &str) {
        let start = self.start.get_or_init(Instant::now);
        let line = format!("[{:>6.1}s] {text}", start.elapsed().as_secs_f64());
        if self.to_stdout {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

impl Progress for Lines {
    fn phase(&self, text: &str) {
        self.line(&format!("{text}..."));
    }
    fn host_steps(&self, _: &str, _: usize) {}
    fn step_started(&self, host: &str, text: &str) {
        self.line(&format!("{host}: {text}"));
    }
    fn step_done(&self, host: &str, text: &str, ok: bool) {
        let mark = if ok { "ok" } else { "FAILED" };
        self.line(&format!("{host}: {mark} {text}"));
    }
    fn note(&self, text: &str) {
        self.line(text);
    }
}

/// A bar per host (steps done of steps planned, current step), with every finished step
/// printed above the bars so the log stays on screen.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    /// For a host whose number of steps is known.
    counted: ProgressStyle,
    /// For a host with a step (a lock, a pull) before its count is known, or with none planned:
    /// the current step only, never a bar that looks full at 0/0.
    uncounted: ProgressStyle,
    /// Images being shipped, by host and image: bytes sent of the image's size.
    transfers: Mutex<BTreeMap<(String, String), ProgressBar>>,
}

/// The line of an image shipped to a host.
const TRANSFER: &str = "{prefix:>12} [{bar:24}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} {wide_msg}";

/// The line of a host's bar: with a bar and `done/planned` only when steps are planned.
fn template(planned: u64) -> &'static str {
    if planned == 0 {
        "{prefix:>12} {wide_msg}"
    } else {
        "{prefix:>12} [{bar:24}] {pos}/{len} {wide_msg}"
    }
}

impl Bars {
    pub fn new() -> Bars {
        let style = |planned| {
            ProgressStyle::with_template(template(planned))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ")
        };
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(BTreeMap::new()),
            counted: style(1),
            uncounted: style(0),
            transfers: Mutex::new(BTreeMap::new()),
        }
    }

    fn bar(&self, host: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(host.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(0));
                bar.set_style(self.uncounted.clone());
                bar.set_prefix(host.to_string());
                bar
            })
            .clone()
    }

    pub fn finish(&self) {
        for bar in self.bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
            bar.finish();
        }
    }
}

impl Progress for Bars {
    fn phase(&self, text: &str) {
        let _ = self.multi.println(format!("{text}..."));
    }
    fn host_steps(&self, host: &str, steps: usize) {
        let bar = self.bar(host);
        bar.set_length(steps as u64);
        bar.set_style(if steps == 0 {
            self.uncounted.clone()
        } else {
            self.counted.clone()
        });
    }
    fn step_started(&self, host: &str, text: &str) {
        self.bar(host).set_message(text.to_string());
    }
    fn step_done(&self, host: &str, text: &str, ok: bool) {
        let bar = self.bar(host);
        if bar.position() < bar.length().unwrap_or(0) {
            bar.inc(1);
        }
        // A shipment's bytes are said by its step now.
        let mut transfers = self.transfers.lock().unwrap_or_else(|e| e.into_inner());
        transfers.retain(|(h, _), transfer| {
            if h == host {
                transfer.finish_and_clear();
            }
            h != host
        });
        let mark = if ok { "ok" } else { "FAILED" };
        let _ = self.multi.println(format!("{host}: {mark} {text}"));
    }
    fn note(&self, text: &str) {
        let _ = self.multi.println(text);
    }
    fn transferred(&self, host: &str, image: &str, done: u64, total: u64) {
        let mut transfers = self.transfers.lock().unwrap_or_else(|e| e.into_inner());
        let bar = transfers
            .entry((host.to_string(), image.to_string()))
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(total));
                let style = ProgressStyle::with_template(TRANSFER)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                bar.set_style(style);
                bar.set_prefix(host.to_string());
                bar.set_message(image.to_string());
                bar
            });
        bar.set_length(total);
        bar.set_position(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host with no step planned (yet) shows its current step, not a bar full at `0/0`.
    #[test]
    fn no_bar_is_shown_full_before_its_steps_are_known() {
        assert!(!template(0).contains("{bar"), "{}", template(0));
        assert!(!template(0).contains("{len}"), "{}", template(0));
        assert!(template(3).contains("{pos}/{len}"));
    }

    /// An image shipped shows bytes, and its template is one indicatif accepts.
    #[test]
    fn a_shipped_image_shows_bytes() {
        assert!(ProgressStyle::with_template(TRANSFER).is_ok());
        assert!(TRANSFER.contains("{decimal_bytes}/{decimal_total_bytes}"));
    }
}
