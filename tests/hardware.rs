//! QEMU tests of the hardware and modules stages (`cargo test --features qemu --test
//! hardware`): the Debian cloud kernel with virtio disk, NIC and RNG attached; modules
//! packed from its tree by the builder's tier code. Every assertion is on what the
//! in-guest probe saw after handover (`PROBE module=`, `dev=`, `netdev=`), or on the
//! init's own log lines for failures it must report.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::guest::{fact_all, parts, Image};
use zos_qemu::launch::BootOutcome;

const MEM: u32 = 512;

const TIERS: &str =
    "[essential]\nbtrfs\nfuse\n[hardware]\nvirtio_pci\nvirtio_blk\nvirtio_net\nvirtio-rng\nvirtio_scsi\nvfat\n";

fn boot(img: &Image, append: &str) -> BootOutcome {
    let args = img.virtio_devices();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    img.boot_with(append, MEM, &args)
}

/// The init's log lines and the end of the serial log, for assertion messages.
fn tail(out: &BootOutcome) -> String {
    let init: Vec<&str> = out.log.lines().filter(|l| l.contains("zos-init:")).collect();
    format!("--- init log ---\n{}\n{}", init.join("\n"), common::guest::tail(out))
}

fn has(out: &BootOutcome, key: &str, value: &str) -> bool {
    fact_all(out, key).iter().any(|v| v == value)
}

/// `hardware: done in 12.3 ms` from the init's log.
fn stage_ms(out: &BootOutcome, stage: &str) -> f64 {
    let pat = format!("zos-init: {stage}: done in ");
    out.log
        .lines()
        .find_map(|l| l.split(&pat).nth(1)?.split(" ms").next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{pat}` line\n{}", tail(out)))
}

fn assert_virtio_up(out: &BootOutcome) {
    let t = tail(out);
    assert!(out.has("PROBE-END"), "the probe never finished\n{t}");
    for m in ["virtio_pci", "virtio_blk", "virtio_net", "virtio_rng"] {
        assert!(has(out, "module", m), "{m} not loaded\n{t}");
    }
    assert!(has(out, "dev", "vda"), "no /dev/vda\n{t}");
    assert!(has(out, "netdev", "eth0"), "no eth0\n{t}");
}

#[test]
fn native_coldplug_loads_virtio_and_the_essential_tier() {
    let img = Image::new();
    img.add_modules(TIERS);
    let out = boot(&img, "");
    assert_virtio_up(&out);
    let t = tail(&out);
    for m in ["btrfs", "fuse"] {
        assert!(has(&out, "module", m), "{m} not loaded\n{t}");
        assert!(out.has(&format!("zos-init: modules: loaded {m} (essential)")), "{t}");
    }
    assert!(
        out.has("zos-init: modules: loaded virtio_blk (coldplug virtio:d00000002v00001AF4)"),
        "{t}"
    );
    // Nothing asked for vfat: packed (hardware tier) but not loaded.
    assert!(!has(&out, "module", "vfat"), "{t}");
    // The host bridge and friends have no module: listed for a later service.
    assert!(!fact_all(&out, "unmatched").is_empty(), "{t}");
    assert!(out.has("zos-init: hardware: native coldplug took"), "{t}");
}

/// Replace a module by garbage of the same size (the kernel refuses to parse it).
fn corrupt(dir: &Path, rel: &str) {
    let p = dir.join(rel);
    let n = fs::metadata(&p).unwrap().len() as usize;
    fs::write(&p, vec![0x5au8; n]).unwrap();
}

fn compress(dir: &Path, rel: &str, cmd: &[&str], ext: &str) {
    let p = dir.join(rel);
    let out = Command::new(cmd[0]).args(&cmd[1..]).arg(&p).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join(format!("{rel}{ext}")).exists());
}

#[test]
fn blacklisted_corrupt_and_compressed_modules() {
    let img = Image::new();
    let dir = img.add_modules(TIERS);
    corrupt(&dir, "kernel/drivers/char/hw_random/virtio-rng.ko");
    compress(&dir, "kernel/fs/fat/vfat.ko", &["xz", "--check=crc32", "-q"], ".xz");
    compress(&dir, "kernel/fs/fat/fat.ko", &["zstd", "-q", "--rm"], ".zst");
    let version = &parts().kernel.version;
    zos_builder::modules::write_index(
        &img.root(),
        version,
        &parts().kernel.modules_dir,
        zos_builder::modules::IndexWriter::Filter,
    )
    .unwrap();
    let out = boot(&img, "module_blacklist=virtio_net modules_load=vfat");
    let t = tail(&out);
    assert!(out.has("PROBE-END"), "the boot did not go on\n{t}");
    // Blacklisted: not loaded although its device is there.
    assert!(
        !has(&out, "module", "virtio_net") && !has(&out, "netdev", "eth0"),
        "{t}"
    );
    // Corrupt: named with path and errno, and the rest still loads. The path is the
    // initramfs's tree or, once the copy freed the file, the new root's.
    let file = format!("lib/modules/{version}/kernel/drivers/char/hw_random/virtio-rng.ko: E");
    let line = out
        .lines_with("zos-init: modules: virtio_rng: finit_module /")
        .into_iter()
        .find(|l| l.contains(&file) && l.contains("the boot goes on without it"));
    assert!(line.is_some(), "no `finit_module .../{file}...` line\n{t}");
    assert!(!has(&out, "module", "virtio_rng"), "{t}");
    assert!(has(&out, "module", "virtio_blk") && has(&out, "dev", "vda"), "{t}");
    // .ko.xz and .ko.zst, decompressed in user space (this kernel has no
    // MODULE_DECOMPRESS), by modules_load=.
    assert!(has(&out, "module", "vfat") && has(&out, "module", "fat"), "{t}");
    assert!(out.has("zos-init: modules: loaded vfat (cmdline modules_load)"), "{t}");
}

/// The image for udev mode: systemd-udevd from Debian's `udev` package (installed on
/// the host by .ci/run), packed with its libraries by `inst`.
fn udev_image() -> Image {
    assert!(
        Path::new("/bin/udevadm").exists(),
        "needs Debian's udev package on the host: apt-get install -y udev"
    );
    let img = Image::new();
    // depmod writes the .bin indexes udevd's libkmod reads.
    img.add_modules(TIERS);
    zos_builder::inst::inst_udev(&img.root()).unwrap();
    img
}

#[test]
fn udev_mode_with_systemd_udevd_and_the_native_figure() {
    let img = udev_image();
    let udev = boot(&img, "zos.coldplug=udev");
    assert_virtio_up(&udev);
    let t = tail(&udev);
    assert!(udev.has("zos-init: hardware: udevd loaded"), "{t}");
    assert!(udev.has("zos-init: hardware: udev coldplug took"), "{t}");
    // udevd and its workers are gone before the handover: nothing but the probe.
    assert!(!udev.log.contains("PROBE-ERROR"), "{t}");
    for m in ["btrfs", "fuse"] {
        assert!(has(&udev, "module", m), "{m}\n{t}");
    }
    // Same image, native mode: the figure for docs/BENCHMARKS.md.
    let native = boot(&img, "");
    assert_virtio_up(&native);
    let (n, u) = (stage_ms(&native, "hardware"), stage_ms(&udev, "hardware"));
    println!("BENCH hardware stage: native {n:.1} ms, udev {u:.1} ms (QEMU TCG, same image)");
    println!(
        "BENCH init phase: native {:?} ms, udev {:?} ms",
        zos_builder::run::init_phase_ms(&native.log),
        zos_builder::run::init_phase_ms(&udev.log)
    );
}
