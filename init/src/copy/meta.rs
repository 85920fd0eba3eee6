//! Owners, modes, extended attributes and times, applied in the order the kernel needs.
//!
//! `chown` clears setuid/setgid and drops `security.capability`, and writing data clears
//! them too; setting xattrs or the mode bumps ctime only. So every entry gets, after its
//! content: owner, then mode, then xattrs, then times last.

use std::ffi::CString;
use std::path::Path;

use crate::sys::{Errno, FileStat, FsOps, Target};

use super::error::{at, CopyError};

/// One extended attribute: name (`security.capability`, `user.foo`...) and raw value.
pub(crate) type Xattr = (CString, Vec<u8>);

/// Apply `st`'s metadata to `target`: an open regular file or directory, or a path
/// not followed (symlinks and device nodes, which must not be opened: a FIFO would
/// block, a device would be probed). `path` names it in errors.
pub(crate) fn apply(
    fs: &dyn FsOps,
    target: Target<'_>,
    path: &Path,
    st: &FileStat,
    xattrs: &[Xattr],
    warn: &mut dyn FnMut(&str),
) -> Result<(), CopyError> {
    let by_path = matches!(target, Target::Path(_));
    let chown = if by_path { "lchown" } else { "chown" };
    fs.set_owner(target, st.uid, st.gid).map_err(at(chown, path))?;
    // A symlink's mode is always 0777 and cannot be changed on Linux.
    if st.kind != crate::sys::NodeKind::Symlink {
        fs.set_perm(target, st.perm).map_err(at("chmod", path))?;
    }
    for (name, value) in xattrs {
        xattr_result(fs.xattr_set(target, name, value), name, path, warn)?;
    }
    fs.set_times(target, st.atime, st.mtime).map_err(at("utimens", path))
}

/// A destination that cannot store xattrs at all only costs a warning (`cp -a` does the
/// same); any other failure, ENOSPC above all, is an error.
fn xattr_result(
    res: Result<(), Errno>,
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

/// All readable xattrs of `target` (an open file, or a path not followed).
pub(crate) fn read(fs: &dyn FsOps, target: Target<'_>, path: &Path) -> Result<Vec<Xattr>, CopyError> {
    let names = match fs.xattr_names(target) {
        Ok(names) => names,
        // The source filesystem has no xattrs at all (ramfs without them, for one).
        Err(Errno::OPNOTSUPP) => return Ok(Vec::new()),
        Err(e) => return Err(CopyError::new("listxattr", path, e)),
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        match fs.xattr_get(target, &name) {
            Ok(value) => out.push((name, value)),
            // Gone since the listing.
            Err(Errno::NODATA) => {}
            Err(e) => return Err(CopyError::new("getxattr", path, e)),
        }
    }
    Ok(out)
}
