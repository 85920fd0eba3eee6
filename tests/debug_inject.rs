//! QEMU tests of debug-file injection (docs/INIT.md): a FAT overlay given as the first
//! drive, exactly as Zero-OS developers do (`-drive file=fat:rw:DIR,format=raw`), is
//! /dev/sda1 once coldplug loaded ata_piix and sd_mod; the debug stage loads vfat
//! itself. What counts is what the probe finds in the new root after handover.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::guest::{tail, Image};

const MEM: u32 = 512;
/// The disk drivers and FAT modules the test kernel keeps as modules.
const TIERS: &str = "[hardware]\nata_piix\nsd_mod\nvfat\nnls_cp437\nnls_ascii\nnls_utf8\nnls_iso8859-1\n";

/// The developer's overlay: a replaced zinit unit and an extra binary.
fn overlay(marker: bool) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join("etc/zinit")).unwrap();
    fs::create_dir_all(d.path().join("usr/bin")).unwrap();
    fs::write(
        d.path().join("etc/zinit/udevd.yaml"),
        "exec: udevd --replaced-by-debug\n",
    )
    .unwrap();
    fs::write(d.path().join("usr/bin/hello"), "#!/bin/sh\necho HELLO-FROM-DEBUG\n").unwrap();
    if marker {
        fs::write(d.path().join(".zero-os-debug"), "").unwrap();
    }
    d
}

fn image(init_debug: bool) -> Image {
    let img = Image::new();
    img.add_modules(TIERS);
    fs::write(img.root().join("etc/zinit/udevd.yaml"), "exec: udevd\n").unwrap();
    if init_debug {
        // The old switch: its presence is what turns injection on in today's images.
        fs::write(img.root().join("init-debug"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(img.root().join("init-debug"), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = img.root().join("etc/zos-probe/run");
    fs::create_dir_all(run.parent().unwrap()).unwrap();
    fs::write(
        run,
        "cat /etc/zinit/udevd.yaml\n[ -x /usr/bin/hello ] && /usr/bin/hello || echo NO-HELLO\n",
    )
    .unwrap();
    img
}

fn first_drive(dir: &Path) -> String {
    format!("file=fat:rw:{},format=raw", dir.display())
}

fn sh(out: &zos_qemu::launch::BootOutcome) -> Vec<String> {
    out.lines_with("PROBE-SH ")
        .iter()
        .map(|l| l["PROBE-SH ".len()..].to_string())
        .collect()
}

#[test]
fn the_overlay_on_the_first_drive_lands_in_the_new_root() {
    let img = image(true);
    let dbg = overlay(true);
    let out = img.boot_with("", MEM, &["-drive", &first_drive(dbg.path())]);
    let t = tail(&out);
    assert!(
        out.has("debug: injection on (the image holds /init-debug), source /dev/sda1"),
        "{t}"
    );
    assert!(out.has("from /dev/sda1 over /mnt/root"), "{t}");
    let sh = sh(&out);
    assert!(
        sh.contains(&"exec: udevd --replaced-by-debug".to_string()),
        "unit not replaced: {sh:?}\n{t}"
    );
    assert!(
        sh.contains(&"HELLO-FROM-DEBUG".to_string()),
        "binary not added: {sh:?}\n{t}"
    );
    assert!(!out.has("/mnt/zos-debug") || out.has("debug: copied"), "{t}");
}

#[test]
fn without_the_marker_nothing_changes() {
    let img = image(true);
    let dbg = overlay(false);
    let out = img.boot_with("", MEM, &["-drive", &first_drive(dbg.path())]);
    let t = tail(&out);
    assert!(
        out.has("debug: /dev/sda1 has no .zero-os-debug: nothing injected"),
        "{t}"
    );
    let sh = sh(&out);
    assert!(
        sh.contains(&"exec: udevd".to_string()) && sh.contains(&"NO-HELLO".to_string()),
        "{sh:?}\n{t}"
    );
}

#[test]
fn a_label_finds_the_disk_elsewhere_and_the_cmdline_turns_it_on() {
    // No /init-debug and no debug_inject: zos.debug=1 asks for it; the disk is NVMe
    // (built into the kernel) and found by its FAT label, quoted for the space in it.
    let img = image(false);
    let dbg = overlay(true);
    let drive = format!("file=fat:rw:{},if=none,id=dbg,format=raw", dbg.path().display());
    let out = img.boot_with(
        "zos.debug=1 \"zos.debug.src=LABEL=QEMU VVFAT\"",
        MEM,
        &["-drive", &drive, "-device", "nvme,drive=dbg,serial=zosdebug"],
    );
    let t = tail(&out);
    assert!(
        out.has("debug: injection on (zos.debug=1 on the cmdline), source LABEL=QEMU VVFAT"),
        "{t}"
    );
    assert!(out.has("from /dev/nvme0n1p1 over /mnt/root"), "{t}");
    assert!(sh(&out).contains(&"HELLO-FROM-DEBUG".to_string()), "{t}");
}

#[test]
fn a_release_init_cannot_be_talked_into_injecting() {
    let mut img = image(true);
    img.init = Some(zos_builder::workspace::build_musl_no_default("zos-init", "init").expect("release init"));
    let dbg = overlay(true);
    let out = img.boot_with("zos.debug=1", MEM, &["-drive", &first_drive(dbg.path())]);
    let t = tail(&out);
    assert!(
        out.has("debug: zos.debug* ignored: this is a release build without debug injection"),
        "{t}"
    );
    assert!(!out.has("debug: copied"), "{t}");
    let sh = sh(&out);
    assert!(
        sh.contains(&"exec: udevd".to_string()) && sh.contains(&"NO-HELLO".to_string()),
        "{sh:?}\n{t}"
    );
}
