//! Compression of the archive, and decompression of one segment of an image for the
//! reader. Every choice here is about what the kernel's in-tree decompressors accept
//! and about producing the same bytes on every build.

use std::fmt;
use std::io::{self, Read, Write};
use std::ops::RangeInclusive;
use std::str::FromStr;

use xz2::stream::{Action, Check, Status, Stream};

/// liblzma's LZMA_PRESET_EXTREME (xz2 does not re-export lzma-sys' constant).
const XZ_PRESET_EXTREME: u32 = 0x8000_0000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    #[default]
    Zstd,
    Xz,
    Gzip,
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    #[error("unknown compression {name:?} (valid: zstd, xz, gzip, none)")]
    Unknown { name: String },
    #[error("{compression} level {level} is out of range {}..={}", range.start(), range.end())]
    BadLevel {
        compression: Compression,
        level: u32,
        range: RangeInclusive<u32>,
    },
    #[error("{compression} encoder: {cause}")]
    Encode { compression: Compression, cause: io::Error },
    #[error("{compression} segment: {cause}")]
    Decode { compression: Compression, cause: io::Error },
    #[error(
        "{compression} segment expands past {} MiB: refused before allocating more (no \
         initramfs that big fits the init's default tmpfs; a decompression bomb?)",
        limit >> 20
    )]
    TooLarge { compression: Compression, limit: u64 },
}

/// The most one compressed segment may expand to when an image is read (`ls`, `cat`,
/// `unpack`): the init's default tmpfs (1536M), which no bigger rootfs fits anyway.
/// A bound, so an 18 KB zstd of 512 MiB or 145 KB of 4 GiB is an error, not an
/// allocation failure.
pub const MAX_EXPANDED: u64 = 1536 << 20;

/// Read `r` to its end into a buffer that never passes `limit` bytes (plus the one
/// byte past it that tells a longer stream). The decoder writes straight into the
/// output, which grows from 64 KiB by doubling up to steps of 64 MiB, then linearly:
/// a small segment (or a small bound) costs a small buffer, and a limit near the
/// memory bound does not ask for twice the memory on its last step.
fn read_bounded(mut r: impl Read, limit: u64, c: Compression) -> Result<Vec<u8>, CompressError> {
    let cap = usize::try_from(limit).map_or(usize::MAX, |l| l.saturating_add(1));
    let mut out: Vec<u8> = Vec::new();
    let mut len = 0;
    loop {
        if len == out.len() {
            let step = len.clamp(64 << 10, 64 << 20).min(cap - len);
            // Exactly: resize alone would double the capacity (2 GiB asked for at
            // 1 GiB), which a limit near the memory bound cannot afford.
            out.reserve_exact(step);
            out.resize(len + step, 0);
        }
        match r.read(&mut out[len..]) {
            Ok(0) => {
                out.truncate(len);
                return Ok(out);
            }
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(cause) => return Err(CompressError::Decode { compression: c, cause }),
        }
        if len as u64 > limit {
            return Err(CompressError::TooLarge { compression: c, limit });
        }
    }
}

impl Compression {
    pub const ALL: [Compression; 4] = [Compression::Zstd, Compression::Xz, Compression::Gzip, Compression::None];

    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
            Compression::None => "none",
        }
    }

    /// File name suffix after `.cpio`.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Zstd => ".zst",
            Compression::Xz => ".xz",
            Compression::Gzip => ".gz",
            Compression::None => "",
        }
    }

    /// zstd 19 is the highest level without `--ultra`: ultra levels use windows up to
    /// 128 MiB that the kernel must allocate at boot. xz 6 (used with "extreme") has
    /// an 8 MiB dictionary; preset 9's 64 MiB would be vmalloc'ed by the kernel's
    /// decoder for no gain on images of a few tens of MiB.
    pub fn default_level(self) -> u32 {
        match self {
            Compression::Zstd => 19,
            Compression::Xz => 6,
            Compression::Gzip => 9,
            Compression::None => 0,
        }
    }

    pub fn level_range(self) -> RangeInclusive<u32> {
        match self {
            Compression::Zstd => 1..=19,
            Compression::Xz | Compression::Gzip => 0..=9,
            Compression::None => 0..=0,
        }
    }

    /// What a segment starting with `buf` is: `Some(None)` for raw cpio.
    pub fn detect(buf: &[u8]) -> Option<Compression> {
        if buf.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if buf.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else if buf.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if buf.starts_with(b"070701") || buf.starts_with(b"070702") {
            Some(Compression::None)
        } else {
            None
        }
    }

    fn check_level(self, level: Option<u32>) -> Result<u32, CompressError> {
        // A level means nothing without compression; scripts that switch only
        // `--compression` should not have to drop `--level` too.
        if self == Compression::None {
            return Ok(0);
        }
        let level = level.unwrap_or_else(|| self.default_level());
        let range = self.level_range();
        if range.contains(&level) {
            Ok(level)
        } else {
            Err(CompressError::BadLevel {
                compression: self,
                level,
                range,
            })
        }
    }

    /// Wraps `out` in an encoder. zstd runs multithreaded (one worker per core; its
    /// bytes do not depend on the worker count, see below); xz and gzip are
    /// single-threaded.
    pub fn encoder<W: Write>(self, level: Option<u32>, out: W) -> Result<Encoder<W>, CompressError> {
        let level = self.check_level(level)?;
        let enc_err = |source| CompressError::Encode {
            compression: self,
            cause: source,
        };
        Ok(match self {
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(out, level as i32).map_err(enc_err)?;
                // Like the zstd CLI; the kernel's decoder verifies the XXH64 checksum.
                enc.include_checksum(true).map_err(enc_err)?;
                // Always zstd's multithreaded mode, with a worker per core: its output
                // depends on the level and the data, not on the number of workers
                // (checked: 1, 2, 4 and 8 give the same bytes; only the non-threaded
                // mode differs), so images stay bit-identical across machines.
                enc.multithread(zstd_workers()).map_err(enc_err)?;
                Encoder::Zstd(enc)
            }
            Compression::Xz => {
                // The kernel's XZ decoder knows CRC32 only (and none); the default
                // CRC64 makes it refuse the image.
                let stream =
                    Stream::new_easy_encoder(level | XZ_PRESET_EXTREME, Check::Crc32).map_err(|e| enc_err(e.into()))?;
                Encoder::Xz(xz2::write::XzEncoder::new_stream(out, stream))
            }
            Compression::Gzip => {
                // mtime 0 and a fixed OS byte (3 = Unix, as `gzip -n` on Linux): the
                // header then depends on nothing but the data.
                let enc = flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(3)
                    .write(out, flate2::Compression::new(level));
                Encoder::Gzip(enc)
            }
            Compression::None => Encoder::Plain(out),
        })
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = CompressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| CompressError::Unknown { name: s.to_owned() })
    }
}

/// A compressing writer; `finish` must be called to write the stream's end.
pub enum Encoder<W: Write> {
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Xz(xz2::write::XzEncoder<W>),
    Gzip(flate2::write::GzEncoder<W>),
    Plain(W),
}

impl<W: Write> Encoder<W> {
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Zstd(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Plain(mut w) => w.flush().map(|()| w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Plain(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Zstd(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Plain(w) => w.flush(),
        }
    }
}

/// Workers for zstd's multithreaded mode: one per core, at least one.
fn zstd_workers() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// Compresses a buffer in one go (tests, small segments).
pub fn compress(data: &[u8], c: Compression, level: Option<u32>) -> Result<Vec<u8>, CompressError> {
    let err = |source| CompressError::Encode {
        compression: c,
        cause: source,
    };
    let mut enc = c.encoder(level, Vec::new())?;
    enc.write_all(data).map_err(err)?;
    enc.finish().map_err(err)
}

/// Decompresses the one compressed segment (zstd frame, xz stream or gzip member) at
/// the start of `buf`, and says how many input bytes it used. Like the kernel, the
/// caller then carries on with whatever follows: padding, raw cpio, another segment.
/// The output is bounded by `MAX_EXPANDED`.
pub fn decompress_one(buf: &[u8], c: Compression) -> Result<(Vec<u8>, usize), CompressError> {
    decompress_bounded(buf, c, MAX_EXPANDED)
}

/// `decompress_one` with the bound given: `CompressError::TooLarge` as soon as the
/// output would pass `limit` bytes, having held at most about `limit` in memory.
pub fn decompress_bounded(buf: &[u8], c: Compression, limit: u64) -> Result<(Vec<u8>, usize), CompressError> {
    let err = |source| CompressError::Decode {
        compression: c,
        cause: source,
    };
    match c {
        Compression::Zstd => {
            let len = zstd::zstd_safe::find_frame_compressed_size(buf).map_err(|code| {
                err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    zstd::zstd_safe::get_error_name(code),
                ))
            })?;
            let dec = zstd::stream::read::Decoder::with_buffer(&buf[..len]).map_err(err)?;
            Ok((read_bounded(dec, limit, c)?, len))
        }
        Compression::Xz => decompress_xz(buf, limit),
        Compression::Gzip => {
            // The bufread decoder consumes exactly the member from the slice, so what
            // is left in `rest` is what follows it.
            let mut rest = buf;
            let out = read_bounded(flate2::bufread::GzDecoder::new(&mut rest), limit, c)?;
            Ok((out, buf.len() - rest.len()))
        }
        Compression::None => Ok((buf.to_vec(), buf.len())),
    }
}

/// One xz stream, driven by hand: xz2's readers either join concatenated streams or
/// report data after the stream end as corruption. The output may hold one byte past
/// `limit`, as in `read_bounded`, so a stream of exactly `limit` bytes reaches its end.
fn decompress_xz(buf: &[u8], limit: u64) -> Result<(Vec<u8>, usize), CompressError> {
    let c = Compression::Xz;
    let err = |cause| CompressError::Decode { compression: c, cause };
    let too_large = CompressError::TooLarge { compression: c, limit };
    let cap = usize::try_from(limit).map_or(usize::MAX, |l| l.saturating_add(1));
    let mut stream = Stream::new_stream_decoder(u64::MAX, 0).map_err(|e| err(e.into()))?;
    let mut out = Vec::with_capacity(buf.len().saturating_mul(4).min(cap));
    loop {
        if out.len() == out.capacity() {
            // Linear steps past 64 MiB, and never past the limit (see read_bounded).
            out.reserve_exact(out.len().clamp(1 << 20, 64 << 20).min(cap - out.len()));
        }
        let pos = stream.total_in() as usize;
        let before = (pos, out.len());
        let action = if pos == buf.len() { Action::Finish } else { Action::Run };
        let status = stream
            .process_vec(&buf[pos..], &mut out, action)
            .map_err(|e| err(e.into()))?;
        if out.len() as u64 > limit {
            return Err(too_large);
        }
        match status {
            Status::StreamEnd => return Ok((out, stream.total_in() as usize)),
            _ if (stream.total_in() as usize, out.len()) == before && out.len() < out.capacity() => {
                return Err(err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "xz stream ends early",
                )))
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "compress_tests.rs"]
mod tests;
