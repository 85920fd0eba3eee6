//! The one seam between the init's logic and the kernel: [`Sys`] is sixteen syscalls
//! (grouped where one call stands for a family: `mount_change` is mount(2) with
//! MS_MOVE / MS_BIND / MS_REMOUNT / MS_PRIVATE, `write` is O_TRUNC, rename-over or
//! O_APPEND), and four sub-traits, each one concern: [`Lookup`] (look, change nothing),
//! [`Procs`] (processes), [`Kmod`] (modules) and [`FsOps`] (the copy engine's
//! file-level calls). [`linux::LinuxSys`] makes them, each in a few lines;
//! [`record::RecordSys`] records each as a typed [`record::Call`] and injects failures
//! for tests. The engines built on them (the copy engine on [`FsOps`], old-root
//! removal, the emergency shell, dmesg) live above, in their own modules, and are
//! unit-tested through the recorder.
//! tests/seam.rs fails when code outside sys/ calls the kernel some other way.

pub mod kmsg;
pub mod linux;
mod linux_children;
mod linux_kmod;
mod linux_proc;
pub mod record;
mod record_call;
pub mod record_fs;
pub mod record_kmod;
// The copy engine's file-level calls (sub-trait `FsOps`, reached by `Sys::fs`).
mod fs_ops;
mod linux_fs;
pub mod record_fsops;
pub mod record_memfs;
// Its calls only the debug overlay makes (in-root resolution, rename).
mod linux_inroot;
mod record_inroot;
pub use fs_ops::{FileStat, FsOps, Handle, ListError, Loc, Make, NodeKind, Open, RangeError, Target, Time};
// The look-only calls (sub-trait `Lookup`, reached by `Sys::look`).
mod linux_lookup;
mod linux_uevent;
pub mod lookup;
pub mod record_lookup;
pub use lookup::{Entry, Lookup};
// The process calls (sub-trait `Procs`, reached by `Sys::procs`).
mod procs;
mod record_procs;
pub use procs::Procs;
mod uevent;
pub use uevent::{UeventSocket, Uevents};

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The kernel's error numbers and mount flags, as the seam's callers name them: the
/// types cross the seam, the calls do not.
pub use rustix::io::Errno;
pub use rustix::mount::MountFlags;

/// The signals the init sends (udevd's process group).
pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGKILL: i32 = libc::SIGKILL;

use crate::error::SysError;
use crate::table::MountRow;

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

/// `lstat(2)`, reduced to what the engines above read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    /// st_mode's permission bits (0o7777).
    pub mode: u32,
    pub dev: u64,
    /// Allocated bytes (st_blocks * 512).
    pub bytes: u64,
}

impl From<NodeKind> for Kind {
    fn from(kind: NodeKind) -> Self {
        match kind {
            NodeKind::Dir => Kind::Dir,
            NodeKind::File => Kind::File,
            NodeKind::Symlink => Kind::Symlink,
            NodeKind::Fifo | NodeKind::CharDev | NodeKind::BlockDev | NodeKind::Socket => Kind::Other,
        }
    }
}

impl From<&FileStat> for Stat {
    fn from(st: &FileStat) -> Self {
        Stat {
            kind: st.kind.into(),
            mode: st.perm,
            dev: st.dev,
            bytes: st.allocated,
        }
    }
}

/// [`Sys::version`]: what tells one version of a file from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    /// Device nodes, FIFOs, sockets.
    Other,
}

/// `statfs(2)` of a filesystem: its magic and its space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStat {
    /// f_type (the filesystem magic, low 32 bits).
    pub magic: u64,
    /// Bytes an unprivileged writer can still put there (f_bavail * f_frsize).
    pub available: u64,
    /// Bytes in use (f_blocks - f_bfree, times f_frsize).
    pub used: u64,
}

/// The mount(2) calls that change an existing mount rather than create one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountChange {
    /// `mount --move src dst`.
    Move { src: PathBuf, dst: PathBuf },
    /// `mount --bind src dst`, not recursive: the mounts under `src` stay behind.
    Bind { src: PathBuf, dst: PathBuf },
    /// `mount -o remount,DATA path` (bind mode: the rootfs tmpfs gets its cap).
    Remount { path: PathBuf, data: String },
    /// `mount --make-rprivate path`.
    MakeRprivate(PathBuf),
}

/// [`Sys::wait_child`] without a time limit (the emergency shell).
pub const FOREVER: std::time::Duration = std::time::Duration::MAX;

/// A program started by [`Sys::spawn_in`] (udevd, udevadm, the emergency shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawn {
    /// chroot here first (the new root: the initramfs copy is gone after the copy);
    /// `/` stays where it is.
    pub root: PathBuf,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    /// Make it a process-group leader, so it and its workers are stopped together.
    pub new_group: bool,
    /// stdout and stderr to /dev/null (udevd's per-rule chatter), else inherited.
    pub quiet: bool,
    /// A new session with this terminal as its controlling tty and stdio (a shell).
    pub tty: Option<PathBuf>,
}

/// How [`Sys::write`] puts `data` at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// open(O_CREAT|O_TRUNC, 0644) + write of the whole file, creating its parent
    /// directories (the boot report, a unit file).
    Create,
    /// Write a temporary file beside `path` (named after the pid) and rename(2) it
    /// over `path`, so a reader sees the old file or the new one, whole; the temporary
    /// is removed if the rename fails. The parent must exist.
    Replace,
    /// open(O_CREAT|O_APPEND, 0644) + one write(2) (a line of the kernel requests
    /// file, which several helper processes append to).
    Append,
}

/// The syscalls of the boot: sixteen, and four sub-traits for families of calls that
/// are each their own concern: the look-only calls ([`Sys::look`]), the process calls
/// ([`Sys::procs`]), the module syscalls ([`Sys::kmod`]) and the copy engine's
/// file-level calls ([`Sys::fs`]). docs/ARCHITECTURE.md has the table.
/// `Sync`: coldplug and the module loader run on their own threads while the copy
/// runs (run_overlap.rs), all through the one seam.
pub trait Sys: Sync {
    /// `mount -t fstype -o data source target` (the target is created if missing).
    fn mount(&self, row: &MountRow) -> Result<(), SysError>;
    /// Move, bind, remount or make private an existing mount.
    fn mount_change(&self, change: &MountChange) -> Result<(), SysError>;
    /// `umount2(path, MNT_DETACH if detach)`.
    fn umount(&self, path: &Path, detach: bool) -> Result<(), SysError>;
    fn statfs(&self, path: &Path) -> Result<FsStat, SysError>;
    /// mkdir(2) of `path` and its missing parents.
    fn mkdir_p(&self, path: &Path) -> Result<(), SysError>;
    /// Create the console node (c 5 1, 0600) unless it exists already.
    fn mknod_console(&self, path: &Path) -> Result<(), SysError>;
    /// open + read of a whole file, as bytes (the depmod index).
    fn read(&self, path: &Path) -> Result<Vec<u8>, SysError>;
    /// open + read of a whole file, as text (invalid UTF-8 replaced).
    fn read_to_string(&self, path: &Path) -> Result<String, SysError>;
    /// Put `data` at `path` as `how` says.
    fn write(&self, path: &Path, data: &[u8], how: Write) -> Result<(), SysError>;
    /// unlink(2), or rmdir(2) when `dir`.
    fn unlink(&self, path: &Path, dir: bool) -> Result<(), SysError>;
    fn chdir(&self, path: &Path) -> Result<(), SysError>;
    fn chroot(&self, path: &Path) -> Result<(), SysError>;
    /// sync + reboot(2).
    fn power(&self, action: Power) -> Result<(), SysError>;
    /// klogctl(SYSLOG_ACTION_READ_ALL): the kernel log buffer's bytes.
    fn klog(&self) -> Result<Vec<u8>, SysError>;
    /// socket(NETLINK_KOBJECT_UEVENT) bound to the kernel's multicast group,
    /// non-blocking.
    fn uevent_open(&self) -> Result<UeventSocket, SysError>;
    /// poll(2) `sock` up to `timeout`: None when nothing came, else every message
    /// queued (recv until EAGAIN), and whether the kernel dropped any (ENOBUFS).
    fn uevent_recv(&self, sock: &UeventSocket, timeout: Duration) -> Result<Option<Uevents>, SysError>;

    /// The look-only calls (see [`Lookup`]).
    fn look(&self) -> &dyn Lookup;
    /// The process calls (see [`Procs`]).
    fn procs(&self) -> &dyn Procs;
    /// The module syscalls (see [`Kmod`]).
    fn kmod(&self) -> &dyn Kmod;
    /// The file-level calls the copy engine is built on (see [`FsOps`]).
    fn fs(&self) -> &dyn FsOps;
}
