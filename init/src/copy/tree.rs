//! The walk: `cp -a` of each source into the destination, freeing the source as it goes.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::sys::{Errno, FileStat, FsOps, Make, NodeKind, Open, Target};

use super::error::{at, CopyError};
use super::spec::{list_dir, lstat, CopySpec, Filter};
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
    fs: &dyn FsOps,
    src_root: &Path,
    dst_root: &Path,
    sources: &[PathBuf],
    spec: &CopySpec,
    warn: &mut dyn FnMut(&str),
) -> Result<CopyStats, CopyError> {
    let dst = lstat(fs, dst_root)?;
    let mut c = Copier {
        fs,
        filter: Filter::new(spec),
        free: spec.free_source,
        dst_root_id: dst.inode(),
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

struct Copier<'a> {
    fs: &'a dyn FsOps,
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
    warn: &'a mut dyn FnMut(&str),
}

impl Copier<'_> {
    fn entry(&mut self, src: &Path, dst: &Path, rel: &Path) -> Result<(), CopyError> {
        let fs = self.fs;
        let st = lstat(fs, src)?;
        match st.kind {
            NodeKind::Dir => return self.dir(src, dst, rel, &st),
            NodeKind::Socket => {
                (self.warn)(&format!("copy: skipping socket {}", rel.display()));
                self.stats.skipped.push(rel.to_path_buf());
                return Ok(());
            }
            _ => {}
        }
        let key = st.inode();
        if let Some(first) = self.linked(key) {
            replace(fs, dst, &Make::Link { existing: &first }, "link")?;
            self.stats.hardlinks += 1;
        } else {
            match st.kind {
                NodeKind::File => {
                    self.stats.bytes += file::copy_file(fs, src, dst, &st, self.warn)?;
                    self.stats.files += 1;
                }
                NodeKind::Symlink => {
                    let target = fs.read_link(src).map_err(at("readlink", src))?;
                    replace(fs, dst, &Make::Symlink { target: &target }, "symlink")?;
                    self.path_meta(src, dst, &st)?;
                    self.stats.symlinks += 1;
                }
                kind => {
                    let node = Make::Node {
                        kind,
                        perm: st.perm,
                        rdev: st.rdev,
                    };
                    replace(fs, dst, &node, "mknod")?;
                    self.path_meta(src, dst, &st)?;
                    self.stats.nodes += 1;
                }
            }
            if st.nlink > 1 {
                self.links.insert(key, (dst.to_path_buf(), st.nlink - 1));
            }
        }
        if self.free {
            fs.remove(src, false).map_err(at("unlink", src))?;
            if st.nlink == 1 {
                self.stats.freed_bytes += st.allocated;
            }
        }
        Ok(())
    }

    /// Metadata by path, for what must not be opened (symlinks, FIFOs, devices).
    fn path_meta(&mut self, src: &Path, dst: &Path, st: &FileStat) -> Result<(), CopyError> {
        let xattrs = meta::read(self.fs, Target::Path(src), src)?;
        meta::apply(self.fs, Target::Path(dst), dst, st, &xattrs, self.warn)
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
    fn dir(&mut self, src: &Path, dst: &Path, rel: &Path, st: &FileStat) -> Result<(), CopyError> {
        let fs = self.fs;
        if st.inode() == self.dst_root_id {
            (self.warn)(&format!(
                "copy: not copying the destination {} into itself",
                rel.display()
            ));
            return Ok(());
        }
        make_dir(fs, dst)?;
        self.stats.dirs += 1;
        for name in list_dir(fs, src)? {
            let child_rel = rel.join(&name);
            if self.filter.excluded(&child_rel) {
                continue;
            }
            self.entry(&src.join(&name), &dst.join(&name), &child_rel)?;
        }
        let dir = fs.open(dst, Open::Dir).map_err(at("open", dst))?;
        let xattrs = meta::read(fs, Target::Path(src), src)?;
        meta::apply(fs, Target::Handle(&dir), dst, st, &xattrs, self.warn)?;
        if self.free {
            match fs.remove(src, true) {
                // Excluded entries or sockets remain, or it is a mount point: leave it.
                Ok(()) | Err(Errno::NOTEMPTY | Errno::BUSY) => {}
                Err(e) => return Err(CopyError::new("rmdir", src, e)),
            }
        }
        Ok(())
    }
}

/// mkdir 0700, or reuse a directory already there (merge); anything else there is replaced.
fn make_dir(fs: &dyn FsOps, dst: &Path) -> Result<(), CopyError> {
    let dir = Make::Dir { perm: 0o700 };
    match fs.make(dst, &dir) {
        Ok(()) => Ok(()),
        Err(Errno::EXIST) => {
            if lstat(fs, dst)?.kind == NodeKind::Dir {
                return Ok(());
            }
            fs.remove(dst, false).map_err(at("unlink", dst))?;
            fs.make(dst, &dir).map_err(at("mkdir", dst))
        }
        Err(e) => Err(CopyError::new("mkdir", dst, e)),
    }
}

/// Create `dst` as `what` says; if something is already there, unlink it and try once more.
fn replace(fs: &dyn FsOps, dst: &Path, what: &Make<'_>, op: &'static str) -> Result<(), CopyError> {
    match fs.make(dst, what) {
        Err(Errno::EXIST) => {
            fs.remove(dst, false).map_err(at("unlink", dst))?;
            fs.make(dst, what)
        }
        other => other,
    }
    .map_err(at(op, dst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::linux::LinuxSys;

    #[test]
    fn sources_must_stay_inside_the_roots() {
        let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let spec = CopySpec {
            patterns: vec![],
            exclude: vec![],
            free_source: false,
        };
        for bad in ["/../etc", "/usr/../..", "../x"] {
            let err = copy_tree(
                &LinuxSys,
                src.path(),
                dst.path(),
                &[PathBuf::from(bad)],
                &spec,
                &mut |_| {},
            )
            .unwrap_err();
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
        let err = copy_tree(&LinuxSys, src.path(), &gone, &[], &spec, &mut |_| {}).unwrap_err();
        assert_eq!((err.op, err.path, err.errno), ("lstat", gone, Errno::NOENT));
    }
}
