//! `build`: the direct form (`--rootfs DIR`, a [`Recipe`] of the composer) or the
//! staged pipeline of `--config` (`crate::pipeline`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::compose::{self, Essential, ModuleTreeSource, ModulesSource, Pack, Recipe, RootfsSource, ZinitSource};
use crate::tiers::Tiers;
use crate::{Compression, ExtraEntry};

#[derive(clap::Args)]
pub struct BuildArgs {
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
    knobs: crate::knobs::KnobFlags,
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
    /// Keep an image that cannot boot (no handover target, its loader or libraries
    /// missing, no shell where the config allows one) with a warning, not an error.
    #[arg(long)]
    allow_unbootable: bool,
}

pub fn run(args: BuildArgs) -> Result<()> {
    match args.rootfs.clone() {
        Some(rootfs) => direct(rootfs, args),
        None => pipeline(args),
    }
}

/// `build --rootfs DIR`: knobs from flags and the environment (no config file).
fn direct(rootfs: PathBuf, args: BuildArgs) -> Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let knobs = crate::knobs::resolve(&args.knobs, env, &Default::default())?;
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
    let modules = match &args.modules_from {
        Some(tree) => Some(ModulesSource {
            tree: ModuleTreeSource::Path(tree.clone()),
            tiers: match &args.tiers {
                Some(f) => Tiers::from_file(f)?,
                None => Tiers::preset(&knobs.include_modules)?,
            },
            staging: PathBuf::from("output/modules-staging"),
        }),
        None => None,
    };
    let zinit = (args.zinit || args.units.is_some()).then(|| ZinitSource::Add {
        zinit: args.zinit,
        units: args.units.clone(),
    });
    let recipe = Recipe {
        rootfs: RootfsSource::Dir(rootfs),
        mode: knobs.mode,
        essential: Essential::FromSelection,
        modules,
        zinit,
        extras,
    };
    let prepared = recipe.prepare()?;
    let init = compose::init_binary(args.init.as_deref(), knobs.mode)?;
    let pack = Pack {
        compression,
        level: args.level,
        root_owned: args.root_owned,
        source_date_epoch,
        output: args
            .output
            .unwrap_or_else(|| PathBuf::from(format!("output/initramfs.cpio{}", compression.extension()))),
    };
    let s = prepared.pack(&init, &[], &pack)?;
    check_bootable(&s.path, args.allow_unbootable)?;
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

/// The image read back as the init will use it (`crate::bootable`).
fn check_bootable(image: &Path, allow: bool) -> Result<()> {
    let problems = crate::bootable::check(image)?;
    if problems.is_empty() {
        return Ok(());
    }
    let list = problems.join("\n  ");
    if allow {
        eprintln!(
            "warning: {} cannot boot (--allow-unbootable):\n  {list}",
            image.display()
        );
        return Ok(());
    }
    anyhow::bail!(
        "{} was written but cannot boot:\n  {list}\n(--allow-unbootable keeps such an image without this error)",
        image.display()
    )
}

/// The pipeline form of `build` (no --rootfs): the logic is in `crate::pipeline`.
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
        (args.allow_unbootable, "--allow-unbootable"),
    ];
    if let Some((_, flag)) = direct.iter().find(|(set, _)| *set) {
        anyhow::bail!(
            "{flag} needs --rootfs (the pipeline takes it from {})",
            args.config.display()
        );
    }
    let req = crate::pipeline::Request {
        config: args.config,
        out: args.out_dir,
        flags: args.knobs,
        env: crate::pipeline::Request::env_from_process(),
        init: args.init,
        force: args.force,
        verbose: true,
    };
    let report = crate::pipeline::run(&req)?;
    println!("{}", report.image.display());
    if let Some(efi) = &report.efi {
        println!("{}", efi.display());
    }
    println!("log: {} ({:.1} s)", report.log.display(), report.seconds);
    Ok(())
}
