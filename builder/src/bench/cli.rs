//! The `bench` subcommand's arguments and output files (main.rs only dispatches here).

use std::path::PathBuf;
use std::time::Duration;

use super::{report, svg, BenchError, BenchOptions, Variant};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Timing runs per init (floor, shell, Rust alternated).
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Guest RAM (MiB) for the timing runs.
    #[arg(long, default_value_t = 1024)]
    pub memory: u32,
    /// Guest CPUs (-smp); the parallel module loaders only overlap with more than one.
    #[arg(long, default_value_t = 1)]
    pub smp: u32,
    /// Skip the RAM bisection (6 searches of ~8 boots each).
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
    /// A prebuilt release zos-init instead of building it.
    #[arg(long, value_name = "PATH")]
    pub init: Option<PathBuf>,
}

pub fn run(a: BenchArgs) -> Result<(), BenchError> {
    let opts = BenchOptions {
        output: a.output.clone(),
        runs: a.runs.max(1),
        memory_mb: a.memory,
        timeout: Duration::from_secs(a.timeout),
        smp: a.smp,
        payload_mb: a.payload_mb,
        image_level: 3,
        mem_search: (!a.no_memory).then_some((a.mem_min, a.mem_max, a.mem_step, a.jobs)),
        pack: (!a.no_pack).then_some((a.pack_level, a.pack_runs)),
        init: a.init,
    };
    let r = super::run(&opts)?;
    let md = report::markdown(&r);
    let rows: Vec<(&str, &super::parse::Observation)> = Variant::ALL
        .iter()
        .filter_map(|v| r.median_run(*v).map(|o| (v.short(), o)))
        .collect();
    let chart = svg::timelines(
        &format!(
            "Boot timelines, run nearest the median of {} (QEMU TCG, {})",
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
