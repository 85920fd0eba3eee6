//! The one error type of the copy engine: which operation failed, on which path, and why.

use std::fmt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

/// A failed system call during resolution, measurement or copy.
///
/// Displays as `copy: open /usr/lib/foo: EACCES (Permission denied)`. The path is the one
/// the failing call was given: a source path for reads, a destination path for writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("copy: {op} {}: {}", path.display(), ErrnoText(*errno))]
pub struct CopyError {
    /// Short name of the failed operation (`open`, `write`, `mkdir`, `setxattr`...).
    pub op: &'static str,
    /// The path the operation was applied to.
    pub path: PathBuf,
    /// The errno the kernel returned.
    pub errno: Errno,
}

impl CopyError {
    /// Build an error from its parts.
    pub fn new(op: &'static str, path: impl Into<PathBuf>, errno: Errno) -> Self {
        CopyError {
            op,
            path: path.into(),
            errno,
        }
    }
}

/// `map_err` helper: `.map_err(at("open", &path))`.
pub(crate) fn at<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> CopyError + 'a {
    move |errno| CopyError::new(op, path, errno)
}

/// `EACCES (Permission denied)`: the symbolic name that people grep for, then the text.
struct ErrnoText(Errno);

impl fmt::Display for ErrnoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = self.0.raw_os_error();
        // std's text ends in " (os error N)"; keep only the libc description.
        let text = std::io::Error::from_raw_os_error(raw).to_string();
        let text = match text.find(" (os error ") {
            Some(cut) => &text[..cut],
            None => &text,
        };
        match errno_name(self.0) {
            Some(name) => write!(f, "{name} ({text})"),
            None => write!(f, "errno {raw} ({text})"),
        }
    }
}

/// Symbolic names of the errnos a copy can plausibly meet.
pub fn errno_name(errno: Errno) -> Option<&'static str> {
    const NAMES: &[(Errno, &str)] = &[
        (Errno::PERM, "EPERM"),
        (Errno::NOENT, "ENOENT"),
        (Errno::INTR, "EINTR"),
        (Errno::IO, "EIO"),
        (Errno::NXIO, "ENXIO"),
        (Errno::TOOBIG, "E2BIG"),
        (Errno::BADF, "EBADF"),
        (Errno::AGAIN, "EAGAIN"),
        (Errno::NOMEM, "ENOMEM"),
        (Errno::ACCESS, "EACCES"),
        (Errno::FAULT, "EFAULT"),
        (Errno::BUSY, "EBUSY"),
        (Errno::EXIST, "EEXIST"),
        (Errno::XDEV, "EXDEV"),
        (Errno::NODEV, "ENODEV"),
        (Errno::NOTDIR, "ENOTDIR"),
        (Errno::ISDIR, "EISDIR"),
        (Errno::INVAL, "EINVAL"),
        (Errno::NFILE, "ENFILE"),
        (Errno::MFILE, "EMFILE"),
        (Errno::TXTBSY, "ETXTBSY"),
        (Errno::FBIG, "EFBIG"),
        (Errno::NOSPC, "ENOSPC"),
        (Errno::SPIPE, "ESPIPE"),
        (Errno::ROFS, "EROFS"),
        (Errno::MLINK, "EMLINK"),
        (Errno::RANGE, "ERANGE"),
        (Errno::NAMETOOLONG, "ENAMETOOLONG"),
        (Errno::NOSYS, "ENOSYS"),
        (Errno::NOTEMPTY, "ENOTEMPTY"),
        (Errno::LOOP, "ELOOP"),
        (Errno::NODATA, "ENODATA"),
        (Errno::OVERFLOW, "EOVERFLOW"),
        (Errno::OPNOTSUPP, "EOPNOTSUPP"),
        (Errno::DQUOT, "EDQUOT"),
        (Errno::STALE, "ESTALE"),
    ];
    NAMES.iter().find(|(e, _)| *e == errno).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_op_path_and_errno() {
        let err = CopyError::new("open", "/usr/lib/foo", Errno::ACCESS);
        assert_eq!(err.to_string(), "copy: open /usr/lib/foo: EACCES (Permission denied)");
        let err = CopyError::new("write", "/mnt/root/big", Errno::NOSPC);
        assert_eq!(
            err.to_string(),
            "copy: write /mnt/root/big: ENOSPC (No space left on device)"
        );
    }

    #[test]
    fn unknown_errno_still_shows_number() {
        let err = CopyError::new("open", "/x", Errno::from_raw_os_error(133));
        assert!(err.to_string().starts_with("copy: open /x: errno 133 ("));
    }
}
