//! TARGETARCH=arm64 (`cargo test --features qemu --test arm64`): the init and the
//! probe built for aarch64-unknown-linux-musl, packed with Debian's arm64 busybox
//! into an image, booted on Debian's arm64 cloud kernel with `qemu-system-aarch64 -M
//! virt -cpu cortex-a57` under TCG (console ttyAMA0). The probe, as `/sbin/zinit init`
//! after the init's switch_root, proves the drop-in path on arm64: PID 1, argv, PATH,
//! stdio and every mount of the contract.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::time::Duration;

use common::guest::tail;
use zos_builder::{build_image, Compression, ImageRequest};
use zos_qemu::launch::Boot;
use zos_qemu::{Arch, Cache};

#[test]
fn arm64_image_boots_and_hands_over() {
    let arch = Arch::Aarch64;
    let cache = Cache::from_env().unwrap();
    let kernel = zos_qemu::kernel::debian_cloud_kernel_in(&cache, arch).expect("fetch the Debian arm64 cloud kernel");
    let busybox = zos_qemu::busybox_static_for(&cache, arch).expect("fetch busybox-static:arm64");
    // The arm64 binary cannot run here: the applet list comes from the host's
    // busybox-static, the same Debian version and configuration.
    let host_busybox = zos_qemu::busybox_static_in(&cache).expect("fetch busybox-static");
    let applets = zos_qemu::applets(&host_busybox).unwrap();
    let init = zos_builder::workspace::build_musl_for("zos-init", "init", arch.musl_target())
        .expect("build the init for aarch64-unknown-linux-musl");
    let probe = zos_qemu::probe_binary(arch).expect("build the probe for aarch64");

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    zos_builder::rootfs::busybox_rootfs(&root, &busybox, &applets).unwrap();
    fs::copy(&probe, root.join("sbin/zinit")).unwrap();
    let initrd = dir.path().join("initramfs.cpio.zst");
    build_image(&ImageRequest {
        rootfs: Some(root),
        init: Some(init),
        extras: Vec::new(),
        compression: Compression::Zstd,
        level: Some(3),
        root_owned: false,
        source_date_epoch: None,
        output: initrd.clone(),
    })
    .expect("pack the arm64 image");

    let mut boot = Boot::new(&kernel, &initrd);
    assert_eq!(boot.arch, Arch::Aarch64);
    boot.timeout = Duration::from_secs(300);
    boot.serial_log = dir.path().join("serial.log");
    let out = boot.run().expect("run qemu-system-aarch64");
    let t = tail(&out);
    assert!(!out.timed_out, "QEMU timed out\n{t}");
    common::guest::assert_drop_in_handover(&out);
    assert!(
        out.has("Machine model: linux,dummy-virt"),
        "not the arm64 virt machine\n{t}"
    );
}
