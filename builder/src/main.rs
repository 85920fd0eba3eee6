//! The `zos-builder` CLI: one function per subcommand, all logic in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use zos_builder::{build_image, Compression, ExtraEntry, ImageRequest};

#[derive(Parser)]
#[command(
    name = "zos-builder",
    version,
    about = "Builds and inspects Zero-OS initramfs images"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Pack a rootfs and /init into an initramfs image.
    Build(BuildArgs),
    /// List the entries of an image (any compression, concatenated archives).
    Ls {
        /// The image file.
        image: PathBuf,
    },
    /// Build the default image (busybox userland, the init, a zinit stand-in) and
    /// boot it under QEMU with the console on this terminal (Ctrl-A X quits).
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// No terminal: boot, let the stand-in power off, print the log's init lines.
    #[arg(long)]
    batch: bool,
    /// Extra kernel command line (e.g. "zos.log=debug zos.tmpfs=2G").
    #[arg(long, default_value = "")]
    append: String,
    /// Guest RAM in MiB.
    #[arg(long, default_value_t = 1024)]
    memory: u32,
    /// A prebuilt /init instead of building zos-init.
    #[arg(long, value_name = "PATH")]
    init: Option<PathBuf>,
    /// Work directory for the rootfs, the image and serial.log.
    #[arg(long, default_value = "output")]
    output: PathBuf,
    /// Seconds before a --batch run is killed.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

#[derive(clap::Args)]
struct BuildArgs {
    /// Directory whose contents become the image's root.
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    /// The /init binary; by default zos-init is built for x86_64 musl with cargo.
    #[arg(long, value_name = "PATH")]
    init: Option<PathBuf>,
    /// Output file [default: output/initramfs.cpio + .zst/.xz/.gz by compression]
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
    /// zstd, xz, gzip or none.
    #[arg(long, default_value = "zstd")]
    compression: String,
    /// Compression level (zstd 1-19, xz/gzip 0-9).
    #[arg(long)]
    level: Option<u32>,
    /// Pack every entry as uid 0, gid 0.
    #[arg(long)]
    root_owned: bool,
    /// Extra file SRC:DEST[:MODE] (MODE octal); replaces DEST from the rootfs.
    #[arg(long = "file", value_name = "SRC:DEST[:MODE]")]
    files: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Build(args) => build(args),
        Cmd::Ls { image } => ls(&image),
        Cmd::Run(args) => run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` puts the whole cause chain on one line.
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn build(args: BuildArgs) -> Result<()> {
    // Parsed here rather than by clap so that the message lists the valid names
    // in the same words as the library's error.
    let compression: Compression = args.compression.parse()?;
    let extras = args
        .files
        .iter()
        .map(|s| ExtraEntry::parse_file_spec(s))
        .collect::<Result<Vec<_>, _>>()?;
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => Some(
            s.trim()
                .parse::<u64>()
                .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number of seconds"))?,
        ),
        Err(_) => None,
    };
    // A missing rootfs is reported before spending minutes building /init.
    std::fs::metadata(&args.rootfs).with_context(|| format!("rootfs {}", args.rootfs.display()))?;
    let init = match args.init {
        Some(p) => p,
        None => build_init()?,
    };
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("output/initramfs.cpio{}", compression.extension())));
    let req = ImageRequest {
        rootfs: Some(args.rootfs),
        init: Some(init),
        extras,
        compression,
        level: args.level,
        root_owned: args.root_owned,
        source_date_epoch,
        output,
    };
    let s = build_image(&req)?;
    println!(
        "{}: {} entries, {} bytes cpio, {} bytes {}",
        s.path.display(),
        s.entries,
        s.uncompressed_bytes,
        s.compressed_bytes,
        compression
    );
    Ok(())
}

/// Builds zos-init as a static musl binary (it runs before any libc is around).
fn build_init() -> Result<PathBuf> {
    Ok(zos_builder::workspace::build_musl("zos-init", "init")?)
}

fn run(args: RunArgs) -> Result<()> {
    let opts = zos_builder::run::RunOptions {
        output: args.output,
        init: args.init,
        append: args.append,
        memory_mb: args.memory,
        batch: args.batch,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let report = zos_builder::run::run(&opts)?;
    if opts.batch {
        for line in report
            .outcome
            .log
            .lines()
            .filter(|l| l.contains("zos-init:") || l.contains("zinit stand-in"))
        {
            println!("{line}");
        }
    }
    println!(
        "image: {} ({} bytes)",
        report.image.path.display(),
        report.image.compressed_bytes
    );
    println!("serial log: {}", report.serial_log.display());
    match report.init_phase_ms {
        Some(ms) => println!("init phase: {ms:.1} ms (from the init's own log, QEMU TCG)"),
        None => anyhow::bail!("the init never reached handover; see {}", report.serial_log.display()),
    }
    if report.outcome.timed_out {
        anyhow::bail!("QEMU was killed after {} s", args.timeout);
    }
    Ok(())
}

fn ls(image: &Path) -> Result<()> {
    print!("{}", zos_builder::inspect::list_image(image)?);
    Ok(())
}
