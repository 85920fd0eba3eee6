//! The overlap against the recorder: copy-and-free interleaved with the loader
//! threads. The recorder's copy frees the module tree as the loader sees it
//! (`RecordSys::copy_frees`, at the copy's first removal); `RecordKmod::hold_after` pins where the free falls.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ColdplugMode, Config};
use crate::hardware::Hardware;
use crate::plan;
use crate::report::BootReport;
use crate::run::Runner;
use crate::stage::Stage;
use crate::sys::record::RecordSys;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../common/src/modules/testdata");
const VIRTIO_NET_PCI: &str = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00";

struct Scene {
    _t: tempfile::TempDir,
    cfg: Config,
    sysfs: PathBuf,
    /// The initramfs's tree (what the loader reads first) and the new root's copy.
    old: PathBuf,
    new: PathBuf,
}

/// Copy mode, a /sys with one virtio NIC, the test kernel's index as the image's.
fn scene(coldplug: ColdplugMode) -> Scene {
    let t = tempfile::tempdir().unwrap();
    let dev = t.path().join("sys/devices/pci0000:00/0000:00:03.0");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("modalias"), format!("{VIRTIO_NET_PCI}\n")).unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let cfg = Config {
        new_root: root.display().to_string(),
        root_mode: crate::config::RootMode::Copy,
        coldplug,
        coldplug_quiet_ms: 20,
        ..Default::default()
    };
    let old = std::fs::canonicalize(DATA).unwrap();
    let new = root.join(old.strip_prefix("/").unwrap());
    Scene {
        sysfs: t.path().join("sys"),
        _t: t,
        cfg,
        old,
        new,
    }
}

fn recorder(s: &Scene, frees: &[&PathBuf]) -> RecordSys {
    let sys = RecordSys {
        executables: vec![PathBuf::from(&s.cfg.new_root).join("sbin/zinit")],
        copy_frees: frees.iter().map(|p| p.to_path_buf()).collect(),
        mount_points: vec![PathBuf::from(&s.cfg.new_root)],
        // DATA has a `..` in it: the loader's `from` is what realpath makes of it.
        realpaths: vec![(PathBuf::from(DATA), s.old.clone())],
        // The module trees and /sys are fixtures on disk.
        host_dirs: vec![s.old.clone(), s.new.clone(), s.sysfs.clone()],
        ..Default::default()
    };
    // The copy's destination, in the recorder's tree as in the scene's.
    sys.files.borrow_mut().dir(&s.cfg.new_root);
    sys
}

fn boot(sys: &RecordSys, s: &Scene, workers: Option<usize>) -> BootReport {
    let mut hw = Hardware::default();
    hw.modules_dir = Some(PathBuf::from(DATA));
    hw.sysfs = s.sysfs.clone();
    hw.workers = workers;
    let mut r = Runner::new(sys, &s.cfg, Duration::ZERO).with_hardware(hw);
    // The inputs are the test's: the rows that would read them are left out.
    r.run(&plan::build(&s.cfg, &[])[plan::inputs().len()..]).unwrap();
    assert!(sys.calls().last().unwrap().starts_with("exec /sbin/zinit"));
    r.report().clone()
}

/// The module files the loader opened successfully, as (tree, file name).
fn loads(sys: &RecordSys, s: &Scene) -> Vec<(&'static str, String)> {
    sys.kmod
        .calls()
        .iter()
        .filter(|c| !c.ends_with("(freed)"))
        .map(|c| {
            let path = PathBuf::from(c.split_whitespace().nth(1).unwrap());
            let tree = if path.starts_with(&s.new) {
                "new"
            } else if path.starts_with(&s.old) {
                "old"
            } else {
                panic!("{c}: in neither tree")
            };
            (tree, path.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect()
}

/// Each module loaded once, none failed, and the report has all of them.
fn every_module_once(report: &BootReport, loads: &[(&str, String)]) {
    let files: HashSet<&String> = loads.iter().map(|(_, f)| f).collect();
    assert_eq!(files.len(), loads.len(), "a module loaded twice: {loads:#?}");
    assert!(
        report.modules.iter().all(|m| m.error.is_none()),
        "{:#?}",
        report.modules
    );
    assert_eq!(report.modules.len(), loads.len(), "{:#?}", report.modules);
}

#[test]
fn the_free_between_two_loads_sends_the_rest_to_the_new_root() {
    let s = scene(ColdplugMode::Off);
    let mut sys = recorder(&s, &[&s.old]);
    sys.kmod.hold_after = Some(2);
    // One loader worker: the order of the loads is the plan's.
    let report = boot(&sys, &s, Some(1));
    let loads = loads(&sys, &s);
    let trees: Vec<&str> = loads.iter().map(|(t, _)| *t).collect();
    assert_eq!(trees[..2], ["old", "old"], "{loads:#?}");
    assert!(trees[2..].iter().all(|t| *t == "new"), "{loads:#?}");
    assert!(loads.len() > 3, "btrfs, its dependencies and fuse: {loads:#?}");
    for m in ["btrfs.ko", "fuse.ko", "raid6_pq.ko"] {
        assert!(loads.iter().any(|(_, f)| f == m), "{m}: {loads:#?}");
    }
    every_module_once(&report, &loads);
    // The third load tried the initramfs first: freed, so the new root's.
    let k = sys.kmod.calls();
    assert!(k[2].starts_with(&format!("insmod {}", s.old.display())) && k[2].ends_with(": ENOENT (freed)"));
}

#[test]
fn coldplug_and_modules_threads_race_the_free_and_load_everything() {
    for hold in [None, Some(0), Some(1), Some(3)] {
        let s = scene(ColdplugMode::Native);
        let mut sys = recorder(&s, &[&s.old]);
        sys.kmod.hold_after = hold;
        let report = boot(&sys, &s, None);
        let loads = loads(&sys, &s);
        for m in ["virtio_pci.ko", "btrfs.ko", "fuse.ko"] {
            assert!(loads.iter().any(|(_, f)| f == m), "{hold:?} {m}: {loads:#?}");
        }
        every_module_once(&report, &loads);
        // The unmatched list waits for the complete new root.
        let unmatched = PathBuf::from(&s.cfg.new_root).join("run/zos-init/unmatched-modaliases");
        let calls = sys.calls();
        let write = calls
            .iter()
            .position(|c| c.starts_with(&format!("write {} (", unmatched.display())))
            .unwrap_or_else(|| panic!("{hold:?}: unmatched list not written"));
        let copy = sys.first_copy_write().expect("copy");
        assert!(copy < write, "{hold:?}");
    }
}

#[test]
fn a_module_gone_from_both_trees_is_reported_and_the_boot_goes_on() {
    let s = scene(ColdplugMode::Off);
    let mut sys = recorder(&s, &[&s.old, &s.new]);
    sys.kmod.hold_after = Some(0);
    let report = boot(&sys, &s, Some(1));
    let fuse = report.modules.iter().find(|m| m.name == "fuse").unwrap();
    let want = format!(
        "fuse: open {}/kernel/fs/fuse/fuse.ko: ENOENT (No such file or directory)",
        s.new.display()
    );
    assert_eq!(fuse.error.as_deref(), Some(want.as_str()));
    let (warnings, _) = crate::log::problems();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("modules: ") && w.contains(&want) && w.ends_with("the boot goes on without it")),
        "{warnings:#?}"
    );
}

#[test]
fn stage_times_overlap_and_each_stage_is_one_entry() {
    let s = scene(ColdplugMode::Off);
    let mut sys = recorder(&s, &[&s.old]);
    sys.kmod.hold_after = Some(2);
    let report = boot(&sys, &s, Some(1));
    let names: Vec<Stage> = report.stages.iter().map(|t| t.stage).collect();
    assert_eq!(names, Stage::ALL, "{:#?}", report.stages);
    let span = |st: Stage| {
        let t = report.stages.iter().find(|t| t.stage == st).unwrap();
        (t.start, t.start + t.took)
    };
    let (copy, modules) = (span(Stage::Copy), span(Stage::Modules));
    // The copy's free waited for two loads and the third waited for the free: the
    // modules stage ran across the copy.
    assert!(
        modules.0 < copy.1 && copy.0 < modules.1,
        "copy {copy:?}, modules {modules:?}"
    );
    // The main thread's stages do not overlap one another.
    let newroot = span(Stage::NewRoot);
    assert!(copy.1 <= newroot.0 && newroot.1 <= span(Stage::Debug).0);
}
