//! [`LinuxSys`](super::linux::LinuxSys)'s process calls: stdio, signals, exec,
//! fork/wait/kill, reboot and the kernel log; kept apart from `linux.rs` so each file
//! stays readable.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::linux::{cstring, err, last_errno, LinuxSys};
use super::linux_children::{fork_claimed, reap, release};
use super::{Power, Procs, Spawn, FOREVER};
use crate::error::SysError;

pub(super) fn stdio_open() -> bool {
    (0..3).all(|fd| {
        // SAFETY: F_GETFD only queries the descriptor table; fd may be closed.
        unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
    })
}

pub(super) fn reopen_stdio(console: &Path) -> Result<(), SysError> {
    let fd = rustix::fs::open(console, OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())
        .map_err(err("open", console))?;
    rustix::stdio::dup2_stdin(&fd).map_err(err("dup2 stdin", console))?;
    rustix::stdio::dup2_stdout(&fd).map_err(err("dup2 stdout", console))?;
    rustix::stdio::dup2_stderr(&fd).map_err(err("dup2 stderr", console))?;
    Ok(())
}

pub(super) fn reset_signals() -> Result<(), SysError> {
    // The raw syscall: libc's sigaction refuses the signals it reserves for itself
    // (32, 33), yet an ignored 32 inherited from our parent would reach zinit.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: 0, /* SIG_DFL */
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction with a valid kernel-layout struct and sigsetsize 8;
        // SIG_DFL runs no code in our process.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            )
        };
    }
    // SAFETY: an empty, initialised sigset_t passed by pointer, as documented.
    let rc = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(SysError::new("sigprocmask", "-", last_errno()));
    }
    Ok(())
}

pub(super) fn exec(path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError> {
    let prog = cstring("execve", path.as_os_str().as_bytes())?;
    let (_a, argv_p) = c_array(argv)?;
    let (_e, env_p) = c_array(env)?;
    // SAFETY: prog, argv_p and env_p are NUL-terminated C strings/arrays kept alive
    // by _a/_e for the duration of the call.
    unsafe { libc::execve(prog.as_ptr(), argv_p.as_ptr(), env_p.as_ptr()) };
    Err(SysError::new("execve", path, last_errno()))
}

pub(super) fn power(action: Power) -> Result<(), SysError> {
    rustix::fs::sync();
    let cmd = match action {
        Power::Reboot => rustix::system::RebootCommand::Restart,
        Power::Off => rustix::system::RebootCommand::PowerOff,
    };
    rustix::system::reboot(cmd).map_err(|e| SysError::new("reboot", "-", e))
}

pub(super) fn klog() -> Result<Vec<u8>, SysError> {
    const SYSLOG_ACTION_READ_ALL: libc::c_int = 3;
    const SYSLOG_ACTION_SIZE_BUFFER: libc::c_int = 10;
    // SAFETY: SIZE_BUFFER takes no buffer.
    let size = unsafe { libc::klogctl(SYSLOG_ACTION_SIZE_BUFFER, std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; size.clamp(4096, 1 << 20) as usize];
    // SAFETY: buf is valid for buf.len() bytes, as READ_ALL requires.
    let n = unsafe {
        libc::klogctl(
            SYSLOG_ACTION_READ_ALL,
            buf.as_mut_ptr().cast(),
            buf.len() as libc::c_int,
        )
    };
    if n < 0 {
        return Err(SysError::new("syslog", "-", last_errno()));
    }
    buf.truncate(n as usize);
    Ok(buf)
}

fn c_array(items: &[String]) -> Result<(Vec<CString>, Vec<*const libc::c_char>), SysError> {
    let owned = items
        .iter()
        .map(|s| cstring("execve", s.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ptrs: Vec<*const libc::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    Ok((owned, ptrs))
}

pub(super) fn spawn_in(cmd: &Spawn) -> Result<u32, SysError> {
    let prog_name = cmd.argv.first().map(String::as_str).unwrap_or("");
    let prog_path = Path::new(prog_name);
    let prog = cstring("execve", prog_name.as_bytes())?;
    let root = (cmd.root != Path::new("/"))
        .then(|| cstring("chroot", cmd.root.as_os_str().as_bytes()))
        .transpose()?;
    let tty = cmd
        .tty
        .as_ref()
        .map(|t| cstring("open", t.as_os_str().as_bytes()))
        .transpose()?;
    let (_a, argv_p) = c_array(&cmd.argv)?;
    let (_e, env_p) = c_array(&cmd.env)?;
    let new_group = cmd.new_group;
    let quiet = cmd.quiet;
    // SAFETY: the child only makes async-signal-safe calls on data built before the
    // fork, then execs or _exits. Claimed: its waiter (wait_child) reaps it, not `reap`.
    let pid = unsafe { fork_claimed() };
    if pid < 0 {
        return Err(SysError::new("fork", prog_path, last_errno()));
    }
    if pid == 0 {
        // SAFETY: see above; every pointer was built before the fork.
        unsafe {
            if new_group {
                libc::setpgid(0, 0);
            }
            if let Some(r) = &root {
                if libc::chroot(r.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                    libc::_exit(126);
                }
            }
            if let Some(t) = &tty {
                // A shell: its own session, the console as controlling tty and stdio.
                libc::setsid();
                let fd = libc::open(t.as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    libc::ioctl(fd, libc::TIOCSCTTY, 0);
                    libc::dup2(fd, 0);
                    libc::dup2(fd, 1);
                    libc::dup2(fd, 2);
                }
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

/// Blocking wait for `pid`, reaping whatever else exits meanwhile (the emergency
/// shell: orphans reparented to PID 1 must not pile up while it runs).
fn wait_forever(pid: u32) -> Result<Option<i32>, SysError> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let got = unsafe { libc::waitpid(-1, &mut status, 0) };
        if got > 0 {
            release(got);
        }
        if got == pid as libc::pid_t {
            return Ok(Some(exit_status(status)));
        }
        if got < 0 && last_errno() != Errno::INTR {
            return Err(SysError::new("waitpid", format!("pid {pid}"), last_errno()));
        }
    }
}

fn exit_status(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

pub(super) fn wait_child(pid: u32, timeout: Duration) -> Result<Option<i32>, SysError> {
    if timeout == FOREVER {
        return wait_forever(pid);
    }
    Ok(wait_status(pid as libc::pid_t, timeout)?.map(exit_status))
}

/// The raw wait status of child `pid`, or None if it is still running after `timeout`.
/// A pidfd wakes the wait the moment the child ends; polling is the fallback.
pub(super) fn wait_status(pid: libc::pid_t, timeout: Duration) -> Result<Option<libc::c_int>, SysError> {
    let what = || format!("pid {pid}");
    // SAFETY: pidfd_open takes a pid and flags, no memory.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    let t0 = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: non-blocking waitpid on our own child with a valid out-pointer.
        let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if got == pid {
            release(pid);
            if pidfd >= 0 {
                // SAFETY: closing the pidfd opened above, once.
                unsafe { libc::close(pidfd) };
            }
            return Ok(Some(status));
        }
        if got < 0 && last_errno() != Errno::INTR {
            let errno = last_errno();
            release(pid); // not ours to wait for any more (ECHILD: gone)
            return Err(SysError::new("waitpid", what(), errno));
        }
        let left = timeout.saturating_sub(t0.elapsed());
        if left.is_zero() {
            if pidfd >= 0 {
                // SAFETY: as above.
                unsafe { libc::close(pidfd) };
            }
            return Ok(None);
        }
        if pidfd >= 0 {
            let mut p = libc::pollfd {
                fd: pidfd,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd; EINTR just loops.
            unsafe { libc::poll(&mut p, 1, ms) };
        } else {
            std::thread::sleep(left.min(Duration::from_millis(5)));
        }
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

impl Procs for LinuxSys {
    fn pid(&self) -> u32 {
        rustix::process::getpid().as_raw_nonzero().get() as u32
    }
    fn uname_release(&self) -> String {
        rustix::system::uname().release().to_string_lossy().into_owned()
    }
    fn stdio_open(&self) -> bool {
        stdio_open()
    }
    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError> {
        reopen_stdio(console)
    }
    fn reset_signals(&self) -> Result<(), SysError> {
        reset_signals()
    }
    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError> {
        exec(path, argv, env)
    }
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError> {
        spawn_in(cmd)
    }
    fn wait_child(&self, pid: u32, timeout: Duration) -> Result<Option<i32>, SysError> {
        wait_child(pid, timeout)
    }
    fn reap(&self) -> u32 {
        reap()
    }
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError> {
        kill_group(pgid, signal)
    }
}
