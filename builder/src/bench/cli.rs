//! The `bench` subcommand's arguments and output files (main.rs only dispatches here).

use std::path::PathBuf;
use std::time::Duration;

use super::boots::MemRange;
use super::{report, svg, BenchError, BenchOptions, Variant};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Timing runs per variant (the variants alternated within each round); 0: none,
    /// only the RAM search and the pack time.
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Guest RAM (MiB) for the timing runs.
    #[arg(long, default_value_t = 1024)]
    pub memory: u32,
    /// Guest CPUs (-smp) of the timing runs, one pass each; the parallel module
    /// loaders only overlap with more than one.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2])]
    pub smp: Vec<u32>,
    /// What to boot (the plain floor is always booted: every cost is over it).
    #[arg(long, value_delimiter = ',', default_values_t = Variant::ALL)]
    pub variants: Vec<Variant>,
    /// Whose smallest RAM is searched (floor-modules never is); the images of all of
    /// them are built whatever --variants says.
    #[arg(long, value_delimiter = ',', default_values_t = Variant::ALL)]
    pub mem_variants: Vec<Variant>,
    /// A quick run (about a third of the full one): 3 timing runs, RAM search to
    /// 16 MiB, 1 pack run. Explicit --runs/--mem-step/--pack-runs are overridden.
    #[arg(long)]
    pub quick: bool,
    /// Skip the RAM bisection (8 searches of ~8 boots each with every variant).
    #[arg(long)]
    pub no_memory: bool,
    /// RAM search range and step, MiB. (The search's flags conflict with
    /// --no-memory: given together, one of them would be ignored.)
    #[arg(long, default_value_t = 64, conflicts_with = "no_memory")]
    pub mem_min: u32,
    #[arg(long, default_value_t = 1024, conflicts_with = "no_memory")]
    pub mem_max: u32,
    #[arg(long, default_value_t = 8, conflicts_with = "no_memory")]
    pub mem_step: u32,
    /// RAM searches run at once (they measure completion, not speed).
    #[arg(long, default_value_t = 2, conflicts_with = "no_memory")]
    pub jobs: usize,
    /// Skip the pack-time comparison.
    #[arg(long)]
    pub no_pack: bool,
    /// zstd level of the pack comparison (19: the builder's default).
    #[arg(long, default_value_t = 19, conflicts_with = "no_pack")]
    pub pack_level: u32,
    #[arg(long, default_value_t = 3, conflicts_with = "no_pack")]
    pub pack_runs: usize,
    /// ELF payload copied from the host into the image, MiB.
    #[arg(long, default_value_t = 120)]
    pub payload_mb: u64,
    /// Seconds before one boot is killed.
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
    /// Work directory: images, serial logs, report.md, timeline.svg.
    #[arg(
        long = "out-dir",
        alias = "output",
        value_name = "DIR",
        default_value = "output/bench"
    )]
    pub output: PathBuf,
    /// Boot nothing: the timing report again from the serial logs of an earlier run in
    /// DIR (its --output), for a run stopped before its end; only whole rounds count.
    /// Written to DIR/report-from-logs.md.
    #[arg(long, value_name = "DIR")]
    pub from_logs: Option<PathBuf>,
    /// A prebuilt release zos-init instead of building it.
    #[arg(long, value_name = "PATH")]
    pub init: Option<PathBuf>,
}

/// --quick's settings: (runs, mem_step, pack_runs).
pub const QUICK: (usize, u32, usize) = (3, 16, 1);

pub fn options(a: &BenchArgs) -> BenchOptions {
    let (runs, mem_step, pack_runs) = if a.quick {
        QUICK
    } else {
        (a.runs, a.mem_step, a.pack_runs)
    };
    let range = MemRange {
        lo: a.mem_min,
        hi: a.mem_max,
        step: mem_step,
    };
    BenchOptions {
        output: a.output.clone(),
        variants: a.variants.clone(),
        mem_variants: a.mem_variants.clone(),
        runs,
        memory_mb: a.memory,
        timeout: Duration::from_secs(a.timeout),
        smp: a.smp.iter().map(|n| (*n).max(1)).collect(),
        payload_mb: a.payload_mb,
        image_level: 3,
        mem_search: (!a.no_memory).then_some((range, a.jobs)),
        pack: (!a.no_pack).then_some((a.pack_level, pack_runs)),
        init: a.init.clone(),
    }
}

pub fn run(a: BenchArgs) -> Result<(), BenchError> {
    if let Some(dir) = &a.from_logs {
        let md = report::markdown(&super::relog::from_logs(dir)?);
        let path = dir.join("report-from-logs.md");
        std::fs::write(&path, &md).map_err(super::io_err("write", &path))?;
        print!("{md}");
        println!("\nreport: {}", path.display());
        return Ok(());
    }
    let r = super::run(&options(&a))?;
    let md = report::markdown(&r);
    // The chart: the first -smp's median runs.
    let rows: Vec<(&str, &super::parse::Observation)> = r
        .timing
        .first()
        .map(|t| {
            Variant::ALL
                .iter()
                .filter_map(|v| t.median_run(*v).map(|o| (v.short(), o)))
                .collect()
        })
        .unwrap_or_default();
    let smp = r.timing.first().map_or(1, |t| t.smp);
    let chart = svg::timelines(
        &format!(
            "Boot timelines, run nearest the median of {} (QEMU TCG, -smp {smp}, {})",
            r.runs, r.kernel
        ),
        &rows,
    );
    let md_path = a.output.join("report.md");
    let svg_path = a.output.join("timeline.svg");
    std::fs::write(&md_path, &md).map_err(super::io_err("write", &md_path))?;
    std::fs::write(&svg_path, chart).map_err(super::io_err("write", &svg_path))?;
    print!("{md}");
    println!("\nreport: {}\nchart: {}", md_path.display(), svg_path.display());
    Ok(())
}
