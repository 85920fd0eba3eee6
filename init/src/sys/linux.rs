//! [`Sys`] on the real kernel: each method is a thin wrapper that turns the errno into
//! a [`SysError`] naming the operation and the path.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountPropagationFlags, UnmountFlags};

use super::{Cleared, Kmod, Power, Spawn, Sys, Warn};
use crate::copy::{self, CopyError, CopySpec, CopyStats, Footprint};
use crate::error::SysError;
use crate::table::MountRow;

pub struct LinuxSys;

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> SysError + 'a {
    move |e| SysError::new(op, path, e)
}

fn cstring(op: &'static str, s: &[u8]) -> Result<CString, SysError> {
    CString::new(s).map_err(|_| SysError::new(op, String::from_utf8_lossy(s).into_owned(), Errno::INVAL))
}

impl Sys for LinuxSys {
    fn mount(&self, row: &MountRow) -> Result<(), SysError> {
        let target = Path::new(&row.target);
        self.mkdir_p(target)?;
        let data = cstring("mount", row.data.as_bytes())?;
        let data = (!row.data.is_empty()).then_some(data.as_c_str());
        rustix::mount::mount(row.source.as_str(), target, row.fstype, row.flags, data).map_err(err("mount", target))
    }

    fn umount(&self, path: &Path, detach: bool) -> Result<(), SysError> {
        let flags = if detach {
            UnmountFlags::DETACH
        } else {
            UnmountFlags::empty()
        };
        rustix::mount::unmount(path, flags).map_err(err("umount", path))
    }

    fn mount_move(&self, src: &Path, dst: &Path) -> Result<(), SysError> {
        rustix::mount::mount_move(src, dst).map_err(err("mount --move", src))
    }

    fn make_rprivate(&self, path: &Path) -> Result<(), SysError> {
        let flags = MountPropagationFlags::PRIVATE | MountPropagationFlags::REC;
        rustix::mount::mount_change(path, flags).map_err(err("mount --make-rprivate", path))
    }

    fn mkdir_p(&self, path: &Path) -> Result<(), SysError> {
        std::fs::create_dir_all(path).map_err(|e| SysError::new("mkdir", path, io_errno(&e)))
    }

    fn chdir(&self, path: &Path) -> Result<(), SysError> {
        rustix::process::chdir(path).map_err(err("chdir", path))
    }

    fn chroot(&self, path: &Path) -> Result<(), SysError> {
        rustix::process::chroot(path).map_err(err("chroot", path))
    }

    fn fs_magic(&self, path: &Path) -> Result<u64, SysError> {
        let st = rustix::fs::statfs(path).map_err(err("statfs", path))?;
        // f_type is signed on some ABIs; the magics we compare fit in 32 bits.
        Ok(st.f_type as u64 & 0xffff_ffff)
    }

    fn fs_available(&self, path: &Path) -> Result<u64, SysError> {
        let st = rustix::fs::statvfs(path).map_err(err("statvfs", path))?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }

    fn device_of(&self, path: &Path) -> Result<u64, SysError> {
        let st = rustix::fs::lstat(path).map_err(err("stat", path))?;
        Ok(st.st_dev)
    }

    fn pid(&self) -> u32 {
        rustix::process::getpid().as_raw_nonzero().get() as u32
    }

    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError> {
        let Some(full) = resolve_in(root, path)? else {
            return Ok(false);
        };
        match rustix::fs::lstat(&full) {
            Ok(st) => Ok(FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && st.st_mode & 0o111 != 0),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(false),
            Err(e) => Err(SysError::new("stat", &full, e)),
        }
    }

    fn read_to_string(&self, path: &Path) -> Result<String, SysError> {
        let bytes = std::fs::read(path).map_err(|e| SysError::new("read", path, io_errno(&e)))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn dmesg(&self) -> Result<String, SysError> {
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
            return Err(SysError::new("syslog", "-", Errno::from_raw_os_error(last_errno())));
        }
        buf.truncate(n as usize);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        if let Some(parent) = path.parent() {
            self.mkdir_p(parent)?;
        }
        std::fs::write(path, data).map_err(|e| SysError::new("write", path, io_errno(&e)))
    }

    fn clear_old_root(&self, root: &Path) -> Result<Cleared, SysError> {
        let dir = rustix::fs::open(
            root,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(err("open", root))?;
        let dev = rustix::fs::fstat(&dir).map_err(err("stat", root))?.st_dev;
        let mut cleared = Cleared::default();
        clear_dir(&dir, root, dev, &mut cleared);
        Ok(cleared)
    }

    fn remount(&self, path: &Path, data: &str) -> Result<(), SysError> {
        let data = cstring("mount", data.as_bytes())?;
        rustix::mount::mount_remount(path, rustix::mount::MountFlags::empty(), data.as_c_str())
            .map_err(err("mount -o remount", path))
    }

    fn bind_mount(&self, src: &Path, dst: &Path) -> Result<(), SysError> {
        rustix::mount::mount_bind(src, dst).map_err(err("mount --bind", dst))
    }

    fn fs_used(&self, path: &Path) -> Result<u64, SysError> {
        let st = rustix::fs::statvfs(path).map_err(err("statvfs", path))?;
        Ok(st.f_blocks.saturating_sub(st.f_bfree).saturating_mul(st.f_frsize))
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>, SysError> {
        let rd = std::fs::read_dir(path).map_err(|e| SysError::new("opendir", path, io_errno(&e)))?;
        let mut names = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| SysError::new("readdir", path, io_errno(&e)))?;
            names.push(ent.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn remove_path(&self, path: &Path) -> Result<Cleared, SysError> {
        let st = rustix::fs::lstat(path).map_err(err("stat", path))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            rustix::fs::unlink(path).map_err(err("unlink", path))?;
            return Ok(Cleared {
                entries: 1,
                bytes: st.st_blocks as u64 * 512,
                failed: Vec::new(),
            });
        }
        let mut cleared = self.clear_old_root(path)?;
        match rustix::fs::rmdir(path) {
            Ok(()) => cleared.entries += 1,
            // A mount point inside keeps it (as clear_old_root leaves those).
            Err(Errno::NOTEMPTY) | Err(Errno::BUSY) => {}
            Err(e) => return Err(SysError::new("rmdir", path, e)),
        }
        Ok(cleared)
    }

    fn mknod_console(&self, path: &Path) -> Result<(), SysError> {
        let dev = rustix::fs::makedev(5, 1);
        match rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o600),
            dev,
        ) {
            Ok(()) | Err(Errno::EXIST) => Ok(()),
            Err(e) => Err(SysError::new("mknod", path, e)),
        }
    }

    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError> {
        let fd = rustix::fs::open(console, OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())
            .map_err(err("open", console))?;
        rustix::stdio::dup2_stdin(&fd).map_err(err("dup2 stdin", console))?;
        rustix::stdio::dup2_stdout(&fd).map_err(err("dup2 stdout", console))?;
        rustix::stdio::dup2_stderr(&fd).map_err(err("dup2 stderr", console))?;
        Ok(())
    }

    fn stdio_open(&self) -> bool {
        (0..3).all(|fd| {
            // SAFETY: F_GETFD only queries the descriptor table; fd may be closed.
            unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
        })
    }

    fn reset_signals(&self) -> Result<(), SysError> {
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
            return Err(SysError::new(
                "sigprocmask",
                "-",
                Errno::from_raw_os_error(last_errno()),
            ));
        }
        Ok(())
    }

    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError> {
        let prog = cstring("execve", path.as_os_str().as_bytes())?;
        let (_a, argv_p) = c_array(argv)?;
        let (_e, env_p) = c_array(env)?;
        // SAFETY: prog, argv_p and env_p are NUL-terminated C strings/arrays kept alive
        // by _a/_e for the duration of the call.
        unsafe { libc::execve(prog.as_ptr(), argv_p.as_ptr(), env_p.as_ptr()) };
        Err(SysError::new("execve", path, Errno::from_raw_os_error(last_errno())))
    }

    fn run_shell(&self, shell: &Path, root: &Path, console: &Path, env: &[String]) -> Result<i32, SysError> {
        let prog = cstring("execve", shell.as_os_str().as_bytes())?;
        let new_root = (root != Path::new("/"))
            .then(|| cstring("chroot", root.as_os_str().as_bytes()))
            .transpose()?;
        let tty = cstring("open", console.as_os_str().as_bytes())?;
        let (_a, argv_p) = c_array(&[shell.display().to_string()])?;
        let (_e, env_p) = c_array(env)?;
        // SAFETY: the child only calls async-signal-safe functions on data prepared
        // before the fork, then execs or _exits, so the coldplug and module threads
        // that may run meanwhile (a break before the copy) cannot leave it a held lock.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(SysError::new("fork", shell, Errno::from_raw_os_error(last_errno())));
        }
        if pid == 0 {
            // SAFETY: see above; all pointers were built before fork.
            unsafe {
                if let Some(r) = &new_root {
                    if libc::chroot(r.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                        libc::_exit(126);
                    }
                }
                libc::setsid();
                let fd = libc::open(tty.as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    libc::ioctl(fd, libc::TIOCSCTTY, 0);
                    libc::dup2(fd, 0);
                    libc::dup2(fd, 1);
                    libc::dup2(fd, 2);
                }
                libc::execve(prog.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
                libc::_exit(127);
            }
        }
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid out-pointer.
            let got = unsafe { libc::waitpid(-1, &mut status, 0) };
            if got == pid {
                return Ok(if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                });
            }
            if got < 0 && last_errno() != libc::EINTR {
                return Err(SysError::new("waitpid", shell, Errno::from_raw_os_error(last_errno())));
            }
        }
    }

    fn reap(&self) -> u32 {
        let mut n = 0;
        loop {
            let mut status = 0;
            // SAFETY: non-blocking waitpid with a valid out-pointer.
            let got = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if got <= 0 {
                return n;
            }
            n += 1;
        }
    }

    fn power(&self, action: Power) -> Result<(), SysError> {
        rustix::fs::sync();
        let cmd = match action {
            Power::Reboot => rustix::system::RebootCommand::Restart,
            Power::Off => rustix::system::RebootCommand::PowerOff,
        };
        rustix::system::reboot(cmd).map_err(|e| SysError::new("reboot", "-", e))
    }

    fn measure(&self, src_root: &Path, sources: &[PathBuf], spec: &CopySpec) -> Result<Footprint, CopyError> {
        copy::measure(src_root, sources, spec)
    }

    fn copy(
        &self,
        src_root: &Path,
        dst_root: &Path,
        sources: &[PathBuf],
        spec: &CopySpec,
        warn: Warn<'_>,
    ) -> Result<CopyStats, CopyError> {
        copy::copy_tree(src_root, dst_root, sources, spec, warn)
    }

    fn resolve_sources(&self, src_root: &Path, spec: &CopySpec) -> Result<Vec<PathBuf>, CopyError> {
        copy::resolve_sources(src_root, spec)
    }

    fn kmod(&self) -> &dyn Kmod {
        self
    }
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError> {
        super::linux_kmod::spawn_in(cmd)
    }
    fn wait_child(&self, pid: u32, timeout: std::time::Duration) -> Result<Option<i32>, SysError> {
        super::linux_kmod::wait_child(pid, timeout)
    }
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError> {
        super::linux_kmod::kill_group(pgid, signal)
    }
}

/// Remove the children of `dir` that sit on device `dev`, depth first. Entries on
/// another device are mount points (the new root, a stray mount): left alone.
/// Remove everything below `dir` on device `dev`. A failing entry is recorded in
/// `cleared.failed` and skipped: whatever else can be freed still is (the RAM it holds
/// is the point), and the caller reports the rest.
fn clear_dir(dir: &rustix::fd::OwnedFd, path: &Path, dev: u64, cleared: &mut Cleared) {
    let mut fail = |e: SysError| cleared.failed.push(e.to_string());
    let mut names = Vec::new();
    let it = match rustix::fs::Dir::read_from(dir) {
        Ok(it) => it,
        Err(e) => return fail(SysError::new("opendir", path, e)),
    };
    for ent in it {
        match ent {
            Ok(ent) if !matches!(ent.file_name().to_bytes(), b"." | b"..") => names.push(ent.file_name().to_owned()),
            Ok(_) => {}
            Err(e) => {
                fail(SysError::new("readdir", path, e));
                break;
            }
        }
    }
    for name in names {
        let child = path.join(std::ffi::OsStr::from_bytes(name.as_bytes()));
        let st = match rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(e) => {
                cleared.failed.push(SysError::new("stat", &child, e).to_string());
                continue;
            }
        };
        if st.st_dev != dev {
            continue;
        }
        let removed = if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(dir, &name, flags, Mode::empty()) {
                Ok(sub) => clear_dir(&sub, &child, dev, cleared),
                Err(e) => cleared.failed.push(SysError::new("open", &child, e).to_string()),
            }
            match rustix::fs::unlinkat(dir, &name, AtFlags::REMOVEDIR) {
                // A mount point inside (same fs type, other dev), or a child that could
                // not go (already reported), keeps it non-empty.
                Ok(()) | Err(Errno::NOTEMPTY) | Err(Errno::BUSY) => true,
                Err(e) => {
                    cleared.failed.push(SysError::new("rmdir", &child, e).to_string());
                    false
                }
            }
        } else {
            match rustix::fs::unlinkat(dir, &name, AtFlags::empty()) {
                Ok(()) => {
                    cleared.bytes += st.st_blocks as u64 * 512;
                    true
                }
                Err(e) => {
                    cleared.failed.push(SysError::new("unlink", &child, e).to_string());
                    false
                }
            }
        };
        cleared.entries += u64::from(removed);
    }
}

/// `path` as it will resolve once `root` is `/`: follow symlinks (in every component)
/// with absolute targets re-rooted. `None` for a loop or a dangling link.
fn resolve_in(root: &Path, path: &Path) -> Result<Option<PathBuf>, SysError> {
    let mut todo: Vec<std::ffi::OsString> = path.components().rev().filter_map(comp_name).collect();
    let mut cur = PathBuf::from("/");
    let mut hops = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        let full = root.join(next.strip_prefix("/").unwrap_or(&next));
        match std::fs::read_link(&full) {
            Ok(target) => {
                hops += 1;
                if hops > 40 {
                    return Ok(None);
                }
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                todo.extend(target.components().rev().filter_map(comp_name));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => cur = next, // not a link
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(SysError::new("readlink", &full, io_errno(&e))),
        }
    }
    Ok(Some(root.join(cur.strip_prefix("/").unwrap_or(&cur))))
}

fn comp_name(c: std::path::Component<'_>) -> Option<std::ffi::OsString> {
    match c {
        std::path::Component::Normal(n) => Some(n.to_owned()),
        std::path::Component::ParentDir => Some("..".into()),
        _ => None,
    }
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

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
#[path = "linux_clear_tests.rs"]
mod clear_tests;
