//! `zos-builder bench`: the Rust `/init` against the shell `/init` it replaces
//! (scripts::BASELINE_INIT), on the same kernel and the same image, with a floor init
//! that only execs the handover target. Measures the init phase (and the Rust init's
//! stages), the smallest RAM that boots with every file present (tmpfs and ramfs
//! rootfs), the modules loaded, and pack time against `find | cpio | zstd`; writes
//! report.md and timeline.svg. Only the pure parts are unit-tested: the benchmark
//! itself takes many minutes of QEMU and never runs under `cargo test`.

pub mod bisect;
pub mod boots;
pub mod cli;
pub mod image;
pub mod pack;
pub mod parse;
pub mod report;
pub mod scripts;
pub mod stats;
pub mod svg;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use parse::Observation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    Floor,
    Shell,
    Rust,
}

impl Variant {
    /// The boot order within a round.
    pub const ALL: [Variant; 3] = [Variant::Floor, Variant::Shell, Variant::Rust];

    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Floor => "floor",
            Variant::Shell => "shell",
            Variant::Rust => "rust",
        }
    }

    /// For the chart's narrow label column.
    pub fn short(self) -> &'static str {
        match self {
            Variant::Floor => "floor",
            Variant::Shell => "shell /init",
            Variant::Rust => "Rust /init",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Variant::Floor => "floor (exec only)",
            Variant::Shell => "shell /init (baseline)",
            Variant::Rust => "Rust /init (zos-init)",
        }
    }
}

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
        cmdline: &'static str,
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
    pub runs: usize,
    /// Guest RAM of the timing runs.
    pub memory_mb: u32,
    pub timeout: Duration,
    /// Guest CPUs.
    pub smp: u32,
    pub payload_mb: u64,
    /// zstd level of the booted images (decompression speed barely depends on it).
    pub image_level: u32,
    /// None: no RAM search. Some((lo, hi, step, jobs)).
    pub mem_search: Option<(u32, u32, u32, usize)>,
    /// None: no pack comparison. Some((level, runs)).
    pub pack: Option<(u32, usize)>,
    /// A prebuilt release init instead of building one.
    pub init: Option<PathBuf>,
}

/// Everything measured; `report::markdown` renders it.
pub struct Results {
    pub machine: String,
    pub kernel: String,
    pub runs: usize,
    pub memory_mb: u32,
    pub mem_step: u32,
    pub expected: (u64, u64),
    pub timing: Vec<(Variant, Vec<Observation>)>,
    pub memory: Vec<boots::MemResult>,
    /// Err: what failed, reported in place of the table.
    pub pack: Option<Result<pack::PackResult, String>>,
}

impl Results {
    pub fn runs_of(&self, v: Variant) -> &[Observation] {
        self.timing.iter().find(|(x, _)| *x == v).map_or(&[], |(_, o)| o)
    }

    /// The run of `v` nearest its median phase, for the chart.
    pub fn median_run(&self, v: Variant) -> Option<&Observation> {
        let runs = self.runs_of(v);
        let phases: Vec<f64> = runs.iter().map(|o| o.phase_ms().unwrap_or(f64::MAX)).collect();
        stats::median_index(&phases).map(|i| &runs[i])
    }
}

/// The host, as the report names it: CPU model, cores, and that QEMU runs TCG.
pub fn machine(smp: u32) -> String {
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
    let vcpu = if smp == 1 {
        "1 vCPU".to_string()
    } else {
        format!("{smp} vCPUs")
    };
    format!("{os}, {cores} cores ({cpu}), QEMU TCG (-accel tcg), {vcpu}")
}

pub fn run(opts: &BenchOptions) -> Result<Results, BenchError> {
    std::fs::create_dir_all(&opts.output).map_err(io_err("mkdir", &opts.output))?;
    // Absolute: the pack pipeline runs in the tree's directory.
    let out = std::fs::canonicalize(&opts.output).map_err(io_err("resolve", &opts.output))?;
    let opts = &BenchOptions {
        output: out,
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
        smp: opts.smp.max(1),
    };
    let timing = booter.timing(opts.runs, opts.memory_mb)?;
    let memory = match opts.mem_search {
        Some((lo, hi, step, jobs)) => booter.memory(lo, hi, step, jobs)?,
        None => Vec::new(),
    };
    // Last and the longest part: a failure here must not lose the boots' results.
    let pack = match opts.pack {
        Some((level, runs)) => Some(pack::compare(&img.root, &opts.output, level, runs).map_err(|e| e.to_string())),
        None => None,
    };
    Ok(Results {
        machine: machine(opts.smp.max(1)),
        kernel: kernel.version.clone(),
        runs: opts.runs,
        memory_mb: opts.memory_mb,
        mem_step: opts.mem_search.map_or(0, |m| m.2),
        expected: img.expected,
        timing,
        memory,
        pack,
    })
}
