//! [`LinuxSys`]'s module syscalls, kept apart from `linux.rs` so each file stays
//! readable.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::linux::{io_err, last_errno, LinuxSys};
use super::linux_children::{fork_claimed, release};
use super::linux_proc::wait_status;
use super::{Kmod, Within};
use crate::error::SysError;

/// `MODULE_INIT_COMPRESSED_FILE` (include/uapi/linux/module.h).
const MODULE_INIT_COMPRESSED_FILE: libc::c_uint = 4;

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

    fn finit_module_within(&self, path: &Path, params: &str, compressed: bool, timeout: Duration) -> Within {
        let fd = match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => return Within::Done(Err(SysError::new("open", path, e))),
        };
        let params = match cstr("finit_module", path, params.as_bytes()) {
            Ok(p) => p,
            Err(e) => return Within::Done(Err(e)),
        };
        let flags = if compressed { MODULE_INIT_COMPRESSED_FILE } else { 0 };
        // SAFETY: as in finit_module; fd and params outlive the fork and the call.
        bounded("finit_module", path, timeout, Some(fd.as_raw_fd()), || unsafe {
            libc::syscall(libc::SYS_finit_module, fd.as_raw_fd(), params.as_ptr(), flags)
        })
    }

    fn init_module_within(&self, image: &[u8], params: &str, path: &Path, timeout: Duration) -> Within {
        let params = match cstr("init_module", path, params.as_bytes()) {
            Ok(p) => p,
            Err(e) => return Within::Done(Err(e)),
        };
        // SAFETY: as in init_module; the image and params outlive the fork and the call.
        bounded("init_module", path, timeout, None, || unsafe {
            libc::syscall(libc::SYS_init_module, image.as_ptr(), image.len(), params.as_ptr())
        })
    }

    fn read_module(&self, path: &Path) -> Result<Vec<u8>, SysError> {
        std::fs::read(path).map_err(io_err("read", path))
    }
}

/// Run `call` (one module syscall) in a forked child and wait up to `timeout` for it.
/// A thread would not do: a module stuck in its init keeps its thread in the kernel,
/// and the handover's execve waits for every other thread of PID 1 to die. A child
/// process is left behind instead (zinit inherits it), and the boot goes on.
///
/// The child first closes every descriptor above stderr but `keep` (the module file):
/// a child stuck in a module's init lives on, and a descriptor it inherited from
/// another thread of PID 1 (the coldplug reading /sys while this load runs) would keep
/// that filesystem busy, so the switch's `umount /sys` would fail with EBUSY.
fn bounded(
    op: &'static str,
    path: &Path,
    timeout: Duration,
    keep: Option<libc::c_int>,
    call: impl FnOnce() -> libc::c_long,
) -> Within {
    // SAFETY: the child makes raw syscalls on data prepared before the fork, reads its
    // errno and _exits: no allocation, no lock another thread may have held. Claimed:
    // the stage loop's `reap` leaves it to the wait below.
    let pid = unsafe { fork_claimed() };
    if pid < 0 {
        return Within::Done(Err(SysError::new("fork", path, last_errno())));
    }
    if pid == 0 {
        close_inherited(keep);
        let code = if call() == 0 { 0 } else { last_errno().raw_os_error() };
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(code.clamp(0, 255)) }
    }
    match wait_status(pid, timeout) {
        Ok(None) => {
            release(pid); // left behind: a stray from now on
            Within::StillLoading { pid: pid as u32 }
        }
        Ok(Some(status)) if libc::WIFEXITED(status) => match libc::WEXITSTATUS(status) {
            0 => Within::Done(Ok(())),
            code => Within::Done(Err(SysError::new(op, path, Errno::from_raw_os_error(code)))),
        },
        // Killed by a signal (nothing here sends one): the load's result is unknown.
        Ok(Some(_)) => Within::Done(Err(SysError::new(op, path, Errno::INTR))),
        Err(e) => Within::Done(Err(e)),
    }
}

/// In the bounded child: close descriptors 3.. except `keep` (close_range(2), 5.9+;
/// on an older kernel the call fails and the descriptors stay, as before).
fn close_inherited(keep: Option<libc::c_int>) {
    let close = |first: u32, last: u32| {
        if first <= last {
            // SAFETY: close_range on this process's own descriptor table; no memory.
            unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
        }
    };
    match keep.and_then(|fd| u32::try_from(fd).ok()) {
        Some(fd) => {
            close(3, fd.saturating_sub(1));
            close(fd.saturating_add(1), u32::MAX);
        }
        None => close(3, u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn sleep_2s() -> libc::c_long {
        let ts = libc::timespec { tv_sec: 2, tv_nsec: 0 };
        // SAFETY: a valid timespec; no remainder wanted.
        unsafe { libc::syscall(libc::SYS_nanosleep, &ts, std::ptr::null_mut::<libc::timespec>()) }
    }

    #[test]
    fn a_call_still_running_at_the_timeout_is_left_in_its_child() {
        let t0 = Instant::now();
        let w = bounded(
            "finit_module",
            Path::new("/m/hang.ko"),
            Duration::from_millis(100),
            None,
            sleep_2s,
        );
        let Within::StillLoading { pid } = w else {
            panic!("{w:?}")
        };
        assert!(t0.elapsed() < Duration::from_millis(1500), "{:?}", t0.elapsed());
        // SAFETY: our own child; reaped right after.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        assert!(wait_status(pid as libc::pid_t, Duration::from_secs(5))
            .unwrap()
            .is_some());
    }

    #[test]
    fn the_child_reports_the_syscall_errno_or_success() {
        // close(-1) fails with EBADF (finit_module itself may be filtered in a container).
        // SAFETY: no memory involved.
        let bad = || unsafe { libc::syscall(libc::SYS_close, -1) };
        match bounded("finit_module", Path::new("/m/x.ko"), Duration::from_secs(10), None, bad) {
            Within::Done(Err(e)) => {
                assert_eq!((e.op, e.errno), ("finit_module", Errno::BADF));
                assert_eq!(e.path, Path::new("/m/x.ko"));
            }
            w => panic!("{w:?}"),
        }
        let t0 = Instant::now();
        assert!(matches!(
            bounded("init_module", Path::new("/m/y.ko"), Duration::from_secs(10), None, || 0),
            Within::Done(Ok(()))
        ));
        assert!(t0.elapsed() < Duration::from_secs(2), "the pidfd woke the wait late");
    }

    #[test]
    fn the_child_keeps_only_the_module_file_open() {
        let other = std::fs::File::open("/proc/self/stat").unwrap();
        let module = std::fs::File::open("/proc/self/cmdline").unwrap();
        let (o, m) = (other.as_raw_fd(), module.as_raw_fd());
        // In the child: Ok when `other` is closed and `module` still open, else EBADF.
        let probe = move || -> libc::c_long {
            // SAFETY: F_GETFD only queries the descriptor table; close(-1) fails, no memory.
            unsafe {
                if libc::fcntl(o, libc::F_GETFD) == -1 && libc::fcntl(m, libc::F_GETFD) != -1 {
                    0
                } else {
                    libc::syscall(libc::SYS_close, -1)
                }
            }
        };
        let w = bounded(
            "finit_module",
            Path::new("/m/z.ko"),
            Duration::from_secs(10),
            Some(m),
            probe,
        );
        assert!(matches!(w, Within::Done(Ok(()))), "{w:?}");
        // The parent's descriptors are untouched.
        // SAFETY: as above.
        assert_ne!(unsafe { libc::fcntl(o, libc::F_GETFD) }, -1);
    }
}
