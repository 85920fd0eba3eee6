//! The Markdown report: headline ratios, then one table per measure. Pure: it renders
//! a `Results`, so its arithmetic is unit-tested on made-up observations.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::stats::{ratio, Summary};
use super::{Results, Variant};

/// Median init phase (ms) per variant.
fn phases(r: &Results, v: Variant) -> Option<Summary> {
    let s: Vec<f64> = r.runs_of(v).iter().filter_map(|o| o.phase_ms()).collect();
    Summary::of(&s)
}

fn handovers(r: &Results, v: Variant) -> Option<Summary> {
    let s: Vec<f64> = r
        .runs_of(v)
        .iter()
        .filter_map(|o| o.handover.map(|h| h * 1000.0))
        .collect();
    Summary::of(&s)
}

/// Cost over the floor of the median phase (ms).
pub fn time_cost(r: &Results, v: Variant) -> Option<f64> {
    Some(phases(r, v)?.median - phases(r, Variant::Floor)?.median)
}

pub fn mem_ok(r: &Results, v: Variant, ramfs: bool) -> Option<u32> {
    r.memory
        .iter()
        .find(|m| m.variant == v && m.ramfs == ramfs)
        .map(|m| m.found.ok_mb)
}

pub fn mem_cost(r: &Results, v: Variant, ramfs: bool) -> Option<f64> {
    Some(mem_ok(r, v, ramfs)? as f64 - mem_ok(r, Variant::Floor, ramfs)? as f64)
}

fn opt_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => ratio(a, b),
        _ => "not measured".into(),
    }
}

/// A RAM cost of 0 is "within one bisection step of the floor", so the ratio is
/// bounded by the step rather than shown as 0; two zero costs are a tie.
fn mem_ratio(rust: Option<f64>, shell: Option<f64>, step: u32) -> String {
    match (rust, shell) {
        (Some(r), Some(s)) if r <= 0.0 && s <= 0.0 => "equal (both within a step of the floor)".into(),
        (Some(r), Some(s)) if r <= 0.0 => format!("< {} (Rust within a step of the floor)", ratio(step as f64, s)),
        _ => opt_ratio(rust, shell),
    }
}

/// Median duration (ms) of each stage, in first-seen order.
fn stage_medians(r: &Results, v: Variant) -> Vec<(String, f64)> {
    let mut by: BTreeMap<String, (usize, Vec<f64>)> = BTreeMap::new();
    for o in r.runs_of(v) {
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

fn modules(r: &Results, v: Variant) -> BTreeSet<String> {
    r.runs_of(v)
        .first()
        .map(|o| o.modules.iter().cloned().collect())
        .unwrap_or_default()
}

pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let (rs, sh) = (Variant::Rust, Variant::Shell);
    let _ = writeln!(
        s,
        "Machine: {}. Kernel {}; {} timing runs per init at -m {} MiB.\n",
        r.machine, r.kernel, r.runs, r.memory_mb
    );
    let _ = writeln!(
        s,
        "Headline: each init's cost over the floor, and Rust / shell (targets: <= 0.10; pack <= 0.70):\n"
    );
    let _ = writeln!(s, "| measure | Rust | shell | Rust / shell |\n|---|---|---|---|");
    let cell = |c: Option<f64>, unit: &str| c.map_or("not measured".into(), |c| format!("{c:.0} {unit}"));
    let (tr, ts) = (time_cost(r, rs), time_cost(r, sh));
    let _ = writeln!(
        s,
        "| init phase time (median) | {} | {} | **{}** |",
        cell(tr, "ms"),
        cell(ts, "ms"),
        opt_ratio(tr, ts)
    );
    for (ramfs, what) in [
        (false, "no `root=` (tmpfs rootfs)"),
        (true, "`root=/dev/ram0` (ramfs rootfs)"),
    ] {
        let (mr, ms) = (mem_cost(r, rs, ramfs), mem_cost(r, sh, ramfs));
        let _ = writeln!(
            s,
            "| min RAM, {what} | {} | {} | **{}** |",
            cell(mr, "MiB"),
            cell(ms, "MiB"),
            mem_ratio(mr, ms, r.mem_step)
        );
    }
    if let Some(Ok(p)) = &r.pack {
        let _ = writeln!(
            s,
            "| pack time, builder / pipeline | {:.1} s | {:.1} s | **{}** |",
            p.builder_s.median,
            p.pipeline_s.median,
            ratio(p.builder_s.median, p.pipeline_s.median)
        );
    }
    if r.mem_step > 0 {
        let _ = writeln!(
            s,
            "\nRAM figures are bisection results to {} MiB: a cost of 0 means within one step of the floor.",
            r.mem_step
        );
    }
    let _ = writeln!(
        s,
        "\n### Init phase (/init start to the handover target's first line), median [min-max]\n"
    );
    let _ = writeln!(
        s,
        "| init | init phase | cost over floor | handover (s since boot) |\n|---|---|---|---|"
    );
    for v in Variant::ALL {
        let (Some(p), Some(h)) = (phases(r, v), handovers(r, v)) else {
            continue;
        };
        let cost = time_cost(r, v).map_or("-".into(), |c| format!("{c:.0} ms"));
        let _ = writeln!(
            s,
            "| {} | {} | {cost} | {:.3} [{:.3}-{:.3}] |",
            v.label(),
            p.show("ms"),
            h.median / 1e3,
            h.min / 1e3,
            h.max / 1e3
        );
    }
    let own: Vec<f64> = r.runs_of(rs).iter().filter_map(|o| o.own_phase_ms).collect();
    if let Some(o) = Summary::of(&own) {
        let _ = writeln!(
            s,
            "\nThe Rust init's own figure (boot.json, up to its execve): {}.",
            o.show("ms")
        );
    }

    let _ = writeln!(s, "\n### Stages, median ms\n");
    let (a, b) = (stage_medians(r, sh), stage_medians(r, rs));
    let names: Vec<&String> = a.iter().chain(b.iter()).map(|x| &x.0).fold(Vec::new(), |mut v, n| {
        if !v.contains(&n) {
            v.push(n);
        }
        v
    });
    let _ = writeln!(s, "| stage | shell | Rust |\n|---|---|---|");
    for n in names {
        let get = |l: &[(String, f64)]| {
            l.iter()
                .find(|x| &x.0 == n)
                .map_or("-".into(), |x| format!("{:.1}", x.1))
        };
        let _ = writeln!(s, "| {n} | {} | {} |", get(&a), get(&b));
    }

    if !r.memory.is_empty() {
        let _ = writeln!(
            s,
            "\n### Smallest guest RAM with every file present after the handover (MiB, step {})\n",
            r.mem_step
        );
        let _ = writeln!(
            s,
            "| init | no `root=` | over floor | `root=/dev/ram0` | over floor |\n|---|---|---|---|---|"
        );
        for v in Variant::ALL {
            let cell = |ramfs| {
                let m = r.memory.iter().find(|m| m.variant == v && m.ramfs == ramfs);
                m.map_or("-".into(), |m| {
                    format!("{} (fails at {})", m.found.ok_mb, m.found.fail_mb)
                })
            };
            let cost = |ramfs| mem_cost(r, v, ramfs).map_or("-".into(), |c| format!("{c:.0}"));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                v.label(),
                cell(false),
                cost(false),
                cell(true),
                cost(true)
            );
        }
    }

    let (ms, mr) = (modules(r, sh), modules(r, rs));
    let missing: Vec<_> = ms.difference(&mr).cloned().collect();
    let extra: Vec<_> = mr.difference(&ms).cloned().collect();
    let _ = writeln!(s, "\n### Modules loaded (/proc/modules after the handover)\n");
    let _ = writeln!(
        s,
        "shell: {} modules; Rust: {} modules; floor: {}.",
        ms.len(),
        mr.len(),
        modules(r, Variant::Floor).len()
    );
    let verdict = if missing.is_empty() {
        "OK: the Rust init loads every module the shell loads"
    } else {
        "MISMATCH: the Rust init misses"
    };
    let _ = writeln!(
        s,
        "{verdict}{}.",
        if missing.is_empty() {
            String::new()
        } else {
            format!(" {}", missing.join(" "))
        }
    );
    let _ = writeln!(
        s,
        "Only the Rust init: {}.",
        if extra.is_empty() {
            "none".into()
        } else {
            extra.join(" ")
        }
    );
    let _ = writeln!(
        s,
        "Both: {}.",
        ms.intersection(&mr).cloned().collect::<Vec<_>>().join(" ")
    );

    if let Some(Ok(p)) = &r.pack {
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
    if let Some(Err(e)) = &r.pack {
        let _ = writeln!(s, "\n### Pack time\n\nNot measured: {e}");
    }
    s
}
