//! Module files that copy-and-free is moving: the loader runs while the copy does
//! (run_overlap.rs), so a module file is in the initramfs (`from`) until the copy
//! frees it, and in the new root (`to`) after. The copy unlinks a source only once
//! its destination is complete (copy/tree.rs), so "open the initramfs's file; on
//! ENOENT open the new root's" never reads a half-written file: a file that is gone
//! from `from` is whole in `to`, and one opened in `from` stays readable to the end
//! even if the copy unlinks it meanwhile. `from` must be symlink-free (canonical): a
//! freed `/lib -> usr/lib` link would otherwise send the fallback into a tree the
//! copy is still writing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::SysError;
use crate::sys::{Errno, Kmod, Sys, Within};

/// A [`Kmod`] whose files under `from` may have moved to `to`.
pub struct Moved<'a> {
    pub inner: &'a dyn Kmod,
    pub from: &'a Path,
    pub to: &'a Path,
    /// Loads that had to use `to` (for the stage's summary line).
    pub from_new_root: AtomicUsize,
}

impl<'a> Moved<'a> {
    pub fn new(inner: &'a dyn Kmod, from: &'a Path, to: &'a Path) -> Self {
        Moved {
            inner,
            from,
            to,
            from_new_root: AtomicUsize::new(0),
        }
    }

    /// Where `path` lives after the copy; None when it is not under `from`.
    pub fn moved(&self, path: &Path) -> Option<PathBuf> {
        path.strip_prefix(self.from).ok().map(|rel| self.to.join(rel))
    }

    /// Run `op` on `path`; if the file was gone (open: ENOENT), on its new-root path.
    fn either<T>(&self, path: &Path, op: impl Fn(&Path) -> Result<T, SysError>) -> Result<T, SysError> {
        match op(path) {
            // Only a failed open means "freed": finit_module's own ENOENT (an unknown
            // symbol) would fail the same way from the new root.
            Err(e) if e.errno == Errno::NOENT && matches!(e.op, "open" | "read") => match self.moved(path) {
                Some(new) if new != path => {
                    self.from_new_root.fetch_add(1, Ordering::Relaxed);
                    op(&new)
                }
                _ => Err(e),
            },
            r => r,
        }
    }
}

impl Kmod for Moved<'_> {
    fn finit_module(&self, path: &Path, params: &str, compressed: bool) -> Result<(), SysError> {
        self.either(path, |p| self.inner.finit_module(p, params, compressed))
    }

    fn init_module(&self, image: &[u8], params: &str, path: &Path) -> Result<(), SysError> {
        // The bytes are in memory already: nothing to open.
        self.inner.init_module(image, params, path)
    }

    fn finit_module_within(&self, path: &Path, params: &str, compressed: bool, timeout: Duration) -> Within {
        // The bounded load keeps its bound; only a failed open is retried from `to`,
        // by the same rule as the unbounded calls.
        let load = |p: &Path| match self.inner.finit_module_within(p, params, compressed, timeout) {
            Within::Done(Err(e)) => Err(e),
            w => Ok(w),
        };
        self.either(path, load).unwrap_or_else(|e| Within::Done(Err(e)))
    }

    fn init_module_within(&self, image: &[u8], params: &str, path: &Path, timeout: Duration) -> Within {
        self.inner.init_module_within(image, params, path, timeout)
    }

    fn read_module(&self, path: &Path) -> Result<Vec<u8>, SysError> {
        self.either(path, |p| self.inner.read_module(p))
    }
}

/// `sys.read(path)` with the errno as an io::Error: the index loader
/// ([`ModIndex::load_with`](crate::modules::index::ModIndex::load_with)) tells "no
/// modules" by NotFound.
pub fn read_io(sys: &dyn Sys, path: &Path) -> std::io::Result<Vec<u8>> {
    sys.read(path)
        .map_err(|e| std::io::Error::from_raw_os_error(e.errno.raw_os_error()))
}

/// Read an index file of `from` (`modules.dep`...), or its copy in `to` once freed:
/// the same rule as [`Moved`], for the depmod files read while the copy runs.
/// The errno comes back as an io::Error: the index loader tells "no modules" by
/// NotFound.
pub fn read_either(sys: &dyn Sys, path: &Path, from: &Path, to: &Path) -> std::io::Result<Vec<u8>> {
    let read = |p: &Path| read_io(sys, p);
    match read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match path.strip_prefix(from) {
            Ok(rel) => read(&to.join(rel)),
            Err(_) => Err(e),
        },
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record_kmod::RecordKmod;

    #[test]
    fn a_freed_file_loads_from_the_new_root_and_other_errors_stay() {
        let k = RecordKmod::default();
        let (from, to) = (Path::new("/lib/modules/6.1"), Path::new("/mnt/root/lib/modules/6.1"));
        let m = Moved::new(&k, from, to);
        m.finit_module(&from.join("kernel/a.ko"), "", false).unwrap();
        k.free(&[from.to_path_buf()]);
        m.finit_module(&from.join("kernel/b.ko"), "x=1", false).unwrap();
        assert_eq!(
            k.calls(),
            [
                "insmod /lib/modules/6.1/kernel/a.ko",
                "insmod /lib/modules/6.1/kernel/b.ko: ENOENT (freed)",
                "insmod /mnt/root/lib/modules/6.1/kernel/b.ko x=1",
            ]
        );
        assert_eq!(m.from_new_root.load(Ordering::Relaxed), 1);
        // The kernel's own ENOENT (unknown symbol) is the module's failure, not a move.
        k.fail_on("c.ko", Errno::NOENT);
        let e = m.finit_module(&to.join("kernel/c.ko"), "", false).unwrap_err();
        assert_eq!((e.op, e.errno), ("finit_module", Errno::NOENT));
        // Gone from both: the error names the new root's path.
        k.free(&[to.to_path_buf()]);
        let e = m.finit_module(&from.join("kernel/d.ko"), "", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "open /mnt/root/lib/modules/6.1/kernel/d.ko: ENOENT (No such file or directory)"
        );
    }

    #[test]
    fn index_files_fall_back_one_by_one() {
        let t = tempfile::tempdir().unwrap();
        let (from, to) = (t.path().join("old"), t.path().join("new"));
        std::fs::create_dir_all(&from).unwrap();
        std::fs::create_dir_all(&to).unwrap();
        std::fs::write(from.join("modules.dep"), "old").unwrap();
        std::fs::write(to.join("modules.dep"), "partial").unwrap();
        std::fs::write(to.join("modules.alias"), "new").unwrap();
        let sys = crate::sys::record::RecordSys {
            host_dirs: vec![t.path().to_path_buf()],
            ..Default::default()
        };
        assert_eq!(
            read_either(&sys, &from.join("modules.dep"), &from, &to).unwrap(),
            b"old"
        );
        assert_eq!(
            read_either(&sys, &from.join("modules.alias"), &from, &to).unwrap(),
            b"new"
        );
        let e = read_either(&sys, &from.join("modules.softdep"), &from, &to).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
