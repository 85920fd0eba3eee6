//! QEMU tests of the operator controls: break points, emergency actions and their
//! report, the boot report, and a long, oddly quoted kernel command line. As in
//! tests/boot.rs, each assertion is on what the guest printed.
#![cfg(feature = "qemu")]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::guest::{fact, tail, Image};

const MEM: u32 = 512;

fn script(img: &Image, path: &str, body: &str) {
    let p = img.root().join(path.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn config(img: &Image, text: &str) {
    fs::write(img.root().join("etc/zos-init.conf"), text).unwrap();
}

fn sh_lines(out: &zos_qemu::launch::BootOutcome) -> Vec<String> {
    out.lines_with("PROBE-SH ")
        .iter()
        .map(|l| l["PROBE-SH ".len()..].to_string())
        .collect()
}

#[test]
fn a_break_runs_the_shell_and_the_boot_continues_when_it_exits() {
    let img = Image::new();
    // The "operator" is a script. After the copy freed the initramfs, the shell runs
    // chrooted in the new root (proc, sys, dev mounted): it leaves a mark there.
    script(
        &img,
        "/bin/zos-break",
        "echo \"BREAK-SHELL pid=$$ init-gone=$([ -e /init ] || echo yes) procs=$(ls -d /proc/1 | wc -l)\"\n\
         echo touched-at-break > /etc/break-mark\n",
    );
    config(&img, "shell = /bin/zos-break\n");
    script(&img, "/etc/zos-probe/run", "cat /etc/break-mark\n");
    // Copy mode: there the initramfs has no shell left and the shell runs in /mnt/root
    // (in bind mode / still has it: same files, run in place).
    let out = img.boot("zos.root=copy zos.break=hardware", MEM);
    let t = tail(&out);
    assert!(
        out.has("break before hardware: starting /bin/zos-break in /mnt/root; exit it to continue the boot"),
        "{t}"
    );
    assert!(
        out.lines_with("BREAK-SHELL pid=")
            .iter()
            .any(|l| l.ends_with("init-gone=yes procs=1")),
        "{t}"
    );
    assert!(out.has("break before hardware: shell exited (0); continuing"), "{t}");
    assert_eq!(
        fact(&out, "pid").as_deref(),
        Some("1"),
        "the boot did not continue\n{t}"
    );
    assert!(sh_lines(&out).contains(&"touched-at-break".to_string()), "{t}");
}

#[test]
fn emergency_shell_gets_the_report_then_the_machine_reboots() {
    let img = Image::new();
    script(
        &img,
        "/bin/zos-emergency",
        "echo \"EMERGENCY-SHELL pid=$$\"\n\
         sed 's/^/EMERGENCY-REPORT /' /run/zos-init/emergency.txt\n",
    );
    config(&img, "shell = /bin/zos-emergency\n");
    let out = img.boot("zos.root=copy init=/sbin/nope", MEM);
    let t = tail(&out);
    assert!(
        out.has("emergency: next: /bin/zos-emergency (in /mnt/root) on /dev/console"),
        "{t}"
    );
    assert!(out.has("EMERGENCY-SHELL pid="), "{t}");
    let report = out.lines_with("EMERGENCY-REPORT ");
    assert!(
        report.iter().any(|l| l.contains(
            "failed: stage switch: switch_root /mnt/root /sbin/nope init: handover target /sbin/nope is missing"
        )),
        "{report:#?}\n{t}"
    );
    assert!(report.iter().any(|l| l.contains("dmesg (last 30 lines):")), "{t}");
    assert!(
        report.iter().any(|l| l.contains("Run /init as init process")),
        "the kernel log is in the report\n{t}"
    );
    assert!(
        report.iter().any(|l| l.contains("tmpfs /mnt/root tmpfs")),
        "mounts\n{t}"
    );
    assert!(report.iter().any(|l| l.contains("memory: total")), "{t}");
    assert!(out.has("emergency: shell exited (0): rebooting"), "{t}");
    assert!(out.has("reboot: Restarting system"), "{t}");
}

#[test]
fn emergency_reboot_and_poweroff() {
    let img = Image::new();
    let out = img.boot("init=/sbin/nope zos.emergency=reboot", MEM);
    let t = tail(&out);
    assert!(out.has("emergency: next: reboot in 5 s"), "{t}");
    assert!(out.has("reboot: Restarting system"), "{t}");
    assert!(!out.has("Kernel panic"), "{t}");

    let out = img.boot("init=/sbin/nope rd.emergency=poweroff", MEM);
    let t = tail(&out);
    assert!(out.has("emergency: next: power off"), "{t}");
    assert!(out.has("reboot: Power down"), "{t}");
}

#[test]
fn the_boot_report_is_in_the_new_root() {
    let img = Image::new();
    script(&img, "/etc/zos-probe/run", "cat /run/zos-init/boot.json\n");
    // Copy mode: the report's copy figures (bind mode copies nothing, has none).
    let out = img.boot("zos.root=copy", MEM);
    let t = tail(&out);
    let json = sh_lines(&out).join("\n");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("boot.json: {e}\n{json}\n{t}"));
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["mounts", "copy", "newroot", "hardware", "modules", "debug", "switch"],
        "{json}"
    );
    for s in v["stages"].as_array().unwrap() {
        assert!(
            s["duration_ms"].as_f64().unwrap() >= 0.0 && s["start_ms"].as_f64().unwrap() > 0.0,
            "{s}"
        );
    }
    let phase = v["init_phase_ms"].as_f64().unwrap();
    let logged = zos_builder::run::init_phase_ms(&out.log).unwrap();
    assert!((phase - logged).abs() < 1.0, "json {phase} vs log {logged}");
    assert!(
        v["copy"]["files"].as_u64().unwrap() > 0 && v["copy"]["bytes"].as_u64().unwrap() > 1 << 20,
        "{json}"
    );
    assert_eq!(v["exec"], serde_json::json!(["/sbin/zinit", "init"]));
    assert!(out.has("zos-init: summary: mounts "), "{t}");
}

#[test]
fn a_long_oddly_quoted_cmdline_does_not_break_the_boot() {
    let img = Image::new();
    // The x86 boot protocol caps the cmdline at 2048 bytes (QEMU hangs beyond), so the
    // guest gets ~1.9 KiB of it; the unit tests feed the parser 4 KiB.
    let mut odd = String::from("zos-debug runmode=dev farmer_id=42 version=v3 zos.bogus=1 zos.bogus=1 zos.tmpfs=lots ");
    odd.push_str(r#"x="a b c" "quoted=word with spaces" unterminated="open quote zos.log= rd.break=nowhere "#);
    while odd.len() < 1850 {
        odd.push_str("k=\"v v\" =x ==  zos.=1 \"\" ");
    }
    let out = img.boot(&odd, MEM);
    let t = tail(&out);
    assert_eq!(fact(&out, "pid").as_deref(), Some("1"), "the boot broke\n{t}");
    assert_eq!(
        out.lines_with("cmdline: zos.bogus=1: unknown or malformed flag, ignored")
            .len(),
        1,
        "reported once\n{t}"
    );
    assert!(out.has("cmdline: zos.tmpfs=lots: not a size"), "{t}");
    // Zero-OS flags reach the handover target untouched (the kernel passes k=v as env).
    assert_eq!(fact(&out, "env.farmer_id").as_deref(), Some("42"), "{t}");
    assert_eq!(fact(&out, "env.runmode").as_deref(), Some("dev"), "{t}");
    let mounts = common::guest::facts(&out);
    assert!(
        mounts.iter().any(|(k, v)| k == "mount"
            && v.contains(&format!(" / {} ", common::guest::root_fstype(&out)))
            && v.contains("size=1572864k")),
        "{t}"
    );
}

/// The dracut and mkinitcpio spellings (docs/INIT.md, "The same controls in dracut,
/// mkinitcpio and booster"), seen from the guest: a quiet image shows its info lines
/// only under `rd.debug=1`; mkinitcpio's `break=postmount` and bare `break` stop before
/// switch and before copy; `rd.shell=0` turns a failure into a reboot.
#[test]
fn dracut_and_mkinitcpio_flags() {
    let img = Image::new();
    script(
        &img,
        "/bin/zos-break",
        "echo \"BREAK-SHELL init-gone=$([ -e /init ] || echo yes)\"\n",
    );
    config(&img, "shell = /bin/zos-break\nlog_level = quiet\n");

    // Copy mode: its break shells run in the new root (bind mode runs them in `/`,
    // docs/INIT.md), which is what the first message names.
    let out = img.boot("zos.root=copy break=postmount rd.debug=1", MEM);
    let t = tail(&out);
    assert!(
        out.has("break before switch: starting /bin/zos-break in /mnt/root; exit it to continue the boot"),
        "rd.debug=1 shows info lines of a quiet image, break=postmount stops before switch\n{t}"
    );
    assert_eq!(out.lines_with("BREAK-SHELL ").len(), 1, "{t}");
    assert_eq!(
        fact(&out, "pid").as_deref(),
        Some("1"),
        "the boot did not continue\n{t}"
    );

    let out = img.boot("zos.root=copy break rd.debug=0 rd.shell=0 init=/sbin/nope", MEM);
    let t = tail(&out);
    assert!(
        out.lines_with("BREAK-SHELL ")
            .iter()
            .any(|l| !l.contains("init-gone=yes")),
        "a bare break stops before copy, in the initramfs root\n{t}"
    );
    assert!(
        !out.has("break before copy: starting"),
        "rd.debug=0 keeps the quiet level\n{t}"
    );
    assert!(out.has("emergency: next: reboot in 5 s"), "rd.shell=0 reboots\n{t}");
    assert!(out.has("reboot: Restarting system"), "{t}");
}
