//! Differential coldplug test (`cargo test --features qemu --test coldplug_diff`): one
//! image, booted twice on one QEMU machine, once with the real systemd-udevd
//! (`zos.coldplug=udev`) and once with native coldplug. What the in-guest probe sees
//! after handover must be the same: the /proc/modules set, /sys/class/block,
//! /sys/class/net, /dev/sg* and /dev/sr*. Any difference fails and is named.
//!
//! The machine: virtio-blk, virtio-scsi with a disk and a CD-ROM, an IDE CD-ROM on the
//! PIIX controller, a FAT drive (IDE), virtio-net, virtio-rng, virtio-balloon; the
//! Debian cloud kernel with its whole driver, fs, crypto and lib trees packed, so
//! neither mode is limited by what the image lacks.
#![cfg(feature = "qemu")]

mod common;

use std::fs;

use common::coldplug::{self, kernel_requests, observed, stage_ms};
use common::guest::Image;

const MEM: u32 = 1024;

const TIERS: &str = "[essential]\nbtrfs\nfuse\n[hardware]\nkernel/drivers/\nkernel/fs/\nkernel/crypto/\nkernel/lib/\n";

fn machine(img: &Image) -> Vec<String> {
    let d = img.dir.path();
    let disk = |n: &str| {
        let p = d.join(n);
        fs::write(&p, vec![0u8; 1 << 20]).unwrap();
        p.display().to_string()
    };
    let fat = d.join("fat");
    fs::create_dir_all(&fat).unwrap();
    fs::write(fat.join("hello.txt"), "a FAT drive\n").unwrap();
    let args = [
        format!("file={},if=virtio,format=raw", disk("vblk.raw")),
        format!("file=fat:rw:{},if=ide,index=0,format=raw", fat.display()),
        "if=ide,index=2,media=cdrom".to_string(),
        format!("file={},if=none,id=sdisk,format=raw", disk("scsi.raw")),
        "if=none,id=scd,media=cdrom".to_string(),
    ];
    let mut v: Vec<String> = Vec::new();
    for a in args {
        v.extend(["-drive".to_string(), a]);
    }
    for dev in [
        "virtio-scsi-pci,id=scsi0",
        "scsi-hd,drive=sdisk,bus=scsi0.0",
        "scsi-cd,drive=scd,bus=scsi0.0",
        "virtio-net-pci,netdev=n",
        "virtio-rng-pci",
        "virtio-balloon-pci",
    ] {
        v.extend(["-device".to_string(), dev.to_string()]);
    }
    v.extend(["-netdev".to_string(), "user,id=n".to_string()]);
    v
}

fn image() -> Image {
    let img = Image::new();
    img.add_modules(TIERS);
    // Under a loaded TCG host udevd's settle over this machine took more than the
    // default 10 s bound and left virtio devices without drivers: the comparison
    // needs udev mode complete (native stops on quiet long before).
    coldplug::prepare(&img, 60000);
    img
}

#[test]
fn native_coldplug_loads_what_systemd_udevd_loads() {
    let img = image();
    let args = machine(&img);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let udev = img.boot_with("zos.coldplug=udev", MEM, &args);
    let native = img.boot_with("", MEM, &args);
    coldplug::assert_probed(&udev, &native);
    let (u, n) = (observed(&udev), observed(&native));
    // The machine is what we think it is (a comparison of two empty sets proves nothing).
    for want in [
        "module virtio_scsi",
        "module sg",
        "class/block vda",
        "class/block sda",
        "class/block sr0",
        "class/net eth0",
        "dev sg0",
        "dev sr1",
    ] {
        coldplug::assert_udev_has(&u, want, &udev);
    }
    for (mode, out) in [("udev", &udev), ("native", &native)] {
        for l in kernel_requests(out) {
            println!("{mode}: {l}");
        }
    }
    println!(
        "BENCH hardware stage: native {:.1} ms, udev {:.1} ms (cloud kernel, QEMU TCG, same image; {} modules)",
        stage_ms(&native),
        stage_ms(&udev),
        u.iter().filter(|l| l.starts_with("module ")).count()
    );
    coldplug::assert_same(&u, &n, &native);
}
