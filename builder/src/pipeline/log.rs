//! output/build.log for a pipeline build: every line timestamped from the start of the
//! build, written (and flushed) as it happens so a failed or killed build leaves a log
//! that says how far it got; mirrored on stderr for the CLI.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct BuildLog {
    file: File,
    pub path: PathBuf,
    start: Instant,
    verbose: bool,
}

impl BuildLog {
    pub fn create(path: &Path, verbose: bool) -> std::io::Result<BuildLog> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        Ok(BuildLog {
            file: File::create(path)?,
            path: path.to_owned(),
            start: Instant::now(),
            verbose,
        })
    }

    pub fn line(&mut self, text: &str) {
        let l = format!("[{:7.2}s] {text}", self.start.elapsed().as_secs_f64());
        if self.verbose {
            eprintln!("{l}");
        }
        // The log is a record, not the build's result: a full disk must not turn a good
        // image into a failed build.
        let _ = writeln!(self.file, "{l}");
        let _ = self.file.flush();
    }

    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}
