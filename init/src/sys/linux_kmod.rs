//! [`LinuxSys`]'s module syscalls, kept apart from `linux.rs` so each file stays
//! readable.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::linux::LinuxSys;
use super::Kmod;
use crate::error::SysError;

/// `MODULE_INIT_COMPRESSED_FILE` (include/uapi/linux/module.h).
const MODULE_INIT_COMPRESSED_FILE: libc::c_uint = 4;

fn last_errno() -> Errno {
    Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
}

fn cstr(op: &'static str, path: &Path, s: &[u8]) -> Result<CString, SysError> {
    CString::new(s).map_err(|_| SysError::new(op, path, Errno::INVAL))
}

impl Kmod for LinuxSys {
    fn finit_module(&self, path: &Path, params: &str, compressed: bool) -> Result<(), SysError> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| SysError::new("open", path, e))?;
        let params = cstr("finit_module", path, params.as_bytes())?;
        let flags = if compressed { MODULE_INIT_COMPRESSED_FILE } else { 0 };
        // SAFETY: fd is an open descriptor and params a NUL-terminated string, both
        // alive for the duration of the call; the kernel only reads them.
        let rc = unsafe { libc::syscall(libc::SYS_finit_module, fd.as_raw_fd(), params.as_ptr(), flags) };
        if rc != 0 {
            return Err(SysError::new("finit_module", path, last_errno()));
        }
        Ok(())
    }

    fn init_module(&self, image: &[u8], params: &str, path: &Path) -> Result<(), SysError> {
        let params = cstr("init_module", path, params.as_bytes())?;
        // SAFETY: image points to image.len() readable bytes and params is
        // NUL-terminated; both outlive the call, which only reads them.
        let rc = unsafe { libc::syscall(libc::SYS_init_module, image.as_ptr(), image.len(), params.as_ptr()) };
        if rc != 0 {
            return Err(SysError::new("init_module", path, last_errno()));
        }
        Ok(())
    }

    fn read_module(&self, path: &Path) -> Result<Vec<u8>, SysError> {
        std::fs::read(path).map_err(|e| {
            SysError::new(
                "read",
                path,
                Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO)),
            )
        })
    }
}
