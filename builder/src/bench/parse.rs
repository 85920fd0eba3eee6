//! What one boot showed, read from its serial log: the markers of scripts.rs, the
//! Rust init's own closing line and boot.json. Pure, so it is tested on log excerpts.

use zos_common::report::BootReport;

/// One stage of an init's timeline, in seconds since boot.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub name: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// When the kernel ran /init (s since boot): its `Run /init as init process` line.
    /// The same kernel clock stamps the handover marker, so the phase is measured on
    /// one clock for every init. (The Rust init's own `started at` is CLOCK_BOOTTIME,
    /// which runs some 20-40 ms ahead of the kernel's printk clock under TCG.)
    pub start: Option<f64>,
    /// The scripts' first line (floor and shell): what starting busybox sh costs.
    pub script_start: Option<f64>,
    /// The Rust init's own start (its clock), to place its boot.json stages.
    pub own_start: Option<f64>,
    /// The handover target's first line (s since boot, the kernel's stamp).
    pub handover: Option<f64>,
    /// Regular files and their bytes under scripts::COUNTED_DIRS after the handover.
    pub files: Option<(u64, u64)>,
    pub modules: Vec<String>,
    pub stages: Vec<Span>,
    /// The Rust init's own init-phase figure (ms), for the clock check.
    pub own_phase_ms: Option<f64>,
    /// How the Rust init made the new root, from its log: `copy`, `bind`, or
    /// `copy (bind fell back)`; so a bind run that silently copied is not counted as bind.
    pub root_by: Option<String>,
    pub panicked: bool,
}

impl Observation {
    /// Init phase in ms: handover minus start.
    pub fn phase_ms(&self) -> Option<f64> {
        Some((self.handover? - self.start?) * 1000.0)
    }
}

/// The kernel's `[    1.234567]` stamp in front of `marker` on the same line.
fn stamp_before(line: &str, marker: &str) -> Option<f64> {
    let head = &line[..line.find(marker)?];
    let open = head.rfind('[')?;
    let close = open + head[open..].find(']')?;
    head[open + 1..close].trim().parse().ok()
}

pub fn observe(log: &str) -> Observation {
    let mut o = Observation::default();
    let mut marks: Vec<(String, f64)> = Vec::new();
    for line in log.lines() {
        if let Some(t) = stamp_before(line, "Run /init as init process") {
            o.start = Some(t);
        } else if let Some(t) = stamp_before(line, "BENCH-START") {
            o.script_start = Some(t);
        } else if let Some(t) = stamp_before(line, "BENCH-HANDOVER") {
            o.handover = Some(t);
        } else if let Some(t) = stamp_before(line, "BENCH-STAGE ") {
            let name = line.split("BENCH-STAGE ").nth(1).unwrap_or("").trim();
            marks.push((name.to_string(), t));
        } else if let Some(rest) = after(line, "BENCH-FILES ") {
            let mut it = rest.split_whitespace().map(str::parse::<u64>);
            if let (Some(Ok(f)), Some(Ok(b))) = (it.next(), it.next()) {
                o.files = Some((f, b));
            }
        } else if let Some(m) = after(line, "BENCH-MOD ") {
            o.modules.push(m.trim().to_string());
        } else if let Some(json) = after(line, "BENCH-JSON ") {
            o.stages = json_stages(json);
        } else if let Some(rest) = after(line, "zos-init: init phase done in ") {
            o.own_phase_ms = rest.split(" ms").next().and_then(|s| s.trim().parse().ok());
            o.own_start = rest
                .split("started at ")
                .nth(1)
                .and_then(|s| s.split(" s").next())
                .and_then(|s| s.trim().parse().ok());
        }
        // The mode's own result lines (the `new root by` decision line is an info line
        // that may not reach the console): bind's "nothing copied", the copy's count
        // of what it freed, bind's fallback.
        if line.contains("bound onto") && line.contains("nothing copied") {
            o.root_by = Some("bind".into());
        } else if line.contains("bind: ") && line.contains("copying instead") {
            o.root_by = Some("copy (bind fell back)".into());
        } else if line.contains("freed from the initramfs") && o.root_by.is_none() {
            o.root_by = Some("copy".into());
        }
        if line.contains("Kernel panic") {
            o.panicked = true;
        }
    }
    o.modules.sort();
    if let (Some(run), Some(own)) = (o.start, o.own_start) {
        // boot.json is on the init's clock: put its start on the kernel's `Run /init`.
        for st in &mut o.stages {
            st.start += run - own;
            st.end += run - own;
        }
    }
    // The scripts: `start` is busybox sh starting up; each mark ends a stage that
    // began at the mark before it; the last stretch up to the handover is the shell's
    // switch_root, or the floor's exec.
    if let (Some(run), Some(first), Some(handover)) = (o.start, o.script_start, o.handover) {
        let mut spans = vec![Span {
            name: "start".into(),
            start: run,
            end: first,
        }];
        let last = if marks.is_empty() { "exec" } else { "switch" };
        let mut from = first;
        for (name, t) in marks {
            spans.push(Span {
                name,
                start: from,
                end: t,
            });
            from = t;
        }
        spans.push(Span {
            name: last.into(),
            start: from,
            end: handover,
        });
        o.stages = spans;
    }
    o
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.split_once(marker).map(|(_, r)| r)
}

/// boot.json's stages (ms since boot) as spans in seconds; empty if unreadable.
fn json_stages(json: &str) -> Vec<Span> {
    let Ok(r) = serde_json::from_str::<BootReport>(json.trim()) else {
        return Vec::new();
    };
    r.stages
        .iter()
        .map(|s| Span {
            name: s.stage.as_str().to_string(),
            start: s.start.as_secs_f64(),
            end: (s.start + s.took).as_secs_f64(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELL: &str = "[    1.490000] Run /init as init process\n\
        [    1.500000] BENCH-START\n\
        Zero-OS initramfs\n\
        [    1.510000] BENCH-STAGE mounts\n\
        \x1b[0m[    2.000000] BENCH-STAGE copy\n\
        [    2.010000] BENCH-STAGE newroot\n\
        [    3.000000] BENCH-STAGE hardware\n\
        [    3.100000] BENCH-STAGE modules\n\
        [    3.120000] BENCH-HANDOVER\n\
        BENCH-ARGV /sbin/zinit init\n\
        BENCH-FILES 412 125829120\n\
        BENCH-MOD virtio_net\nBENCH-MOD btrfs\nBENCH-END\n";

    #[test]
    fn shell_markers_make_stages_ending_in_switch() {
        let o = observe(SHELL);
        assert_eq!((o.start, o.script_start), (Some(1.49), Some(1.5)));
        assert_eq!(o.handover, Some(3.12));
        assert!((o.phase_ms().unwrap() - 1630.0).abs() < 1e-6);
        assert_eq!(o.files, Some((412, 125_829_120)));
        assert_eq!(o.modules, ["btrfs", "virtio_net"]);
        let names: Vec<_> = o.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["start", "mounts", "copy", "newroot", "hardware", "modules", "switch"]
        );
        assert_eq!((o.stages[2].start, o.stages[2].end), (1.51, 2.0));
        assert_eq!(o.stages[6].end, 3.12);
        let floor = observe("[ 3.0] Run /init as init process\n[ 3.01] BENCH-START\n[ 3.02] BENCH-HANDOVER\n");
        let names: Vec<_> = floor.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["start", "exec"]);
        assert!(!o.panicked);
    }

    #[test]
    fn rust_start_and_stages_come_from_its_own_report() {
        let log = "[    1.770000] Run /init as init process\n\
            [    1.795000] zos-init: init phase done in 107.8 ms (started at 1.795 s, handover at 1.903 s): exec /sbin/zinit init\n\
            [    1.910000] BENCH-HANDOVER\n\
            BENCH-JSON {\"version\": 1, \"started_ms\": 1795.0, \"stages\": [{\"name\": \"mounts\", \"start_ms\": 1796.0, \"duration_ms\": 6.0}]}\n\
            BENCH-MOD fuse\n";
        let o = observe(log);
        assert_eq!(o.root_by, None, "no mode line, no mode");
        assert_eq!((o.start, o.own_start), (Some(1.77), Some(1.795)));
        assert_eq!(o.own_phase_ms, Some(107.8));
        assert!((o.phase_ms().unwrap() - 140.0).abs() < 1e-6);
        // Shifted from the init's clock onto the kernel's by 25 ms.
        assert_eq!(o.stages.len(), 1);
        assert!((o.stages[0].start - 1.771).abs() < 1e-9 && (o.stages[0].end - 1.777).abs() < 1e-9);
    }

    #[test]
    fn the_rust_inits_new_root_mode_and_its_fallback_are_read_from_its_log() {
        // Lines as a bind boot's serial log has them.
        let bind = "[   66.771085] zos-init: copy: bind: removed what the copy leaves out (2 entries, 0.0 MiB): /linuxrc /etc/zos-init.conf\n\
            [   66.846587] zos-init: copy: bind: / (152.1 MiB used, size=1536M) bound onto /mnt/root: nothing copied\n";
        assert_eq!(observe(bind).root_by.as_deref(), Some("bind"));
        let fell = "[    1.9] zos-init: copy: bind: / is not a tmpfs (statfs magic 0x858458f6), it cannot be capped: copying instead\n\
            [   28.5] zos-init: copy: 848 files (149.7 MiB), 81 dirs, 271 symlinks, 0 hard links, 0 nodes; 151.2 MiB freed from the initramfs\n";
        assert_eq!(observe(fell).root_by.as_deref(), Some("copy (bind fell back)"));
        let copy = "[   28.5] zos-init: copy: 848 files (149.7 MiB), 81 dirs, 271 symlinks, 0 hard links, 0 nodes; 151.2 MiB freed from the initramfs\n";
        assert_eq!(observe(copy).root_by.as_deref(), Some("copy"));
        assert_eq!(observe(SHELL).root_by, None);
    }

    #[test]
    fn a_boot_without_handover_has_no_phase() {
        let o = observe("[    0.9] Kernel panic - not syncing: No working init found.\n");
        assert!(o.panicked && o.phase_ms().is_none() && o.files.is_none());
    }
}
