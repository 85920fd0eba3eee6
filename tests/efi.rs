//! vmlinuz.efi under UEFI (`cargo test --features qemu --test efi`): the builder's
//! unified kernel image (systemd's EFI stub + the Debian cloud kernel + an image packed
//! like the boot tests', the probe as handover target + `console=ttyS0 panic=-1`)
//! booted by OVMF from a FAT disk at /EFI/BOOT/BOOTX64.EFI, under TCG. No `-kernel`,
//! `-initrd` or `-append`: the kernel, the initramfs and the cmdline all come from the
//! UKI's sections, so the probe's report proves each was found.
#![cfg(feature = "qemu")]

mod common;

use common::guest::{fact, parts, tail, Image};
use zos_qemu::efi::{systemd_stub, EfiBoot};
use zos_qemu::Arch;

#[test]
fn uki_boots_under_ovmf_and_hands_over() {
    let stub = systemd_stub(Arch::X86_64).expect("systemd-boot-efi's stub");
    let img = Image::new();
    let initrd = img.pack();
    let uki = img.dir.path().join("vmlinuz.efi");
    let osrel = "NAME=\"Zero-OS\"\nID=zos\nPRETTY_NAME=\"Zero-OS (zos-initramfs test)\"\n";
    zos_builder::efi::build_uki(
        &stub,
        &parts().kernel.vmlinuz,
        &initrd,
        "console=ttyS0 panic=-1",
        osrel,
        &uki,
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let work = img.dir.path().join("efi");
    let boot = EfiBoot::new(Arch::X86_64, &uki, &work).expect("OVMF and the ESP");
    let out = boot.run().expect("run qemu");
    let t = tail(&out);
    assert!(!out.timed_out, "QEMU timed out\n{t}");
    // Booted by the firmware (the kernel found the EFI system table), and the stub
    // handed it the .initrd section.
    assert!(out.has("efi: EFI v"), "not a UEFI boot\n{t}");
    assert!(out.has("EFI stub: Loaded initrd"), "no initrd from the UKI\n{t}");
    // The cmdline came from .cmdline: the kernel logged it and used ttyS0.
    assert!(
        out.has("Kernel command line: console=ttyS0 panic=-1"),
        "cmdline not from the UKI\n{t}"
    );
    assert!(out.has("PROBE-END"), "the probe never finished\n{t}");
    assert_eq!(fact(&out, "pid").as_deref(), Some("1"), "{t}");
    assert_eq!(fact(&out, "argv").as_deref(), Some(r#"["/sbin/zinit","init"]"#), "{t}");
    assert!(!out.has("Kernel panic"), "{t}");
}
