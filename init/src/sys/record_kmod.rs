//! The recorder's [`Kmod`]: thread-safe (the loader calls it from several threads),
//! records `insmod`-like lines, fails the modules a test names, and measures how many
//! loads overlapped (to prove the loader is parallel). It also plays copy-and-free as
//! the loader sees it ([`RecordKmod::free`]): a freed module file fails to open with
//! ENOENT, and [`RecordKmod::hold_after`] interleaves the free between two loads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rustix::io::Errno;

use super::{Kmod, Within};
use crate::error::SysError;

#[derive(Default)]
pub struct RecordKmod {
    pub(crate) calls: Mutex<Vec<String>>,
    /// (file name, errno): the next load of that file fails.
    pub(crate) failures: Mutex<Vec<(String, Errno)>>,
    /// File names whose bounded load "hangs" in the module's init (StillLoading).
    pub(crate) hangs: Mutex<Vec<String>>,
    /// Bytes `read_module` returns per file name (default: an empty image).
    pub files: Mutex<Vec<(String, Vec<u8>)>>,
    /// How long each load "takes" (for the overlap test).
    pub delay: Duration,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) max_in_flight: AtomicUsize,
    /// Trees copy-and-free removed: a module file under one is gone (ENOENT).
    pub(crate) freed: Mutex<Vec<PathBuf>>,
    /// The race, made deterministic: the free waits until this many loads are done,
    /// and the next load waits for the free (each wait bounded, see [`HOLD_MAX`]).
    pub hold_after: Option<usize>,
    pub(crate) done: Mutex<usize>,
    pub(crate) turn: Condvar,
}

/// Longest a held load or free waits for the other side (a test that never frees
/// still ends).
pub const HOLD_MAX: Duration = Duration::from_secs(5);

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl RecordKmod {
    /// The next load of the module file named `file` (`virtio_blk.ko`) fails.
    pub fn fail_on(&self, file: &str, errno: Errno) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((file.into(), errno));
    }

    /// Every bounded load of the module file named `file` is still running at the timeout.
    pub fn hang_on(&self, file: &str) {
        self.hangs.lock().unwrap_or_else(|e| e.into_inner()).push(file.into());
    }

    fn hangs(&self, path: &Path) -> bool {
        let name = file_name(path);
        self.hangs.lock().unwrap_or_else(|e| e.into_inner()).contains(&name)
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Most loads seen running at the same time.
    pub fn max_parallel(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Copy-and-free removed these trees (the recorder's `copy` calls this).
    pub fn free(&self, trees: &[PathBuf]) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = self.hold_after {
            (done, _) = self
                .turn
                .wait_timeout_while(done, HOLD_MAX, |d| *d < n)
                .unwrap_or_else(|e| e.into_inner());
        }
        self.freed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(trees.iter().cloned());
        drop(done);
        self.turn.notify_all();
    }

    fn is_freed(&self, path: &Path) -> bool {
        let freed = self.freed.lock().unwrap_or_else(|e| e.into_inner());
        freed.iter().any(|t| path.starts_with(t))
    }

    /// Before a load: wait for the free once `hold_after` loads are done.
    fn wait_turn(&self) {
        let Some(n) = self.hold_after else { return };
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .turn
            .wait_timeout_while(done, HOLD_MAX, |d| *d >= n && !self.is_freed_any())
            .unwrap_or_else(|e| e.into_inner());
    }

    fn is_freed_any(&self) -> bool {
        !self.freed.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    fn loaded_one(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.turn.notify_all();
    }

    /// A load of a file copy-and-free removed: recorded, then ENOENT from open.
    fn gone(&self, path: &Path) -> Result<(), SysError> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("insmod {}: ENOENT (freed)", path.display()));
        Err(SysError::new("open", path, Errno::NOENT))
    }

    fn call(&self, op: &'static str, path: &Path, line: String) -> Result<(), SysError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let name = file_name(path);
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = f.iter().position(|(n, _)| *n == name) {
            let (_, errno) = f.remove(i);
            return Err(SysError::new(op, path, errno));
        }
        Ok(())
    }
}

impl Kmod for RecordKmod {
    fn finit_module(&self, path: &Path, params: &str, compressed: bool) -> Result<(), SysError> {
        self.wait_turn();
        if self.is_freed(path) {
            return self.gone(path);
        }
        let c = if compressed { " (compressed)" } else { "" };
        let p = if params.is_empty() {
            String::new()
        } else {
            format!(" {params}")
        };
        let r = self.call("finit_module", path, format!("insmod{c} {}{p}", path.display()));
        self.loaded_one();
        r
    }

    fn init_module(&self, image: &[u8], params: &str, path: &Path) -> Result<(), SysError> {
        let p = if params.is_empty() {
            String::new()
        } else {
            format!(" {params}")
        };
        self.call(
            "init_module",
            path,
            format!("init_module {} ({} bytes){p}", path.display(), image.len()),
        )
    }

    fn finit_module_within(&self, path: &Path, params: &str, compressed: bool, _timeout: Duration) -> Within {
        let done = self.finit_module(path, params, compressed);
        match self.hangs(path) {
            true => Within::StillLoading { pid: 4242 },
            false => Within::Done(done),
        }
    }

    fn init_module_within(&self, image: &[u8], params: &str, path: &Path, _timeout: Duration) -> Within {
        let done = self.init_module(image, params, path);
        match self.hangs(path) {
            true => Within::StillLoading { pid: 4242 },
            false => Within::Done(done),
        }
    }

    fn read_module(&self, path: &Path) -> Result<Vec<u8>, SysError> {
        if self.is_freed(path) {
            return self.gone(path).map(|_| Vec::new());
        }
        let name = file_name(path);
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        Ok(files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.clone())
            .unwrap_or_default())
    }
}

/// Where a module file named `name` is in a list of calls (tests).
pub fn position(calls: &[String], name: &str) -> Option<usize> {
    let with_slash = format!("/{name}");
    calls.iter().position(|c| {
        c.split_whitespace()
            .any(|w| w.ends_with(&with_slash) || PathBuf::from(w).file_name().is_some_and(|f| f == name))
    })
}
