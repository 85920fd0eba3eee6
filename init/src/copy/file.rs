//! Regular files: content with holes kept, then metadata.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{ftruncate, openat, seek, sendfile, unlinkat, AtFlags, Mode, OFlags, SeekFrom, Stat, CWD};
use rustix::io::{pread, pwrite, Errno};

use super::error::{at, CopyError};
use super::meta;

/// sendfile moves at most this much per call (the kernel caps it near 2 GiB anyway).
const CHUNK: u64 = 1 << 30;

/// Copy one regular file: create (replacing what is there), write the data ranges, set
/// the size, then owner, mode, xattrs and times. Returns the bytes of data written.
pub(crate) fn copy_file(src: &Path, dst: &Path, st: &Stat, warn: &mut dyn FnMut(&str)) -> Result<u64, CopyError> {
    let input = open_source(src)?;
    let out = create(dst)?;
    let size = st.st_size as u64;
    let written = copy_data(&input, &out, size, src, dst)?;
    // The data ranges end at the last byte of data; a trailing hole needs the size set.
    ftruncate(&out, size).map_err(at("truncate", dst))?;
    let xattrs = meta::read_fd(&input, src)?;
    meta::apply_fd(&out, dst, st, &xattrs, warn)?;
    Ok(written)
}

/// Open a source without following a symlink and, where allowed, without touching its
/// atime (O_NOATIME needs ownership or CAP_FOWNER: fall back when refused).
fn open_source(src: &Path) -> Result<OwnedFd, CopyError> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match openat(CWD, src, flags | OFlags::NOATIME, Mode::empty()) {
        Err(Errno::PERM) => openat(CWD, src, flags, Mode::empty()),
        other => other,
    }
    .map_err(at("open", src))
}

/// Create `dst` afresh, private until its mode is set; an existing entry is unlinked
/// first (a hard link there must not be written through, a symlink not followed).
pub(crate) fn create(dst: &Path) -> Result<OwnedFd, CopyError> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(0o600);
    match openat(CWD, dst, flags, mode) {
        Err(Errno::EXIST) => {
            unlinkat(CWD, dst, AtFlags::empty()).map_err(at("unlink", dst))?;
            openat(CWD, dst, flags, mode)
        }
        other => other,
    }
    .map_err(at("create", dst))
}

/// Copy the data ranges (SEEK_DATA/SEEK_HOLE) of the first `size` bytes, so holes stay
/// holes; a filesystem without hole reporting yields one range, the whole file.
fn copy_data(input: &OwnedFd, out: &OwnedFd, size: u64, src: &Path, dst: &Path) -> Result<u64, CopyError> {
    let mut pos = 0;
    let mut written = 0;
    while pos < size {
        let start = match seek(input, SeekFrom::Data(pos)) {
            Ok(start) => start,
            // No data after `pos`: the rest is a hole.
            Err(Errno::NXIO) => break,
            Err(e) => return Err(CopyError::new("seek", src, e)),
        };
        if start >= size {
            break;
        }
        let end = seek(input, SeekFrom::Hole(start)).map_err(at("seek", src))?.min(size);
        let n = copy_range(input, out, start, end, src, dst)?;
        written += n;
        if n < end - start {
            // The source shrank under us: what is left is gone.
            break;
        }
        pos = end;
    }
    Ok(written)
}

/// Copy `[start, end)` to the same offsets. sendfile keeps the data in the kernel; some
/// filesystems refuse it (EINVAL/ENOSYS), then pread/pwrite does the job.
fn copy_range(input: &OwnedFd, out: &OwnedFd, start: u64, end: u64, src: &Path, dst: &Path) -> Result<u64, CopyError> {
    seek(out, SeekFrom::Start(start)).map_err(at("seek", dst))?;
    let mut off = start;
    while off < end {
        let want = (end - off).min(CHUNK) as usize;
        match sendfile(out.as_fd(), input.as_fd(), Some(&mut off), want) {
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::INTR) => {}
            Err(Errno::INVAL | Errno::NOSYS) if off == start => {
                return rw_range(input, out, start, end, src, dst);
            }
            // sendfile cannot tell which side failed; the destination (ENOSPC, EFBIG,
            // EDQUOT) is by far the likely one, and its path is the useful one to name.
            Err(e) => return Err(CopyError::new("write", dst, e)),
        }
    }
    Ok(off - start)
}

fn rw_range(input: &OwnedFd, out: &OwnedFd, start: u64, end: u64, src: &Path, dst: &Path) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut off = start;
    while off < end {
        let want = ((end - off) as usize).min(buf.len());
        let n = match pread(input, &mut buf[..want], off) {
            Ok(0) => break,
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(CopyError::new("read", src, e)),
        };
        let mut done = 0;
        while done < n {
            match pwrite(out, &buf[done..n], off + done as u64) {
                Ok(0) => return Err(CopyError::new("write", dst, Errno::IO)),
                Ok(w) => done += w,
                Err(Errno::INTR) => {}
                Err(e) => return Err(CopyError::new("write", dst, e)),
            }
        }
        off += n as u64;
    }
    Ok(off - start)
}
