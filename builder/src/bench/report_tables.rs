//! The report's tables, one per measure: init phase over both floors, stages, RAM,
//! modules, pack time. report.rs holds the arithmetic and the targets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::report::{cost, cost_ratio, mem_cost, phase};
use super::stats::Summary;
use super::{Results, SmpTiming, Variant};

fn handovers(t: &SmpTiming, v: Variant) -> Option<Summary> {
    let s: Vec<f64> = t
        .runs_of(v)
        .iter()
        .filter_map(|o| o.handover.map(|h| h * 1000.0))
        .collect();
    Summary::of(&s)
}

fn ms_cell(c: Option<f64>) -> String {
    c.map_or("-".into(), |c| format!("{c:.0} ms"))
}

fn ratio_cell(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.2}x"))
}

/// How the Rust runs made their new root, e.g. `bind 7/7`: a bind run that fell back
/// to the copy would otherwise pass for a bind figure.
pub fn root_modes(t: &SmpTiming, v: Variant) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    let runs = t.runs_of(v);
    for o in runs {
        *by.entry(o.root_by.as_deref().unwrap_or("not logged")).or_default() += 1;
    }
    let parts: Vec<String> = by.iter().map(|(m, n)| format!("{m} {n}/{}", runs.len())).collect();
    parts.join(", ")
}

pub fn phases(s: &mut String, t: &SmpTiming, runs: usize) {
    let (f, fm) = (Variant::Floor, Variant::FloorModules);
    let _ = writeln!(
        s,
        "\n### Init phase at -smp {} (/init start to the handover target's first line), median [min-max] of {runs}\n",
        t.smp
    );
    let _ = writeln!(
        s,
        "| init | init phase | over floor | / shell's | over floor+modules | / shell's | handover (s since boot) |\n\
         |---|---|---|---|---|---|---|"
    );
    for v in Variant::ALL {
        let (Some(p), Some(h)) = (phase(t, v), handovers(t, v)) else {
            continue;
        };
        let over_fm = if v == f { None } else { cost(t, v, fm) };
        let (r_f, r_fm) = if Variant::INITS.contains(&v) {
            (cost_ratio(t, v, f), cost_ratio(t, v, fm))
        } else {
            (None, None)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.3} [{:.3}-{:.3}] |",
            v.label(),
            p.show("ms"),
            ms_cell(cost(t, v, f)),
            ratio_cell(r_f),
            ms_cell(over_fm),
            ratio_cell(r_fm),
            h.median / 1e3,
            h.min / 1e3,
            h.max / 1e3
        );
    }
    for v in [Variant::RustCopy, Variant::RustBind] {
        if t.runs_of(v).is_empty() {
            continue;
        }
        let own: Vec<f64> = t.runs_of(v).iter().filter_map(|o| o.own_phase_ms).collect();
        let own = Summary::of(&own).map_or(String::new(), |o| {
            format!("; its own figure (boot.json, up to its execve) {}", o.show("ms"))
        });
        let _ = writeln!(s, "\n{}: new root by {}{own}.", v.label(), root_modes(t, v));
    }
}

/// Median duration (ms) of each stage, in first-seen order.
fn stage_medians(t: &SmpTiming, v: Variant) -> Vec<(String, f64)> {
    let mut by: BTreeMap<String, (usize, Vec<f64>)> = BTreeMap::new();
    for o in t.runs_of(v) {
        for (i, s) in o.stages.iter().enumerate() {
            let e = by.entry(s.name.clone()).or_insert((i, Vec::new()));
            e.1.push((s.end - s.start) * 1000.0);
        }
    }
    let mut v: Vec<(usize, String, f64)> = by
        .into_iter()
        .filter_map(|(n, (i, d))| Some((i, n, Summary::of(&d)?.median)))
        .collect();
    v.sort_by_key(|x| x.0);
    v.into_iter().map(|(_, n, d)| (n, d)).collect()
}

pub fn stages(s: &mut String, t: &SmpTiming) {
    let cols = [
        Variant::Shell,
        Variant::FloorModules,
        Variant::RustCopy,
        Variant::RustBind,
    ];
    let cols: Vec<Variant> = cols.into_iter().filter(|v| !t.runs_of(*v).is_empty()).collect();
    let meds: Vec<Vec<(String, f64)>> = cols.iter().map(|v| stage_medians(t, *v)).collect();
    let mut names: Vec<&String> = Vec::new();
    for n in meds.iter().flatten().map(|x| &x.0) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let _ = writeln!(s, "\n### Stages at -smp {}, median ms\n", t.smp);
    let head: Vec<&str> = cols.iter().map(|v| v.short()).collect();
    let _ = writeln!(
        s,
        "| stage | {} |\n|---|{}",
        head.join(" | "),
        "---|".repeat(cols.len())
    );
    for n in names {
        let cells: Vec<String> = meds
            .iter()
            .map(|m| {
                m.iter()
                    .find(|x| &x.0 == n)
                    .map_or("-".into(), |x| format!("{:.1}", x.1))
            })
            .collect();
        let _ = writeln!(s, "| {n} | {} |", cells.join(" | "));
    }
}

pub fn memory(s: &mut String, r: &Results) {
    if r.memory.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n### Smallest guest RAM with every file present after the handover (MiB, -smp 1, step {})\n",
        r.mem_step
    );
    let _ = writeln!(
        s,
        "| init | no `root=` | over floor | `root=/dev/ram0` | over floor |\n|---|---|---|---|---|"
    );
    for v in Variant::ALL {
        if !r.memory.iter().any(|m| m.variant == v) {
            continue;
        }
        let cell = |ramfs| {
            let m = r.memory.iter().find(|m| m.variant == v && m.ramfs == ramfs);
            m.map_or("-".into(), |m| {
                format!("{} (fails at {})", m.found.ok_mb, m.found.fail_mb)
            })
        };
        let over = |ramfs| mem_cost(r, v, ramfs).map_or("-".into(), |c| format!("{c:.0}"));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            v.label(),
            cell(false),
            over(false),
            cell(true),
            over(true)
        );
    }
    let _ = writeln!(
        s,
        "\nA cost of 0 means within one step of the floor. With `root=/dev/ram0` the rootfs is a \
         ramfs, which bind mode cannot cap: it falls back to the copy (its log says so)."
    );
}

fn module_set(t: &SmpTiming, v: Variant) -> Option<BTreeSet<String>> {
    t.runs_of(v).first().map(|o| o.modules.iter().cloned().collect())
}

pub fn modules(s: &mut String, r: &Results) {
    let Some(t) = r.timing.first() else { return };
    let Some(shell) = module_set(t, Variant::Shell) else {
        return;
    };
    let _ = writeln!(
        s,
        "\n### Modules loaded (/proc/modules after the handover, first run at -smp {})\n",
        t.smp
    );
    let _ = writeln!(s, "shell: {} modules: {}.", shell.len(), join(&shell));
    for v in [Variant::FloorModules, Variant::RustCopy, Variant::RustBind] {
        let Some(set) = module_set(t, v) else { continue };
        let missing: BTreeSet<String> = shell.difference(&set).cloned().collect();
        let extra: BTreeSet<String> = set.difference(&shell).cloned().collect();
        let verdict = match (missing.is_empty(), extra.is_empty(), v == Variant::FloorModules) {
            (true, true, _) => "the same set as the shell".to_string(),
            (true, false, false) => format!("every module the shell loads, and also {}", join(&extra)),
            (true, false, true) => format!("MISMATCH: more than the shell: {}", join(&extra)),
            (false, _, _) => format!("MISMATCH: misses {}", join(&missing)),
        };
        let _ = writeln!(s, "{}: {} modules, {verdict}.", v.label(), set.len());
    }
    if let Some(f) = module_set(t, Variant::Floor) {
        let _ = writeln!(s, "{}: {} modules.", Variant::Floor.label(), f.len());
    }
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        return "none".into();
    }
    set.iter().cloned().collect::<Vec<_>>().join(" ")
}

pub fn pack(s: &mut String, r: &Results) {
    match &r.pack {
        Some(Ok(p)) => {
            let _ = writeln!(
                s,
                "\n### Pack time, zstd level {} (same tree: {} files, {:.1} MiB counted), {} runs\n",
                p.level,
                r.expected.0,
                r.expected.1 as f64 / 1048576.0,
                p.builder_s.n
            );
            let _ = writeln!(
                s,
                "| packer | wall time, s, median [min-max] | image bytes |\n|---|---|---|"
            );
            let sh = |x: &Summary| format!("{:.1} [{:.1}-{:.1}]", x.median, x.min, x.max);
            let _ = writeln!(s, "| zos-builder | {} | {} |", sh(&p.builder_s), p.builder_bytes);
            let _ = writeln!(
                s,
                "| find \\| cpio -o -H newc \\| zstd -T0 | {} | {} |",
                sh(&p.pipeline_s),
                p.pipeline_bytes
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(s, "\n### Pack time\n\nNot measured: {e}");
        }
        None => {}
    }
}
