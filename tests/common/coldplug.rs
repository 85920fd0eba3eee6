//! What the coldplug differential tests (`coldplug_diff`, `server_coldplug`) compare:
//! the probe's /proc/modules set plus the lists [`PROBE_SCRIPT`] prints, and the boot
//! report's kernel-request records.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::guest::{fact_all, Image};
use zos_qemu::launch::BootOutcome;

/// Lists the probe cannot make itself, one `diff <what> <name>` a line, then the boot
/// report's `kernel request` records as `kreq <json>`.
pub const PROBE_SCRIPT: &str = r#"for c in block net; do
  for e in /sys/class/$c/*; do [ -e "$e" ] && echo "diff class/$c ${e##*/}"; done
done
for e in /dev/sg* /dev/sr*; do [ -e "$e" ] && echo "diff dev ${e##*/}"; done
grep '"via": "kernel request ' /run/zos-init/boot.json | sed 's/^ */kreq /'
exit 0
"#;

/// systemd-udevd from the host, the probe script, and `coldplug_timeout_ms` in the
/// image's config (udev mode's settle must complete for the comparison to mean anything).
pub fn prepare(img: &Image, timeout_ms: u32) {
    assert!(
        Path::new("/bin/udevadm").exists(),
        "needs Debian's udev package on the host (apt-get install -y udev): udev mode runs its systemd-udevd"
    );
    zos_builder::inst::inst_udev(&img.root()).unwrap();
    let conf = img.root().join("etc/zos-init.conf");
    let mut text = fs::read_to_string(&conf).unwrap_or_default();
    text.push_str(&format!("\ncoldplug_timeout_ms = {timeout_ms}\n"));
    fs::write(&conf, text).unwrap();
    let probe = img.root().join("etc/zos-probe");
    fs::create_dir_all(&probe).unwrap();
    fs::write(probe.join("run"), PROBE_SCRIPT).unwrap();
}

/// Everything compared, as `what name` lines.
pub fn observed(out: &BootOutcome) -> BTreeSet<String> {
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

/// The boot report's `kernel request` records, as the probe printed them.
pub fn kernel_requests(out: &BootOutcome) -> Vec<String> {
    out.log
        .lines()
        .filter_map(|l| l.split("PROBE-SH kreq ").nth(1))
        .map(|l| l.trim().to_string())
        .collect()
}

pub fn init_log(out: &BootOutcome) -> String {
    let lines: Vec<&str> = out.log.lines().filter(|l| l.contains("zos-init:")).collect();
    lines.join("\n")
}

/// `hardware: done in 12.3 ms`.
pub fn stage_ms(out: &BootOutcome) -> f64 {
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

/// Both boots ran their probe to the end.
pub fn assert_probed(udev: &BootOutcome, native: &BootOutcome) {
    for (mode, out) in [("udev", udev), ("native", native)] {
        assert!(
            out.has("PROBE-END") && out.has("PROBE sh.status=0"),
            "{mode}: the probe did not finish\n{}\n{}",
            init_log(out),
            super::guest::tail(out)
        );
    }
}

/// The machine is what the test thinks it is: udev mode observed `want` (a comparison
/// of two empty sets proves nothing).
pub fn assert_udev_has(u: &BTreeSet<String>, want: &str, udev: &BootOutcome) {
    assert!(
        u.contains(want),
        "udev mode lacks `{want}`: {u:?}\n--- udev init log ---\n{}",
        init_log(udev)
    );
}

/// Fails naming every line only one mode observed.
pub fn assert_same(u: &BTreeSet<String>, n: &BTreeSet<String>, native: &BootOutcome) {
    let only_udev: Vec<&String> = u.difference(n).collect();
    let only_native: Vec<&String> = n.difference(u).collect();
    assert!(
        only_udev.is_empty() && only_native.is_empty(),
        "native coldplug differs from systemd-udevd:\n  only under udev: {only_udev:?}\n  only native: {only_native:?}\n--- native init log ---\n{}",
        init_log(native)
    );
}
