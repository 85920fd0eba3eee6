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

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::guest::{fact_all, Image};
use zos_qemu::launch::BootOutcome;

const MEM: u32 = 1024;

const TIERS: &str = "[essential]\nbtrfs\nfuse\n[hardware]\nkernel/drivers/\nkernel/fs/\nkernel/crypto/\nkernel/lib/\n";

/// Lists the probe cannot make itself, one `diff <what> <name>` a line.
const PROBE_SCRIPT: &str = r#"for c in block net; do
  for e in /sys/class/$c/*; do [ -e "$e" ] && echo "diff class/$c ${e##*/}"; done
done
for e in /dev/sg* /dev/sr*; do [ -e "$e" ] && echo "diff dev ${e##*/}"; done
exit 0
"#;

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
    assert!(
        Path::new("/bin/udevadm").exists(),
        "needs Debian's udev package on the host (apt-get install -y udev): udev mode runs its systemd-udevd"
    );
    let img = Image::new();
    img.add_modules(TIERS);
    zos_builder::inst::inst_udev(&img.root()).unwrap();
    // Under a loaded TCG host udevd's settle over this machine took more than the
    // default 10 s bound and left virtio devices without drivers: the comparison
    // needs udev mode complete (native stops on quiet long before).
    let conf = img.root().join("etc/zos-init.conf");
    let mut text = fs::read_to_string(&conf).unwrap_or_default();
    text.push_str("\ncoldplug_timeout_ms = 60000\n");
    fs::write(&conf, text).unwrap();
    let probe = img.root().join("etc/zos-probe");
    fs::create_dir_all(&probe).unwrap();
    fs::write(probe.join("run"), PROBE_SCRIPT).unwrap();
    img
}

/// Everything compared, as `what name` lines.
fn observed(out: &BootOutcome) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = fact_all(out, "module")
        .into_iter()
        .map(|m| format!("module {m}"))
        .collect();
    s.extend(
        out.log
            .lines()
            .filter_map(|l| l.split("PROBE-SH diff ").nth(1))
            .map(|l| l.trim().to_string()),
    );
    s
}

fn init_log(out: &BootOutcome) -> String {
    let lines: Vec<&str> = out.log.lines().filter(|l| l.contains("zos-init:")).collect();
    lines.join("\n")
}

/// `hardware: done in 12.3 ms`.
fn stage_ms(out: &BootOutcome) -> f64 {
    out.log
        .lines()
        .find_map(|l| {
            l.split("zos-init: hardware: done in ")
                .nth(1)?
                .split(" ms")
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(f64::NAN)
}

#[test]
fn native_coldplug_loads_what_systemd_udevd_loads() {
    let img = image();
    let args = machine(&img);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let udev = img.boot_with("zos.coldplug=udev", MEM, &args);
    let native = img.boot_with("", MEM, &args);
    for (mode, out) in [("udev", &udev), ("native", &native)] {
        assert!(
            out.has("PROBE-END") && out.has("PROBE sh.status=0"),
            "{mode}: the probe did not finish\n{}\n{}",
            init_log(out),
            common::guest::tail(out)
        );
    }
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
        assert!(
            u.contains(want),
            "udev mode lacks `{want}`: {u:?}\n--- udev init log ---\n{}",
            init_log(&udev)
        );
    }
    let only_udev: Vec<&String> = u.difference(&n).collect();
    let only_native: Vec<&String> = n.difference(&u).collect();
    println!(
        "BENCH hardware stage: native {:.1} ms, udev {:.1} ms (cloud kernel, QEMU TCG, same image; {} modules)",
        stage_ms(&native),
        stage_ms(&udev),
        u.iter().filter(|l| l.starts_with("module ")).count()
    );
    assert!(
        only_udev.is_empty() && only_native.is_empty(),
        "native coldplug differs from systemd-udevd:\n  only under udev: {only_udev:?}\n  only native: {only_native:?}\n--- native init log ---\n{}",
        init_log(&native)
    );
}
