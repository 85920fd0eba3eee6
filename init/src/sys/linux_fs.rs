//! [`FsOps`] on the real kernel: the `*at` calls relative to the working directory
//! (the engine passes absolute paths) or to a directory handle ([`Loc::At`]), each a
//! few lines; the in-root resolution and rename are in linux_inroot.rs.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fgetxattr, flistxattr, flistxattr_query, fsetxattr, ftruncate, futimens,
    lgetxattr, linkat, llistxattr, llistxattr_query, lsetxattr, mkdirat, mknodat, openat, readlinkat, seek, sendfile,
    statat, symlinkat, unlinkat, utimensat, AtFlags, FileType, Gid, Mode, OFlags, RawDir, SeekFrom, Timestamps, Uid,
    XattrFlags, CWD,
};
use rustix::io::{pread, pwrite, Errno};
use rustix::time::Timespec;

use super::fs_ops::{
    FileStat, FsOps, Handle, HandleInner, ListError, Loc, Make, NodeKind, Open, RangeError, Target, Time,
};
use super::linux::LinuxSys;
use super::linux_inroot;

/// sendfile moves at most this much per call (the kernel caps it near 2 GiB anyway).
const CHUNK: u64 = 1 << 30;

/// Largest xattr value Linux accepts.
const XATTR_SIZE_MAX: usize = 65536;

pub(super) fn fd(h: &Handle) -> BorrowedFd<'_> {
    match &h.0 {
        HandleInner::Fd(fd) => fd.as_fd(),
        HandleInner::Recorded(p) => unreachable!("a recorder's handle ({}) given to the kernel", p.display()),
    }
}

/// The (dirfd, path) pair a `*at` call takes for `at`.
pub(super) fn dir_and_path<'a>(at: Loc<'a>) -> Result<(BorrowedFd<'a>, &'a Path), Errno> {
    match at {
        Loc::Path(p) => Ok((CWD, p)),
        Loc::At { dir, name } => Ok((fd(dir), Loc::checked_name(name)?)),
    }
}

/// The node kind of a file type (st_mode's, or a getdents entry's d_type).
pub(super) fn node_kind(ft: FileType) -> NodeKind {
    match ft {
        FileType::Directory => NodeKind::Dir,
        FileType::RegularFile => NodeKind::File,
        FileType::Symlink => NodeKind::Symlink,
        FileType::Fifo => NodeKind::Fifo,
        FileType::CharacterDevice => NodeKind::CharDev,
        FileType::BlockDevice => NodeKind::BlockDev,
        _ => NodeKind::Socket,
    }
}

fn file_type(kind: NodeKind) -> FileType {
    match kind {
        NodeKind::Dir => FileType::Directory,
        NodeKind::File => FileType::RegularFile,
        NodeKind::Symlink => FileType::Symlink,
        NodeKind::Fifo => FileType::Fifo,
        NodeKind::CharDev => FileType::CharacterDevice,
        NodeKind::BlockDev => FileType::BlockDevice,
        NodeKind::Socket => FileType::Socket,
    }
}

// The stat field widths differ between architectures; on x86_64 most are already u64.
#[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
fn file_stat(st: &rustix::fs::Stat) -> FileStat {
    FileStat {
        kind: node_kind(FileType::from_raw_mode(st.st_mode)),
        perm: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        nlink: u64::from(st.st_nlink),
        dev: u64::from(st.st_dev),
        ino: u64::from(st.st_ino),
        rdev: u64::from(st.st_rdev),
        size: st.st_size as u64,
        allocated: st.st_blocks as u64 * 512,
        atime: Time {
            sec: st.st_atime as i64,
            nsec: st.st_atime_nsec as i64,
        },
        mtime: Time {
            sec: st.st_mtime as i64,
            nsec: st.st_mtime_nsec as i64,
        },
    }
}

fn timespec(t: Time) -> Timespec {
    Timespec {
        tv_sec: t.sec as _,
        tv_nsec: t.nsec as _,
    }
}

/// open(2) with O_NOATIME, and without it when refused (it needs ownership or
/// CAP_FOWNER).
fn open_noatime(dir: BorrowedFd<'_>, path: &Path, flags: OFlags) -> Result<OwnedFd, Errno> {
    match openat(dir, path, flags | OFlags::NOATIME, Mode::empty()) {
        Err(Errno::PERM) => openat(dir, path, flags, Mode::empty()),
        other => other,
    }
}

/// Call `list` with a buffer of the size `query` says, again while ERANGE says the
/// content grew in between; the bytes it filled.
fn sized_read(
    query: impl Fn() -> Result<usize, Errno>,
    read: impl Fn(&mut [u8]) -> Result<usize, Errno>,
) -> Result<Vec<u8>, Errno> {
    loop {
        let size = query()?;
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size];
        match read(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One xattr value: start with a guess that fits almost every value (capabilities
/// are 20-24 bytes), grow on ERANGE up to XATTR_SIZE_MAX.
fn grow_read(read: impl Fn(&mut [u8]) -> Result<usize, Errno>) -> Result<Vec<u8>, Errno> {
    let mut size = 256;
    loop {
        let mut buf = vec![0u8; size];
        match read(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) if size < XATTR_SIZE_MAX => size = (size * 4).min(XATTR_SIZE_MAX),
            Err(e) => return Err(e),
        }
    }
}

fn names(list: &[u8]) -> Vec<CString> {
    list.split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect()
}

/// getdents(2) of `dir` opened with O_NOATIME (plainly when EPERM): each name (no `.`
/// and `..`) with its d_type, sorted bytewise. Where the filesystem leaves d_type
/// unknown, an lstat of that entry says. The one listing of the real kernel: the copy
/// engine's [`FsOps::list_dir`] and the boot's `Lookup::list` (sysfs walks).
pub(super) fn getdents(dir: &Path) -> Result<Vec<(OsString, FileType)>, ListError> {
    let fd = open_noatime(CWD, dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC)
        .map_err(|errno| ListError { op: "opendir", errno })?;
    // One buffer of GETDENTS_BUF for the whole listing: most directories (a sysfs
    // device's ~20 entries, a /usr/lib) come back in one getdents(2), then the empty
    // one. (`Dir` starts at 768 bytes, zero-fills and grows it each call; `read_from`
    // also reopens the fd.)
    let mut buf = Vec::with_capacity(GETDENTS_BUF);
    let mut it = RawDir::new(&fd, buf.spare_capacity_mut());
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    while let Some(entry) = it.next() {
        let entry = entry.map_err(|errno| ListError { op: "readdir", errno })?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        if entry.file_type() == FileType::Unknown {
            unknown.push(out.len());
        }
        out.push((OsString::from_vec(name.to_vec()), entry.file_type()));
    }
    for i in unknown {
        let st = statat(&fd, out[i].0.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|errno| ListError { op: "stat", errno })?;
        out[i].1 = FileType::from_raw_mode(st.st_mode);
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// getdents(2)'s buffer: 8 KiB holds some 200 sysfs entries.
const GETDENTS_BUF: usize = 8192;

impl FsOps for LinuxSys {
    fn lstat_at(&self, at: Loc<'_>) -> Result<FileStat, Errno> {
        let (dir, path) = dir_and_path(at)?;
        statat(dir, path, AtFlags::SYMLINK_NOFOLLOW).map(|st| file_stat(&st))
    }

    fn list_dir(&self, dir: &Path) -> Result<Vec<OsString>, ListError> {
        Ok(getdents(dir)?.into_iter().map(|(name, _)| name).collect())
    }

    fn read_link(&self, path: &Path) -> Result<Vec<u8>, Errno> {
        readlinkat(CWD, path, Vec::new()).map(|t| t.into_bytes())
    }

    fn make_at(&self, at: Loc<'_>, what: &Make<'_>) -> Result<(), Errno> {
        let (dir, path) = dir_and_path(at)?;
        match what {
            Make::Dir { perm } => mkdirat(dir, path, Mode::from_raw_mode(*perm)),
            Make::Symlink { target } => symlinkat(*target, dir, path),
            Make::Link { existing } => linkat(CWD, *existing, dir, path, AtFlags::empty()),
            Make::Node { kind, perm, rdev } => {
                mknodat(dir, path, file_type(*kind), Mode::from_raw_mode(*perm), *rdev as _)
            }
        }
    }

    fn remove_at(&self, at: Loc<'_>, is_dir: bool) -> Result<(), Errno> {
        let (dir, path) = dir_and_path(at)?;
        let flags = if is_dir { AtFlags::REMOVEDIR } else { AtFlags::empty() };
        unlinkat(dir, path, flags)
    }

    fn open_at(&self, at: Loc<'_>, how: Open) -> Result<Handle, Errno> {
        let (dir, path) = dir_and_path(at)?;
        let fd = match how {
            Open::Read => open_noatime(dir, path, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC)?,
            Open::Create => {
                let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                openat(dir, path, flags, Mode::from_raw_mode(0o600))?
            }
            Open::Dir => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                openat(dir, path, flags, Mode::empty())?
            }
            Open::DirPath => openat(
                dir,
                path,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?,
        };
        Ok(Handle(HandleInner::Fd(fd)))
    }

    fn rename(&self, from: Loc<'_>, to: Loc<'_>) -> Result<(), Errno> {
        linux_inroot::rename(from, to)
    }

    fn open_in_root(&self, root: &Handle, path: &Path) -> Result<Handle, Errno> {
        linux_inroot::open_in_root(fd(root), path).map(|fd| Handle(HandleInner::Fd(fd)))
    }

    fn set_len(&self, file: &Handle, size: u64) -> Result<(), Errno> {
        ftruncate(fd(file), size)
    }

    fn data_range(&self, file: &Handle, pos: u64) -> Result<Option<(u64, u64)>, Errno> {
        let start = match seek(fd(file), SeekFrom::Data(pos)) {
            Ok(start) => start,
            // No data after `pos`: the rest is a hole.
            Err(Errno::NXIO) => return Ok(None),
            Err(e) => return Err(e),
        };
        let end = seek(fd(file), SeekFrom::Hole(start))?;
        Ok(Some((start, end)))
    }

    fn copy_range(&self, input: &Handle, out: &Handle, start: u64, end: u64) -> Result<u64, RangeError> {
        let (input, out) = (fd(input), fd(out));
        seek(out, SeekFrom::Start(start)).map_err(|errno| RangeError {
            op: "seek",
            on_source: false,
            errno,
        })?;
        let mut off = start;
        while off < end {
            let want = (end - off).min(CHUNK) as usize;
            match sendfile(out, input, Some(&mut off), want) {
                Ok(0) => break,
                Ok(_) | Err(Errno::INTR) => {}
                // Some filesystems refuse sendfile: pread/pwrite does the job.
                Err(Errno::INVAL | Errno::NOSYS) if off == start => return rw_range(input, out, start, end),
                // sendfile cannot tell which side failed; the destination (ENOSPC,
                // EFBIG, EDQUOT) is by far the likely one.
                Err(errno) => {
                    return Err(RangeError {
                        op: "write",
                        on_source: false,
                        errno,
                    })
                }
            }
        }
        Ok(off - start)
    }

    fn set_owner(&self, at: Target<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
        let (uid, gid) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
        match at {
            Target::Handle(h) => fchown(fd(h), uid, gid),
            Target::Path(p) => chownat(CWD, p, uid, gid, AtFlags::SYMLINK_NOFOLLOW),
        }
    }

    fn set_perm(&self, at: Target<'_>, perm: u32) -> Result<(), Errno> {
        let mode = Mode::from_raw_mode(perm);
        match at {
            Target::Handle(h) => fchmod(fd(h), mode),
            Target::Path(p) => chmodat(CWD, p, mode, AtFlags::empty()),
        }
    }

    fn set_times(&self, at: Target<'_>, atime: Time, mtime: Time) -> Result<(), Errno> {
        let times = Timestamps {
            last_access: timespec(atime),
            last_modification: timespec(mtime),
        };
        match at {
            Target::Handle(h) => futimens(fd(h), &times),
            Target::Path(p) => utimensat(CWD, p, &times, AtFlags::SYMLINK_NOFOLLOW),
        }
    }

    fn xattr_names(&self, at: Target<'_>) -> Result<Vec<CString>, Errno> {
        let list = match at {
            Target::Handle(h) => sized_read(|| flistxattr_query(fd(h)), |buf| flistxattr(fd(h), buf)),
            Target::Path(p) => sized_read(|| llistxattr_query(p), |buf| llistxattr(p, buf)),
        }?;
        Ok(names(&list))
    }

    fn xattr_get(&self, at: Target<'_>, name: &CString) -> Result<Vec<u8>, Errno> {
        match at {
            Target::Handle(h) => grow_read(|buf| fgetxattr(fd(h), name.as_c_str(), buf)),
            Target::Path(p) => grow_read(|buf| lgetxattr(p, name.as_c_str(), buf)),
        }
    }

    fn xattr_set(&self, at: Target<'_>, name: &CString, value: &[u8]) -> Result<(), Errno> {
        match at {
            Target::Handle(h) => fsetxattr(fd(h), name.as_c_str(), value, XattrFlags::empty()),
            Target::Path(p) => lsetxattr(p, name.as_c_str(), value, XattrFlags::empty()),
        }
    }
}

fn rw_range(input: BorrowedFd<'_>, out: BorrowedFd<'_>, start: u64, end: u64) -> Result<u64, RangeError> {
    let fail = |op, on_source, errno| RangeError { op, on_source, errno };
    let mut buf = vec![0u8; 64 * 1024];
    let mut off = start;
    while off < end {
        let want = ((end - off) as usize).min(buf.len());
        let n = match pread(input, &mut buf[..want], off) {
            Ok(0) => break,
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(fail("read", true, e)),
        };
        let mut done = 0;
        while done < n {
            match pwrite(out, &buf[done..n], off + done as u64) {
                Ok(0) => return Err(fail("write", false, Errno::IO)),
                Ok(w) => done += w,
                Err(Errno::INTR) => {}
                Err(e) => return Err(fail("write", false, e)),
            }
        }
        off += n as u64;
    }
    Ok(off - start)
}
