//! `zos-builder bench`: the Rust `/init` (copy and bind modes) against the shell
//! `/init` it replaces (scripts::BASELINE_INIT), on the same kernel and the same image,
//! over two floors: one that only execs the handover target, one that first modprobes
//! the shell's modules (so the kernel's module initialisation is not counted as the
//! init's). Measures the init phase at each `-smp` asked (and the stages), the
//! smallest RAM that boots with every file present (tmpfs and ramfs rootfs), the
//! modules loaded, and pack time against `find | cpio | zstd`; writes report.md and
//! timeline.svg. Only the pure parts are unit-tested: the benchmark
//! itself takes many minutes of QEMU and never runs under `cargo test`.

pub mod bisect;
pub mod boots;
pub mod cli;
pub mod image;
pub mod pack;
pub mod parse;
pub mod relog;
pub mod report;
pub mod report_tables;
pub mod scripts;
pub mod stats;
pub mod svg;
#[cfg(test)]
mod tests;
pub mod variant;

use std::path::{Path, PathBuf};
use std::time::Duration;

use parse::Observation;

pub use variant::{ImageKind, Variant};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Qemu(#[from] zos_host::Error),
    #[error(transparent)]
    Build(#[from] crate::BuildError),
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
    #[error(transparent)]
    Cargo(#[from] crate::workspace::CargoError),
    #[error(transparent)]
    Modules(#[from] crate::modules::ModulesError),
    #[error(transparent)]
    Mode(#[from] crate::mode::ModeError),
    #[error(transparent)]
    Inst(#[from] crate::inst::InstError),
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    #[error("bench: {op} {}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("bench: missing {what} ({})", path.display())]
    Missing { what: &'static str, path: PathBuf },
    #[error("bench: {cmd} failed ({status})")]
    Tool { cmd: String, status: String },
    #[error(
        "bench: the {variant} image did not complete at -m {memory_mb} (files, bytes: {files:?}, expected {expected:?}); see {}",
        log.display()
    )]
    Incomplete {
        variant: &'static str,
        memory_mb: u32,
        log: PathBuf,
        files: Option<(u64, u64)>,
        expected: (u64, u64),
    },
    #[error("bench: RAM search for {variant} (cmdline {cmdline:?}): {cause}")]
    Memory {
        variant: &'static str,
        cmdline: String,
        cause: bisect::BisectError,
    },
}

pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BenchError + 'a {
    move |cause| BenchError::Io {
        op,
        path: path.to_path_buf(),
        cause,
    }
}

pub struct BenchOptions {
    pub output: PathBuf,
    /// What to boot, in boot order (variant::selection).
    pub variants: Vec<Variant>,
    pub runs: usize,
    /// Guest RAM of the timing runs.
    pub memory_mb: u32,
    pub timeout: Duration,
    /// Guest CPUs of the timing runs, one timing pass each (the RAM search runs at 1).
    pub smp: Vec<u32>,
    pub payload_mb: u64,
    /// zstd level of the booted images (decompression speed barely depends on it).
    pub image_level: u32,
    /// None: no RAM search. Some((range, jobs)).
    pub mem_search: Option<(boots::MemRange, usize)>,
    /// Whose RAM is searched (boots::memory_cases; need not include the floor, so a
    /// search can be finished in a second run).
    pub mem_variants: Vec<Variant>,
    /// None: no pack comparison. Some((level, runs)).
    pub pack: Option<(u32, usize)>,
    /// A prebuilt release init instead of building one.
    pub init: Option<PathBuf>,
}

/// The timing runs at one `-smp`.
pub struct SmpTiming {
    pub smp: u32,
    pub runs: Vec<(Variant, Vec<Observation>)>,
}

/// Everything measured; `report::markdown` renders it.
pub struct Results {
    pub machine: String,
    pub kernel: String,
    /// The host's load average (1, 5, 15 min) when the boots started and ended: the
    /// host is shared, so the figures say under what they were taken.
    pub load: (String, String),
    pub runs: usize,
    pub memory_mb: u32,
    pub mem_step: u32,
    pub expected: (u64, u64),
    pub timing: Vec<SmpTiming>,
    pub memory: Vec<boots::MemResult>,
    /// Err: what failed, reported in place of the table.
    pub pack: Option<Result<pack::PackResult, String>>,
}

impl Results {
    pub fn at(&self, smp: u32) -> Option<&SmpTiming> {
        self.timing.iter().find(|t| t.smp == smp)
    }
}

impl SmpTiming {
    pub fn runs_of(&self, v: Variant) -> &[Observation] {
        self.runs.iter().find(|(x, _)| *x == v).map_or(&[], |(_, o)| o)
    }

    /// The run of `v` nearest its median phase, for the chart.
    pub fn median_run(&self, v: Variant) -> Option<&Observation> {
        let runs = self.runs_of(v);
        let phases: Vec<f64> = runs.iter().map(|o| o.phase_ms().unwrap_or(f64::MAX)).collect();
        stats::median_index(&phases).map(|i| &runs[i])
    }
}

/// /proc/loadavg's first three fields.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The host, as the report names it: CPU model, cores, and that QEMU runs TCG.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|s| s.trim_matches('"').to_string()))
        })
        .unwrap_or_default();
    format!("{os}, {cores} cores ({cpu}), QEMU TCG (-accel tcg)")
}

pub fn run(opts: &BenchOptions) -> Result<Results, BenchError> {
    std::fs::create_dir_all(&opts.output).map_err(io_err("mkdir", &opts.output))?;
    // Absolute: the pack pipeline runs in the tree's directory.
    let out = std::fs::canonicalize(&opts.output).map_err(io_err("resolve", &opts.output))?;
    let opts = &BenchOptions {
        output: out,
        variants: variant::selection(&opts.variants),
        mem_variants: opts.mem_variants.clone(),
        smp: opts.smp.clone(),
        init: opts.init.clone(),
        ..*opts
    };
    let kernel = zos_host::kernel::debian_cloud_kernel(zos_host::Arch::host())?;
    let init = match &opts.init {
        Some(p) => p.clone(),
        None => crate::mode::BuildMode::Release.build_init()?,
    };
    eprintln!("bench: building the image ({} MiB of ELF payload)", opts.payload_mb);
    let img = image::prepare(&opts.output, &init, opts.payload_mb, opts.image_level)?;
    for (v, p, bytes) in &img.images {
        eprintln!("bench: {} image {} ({bytes} bytes)", v.as_str(), p.display());
    }
    eprintln!(
        "bench: {} payload files ({} bytes); the guest must find {} files, {} bytes",
        img.payload.0, img.payload.1, img.expected.0, img.expected.1
    );
    let logs = opts.output.join("logs");
    std::fs::create_dir_all(&logs).map_err(io_err("mkdir", &logs))?;
    let booter = boots::Booter {
        kernel: &kernel,
        image: &img,
        dir: logs,
        timeout: opts.timeout,
    };
    let load_start = load_average();
    let mut timing = Vec::new();
    // No runs: the RAM search and pack time alone (a long run can be split in two).
    for &smp in opts.smp.iter().filter(|_| opts.runs > 0) {
        let runs = booter.timing(&opts.variants, smp, opts.runs, opts.memory_mb)?;
        timing.push(SmpTiming { smp, runs });
    }
    let memory = match opts.mem_search {
        Some((range, jobs)) => booter.memory(&opts.mem_variants, range, jobs)?,
        None => Vec::new(),
    };
    let load_end = load_average();
    // Last and the longest part: a failure here must not lose the boots' results.
    let pack = match opts.pack {
        Some((level, runs)) => Some(pack::compare(&img.root, &opts.output, level, runs).map_err(|e| e.to_string())),
        None => None,
    };
    Ok(Results {
        machine: machine(),
        kernel: kernel.version.clone(),
        load: (load_start, load_end),
        runs: opts.runs,
        memory_mb: opts.memory_mb,
        mem_step: opts.mem_search.map_or(0, |m| m.0.step),
        expected: img.expected,
        timing,
        memory,
        pack,
    })
}
