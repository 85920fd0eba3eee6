//! Fuzz body for the image reader (zos-cpio): raw newc, every decompressor the crate
//! has (zstd, xz, gzip; lz4, bzip2 and lzo are not read, detect() refuses them) and
//! segments back to back. Also compiled into tests/fuzz_corpora.rs.

use zos_builder::cpio::compress::{compress, decompress_bounded, CompressError};
use zos_builder::cpio::{read_archives, read_image_bounded, Compression};

/// The bound per compressed segment here: small, so that a bomb the fuzzer builds is
/// the TooLarge error it must be after a few hundred KB of output, not MiBs per codec
/// per input (the check is the same at any bound; libFuzzer's inputs are a few KB, so
/// no honest archive the round trip below compresses comes near it).
const LIMIT: u64 = 256 << 10;

const CODECS: [Compression; 3] = [Compression::Zstd, Compression::Xz, Compression::Gzip];

/// Never panics; a decoder never returns more than the bound or claims more input
/// than it got; every entry carries exactly its header's size; and raw archives read
/// through each compressor give the same entries as read raw.
pub fn cpio(data: &[u8]) {
    if let Ok(segs) = read_image_bounded(data, LIMIT) {
        assert!(!segs.is_empty());
        for s in &segs {
            assert!(s.offset < data.len(), "segment at {} of {}", s.offset, data.len());
            for e in &s.entries {
                assert_eq!(e.data.len(), e.size as usize, "{:?}", e.name);
            }
        }
    }
    for c in CODECS {
        match decompress_bounded(data, c, LIMIT) {
            Ok((out, used)) => {
                assert!(out.len() as u64 <= LIMIT, "{c}: {} bytes", out.len());
                assert!(used > 0 && used <= data.len(), "{c}: used {used} of {}", data.len());
            }
            Err(CompressError::TooLarge { limit, .. }) => assert_eq!(limit, LIMIT),
            Err(_) => {}
        }
    }
    // Only archives (and zero padding) to the end: the shape of a compressed payload.
    let Ok((entries, end)) = read_archives(data, 0) else {
        return;
    };
    if end != data.len() || entries.is_empty() {
        return;
    }
    for c in CODECS {
        // The fastest level of each: the property is about the reader, not the ratio.
        let level = *c.level_range().start();
        let z = compress(data, c, Some(level)).expect("compress");
        let segs = read_image_bounded(&z, LIMIT).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(segs.len(), 1, "{c}");
        assert_eq!(segs[0].compression, c);
        assert_eq!(segs[0].entries, entries, "{c}");
    }
}
