//! Report and chart rendering on made-up observations.

use super::bisect::Found;
use super::boots::MemResult;
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

fn results() -> Results {
    let s = |ms| Summary::of(&[ms]).unwrap();
    Results {
        machine: "test host".into(),
        kernel: "6.1.0-test".into(),
        runs: 3,
        memory_mb: 1024,
        mem_step: 8,
        expected: (10, 100),
        timing: vec![
            (Variant::Floor, vec![obs(1.0, 10.0, &[], &[]); 3]),
            (
                Variant::Shell,
                vec![
                    obs(
                        1.0,
                        2010.0,
                        &["btrfs", "virtio_net"],
                        &[("copy", 1000.0), ("hardware", 1000.0)],
                    ),
                    obs(
                        1.0,
                        2110.0,
                        &["btrfs", "virtio_net"],
                        &[("copy", 1100.0), ("hardware", 1000.0)],
                    ),
                    obs(
                        1.0,
                        1910.0,
                        &["btrfs", "virtio_net"],
                        &[("copy", 900.0), ("hardware", 1000.0)],
                    ),
                ],
            ),
            (
                Variant::Rust,
                vec![
                    obs(
                        1.0,
                        210.0,
                        &["btrfs", "fuse", "virtio_net"],
                        &[("copy", 150.0), ("hardware", 50.0)]
                    );
                    3
                ],
            ),
        ],
        memory: vec![
            mem(Variant::Floor, false, 300),
            mem(Variant::Shell, false, 340),
            mem(Variant::Rust, false, 304),
            mem(Variant::Floor, true, 200),
            mem(Variant::Shell, true, 400),
            mem(Variant::Rust, true, 220),
        ],
        pack: Some(Ok(PackResult {
            level: 19,
            builder_s: s(7.0),
            pipeline_s: s(10.0),
            builder_bytes: 5,
            pipeline_bytes: 6,
        })),
    }
}

#[test]
fn costs_are_over_the_floor_and_ratios_rust_over_shell() {
    let r = results();
    let cost = |v| report::time_cost(&r, v).map(f64::round);
    assert_eq!(cost(Variant::Shell), Some(2000.0));
    assert_eq!(cost(Variant::Rust), Some(200.0));
    assert_eq!(report::mem_cost(&r, Variant::Rust, true), Some(20.0));
    let md = report::markdown(&r);
    assert!(
        md.contains("| init phase time (median) | 200 ms | 2000 ms | **0.10x** |"),
        "{md}"
    );
    assert!(
        md.contains("no `root=` (tmpfs rootfs) | 4 MiB | 40 MiB | **0.10x** |"),
        "{md}"
    );
    assert!(
        md.contains("`root=/dev/ram0` (ramfs rootfs) | 20 MiB | 200 MiB | **0.10x** |"),
        "{md}"
    );
    assert!(
        md.contains("| pack time, builder / pipeline | 7.0 s | 10.0 s | **0.70x** |"),
        "{md}"
    );
    assert!(
        md.contains("| shell /init (baseline) | 2010 ms [1910-2110] | 2000 ms |"),
        "{md}"
    );
    assert!(md.contains("| copy | 1000.0 | 150.0 |"), "{md}");
    assert!(
        md.contains("| Rust /init (zos-init) | 304 (fails at 296) | 4 | 220 (fails at 212) | 20 |"),
        "{md}"
    );
    assert!(
        md.contains("OK: the Rust init loads every module the shell loads."),
        "{md}"
    );
    assert!(md.contains("Only the Rust init: fuse."), "{md}");
}

#[test]
fn a_missing_module_is_called_a_mismatch_and_missing_parts_say_so() {
    let mut r = results();
    r.timing[2].1[0].modules = vec!["btrfs".into()];
    r.memory.clear();
    r.pack = Some(Err("zstd failed".into()));
    let md = report::markdown(&r);
    assert!(md.contains("Not measured: zstd failed"), "{md}");
    assert!(md.contains("MISMATCH: the Rust init misses virtio_net."), "{md}");
    assert!(
        md.contains("| min RAM, no `root=` (tmpfs rootfs) | not measured | not measured | **not measured** |"),
        "{md}"
    );
    assert!(!md.contains("| zos-builder |"), "{md}");
}

#[test]
fn the_chart_draws_the_median_runs_on_one_axis() {
    let r = results();
    assert_eq!(
        r.median_run(Variant::Shell).unwrap().phase_ms().map(|p| p.round()),
        Some(2010.0)
    );
    let rows: Vec<_> = Variant::ALL
        .iter()
        .map(|v| (v.label(), r.median_run(*v).unwrap()))
        .collect();
    let svg = svg::timelines("t <&>", &rows);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("t &lt;&amp;&gt;"));
    assert!(svg.contains("<title>copy: 1000.0 ms</title>"), "{svg}");
    assert!(svg.contains(">2010 ms</text>"), "{svg}");
    assert_eq!(svg.matches("/init at 1.00 s").count(), 3);
    // A boot that never handed over is not drawn.
    let dead = Observation::default();
    assert!(!svg::timelines("x", &[("dead", &dead)]).contains("/init at"));
}

#[test]
fn a_ram_cost_within_one_step_is_bounded_not_zero() {
    let mut r = results();
    r.memory = vec![
        mem(Variant::Floor, true, 200),
        mem(Variant::Shell, true, 304),
        mem(Variant::Rust, true, 200),
        mem(Variant::Floor, false, 300),
        mem(Variant::Shell, false, 300),
        mem(Variant::Rust, false, 300),
    ];
    let md = report::markdown(&r);
    assert!(
        md.contains("| 0 MiB | 104 MiB | **< 0.08x (Rust within a step of the floor)** |"),
        "{md}"
    );
    assert!(
        md.contains("| 0 MiB | 0 MiB | **equal (both within a step of the floor)** |"),
        "{md}"
    );
}
