//! Shared by the cli_* tests, which run the `zos-builder` binary: running it, a tiny
//! rootfs built into an image, and the `ls` listing of that image.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SDE: &str = "1704067200"; // 2024-01-01 00:00 UTC

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zos-builder"));
    c.env_remove("SOURCE_DATE_EPOCH");
    c
}

pub fn run(args: &[&str], sde: bool) -> Output {
    let mut c = bin();
    if sde {
        c.env("SOURCE_DATE_EPOCH", SDE);
    }
    c.args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
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

pub fn build(dir: &Path, extra: &[&str]) -> (Output, PathBuf) {
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

/// `ls` of the small image: the tree, the kernel's nodes and mount points, and the
/// init's config that `build` writes for the mode (debug by default).
pub fn listing() -> String {
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
