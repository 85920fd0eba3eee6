//! `zos-builder run --batch` leaves the init's boot report in its output directory and
//! `zos-builder timeline` draws it (`cargo test --features qemu --test run_batch`).
//! Runs the real binary, as an operator would; the report is what the guest's init
//! wrote to /run/zos-init/boot.json, carried back on the serial console.
#![cfg(feature = "qemu")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The zos-builder binary: this test package depends on the library only, so cargo
/// builds the binary here (a no-op when it is up to date). In its own target dir: a
/// single-package build resolves other features than `cargo test --workspace
/// --features qemu`, and rebuilding the shared libraries under the running test suite
/// broke its later doctests ("can't find crate for `zos_apk`").
fn builder_bin() -> PathBuf {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| ws.join("target"), |d| ws.join(d));
    let own = target.join("run-batch");
    let st = Command::new(cargo)
        .args(["build", "-p", "zos-builder", "--bin", "zos-builder", "--target-dir"])
        .arg(&own)
        .current_dir(ws)
        .status()
        .unwrap();
    assert!(st.success(), "cargo build -p zos-builder");
    own.join("debug/zos-builder")
}

#[test]
fn run_batch_leaves_boot_json_and_serial_log_that_timeline_renders() {
    let bin = builder_bin();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let o = Command::new(&bin)
        .args(["run", "--batch", "--timeout", "400", "--out-dir"])
        .arg(&out)
        .output()
        .unwrap();
    let (so, se) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let serial = std::fs::read_to_string(out.join("serial.log")).unwrap_or_default();
    let tail: String = serial.lines().rev().take(40).collect::<Vec<_>>().join("\n");
    assert!(o.status.success(), "{so}\n{se}\nserial (last lines, reversed):\n{tail}");
    let json_path = out.join("boot.json");
    assert!(so.contains(&format!("boot report: {}", json_path.display())), "{so}");
    let json = std::fs::read_to_string(&json_path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let stages: Vec<String> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    // What the guest's init did: it mounted, and handed over to zinit.
    assert!(stages.iter().any(|s| s == "mounts"), "{json}");
    assert!(serial.contains("zos-boot: json| "), "the report came over the console");

    let o = Command::new(&bin).arg("timeline").arg(&json_path).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(out.join("boot.svg")).unwrap();
    for s in &stages {
        assert!(svg.contains(s.as_str()), "stage {s} not drawn");
    }
}
