//! Netboot over iPXE (`cargo test --features qemu --test netboot`): a directory written
//! by `zos_builder::netboot` (an image packed like the boot tests', the probe as
//! handover target) served by QEMU's user-net TFTP, fetched by the iPXE ROM of
//! Debian's ipxe-qemu under SeaBIOS and under OVMF, under TCG. No `-kernel`: the probe
//! reports the handover and `/proc/cmdline` of the new root, which must hold Zero-OS's
//! parameters exactly as composed, and the init must not have warned about them.
//! Needs root or the packages of .ci/run (ipxe-qemu, ovmf, systemd-boot-efi).
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::guest::{fact, parts, tail, Image};
use zos_builder::netboot::{compose, write, Params, Request};
use zos_qemu::launch::BootOutcome;
use zos_qemu::netboot::NetBoot;
use zos_qemu::{Arch, Error};

/// Zero-OS's parameters and network settings, after the QEMU console.
fn cmdline() -> String {
    let params = Params {
        farmer_id: Some("4242".into()),
        runmode: Some("test".into()),
        version: Some("v3".into()),
    };
    let append = "ip=10.0.2.15::10.0.2.2:255.255.255.0:zos:eth0:off zos-debug disable-gpu";
    compose("console=ttyS0 panic=-1", &params, append).unwrap()
}

/// An image whose probe prints the new root's /proc/cmdline, written as a netboot
/// directory (with a vmlinuz.efi when `uefi`); returns the image (owning the temp dir).
fn netboot_dir(uefi: bool) -> (Image, std::path::PathBuf) {
    let img = Image::new();
    let probe = img.root().join("etc/zos-probe");
    fs::create_dir_all(&probe).unwrap();
    fs::write(probe.join("run"), "cat /proc/cmdline\n").unwrap();
    let initrd = img.pack();
    let mut req = Request {
        out: img.dir.path().join("netboot"),
        kernel: Some(parts().kernel.vmlinuz.clone()),
        initramfs: Some(initrd.clone()),
        efi: None,
        cmdline: cmdline(),
    };
    if uefi {
        let stub = zos_qemu::efi::systemd_stub(Arch::X86_64).expect("systemd-boot-efi's stub");
        let uki = img.dir.path().join("vmlinuz.efi");
        // The UKI's own .cmdline differs, so the test sees that iPXE's one is used.
        let osrel = "NAME=\"Zero-OS\"\nID=zos\n";
        zos_builder::efi::build_uki(&stub, &parts().kernel.vmlinuz, &initrd, "console=ttyS0", osrel, &uki)
            .unwrap_or_else(|e| panic!("{e}"));
        req.efi = Some(uki);
    }
    let dir = write(&req).unwrap_or_else(|e| panic!("{e}")).dir;
    (img, dir)
}

fn boot(dir: &Path, uefi: bool, work: &Path) -> Result<BootOutcome, Error> {
    let mut nb = NetBoot::new(Arch::X86_64, dir, uefi, work).expect("the iPXE ROM (ipxe-qemu) and OVMF");
    nb.timeout = Duration::from_secs(420);
    nb.run()
}

/// The probe's view: handover as PID 1, and /proc/cmdline holding our line.
fn assert_netboot_handover(out: &BootOutcome, firmware: &str) {
    let t = tail(out);
    assert!(!out.timed_out, "QEMU timed out\n{t}");
    assert!(
        out.has(&format!("zos-netboot: {firmware}")),
        "not the {firmware} script\n{t}"
    );
    assert!(out.has("PROBE-END"), "the probe never finished\n{t}");
    assert_eq!(fact(out, "pid").as_deref(), Some("1"), "{t}");
    assert_eq!(fact(out, "argv").as_deref(), Some(r#"["/sbin/zinit","init"]"#), "{t}");
    let seen: Vec<&str> = out
        .lines_with("PROBE-SH ")
        .iter()
        .map(|l| l["PROBE-SH ".len()..].trim_end())
        .collect();
    let want = cmdline();
    // Under UEFI iPXE puts the image's name first; every word of ours follows untouched.
    let one_word_then_ours = |l: &str| {
        l.strip_suffix(want.as_str())
            .and_then(|p| p.strip_suffix(' '))
            .is_some_and(|w| !w.is_empty() && !w.contains(' '))
    };
    let ok = seen.iter().any(|l| *l == want || one_word_then_ours(l));
    assert!(ok, "/proc/cmdline of the new root {seen:?}, want {want:?}\n{t}");
    let warned: Vec<&str> = out
        .lines_with("zos-init: ")
        .into_iter()
        .filter(|l| l.contains("cmdline:"))
        .collect();
    assert!(
        warned.is_empty(),
        "the init warned about Zero-OS parameters: {warned:#?}"
    );
    assert!(!out.has("Kernel panic"), "{t}");
}

#[test]
fn bios_netboot_hands_over_with_the_zero_os_parameters() {
    let (img, dir) = netboot_dir(false);
    let out = boot(&dir, false, &img.dir.path().join("bios")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.has("efi: EFI v"), "a UEFI boot\n{}", tail(&out));
    assert_netboot_handover(&out, "bios");
}

#[test]
fn uefi_netboot_hands_over_with_the_zero_os_parameters() {
    let (img, dir) = netboot_dir(true);
    let out = boot(&dir, true, &img.dir.path().join("uefi")).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.has("efi: EFI v"), "not a UEFI boot\n{}", tail(&out));
    assert_netboot_handover(&out, "uefi");
}

#[test]
fn a_missing_artefact_fails_fast_naming_it() {
    let (img, dir) = netboot_dir(false);
    fs::remove_file(dir.join("initramfs")).unwrap();
    let start = std::time::Instant::now();
    let err = boot(&dir, false, &img.dir.path().join("missing")).expect_err("a boot without its initramfs");
    let msg = err.to_string();
    assert!(matches!(err, Error::GuestFailed { .. }), "{msg}");
    assert!(msg.contains("iPXE could not load initramfs: No such file"), "{msg}");
    // Stopped on iPXE's line, long before the 420 s timeout.
    assert!(start.elapsed() < Duration::from_secs(300), "{msg}");
}
