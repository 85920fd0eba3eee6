//! Report and chart rendering on made-up observations.

use super::bisect::Found;
use super::boots::{memory_cases, MemResult};
use super::pack::PackResult;
use super::parse::{Observation, Span};
use super::stats::Summary;
use super::*;

fn obs(start: f64, phase_ms: f64, modules: &[&str], stages: &[(&str, f64)]) -> Observation {
    let mut t = start;
    let stages = stages
        .iter()
        .map(|(n, ms)| {
            let s = Span {
                name: n.to_string(),
                start: t,
                end: t + ms / 1e3,
            };
            t = s.end;
            s
        })
        .collect();
    Observation {
        start: Some(start),
        script_start: None,
        own_start: None,
        handover: Some(start + phase_ms / 1e3),
        files: Some((10, 100)),
        modules: modules.iter().map(|m| m.to_string()).collect(),
        stages,
        own_phase_ms: None,
        root_by: None,
        panicked: false,
    }
}

fn mem(variant: Variant, ramfs: bool, ok_mb: u32) -> MemResult {
    MemResult {
        variant,
        ramfs,
        found: Found {
            ok_mb,
            fail_mb: ok_mb - 8,
            probes: vec![],
        },
    }
}

fn rust(phase_ms: f64, root_by: &str) -> Observation {
    let mut o = obs(
        1.0,
        phase_ms,
        &["btrfs", "fuse", "virtio_net", "xxhash_generic"],
        &[("copy", 150.0), ("hardware", 50.0)],
    );
    o.root_by = Some(root_by.into());
    o.own_phase_ms = Some(phase_ms - 20.0);
    o
}

/// Shell 2010 ms, floor 10, floor+modules 1010: the shell's costs are 2000 and 1000;
/// Rust copy 1100 (1090 and 90: 0.09x over the floor with modules), bind 1060.
fn timing(smp: u32) -> SmpTiming {
    let shell = |ms, copy| {
        obs(
            1.0,
            ms,
            &["btrfs", "fuse", "virtio_net"],
            &[("copy", copy), ("hardware", 1000.0)],
        )
    };
    SmpTiming {
        smp,
        runs: vec![
            (Variant::Floor, vec![obs(1.0, 10.0, &[], &[]); 3]),
            (
                Variant::FloorModules,
                vec![obs(1.0, 1010.0, &["btrfs", "fuse", "virtio_net"], &[("modules", 1000.0)]); 3],
            ),
            (
                Variant::Shell,
                vec![shell(2010.0, 1000.0), shell(2110.0, 1100.0), shell(1910.0, 900.0)],
            ),
            (Variant::RustCopy, vec![rust(1100.0, "copy"); 3]),
            (
                Variant::RustBind,
                vec![
                    rust(1060.0, "bind"),
                    rust(1060.0, "bind"),
                    rust(1070.0, "copy (bind fell back)"),
                ],
            ),
        ],
    }
}

fn results() -> Results {
    let s = |ms| Summary::of(&[ms]).unwrap();
    Results {
        machine: "test host".into(),
        kernel: "6.1.0-test".into(),
        load: ("7.00 5.00 3.00".into(), "9.00 6.00 4.00".into()),
        runs: 3,
        memory_mb: 1024,
        mem_step: 8,
        expected: (10, 100),
        timing: vec![timing(1), timing(2)],
        memory: vec![
            mem(Variant::Floor, false, 300),
            mem(Variant::Shell, false, 340),
            mem(Variant::RustCopy, false, 304),
            mem(Variant::RustBind, false, 300),
            mem(Variant::Floor, true, 200),
            mem(Variant::Shell, true, 400),
            mem(Variant::RustCopy, true, 220),
            mem(Variant::RustBind, true, 216),
        ],
        pack: Some(Ok(PackResult {
            level: 19,
            builder_s: s(9.5),
            pipeline_s: s(10.0),
            builder_bytes: 5,
            pipeline_bytes: 6,
        })),
    }
}

#[test]
fn costs_are_over_each_floor_and_ratios_over_the_shells() {
    let r = results();
    let t = r.at(1).unwrap();
    let (f, fm) = (Variant::Floor, Variant::FloorModules);
    let cost = |v, floor| report::cost(t, v, floor).map(f64::round);
    assert_eq!(cost(Variant::Shell, f), Some(2000.0));
    assert_eq!(cost(Variant::Shell, fm), Some(1000.0));
    assert_eq!(cost(Variant::RustCopy, fm), Some(90.0));
    assert_eq!(cost(fm, f), Some(1000.0));
    let ratio = |v, floor| report::cost_ratio(t, v, floor).map(|x| (x * 1000.0).round() / 1000.0);
    assert_eq!(ratio(Variant::RustCopy, f), Some(0.545));
    assert_eq!(ratio(Variant::RustCopy, fm), Some(0.09));
    // Median of 1060, 1060, 1070.
    assert_eq!(ratio(Variant::RustBind, fm), Some(0.05));
    assert_eq!(report::mem_cost(&r, Variant::RustCopy, true), Some(20.0));
    assert_eq!(report::within_a_step(&r, Variant::RustBind, false), Some(true));
    assert_eq!(report::within_a_step(&r, Variant::RustBind, true), Some(false));
    let md = report::markdown(&r);
    for want in [
        "| Rust copy, -smp 1: cost over the floor with modules <= 0.10 of the shell's | 0.09x | **met** |",
        "| Rust bind, -smp 2: cost over the floor with modules <= 0.10 of the shell's | 0.05x | **met** |",
        "| Rust bind, no `root=`: min RAM within one step (8 MiB) of the floor | +0 MiB | **met** |",
        "| Rust bind, `root=/dev/ram0`: min RAM within one step (8 MiB) of the floor | +16 MiB | **missed** |",
        "| pack time unchanged: builder / pipeline within 0.10 of 0.95x | 0.95x | **met** |",
        "| shell /init (baseline) | 2010 ms [1910-2110] | 2000 ms | 1.00x | 1000 ms | 1.00x |",
        "| Rust /init, zos.root=copy | 1100 ms [1100-1100] | 1090 ms | 0.55x | 90 ms | 0.09x |",
        "| floor + modules (modprobe, exec) | 1010 ms [1010-1010] | 1000 ms | - | 0 ms | - |",
        "| floor (exec only) | 10 ms [10-10] | 0 ms | - | - | - |",
        "### Init phase at -smp 2",
        "| stage | shell /init | floor+modules | Rust copy | Rust bind |",
        "| copy | 1000.0 | - | 150.0 | 150.0 |",
        "| modules | - | 1000.0 | - | - |",
        "Rust /init, zos.root=bind: new root by bind 2/3, copy (bind fell back) 1/3; its own figure (boot.json, up to its execve) 1040 ms [1040-1050].",
        "| Rust /init, zos.root=bind | 300 (fails at 292) | 0 | 216 (fails at 208) | 16 |",
        "floor + modules (modprobe, exec): 3 modules, the same set as the shell.",
        "Rust /init, zos.root=copy: 4 modules, every module the shell loads, and also xxhash_generic.",
        "7.00 5.00 3.00 at the first boot, 9.00 6.00 4.00 after the last",
        "-smp 1 and 2",
    ] {
        assert!(md.contains(want), "{want:?} not in:\n{md}");
    }
}

#[test]
fn a_missing_target_measure_says_so_and_a_stale_floor_is_a_mismatch() {
    let mut r = results();
    r.timing[0].runs[1].1[0].modules = vec!["btrfs".into()];
    r.timing[0].runs[4].1.clear();
    r.memory.clear();
    r.pack = Some(Err("zstd failed".into()));
    let md = report::markdown(&r);
    for want in [
        "Not measured: zstd failed",
        "floor + modules (modprobe, exec): 1 modules, MISMATCH: misses fuse virtio_net.",
        "| Rust bind, no `root=`: min RAM within one step (8 MiB) of the floor | not measured | not measured |",
        "| pack time unchanged: builder / pipeline within 0.10 of 0.95x | not measured | not measured |",
    ] {
        assert!(md.contains(want), "{want:?} not in:\n{md}");
    }
    assert!(!md.contains("Rust bind, -smp 1"), "no runs, no target row:\n{md}");
    assert!(md.contains("Rust bind, -smp 2"), "{md}");
    assert!(!md.contains("| zos-builder |"), "{md}");
    // A shell cost that is not positive gives no ratio rather than a division by it.
    let mut t = timing(1);
    t.runs[2].1 = vec![obs(1.0, 5.0, &[], &[])];
    assert_eq!(report::cost_ratio(&t, Variant::RustCopy, Variant::Floor), None);
    // A Rust run faster than the floor with modules is noise: not counted as met.
    let mut r = results();
    r.timing[1].runs[4].1 = vec![rust(900.0, "bind"); 3];
    let md = report::markdown(&r);
    let want = "| Rust bind, -smp 2: cost over the floor with modules <= 0.10 of the shell's | -0.11x | not judged (below the floor: noise) |";
    assert!(md.contains(want), "{md}");
}

#[test]
fn the_ram_search_covers_every_booted_init_but_the_modules_floor() {
    let cases = memory_cases(&Variant::ALL);
    assert_eq!(cases.len(), 8);
    assert!(cases.contains(&(Variant::RustBind, false)) && cases.contains(&(Variant::RustBind, true)));
    assert!(!cases.iter().any(|(v, _)| *v == Variant::FloorModules));
    assert_eq!(
        memory_cases(&[Variant::Floor, Variant::RustBind]),
        [
            (Variant::Floor, false),
            (Variant::Floor, true),
            (Variant::RustBind, false),
            (Variant::RustBind, true)
        ]
    );
    // Bind's search boots with both cmdlines; the bisection finds its threshold.
    let f = bisect::smallest::<()>(64, 1024, 8, |mb| Ok(mb >= 376))
        .unwrap()
        .unwrap();
    assert_eq!((f.ok_mb, f.fail_mb), (376, 368));
}

#[test]
fn the_chart_draws_the_median_runs_on_one_axis() {
    let r = results();
    let t = r.at(1).unwrap();
    assert_eq!(
        t.median_run(Variant::Shell).unwrap().phase_ms().map(|p| p.round()),
        Some(2010.0)
    );
    let rows: Vec<_> = Variant::ALL
        .iter()
        .map(|v| (v.label(), t.median_run(*v).unwrap()))
        .collect();
    let svg = svg::timelines("t <&>", &rows);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("t &lt;&amp;&gt;"));
    assert!(svg.contains("<title>copy: 1000.0 ms</title>"), "{svg}");
    assert!(svg.contains(">2010 ms</text>"), "{svg}");
    assert_eq!(svg.matches("/init at 1.00 s").count(), 5);
    // A boot that never handed over is not drawn.
    let dead = Observation::default();
    assert!(!svg::timelines("x", &[("dead", &dead)]).contains("/init at"));
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    bench: cli::BenchArgs,
}

fn args(argv: &[&str]) -> cli::BenchArgs {
    use clap::Parser;
    Cli::try_parse_from(std::iter::once("bench").chain(argv.iter().copied()))
        .unwrap()
        .bench
}

#[test]
fn the_full_run_by_default_and_quick_is_smaller() {
    let full = cli::options(&args(&[]));
    assert_eq!(full.smp, [1, 2]);
    assert_eq!(full.variants, Variant::ALL);
    assert_eq!(memory_cases(&full.mem_variants).len(), 8);
    let bind = cli::options(&args(&["--mem-variants", "rust-bind"]));
    assert_eq!(
        memory_cases(&bind.mem_variants),
        [(Variant::RustBind, false), (Variant::RustBind, true)]
    );
    assert_eq!(full.runs, 7);
    assert_eq!(full.mem_search.map(|m| m.0.step), Some(8));
    assert_eq!(full.pack, Some((19, 3)));
    let quick = cli::options(&args(&["--quick", "--smp", "1", "--variants", "rust-bind,shell"]));
    assert_eq!(
        (quick.runs, quick.pack.map(|p| p.1)),
        (cli::QUICK.0, Some(cli::QUICK.2))
    );
    assert_eq!(quick.mem_search.map(|m| m.0.step), Some(cli::QUICK.1));
    assert_eq!(quick.smp, [1]);
    assert_eq!(
        variant::selection(&quick.variants),
        [Variant::Floor, Variant::Shell, Variant::RustBind]
    );
    let none = cli::options(&args(&["--no-memory", "--no-pack", "--runs", "0"]));
    assert_eq!((none.mem_search, none.pack, none.runs), (None, None, 0));
    use clap::Parser;
    assert!(Cli::try_parse_from(["bench", "--variants", "rust"]).is_err());
}
