//! The hardware and modules stages through the Runner, against the recorder, the test
//! kernel's index excerpt and a fake /sys.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sys::Errno;

use crate::config::{ColdplugMode, Config};
use crate::plan;
use crate::report::BootReport;
use crate::run::Runner;
use crate::sys::record::RecordSys;
use crate::sys::record_kmod::position;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../common/src/modules/testdata");
const VIRTIO_NET_PCI: &str = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00";
const NOBODY: &str = "pci:v00008086d00007000sv0000sd0000bc06sc01i00";

/// A new root and a /sys with one virtio PCI NIC and one device nobody drives.
fn scene() -> (tempfile::TempDir, Config) {
    let t = tempfile::tempdir().unwrap();
    let dev = t.path().join("sys/devices/pci0000:00");
    for (d, alias) in [("0000:00:03.0", VIRTIO_NET_PCI), ("0000:00:01.0", NOBODY)] {
        std::fs::create_dir_all(dev.join(d)).unwrap();
        std::fs::write(dev.join(d).join("modalias"), format!("{alias}\n")).unwrap();
    }
    std::fs::create_dir_all(t.path().join("root")).unwrap();
    let cfg = Config {
        new_root: t.path().join("root").display().to_string(),
        coldplug_quiet_ms: 20,
        ..Default::default()
    };
    (t, cfg)
}

/// A recorder whose new root has the handover target.
fn rec(cfg: &Config, more: &[&str]) -> RecordSys {
    let root = PathBuf::from(&cfg.new_root);
    let mut executables = vec![root.join("sbin/zinit"), PathBuf::from("/bin/sh")];
    executables.extend(more.iter().map(|m| root.join(m)));
    RecordSys {
        executables,
        // DATA has a `..` in it: the loader's `from` is what realpath makes of it.
        realpaths: vec![(PathBuf::from(DATA), std::fs::canonicalize(DATA).unwrap())],
        // The module tree and /sys are fixtures on disk.
        host_dirs: vec![
            PathBuf::from(DATA),
            std::fs::canonicalize(DATA).unwrap(),
            root.with_file_name("sys"),
        ],
        ..Default::default()
    }
}

fn boot(sys: &RecordSys, cfg: &Config, t: &Path) -> BootReport {
    let hw = crate::hardware::Hardware {
        modules_dir: Some(PathBuf::from(DATA)),
        sysfs: t.join("sys"),
        ..Default::default()
    };
    let mut r = Runner::new(sys, cfg, Duration::ZERO).with_hardware(hw);
    r.run(&plan::build(cfg, &[])[plan::inputs().len()..]).unwrap();
    r.report().clone()
}

#[test]
fn coldplug_then_essential_in_one_boot() {
    let (t, cfg) = scene();
    let sys = rec(&cfg, &[]);
    let report = boot(&sys, &cfg, t.path());
    let k = sys.kmod.calls();
    let at = |m: &str| position(&k, m).unwrap_or_else(|| panic!("{m} not loaded: {k:#?}"));
    // Coldplug and the essential tier run on their own threads, side by side; each
    // loads dependencies first.
    assert!(at("virtio_ring.ko") < at("virtio_pci.ko"));
    assert!(at("raid6_pq.ko") < at("btrfs.ko"));
    assert!(at("fuse.ko") < k.len());
    let via = |m: &str| report.modules.iter().find(|r| r.name == m).unwrap().via.clone();
    assert_eq!(via("virtio_pci"), format!("coldplug {VIRTIO_NET_PCI}"));
    assert_eq!(via("virtio_ring"), "needed by virtio");
    assert_eq!(via("btrfs"), "essential");
    assert_eq!(via("fuse"), "essential");
    assert!(report.modules.iter().all(|m| m.error.is_none()));
    let path = t.path().join("root/run/zos-init/unmatched-modaliases");
    let written = sys.written.borrow();
    let (_, unmatched) = written
        .iter()
        .find(|(p, _)| *p == path)
        .expect("unmatched list written");
    assert_eq!(String::from_utf8_lossy(unmatched), format!("{NOBODY}\n"));
    assert!(sys.calls().last().unwrap().starts_with("exec /sbin/zinit"));
}

#[test]
fn a_failing_module_is_reported_and_the_boot_goes_on() {
    let (t, mut cfg) = scene();
    cfg.modules_load = vec!["virtio_blk".into(), "nosuch".into()];
    let sys = rec(&cfg, &[]);
    sys.kmod.fail_on("fuse.ko", Errno::NOEXEC);
    sys.kmod.fail_on("virtio_blk.ko", Errno::EXIST);
    let report = boot(&sys, &cfg, t.path());
    let fuse = report.modules.iter().find(|r| r.name == "fuse").unwrap();
    assert_eq!(
        fuse.error.as_deref(),
        Some(
            format!(
                "fuse: finit_module {}/kernel/fs/fuse/fuse.ko: ENOEXEC (Exec format error)",
                // The loader reads the tree with its symlinks resolved (modules/moved.rs).
                std::fs::canonicalize(DATA).unwrap().display()
            )
            .as_str()
        )
    );
    let nosuch = report.modules.iter().find(|r| r.name == "nosuch").unwrap();
    assert_eq!(nosuch.via, "cmdline modules_load");
    assert!(nosuch.error.as_deref().unwrap().contains("not in modules.dep"));
    // EEXIST is success.
    let blk = report.modules.iter().find(|r| r.name == "virtio_blk").unwrap();
    assert!(blk.error.is_none());
    // Both failures are in the report's module records and were logged as warnings
    // (the log's list is what boot.json gets; other tests share it, so: contains).
    assert_eq!(
        report.modules.iter().filter(|m| m.error.is_some()).count(),
        2,
        "{:#?}",
        report.modules
    );
    let (warnings, _) = crate::log::problems();
    for want in ["fuse: finit_module", "nosuch"] {
        assert!(
            warnings.iter().any(|w| w.starts_with("modules: ") && w.contains(want)),
            "{want}: {warnings:#?}"
        );
    }
    assert!(sys.calls().last().unwrap().starts_with("exec /sbin/zinit"));
}

#[test]
fn blacklists_and_off() {
    let (t, mut cfg) = scene();
    cfg.module_blacklist = vec!["virtio-pci".into(), "btrfs".into()];
    std::fs::create_dir_all(t.path().join("root/etc/modprobe.d")).unwrap();
    std::fs::write(
        t.path().join("root/etc/modprobe.d/a.conf"),
        "options fuse max_user_bgreq=8\n",
    )
    .unwrap();
    let sys = rec(&cfg, &[]);
    boot(&sys, &cfg, t.path());
    let k = sys.kmod.calls();
    assert!(
        position(&k, "virtio_pci.ko").is_none() && position(&k, "btrfs.ko").is_none(),
        "{k:#?}"
    );
    assert!(k.iter().any(|c| c.ends_with("fuse.ko max_user_bgreq=8")), "{k:#?}");

    cfg.module_blacklist.clear();
    cfg.coldplug = ColdplugMode::Off;
    cfg.essential_modules.clear();
    let sys = rec(&cfg, &[]);
    boot(&sys, &cfg, t.path());
    assert!(sys.kmod.calls().is_empty());
}

#[test]
fn udev_mode_runs_the_images_udevd_in_the_new_root() {
    let (t, mut cfg) = scene();
    cfg.coldplug = ColdplugMode::Udev;
    cfg.essential_modules.clear();
    let root = PathBuf::from(&cfg.new_root);
    let sys = rec(&cfg, &["lib/systemd/systemd-udevd", "bin/udevadm"]);
    boot(&sys, &cfg, t.path());
    let calls = sys.calls();
    let daemon = format!("chroot {} /lib/systemd/systemd-udevd & (new group)", root.display());
    let d = calls.iter().position(|c| *c == daemon).expect("udevd started");
    let term = calls
        .iter()
        .position(|c| c.starts_with("kill -15 -"))
        .expect("udevd stopped");
    let exec = calls.iter().position(|c| c.starts_with("exec ")).unwrap();
    assert!(d < term && term < exec);
    assert!(sys.kmod.calls().is_empty(), "udevd loads the modules, not us");

    // No udevd in the image: native coldplug instead.
    let sys = rec(&cfg, &[]);
    boot(&sys, &cfg, t.path());
    assert!(position(&sys.kmod.calls(), "virtio_pci.ko").is_some());
}

/// The rules tier: a SCSI disk gets `sg` from the built-in rules (the new root has no
/// rules files), and the report names the rule line and the device.
#[test]
fn a_scsi_device_gets_sg_from_the_rules() {
    let (t, cfg) = scene();
    let sys_dir = t.path().join("sys");
    let disk = sys_dir.join("devices/pci0000:00/0000:00:04.0/virtio1/host0/target0:0:0/0:0:0:0");
    std::fs::create_dir_all(&disk).unwrap();
    std::fs::create_dir_all(sys_dir.join("bus/scsi")).unwrap();
    std::fs::write(disk.join("uevent"), "DEVTYPE=scsi_device\nMODALIAS=scsi:t-0x00\n").unwrap();
    std::os::unix::fs::symlink(sys_dir.join("bus/scsi"), disk.join("subsystem")).unwrap();
    let sys = rec(&cfg, &[]);
    let report = boot(&sys, &cfg, t.path());
    let k = sys.kmod.calls();
    assert!(
        position(&k, "scsi_mod.ko").unwrap() < position(&k, "sg.ko").unwrap(),
        "{k:#?}"
    );
    let sg = report.modules.iter().find(|r| r.name == "sg").expect("sg loaded");
    assert_eq!(
        sg.via,
        "rule zos-init-builtin.rules:9 on /devices/pci0000:00/0000:00:04.0/virtio1/host0/target0:0:0/0:0:0:0"
    );
}
