//! Errors of the init. Every syscall failure carries the operation, the path and the
//! errno (`mount /mnt/root: ENOSPC (No space left on device)`), and every boot failure
//! carries the stage it happened in, so the emergency report can say all three.

use std::fmt;
use std::path::PathBuf;

use crate::stage::Stage;

/// A failed system call: what was attempted, on which path, and the errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysError {
    pub op: &'static str,
    pub path: PathBuf,
    pub errno: rustix::io::Errno,
}

impl SysError {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, errno: rustix::io::Errno) -> Self {
        SysError {
            op,
            path: path.into(),
            errno,
        }
    }
}

/// `EACCES (Permission denied)`: the symbolic name operators grep for, then the text.
pub fn errno_text(errno: rustix::io::Errno) -> String {
    let raw = errno.raw_os_error();
    let name = errno_name(raw);
    let text = std::io::Error::from_raw_os_error(raw).to_string();
    // std appends " (os error N)"; keep only the human part.
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    format!("{name} ({text})")
}

fn errno_name(raw: i32) -> String {
    let name = match raw {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENOTSUP => "EOPNOTSUPP",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::ENXIO => "ENXIO",
        libc::ENODATA => "ENODATA",
        libc::EDQUOT => "EDQUOT",
        _ => return format!("errno {raw}"),
    };
    name.to_string()
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.path.display(), errno_text(self.errno))
    }
}

impl std::error::Error for SysError {}

/// Why a boot step could not be done (without the stage: see [`InitError`]).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Sys(#[from] SysError),
    #[error("{0}")]
    Copy(#[from] crate::copy::CopyError),
    #[error("{0}")]
    Fit(#[from] crate::fit::FitError),
    #[error("handover target {path} {why} in the new root")]
    Target { path: PathBuf, why: &'static str },
    #[error("switch_root refused: {0}")]
    Refused(String),
}

/// A boot failure: the stage it happened in, the step (a shell-like line), the cause.
#[derive(Debug, thiserror::Error)]
#[error("stage {stage}: {step}: {source}")]
pub struct InitError {
    pub stage: Stage,
    pub step: String,
    #[source]
    pub source: StepError,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::io::Errno;

    #[test]
    fn sys_error_names_op_path_errno() {
        let e = SysError::new("mount", "/mnt/root", Errno::NOSPC);
        assert_eq!(e.to_string(), "mount /mnt/root: ENOSPC (No space left on device)");
    }

    #[test]
    fn unknown_errno_still_numbered() {
        assert!(errno_text(Errno::from_raw_os_error(4000)).starts_with("errno 4000"));
    }
}
