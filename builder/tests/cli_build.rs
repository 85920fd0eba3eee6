//! `zos-builder build` writes the image it is asked for: checked against our reader
//! (`ls`) and against the host's GNU cpio, zstd, xz and gzip.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod cli_support;

use std::fs;
use std::process::{Command, Stdio};

use cli_support::{build, listing, run, stderr, stdout};

/// Pipes `input` through a host command and returns its stdout.
fn host(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd} {args:?} failed");
    out.stdout
}

#[test]
fn build_then_ls_small_image() {
    let t = tempfile::tempdir().unwrap();
    let (o, out) = build(t.path(), &["--compression", "none"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let size = fs::metadata(&out).unwrap().len();
    assert_eq!(
        stdout(&o),
        format!("{}: 12 entries, {size} bytes cpio, {size} bytes none\n", out.display())
    );
    let ls = run(&["ls", out.to_str().unwrap()], false);
    assert!(ls.status.success());
    assert_eq!(stdout(&ls), listing());
}

#[test]
fn every_compression_decodes_with_host_tools() {
    let want_names: Vec<String> = listing()
        .lines()
        .map(|l| l.split_whitespace().nth(6).unwrap().to_owned())
        .collect();
    for (comp, tool) in [("zstd", "zstd"), ("xz", "xz"), ("gzip", "gzip"), ("none", "")] {
        let t = tempfile::tempdir().unwrap();
        let (o, out) = build(t.path(), &["--compression", comp, "--level", "1"]);
        assert!(o.status.success(), "{comp}: {}", stderr(&o));
        let img = fs::read(&out).unwrap();
        let cpio = if tool.is_empty() {
            img.clone()
        } else {
            host(tool, &["-dc"], &img)
        };
        assert!(cpio.starts_with(b"070701"), "{comp}");
        let listed = String::from_utf8(host("cpio", &["-it", "--quiet"], &cpio)).unwrap();
        assert_eq!(listed.lines().collect::<Vec<_>>(), want_names, "{comp}: cpio -it");
        // Our reader sees the same entries whatever the compression.
        let ls = run(&["ls", out.to_str().unwrap()], false);
        assert_eq!(stdout(&ls), listing(), "{comp}: ls");
    }
}

#[test]
fn xz_uses_crc32() {
    let t = tempfile::tempdir().unwrap();
    let (o, out) = build(t.path(), &["--compression", "xz"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = Command::new("xz")
        .args(["--robot", "--list"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8(list.stdout).unwrap();
    let file_line = text.lines().find(|l| l.starts_with("file\t")).unwrap();
    // Column 6 of the `file` line is the check type.
    assert_eq!(file_line.split('\t').nth(6), Some("CRC32"), "{text}");
}

#[test]
fn reproducible_builds_in_different_dirs() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (oa, img_a) = build(a.path(), &[]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (ob, img_b) = build(b.path(), &[]);
    assert!(oa.status.success() && ob.status.success());
    let (a, b) = (fs::read(img_a).unwrap(), fs::read(img_b).unwrap());
    assert!(a.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]), "zstd is the default");
    assert_eq!(a, b);
}

#[test]
fn extra_file_with_mode_replaces_rootfs_file() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("hostname.new");
    fs::write(&src, "node-1\n").unwrap();
    let spec = format!("{}:/etc/hostname:600", src.display());
    let (o, out) = build(t.path(), &["--compression", "none", "--file", &spec]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ls = stdout(&run(&["ls", out.to_str().unwrap()], false));
    assert!(
        ls.contains("\n-rw-------   0   0         7 2024-01-01 00:00 etc/hostname\n"),
        "{ls}"
    );
}
