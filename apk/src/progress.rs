//! What the installation shows while it runs: timestamped log lines (printed when
//! verbose, above any progress bar) and the progress bars themselves.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

pub(crate) struct Log {
    pub(crate) lines: Vec<String>,
    pub(crate) verbose: bool,
    pub(crate) start: Instant,
}

impl Log {
    pub(crate) fn say(&mut self, bar: Option<&ProgressBar>, line: String) {
        let line = format!("[{:7.2}s] {line}", self.start.elapsed().as_secs_f64());
        if self.verbose {
            match bar {
                Some(b) => b.println(&line),
                None => eprintln!("{line}"),
            }
        }
        self.lines.push(line);
    }
}

pub(crate) fn bar(len: u64, what: &str, bytes: bool) -> ProgressBar {
    let b = ProgressBar::new(len);
    let tpl = if bytes {
        "{prefix:>9} [{bar:30}] {bytes}/{total_bytes} {msg}"
    } else {
        "{prefix:>9} [{bar:30}] {pos}/{len} {msg}"
    };
    if let Ok(s) = ProgressStyle::with_template(tpl) {
        b.set_style(s.progress_chars("=> "));
    }
    b.set_prefix(what.to_string());
    b
}
