//! [`Lookup`] on the real kernel, each a thin wrapper that names the operation and the
//! path in its error.

use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

use super::linux::{err, io_err, LinuxSys};
use super::linux_fs::node_kind;
use super::{Entry, FsOps, Kind, Lookup, NodeKind, Stat, Version};
use crate::error::SysError;

impl Lookup for LinuxSys {
    // One implementation per syscall: lstat and readlink are FsOps's, given the
    // boot's error (op and path) here.
    fn lstat(&self, path: &Path) -> Result<Stat, SysError> {
        FsOps::lstat(self, path)
            .map(|st| Stat::from(&st))
            .map_err(err("stat", path))
    }

    fn exists(&self, path: &Path) -> Result<bool, SysError> {
        match self.version(path) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.errno, Errno::NOENT | Errno::NOTDIR) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn version(&self, path: &Path) -> Result<Version, SysError> {
        let st = rustix::fs::stat(path).map_err(err("stat", path))?;
        Ok(Version {
            size: st.st_size as u64,
            mtime: st.st_mtime as i64,
            mtime_nsec: st.st_mtime_nsec as i64,
        })
    }

    fn realpath(&self, path: &Path) -> Result<PathBuf, SysError> {
        std::fs::canonicalize(path).map_err(io_err("realpath", path))
    }

    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError> {
        let Some(full) = resolve_in(self, root, path)? else {
            return Ok(false);
        };
        match FsOps::lstat(self, &full) {
            Ok(st) => Ok(st.kind == NodeKind::File && st.perm & 0o111 != 0),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(false),
            Err(e) => Err(SysError::new("stat", &full, e)),
        }
    }

    fn list(&self, path: &Path) -> Result<Vec<Entry>, SysError> {
        let entries = super::linux_fs::getdents(path).map_err(|e| SysError::new(e.op, path, e.errno))?;
        let entry = |(name, ft)| Entry {
            name,
            kind: Kind::from(node_kind(ft)),
        };
        Ok(entries.into_iter().map(entry).collect())
    }

    fn read_link(&self, path: &Path) -> Result<PathBuf, SysError> {
        let target = FsOps::read_link(self, path).map_err(err("readlink", path))?;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(target)))
    }

    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, SysError> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(path).map_err(io_err("open", path))?;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, offset).map_err(io_err("read", path))?;
        Ok(buf)
    }
}

/// `path` as it will resolve once `root` is `/`: follow symlinks (in every component)
/// with absolute targets re-rooted. `None` for a loop or a dangling link.
fn resolve_in(look: &dyn Lookup, root: &Path, path: &Path) -> Result<Option<PathBuf>, SysError> {
    let mut todo: Vec<std::ffi::OsString> = path.components().rev().filter_map(comp_name).collect();
    let mut cur = PathBuf::from("/");
    let mut hops = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        let full = root.join(next.strip_prefix("/").unwrap_or(&next));
        match look.read_link(&full) {
            Ok(target) => {
                hops += 1;
                if hops > 40 {
                    return Ok(None);
                }
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                todo.extend(target.components().rev().filter_map(comp_name));
            }
            Err(e) if e.errno == Errno::INVAL => cur = next, // not a link
            Err(e) if e.errno == Errno::NOENT => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(root.join(cur.strip_prefix("/").unwrap_or(&cur))))
}

fn comp_name(c: std::path::Component<'_>) -> Option<std::ffi::OsString> {
    match c {
        std::path::Component::Normal(n) => Some(n.to_owned()),
        std::path::Component::ParentDir => Some("..".into()),
        _ => None,
    }
}
