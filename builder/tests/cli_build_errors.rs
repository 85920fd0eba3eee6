//! `zos-builder build` refusals: each failure exits 1 with one line naming what is
//! wrong, keeps the build log and leaves no image; an image that cannot boot is refused
//! unless --allow-unbootable.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod cli_support;

use std::fs;
use std::path::Path;
use std::process::Output;

use cli_support::{build, run, stderr};

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
