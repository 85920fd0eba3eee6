//! The whole `zos-builder rootfs` command as an ordinary user (uid/gid 65534 via
//! setpriv when the tests run as root), then `build` packing its output: the image
//! must carry root owners and setuid bits although no file on the host has them.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod apk_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use apk_support::*;
use zos_builder::cpio::read_image;

#[test]
fn rootfs_command_as_nobody_then_build() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    let cfg = dir.join("apk.toml");
    fs::write(
        &cfg,
        format!(
            "[alpine]\nrepositories = [\"file://{}\"]\nkeys = \"{}\"\nconfig_users = true\n\n[[group]]\nname = \"zos\"\ngid = 900\n",
            repo319().display(),
            keys().canonicalize().unwrap().display()
        ),
    )
    .unwrap();
    fs::write(
        dir.join("packages.txt"),
        "alpine-baselayout  # layout\nbusybox-suid # setuid helper\n",
    )
    .unwrap();
    let exe = env!("CARGO_BIN_EXE_zos-builder");
    let args = [
        "rootfs",
        "--config",
        "apk.toml",
        "--packages",
        "packages.txt",
        "--out",
        "out/rootfs",
        "--log",
        "out/build.log",
    ];
    let root_user = rustix::process::geteuid().is_root();
    let mut cmd = if root_user {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", exe]);
        c
    } else {
        Command::new(exe)
    };
    let out = cmd
        .args(args)
        .current_dir(dir)
        .env("ZOS_CACHE_DIR", dir.join("cache"))
        .env_remove("ZOS_OFFLINE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rootfs failed: {stderr}");
    let root = dir.join("out/rootfs");
    let shadow = fs::metadata(root.join("etc/shadow")).unwrap();
    if root_user {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(shadow.uid(), 65534, "files belong to the building user on the host");
    }
    assert_eq!(
        fs::metadata(root.join("bin/bbsuid")).unwrap().permissions().mode() & 0o7000,
        0,
        "no setuid bit on the host"
    );
    let log = fs::read_to_string(dir.join("out/build.log")).unwrap();
    assert!(log.contains("group zos (gid 900) added"), "{log}");
    assert!(log.contains("installed "), "{log}");

    let img = dir.join("img.cpio");
    let status = Command::new(exe)
        .args([
            "build",
            "--rootfs",
            "out/rootfs",
            "--init",
            "/bin/true",
            "--compression",
            "none",
            // An Alpine userland without zinit: no handover target.
            "--allow-unbootable",
            "-o",
        ])
        .arg(&img)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let seg = read_image(&fs::read(&img).unwrap()).unwrap();
    let e = |n: &str| seg[0].entries.iter().find(|e| e.name == Path::new(n)).unwrap().clone();
    let s = e("etc/shadow");
    assert_eq!((s.uid, s.gid, s.mode & 0o7777), (0, 42, 0o640));
    let b = e("bin/bbsuid");
    assert_eq!((b.uid, b.gid, b.mode & 0o7777), (0, 0, 0o4111));
    assert_eq!(e("etc/group").uid, 0);
}
