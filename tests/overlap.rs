//! QEMU test of the overlap (docs/INIT.md "Overlap"): coldplug and the essential
//! modules run on their own threads while copy-and-free empties the initramfs, so a
//! module file may be freed before it is loaded; each must load from wherever it
//! still is. Assertions are on what the in-guest probe saw after the handover
//! (`/proc/modules`, the boot report the init wrote).
#![cfg(feature = "qemu")]

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::guest::{fact_all, sh_lines, tail, Image};
use serde_json::Value;
use zos_qemu::launch::BootOutcome;

const TIERS: &str =
    "[essential]\nbtrfs\nfuse\n[hardware]\nvirtio_pci\nvirtio_blk\nvirtio_net\nvirtio-rng\nvirtio_scsi\nvfat\n";

/// The boot report, printed by the probe one line at a time (`json <line>`).
fn boot_json(out: &BootOutcome) -> Value {
    let text: String = sh_lines(out)
        .iter()
        .filter_map(|l| l.strip_prefix("json "))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("boot.json: {e}\n{text}\n{}", tail(out)))
}

/// (start, end) in ms of a stage of the report.
fn span(json: &Value, stage: &str) -> (f64, f64) {
    let s = json["stages"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == stage))
        .unwrap_or_else(|| panic!("no stage {stage} in {json}"));
    let start = s["start_ms"].as_f64().unwrap();
    (start, start + s["duration_ms"].as_f64().unwrap())
}

#[test]
fn copy_mode_with_modules_loading_during_the_copy_loads_every_module() {
    let img = Image::new();
    img.add_modules(TIERS);
    // A copy that lasts: the sources go in order (/bin, /etc, /lib, ... /usr), so
    // loads start while /bin is copied (initramfs files) and go on after /lib was
    // copied and freed (new-root files).
    img.random_file("bin/zz-filler", 24 << 20);
    img.random_file("usr/share/zz-filler", 48 << 20);
    fs::create_dir_all(img.root().join("etc/zos-probe")).unwrap();
    fs::write(
        img.root().join("etc/zos-probe/run"),
        "sed 's/^/json /' /run/zos-init/boot.json\n",
    )
    .unwrap();
    let disk = img.dir.path().join("disk.raw");
    fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let drive = format!("file={},if=virtio,format=raw", disk.display());
    let args = [
        "-drive",
        &drive,
        "-netdev",
        "user,id=n",
        "-device",
        "virtio-net-pci,netdev=n",
        "-device",
        "virtio-rng-pci",
    ];
    let out = img.boot_with("zos.root=copy zos.log=debug", 768, &args);
    let t = tail(&out);
    assert!(out.has("PROBE-END"), "the probe never finished\n{t}");
    assert!(out.has("switch: freed the old root"), "not copy mode\n{t}");
    let json = boot_json(&out);
    let loaded: BTreeSet<String> = fact_all(&out, "module").into_iter().collect();
    // Every module the init asked for (coldplug, the essential tier and their
    // dependencies) is in /proc/modules, and none failed.
    let records = json["modules"].as_array().expect("modules");
    let mut asked = BTreeSet::new();
    for m in records {
        let name = m["name"].as_str().unwrap().to_string();
        if m["via"].as_str().unwrap().starts_with("kernel request") {
            continue;
        }
        assert!(m["error"].is_null(), "{name} failed: {m}\n{t}");
        asked.insert(name);
    }
    for want in ["btrfs", "fuse", "virtio_pci", "virtio_blk", "virtio_net", "virtio_rng"] {
        assert!(asked.contains(want), "{want} was not asked for: {asked:?}\n{t}");
    }
    let missing: Vec<&String> = asked.difference(&loaded).collect();
    assert!(
        missing.is_empty(),
        "asked for but not in /proc/modules: {missing:?}\n{t}"
    );
    // They ran during the copy: both threads started before it ended, and modules
    // were loaded while it ran.
    let copy = span(&json, "copy");
    for stage in ["hardware", "modules"] {
        let s = span(&json, stage);
        assert!(
            s.0 < copy.1,
            "{stage} {s:?} did not start before the copy {copy:?} ended\n{t}"
        );
    }
    let during = records
        .iter()
        .filter(|m| m["start_ms"].as_f64().is_some_and(|s| s > copy.0 && s < copy.1))
        .count();
    assert!(during > 0, "no module loaded during the copy {copy:?}\n{t}");
    let moved = out.lines_with("module files were freed by the copy already");
    println!(
        "BENCH overlap: copy {:.0}-{:.0} ms, hardware {:?}, modules {:?}, {during} of {} loads during the copy; {moved:?}",
        copy.0,
        copy.1,
        span(&json, "hardware"),
        span(&json, "modules"),
        records.len()
    );
}
