//! Reads images the way the kernel unpacks them (init/initramfs.c `unpack_to_rootfs`):
//! a sequence of segments, each either raw cpio or one compressed stream, with zero
//! bytes allowed between them. A segment may itself hold several archives back to
//! back. This is what `lsinitrd` shows for early-microcode + main images.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::header::{pad4, Header, HEADER_LEN, S_IFLNK, S_IFMT, TRAILER};
use super::CpioError;
use crate::compress::{decompress_bounded, Compression, MAX_EXPANDED};

/// One record as found in an archive (the trailer excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEntry {
    pub name: PathBuf,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub size: u32,
    /// (devmajor, devminor): the device the entry came from, used only to tell
    /// hard links apart.
    pub dev: (u32, u32),
    /// (rdevmajor, rdevminor) of a device node.
    pub rdev: (u32, u32),
    pub ino: u32,
    pub data: Vec<u8>,
}

impl ReadEntry {
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }

    pub fn symlink_target(&self) -> Option<PathBuf> {
        (self.file_type() == S_IFLNK).then(|| PathBuf::from(OsStr::from_bytes(&self.data)))
    }
}

/// A run of archives that the kernel would unpack in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the segment in the image file.
    pub offset: usize,
    /// `Compression::None` for raw cpio.
    pub compression: Compression,
    pub entries: Vec<ReadEntry>,
}

/// Splits a whole image into segments and parses every archive in them; a compressed
/// segment may expand to `MAX_EXPANDED` bytes.
pub fn read_image(buf: &[u8]) -> Result<Vec<Segment>, CpioError> {
    read_image_bounded(buf, MAX_EXPANDED)
}

/// `read_image` with each compressed segment bounded to `limit` bytes (the fuzz
/// target uses a few MiB, so a bomb it finds is an error, not 1.5 GiB of memory).
pub fn read_image_bounded(buf: &[u8], limit: u64) -> Result<Vec<Segment>, CpioError> {
    let mut segments = Vec::new();
    let mut pos = 0;
    loop {
        pos += buf[pos..].iter().take_while(|&&b| b == 0).count();
        if pos == buf.len() {
            break;
        }
        let offset = pos;
        let compression = Compression::detect(&buf[pos..]).ok_or(CpioError::UnknownFormat { offset })?;
        let entries = if compression == Compression::None {
            // Raw cpio is aligned by its offset in the image, as in the kernel.
            let (entries, end) = read_archives(buf, pos)?;
            pos = end;
            entries
        } else {
            let (data, used) = decompress_bounded(&buf[pos..], compression, limit)
                .map_err(|source| CpioError::Decompress { offset, cause: source })?;
            pos += used;
            // Inside a compressed stream only cpio (and zero padding) may follow.
            let (entries, end) = read_archives(&data, 0)?;
            if end != data.len() {
                return Err(CpioError::UnknownFormat { offset: end });
            }
            entries
        };
        segments.push(Segment {
            offset,
            compression,
            entries,
        });
    }
    if segments.is_empty() {
        return Err(CpioError::Truncated {
            offset: 0,
            what: "image (no archive)",
        });
    }
    Ok(segments)
}

/// Parses the archives that follow each other from `start` (zero padding allowed
/// between them) and stops before the first byte that starts neither; returns the
/// entries and that position. Padding is computed from offsets in `buf`.
pub fn read_archives(buf: &[u8], start: usize) -> Result<(Vec<ReadEntry>, usize), CpioError> {
    let mut entries = Vec::new();
    let mut pos = start;
    loop {
        let zeros = buf[pos..].iter().take_while(|&&b| b == 0).count();
        let next = pos + zeros;
        if next == buf.len() {
            return Ok((entries, next));
        }
        if Compression::detect(&buf[next..]) != Some(Compression::None) {
            return Ok((entries, pos));
        }
        pos = read_one_archive(buf, next, &mut entries)?;
    }
}

/// One archive up to and including its trailer; returns the offset after it.
fn read_one_archive(buf: &[u8], start: usize, out: &mut Vec<ReadEntry>) -> Result<usize, CpioError> {
    let mut pos = start;
    loop {
        if pos >= buf.len() {
            return Err(CpioError::NoTrailer { offset: pos });
        }
        let (h, namesize) = Header::decode(&buf[pos..], pos)?;
        let name_start = pos + HEADER_LEN;
        let name_end = name_start + namesize;
        let name = buf
            .get(name_start..name_end)
            .ok_or(CpioError::Truncated {
                offset: name_start,
                what: "name",
            })?
            .strip_suffix(&[0])
            .ok_or(CpioError::BadName { offset: name_start })?;
        let data_start = name_end + pad4(name_end);
        let data_end = data_start + h.filesize as usize;
        let data = buf.get(data_start..data_end).ok_or(CpioError::Truncated {
            offset: data_start,
            what: "data",
        })?;
        pos = data_end + pad4(data_end);
        if name == TRAILER.as_bytes() {
            // Padding after the trailer may be cut short at the end of the buffer.
            return Ok(pos.min(buf.len()));
        }
        out.push(ReadEntry {
            name: PathBuf::from(OsStr::from_bytes(name)),
            mode: h.mode,
            uid: h.uid,
            gid: h.gid,
            nlink: h.nlink,
            mtime: h.mtime,
            size: h.filesize,
            dev: (h.devmajor, h.devminor),
            rdev: (h.rdevmajor, h.rdevminor),
            ino: h.ino,
            data: data.to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::compress;
    use crate::{write_archive, Entry, EntryKind, FileData, WriteOptions};

    fn archive(names: &[&str]) -> Vec<u8> {
        let entries = names
            .iter()
            .map(|n| Entry::new(*n, EntryKind::File(FileData::Bytes(n.as_bytes().to_vec())), 0o644))
            .collect();
        write_archive(entries, &WriteOptions::default(), Vec::new()).unwrap().0
    }

    fn names(segs: &[Segment]) -> Vec<String> {
        segs.iter()
            .flat_map(|s| &s.entries)
            .map(|e| e.name.display().to_string())
            .collect()
    }

    #[test]
    fn raw_then_zstd_then_padding_then_gzip() {
        let mut img = archive(&["kernel/x86/microcode/GenuineIntel.bin"]);
        img.extend_from_slice(&[0; 512]); // as `dracut --early-microcode` pads
        let zoff = img.len();
        img.extend(compress(&archive(&["init"]), Compression::Zstd, Some(3)).unwrap());
        img.extend_from_slice(&[0; 4]);
        img.extend(compress(&archive(&["etc/a", "etc/b"]), Compression::Gzip, None).unwrap());
        let segs = read_image(&img).unwrap();
        let kinds: Vec<_> = segs.iter().map(|s| (s.offset, s.compression)).collect();
        assert_eq!(kinds[0], (0, Compression::None));
        assert_eq!(kinds[1], (zoff, Compression::Zstd));
        assert_eq!(kinds[2].1, Compression::Gzip);
        assert_eq!(
            names(&segs),
            [
                "kernel",
                "kernel/x86",
                "kernel/x86/microcode",
                "kernel/x86/microcode/GenuineIntel.bin",
                "init",
                "etc",
                "etc/a",
                "etc/b"
            ]
        );
        assert_eq!(segs[1].entries[0].data, b"init");
    }

    #[test]
    fn two_archives_inside_one_compressed_stream() {
        let mut both = archive(&["a"]);
        both.extend(archive(&["b"]));
        let img = compress(&both, Compression::Xz, None).unwrap();
        let segs = read_image(&img).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(names(&segs), ["a", "b"]);
    }

    #[test]
    fn errors_carry_offsets() {
        let img = archive(&["a"]);
        let cut = &img[..img.len() - 120];
        assert!(matches!(
            read_image(cut),
            Err(CpioError::NoTrailer { .. }) | Err(CpioError::Truncated { .. })
        ));
        let mut junk = img.clone();
        junk.extend_from_slice(b"JUNK");
        match read_image(&junk) {
            Err(CpioError::UnknownFormat { offset }) => assert_eq!(offset, img.len()),
            other => panic!("{other:?}"),
        }
        assert!(read_image(&[]).is_err());
        assert!(read_image(&[0; 16]).is_err());
    }
}
