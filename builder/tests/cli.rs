//! Runs the `zos-builder` binary and checks its output against our reader and
//! against the host's GNU cpio, zstd, xz and gzip.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SDE: &str = "1704067200"; // 2024-01-01 00:00 UTC

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zos-builder"));
    c.env_remove("SOURCE_DATE_EPOCH");
    c
}

fn run(args: &[&str], sde: bool) -> Output {
    let mut c = bin();
    if sde {
        c.env("SOURCE_DATE_EPOCH", SDE);
    }
    c.args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// A tiny rootfs and a fake /init under `dir`; returns (rootfs, init).
fn fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let r = dir.join("rootfs");
    fs::create_dir_all(r.join("bin")).unwrap();
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/hostname"), "zos\n").unwrap();
    symlink("busybox", r.join("bin/sh")).unwrap();
    chmod(&r.join("bin"), 0o755);
    chmod(&r.join("etc"), 0o755);
    chmod(&r.join("etc/hostname"), 0o644);
    let init = dir.join("init-bin");
    fs::write(&init, "INIT").unwrap();
    (r, init)
}

fn build(dir: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let (r, init) = fixture(dir);
    let out = dir.join("out/img");
    let mut args = vec![
        "build",
        "--rootfs",
        r.to_str().unwrap(),
        "--init",
        init.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--root-owned",
        // The fixture is no bootable root (see `unbootable_images_are_refused`).
        "--allow-unbootable",
    ];
    args.extend_from_slice(extra);
    (run(&args, true), out)
}

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

/// `ls` of the small image: the tree, the kernel's nodes and mount points, and the
/// init's config that `build` writes for the mode (debug by default).
fn listing() -> String {
    let conf = zos_builder::mode::BuildMode::Debug.image_config(None).unwrap().len();
    format!(
        "\
drwxr-xr-x   0   0         0 2024-01-01 00:00 bin
lrwxrwxrwx   0   0         7 2024-01-01 00:00 bin/sh -> busybox
drwxr-xr-x   0   0         0 2024-01-01 00:00 dev
crw-------   0   0       5,1 2024-01-01 00:00 dev/console
drwxr-xr-x   0   0         0 2024-01-01 00:00 etc
-rw-r--r--   0   0         4 2024-01-01 00:00 etc/hostname
-rw-r--r--   0   0 {conf:>9} 2024-01-01 00:00 etc/zos-init.conf
-rwxr-xr-x   0   0         4 2024-01-01 00:00 init
drwxr-xr-x   0   0         0 2024-01-01 00:00 mnt
drwxr-xr-x   0   0         0 2024-01-01 00:00 mnt/root
drwxr-xr-x   0   0         0 2024-01-01 00:00 proc
drwxr-xr-x   0   0         0 2024-01-01 00:00 sys
"
    )
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

/// Each failure: exit code 1, one line on stderr naming the path, then the build log
/// (beside the `-o` image), no output.
fn assert_fails(o: &Output, want: &str, out: &Path) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    let log = out.parent().unwrap().join("build.log");
    assert_eq!(stderr(o), format!("error: {want}\nbuild log: {}\n", log.display()));
    assert!(fs::read_to_string(&log).unwrap().contains(&format!("ERROR: {want}")));
    assert!(!out.exists(), "{} was created", out.display());
}

#[test]
fn missing_rootfs() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("img");
    let missing = t.path().join("nope");
    let o = run(
        &[
            "build",
            "--rootfs",
            missing.to_str().unwrap(),
            "--init",
            "/bin/true",
            "-o",
            out.to_str().unwrap(),
        ],
        true,
    );
    let want = format!("rootfs {}: No such file or directory (os error 2)", missing.display());
    assert_fails(&o, &want, &out);
}

#[test]
fn unknown_compression() {
    let t = tempfile::tempdir().unwrap();
    let (o, out) = build(t.path(), &["--compression", "lz4"]);
    assert_fails(&o, "unknown compression \"lz4\" (valid: zstd, xz, gzip, none)", &out);
}

#[test]
fn socket_in_rootfs() {
    let t = tempfile::tempdir().unwrap();
    let sock = t.path().join("rootfs/etc/agent.sock");
    fs::create_dir_all(sock.parent().unwrap()).unwrap();
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let (o, out) = build(t.path(), &[]);
    assert_fails(&o, &format!("cannot pack socket {}", sock.display()), &out);
    // No partial image or temporary file left beside the log.
    let left: Vec<_> = fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["build.log"]);
}

#[test]
fn unreadable_extra_file() {
    let t = tempfile::tempdir().unwrap();
    let (o, out) = build(t.path(), &["--file", "/nonexistent/cfg:/etc/cfg"]);
    assert_fails(
        &o,
        "extra file /nonexistent/cfg: No such file or directory (os error 2)",
        &out,
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
fn unbootable_images_are_refused_unless_allowed() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let out = t.path().join("img.cpio");
    let args = |allow: bool| {
        let mut a = vec!["build", "--rootfs", empty.to_str().unwrap(), "--init", "/bin/true"];
        a.extend(["--compression", "none", "-o", out.to_str().unwrap()]);
        if allow {
            a.push("--allow-unbootable");
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let a: Vec<String> = args(false);
    let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), true);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("error: {} was written but cannot boot:", out.display())),
        "{err}"
    );
    assert!(
        err.contains("handover target /sbin/zinit (/etc/zos-init.conf handover): not in the image"),
        "{err}"
    );
    assert!(err.contains("shell /bin/sh: not in the image"), "{err}");
    let a: Vec<String> = args(true);
    let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).starts_with(&format!("warning: {} cannot boot (--allow-unbootable):", out.display())));
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
