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
    // Boxed: the knob flags make it much larger than the other variants.
    Build(Box<BuildArgs>),
    /// List the entries of an image (any compression, concatenated archives).
    Ls {
        /// The image file.
        image: PathBuf,
    },
    /// Print one file of an image on stdout (symlinks followed inside the image).
    Cat {
        image: PathBuf,
        /// Path in the image, e.g. /etc/zos-init.conf.
        path: String,
    },
    /// Extract an image into DIR without root: owners and modes go to DIR.owners,
    /// device nodes are skipped (listed).
    Unpack { image: PathBuf, dir: PathBuf },
    /// Pinned GitHub/crates.io/local components (configs/components.lock).
    Components {
        #[command(subcommand)]
        cmd: zos_builder::components::cli::ComponentsCmd,
    },
    /// Build the default image (busybox userland, the init, zinit 0.2.11 with the
    /// configs/zinit units it can run) and boot it under QEMU with a shell on this
    /// terminal (`zinit shutdown` ends it; Ctrl-A X quits QEMU).
    Run(RunArgs),
    /// Install Alpine packages (configs/packages.txt) into a rootfs directory natively:
    /// no Docker, no apk, no root; `build --rootfs DIR` then packs it with its owners.
    Rootfs(zos_builder::apk::cli::RootfsArgs),
    /// Check zinit 0.2.11 unit sets as zinit reads them: files it would skip, unknown
    /// keys it ignores, `after` naming no unit, cycles; with --rootfs, an exec or test
    /// (or a command of its `sh -c` script) whose program that rootfs lacks.
    Lint {
        /// Unit directories [default: configs/zinit and configs/zinit-run].
        dirs: Vec<PathBuf>,
        /// Check exec programs against this rootfs (PATH lookup, symlinks inside it).
        #[arg(long, value_name = "DIR")]
        rootfs: Option<PathBuf>,
    },
    /// Benchmark the Rust /init against the shell /init it replaces and a floor init,
    /// under QEMU TCG: init phase, smallest RAM, modules, pack time (docs/BENCHMARKS.md).
    Bench(zos_builder::bench::cli::BenchArgs),
    /// Draw the init's boot report (/run/zos-init/boot.json) as an SVG timeline.
    Timeline {
        /// The boot.json file.
        report: PathBuf,
        /// Output SVG [default: the report's name with .svg].
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// No terminal: boot, wait for the services, print the boot timeline and
    /// `zinit list`, power off with `zinit shutdown`.
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
    /// debug (default) or release: see `build --mode`.
    #[arg(long, default_value = "debug", env = "BUILDMODE")]
    mode: String,
    /// Seconds before a --batch run is killed.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

#[derive(clap::Args)]
struct BuildArgs {
    /// Directory whose contents become the image's root (the direct form). Without
    /// it, the pipeline runs the stages of --config (docs/BUILD.md).
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Pipeline: the build config.
    #[arg(long, value_name = "PATH", default_value = "configs/build.toml")]
    config: PathBuf,
    /// Pipeline: the output directory (images, build.log, stages/).
    #[arg(long, value_name = "DIR", default_value = "output")]
    out_dir: PathBuf,
    /// Pipeline: run every stage even when its inputs are unchanged.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    knobs: zos_builder::knobs::KnobFlags,
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
    /// Add zinit 0.2.11 as /sbin/zinit (the init's default handover `/sbin/zinit
    /// init`), built from the lock's `zinit-src` source once and cached.
    #[arg(long)]
    zinit: bool,
    /// Add this zinit 0.2 unit set (a dir of *.yaml), after linting it against the image.
    #[arg(long, value_name = "DIR")]
    units: Option<PathBuf>,
    /// Extra file SRC:DEST[:MODE] (MODE octal); replaces DEST from the rootfs.
    #[arg(long = "file", value_name = "SRC:DEST[:MODE]")]
    files: Vec<String>,
    /// Kernel modules from this tree: a lib/modules/<version> dir, a root holding
    /// one, or a kernel .deb. Packed by tier with their dependencies (docs/MODULES.md).
    #[arg(long, value_name = "PATH")]
    modules_from: Option<PathBuf>,
    /// A tier file instead of a preset (may `include` a preset).
    #[arg(long, value_name = "FILE")]
    tiers: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Build(args) => build(*args),
        Cmd::Ls { image } => ls(&image),
        Cmd::Cat { image, path } => cat(&image, &path),
        Cmd::Unpack { image, dir } => unpack(&image, &dir),
        Cmd::Components { cmd } => zos_builder::components::cli::run(cmd),
        Cmd::Run(args) => run(args),
        Cmd::Rootfs(args) => zos_builder::apk::cli::run(args),
        Cmd::Lint { dirs, rootfs } => lint(dirs, rootfs),
        Cmd::Timeline { report, output } => timeline(&report, output),
        Cmd::Bench(args) => zos_builder::bench::cli::run(args).map_err(Into::into),
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
    let Some(rootfs) = args.rootfs.clone() else {
        return pipeline(args);
    };
    // The direct form: knobs from flags and the environment (no config file).
    let env = |k: &str| std::env::var(k).ok();
    let knobs = zos_builder::knobs::resolve(&args.knobs, env, &Default::default())?;
    // Parsed here rather than by clap so that the message lists the valid names
    // in the same words as the library's error.
    let compression: Compression = args.compression.parse()?;
    let mode = knobs.mode;
    let mut extras = args
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
    std::fs::metadata(&rootfs).with_context(|| format!("rootfs {}", rootfs.display()))?;
    // The init reads its config from the image; the mode's keys go on top of the
    // rootfs's own file (an explicit --file for it still wins: it comes first).
    if !extras
        .iter()
        .any(|e| matches!(e, ExtraEntry::File { path, .. } if path.ends_with("etc/zos-init.conf")))
    {
        extras.push(ExtraEntry::File {
            path: zos_init::config::CONFIG_PATH.into(),
            source: zos_builder::cpio::FileData::Bytes(mode.image_config(Some(&rootfs))?.into_bytes()),
            mode: Some(0o644),
        });
    }
    if let Some(tree) = &args.modules_from {
        add_modules(tree, &args, &knobs.include_modules, &mut extras)?;
    }
    if args.zinit || args.units.is_some() {
        zos_builder::zinit::cli::add_to_build(&rootfs, &mut extras, args.zinit, args.units.as_deref())?;
    }
    let init = match args.init {
        Some(p) => p,
        None => mode.build_init()?,
    };
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("output/initramfs.cpio{}", compression.extension())));
    let req = ImageRequest {
        rootfs: Some(rootfs),
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

fn run(args: RunArgs) -> Result<()> {
    let opts = zos_builder::run::RunOptions {
        output: args.output,
        init: args.init,
        append: args.append,
        memory_mb: args.memory,
        batch: args.batch,
        timeout: std::time::Duration::from_secs(args.timeout),
        mode: args.mode.parse().map_err(anyhow::Error::msg)?,
    };
    let report = zos_builder::run::run(&opts)?;
    let t = &report.timeline;
    print!("{}", report.notes);
    if opts.batch {
        // The whole boot on one clock: kernel, the init's stages, zinit, services up.
        print!("boot timeline (s since boot, QEMU TCG):\n{t}");
        println!("zinit list when the services were up:");
        t.zinit_list.iter().for_each(|l| println!("  {l}"));
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
    if let Some(up) = t.services_up {
        println!("services up: {up:.2} s after boot (zinit's boot-report unit)");
    }
    if report.outcome.timed_out {
        anyhow::bail!("QEMU was killed after {} s", args.timeout);
    }
    if opts.batch {
        anyhow::ensure!(!t.panicked, "the kernel panicked; see {}", report.serial_log.display());
        anyhow::ensure!(
            t.services_up.is_some() && t.powered_off,
            "no clean `zinit shutdown` after the services came up; see {}",
            report.serial_log.display()
        );
    }
    Ok(())
}

fn timeline(report: &Path, output: Option<PathBuf>) -> Result<()> {
    let text = std::fs::read_to_string(report).with_context(|| format!("boot report {}", report.display()))?;
    let svg = zos_builder::timeline::render(&report.display().to_string(), &text)?;
    let out = output.unwrap_or_else(|| report.with_extension("svg"));
    std::fs::write(&out, svg).with_context(|| format!("write {}", out.display()))?;
    println!("{}", out.display());
    Ok(())
}

fn lint(mut dirs: Vec<PathBuf>, rootfs: Option<PathBuf>) -> Result<()> {
    if dirs.is_empty() {
        dirs = vec![
            zos_builder::zinit::install::shipped_units(),
            zos_builder::zinit::report::units_dir(),
        ];
    }
    let (text, clean) = zos_builder::zinit::cli::lint_dirs(&dirs, rootfs.as_deref());
    print!("{text}");
    anyhow::ensure!(clean, "lint found errors");
    Ok(())
}

/// Tier selection from a module tree, staged next to the output and added as extras.
fn add_modules(tree: &Path, args: &BuildArgs, preset: &str, extras: &mut Vec<ExtraEntry>) -> Result<()> {
    use zos_builder::{modules, tiers::Tiers};
    let tiers = match &args.tiers {
        Some(f) => Tiers::from_file(f)?,
        None => Tiers::preset(preset)?,
    };
    let tree = modules::ModuleTree::open(tree)?;
    let sel = modules::select(&tree, &tiers)?;
    for n in &sel.notes {
        eprintln!("modules: {n}");
    }
    let staging = PathBuf::from("output/modules-staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("clear {}", staging.display()))?;
    }
    modules::install(&tree, &sel, &staging, modules::IndexWriter::Auto)?;
    extras.extend(modules::to_extras(&staging));
    if !modules::set_essential(extras, &sel.essential) {
        eprintln!("modules: /etc/zos-init.conf comes from --file: set essential_modules there yourself");
    }
    eprintln!(
        "modules: {} packed from {} ({}), essential: {}",
        sel.packed.len(),
        tree.dir.display(),
        tree.version,
        sel.essential.join(" ")
    );
    Ok(())
}

/// The pipeline form of `build` (no --rootfs): the logic is in `zos_builder::pipeline`.
fn pipeline(args: BuildArgs) -> Result<()> {
    // Direct-form options have no meaning here; refusing them beats ignoring them.
    let direct = [
        (args.output.is_some(), "--output"),
        (args.zinit, "--zinit"),
        (args.units.is_some(), "--units"),
        (!args.files.is_empty(), "--file"),
        (args.modules_from.is_some(), "--modules-from"),
        (args.tiers.is_some(), "--tiers"),
        (args.root_owned, "--root-owned"),
        (args.level.is_some(), "--level"),
    ];
    if let Some((_, flag)) = direct.iter().find(|(set, _)| *set) {
        anyhow::bail!(
            "{flag} needs --rootfs (the pipeline takes it from {})",
            args.config.display()
        );
    }
    let req = zos_builder::pipeline::Request {
        config: args.config,
        out: args.out_dir,
        flags: args.knobs,
        env: zos_builder::pipeline::Request::env_from_process(),
        init: args.init,
        force: args.force,
        verbose: true,
    };
    let report = zos_builder::pipeline::run(&req)?;
    println!("{}", report.image.display());
    if let Some(efi) = &report.efi {
        println!("{}", efi.display());
    }
    println!("log: {} ({:.1} s)", report.log.display(), report.seconds);
    Ok(())
}

fn cat(image: &Path, path: &str) -> Result<()> {
    use std::io::Write;
    let data = zos_builder::unpack::cat(image, path)?;
    std::io::stdout().write_all(&data).context("stdout")?;
    Ok(())
}

fn unpack(image: &Path, dir: &Path) -> Result<()> {
    let r = zos_builder::unpack::unpack(image, dir)?;
    for s in &r.skipped {
        eprintln!("skipped {s}");
    }
    println!(
        "{}: {} files, {} dirs, {} symlinks, {} hard links; owners and modes in {}; {} skipped",
        dir.display(),
        r.files,
        r.dirs,
        r.symlinks,
        r.hardlinks,
        r.owners.display(),
        r.skipped.len()
    );
    Ok(())
}

fn ls(image: &Path) -> Result<()> {
    print!("{}", zos_builder::inspect::list_image(image)?);
    Ok(())
}
