//! [`FsOps`]: the file-level calls the copy engine (copy/) and the debug overlay are
//! built on, reached as [`Sys::fs`](super::Sys::fs) (a sub-trait, as
//! [`Kmod`](super::Kmod) is, so `Sys` itself stays small). Each is one syscall, or one syscall and its retry/fallback
//! (O_NOATIME refused, sendfile refused, an xattr list that grew): the walk, the
//! hard-link and free-as-you-go bookkeeping and every error message live above.
//! Errors are the bare errno; the engine names the operation and the path.
//!
//! Paths are taken as the engine gives them (absolute, never followed at the last
//! component): the same calls the engine made with `CWD`-relative `*at` syscalls.
//!
//! The debug overlay (debug/overlay.rs) writes into a new root it must never leave, so
//! it names what it writes by [`Loc::At`]: one name in a directory it opened with
//! [`FsOps::open_in_root`] (openat2 RESOLVE_IN_ROOT), never by a path the kernel would
//! resolve again. Each call that takes a location therefore has one required form on a
//! [`Loc`] (`lstat_at`, `make_at`, `remove_at`, `open_at`, `rename`) that the
//! implementations make, and the copy engine's path form (`lstat`, `make`, `remove`,
//! `open`) is a provided one-line wrapper over it: one implementation per syscall, and
//! the engine's call sites in copy/ stay as they were (taking `Loc` there would only
//! have added `.into()` to each).

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::Errno;

/// What an `lstat(2)` says about a node, as the copy uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub kind: NodeKind,
    /// st_mode's permission bits, setuid/setgid/sticky included (0o7777).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub dev: u64,
    pub ino: u64,
    /// st_rdev (device nodes).
    pub rdev: u64,
    /// st_size (a symlink's: its target's length).
    pub size: u64,
    /// Allocated bytes (st_blocks * 512): holes cost nothing.
    pub allocated: u64,
    pub atime: Time,
    pub mtime: Time,
}

impl FileStat {
    /// `(st_dev, st_ino)`: identifies an inode (hard links, the destination root).
    pub fn inode(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// A timestamp, as utimensat(2) takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Time {
    pub sec: i64,
    pub nsec: i64,
}

/// The file types of `st_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File,
    Symlink,
    Fifo,
    CharDev,
    BlockDev,
    Socket,
}

/// What [`FsOps::make`] creates at a path (failing with EEXIST when something is there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Make<'a> {
    /// mkdir(2).
    Dir { perm: u32 },
    /// symlink(2) with this target.
    Symlink { target: &'a [u8] },
    /// link(2): another name for `existing`.
    Link { existing: &'a Path },
    /// mknod(2) of a FIFO or a device node.
    Node { kind: NodeKind, perm: u32, rdev: u64 },
}

/// How [`FsOps::open`] opens a path (never following a symlink there, but for
/// `DirPath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// A source file, read-only, with O_NOATIME where the kernel allows it.
    Read,
    /// A new file, write-only, mode 0600, O_EXCL (EEXIST when something is there).
    Create,
    /// A directory, to set its metadata.
    Dir,
    /// A directory only to resolve names in (O_PATH|O_DIRECTORY): the root given to
    /// [`FsOps::open_in_root`]. A symlink there is followed, as open(2) does: that path
    /// is the init's own (`/mnt/root`), not a name of the tree written into. The
    /// recorder does not follow it (ENOTDIR).
    DirPath,
}

/// Where a call that names a node applies.
#[derive(Debug, Clone, Copy)]
pub enum Loc<'a> {
    /// An absolute path, relative to the working directory as the `*at` calls take it
    /// (the copy engine's), its last component never followed.
    Path(&'a Path),
    /// The entry `name` of the open directory `dir` (the `*at` calls with its fd):
    /// `name` is one component, never followed; anything else there (empty, `.`,
    /// `..`, a `/`) is EINVAL, so a caller cannot step out of `dir` by its name.
    At { dir: &'a Handle, name: &'a OsStr },
}

impl<'a> Loc<'a> {
    /// The `name` of an [`Loc::At`], checked to be one plain component.
    pub(super) fn checked_name(name: &'a OsStr) -> Result<&'a Path, Errno> {
        let bytes = name.as_encoded_bytes();
        if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
            return Err(Errno::INVAL);
        }
        Ok(Path::new(name))
    }
}

/// An open file or directory. The real one holds the fd; the recorder's names the
/// node of its in-memory tree.
#[derive(Debug)]
pub struct Handle(pub(super) HandleInner);

#[derive(Debug)]
pub(super) enum HandleInner {
    Fd(OwnedFd),
    Recorded(PathBuf),
}

/// Where a metadata call applies: an open handle, or a path whose symlink (if any)
/// is not followed (symlinks and device nodes, which must not be opened).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Handle(&'a Handle),
    Path(&'a Path),
}

/// Which side of [`FsOps::copy_range`] failed, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeError {
    /// The call that failed: `seek`, `read` or `write`.
    pub op: &'static str,
    /// The source (else the destination).
    pub on_source: bool,
    pub errno: Errno,
}

/// Which listing call failed: opening the directory or reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListError {
    /// `opendir` or `readdir`.
    pub op: &'static str,
    pub errno: Errno,
}

/// The file-level syscalls of the copy engine (see the module doc). `Sync`: the copy
/// runs beside the loader threads.
pub trait FsOps: Sync {
    /// lstat(2) (fstatat(AT_SYMLINK_NOFOLLOW)).
    fn lstat_at(&self, at: Loc<'_>) -> Result<FileStat, Errno>;
    /// [`FsOps::lstat_at`] of a path.
    fn lstat(&self, path: &Path) -> Result<FileStat, Errno> {
        self.lstat_at(Loc::Path(path))
    }
    /// getdents(2) of `dir` opened with O_NOATIME (plainly when EPERM): the names
    /// without `.` and `..`, sorted bytewise so walks and their errors are reproducible.
    fn list_dir(&self, dir: &Path) -> Result<Vec<OsString>, ListError>;
    /// readlink(2).
    fn read_link(&self, path: &Path) -> Result<Vec<u8>, Errno>;
    /// mkdir / symlink / link / mknod at `at` (a link's `existing` is a path).
    fn make_at(&self, at: Loc<'_>, what: &Make<'_>) -> Result<(), Errno>;
    /// [`FsOps::make_at`] of a path.
    fn make(&self, path: &Path, what: &Make<'_>) -> Result<(), Errno> {
        self.make_at(Loc::Path(path), what)
    }
    /// unlink(2), or rmdir(2) when `dir`.
    fn remove_at(&self, at: Loc<'_>, dir: bool) -> Result<(), Errno>;
    /// [`FsOps::remove_at`] of a path.
    fn remove(&self, path: &Path, dir: bool) -> Result<(), Errno> {
        self.remove_at(Loc::Path(path), dir)
    }
    /// open(2) as `how` says.
    fn open_at(&self, at: Loc<'_>, how: Open) -> Result<Handle, Errno>;
    /// [`FsOps::open_at`] of a path.
    fn open(&self, path: &Path, how: Open) -> Result<Handle, Errno> {
        self.open_at(Loc::Path(path), how)
    }
    /// rename(2) of `from` over `to` (replacing a non-directory there, never following
    /// a symlink at either).
    fn rename(&self, from: Loc<'_>, to: Loc<'_>) -> Result<(), Errno>;
    /// openat2(root, path, O_PATH|O_DIRECTORY, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|
    /// RESOLVE_NO_XDEV): the directory `path` names as seen from inside `root` (a
    /// [`Open::DirPath`] handle), as it will resolve after switch_root. Symlinks,
    /// absolute ones and `..` included, stay inside `root` (the last component is
    /// followed too, inside); a /proc magic link is ELOOP; a path that would cross
    /// into another mounted filesystem is EXDEV.
    fn open_in_root(&self, root: &Handle, path: &Path) -> Result<Handle, Errno>;
    /// ftruncate(2).
    fn set_len(&self, file: &Handle, size: u64) -> Result<(), Errno>;
    /// The data range at or after `pos` (SEEK_DATA, then SEEK_HOLE from there); None
    /// when only a hole follows. A filesystem without hole reporting has one range.
    fn data_range(&self, file: &Handle, pos: u64) -> Result<Option<(u64, u64)>, Errno>;
    /// Copy `[start, end)` of `input` to the same offsets of `out` in the kernel
    /// (sendfile; pread/pwrite where the filesystems refuse it). Returns the bytes
    /// copied: fewer than asked when the source shrank or ends first (`end` =
    /// `u64::MAX` copies up to the source's end of file).
    fn copy_range(&self, input: &Handle, out: &Handle, start: u64, end: u64) -> Result<u64, RangeError>;
    /// fchown / lchown.
    fn set_owner(&self, at: Target<'_>, uid: u32, gid: u32) -> Result<(), Errno>;
    /// fchmod / chmod (never called on a symlink path: Linux has no lchmod).
    fn set_perm(&self, at: Target<'_>, perm: u32) -> Result<(), Errno>;
    /// futimens / utimensat(AT_SYMLINK_NOFOLLOW).
    fn set_times(&self, at: Target<'_>, atime: Time, mtime: Time) -> Result<(), Errno>;
    /// flistxattr / llistxattr: the attribute names (re-asked while ERANGE says the
    /// list grew between the size query and the read).
    fn xattr_names(&self, at: Target<'_>) -> Result<Vec<CString>, Errno>;
    /// fgetxattr / lgetxattr of one value (ENODATA when it is gone).
    fn xattr_get(&self, at: Target<'_>, name: &CString) -> Result<Vec<u8>, Errno>;
    /// fsetxattr / lsetxattr.
    fn xattr_set(&self, at: Target<'_>, name: &CString, value: &[u8]) -> Result<(), Errno>;
}
