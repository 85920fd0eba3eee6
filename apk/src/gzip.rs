//! APK v2 files are several gzip members back to back (signature, control, data),
//! and each member's *compressed* bytes are what the signature and the checksums
//! cover. A gzip reader that stops after the first member sees only the signature,
//! and a multi-member reader loses the boundaries, so members are split here.

use std::io::Read;
use std::ops::Range;

use flate2::bufread::GzDecoder;

use super::error::{ApkError, Result};

#[derive(Debug)]
pub struct Member {
    /// Where the compressed member sits in the file.
    pub raw: Range<usize>,
    /// Its decompressed content (a tar without end-of-archive blocks).
    pub data: Vec<u8>,
}

/// Splits `buf` into gzip members; `what` names the file in errors. The apk v3 format
/// (ADB) is recognised and refused with a clear message.
pub fn split_members(buf: &[u8], what: &str) -> Result<Vec<Member>> {
    if buf.starts_with(b"ADB") {
        return Err(ApkError::Adb { what: what.into() });
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let mut rest = &buf[pos..];
        // bufread::GzDecoder consumes exactly one member from a `&[u8]`, leaving
        // the slice at the first unused byte.
        let mut dec = GzDecoder::new(&mut rest);
        let mut data = Vec::new();
        dec.read_to_end(&mut data).map_err(|cause| ApkError::Gzip {
            what: format!("{what} (member {} at byte {pos})", out.len() + 1),
            cause,
        })?;
        drop(dec);
        let used = buf.len() - pos - rest.len();
        if used == 0 {
            break;
        }
        out.push(Member {
            raw: pos..pos + used,
            data,
        });
        pos += used;
    }
    if out.is_empty() {
        return Err(super::error::format(what, "empty file"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn splits_concatenated_members() {
        let (a, b) = (gz(b"first"), gz(b"second member"));
        let all = [a.clone(), b.clone()].concat();
        let m = split_members(&all, "t").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].data, b"first");
        assert_eq!(m[1].data, b"second member");
        assert_eq!(&all[m[1].raw.clone()], &b[..]);
    }

    #[test]
    fn garbage_and_adb_are_named() {
        let e = split_members(b"not gzip", "x.apk").unwrap_err().to_string();
        assert!(e.starts_with("x.apk (member 1 at byte 0)"), "{e}");
        let e = split_members(b"ADBd....", "y.apk").unwrap_err().to_string();
        assert!(e.contains("apk v3"), "{e}");
    }
}
