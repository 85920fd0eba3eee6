//! Regular files: content with holes kept, then metadata.

use std::path::Path;

use crate::sys::{Errno, FileStat, FsOps, Handle, Open, Target};

use super::error::{at, CopyError};
use super::meta;

/// Copy one regular file: create (replacing what is there), write the data ranges, set
/// the size, then owner, mode, xattrs and times. Returns the bytes of data written.
pub(crate) fn copy_file(
    fs: &dyn FsOps,
    src: &Path,
    dst: &Path,
    st: &FileStat,
    warn: &mut dyn FnMut(&str),
) -> Result<u64, CopyError> {
    // Not following a symlink and, where allowed, not touching the source's atime.
    let input = fs.open(src, Open::Read).map_err(at("open", src))?;
    let out = create(fs, dst)?;
    let written = copy_data(fs, &input, &out, st.size, src, dst)?;
    // The data ranges end at the last byte of data; a trailing hole needs the size set.
    fs.set_len(&out, st.size).map_err(at("truncate", dst))?;
    let xattrs = meta::read(fs, Target::Handle(&input), src)?;
    meta::apply(fs, Target::Handle(&out), dst, st, &xattrs, warn)?;
    Ok(written)
}

/// Create `dst` afresh, private until its mode is set; an existing entry is unlinked
/// first (a hard link there must not be written through, a symlink not followed).
fn create(fs: &dyn FsOps, dst: &Path) -> Result<Handle, CopyError> {
    match fs.open(dst, Open::Create) {
        Err(Errno::EXIST) => {
            fs.remove(dst, false).map_err(at("unlink", dst))?;
            fs.open(dst, Open::Create)
        }
        other => other,
    }
    .map_err(at("create", dst))
}

/// Copy the data ranges of the first `size` bytes, so holes stay holes.
fn copy_data(
    fs: &dyn FsOps,
    input: &Handle,
    out: &Handle,
    size: u64,
    src: &Path,
    dst: &Path,
) -> Result<u64, CopyError> {
    let mut pos = 0;
    let mut written = 0;
    while pos < size {
        let Some((start, end)) = fs.data_range(input, pos).map_err(at("seek", src))? else {
            break; // no data after `pos`: the rest is a hole
        };
        if start >= size {
            break;
        }
        let end = end.min(size);
        let n = fs.copy_range(input, out, start, end).map_err(|e| {
            let path = if e.on_source { src } else { dst };
            CopyError::new(e.op, path, e.errno)
        })?;
        written += n;
        if n < end - start {
            // The source shrank under us: what is left is gone.
            break;
        }
        pos = end;
    }
    Ok(written)
}
