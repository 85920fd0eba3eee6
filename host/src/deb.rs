//! Debian packages without dpkg: a `.deb` is an ar archive holding `debian-binary`
//! (`2.0`), `control.tar.*` and `data.tar.*` (xz for Debian's kernels, zstd for
//! Ubuntu's, gzip for old ones, or plain). The workspace's one .deb reader: the
//! builder's kernel sources and the apt cache ([`crate::debpkg`]) both use it.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::Error;

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(op, path, e)
}

const AR_MAGIC: &[u8; 8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;

/// One member: its name and where its bytes are in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::DebFormat {
        path: path.into(),
        reason: reason.into(),
    }
}

/// The members of the ar archive at `path` (common format; GNU's `name/` is trimmed).
pub fn members(path: &Path) -> Result<Vec<Member>, Error> {
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
pub fn unpack(path: &Path, dest: &Path) -> Result<(), Error> {
    let (name, reader) = open_member(path, "data.tar")?;
    let mut ar = tar::Archive::new(reader);
    // Host ownership is irrelevant (the cpio is made from the tree's content); keep
    // modes so vmlinuz and the modules stay readable, and mtimes for reproducibility.
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_overwrite(true);
    ar.unpack(dest)
        .map_err(|e| bad(path, format!("unpacking {name} into {}: {e}", dest.display())))
}

/// The value of `field` (e.g. `Version`) in the package's `control` file.
pub fn control_field(path: &Path, field: &str) -> Result<String, Error> {
    let (name, reader) = open_member(path, "control.tar")?;
    let mut ar = tar::Archive::new(reader);
    let entries = ar.entries().map_err(|e| bad(path, format!("reading {name}: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(path, format!("reading {name}: {e}")))?;
        let is_control = entry
            .path()
            .is_ok_and(|p| p.as_os_str() == "control" || p.as_os_str() == "./control");
        if !is_control {
            continue;
        }
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| bad(path, format!("reading control in {name}: {e}")))?;
        let prefix = format!("{field}:");
        return text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| bad(path, format!("control has no {field} field")));
    }
    Err(bad(path, format!("{name} has no control file")))
}

/// The member whose name is `stem` plus an optional compression suffix, decompressed.
fn open_member(path: &Path, stem: &str) -> Result<(String, Box<dyn Read>), Error> {
    let all = members(path)?;
    match all.first() {
        Some(m) if m.name == "debian-binary" => {}
        _ => return Err(bad(path, "not a Debian package (first member is not debian-binary)")),
    }
    let member = all
        .iter()
        .find(|m| m.name.starts_with(stem))
        .ok_or_else(|| bad(path, format!("no {stem}.* member")))?;
    let mut f = File::open(path).map_err(io("open", path))?;
    f.seek(SeekFrom::Start(member.offset)).map_err(io("seek", path))?;
    let raw = BufReader::new(f.take(member.size));
    let suffix = &member.name[stem.len()..];
    let reader: Box<dyn Read> = match suffix {
        "" => Box::new(raw),
        ".gz" => Box::new(flate2::bufread::GzDecoder::new(raw)),
        ".xz" => Box::new(xz2::bufread::XzDecoder::new(raw)),
        ".zst" => Box::new(zstd::Decoder::with_buffer(raw).map_err(io("zstd", path))?),
        _ => return Err(bad(path, format!("unsupported member {}", member.name))),
    };
    Ok((member.name.clone(), reader))
}
