//! The walk: `cp -a` of each source into the destination, freeing the source as it goes.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::sys::Errno;
use rustix::fs::{
    linkat, mkdirat, mknodat, openat, readlinkat, symlinkat, unlinkat, AtFlags, FileType, Mode, OFlags, Stat, CWD,
};

use super::error::{at, CopyError};
use super::spec::{inode, list_dir, lstat, nlink, rdev, CopySpec, Filter};
use super::{file, join_root, meta};

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Regular files written (a hard-link group counts once).
    pub files: u64,
    /// Directories created or merged into.
    pub dirs: u64,
    pub symlinks: u64,
    /// Extra links made to an already copied inode.
    pub hardlinks: u64,
    /// FIFOs, character and block devices.
    pub nodes: u64,
    /// Data bytes written (holes not included).
    pub bytes: u64,
    /// In-root paths of the sockets left behind (a socket cannot be copied).
    pub skipped: Vec<PathBuf>,
    /// Allocated bytes (`st_blocks * 512`) released by unlinking the last link of a source.
    pub freed_bytes: u64,
}

/// Copy each source (an in-root path such as `/bin`) from `src_root` into `dst_root` at the
/// same in-root path, `cp -a` style, never following a symlink. Existing destination
/// directories are merged into, existing non-directories replaced. With
/// `spec.free_source`, each source entry is removed as soon as its copy is complete.
///
/// `warn` receives non-fatal events (sockets skipped, xattrs the destination refuses).
/// The first failure stops the copy and is returned.
pub fn copy_tree(
    src_root: &Path,
    dst_root: &Path,
    sources: &[PathBuf],
    spec: &CopySpec,
    warn: &mut dyn FnMut(&str),
) -> Result<CopyStats, CopyError> {
    let dst = lstat(dst_root)?;
    let mut c = Copier {
        filter: Filter::new(spec),
        free: spec.free_source,
        dst_root_id: inode(&dst),
        links: HashMap::new(),
        stats: CopyStats::default(),
        warn,
    };
    for rel in sources {
        // Only plain names below the root: `..` would walk out of either tree.
        if !rel
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        {
            return Err(CopyError::new("source", rel, Errno::INVAL));
        }
        let rel = Path::new("/").join(rel);
        if c.filter.excluded(&rel) {
            continue;
        }
        c.entry(&join_root(src_root, &rel), &join_root(dst_root, &rel), &rel)?;
    }
    Ok(c.stats)
}

struct Copier<'w> {
    filter: Filter,
    free: bool,
    /// The destination root, in case it sits inside a source: never copied into itself.
    dst_root_id: (u64, u64),
    /// Source (st_dev, st_ino) of multiply linked inodes -> first destination path and the
    /// links still expected. Looked up for every file, whatever its st_nlink: with
    /// copy-and-free the count drops as links are unlinked, so the last link of a group
    /// shows st_nlink == 1.
    links: HashMap<(u64, u64), (PathBuf, u64)>,
    stats: CopyStats,
    warn: &'w mut dyn FnMut(&str),
}

impl Copier<'_> {
    fn entry(&mut self, src: &Path, dst: &Path, rel: &Path) -> Result<(), CopyError> {
        let st = lstat(src)?;
        let kind = FileType::from_raw_mode(st.st_mode);
        match kind {
            FileType::Directory => return self.dir(src, dst, rel, &st),
            FileType::Socket => {
                (self.warn)(&format!("copy: skipping socket {}", rel.display()));
                self.stats.skipped.push(rel.to_path_buf());
                return Ok(());
            }
            _ => {}
        }
        let key = inode(&st);
        if let Some(first) = self.linked(key) {
            replace(dst, |p| linkat(CWD, &first, CWD, p, AtFlags::empty()), "link")?;
            self.stats.hardlinks += 1;
        } else {
            match kind {
                FileType::RegularFile => {
                    self.stats.bytes += file::copy_file(src, dst, &st, self.warn)?;
                    self.stats.files += 1;
                }
                FileType::Symlink => {
                    let target = readlinkat(CWD, src, Vec::new()).map_err(at("readlink", src))?;
                    replace(dst, |p| symlinkat(&target, CWD, p), "symlink")?;
                    let xattrs = meta::read_path(src)?;
                    meta::apply_path(dst, &st, &xattrs, true, self.warn)?;
                    self.stats.symlinks += 1;
                }
                _ => {
                    let dev = rdev(&st);
                    let mode = meta::perm(&st);
                    replace(dst, |p| mknodat(CWD, p, kind, mode, dev), "mknod")?;
                    let xattrs = meta::read_path(src)?;
                    meta::apply_path(dst, &st, &xattrs, false, self.warn)?;
                    self.stats.nodes += 1;
                }
            }
            if st.st_nlink > 1 {
                self.links.insert(key, (dst.to_path_buf(), nlink(&st) - 1));
            }
        }
        if self.free {
            unlinkat(CWD, src, AtFlags::empty()).map_err(at("unlink", src))?;
            if st.st_nlink == 1 {
                self.stats.freed_bytes += st.st_blocks as u64 * 512;
            }
        }
        Ok(())
    }

    /// The destination of an already copied link of this inode, if any.
    fn linked(&mut self, key: (u64, u64)) -> Option<PathBuf> {
        let (first, left) = self.links.get_mut(&key)?;
        let first = first.clone();
        *left = left.saturating_sub(1);
        if *left == 0 {
            // Every link is accounted for: forget the inode, keeping the map small.
            self.links.remove(&key);
        }
        Some(first)
    }

    /// Directories are created 0700, filled, and only then given their owner, mode, xattrs
    /// and times: creating children would bump the mtime, and the final mode may not let
    /// us write into it.
    fn dir(&mut self, src: &Path, dst: &Path, rel: &Path, st: &Stat) -> Result<(), CopyError> {
        if inode(st) == self.dst_root_id {
            (self.warn)(&format!(
                "copy: not copying the destination {} into itself",
                rel.display()
            ));
            return Ok(());
        }
        make_dir(dst)?;
        self.stats.dirs += 1;
        for name in list_dir(src)? {
            let child_rel = rel.join(&name);
            if self.filter.excluded(&child_rel) {
                continue;
            }
            self.entry(&src.join(&name), &dst.join(&name), &child_rel)?;
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat(CWD, dst, flags, Mode::empty()).map_err(at("open", dst))?;
        let xattrs = meta::read_path(src)?;
        meta::apply_fd(&fd, dst, st, &xattrs, self.warn)?;
        if self.free {
            match unlinkat(CWD, src, AtFlags::REMOVEDIR) {
                // Excluded entries or sockets remain, or it is a mount point: leave it.
                Ok(()) | Err(Errno::NOTEMPTY | Errno::BUSY) => {}
                Err(e) => return Err(CopyError::new("rmdir", src, e)),
            }
        }
        Ok(())
    }
}

/// mkdir 0700, or reuse a directory already there (merge); anything else there is replaced.
fn make_dir(dst: &Path) -> Result<(), CopyError> {
    let mode = Mode::from_raw_mode(0o700);
    match mkdirat(CWD, dst, mode) {
        Ok(()) => Ok(()),
        Err(Errno::EXIST) => {
            let st = lstat(dst)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                return Ok(());
            }
            unlinkat(CWD, dst, AtFlags::empty()).map_err(at("unlink", dst))?;
            mkdirat(CWD, dst, mode).map_err(at("mkdir", dst))
        }
        Err(e) => Err(CopyError::new("mkdir", dst, e)),
    }
}

/// Create `dst` with `make`; if something is already there, unlink it and try once more.
fn replace(dst: &Path, make: impl Fn(&Path) -> rustix::io::Result<()>, op: &'static str) -> Result<(), CopyError> {
    match make(dst) {
        Err(Errno::EXIST) => {
            unlinkat(CWD, dst, AtFlags::empty()).map_err(at("unlink", dst))?;
            make(dst)
        }
        other => other,
    }
    .map_err(at(op, dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_must_stay_inside_the_roots() {
        let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let spec = CopySpec {
            patterns: vec![],
            exclude: vec![],
            free_source: false,
        };
        for bad in ["/../etc", "/usr/../..", "../x"] {
            let err = copy_tree(src.path(), dst.path(), &[PathBuf::from(bad)], &spec, &mut |_| {}).unwrap_err();
            assert_eq!((err.op, err.errno), ("source", Errno::INVAL), "{bad}");
        }
    }

    #[test]
    fn missing_destination_root_is_an_error() {
        let src = tempfile::tempdir().unwrap();
        let spec = CopySpec {
            patterns: vec![],
            exclude: vec![],
            free_source: false,
        };
        let gone = src.path().join("nope");
        let err = copy_tree(src.path(), &gone, &[], &spec, &mut |_| {}).unwrap_err();
        assert_eq!((err.op, err.path, err.errno), ("lstat", gone, Errno::NOENT));
    }
}
