//! [`FsOps`] in the recorder: each call recorded as a typed [`FsCall`] (in the one
//! call log, as `Call::Fs`), failed when a test asked for that (op, path), and acted
//! out on the in-memory tree `RecordSys::files`. A [`Loc::At`] names the path of its
//! directory handle joined with its name; the in-root resolution and rename are in
//! record_inroot.rs.

use std::ffi::{CString, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

use super::fs_ops::{
    FileStat, FsOps, Handle, HandleInner, ListError, Loc, Make, NodeKind, Open, RangeError, Target, Time,
};
use super::record::{Call, RecordSys};
use super::Errno;

/// One recorded [`FsOps`] call, shown syscall-style (`mkdirat(/mnt/root/bin)`), so the
/// copy's lines never read like the shell-like ones of the rest of the boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsCall {
    Lstat(PathBuf),
    ListDir(PathBuf),
    ReadLink(PathBuf),
    /// `op` is mkdir, symlink, link or mknod.
    Make {
        op: &'static str,
        path: PathBuf,
    },
    Remove {
        path: PathBuf,
        dir: bool,
    },
    Open {
        path: PathBuf,
        how: Open,
    },
    /// A call on an open handle or a path, named by `op`.
    On {
        op: &'static str,
        path: PathBuf,
    },
    CopyRange {
        src: PathBuf,
        dst: PathBuf,
        start: u64,
        end: u64,
    },
    /// rename(2) of `from` over `to`.
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    /// openat2 of `path` inside `root` (RESOLVE_IN_ROOT|NO_MAGICLINKS|NO_XDEV).
    OpenInRoot {
        root: PathBuf,
        path: PathBuf,
    },
}

impl FsCall {
    pub fn op(&self) -> &'static str {
        match self {
            FsCall::Lstat(_) => "lstat",
            FsCall::ListDir(_) => "getdents",
            FsCall::ReadLink(_) => "readlink",
            FsCall::Make { op, .. } | FsCall::On { op, .. } => op,
            FsCall::Remove { dir: true, .. } => "rmdir",
            FsCall::Remove { dir: false, .. } => "unlink",
            FsCall::Open { how: Open::Create, .. } => "create",
            FsCall::Open { .. } => "open",
            FsCall::CopyRange { .. } => "copy_range",
            FsCall::Rename { .. } => "rename",
            FsCall::OpenInRoot { .. } => "open_in_root",
        }
    }

    /// Whether the call creates something (what the copy writes into the new root).
    pub fn creates(&self) -> bool {
        matches!(self, FsCall::Make { .. } | FsCall::Open { how: Open::Create, .. })
    }

    /// The path a failure is injected by (a copy's and a rename's: its destination; an
    /// in-root open's: the root and the path joined, unresolved).
    pub fn path(&self) -> PathBuf {
        match self {
            FsCall::Lstat(p) | FsCall::ListDir(p) | FsCall::ReadLink(p) => p.clone(),
            FsCall::Make { path, .. } | FsCall::Remove { path, .. } | FsCall::Open { path, .. } => path.clone(),
            FsCall::On { path, .. } => path.clone(),
            FsCall::CopyRange { dst, .. } | FsCall::Rename { to: dst, .. } => dst.clone(),
            FsCall::OpenInRoot { root, path } => root.join(path),
        }
    }
}

impl fmt::Display for FsCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsCall::CopyRange { src, dst, start, end } => {
                write!(f, "copy_range({} -> {}, {start}..{end})", src.display(), dst.display())
            }
            FsCall::Open { path, how } => write!(f, "open({}, {how:?})", path.display()),
            FsCall::Rename { from, to } => write!(f, "rename({} -> {})", from.display(), to.display()),
            FsCall::OpenInRoot { root, path } => write!(f, "open_in_root({}: {})", root.display(), path.display()),
            other => write!(f, "{}({})", other.op(), other.path().display()),
        }
    }
}

fn path_of(at: Target<'_>) -> PathBuf {
    match at {
        Target::Handle(h) => handle_path(h).to_path_buf(),
        Target::Path(p) => p.to_path_buf(),
    }
}

/// The path `at` names in the tree: a handle's directory joined with the name.
pub(super) fn loc_path(at: Loc<'_>) -> Result<PathBuf, Errno> {
    match at {
        Loc::Path(p) => Ok(p.to_path_buf()),
        Loc::At { dir, name } => Ok(handle_path(dir).join(Loc::checked_name(name)?)),
    }
}

pub(super) fn handle_path(h: &Handle) -> &Path {
    match &h.0 {
        HandleInner::Recorded(p) => p,
        HandleInner::Fd(_) => unreachable!("a kernel fd given to the recorder"),
    }
}

impl RecordSys {
    /// The default initramfs with a `/usr/bulk` file of `bytes` allocated bytes: the
    /// rootfs the copy measures grows by that much.
    pub fn with_bulk(self, bytes: u64) -> Self {
        self.files.borrow_mut().sized("/usr/bulk", bytes);
        self
    }

    /// Where in [`RecordSys::calls`] the copy engine first created something (None:
    /// nothing was copied).
    pub fn first_copy_write(&self) -> Option<usize> {
        self.calls
            .borrow()
            .iter()
            .position(|c| matches!(c, Call::Fs(f) if f.creates()))
    }

    pub(super) fn fs_call(&self, call: FsCall) -> Result<(), Errno> {
        self.call(Call::Fs(call)).map_err(|e| e.errno)
    }

    fn meta(&self, op: &'static str, at: Target<'_>, change: impl FnOnce(&mut FileStat)) -> Result<(), Errno> {
        let path = path_of(at);
        self.fs_call(FsCall::On { op, path: path.clone() })?;
        change(&mut self.files.borrow_mut().get_mut(&path)?.stat);
        Ok(())
    }
}

impl FsOps for RecordSys {
    fn lstat_at(&self, at: Loc<'_>) -> Result<FileStat, Errno> {
        let path = loc_path(at)?;
        self.fs_call(FsCall::Lstat(path.clone()))?;
        self.files.borrow().get(path).map(|n| n.stat).ok_or(Errno::NOENT)
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<OsString>, ListError> {
        let fail = |errno| ListError { op: "opendir", errno };
        self.fs_call(FsCall::ListDir(dir.into())).map_err(fail)?;
        self.files.borrow().children(dir).map_err(fail)
    }

    fn read_link(&self, path: &Path) -> Result<Vec<u8>, Errno> {
        self.fs_call(FsCall::ReadLink(path.into()))?;
        match self.files.borrow().get(path) {
            Some(n) if n.stat.kind == NodeKind::Symlink => Ok(n.target.clone()),
            Some(_) => Err(Errno::INVAL),
            None => Err(Errno::NOENT),
        }
    }

    fn make_at(&self, at: Loc<'_>, what: &Make<'_>) -> Result<(), Errno> {
        let path = &loc_path(at)?;
        let op = match what {
            Make::Dir { .. } => "mkdir",
            Make::Symlink { .. } => "symlink",
            Make::Link { .. } => "link",
            Make::Node { .. } => "mknod",
        };
        self.fs_call(FsCall::Make { op, path: path.into() })?;
        let mut files = self.files.borrow_mut();
        match what {
            Make::Dir { perm } => files.create(path, NodeKind::Dir, *perm).map(drop),
            Make::Symlink { target } => files.create(path, NodeKind::Symlink, 0o777).map(|n| {
                n.target = target.to_vec();
                n.stat.size = target.len() as u64;
            }),
            Make::Link { existing } => files.link(existing, path),
            Make::Node { kind, perm, rdev } => files.create(path, *kind, *perm).map(|n| n.stat.rdev = *rdev),
        }
    }

    fn remove_at(&self, at: Loc<'_>, dir: bool) -> Result<(), Errno> {
        let path = &loc_path(at)?;
        self.fs_call(FsCall::Remove { path: path.into(), dir })?;
        let mut files = self.files.borrow_mut();
        files.remove(path, dir)?;
        // The first removal is copy-and-free starting: the module trees the test
        // names go with it, as the loader threads see them.
        if !std::mem::replace(&mut files.freed, true) && !self.copy_frees.is_empty() {
            drop(files);
            self.kmod.free(&self.copy_frees);
        }
        Ok(())
    }

    fn open_at(&self, at: Loc<'_>, how: Open) -> Result<Handle, Errno> {
        let path = &loc_path(at)?;
        self.fs_call(FsCall::Open { path: path.into(), how })?;
        let mut files = self.files.borrow_mut();
        let kind = match how {
            Open::Create => files.create(path, NodeKind::File, 0o600)?.stat.kind,
            _ => files.get(path).ok_or(Errno::NOENT)?.stat.kind,
        };
        match (how, kind) {
            (Open::Dir | Open::DirPath, NodeKind::Dir) | (Open::Read | Open::Create, NodeKind::File) => {}
            (Open::Dir | Open::DirPath, _) => return Err(Errno::NOTDIR),
            (_, NodeKind::Symlink) => return Err(Errno::LOOP),
            (_, NodeKind::Dir) => return Err(Errno::ISDIR),
            // A FIFO or a device the engine must never open.
            _ => return Err(Errno::NXIO),
        }
        Ok(Handle(HandleInner::Recorded(path.into())))
    }

    fn rename(&self, from: Loc<'_>, to: Loc<'_>) -> Result<(), Errno> {
        self.record_rename(from, to)
    }

    fn open_in_root(&self, root: &Handle, path: &Path) -> Result<Handle, Errno> {
        self.record_open_in_root(root, path)
    }

    fn set_len(&self, file: &Handle, size: u64) -> Result<(), Errno> {
        self.meta("truncate", Target::Handle(file), |st| st.size = size)?;
        let mut files = self.files.borrow_mut();
        let node = files.get_mut(handle_path(file))?;
        node.data.truncate(size as usize);
        Ok(())
    }

    fn data_range(&self, file: &Handle, pos: u64) -> Result<Option<(u64, u64)>, Errno> {
        let path = handle_path(file);
        self.fs_call(FsCall::On {
            op: "seek",
            path: path.into(),
        })?;
        let size = self.files.borrow().get(path).ok_or(Errno::BADF)?.stat.size;
        Ok((pos < size).then_some((pos, size)))
    }

    fn copy_range(&self, input: &Handle, out: &Handle, start: u64, end: u64) -> Result<u64, RangeError> {
        let (src, dst) = (handle_path(input), handle_path(out));
        let call = FsCall::CopyRange {
            src: src.into(),
            dst: dst.into(),
            start,
            end,
        };
        let fail = |errno| RangeError {
            op: "write",
            on_source: false,
            errno,
        };
        self.fs_call(call).map_err(fail)?;
        let mut files = self.files.borrow_mut();
        let from = files.get_mut(src).map_err(fail)?;
        let (data, allocated) = (from.data.clone(), from.stat.allocated);
        // Up to the source's end, as the kernel's copy stops there.
        let end = end.min(from.stat.size).max(start);
        let to = files.get_mut(dst).map_err(fail)?;
        let (lo, hi) = ((start as usize).min(data.len()), (end as usize).min(data.len()));
        if to.data.len() < hi {
            to.data.resize(hi, 0);
        }
        to.data[lo..hi].copy_from_slice(&data[lo..hi]);
        to.stat.size = to.stat.size.max(end);
        to.stat.allocated = allocated;
        Ok(end - start)
    }

    fn set_owner(&self, at: Target<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
        self.meta("chown", at, |st| (st.uid, st.gid) = (uid, gid))
    }

    fn set_perm(&self, at: Target<'_>, perm: u32) -> Result<(), Errno> {
        self.meta("chmod", at, |st| st.perm = perm)
    }

    fn set_times(&self, at: Target<'_>, atime: Time, mtime: Time) -> Result<(), Errno> {
        self.meta("utimens", at, |st| (st.atime, st.mtime) = (atime, mtime))
    }

    fn xattr_names(&self, at: Target<'_>) -> Result<Vec<CString>, Errno> {
        let path = path_of(at);
        self.fs_call(FsCall::On {
            op: "listxattr",
            path: path.clone(),
        })?;
        let files = self.files.borrow();
        Ok(files.get(&path).ok_or(Errno::NOENT)?.xattrs.keys().cloned().collect())
    }

    fn xattr_get(&self, at: Target<'_>, name: &CString) -> Result<Vec<u8>, Errno> {
        let path = path_of(at);
        self.fs_call(FsCall::On {
            op: "getxattr",
            path: path.clone(),
        })?;
        let files = self.files.borrow();
        let node = files.get(&path).ok_or(Errno::NOENT)?;
        node.xattrs.get(name).cloned().ok_or(Errno::NODATA)
    }

    fn xattr_set(&self, at: Target<'_>, name: &CString, value: &[u8]) -> Result<(), Errno> {
        let path = path_of(at);
        self.fs_call(FsCall::On {
            op: "setxattr",
            path: path.clone(),
        })?;
        let mut files = self.files.borrow_mut();
        files.get_mut(&path)?.xattrs.insert(name.clone(), value.to_vec());
        Ok(())
    }
}
