//! Progress for the long steps (pack + compression, downloads): a bar (indicatif)
//! when stderr is a terminal, otherwise a plain line every few seconds once the step has
//! run for a while, so CI logs show that a 40 s pack is alive and a quick build stays
//! quiet. Off in the library until the CLI turns it on ([`enable`]): tests and library
//! users get no output they did not ask for.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// A step quicker than this prints nothing without a terminal.
const QUIET_FOR: Duration = Duration::from_secs(2);
/// Plain lines at most this often.
const EVERY: Duration = Duration::from_secs(5);

/// Turn progress on for this process (the CLI does, before running a command).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// One step's progress in bytes.
pub struct Progress {
    what: String,
    total: Option<u64>,
    done: u64,
    bar: Option<ProgressBar>,
    start: Instant,
    last_line: Option<Instant>,
    on: bool,
}

impl Progress {
    /// `total`: the bytes expected, when known.
    pub fn new(what: &str, total: Option<u64>) -> Progress {
        let on = ENABLED.load(Ordering::Relaxed);
        let bar = (on && std::io::stderr().is_terminal()).then(|| {
            let b = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
            let tpl = if total.is_some() {
                "{prefix:>9} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}"
            } else {
                "{prefix:>9} {spinner} {bytes} {bytes_per_sec} {msg}"
            };
            if let Ok(s) = ProgressStyle::with_template(tpl) {
                b.set_style(s.progress_chars("=> "));
            }
            b.set_prefix(what.to_string());
            b
        });
        Progress {
            what: what.to_string(),
            total,
            done: 0,
            bar,
            start: Instant::now(),
            last_line: None,
            on,
        }
    }

    pub fn add(&mut self, n: u64) {
        self.done += n;
        if let Some(b) = &self.bar {
            b.set_position(self.done);
            return;
        }
        let now = Instant::now();
        let due = self
            .last_line
            .map_or(now - self.start >= QUIET_FOR, |l| now - l >= EVERY);
        if self.on && due {
            self.last_line = Some(now);
            eprintln!("{}", self.line());
        }
    }

    /// A note on the bar (e.g. "finishing compression"); printed when there is none
    /// and lines were already printed.
    pub fn note(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.set_message(msg.to_string()),
            None if self.last_line.is_some() => eprintln!("{}: {msg}", self.what),
            None => {}
        }
    }

    pub fn finish(self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        } else if self.last_line.is_some() {
            eprintln!(
                "{}: done, {} in {:.1} s",
                self.what,
                mib(self.done),
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    fn line(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64();
        match self.total.filter(|t| *t > 0) {
            Some(t) => format!(
                "{}: {} of {} ({}%), {secs:.0} s",
                self.what,
                mib(self.done),
                mib(t),
                self.done.saturating_mul(100) / t
            ),
            None => format!("{}: {}, {secs:.0} s", self.what, mib(self.done)),
        }
    }
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// A writer that counts what goes through it into a [`Progress`].
pub struct Counted<W> {
    pub inner: W,
    pub progress: Progress,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bytes_and_says_how_far_without_a_terminal() {
        let mut p = Progress::new("pack", Some(4 << 20));
        p.add(1 << 20);
        p.add(1 << 20);
        assert_eq!(p.done, 2 << 20);
        assert_eq!(&p.line()[..31], "pack: 2.0 MiB of 4.0 MiB (50%),");
        let mut w = Counted {
            inner: Vec::new(),
            progress: Progress::new("x", None),
        };
        w.write_all(b"hello").unwrap();
        assert_eq!(w.progress.done, 5);
        assert!(w.progress.line().starts_with("x: 0.0 MiB, "));
    }
}
