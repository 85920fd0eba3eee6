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

/// `copy` start to `debug` start: the copy, the new root and the wait for the
/// threads (or, in place, the hardware and modules stages).
fn copy_to_debug(json: &Value) -> f64 {
    span(json, "debug").0 - span(json, "copy").0
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
    // For the figure only: a break before `hardware` keeps both stages in place
    // (plan_overlap.rs), which is the plan before the overlap, plus a shell that exits.
    let brk = img.root().join("bin/zos-break");
    fs::write(&brk, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&brk, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    fs::write(img.root().join("etc/zos-init.conf"), "shell = /bin/zos-break\n").unwrap();
    let args = img.virtio_devices();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = img.boot_with("zos.root=copy zos.log=debug", 768, &args);
    let t = tail(&out);
    assert!(out.has("PROBE-END"), "the probe never finished\n{t}");
    assert!(out.has("switch: freed the old root"), "not copy mode\n{t}");
    let json = boot_json(&out);
    let loaded: BTreeSet<String> = fact_all(&out, "module").into_iter().collect();
    // Every module the init asked for (coldplug, the essential tier and their
    // dependencies) is in /proc/modules, and none failed (but optional ones).
    let records = json["modules"].as_array().expect("modules");
    let mut asked = BTreeSet::new();
    for m in records {
        let name = m["name"].as_str().unwrap().to_string();
        if m["via"].as_str().unwrap().starts_with("kernel request") {
            continue;
        }
        match m["error"].as_str() {
            None => {
                asked.insert(name);
            }
            // A soft dependency for a CPU feature this machine lacks is optional (the
            // boot report says so); a freed file would be ENOENT and fail here.
            Some(e) => assert!(
                m["via"].as_str().unwrap().starts_with("softdep of") && e.contains("ENODEV"),
                "{name} failed: {m}\n{t}"
            ),
        }
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
    let seq = img.boot_with("zos.root=copy zos.break=hardware", 768, &args);
    let seq_t = tail(&seq);
    assert!(
        seq.has("PROBE-END") && seq.has("break before hardware: shell exited (0)"),
        "{seq_t}"
    );
    let seq_json = boot_json(&seq);
    println!(
        "BENCH copy+newroot+hardware+modules (copy start to debug start): in place {:.0} ms (one no-op break shell included), overlapped {:.0} ms; init phase {:?} vs {:?} ms",
        copy_to_debug(&seq_json),
        copy_to_debug(&json),
        seq_json["init_phase_ms"].as_f64(),
        json["init_phase_ms"].as_f64()
    );
    println!(
        "BENCH overlap: copy {:.0}-{:.0} ms, hardware {:?}, modules {:?}, {during} of {} loads during the copy; {moved:?}",
        copy.0,
        copy.1,
        span(&json, "hardware"),
        span(&json, "modules"),
        records.len()
    );
}
