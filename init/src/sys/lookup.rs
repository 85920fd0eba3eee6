//! [`Lookup`]: the calls that look at what is at a path and change nothing, reached
//! as [`Sys::look`](super::Sys::look): lstat and stat, typed directory listings (a
//! sysfs walk, the old root's top level), symlink targets (a device's `driver`),
//! sector reads (a debug disk's label), realpath, and whether a program is there to
//! run in a root not yet switched to. [`super::linux_lookup`] makes them;
//! [`super::record_lookup`] records them and answers from fixtures.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Kind, Stat, Version};
use crate::error::SysError;

/// One name of [`Lookup::list`]: the entry and its type as getdents(2) reports it
/// (d_type; symlinks not followed), so a walk of sysfs needs no stat per entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

/// The look-only calls (see the module doc).
pub trait Lookup {
    /// lstat(2).
    fn lstat(&self, path: &Path) -> Result<Stat, SysError>;
    /// stat(2), following symlinks: the size and mtime that tell one version of a
    /// file from another (the module lookup's stamp).
    fn version(&self, path: &Path) -> Result<Version, SysError>;
    /// stat(2), following symlinks, as `[ -e path ]`: Ok(false) on ENOENT/ENOTDIR.
    fn exists(&self, path: &Path) -> Result<bool, SysError>;
    /// getdents(2) with each entry's d_type (symlinks not followed), without `.` and
    /// `..`, sorted by name.
    fn list(&self, path: &Path) -> Result<Vec<Entry>, SysError>;
    /// readlink(2) (a sysfs device's `driver` and `subsystem` links).
    fn read_link(&self, path: &Path) -> Result<PathBuf, SysError>;
    /// open + pread(2) of exactly `len` bytes at `offset` (a block device's boot sector).
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, SysError>;
    /// realpath(3): `path` absolute, with every symlink, `.` and `..` resolved.
    fn realpath(&self, path: &Path) -> Result<PathBuf, SysError>;
    /// faccessat(X_OK)-like, for a root not yet switched to: whether `path`, seen from
    /// inside `root`, is a regular file with an execute bit; symlinks are followed
    /// within `root` (an absolute link target is taken from `root`, as it will be after
    /// switch_root).
    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError>;

    /// [`Lookup::list`]'s names alone.
    fn list_names(&self, path: &Path) -> Result<Vec<OsString>, SysError> {
        Ok(self.list(path)?.into_iter().map(|e| e.name).collect())
    }
}
