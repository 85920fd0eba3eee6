//! The one seam between the init's logic and the kernel. Everything the boot does to
//! the system goes through [`Sys`]: [`linux::LinuxSys`] makes the calls, and
//! [`record::RecordSys`] records them in order and injects failures for tests.

pub mod linux;
mod linux_kmod;
pub mod record;
pub mod record_kmod;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::copy::{CopySpec, CopyStats, Footprint};
use crate::error::SysError;
use crate::table::MountRow;

/// What [`Sys::clear_old_root`] removed, and what it could not.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cleared {
    pub entries: u64,
    pub bytes: u64,
    /// One line per entry left behind (`op path: errno`); the removal goes on past each.
    pub failed: Vec<String>,
}

/// Power actions of `reboot(2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Reboot,
    Off,
}

/// The module syscalls. `Sync`: the loader calls them from several threads at once,
/// which the rest of [`Sys`] never needs.
pub trait Kmod: Sync {
    /// `finit_module(open(path), params, compressed ? MODULE_INIT_COMPRESSED_FILE : 0)`.
    fn finit_module(&self, path: &Path, params: &str, compressed: bool) -> Result<(), SysError>;
    /// `init_module(image, len, params)`; `path` only names the module in errors.
    fn init_module(&self, image: &[u8], params: &str, path: &Path) -> Result<(), SysError>;
    /// The module file's bytes (for user-space decompression).
    fn read_module(&self, path: &Path) -> Result<Vec<u8>, SysError>;
    /// [`Kmod::finit_module`] bounded by `timeout`. The syscall returns only when the
    /// module's init does, and nothing interrupts it, so the real one runs it in a child
    /// process it can leave behind. The default (the recorder) ignores the bound.
    fn finit_module_within(&self, path: &Path, params: &str, compressed: bool, timeout: Duration) -> Within {
        let _ = timeout;
        Within::Done(self.finit_module(path, params, compressed))
    }
    /// [`Kmod::init_module`] bounded by `timeout`, as [`Kmod::finit_module_within`].
    fn init_module_within(&self, image: &[u8], params: &str, path: &Path, timeout: Duration) -> Within {
        let _ = timeout;
        Within::Done(self.init_module(image, params, path))
    }
}

/// How a bounded module load ended.
#[derive(Debug)]
pub enum Within {
    /// The syscall returned.
    Done(Result<(), SysError>),
    /// The module's init was still running at the timeout, in child process `pid`
    /// (left there: the kernel offers no way to abort a module's init).
    StillLoading { pid: u32 },
}

/// A program started by [`Sys::spawn_in`] (udevd, udevadm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawn {
    /// chroot here first (the new root: the initramfs copy is gone after the copy).
    pub root: PathBuf,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    /// Make it a process-group leader, so it and its workers are stopped together.
    pub new_group: bool,
    /// stdout and stderr to /dev/null (udevd's per-rule chatter), else inherited.
    pub quiet: bool,
}

/// Copy-engine progress/warning sink.
pub type Warn<'a> = &'a mut dyn FnMut(&str);

pub trait Sys {
    /// `mount -t fstype -o data source target` (the target is created if missing).
    fn mount(&self, row: &MountRow) -> Result<(), SysError>;
    /// `umount2(path, MNT_DETACH if detach)`.
    fn umount(&self, path: &Path, detach: bool) -> Result<(), SysError>;
    /// `mount(src, dst, MS_MOVE)`.
    fn mount_move(&self, src: &Path, dst: &Path) -> Result<(), SysError>;
    /// `mount --make-rprivate path`.
    fn make_rprivate(&self, path: &Path) -> Result<(), SysError>;
    fn mkdir_p(&self, path: &Path) -> Result<(), SysError>;
    fn chdir(&self, path: &Path) -> Result<(), SysError>;
    fn chroot(&self, path: &Path) -> Result<(), SysError>;
    /// statfs f_type (the filesystem magic).
    fn fs_magic(&self, path: &Path) -> Result<u64, SysError>;
    /// Bytes an unprivileged writer can still put on the filesystem at `path`.
    fn fs_available(&self, path: &Path) -> Result<u64, SysError>;
    /// st_dev of `path` (without following a final symlink).
    fn device_of(&self, path: &Path) -> Result<u64, SysError>;
    fn pid(&self) -> u32;
    /// Whether `path`, seen from inside `root`, is a regular file with an execute bit;
    /// symlinks are followed within `root` (an absolute link target is taken from
    /// `root`, as it will be after switch_root).
    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError>;
    fn read_to_string(&self, path: &Path) -> Result<String, SysError>;
    /// The kernel log buffer (syslog(2) READ_ALL), for the emergency report.
    fn dmesg(&self) -> Result<String, SysError>;
    /// Write a whole file (0644), creating its parent directories.
    fn write_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError>;
    /// Delete everything under `root` that lives on root's own device (switch_root's
    /// RAM reclaim); never descends into other mounts.
    fn clear_old_root(&self, root: &Path) -> Result<Cleared, SysError>;
    /// Create the console node (c 5 1, 0600) unless it exists already.
    fn mknod_console(&self, path: &Path) -> Result<(), SysError>;
    /// dup2 a fresh O_RDWR open of `console` onto fds 0, 1 and 2.
    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError>;
    /// Whether fd 0..2 are open (the kernel leaves them closed without /dev/console).
    fn stdio_open(&self) -> bool;
    /// Default dispositions for every signal and an empty mask (execve keeps both).
    fn reset_signals(&self) -> Result<(), SysError>;
    /// execve; returns only on failure (a recorder returns Ok).
    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError>;
    /// Run `shell` on `console` as a new session, chrooted into `root` unless it is
    /// `/`, and wait for it; returns its status.
    fn run_shell(&self, shell: &Path, root: &Path, console: &Path, env: &[String]) -> Result<i32, SysError>;
    /// Reap exited children; returns how many.
    fn reap(&self) -> u32;
    fn power(&self, action: Power) -> Result<(), SysError>;
    /// Size the copy will take (see [`crate::copy::measure`]).
    fn measure(
        &self,
        src_root: &Path,
        sources: &[PathBuf],
        spec: &CopySpec,
    ) -> Result<Footprint, crate::copy::CopyError>;
    /// The copy itself (see [`crate::copy::copy_tree`]).
    fn copy(
        &self,
        src_root: &Path,
        dst_root: &Path,
        sources: &[PathBuf],
        spec: &CopySpec,
        warn: Warn<'_>,
    ) -> Result<CopyStats, crate::copy::CopyError>;
    /// The module syscalls (see [`Kmod`]).
    fn kmod(&self) -> &dyn Kmod;
    /// fork, chroot, exec; returns the pid without waiting. stdio is inherited.
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError>;
    /// Wait for `pid` up to `timeout`: Some(status) when it ended (128+signal when
    /// killed), None when it is still running.
    fn wait_child(&self, pid: u32, timeout: std::time::Duration) -> Result<Option<i32>, SysError>;
    /// `kill -SIG -pgid`: the whole process group.
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError>;
    /// `mount -o remount,DATA path` (bind mode: the rootfs tmpfs gets its cap).
    fn remount(&self, path: &Path, data: &str) -> Result<(), SysError>;
    /// `mount --bind src dst`, not recursive: the mounts under `src` stay behind.
    fn bind_mount(&self, src: &Path, dst: &Path) -> Result<(), SysError>;
    /// Bytes in use on the filesystem at `path` (statvfs blocks - free).
    fn fs_used(&self, path: &Path) -> Result<u64, SysError>;
    /// The names in directory `path` (no `.` and `..`).
    fn list_dir(&self, path: &Path) -> Result<Vec<String>, SysError>;
    /// `rm -rf --one-file-system path`: a file, or a directory and what it holds on
    /// its own device (a mount point inside stays, as does the directory then).
    fn remove_path(&self, path: &Path) -> Result<Cleared, SysError>;
    /// Top-level sources matching the copy patterns (see [`crate::copy::resolve_sources`]).
    fn resolve_sources(&self, src_root: &Path, spec: &CopySpec) -> Result<Vec<PathBuf>, crate::copy::CopyError>;
}
