//! Debian packages without dpkg: a `.deb` is an ar archive holding `debian-binary`
//! (`2.0`), `control.tar.*` and `data.tar.*` (xz for Debian's kernels, zstd for
//! Ubuntu's, gzip for old ones, or plain). Only the data member is unpacked.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::{io, KernelError};

const AR_MAGIC: &[u8; 8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;

/// One member: its name and where its bytes are in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

fn bad(path: &Path, reason: impl Into<String>) -> KernelError {
    KernelError::Format {
        path: path.into(),
        reason: reason.into(),
    }
}

/// The members of the ar archive at `path` (common format; GNU's `name/` is trimmed).
pub fn members(path: &Path) -> Result<Vec<Member>, KernelError> {
    let mut f = File::open(path).map_err(io("open", path))?;
    let len = f.metadata().map_err(io("stat", path))?.len();
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic)
        .map_err(|_| bad(path, "not an ar archive (too short)"))?;
    if &magic != AR_MAGIC {
        return Err(bad(path, "not an ar archive (no !<arch> magic)"));
    }
    let mut out = Vec::new();
    let mut pos = 8u64;
    while pos < len {
        let mut h = [0u8; HEADER_LEN];
        f.seek(SeekFrom::Start(pos)).map_err(io("seek", path))?;
        f.read_exact(&mut h)
            .map_err(|_| bad(path, format!("truncated ar header at byte {pos}")))?;
        if &h[58..60] != b"`\n" {
            return Err(bad(path, format!("bad ar header at byte {pos}")));
        }
        let field = |r: std::ops::Range<usize>| String::from_utf8_lossy(&h[r]).trim().to_string();
        let name = field(0..16).trim_end_matches('/').to_string();
        let size: u64 = field(48..58)
            .parse()
            .map_err(|_| bad(path, format!("bad member size in ar header at byte {pos}")))?;
        let offset = pos + HEADER_LEN as u64;
        if offset + size > len {
            return Err(bad(path, format!("member {name} runs past the end of the file")));
        }
        out.push(Member { name, offset, size });
        // Members start on even offsets: odd sizes are followed by one `\n`.
        pos = offset + size + (size & 1);
    }
    Ok(out)
}

/// Unpack the data member of the `.deb` at `path` into `dest`.
pub fn unpack(path: &Path, dest: &Path) -> Result<(), KernelError> {
    let all = members(path)?;
    match all.first() {
        Some(m) if m.name == "debian-binary" => {}
        _ => return Err(bad(path, "not a Debian package (first member is not debian-binary)")),
    }
    let data = all
        .iter()
        .find(|m| m.name.starts_with("data.tar"))
        .ok_or_else(|| bad(path, "no data.tar.* member"))?;
    let mut f = File::open(path).map_err(io("open", path))?;
    f.seek(SeekFrom::Start(data.offset)).map_err(io("seek", path))?;
    let raw = BufReader::new(f.take(data.size));
    let reader: Box<dyn Read> = match data.name.as_str() {
        "data.tar" => Box::new(raw),
        "data.tar.gz" => Box::new(flate2::bufread::GzDecoder::new(raw)),
        "data.tar.xz" => Box::new(xz2::bufread::XzDecoder::new(raw)),
        "data.tar.zst" => Box::new(zstd::Decoder::with_buffer(raw).map_err(io("zstd", path))?),
        other => return Err(bad(path, format!("unsupported data member {other}"))),
    };
    let mut ar = tar::Archive::new(reader);
    // Host ownership is irrelevant (the cpio is made from the tree's content); keep
    // modes so vmlinuz and the modules stay readable, and mtimes for reproducibility.
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_overwrite(true);
    ar.unpack(dest)
        .map_err(|e| bad(path, format!("unpacking {} into {}: {e}", data.name, dest.display())))
}
