//! The recorder's files: an optional in-memory tree for tests that walk one (old-root
//! removal), and without it the fixed answers most tests need.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Errno, Kind, Stat};

/// Paths to nodes; a directory's children are the paths whose parent it is.
#[derive(Debug, Default)]
pub struct Tree {
    pub nodes: BTreeMap<PathBuf, Stat>,
}

fn stat(kind: Kind, mode: u32, dev: u64, bytes: u64) -> Stat {
    Stat { kind, mode, dev, bytes }
}

impl Tree {
    /// A directory (0755) on device `dev`.
    pub fn dir(&mut self, path: &str, dev: u64) -> &mut Self {
        self.nodes.insert(path.into(), stat(Kind::Dir, 0o755, dev, 0));
        self
    }
    /// A regular file of `bytes` allocated bytes, mode `mode`, on device `dev`.
    pub fn file(&mut self, path: &str, dev: u64, mode: u32, bytes: u64) -> &mut Self {
        self.nodes.insert(path.into(), stat(Kind::File, mode, dev, bytes));
        self
    }

    pub(super) fn lstat(&self, path: &Path) -> Result<Stat, Errno> {
        self.nodes.get(path).copied().ok_or(Errno::NOENT)
    }

    pub(super) fn children(&self, path: &Path) -> Vec<OsString> {
        let mut names: Vec<OsString> = self
            .nodes
            .keys()
            .filter(|p| p.parent() == Some(path) && p.as_path() != path)
            .filter_map(|p| p.file_name().map(|n| n.to_owned()))
            .collect();
        names.sort();
        names
    }

    pub(super) fn unlink(&mut self, path: &Path, dir: bool) -> Result<(), Errno> {
        let node = self.nodes.get(path).ok_or(Errno::NOENT)?;
        match (dir, node.kind == Kind::Dir) {
            (true, false) => return Err(Errno::NOTDIR),
            (false, true) => return Err(Errno::ISDIR),
            (true, true) if !self.children(path).is_empty() => return Err(Errno::NOTEMPTY),
            _ => {}
        }
        self.nodes.remove(path);
        Ok(())
    }
}

/// Without a tree: `/` is a directory on device 1, the API and new-root mount points
/// are directories on device 2 (other filesystems), and anything else is a 4 KiB file
/// on device 1.
pub(super) fn default_lstat(path: &Path) -> Stat {
    const MOUNTS: &[&str] = &["/dev", "/proc", "/sys", "/mnt", "/mnt/root", "/run"];
    if path == Path::new("/") {
        stat(Kind::Dir, 0o755, 1, 0)
    } else if MOUNTS.iter().any(|m| Path::new(m) == path) {
        stat(Kind::Dir, 0o755, 2, 0)
    } else {
        stat(Kind::File, 0o644, 1, 4096)
    }
}
