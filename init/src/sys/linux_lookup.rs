//! [`Lookup`] on the real kernel, each a thin wrapper that names the operation and the
//! path in its error.

use std::path::{Path, PathBuf};

use rustix::fs::FileType;
use rustix::io::Errno;

use super::linux::{io_errno, LinuxSys};
use std::os::unix::ffi::OsStringExt;

use super::{Entry, FsOps, Kind, Lookup, NodeKind, Stat, Version};
use crate::error::SysError;

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> SysError + 'a {
    move |e| SysError::new(op, path, e)
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SysError + 'a {
    move |e| SysError::new(op, path, io_errno(&e))
}

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
        std::fs::canonicalize(path).map_err(|e| SysError::new("realpath", path, io_errno(&e)))
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
        let entry = |(name, ft)| {
            let kind = match ft {
                FileType::Directory => Kind::Dir,
                FileType::RegularFile => Kind::File,
                FileType::Symlink => Kind::Symlink,
                _ => Kind::Other,
            };
            Entry { name, kind }
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
fn resolve_in(fs: &dyn FsOps, root: &Path, path: &Path) -> Result<Option<PathBuf>, SysError> {
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
        match fs.read_link(&full) {
            Ok(target) => {
                let target = PathBuf::from(std::ffi::OsString::from_vec(target));
                hops += 1;
                if hops > 40 {
                    return Ok(None);
                }
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                todo.extend(target.components().rev().filter_map(comp_name));
            }
            Err(Errno::INVAL) => cur = next, // not a link
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(SysError::new("readlink", &full, e)),
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
