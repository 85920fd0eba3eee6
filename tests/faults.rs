//! The QEMU fault matrix (issue 14): each row boots a broken image or cmdline and
//! asserts, on what the guest printed, that the boot ends with a clear message (stage,
//! path, errno, what happens next), no kernel panic and no handover to a partial root.
//!
//! Rows already covered elsewhere, not repeated here:
//! - missing handover target, `init=` naming a missing file: tests/boot.rs
//!   `a_missing_handover_target_ends_in_the_emergency_action` (`init=/sbin/nope`);
//! - rootfs larger than the tmpfs: tests/boot.rs
//!   `a_rootfs_bigger_than_the_tmpfs_is_refused_before_copying`;
//! - no usable /dev/console: tests/boot.rs
//!   `an_unusable_dev_console_leaves_stdio_closed_and_the_init_reopens_it`;
//! - a ~2 KiB cmdline of garbage: tests/operator.rs
//!   `a_long_oddly_quoted_cmdline_does_not_break_the_boot`.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::guest::{tail, Image};

const MEM: u32 = 512;

/// The handover target exists but has no execute bit: refused before the old root is
/// touched, and the emergency action runs.
#[test]
fn a_handover_target_that_is_not_executable_is_refused() {
    let img = Image::new();
    let zinit = img.root().join("sbin/zinit");
    fs::set_permissions(&zinit, fs::Permissions::from_mode(0o644)).unwrap();
    let out = img.boot("zos.emergency=poweroff", MEM);
    let t = tail(&out);
    assert!(
        out.has("handover target /sbin/zinit is missing or not executable in the new root"),
        "{t}"
    );
    assert!(
        out.has("EMERGENCY: stage switch: switch_root /mnt/root /sbin/zinit init"),
        "{t}"
    );
    assert!(
        !out.has("freed the old root"),
        "deleted the old root before refusing\n{t}"
    );
    assert!(out.has("emergency: next: power off"), "{t}");
    assert!(out.has("reboot: Power down"), "{t}");
    assert!(!out.has("Kernel panic"), "{t}");
}

/// The handover target is a dynamic ELF whose interpreter is not in the image (the
/// host's /bin/true wants /lib64/ld-linux-x86-64.so.2; the busybox image has none).
/// execve fails with ENOENT after the switch: the init must say so, with the path and
/// errno and the action, not let the kernel panic on PID 1 exiting.
#[test]
fn a_handover_target_with_a_missing_elf_interpreter_is_reported() {
    let img = Image::new();
    let zinit = img.root().join("sbin/zinit");
    fs::copy("/bin/true", &zinit).unwrap();
    assert!(
        !img.root().join("lib64/ld-linux-x86-64.so.2").exists(),
        "fixture: the image must lack the interpreter"
    );
    let out = img.boot("zos.emergency=poweroff", MEM);
    let t = tail(&out);
    assert!(out.has("/sbin/zinit"), "{t}");
    assert!(
        out.has("ENOENT") || out.has("No such file or directory"),
        "no errno\n{t}"
    );
    assert!(out.has("emergency: next: power off"), "{t}");
    assert!(out.has("reboot: Power down"), "{t}");
    assert!(!out.has("Kernel panic"), "{t}");
}
