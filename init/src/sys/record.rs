//! A [`Sys`] that performs nothing: it records every call, in order, as a typed
//! [`Call`] (shown as the shell-like line an operator would read), and fails the calls
//! a test asks it to fail (`fail_on("mount", "/mnt/root", Errno::NOSPC)`), so tests
//! check whole call sequences and every error path without root.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rustix::io::Errno;

use super::linux::LinuxSys;
pub use super::record_call::Call;
use super::record_fs::Tree;
use super::record_kmod::RecordKmod;
use super::record_lookup::RecordDev;
use super::record_memfs::MemFs;
use super::{FsStat, Kmod, Lookup, MountChange, Power, Procs, Sys, UeventSocket, Write};
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
    /// Files written through `write(.., Create or Replace)`, in order.
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
    /// What `list` returns (any directory, without a `tree`) and `statfs` says used.
    pub listing: Vec<String>,
    /// When not empty, the files `lstat`, `list` and `unlink` see (and change).
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
    /// The uevents and appends of the recorder (record_lookup.rs).
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

    pub(super) fn tree_used(&self) -> bool {
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
        if !self.on_host(path) {
            return Err(SysError::new("read", path, Errno::NOENT));
        }
        LinuxSys.read(path)
    }
    fn write(&self, path: &Path, data: &[u8], how: Write) -> Result<(), SysError> {
        let (path, len) = (path.to_path_buf(), data.len());
        let call = match how {
            Write::Create => Call::Write {
                path: path.clone(),
                len,
            },
            Write::Replace => Call::Replace {
                path: path.clone(),
                len,
            },
            Write::Append => Call::Append {
                path: path.clone(),
                len,
            },
        };
        if how == Write::Append {
            self.call(call)?;
            self.dev.appended.borrow_mut().push((path, data.to_vec()));
            return Ok(());
        }
        // Kept in `written` even when the write fails (a test reads what was tried).
        self.written.borrow_mut().push((path, data.to_vec()));
        self.call(call)
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
    fn power(&self, action: Power) -> Result<(), SysError> {
        self.call(Call::Power(action))
    }
    fn klog(&self) -> Result<Vec<u8>, SysError> {
        self.call(Call::Klog).map(|_| self.dmesg.clone().into_bytes())
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

    fn look(&self) -> &dyn Lookup {
        self
    }
    fn procs(&self) -> &dyn Procs {
        self
    }
    fn kmod(&self) -> &dyn Kmod {
        &self.kmod
    }
    fn fs(&self) -> &dyn super::FsOps {
        self
    }
}
