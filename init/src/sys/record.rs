//! A [`Sys`] that performs nothing: it records every call, in order, as the shell-like
//! line an operator would read, and fails the calls a test asks it to fail
//! (`fail_on("mount", "/mnt/root", Errno::NOSPC)`), so tests check whole call
//! sequences and every error path without root.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rustix::io::Errno;

use super::record_kmod::RecordKmod;
use super::{Cleared, Kmod, Power, Spawn, Sys, Warn};
use crate::copy::{CopyError, CopySpec, CopyStats, Footprint};
use crate::error::SysError;
use crate::table::MountRow;

/// A `RefCell`-like cell that is `Sync` (a mutex): the overlapped stages call the
/// recorder from their own threads. Never borrowed twice at once (as a `RefCell`).
#[derive(Default)]
pub struct Shared<T>(Mutex<T>);

impl<T> Shared<T> {
    pub fn borrow(&self) -> MutexGuard<'_, T> {
        // A test that panicked while holding it has failed already.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn borrow_mut(&self) -> MutexGuard<'_, T> {
        self.borrow()
    }
}

pub struct RecordSys {
    pub(crate) calls: Shared<Vec<String>>,
    /// Files written through `write_file`, in order.
    pub written: Shared<Vec<(PathBuf, Vec<u8>)>>,
    pub(crate) failures: Shared<Vec<(&'static str, PathBuf, Errno)>>,
    /// What `measure` reports, and what `fs_available` / meminfo say.
    pub footprint: Footprint,
    pub available: u64,
    pub meminfo: String,
    pub pid: u32,
    pub stdio: bool,
    pub executables: Vec<PathBuf>,
    pub magic: u64,
    /// What `dmesg` returns.
    pub dmesg: String,
    /// What `list_dir` returns (any directory) and `fs_used` says.
    pub listing: Vec<String>,
    pub used: u64,
    /// The module syscalls, recorded on their own (they come from several threads).
    pub kmod: RecordKmod,
    /// What copy-and-free removes as the module loader sees it: `copy` (with
    /// `free_source`) hands these to [`RecordKmod::free`].
    pub copy_frees: Vec<PathBuf>,
}

impl Default for RecordSys {
    fn default() -> Self {
        RecordSys {
            calls: Shared::default(),
            written: Shared::default(),
            failures: Shared::default(),
            footprint: Footprint {
                bytes: 10 << 20,
                files: 100,
                dirs: 10,
                largest_file: 1 << 20,
            },
            available: 1536 << 20,
            meminfo: "MemTotal:        2000000 kB\nMemAvailable:    1900000 kB\n".into(),
            pid: 1,
            stdio: true,
            executables: vec![PathBuf::from("/mnt/root/sbin/zinit"), PathBuf::from("/bin/sh")],
            dmesg: "<6>[    1.0] kernel says hi\n".into(),
            magic: 0x0102_1994,
            listing: ["bin", "dev", "etc", "init", "lib", "mnt", "proc", "sys", "usr"]
                .map(String::from)
                .to_vec(),
            used: 12 << 20,
            kmod: RecordKmod::default(),
            copy_frees: Vec::new(),
        }
    }
}

impl RecordSys {
    /// Make the next call of `op` on `path` fail with `errno` (once).
    pub fn fail_on(&self, op: &'static str, path: impl Into<PathBuf>, errno: Errno) {
        self.failures.borrow_mut().push((op, path.into(), errno));
    }

    /// The calls so far, one line each.
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn call(&self, op: &'static str, path: &Path, line: String) -> Result<(), SysError> {
        self.calls.borrow_mut().push(line);
        let mut failures = self.failures.borrow_mut();
        if let Some(i) = failures.iter().position(|(o, p, _)| *o == op && p == path) {
            let (_, _, errno) = failures.remove(i);
            return Err(SysError::new(op, path, errno));
        }
        Ok(())
    }
}

impl Sys for RecordSys {
    fn mount(&self, row: &MountRow) -> Result<(), SysError> {
        let opts = if row.data.is_empty() {
            String::new()
        } else {
            format!(" -o {}", row.data)
        };
        self.call(
            "mount",
            Path::new(&row.target),
            format!("mount -t {}{opts} {} {}", row.fstype, row.source, row.target),
        )
    }
    fn umount(&self, path: &Path, detach: bool) -> Result<(), SysError> {
        let l = if detach { " -l" } else { "" };
        self.call("umount", path, format!("umount{l} {}", path.display()))
    }
    fn mount_move(&self, src: &Path, dst: &Path) -> Result<(), SysError> {
        self.call(
            "mount --move",
            src,
            format!("mount --move {} {}", src.display(), dst.display()),
        )
    }
    fn make_rprivate(&self, path: &Path) -> Result<(), SysError> {
        self.call(
            "mount --make-rprivate",
            path,
            format!("mount --make-rprivate {}", path.display()),
        )
    }
    fn mkdir_p(&self, path: &Path) -> Result<(), SysError> {
        self.call("mkdir", path, format!("mkdir -p {}", path.display()))
    }
    fn chdir(&self, path: &Path) -> Result<(), SysError> {
        self.call("chdir", path, format!("cd {}", path.display()))
    }
    fn chroot(&self, path: &Path) -> Result<(), SysError> {
        self.call("chroot", path, format!("chroot {}", path.display()))
    }
    fn fs_magic(&self, path: &Path) -> Result<u64, SysError> {
        self.call("statfs", path, format!("statfs {}", path.display()))
            .map(|_| self.magic)
    }
    fn fs_available(&self, path: &Path) -> Result<u64, SysError> {
        self.call("statvfs", path, format!("statvfs {}", path.display()))
            .map(|_| self.available)
    }
    fn device_of(&self, path: &Path) -> Result<u64, SysError> {
        self.call("stat", path, format!("stat {}", path.display()))?;
        // Distinct devices for / and anything else, as on a real boot.
        Ok(if path == Path::new("/") { 1 } else { 2 })
    }
    fn pid(&self) -> u32 {
        self.pid
    }
    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError> {
        let full = root.join(path.strip_prefix("/").unwrap_or(path));
        self.call("stat", &full, format!("test -x {}", full.display()))?;
        Ok(self.executables.contains(&full))
    }
    fn read_to_string(&self, path: &Path) -> Result<String, SysError> {
        self.call("read", path, format!("cat {}", path.display()))?;
        Ok(if path == Path::new("/proc/meminfo") {
            self.meminfo.clone()
        } else {
            String::new()
        })
    }
    fn dmesg(&self) -> Result<String, SysError> {
        self.call("syslog", Path::new("-"), "dmesg".into())
            .map(|_| self.dmesg.clone())
    }
    fn write_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        self.written.borrow_mut().push((path.to_path_buf(), data.to_vec()));
        self.call(
            "write",
            path,
            format!("write {} ({} bytes)", path.display(), data.len()),
        )
    }
    fn clear_old_root(&self, root: &Path) -> Result<Cleared, SysError> {
        self.call("unlink", root, format!("rm -rf --one-file-system {}", root.display()))?;
        Ok(Cleared {
            entries: 3,
            bytes: 4096,
            failed: Vec::new(),
        })
    }
    fn remount(&self, path: &Path, data: &str) -> Result<(), SysError> {
        self.call(
            "mount -o remount",
            path,
            format!("mount -o remount,{data} {}", path.display()),
        )
    }
    fn bind_mount(&self, src: &Path, dst: &Path) -> Result<(), SysError> {
        self.call(
            "mount --bind",
            dst,
            format!("mount --bind {} {}", src.display(), dst.display()),
        )
    }
    fn fs_used(&self, path: &Path) -> Result<u64, SysError> {
        self.call("statvfs", path, format!("statvfs {}", path.display()))
            .map(|_| self.used)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>, SysError> {
        self.call("opendir", path, format!("ls {}", path.display()))
            .map(|_| self.listing.clone())
    }
    fn remove_path(&self, path: &Path) -> Result<Cleared, SysError> {
        self.call("unlink", path, format!("rm -rf {}", path.display()))?;
        Ok(Cleared {
            entries: 1,
            bytes: 4096,
            failed: Vec::new(),
        })
    }
    fn mknod_console(&self, path: &Path) -> Result<(), SysError> {
        self.call("mknod", path, format!("mknod {} c 5 1", path.display()))
    }
    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError> {
        self.call("open", console, format!("exec <>{} 1>&0 2>&0", console.display()))
    }
    fn stdio_open(&self) -> bool {
        self.stdio
    }
    fn reset_signals(&self) -> Result<(), SysError> {
        self.call("sigprocmask", Path::new("-"), "reset signals".into())
    }
    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError> {
        self.call(
            "execve",
            path,
            format!("exec {} argv={argv:?} env={env:?}", path.display()),
        )
    }
    fn run_shell(&self, shell: &Path, root: &Path, console: &Path, _env: &[String]) -> Result<i32, SysError> {
        let chroot = if root == Path::new("/") {
            String::new()
        } else {
            format!("chroot {} ", root.display())
        };
        self.call(
            "execve",
            shell,
            format!("{chroot}{} <>{}", shell.display(), console.display()),
        )
        .map(|_| 0)
    }
    fn reap(&self) -> u32 {
        0
    }
    fn power(&self, action: Power) -> Result<(), SysError> {
        self.call("reboot", Path::new("-"), format!("{action:?}"))
    }
    fn measure(&self, src_root: &Path, _sources: &[PathBuf], _spec: &CopySpec) -> Result<Footprint, CopyError> {
        self.calls.borrow_mut().push(format!("du {}", src_root.display()));
        Ok(self.footprint)
    }
    fn copy(
        &self,
        src_root: &Path,
        dst_root: &Path,
        sources: &[PathBuf],
        spec: &CopySpec,
        _: Warn<'_>,
    ) -> Result<CopyStats, CopyError> {
        let list: Vec<_> = sources.iter().map(|s| s.display().to_string()).collect();
        self.calls.borrow_mut().push(format!(
            "cp -a {} {} (from {})",
            list.join(" "),
            dst_root.display(),
            src_root.display()
        ));
        if spec.free_source {
            self.kmod.free(&self.copy_frees);
        }
        Ok(CopyStats::default())
    }
    fn kmod(&self) -> &dyn Kmod {
        &self.kmod
    }
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError> {
        let prog = cmd.argv.first().cloned().unwrap_or_default();
        let pgrp = if cmd.new_group { " (new group)" } else { "" };
        let line = format!("chroot {} {} &{pgrp}", cmd.root.display(), cmd.argv.join(" "));
        self.call("spawn", Path::new(&prog), line)?;
        // A pid per spawn, stable across runs: the call's position.
        Ok(100 + self.calls.borrow().len() as u32)
    }
    fn wait_child(&self, pid: u32, timeout: std::time::Duration) -> Result<Option<i32>, SysError> {
        let line = format!("wait {pid} (up to {} ms)", timeout.as_millis());
        self.call("wait", Path::new(&pid.to_string()), line).map(|_| Some(0))
    }
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError> {
        let path = format!("-{pgid}");
        self.call("kill", Path::new(&path), format!("kill -{signal} {path}"))
    }
    fn resolve_sources(&self, _src_root: &Path, spec: &CopySpec) -> Result<Vec<PathBuf>, CopyError> {
        Ok(spec
            .patterns
            .iter()
            .map(|p| PathBuf::from(p.trim_end_matches('*')))
            .collect())
    }
}
