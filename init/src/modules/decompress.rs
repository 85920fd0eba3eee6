//! Compressed modules (`.ko.gz`, `.ko.xz`, `.ko.zst`). The kernel can take the file as
//! it is (`finit_module` with MODULE_INIT_COMPRESSED_FILE) when it was built with that
//! one algorithm (`/sys/module/compression`); otherwise we inflate it here with pure
//! Rust decoders and call `init_module` with the bytes.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Xz,
    Zstd,
}

impl Codec {
    pub fn of(path: &Path) -> Option<Codec> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".ko.gz") {
            Some(Codec::Gzip)
        } else if name.ends_with(".ko.xz") {
            Some(Codec::Xz)
        } else if name.ends_with(".ko.zst") {
            Some(Codec::Zstd)
        } else {
            None
        }
    }

    /// The word `/sys/module/compression` uses for it.
    pub fn kernel_name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Xz => "xz",
            Codec::Zstd => "zstd",
        }
    }
}

/// Inflate a whole module image.
pub fn decompress(codec: Codec, data: &[u8]) -> Result<Vec<u8>, String> {
    match codec {
        Codec::Zstd => {
            use std::io::Read;
            let mut dec = ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| format!("zstd: {e}"))?;
            let mut out = Vec::with_capacity(data.len() * 3);
            dec.read_to_end(&mut out).map_err(|e| format!("zstd: {e}"))?;
            Ok(out)
        }
        Codec::Xz => {
            let mut out = Vec::with_capacity(data.len() * 3);
            lzma_rs::xz_decompress(&mut std::io::BufReader::new(data), &mut out).map_err(|e| format!("xz: {e}"))?;
            Ok(out)
        }
        Codec::Gzip => {
            let body = gzip_body(data).ok_or("gzip: bad header")?;
            miniz_oxide::inflate::decompress_to_vec(body).map_err(|e| format!("gzip: {e:?}"))
        }
    }
}

/// The deflate stream inside a gzip member (RFC 1952 header skipped).
fn gzip_body(d: &[u8]) -> Option<&[u8]> {
    if d.len() < 18 || d[0] != 0x1f || d[1] != 0x8b || d[2] != 8 {
        return None;
    }
    let flags = d[3];
    let mut i = 10;
    if flags & 4 != 0 {
        let xlen = u16::from_le_bytes([*d.get(i)?, *d.get(i + 1)?]) as usize;
        i += 2 + xlen;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            i += d.get(i..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & 2 != 0 {
        i += 2;
    }
    d.get(i..d.len().checked_sub(8)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn tool(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
        use std::io::Write;
        let mut c = Command::new(args[0])
            .args(&args[1..])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        c.stdin.take()?.write_all(input).ok()?;
        let out = c.wait_with_output().ok()?;
        out.status.success().then_some(out.stdout)
    }

    #[test]
    fn round_trips_with_the_host_tools() {
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (codec, cmd) in [
            (Codec::Xz, &["xz", "--check=crc32", "-c"][..]),
            (Codec::Zstd, &["zstd", "-q", "-c"][..]),
            (Codec::Gzip, &["gzip", "-n", "-c"][..]),
        ] {
            let Some(packed) = tool(cmd, &plain) else {
                panic!("needs {} on the host", cmd[0]);
            };
            assert_eq!(decompress(codec, &packed).unwrap(), plain, "{codec:?}");
        }
        assert!(decompress(Codec::Zstd, b"garbage").is_err());
        assert!(decompress(Codec::Gzip, b"garbage").is_err());
    }

    #[test]
    fn codec_from_name() {
        assert_eq!(Codec::of(Path::new("a/b.ko.zst")), Some(Codec::Zstd));
        assert_eq!(Codec::of(Path::new("a/b.ko.xz")), Some(Codec::Xz));
        assert_eq!(Codec::of(Path::new("a/b.ko")), None);
    }
}
