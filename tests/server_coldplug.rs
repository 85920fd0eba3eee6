//! The server-like machine of issue 18, too slow for CI (`#[ignore]`): Debian's generic
//! kernel (same ABI as the cloud kernel), AHCI + disk, NVMe, e1000e, xHCI with
//! usb-storage, a keyboard and a tablet, the i6300esb watchdog, intel-hda with a codec,
//! and the virtio set. One image booted twice, `zos.coldplug=udev` (systemd-udevd) and
//! native; the same comparison as `coldplug_diff`, plus the kernel's own module requests
//! (`crypto-crc64-rocksoft` from t10-pi, which sd_mod needs) answered in both modes.
//!
//! ```sh
//! cargo test --features qemu --test server_coldplug -- --ignored --nocapture
//! ```
//! (downloads `linux-image-<abi>-amd64`, about 70 MB, into the test cache once.)
#![cfg(feature = "qemu")]

mod common;

use std::fs;

use common::coldplug::{self, init_log, kernel_requests, observed, stage_ms};
use common::guest::{parts, Image};
use zos_qemu::launch::BootOutcome;

const MEM: u32 = 2048;

/// What these devices (and the CPU/ACPI/platform devices of QEMU's `pc`) can need,
/// with the whole crypto and lib trees so kernel requests can be answered.
const TIERS: &str = "[essential]\nbtrfs\nfuse\n[hardware]\n\
kernel/drivers/ata/\nkernel/drivers/nvme/\nkernel/drivers/scsi/\nkernel/drivers/block/\n\
kernel/drivers/net/ethernet/intel/\nvirtio_net\nnet_failover\n\
kernel/drivers/usb/\nkernel/drivers/hid/\nkernel/drivers/input/\nkernel/drivers/watchdog/\n\
kernel/sound/core/\nkernel/sound/pci/hda/\nkernel/sound/hda/\nkernel/drivers/virtio/\n\
kernel/drivers/char/\nkernel/drivers/i2c/\nkernel/drivers/acpi/\nkernel/drivers/platform/x86/\n\
kernel/drivers/cdrom/\nkernel/drivers/firmware/\nkernel/drivers/pci/\nkernel/arch/x86/\n\
kernel/crypto/\nkernel/lib/\nkernel/block/\nkernel/fs/\n";

fn machine(img: &Image) -> Vec<String> {
    let d = img.dir.path();
    let disk = |n: &str| {
        let p = d.join(n);
        fs::write(&p, vec![0u8; 4 << 20]).unwrap();
        p.display().to_string()
    };
    let mut v: Vec<String> = Vec::new();
    for (id, file) in [
        ("adisk", disk("ahci.raw")),
        ("nv", disk("nvme.raw")),
        ("ustick", disk("usb.raw")),
        ("sdisk", disk("scsi.raw")),
    ] {
        v.extend(["-drive".into(), format!("file={file},if=none,id={id},format=raw")]);
    }
    v.extend([
        "-drive".into(),
        format!("file={},if=virtio,format=raw", disk("vblk.raw")),
    ]);
    for dev in [
        "ich9-ahci,id=ahci",
        "ide-hd,drive=adisk,bus=ahci.0",
        "nvme,drive=nv,serial=zos0001",
        "e1000e,netdev=n0",
        "qemu-xhci,id=xhci",
        "usb-storage,bus=xhci.0,drive=ustick",
        "usb-kbd,bus=xhci.0",
        "usb-tablet,bus=xhci.0",
        "i6300esb",
        "intel-hda",
        "hda-duplex,audiodev=snd0",
        "virtio-scsi-pci,id=scsi0",
        "scsi-hd,drive=sdisk,bus=scsi0.0",
        "virtio-net-pci,netdev=n1",
        "virtio-rng-pci",
        "virtio-balloon-pci",
    ] {
        v.extend(["-device".into(), dev.into()]);
    }
    for a in [
        ["-netdev", "user,id=n0"],
        ["-netdev", "user,id=n1"],
        ["-audiodev", "none,id=snd0"],
    ] {
        v.extend(a.map(String::from));
    }
    v
}

/// Seconds of the first kernel line containing `pat` (`[   12.345678] ...`).
fn kernel_time(out: &BootOutcome, pat: &str) -> Option<f64> {
    out.log
        .lines()
        .find(|l| l.contains(pat))
        .and_then(|l| l.split_once('[')?.1.split_once(']')?.0.trim().parse().ok())
}

/// When the usb-storage disk appeared relative to the xHCI probe and to the end of the
/// hardware stage (the choice of the quiet window, docs/MODULES.md).
fn late_device_timeline(mode: &str, out: &BootOutcome) {
    let host = out.log.lines().find_map(|l| {
        l.split("scsi host")
            .nth(1)?
            .strip_suffix(": usb-storage 2-1:1.0")
            .map(String::from)
    });
    let sd = host
        .map(|h| format!("sd {h}:0:0:0: ["))
        .unwrap_or_else(|| "no usb-storage host".into());
    for l in out.log.lines().filter(|l| {
        l.contains("xhci_hcd 0000") && l.contains("xHCI Host Controller")
            || l.contains("usb-storage")
            || l.contains(&sd) && l.contains("Attached")
            || l.contains("zos-init: hardware: done")
            || l.contains("zos-init: hardware: udev") && !l.contains("udevd loaded")
            || l.contains("zos-init: hardware: native coldplug took")
    }) {
        println!("{mode} kernel: {l}");
    }
    let t = |pat: &str| kernel_time(out, pat).unwrap_or(f64::NAN);
    let (xhci, detected) = (t("xHCI Host Controller"), t("USB Mass Storage device detected"));
    let disk = out
        .log
        .lines()
        .find(|l| l.contains(&sd) && l.contains("Attached"))
        .and_then(|l| l.split_once('[')?.1.split_once(']')?.0.trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let done = t("zos-init: hardware: done");
    println!(
        "BENCH {mode} late device: xHCI probe {xhci:.3} s, usb-storage bound +{:.3} s, its disk +{:.3} s (scan +{:.3} s after bind), hardware stage ends +{:.3} s",
        detected - xhci,
        disk - xhci,
        disk - detected,
        done - xhci
    );
}

#[test]
#[ignore = "server-like machine: ~70 MB download and minutes of TCG; run by hand (docs/TESTING.md)"]
fn native_coldplug_loads_what_systemd_udevd_loads_on_the_generic_kernel() {
    let kernel = zos_qemu::generic_kernel::debian_generic_kernel(&parts().kernel)
        .unwrap_or_else(|e| panic!("the server machine needs Debian's generic kernel: {e}"));
    let img = Image::new();
    img.add_modules_from(&kernel.modules_dir, TIERS);
    coldplug::prepare(&img, 60000);
    let args = machine(&img);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let udev = img.boot_on(&kernel, "zos.coldplug=udev", MEM, &args);
    let native = img.boot_on(&kernel, "", MEM, &args);
    coldplug::assert_probed(&udev, &native);
    let (u, n) = (observed(&udev), observed(&native));
    for want in [
        "module ahci",
        "module nvme",
        "module e1000e",
        "module xhci_pci",
        "module usb_storage",
        "module usbhid",
        "module i6300esb",
        "module snd_hda_intel",
        "module virtio_scsi",
        "module sg",
        "module crc64_rocksoft_generic",
        "class/block nvme0n1",
        "class/net eth0",
    ] {
        coldplug::assert_udev_has(&u, want, &udev);
    }
    for (mode, out) in [("udev", &udev), ("native", &native)] {
        let reqs = kernel_requests(out);
        for l in &reqs {
            println!("{mode}: {l}");
        }
        assert!(
            reqs.iter()
                .any(|l| l.contains("\"crc64_rocksoft_generic\"") && l.contains("\"error\": null")),
            "{mode}: the kernel's crypto-crc64-rocksoft request is not in the boot report as loaded: {reqs:?}\n{}",
            init_log(out)
        );
        late_device_timeline(mode, out);
    }
    let blocks: Vec<&String> = u.iter().filter(|l| l.starts_with("class/block ")).collect();
    println!("udev observed block devices: {blocks:?}");
    println!(
        "BENCH hardware stage: native {:.1} ms, udev {:.1} ms (generic kernel, QEMU TCG, same image; {} modules)",
        stage_ms(&native),
        stage_ms(&udev),
        u.iter().filter(|l| l.starts_with("module ")).count()
    );
    coldplug::assert_same(&u, &n, &native);
}
