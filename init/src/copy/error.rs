//! The one error type of the copy engine: which operation failed, on which path, and why.

use std::path::{Path, PathBuf};

use crate::sys::Errno;

/// A failed system call during resolution, measurement or copy.
///
/// Displays as `copy: open /usr/lib/foo: EACCES (Permission denied)`. The path is the one
/// the failing call was given: a source path for reads, a destination path for writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("copy: {op} {}: {}", path.display(), crate::error::errno_text(*errno))]
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
