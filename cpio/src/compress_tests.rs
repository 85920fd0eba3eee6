//! Compression tests: round trips, levels, and the decoders' bounds.

use super::*;
#[test]
fn zstd_output_does_not_depend_on_the_worker_count() {
    // 8 MiB at level 1 spans several zstd jobs (2 MiB each), so the workers really
    // split the work; the bytes must still be the same.
    let mut x: u32 = 7;
    let data: Vec<u8> = (0..8 << 20)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            if i % 7 == 0 {
                (x >> 24) as u8
            } else {
                b'a' + (i % 13) as u8
            }
        })
        .collect();
    let with = |workers: u32| {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        enc.include_checksum(true).unwrap();
        enc.multithread(workers).unwrap();
        std::io::Write::write_all(&mut enc, &data).unwrap();
        enc.finish().unwrap()
    };
    let one = with(1);
    assert_eq!(one, with(2));
    assert_eq!(one, with(4));
    assert_eq!(
        compress(&data, Compression::Zstd, Some(1)).unwrap(),
        one,
        "the builder uses that mode"
    );
}

#[test]
fn names_parse_and_print() {
    for c in Compression::ALL {
        assert_eq!(c.name().parse::<Compression>().unwrap(), c);
        assert_eq!(c.to_string(), c.name());
    }
    let e = "lz4".parse::<Compression>().unwrap_err().to_string();
    assert_eq!(e, "unknown compression \"lz4\" (valid: zstd, xz, gzip, none)");
}

#[test]
fn round_trip_each_with_trailing_data() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for c in Compression::ALL {
        let mut z = compress(&data, c, None).unwrap();
        assert_eq!(Compression::detect(&z), (c != Compression::None).then_some(c));
        let len = z.len();
        z.extend_from_slice(&[0, 0, 0, 0]);
        z.extend_from_slice(b"070701 rest");
        if c == Compression::None {
            continue;
        }
        let (back, used) = decompress_one(&z, c).unwrap();
        assert_eq!(back, data, "{c}");
        assert_eq!(used, len, "{c} consumed");
    }
}

#[test]
fn same_input_same_bytes() {
    let data = b"reproducible".repeat(1000);
    for c in Compression::ALL {
        assert_eq!(compress(&data, c, None).unwrap(), compress(&data, c, None).unwrap());
    }
}

#[test]
fn levels_are_checked() {
    let e = Compression::Zstd.encoder(Some(22), Vec::new()).err().unwrap();
    assert_eq!(e.to_string(), "zstd level 22 is out of range 1..=19");
    assert!(Compression::Xz.encoder(Some(9), Vec::new()).is_ok());
}

#[test]
fn truncated_segment_is_an_error() {
    let data = b"x".repeat(10_000);
    for c in [Compression::Zstd, Compression::Xz, Compression::Gzip] {
        let z = compress(&data, c, None).unwrap();
        assert!(decompress_one(&z[..z.len() - 5], c).is_err(), "{c}");
    }
}

/// Every decoder stops at the bound with TooLarge, and decodes up to it.
#[test]
fn decompression_is_bounded_for_every_compression() {
    let data = vec![0u8; 3 << 20];
    for c in [Compression::Zstd, Compression::Xz, Compression::Gzip] {
        let z = compress(&data, c, None).unwrap();
        let e = decompress_bounded(&z, c, 1 << 20).unwrap_err();
        assert!(
            matches!(e, CompressError::TooLarge { limit, .. } if limit == 1 << 20),
            "{c}: {e}"
        );
        assert!(e.to_string().contains("expands past 1 MiB"), "{e}");
        let (out, used) = decompress_bounded(&z, c, 3 << 20).unwrap();
        assert_eq!((out.len(), used), (data.len(), z.len()), "{c}");
    }
}

/// A segment of exactly the bound decodes, one byte more is TooLarge, for every
/// size (xz refused an empty stream at bound 0, and could refuse one that filled
/// its buffer to the bound just before its end).
#[test]
fn a_segment_of_exactly_the_bound_decodes() {
    for len in [0usize, 1, 4095, 65_536, 65_537, 300_000] {
        let data: Vec<u8> = (0..len).map(|i| (i % 7) as u8).collect();
        for c in [Compression::Zstd, Compression::Xz, Compression::Gzip] {
            let z = compress(&data, c, None).unwrap();
            let (out, used) = decompress_bounded(&z, c, len as u64)
                .unwrap_or_else(|e| panic!("{c}, {len} bytes at bound {len}: {e}"));
            assert_eq!((out, used), (data.clone(), z.len()), "{c} {len}");
            if len > 0 {
                let e = decompress_bounded(&z, c, len as u64 - 1).unwrap_err();
                assert!(matches!(e, CompressError::TooLarge { .. }), "{c} {len}: {e}");
            }
        }
    }
}
