//! Owners, modes, extended attributes and times, applied in the order the kernel needs.
//!
//! `chown` clears setuid/setgid and drops `security.capability`, and writing data clears
//! them too; setting xattrs or the mode bumps ctime only. So every entry gets, after its
//! content: owner, then mode, then xattrs, then times last.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::path::Path;

use crate::sys::Errno;
use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fgetxattr, flistxattr, flistxattr_query, fsetxattr, futimens, lgetxattr,
    llistxattr, llistxattr_query, lsetxattr, utimensat, AtFlags, Gid, Mode, Stat, Timestamps, Uid, XattrFlags, CWD,
};
use rustix::time::Timespec;

use super::error::{at, CopyError};

/// One extended attribute: name (`security.capability`, `user.foo`...) and raw value.
pub(crate) type Xattr = (CString, Vec<u8>);

/// The permission bits, setuid, setgid and sticky included.
pub(crate) fn perm(st: &Stat) -> Mode {
    Mode::from_raw_mode(st.st_mode & 0o7777)
}

pub(crate) fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime as _,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

fn owner(st: &Stat) -> (Option<Uid>, Option<Gid>) {
    (Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)))
}

/// Apply `st`'s metadata to an open regular file or directory.
pub(crate) fn apply_fd<Fd: AsFd>(
    fd: Fd,
    path: &Path,
    st: &Stat,
    xattrs: &[Xattr],
    warn: &mut dyn FnMut(&str),
) -> Result<(), CopyError> {
    let (uid, gid) = owner(st);
    fchown(&fd, uid, gid).map_err(at("chown", path))?;
    fchmod(&fd, perm(st)).map_err(at("chmod", path))?;
    for (name, value) in xattrs {
        let res = fsetxattr(&fd, name.as_c_str(), value, XattrFlags::empty());
        xattr_result(res, name, path, warn)?;
    }
    futimens(&fd, &times(st)).map_err(at("utimens", path))
}

/// Apply `st`'s metadata by path without following a symlink: for symlinks and device
/// nodes, which must not be opened (a FIFO would block, a device would be probed).
pub(crate) fn apply_path(
    path: &Path,
    st: &Stat,
    xattrs: &[Xattr],
    is_symlink: bool,
    warn: &mut dyn FnMut(&str),
) -> Result<(), CopyError> {
    let (uid, gid) = owner(st);
    chownat(CWD, path, uid, gid, AtFlags::SYMLINK_NOFOLLOW).map_err(at("lchown", path))?;
    // A symlink's mode is always 0777 and cannot be changed on Linux.
    if !is_symlink {
        chmodat(CWD, path, perm(st), AtFlags::empty()).map_err(at("chmod", path))?;
    }
    for (name, value) in xattrs {
        let res = lsetxattr(path, name.as_c_str(), value, XattrFlags::empty());
        xattr_result(res, name, path, warn)?;
    }
    utimensat(CWD, path, &times(st), AtFlags::SYMLINK_NOFOLLOW).map_err(at("utimens", path))
}

/// A destination that cannot store xattrs at all only costs a warning (`cp -a` does the
/// same); any other failure, ENOSPC above all, is an error.
fn xattr_result(
    res: rustix::io::Result<()>,
    name: &CString,
    path: &Path,
    warn: &mut dyn FnMut(&str),
) -> Result<(), CopyError> {
    match res {
        Ok(()) => Ok(()),
        Err(Errno::OPNOTSUPP) => {
            warn(&format!(
                "copy: {}: xattr {} not supported on the destination, dropped",
                path.display(),
                name.to_string_lossy()
            ));
            Ok(())
        }
        Err(e) => Err(CopyError::new("setxattr", path, e)),
    }
}

/// All readable xattrs of an open file. The list/get pair is retried on ERANGE, which
/// means the attributes grew between the size query and the read.
pub(crate) fn read_fd<Fd: AsFd>(fd: Fd, path: &Path) -> Result<Vec<Xattr>, CopyError> {
    read_with(
        path,
        || flistxattr_query(&fd),
        |buf| flistxattr(&fd, buf),
        |name, buf| fgetxattr(&fd, name, buf),
    )
}

/// All readable xattrs of `path` itself (a symlink is not followed).
pub(crate) fn read_path(path: &Path) -> Result<Vec<Xattr>, CopyError> {
    read_with(
        path,
        || llistxattr_query(path),
        |buf| llistxattr(path, buf),
        |name, buf| lgetxattr(path, name, buf),
    )
}

fn read_with(
    path: &Path,
    query: impl Fn() -> rustix::io::Result<usize>,
    list: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
    get: impl Fn(&CString, &mut [u8]) -> rustix::io::Result<usize>,
) -> Result<Vec<Xattr>, CopyError> {
    let names = loop {
        let size = match query() {
            Ok(n) => n,
            // The source filesystem has no xattrs at all (ramfs without them, for one).
            Err(Errno::OPNOTSUPP) => return Ok(Vec::new()),
            Err(e) => return Err(CopyError::new("listxattr", path, e)),
        };
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size];
        match list(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                break buf;
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(CopyError::new("listxattr", path, e)),
        }
    };
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(name).map_err(|_| CopyError::new("listxattr", path, Errno::INVAL))?;
        if let Some(value) = get_one(path, &name, &get)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// One value; `None` if it vanished since the listing.
fn get_one(
    path: &Path,
    name: &CString,
    get: &impl Fn(&CString, &mut [u8]) -> rustix::io::Result<usize>,
) -> Result<Option<Vec<u8>>, CopyError> {
    // Start with a guess that fits almost every value (capabilities are 20-24 bytes),
    // grow on ERANGE up to the kernel's XATTR_SIZE_MAX.
    let mut size = 256;
    loop {
        let mut buf = vec![0u8; size];
        match get(name, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(Errno::NODATA) => return Ok(None),
            Err(Errno::RANGE) if size < XATTR_SIZE_MAX => size = (size * 4).min(XATTR_SIZE_MAX),
            Err(e) => return Err(CopyError::new("getxattr", path, e)),
        }
    }
}

/// Largest xattr value Linux accepts.
const XATTR_SIZE_MAX: usize = 65536;
