//! The `tar:` source: a rootfs tarball (Alpine's minirootfs) unpacked as the base,
//! with owners and modes recorded in the ownership manifest like package contents,
//! and its apk database kept so packages go on top as `apk add` would.

use std::io::Read;
use std::path::Path;

use super::error::{format, io_at, Result};
use super::owners::Owners;

/// Unpacks a .tar, .tar.gz or .tar.zst into `root`; returns the entry count.
pub fn unpack(tarball: &Path, root: &Path, owners: &mut Owners) -> Result<usize> {
    let raw = std::fs::read(tarball).map_err(io_at(tarball))?;
    let what = format!("tar: {}", tarball.display());
    let data = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format(&what, e.to_string()))?;
        out
    } else if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::decode_all(&raw[..]).map_err(|e| format(&what, e.to_string()))?
    } else {
        raw
    };
    let out = super::extract::extract(&data, root, &what, owners, true, true)?;
    Ok(out.dirs.iter().map(|d| d.files.len() + 1).sum())
}
