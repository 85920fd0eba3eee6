//! A [`Sys`] that performs nothing: it records every call, in order, as a typed
//! [`Call`] (shown as the shell-like line an operator would read), and fails the calls
//! a test asks it to fail (`fail_on("mount", "/mnt/root", Errno::NOSPC)`), so tests
//! check whole call sequences and every error path without root.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rustix::io::Errno;

pub use super::record_call::Call;
use super::record_dev::RecordDev;
use super::record_fs::{default_lstat, Tree};
use super::record_kmod::RecordKmod;
use super::record_memfs::MemFs;
use super::{Entry, UeventSocket};
use super::{FsStat, Kmod, MountChange, Power, Spawn, Stat, Sys, Version};
use crate::error::SysError;
use crate::table::MountRow;

/// A `RefCell`-like cell that is `Sync` (a mutex): the overlapped stages call the
/// recorder from their own threads. Never borrowed twice at once (as a `RefCell`).
#[derive(Default)]
pub struct Shared<T>(Mutex<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Mutex::new(value))
    }
    pub fn borrow(&self) -> MutexGuard<'_, T> {
        // A test that panicked while holding it has failed already.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn borrow_mut(&self) -> MutexGuard<'_, T> {
        self.borrow()
    }
}

pub struct RecordSys {
    pub(crate) calls: Shared<Vec<Call>>,
    /// Files written through `write_file`, in order.
    pub written: Shared<Vec<(PathBuf, Vec<u8>)>>,
    pub(crate) failures: Shared<Vec<(&'static str, PathBuf, Errno)>>,
    /// What `statfs` says is available, and what meminfo says.
    pub available: u64,
    pub meminfo: String,
    pub pid: u32,
    pub stdio: bool,
    pub executables: Vec<PathBuf>,
    /// What `exists` finds (besides the `tree`'s nodes).
    pub present: Vec<PathBuf>,
    /// Directories whose files `read` and `version` see on the host (fixture trees on
    /// disk); anywhere else they fail with ENOENT.
    pub host_dirs: Vec<PathBuf>,
    /// What `uname_release` says.
    pub release: String,
    /// What `realpath` resolves (path, target); any other path resolves to itself.
    pub realpaths: Vec<(PathBuf, PathBuf)>,
    pub magic: u64,
    /// What `/proc/cmdline` reads as.
    pub cmdline: String,
    /// What `dmesg` returns.
    pub dmesg: String,
    /// What `list_dir` returns (any directory, without a `tree`) and `statfs` says used.
    pub listing: Vec<String>,
    /// When not empty, the files `lstat`, `list_dir` and `unlink` see (and change).
    pub tree: Shared<Tree>,
    pub used: u64,
    /// The module syscalls, recorded on their own (they come from several threads).
    pub kmod: RecordKmod,
    /// What copy-and-free removes as the module loader sees it: the copy's first
    /// removal hands these to [`RecordKmod::free`].
    pub copy_frees: Vec<PathBuf>,
    /// The tree [`FsOps`](super::FsOps) sees and changes (the copy engine's): by
    /// default [`default_files`], a small initramfs and an empty new root.
    pub files: Shared<MemFs>,
    /// Extra mount points (without a `tree`): directories on another device, like
    /// the API mounts of [`default_lstat`] (a test whose new root is a temp dir).
    pub mount_points: Vec<PathBuf>,
    /// The device-facing calls' fixtures and results (record_dev.rs).
    pub dev: RecordDev,
}

impl Default for RecordSys {
    fn default() -> Self {
        RecordSys {
            calls: Shared::default(),
            written: Shared::default(),
            failures: Shared::default(),
            available: 1536 << 20,
            meminfo: "MemTotal:        2000000 kB\nMemAvailable:    1900000 kB\n".into(),
            pid: 1,
            stdio: true,
            executables: vec![PathBuf::from("/mnt/root/sbin/zinit"), PathBuf::from("/bin/sh")],
            present: Vec::new(),
            realpaths: Vec::new(),
            host_dirs: Vec::new(),
            release: "6.1.0-test".into(),
            cmdline: String::new(),
            dmesg: "<6>[    1.0] kernel says hi\n".into(),
            magic: 0x0102_1994,
            listing: ["bin", "dev", "etc", "init", "lib", "mnt", "proc", "sys", "usr"]
                .map(String::from)
                .to_vec(),
            used: 12 << 20,
            tree: Shared::default(),
            kmod: RecordKmod::default(),
            copy_frees: Vec::new(),
            files: Shared::new(default_files()),
            mount_points: Vec::new(),
            dev: RecordDev::default(),
        }
    }
}

impl RecordSys {
    /// Make the next call of `op` on `path` fail with `errno` (once).
    pub fn fail_on(&self, op: &'static str, path: impl Into<PathBuf>, errno: Errno) {
        self.failures.borrow_mut().push((op, path.into(), errno));
    }

    /// The calls so far, one shell-like line each.
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().iter().map(Call::to_string).collect()
    }

    /// The calls so far, typed.
    pub fn entries(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    /// Record `call`; fail it when a test asked for that (op, path).
    pub(super) fn call(&self, call: Call) -> Result<(), SysError> {
        let (op, path) = (call.op(), call.path());
        self.calls.borrow_mut().push(call);
        let mut failures = self.failures.borrow_mut();
        if let Some(i) = failures.iter().position(|(o, p, _)| *o == op && *p == path) {
            let (_, _, errno) = failures.remove(i);
            return Err(SysError::new(op, path, errno));
        }
        Ok(())
    }

    fn tree_used(&self) -> bool {
        !self.tree.borrow().nodes.is_empty()
    }
}

/// The recorder's default initramfs (the top level of `listing`) and new root.
pub fn default_files() -> MemFs {
    MemFs::with(&[
        "/",
        "/bin/",
        "/bin/sh",
        "/etc/",
        "/etc/os-release",
        "/lib/",
        "/lib/libc.so",
        "/usr/",
        "/init",
        "/dev/",
        "/proc/",
        "/sys/",
        "/mnt/",
        "/mnt/root/",
    ])
}

impl Sys for RecordSys {
    fn mount(&self, row: &MountRow) -> Result<(), SysError> {
        self.call(Call::Mount(row.clone()))
    }
    fn mount_change(&self, change: &MountChange) -> Result<(), SysError> {
        self.call(Call::MountChange(change.clone()))
    }
    fn umount(&self, path: &Path, detach: bool) -> Result<(), SysError> {
        self.call(Call::Umount {
            path: path.into(),
            detach,
        })
    }
    fn mkdir_p(&self, path: &Path) -> Result<(), SysError> {
        self.call(Call::Mkdir(path.into()))
    }
    fn mknod_console(&self, path: &Path) -> Result<(), SysError> {
        self.call(Call::MknodConsole(path.into()))
    }
    fn read_to_string(&self, path: &Path) -> Result<String, SysError> {
        self.call(Call::Read(path.into()))?;
        Ok(if path == Path::new("/proc/meminfo") {
            self.meminfo.clone()
        } else if path == Path::new("/proc/cmdline") {
            self.cmdline.clone()
        } else {
            String::new()
        })
    }
    fn read(&self, path: &Path) -> Result<Vec<u8>, SysError> {
        self.call(Call::Read(path.into()))?;
        if !self.host_dirs.iter().any(|d| path.starts_with(d)) {
            return Err(SysError::new("read", path, Errno::NOENT));
        }
        std::fs::read(path).map_err(|e| SysError::new("read", path, super::linux::io_errno(&e)))
    }
    fn write_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        self.written.borrow_mut().push((path.to_path_buf(), data.to_vec()));
        self.call(Call::Write {
            path: path.into(),
            len: data.len(),
        })
    }
    fn unlink(&self, path: &Path, dir: bool) -> Result<(), SysError> {
        self.call(Call::Unlink { path: path.into(), dir })?;
        if self.tree_used() {
            let op = if dir { "rmdir" } else { "unlink" };
            self.tree
                .borrow_mut()
                .unlink(path, dir)
                .map_err(|e| SysError::new(op, path, e))?;
        }
        Ok(())
    }
    fn lstat(&self, path: &Path) -> Result<Stat, SysError> {
        self.call(Call::Lstat(path.into()))?;
        if self.tree_used() {
            return self
                .tree
                .borrow()
                .lstat(path)
                .map_err(|e| SysError::new("stat", path, e));
        }
        if self.mount_points.iter().any(|m| m == path) {
            let mut st = default_lstat(Path::new("/mnt/root"));
            st.dev = 2;
            return Ok(st);
        }
        Ok(default_lstat(path))
    }
    fn exists(&self, path: &Path) -> Result<bool, SysError> {
        self.call(Call::Exists(path.into()))?;
        Ok(self.present.iter().any(|p| p == path) || self.tree.borrow().nodes.contains_key(path))
    }
    fn version(&self, path: &Path) -> Result<Version, SysError> {
        use std::os::unix::fs::MetadataExt;
        self.call(Call::Version(path.into()))?;
        if !self.host_dirs.iter().any(|d| path.starts_with(d)) {
            return Err(SysError::new("stat", path, Errno::NOENT));
        }
        let m = std::fs::metadata(path).map_err(|e| SysError::new("stat", path, super::linux::io_errno(&e)))?;
        Ok(Version {
            size: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        })
    }
    fn replace_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        self.written.borrow_mut().push((path.to_path_buf(), data.to_vec()));
        self.call(Call::Replace {
            path: path.into(),
            len: data.len(),
        })
    }
    fn realpath(&self, path: &Path) -> Result<PathBuf, SysError> {
        self.call(Call::Realpath(path.into()))?;
        Ok(self
            .realpaths
            .iter()
            .find(|(p, _)| p == path)
            .map_or_else(|| path.to_path_buf(), |(_, t)| t.clone()))
    }
    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError> {
        let full = root.join(path.strip_prefix("/").unwrap_or(path));
        self.call(Call::TestX(full.clone()))?;
        Ok(self.executables.contains(&full))
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<std::ffi::OsString>, SysError> {
        self.call(Call::ListDir(path.into()))?;
        if self.tree_used() {
            return Ok(self.tree.borrow().children(path));
        }
        Ok(self.listing.iter().map(Into::into).collect())
    }
    fn statfs(&self, path: &Path) -> Result<FsStat, SysError> {
        self.call(Call::Statfs(path.into()))?;
        Ok(FsStat {
            magic: self.magic,
            available: self.available,
            used: self.used,
        })
    }
    fn chdir(&self, path: &Path) -> Result<(), SysError> {
        self.call(Call::Chdir(path.into()))
    }
    fn chroot(&self, path: &Path) -> Result<(), SysError> {
        self.call(Call::Chroot(path.into()))
    }
    fn pid(&self) -> u32 {
        self.pid
    }
    fn uname_release(&self) -> String {
        self.release.clone()
    }
    fn stdio_open(&self) -> bool {
        self.stdio
    }
    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError> {
        self.call(Call::ReopenStdio(console.into()))
    }
    fn reset_signals(&self) -> Result<(), SysError> {
        self.call(Call::ResetSignals)
    }
    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError> {
        self.call(Call::Exec {
            path: path.into(),
            argv: argv.to_vec(),
            env: env.to_vec(),
        })
    }
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError> {
        self.call(Call::Spawn(cmd.clone()))?;
        // A pid per spawn, stable across runs: the call's position.
        Ok(100 + self.calls.borrow().len() as u32)
    }
    fn wait_child(&self, pid: u32, timeout: std::time::Duration) -> Result<Option<i32>, SysError> {
        self.call(Call::Wait { pid, timeout }).map(|_| Some(0))
    }
    fn reap(&self) -> u32 {
        0
    }
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError> {
        self.call(Call::Kill { pgid, signal })
    }
    fn kmod(&self) -> &dyn Kmod {
        &self.kmod
    }
    fn power(&self, action: Power) -> Result<(), SysError> {
        self.call(Call::Power(action))
    }
    fn klog(&self) -> Result<Vec<u8>, SysError> {
        self.call(Call::Klog).map(|_| self.dmesg.clone().into_bytes())
    }
    fn fs(&self) -> &dyn super::FsOps {
        self
    }

    // The device-facing calls (record_dev.rs).
    fn list_kinds(&self, path: &Path) -> Result<Vec<Entry>, SysError> {
        self.dev_list_kinds(path)
    }
    fn read_link(&self, path: &Path) -> Result<PathBuf, SysError> {
        self.dev_read_link(path)
    }
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, SysError> {
        self.dev_read_at(path, offset, len)
    }
    fn append_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        self.dev_append_file(path, data)
    }
    fn uevent_open(&self) -> Result<UeventSocket, SysError> {
        self.dev_uevent_open()
    }
    fn uevent_recv(
        &self,
        _sock: &UeventSocket,
        timeout: std::time::Duration,
    ) -> Result<Option<super::Uevents>, SysError> {
        self.dev_uevent_recv(timeout)
    }
}
