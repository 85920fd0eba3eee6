//! The commands that read an image: `ls` (per segment, on missing, garbage and bomb
//! images), `cat` into a closed pipe and `unpack` onto a file.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod cli_support;

use std::fs;
use std::process::Command;

use cli_support::{build, listing, run, stderr, stdout};

#[test]
fn concatenated_images_are_listed_per_segment() {
    let t = tempfile::tempdir().unwrap();
    let (_, raw) = build(&t.path().join("a"), &["--compression", "none"]);
    let (_, zst) = build(&t.path().join("b"), &["--compression", "zstd", "--level", "3"]);
    let mut cat = fs::read(&raw).unwrap();
    cat.extend_from_slice(&[0; 8]);
    let zoff = cat.len();
    cat.extend(fs::read(&zst).unwrap());
    let both = t.path().join("both.img");
    fs::write(&both, cat).unwrap();
    let ls = run(&["ls", both.to_str().unwrap()], false);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert_eq!(
        stdout(&ls),
        format!(
            "# segment at offset 0 (none)\n{0}# segment at offset {zoff} (zstd)\n{0}",
            listing()
        )
    );
}

#[test]
fn ls_missing_and_garbage_images() {
    let t = tempfile::tempdir().unwrap();
    let o = run(&["ls", "/nonexistent/img"], false);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: image /nonexistent/img: No such file or directory (os error 2)\n"
    );
    let junk = t.path().join("junk");
    fs::write(&junk, "not an image").unwrap();
    let o = run(&["ls", junk.to_str().unwrap()], false);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: image {}: offset 0: unrecognised data (not cpio, zstd, xz or gzip)\n",
            junk.display()
        )
    );
}

/// A decompression bomb: 145 KB of zstd holding one 4 GiB file. Under a 2 GB
/// address-space limit `ls` must end with the bound's error, not an allocation abort.
#[test]
fn ls_of_a_decompression_bomb_is_a_clear_error_under_a_memory_limit() {
    use std::io::Write;
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("bomb.cpio.zst");
    let size: u64 = (4 << 30) - 1; // the largest size a newc header can carry
    let name = b"big\0";
    let header = format!(
        "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
        1,
        0o100644,
        0,
        0,
        1,
        0,
        size,
        0,
        0,
        0,
        0,
        name.len(),
        0
    );
    let mut enc = zstd::stream::write::Encoder::new(fs::File::create(&img).unwrap(), 1).unwrap();
    enc.write_all(header.as_bytes()).unwrap();
    enc.write_all(name).unwrap(); // 110 + 4 bytes: already 4-aligned
    let zeros = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        enc.write_all(&zeros[..n]).unwrap();
        left -= n as u64;
    }
    enc.finish().unwrap();
    let o = Command::new("sh")
        .args(["-c", "ulimit -v 2000000 && exec \"$0\" ls \"$1\""])
        .arg(env!("CARGO_BIN_EXE_zos-builder"))
        .arg(&img)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(!o.status.success(), "a 4 GiB expansion was listed");
    assert!(
        err.contains("zstd segment expands past 1536 MiB"),
        "status {:?}, stderr: {err}",
        o.status
    );
}

#[test]
fn cat_into_a_closed_pipe_is_quiet_and_unpack_onto_a_file_says_why() {
    let t = tempfile::tempdir().unwrap();
    let (o, img) = build(t.path(), &["--compression", "none"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A big file, so that the write outlives `head`.
    let big = t.path().join("big");
    fs::write(&big, vec![b'x'; 4 << 20]).unwrap();
    let spec = format!("{}:/big", big.display());
    let (o, img2) = build(&t.path().join("b"), &["--compression", "none", "--file", &spec]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sh = format!(
        "{} cat {} /big | head -c1 >/dev/null; echo \"status ${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_zos-builder"),
        img2.display()
    );
    let o = Command::new("bash").args(["-c", &sh]).output().unwrap();
    assert_eq!(stderr(&o), "", "no Broken pipe message");
    assert_eq!(stdout(&o), "status 0\n");

    let file = t.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let o = run(&["unpack", img.to_str().unwrap(), file.to_str().unwrap()], false);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: unpack {}: exists and is not a directory (give a new or an existing directory)\n",
            file.display()
        )
    );
}
