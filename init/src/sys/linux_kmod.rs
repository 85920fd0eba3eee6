//! [`LinuxSys`]'s module syscalls and child processes (udevd, udevadm), kept apart
//! from `linux.rs` so each file stays readable.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::linux::LinuxSys;
use super::{Kmod, Spawn};
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

pub(super) fn spawn_in(cmd: &Spawn) -> Result<u32, SysError> {
    let prog_name = cmd.argv.first().map(String::as_str).unwrap_or("");
    let prog_path = Path::new(prog_name);
    let prog = cstr("execve", prog_path, prog_name.as_bytes())?;
    let root = cstr("chroot", &cmd.root, cmd.root.as_os_str().as_bytes())?;
    let to_c = |v: &[String]| -> Result<Vec<CString>, SysError> {
        v.iter().map(|s| cstr("execve", prog_path, s.as_bytes())).collect()
    };
    let (argv, env) = (to_c(&cmd.argv)?, to_c(&cmd.env)?);
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut env_p: Vec<*const libc::c_char> = env.iter().map(|c| c.as_ptr()).collect();
    env_p.push(std::ptr::null());
    let new_group = cmd.new_group;
    let quiet = cmd.quiet;
    // SAFETY: the child only makes async-signal-safe calls on data built before the
    // fork, then execs or _exits, so other threads of the init (none in udev mode,
    // which runs after the overlap's join) cannot leave it a held lock.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SysError::new("fork", prog_path, last_errno()));
    }
    if pid == 0 {
        // SAFETY: see above; every pointer was built before the fork.
        unsafe {
            if new_group {
                libc::setpgid(0, 0);
            }
            if libc::chroot(root.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                libc::_exit(126);
            }
            if quiet {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                if null >= 0 {
                    libc::dup2(null, 1);
                    libc::dup2(null, 2);
                }
            }
            libc::execve(prog.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
            libc::_exit(127);
        }
    }
    Ok(pid as u32)
}

pub(super) fn wait_child(pid: u32, timeout: Duration) -> Result<Option<i32>, SysError> {
    let t0 = Instant::now();
    let what = format!("pid {pid}");
    loop {
        let mut status = 0;
        // SAFETY: non-blocking waitpid on our own child with a valid out-pointer.
        let got = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
        if got == pid as libc::pid_t {
            return Ok(Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            }));
        }
        if got < 0 {
            let e = last_errno();
            if e != Errno::INTR {
                return Err(SysError::new("waitpid", what, e));
            }
        }
        if t0.elapsed() >= timeout {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(super) fn kill_group(pgid: u32, signal: i32) -> Result<(), SysError> {
    // SAFETY: kill(2) with a negative pid signals that process group; no memory.
    let rc = unsafe { libc::kill(-(pgid as libc::pid_t), signal) };
    match rc {
        0 => Ok(()),
        _ if last_errno() == Errno::SRCH => Ok(()),
        _ => Err(SysError::new("kill", format!("-{pgid}"), last_errno())),
    }
}
