//! Errors of the init. Every syscall failure carries the operation, the path and the
//! errno (`mount /mnt/root: ENOSPC (No space left on device)`), and every boot failure
//! carries the stage it happened in, so the emergency report can say all three.

use std::fmt;

use crate::sys::Errno;
use std::path::PathBuf;

use crate::stage::Stage;

/// A failed system call: what was attempted, on which path, and the errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysError {
    pub op: &'static str,
    pub path: PathBuf,
    pub errno: Errno,
}

impl SysError {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, errno: Errno) -> Self {
        SysError {
            op,
            path: path.into(),
            errno,
        }
    }
}

/// `EACCES (Permission denied)`: the symbolic name operators grep for, then the text.
pub fn errno_text(errno: Errno) -> String {
    let raw = errno.raw_os_error();
    // std's text ends in " (os error N)"; keep only the libc description.
    let text = std::io::Error::from_raw_os_error(raw).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    match errno_name(errno) {
        Some(name) => format!("{name} ({text})"),
        None => format!("errno {raw} ({text})"),
    }
}

/// Symbolic names of the errnos the init can plausibly meet.
pub fn errno_name(errno: Errno) -> Option<&'static str> {
    const NAMES: &[(Errno, &str)] = &[
        (Errno::PERM, "EPERM"),
        (Errno::NOENT, "ENOENT"),
        (Errno::INTR, "EINTR"),
        (Errno::IO, "EIO"),
        (Errno::NXIO, "ENXIO"),
        (Errno::TOOBIG, "E2BIG"),
        (Errno::NOEXEC, "ENOEXEC"),
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
        // What finit_module says of a bad module: corrupt, bad signature, no key.
        (Errno::BADMSG, "EBADMSG"),
        (Errno::NOKEY, "ENOKEY"),
        (Errno::KEYREJECTED, "EKEYREJECTED"),
    ];
    NAMES.iter().find(|(e, _)| *e == errno).map(|(_, n)| *n)
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
    #[error("the kernel could not unpack the whole image (\"{0}\"): the initramfs holds a partial rootfs; give the machine more RAM (without root= the kernel caps the initramfs at half of it) or shrink the image")]
    PartialUnpack(String),
    /// A failure in a step the runner chose at boot (`zos.root=auto` running the copy
    /// steps): the boot error names `step`, not the step of the plan.
    #[error("{step}: {source}")]
    In { step: String, source: Box<StepError> },
    /// exec returned without an error (only a recorder does that; a real execve
    /// that succeeds never returns).
    #[error("the handover target returned control to the init")]
    HandoverReturned,
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
    use crate::sys::Errno;

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
