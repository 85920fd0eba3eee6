//! `bench --from-logs DIR`: the report again (timing and RAM) from a run's serial logs,
//! for a run
//! that was stopped before its end (the report is only written at the end, and on a
//! shared host a full run can outlast the time there is). Only whole rounds count: a
//! round in which some variant has no complete boot is left out, so every ratio is
//! still between boots of the same rounds; a RAM probe counts only if its boot ended
//! by itself.

use std::collections::BTreeMap;
use std::path::Path;

use super::bisect::Found;
use super::boots::MemResult;
use super::parse::{observe, Observation};
use super::variant::Variant;
use super::{image, io_err, machine, BenchError, Results, SmpTiming};

/// `rust-copy-smp2-time0.log` -> (RustCopy, 2, 0), as boots::Booter::timing names them.
pub fn timing_name(file: &str) -> Option<(Variant, u32, usize)> {
    let stem = file.strip_suffix(".log")?;
    Variant::ALL.into_iter().find_map(|v| {
        let rest = stem.strip_prefix(v.as_str())?.strip_prefix("-smp")?;
        let (smp, round) = rest.split_once("-time")?;
        Some((v, smp.parse().ok()?, round.parse().ok()?))
    })
}

/// Per `-smp`, the rounds every variant seen at that `-smp` completed, in boot order.
pub fn whole_rounds(boots: Vec<(Variant, u32, usize, Observation)>) -> Vec<SmpTiming> {
    let mut by: BTreeMap<u32, BTreeMap<usize, Vec<(Variant, Observation)>>> = BTreeMap::new();
    for (v, smp, round, o) in boots {
        by.entry(smp).or_default().entry(round).or_default().push((v, o));
    }
    let mut out = Vec::new();
    for (smp, rounds) in by {
        let mut seen: Vec<Variant> = rounds.values().flatten().map(|(v, _)| *v).collect();
        seen.sort();
        seen.dedup();
        let mut runs: Vec<(Variant, Vec<Observation>)> = seen.iter().map(|v| (*v, Vec::new())).collect();
        for (_, boots) in rounds {
            if seen.iter().all(|v| boots.iter().any(|(x, _)| x == v)) {
                for (v, o) in boots {
                    if let Some(slot) = runs.iter_mut().find(|(x, _)| *x == v) {
                        slot.1.push(o);
                    }
                }
            }
        }
        if runs.iter().all(|(_, o)| !o.is_empty()) {
            out.push(SmpTiming { smp, runs });
        }
    }
    out
}

/// `rust-bind-mem-ramfs-288.log` -> (RustBind, true, 288), as Booter::search names them.
pub fn mem_name(file: &str) -> Option<(Variant, bool, u32)> {
    let stem = file.strip_suffix(".log")?;
    Variant::ALL.into_iter().find_map(|v| {
        let rest = stem.strip_prefix(v.as_str())?.strip_prefix("-mem-")?;
        let (fs, mb) = rest.split_once('-')?;
        let ramfs = match fs {
            "ramfs" => true,
            "tmpfs" => false,
            _ => return None,
        };
        Some((v, ramfs, mb.parse().ok()?))
    })
}

/// A boot that ended by itself: the handover target finished, the init's emergency
/// path rebooted or powered off, or the kernel panicked. A boot killed by the timeout
/// or by stopping the run says nothing about RAM and is left out.
pub fn ended(log: &str) -> bool {
    ["BENCH-END", "reboot: ", "Kernel panic"]
        .iter()
        .any(|m| log.contains(m))
}

/// The bisection's answer from its probes: the smallest size that worked, and the
/// largest that failed below it. None when nothing worked.
pub fn found(mut probes: Vec<(u32, bool)>) -> Option<Found> {
    probes.sort();
    let ok_mb = probes.iter().find(|p| p.1)?.0;
    let fail_mb = probes
        .iter()
        .filter(|p| !p.1 && p.0 < ok_mb)
        .map(|p| p.0)
        .max()
        .unwrap_or(0);
    Some(Found { ok_mb, fail_mb, probes })
}

/// The kernel's `Linux version X ` line.
fn kernel_version(log: &str) -> Option<String> {
    let rest = log.split_once("Linux version ")?.1;
    rest.split_whitespace().next().map(str::to_string)
}

pub fn from_logs(dir: &Path) -> Result<Results, BenchError> {
    let expected = image::count(&dir.join("rootfs"))?;
    let logs = dir.join("logs");
    let mut boots = Vec::new();
    let mut kernel = None;
    let mut probes: BTreeMap<(Variant, bool), Vec<(u32, bool)>> = BTreeMap::new();
    for e in std::fs::read_dir(&logs).map_err(io_err("read_dir", &logs))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).map_err(io_err("read", &e.path()))?;
        let o = observe(&text);
        if let Some((v, ramfs, mb)) = mem_name(&name) {
            if ended(&text) {
                let ok = o.handover.is_some() && o.files == Some(expected);
                probes.entry((v, ramfs)).or_default().push((mb, ok));
            }
            continue;
        }
        let Some((v, smp, round)) = timing_name(&name) else {
            continue;
        };
        // The boot that was running when the run was stopped has no handover.
        if o.phase_ms().is_some() && o.files == Some(expected) {
            kernel = kernel.or_else(|| kernel_version(&text));
            boots.push((v, smp, round, o));
        }
    }
    let timing = whole_rounds(boots);
    let memory: Vec<MemResult> = probes
        .into_iter()
        .filter_map(|((variant, ramfs), p)| {
            Some(MemResult {
                variant,
                ramfs,
                found: found(p)?,
            })
        })
        .collect();
    // The step the search ran at: the smallest gap it closed.
    let mem_step = memory
        .iter()
        .map(|m| m.found.ok_mb - m.found.fail_mb)
        .min()
        .unwrap_or(0);
    // A search stopped before it closed to the step has no answer yet.
    let memory: Vec<MemResult> = memory
        .into_iter()
        .filter(|m| m.found.ok_mb - m.found.fail_mb == mem_step)
        .collect();
    Ok(Results {
        machine: machine(),
        kernel: kernel.unwrap_or_else(|| "unknown".into()),
        load: ("not recorded (report from logs)".into(), "not recorded".into()),
        runs: timing
            .iter()
            .map(|t| t.runs_of(Variant::Floor).len())
            .min()
            .unwrap_or(0),
        memory_mb: 1024,
        mem_step,
        expected,
        timing,
        memory,
        pack: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_give_variant_smp_and_round() {
        assert_eq!(timing_name("rust-copy-smp2-time0.log"), Some((Variant::RustCopy, 2, 0)));
        assert_eq!(
            timing_name("floor-modules-smp1-time12.log"),
            Some((Variant::FloorModules, 1, 12))
        );
        assert_eq!(timing_name("floor-smp1-time3.log"), Some((Variant::Floor, 1, 3)));
        assert_eq!(timing_name("shell-mem-tmpfs-384.log"), None);
        assert_eq!(timing_name("rust-smp1-time0.log"), None);
        assert_eq!(timing_name("floor-smp1-time0.txt"), None);
    }

    #[test]
    fn ram_probes_give_the_search_result_and_unended_boots_do_not_count() {
        assert_eq!(
            mem_name("rust-bind-mem-ramfs-288.log"),
            Some((Variant::RustBind, true, 288))
        );
        assert_eq!(mem_name("floor-mem-tmpfs-400.log"), Some((Variant::Floor, false, 400)));
        assert_eq!(mem_name("floor-smp1-time0.log"), None);
        assert_eq!(mem_name("shell-mem-zram-400.log"), None);
        let f = found(vec![
            (512, true),
            (384, false),
            (448, true),
            (416, true),
            (400, true),
            (392, false),
        ])
        .unwrap();
        assert_eq!((f.ok_mb, f.fail_mb), (400, 392));
        assert_eq!(found(vec![(512, false)]), None);
        assert_eq!(found(vec![(512, true)]).map(|f| f.fail_mb), Some(0));
        assert!(ended("...\nBENCH-END\n") && ended("[ 9.1] reboot: Restarting system"));
        assert!(!ended("[ 250.0] scsi 1:0:0:0: CD-ROM QEMU"));
    }

    #[test]
    fn only_rounds_every_variant_completed_count() {
        let o = |ms: f64| Observation {
            start: Some(1.0),
            handover: Some(1.0 + ms / 1e3),
            ..Default::default()
        };
        let boots = vec![
            (Variant::Floor, 1, 0, o(10.0)),
            (Variant::Shell, 1, 0, o(2000.0)),
            (Variant::Floor, 1, 1, o(11.0)),
            (Variant::Shell, 1, 1, o(2100.0)),
            // Stopped during round 2: the shell never handed over.
            (Variant::Floor, 1, 2, o(12.0)),
            (Variant::Floor, 2, 0, o(20.0)),
        ];
        let t = whole_rounds(boots);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].smp, t[0].runs_of(Variant::Floor).len()), (1, 2));
        assert_eq!(t[0].runs_of(Variant::Shell).len(), 2);
        assert_eq!((t[1].smp, t[1].runs_of(Variant::Floor).len()), (2, 1));
        assert_eq!(
            kernel_version("[ 0.0] Linux version 6.1.0-57-cloud-amd64 (x)"),
            Some("6.1.0-57-cloud-amd64".into())
        );
    }
}
