//! The cpio `newc` header: 110 ASCII bytes, then the NUL-terminated name, each part
//! padded to a multiple of 4 bytes. This is the only format the kernel's initramfs
//! unpacker reads (`070701`; the `070702` "crc" variant differs only in `check`).

use super::CpioError;

/// The newc magic. `070702` (with checksum) is accepted when reading.
pub const MAGIC: &[u8; 6] = b"070701";
pub const MAGIC_CRC: &[u8; 6] = b"070702";
/// Magic (6) + 13 fields of 8 hex digits.
pub const HEADER_LEN: usize = 110;
/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

/// File type bits of `mode`, as in `<sys/stat.h>` (the cpio format reuses them).
pub const S_IFMT: u32 = 0o170_000;
pub const S_IFSOCK: u32 = 0o140_000;
pub const S_IFLNK: u32 = 0o120_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFBLK: u32 = 0o060_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFCHR: u32 = 0o020_000;
pub const S_IFIFO: u32 = 0o010_000;

/// Padding needed to bring `len` to a multiple of 4. `const` so that sizes of fixed
/// entries can be computed at compile time.
pub const fn pad4(len: usize) -> usize {
    (4 - (len % 4)) % 4
}

/// Bytes taken by a header plus its name (with NUL and padding), before the data.
pub const fn header_and_name_len(name_len: usize) -> usize {
    let n = HEADER_LEN + name_len + 1;
    n + pad4(n)
}

/// The numeric fields of a newc header. `namesize` is not stored: it is derived from
/// the name when encoding and returned separately when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub filesize: u32,
    pub devmajor: u32,
    pub devminor: u32,
    pub rdevmajor: u32,
    pub rdevminor: u32,
    pub check: u32,
}

impl Header {
    /// The header of the archive's final entry. nlink 1 matches GNU cpio and u-root.
    pub fn trailer() -> Header {
        Header {
            nlink: 1,
            ..Header::default()
        }
    }

    /// Header, name, NUL and padding up to the start of the data. Names are bytes:
    /// Linux file names need not be UTF-8.
    pub fn encode(&self, name: impl AsRef<[u8]>) -> Vec<u8> {
        let name = name.as_ref();
        let namesize = name.len() + 1;
        let mut out = Vec::with_capacity(header_and_name_len(name.len()));
        out.extend_from_slice(MAGIC);
        let fields = [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.devmajor,
            self.devminor,
            self.rdevmajor,
            self.rdevminor,
            namesize as u32,
            self.check,
        ];
        for f in fields {
            // newc uses upper-case hex (GNU cpio, the kernel's gen_init_cpio); the
            // kernel parses either case, but matching the reference tools keeps our
            // archives byte-comparable with theirs.
            out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(name);
        out.push(0);
        out.resize(out.len() + pad4(out.len()), 0);
        out
    }

    /// Parses the 110 header bytes at `offset` of an archive; returns the header and
    /// `namesize` (name length including its NUL).
    pub fn decode(buf: &[u8], offset: usize) -> Result<(Header, usize), CpioError> {
        let raw = buf
            .get(..HEADER_LEN)
            .ok_or(CpioError::Truncated { offset, what: "header" })?;
        let magic = &raw[..6];
        if magic != MAGIC && magic != MAGIC_CRC {
            return Err(CpioError::BadMagic {
                offset,
                found: String::from_utf8_lossy(magic).into_owned(),
            });
        }
        let mut f = [0u32; 13];
        for (i, slot) in f.iter_mut().enumerate() {
            let start = 6 + i * 8;
            let text = &raw[start..start + 8];
            *slot = std::str::from_utf8(text)
                .ok()
                .and_then(|t| u32::from_str_radix(t, 16).ok())
                .ok_or_else(|| CpioError::BadField {
                    offset: offset + start,
                    text: String::from_utf8_lossy(text).into_owned(),
                })?;
        }
        let header = Header {
            ino: f[0],
            mode: f[1],
            uid: f[2],
            gid: f[3],
            nlink: f[4],
            mtime: f[5],
            filesize: f[6],
            devmajor: f[7],
            devminor: f[8],
            rdevmajor: f[9],
            rdevminor: f[10],
            check: f[12],
        };
        Ok((header, f[11] as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = Header {
            ino: 7,
            mode: S_IFCHR | 0o600,
            uid: 1000,
            gid: 100,
            nlink: 1,
            mtime: 1_700_000_000,
            filesize: 0,
            devmajor: 8,
            devminor: 1,
            rdevmajor: 5,
            rdevminor: 1,
            check: 0,
        };
        let bytes = h.encode("dev/console");
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(bytes.len(), header_and_name_len("dev/console".len()));
        let (back, namesize) = Header::decode(&bytes, 0).unwrap();
        assert_eq!(back, h);
        assert_eq!(namesize, "dev/console".len() + 1);
        assert_eq!(&bytes[HEADER_LEN..HEADER_LEN + 11], b"dev/console");
        assert_eq!(bytes[HEADER_LEN + 11], 0);
    }

    /// Each field lands at its documented offset, as 8 upper-case hex digits.
    #[test]
    fn field_offsets() {
        let h = Header {
            ino: 0x1,
            mode: 0o100_755,
            uid: 0x2,
            gid: 0x3,
            nlink: 0x4,
            mtime: 0x5566_7788,
            filesize: 0xabc,
            devmajor: 0x6,
            devminor: 0x7,
            rdevmajor: 0x8,
            rdevminor: 0x9,
            check: 0xa,
        };
        let bytes = h.encode("init");
        let field = |i: usize| std::str::from_utf8(&bytes[6 + 8 * i..14 + 8 * i]).unwrap();
        let table: [(usize, &str, &str); 13] = [
            (0, "ino", "00000001"),
            (1, "mode", "000081ED"),
            (2, "uid", "00000002"),
            (3, "gid", "00000003"),
            (4, "nlink", "00000004"),
            (5, "mtime", "55667788"),
            (6, "filesize", "00000ABC"),
            (7, "devmajor", "00000006"),
            (8, "devminor", "00000007"),
            (9, "rdevmajor", "00000008"),
            (10, "rdevminor", "00000009"),
            (11, "namesize", "00000005"),
            (12, "check", "0000000A"),
        ];
        assert_eq!(&bytes[..6], b"070701");
        for (i, name, want) in table {
            assert_eq!(field(i), want, "field {name}");
        }
    }

    #[test]
    fn padding_table() {
        // (name, total header+name bytes): 110 + len + NUL, rounded up to 4.
        for (name, want) in [("", 112), ("a", 112), ("ab", 116), ("abcdef", 120)] {
            assert_eq!(Header::default().encode(name).len(), want, "name {name:?}");
        }
        assert_eq!([pad4(0), pad4(1), pad4(2), pad4(3), pad4(4)], [0, 3, 2, 1, 0]);
    }

    #[test]
    fn decode_errors() {
        let mut bytes = Header::default().encode("x");
        assert!(matches!(
            Header::decode(&bytes[..50], 0),
            Err(CpioError::Truncated { .. })
        ));
        bytes[14] = b'g';
        assert!(matches!(
            Header::decode(&bytes, 0),
            Err(CpioError::BadField { offset: 14, .. })
        ));
        bytes[0] = b'1';
        assert!(matches!(Header::decode(&bytes, 0), Err(CpioError::BadMagic { .. })));
    }

    #[test]
    fn accepts_lower_case_and_crc_magic() {
        let mut bytes = Header {
            mode: 0o40755,
            ..Header::default()
        }
        .encode("d");
        bytes[5] = b'2';
        let lower = String::from_utf8(bytes[6..14].to_vec()).unwrap().to_lowercase();
        bytes[6..14].copy_from_slice(lower.as_bytes());
        let (h, _) = Header::decode(&bytes, 0).unwrap();
        assert_eq!(h.mode, 0o40755);
    }
}
