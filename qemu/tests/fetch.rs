//! Downloads the Debian cloud kernel and busybox-static into the cache (network on the
//! first run, about 60 MB). Built only with the `qemu` feature, like the boot tests.

// Helpers outside #[test] fns unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "qemu")]

use std::time::Instant;

use zos_qemu::{applets, busybox_static, debian_cloud_kernel, Arch};

#[test]
fn fetch_kernel_and_busybox() {
    let t = Instant::now();
    let k = debian_cloud_kernel(Arch::X86_64).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "kernel {} ready in {:?}: {}",
        k.version,
        t.elapsed(),
        k.vmlinuz.display()
    );
    assert!(k.version.ends_with("-cloud-amd64"), "{}", k.version);
    assert!(k.vmlinuz.is_file());
    assert_eq!(k.modules_dir, k.root.join("lib/modules").join(&k.version));
    let dep = std::fs::read_to_string(k.modules_dir.join("modules.dep")).unwrap();
    assert!(dep.contains("virtio"), "modules.dep lacks virtio modules");

    // Second call: from the cache, no network.
    let t = Instant::now();
    let again = debian_cloud_kernel(Arch::X86_64).unwrap();
    assert_eq!(again, k);
    eprintln!("cached kernel lookup took {:?}", t.elapsed());

    let t = Instant::now();
    let bb = busybox_static().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("busybox ready in {:?}: {}", t.elapsed(), bb.display());
    let list = applets(&bb).unwrap();
    assert!(list.iter().any(|a| a == "bin/sh"), "{list:?}");
    assert!(list.iter().all(|a| !a.starts_with('/')));
}

#[test]
fn fetch_arm64_kernel_as_a_foreign_package() {
    let k = debian_cloud_kernel(Arch::Aarch64).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(k.arch, Arch::Aarch64);
    assert!(k.version.ends_with("-cloud-arm64"), "{}", k.version);
    // An uncompressed arm64 Image: "ARM\x64" magic at byte 56 (Documentation/arch/arm64/booting.rst).
    let head = std::fs::read(&k.vmlinuz).unwrap();
    assert_eq!(&head[56..60], b"ARM\x64", "{}", k.vmlinuz.display());
    assert!(k.modules_dir.join("modules.dep").is_file());
}
