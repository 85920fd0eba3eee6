//! The Markdown report: the targets and whether they are met, then one table per
//! measure (report_tables.rs). Pure: it renders a `Results`, so its arithmetic is
//! unit-tested on made-up observations.

use std::fmt::Write;

use super::report_tables as tables;
use super::stats::Summary;
use super::{Results, SmpTiming, Variant};

/// The time target: an init's cost over the floor with modules, as a fraction of the
/// shell's (issue 12).
pub const TIME_TARGET: f64 = 0.10;
/// The pack ratio (builder / pipeline) measured before this work (docs/BENCHMARKS.md,
/// the multithreaded re-measure), and how far from it still counts as unchanged.
pub const PACK_BEFORE: f64 = 0.95;
pub const PACK_TOLERANCE: f64 = 0.10;

/// Init phase (ms) of `v`'s runs.
pub fn phase(t: &SmpTiming, v: Variant) -> Option<Summary> {
    let s: Vec<f64> = t.runs_of(v).iter().filter_map(|o| o.phase_ms()).collect();
    Summary::of(&s)
}

/// `v`'s median phase minus `floor`'s (ms).
pub fn cost(t: &SmpTiming, v: Variant, floor: Variant) -> Option<f64> {
    Some(phase(t, v)?.median - phase(t, floor)?.median)
}

/// `v`'s cost over `floor` as a fraction of the shell's; None when either is not
/// measured or the shell's cost is not positive (no fraction of nothing).
pub fn cost_ratio(t: &SmpTiming, v: Variant, floor: Variant) -> Option<f64> {
    let shell = cost(t, Variant::Shell, floor)?;
    (shell > 0.0).then_some(cost(t, v, floor)? / shell)
}

pub fn mem_ok(r: &Results, v: Variant, ramfs: bool) -> Option<u32> {
    r.memory
        .iter()
        .find(|m| m.variant == v && m.ramfs == ramfs)
        .map(|m| m.found.ok_mb)
}

/// `v`'s smallest RAM minus the floor's (MiB).
pub fn mem_cost(r: &Results, v: Variant, ramfs: bool) -> Option<f64> {
    Some(mem_ok(r, v, ramfs)? as f64 - mem_ok(r, Variant::Floor, ramfs)? as f64)
}

/// The bisection cannot tell sizes one step apart, so "within one step" is the target.
pub fn within_a_step(r: &Results, v: Variant, ramfs: bool) -> Option<bool> {
    Some(mem_cost(r, v, ramfs)? <= r.mem_step as f64)
}

pub fn pack_ratio(r: &Results) -> Option<f64> {
    match &r.pack {
        Some(Ok(p)) if p.pipeline_s.median > 0.0 => Some(p.builder_s.median / p.pipeline_s.median),
        _ => None,
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// A negative cost (faster than the floor with modules) is noise, not a met target.
fn time_verdict(x: Option<f64>) -> &'static str {
    match x {
        Some(x) if x < 0.0 => "not judged (below the floor: noise)",
        x => verdict(x.map(|x| x <= TIME_TARGET)),
    }
}

fn targets(s: &mut String, r: &Results) {
    let _ = writeln!(s, "| target | measured | verdict |\n|---|---|---|");
    for t in &r.timing {
        for v in [Variant::RustCopy, Variant::RustBind] {
            if t.runs_of(v).is_empty() {
                continue;
            }
            let x = cost_ratio(t, v, Variant::FloorModules);
            let _ = writeln!(
                s,
                "| {}, -smp {}: cost over the floor with modules <= {TIME_TARGET:.2} of the shell's | {} | {} |",
                v.short(),
                t.smp,
                x.map_or("not measured".into(), |x| format!("{x:.2}x")),
                time_verdict(x)
            );
        }
    }
    for ramfs in [false, true] {
        let what = if ramfs { "`root=/dev/ram0`" } else { "no `root=`" };
        let c = mem_cost(r, Variant::RustBind, ramfs);
        let _ = writeln!(
            s,
            "| Rust bind, {what}: min RAM within one step ({} MiB) of the floor | {} | {} |",
            r.mem_step,
            c.map_or("not measured".into(), |c| format!("{c:+.0} MiB")),
            verdict(within_a_step(r, Variant::RustBind, ramfs))
        );
    }
    let p = pack_ratio(r);
    let _ = writeln!(
        s,
        "| pack time unchanged: builder / pipeline within {PACK_TOLERANCE:.2} of {PACK_BEFORE:.2}x | {} | {} |",
        p.map_or("not measured".into(), |p| format!("{p:.2}x")),
        verdict(p.map(|p| (p - PACK_BEFORE).abs() <= PACK_TOLERANCE))
    );
}

pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let smps: Vec<String> = r.timing.iter().map(|t| t.smp.to_string()).collect();
    let _ = writeln!(
        s,
        "Machine: {}. Kernel {}; {} timing runs per variant at -m {} MiB, -smp {}; the variants \
         alternate within each round. Host load average (1, 5, 15 min): {} at the first boot, \
         {} after the last.\n",
        r.machine,
        r.kernel,
        r.runs,
        r.memory_mb,
        smps.join(" and "),
        r.load.0,
        r.load.1
    );
    let _ = writeln!(s, "### Targets\n");
    targets(&mut s, r);
    for t in &r.timing {
        tables::phases(&mut s, t, t.runs_of(Variant::Floor).len());
        tables::stages(&mut s, t);
    }
    tables::memory(&mut s, r);
    tables::modules(&mut s, r);
    tables::pack(&mut s, r);
    s
}
