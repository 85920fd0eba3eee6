//! QEMU tests of the new-root modes (docs/INIT.md "New root: copy or bind") beyond the
//! drop-in contract, which tests/boot.rs checks in both modes: what `auto` picks, and
//! what bind does with an image bigger than the tmpfs. Every assertion is on the
//! guest's serial log (the init's lines and the probe's).
#![cfg(feature = "qemu")]

mod common;

use common::guest::{assert_drop_in_handover, assert_new_root_as_copied, probe_new_root, tail, Image};

const MEM: u32 = 512;

/// With `root=` the kernel's rootfs is a ramfs (it only uses tmpfs without one), so
/// `auto` copies; the copied root is a real tmpfs where pivot_root works too.
#[test]
fn auto_with_root_ram0_picks_copy() {
    let img = Image::new();
    probe_new_root(&img);
    let out = img.boot("root=/dev/ram0", MEM);
    let t = tail(&out);
    assert!(
        out.has("copy: new root by copy: root=/dev/ram0 on the cmdline: / is not the kernel's tmpfs"),
        "{t}"
    );
    assert!(out.has("copy: /bin"), "{t}");
    assert!(out.has("switch: freed the old root"), "{t}");
    assert_drop_in_handover(&out);
    assert_new_root_as_copied(&img, &out);
}

/// Bind asked for, but the tree is bigger than `zos.tmpfs=`: the remount refuses, the
/// log gives the figures, the copy's fit check refuses as well, and nothing is handed
/// over (no partial root, no bind).
#[test]
fn bind_refuses_an_image_bigger_than_the_tmpfs_with_the_numbers() {
    let img = Image::new();
    img.random_file("usr/share/big", 12 << 20);
    let out = img.boot("zos.root=bind zos.tmpfs=8M zos.emergency=poweroff", MEM);
    let t = tail(&out);
    let fallback = out.lines_with("copy: bind: mount -o remount /: EINVAL");
    assert!(
        fallback
            .iter()
            .any(|l| l.contains("MiB, more than size=8M allows: copying instead")),
        "{fallback:?}\n{t}"
    );
    assert!(
        out.has("EMERGENCY: stage copy: check the rootfs fits /mnt/root: rootfs needs"),
        "{t}"
    );
    assert!(out.has("but the tmpfs /mnt/root has 8.0 MiB free"), "{t}");
    assert!(!out.has("bound onto /mnt/root"), "bound anyway\n{t}");
    assert!(!out.has("copy: /bin"), "the copy started anyway\n{t}");
    assert!(!out.has("PROBE pid="), "handed over a partial root\n{t}");
    assert!(out.has("reboot: Power down"), "{t}");
}
