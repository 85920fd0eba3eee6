//! `build --rootfs DIR`: knobs from flags and the environment (no config file), the
//! image in OUT_DIR (or `-o`), and OUT_DIR/build.log like the pipeline form.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::build::{direct_compression, first_set, source_date_epoch, with_log, BuildArgs, DEFAULT_OUT_DIR};
use crate::compose::{self, Essential, ModuleTreeSource, ModulesSource, Pack, Recipe, RootfsSource, ZinitSource};
use crate::pipeline::log::BuildLog;
use crate::tiers::Tiers;
use crate::ExtraEntry;

pub fn run(rootfs: PathBuf, args: BuildArgs) -> Result<()> {
    refuse_pipeline_flags(&args)?;
    let out_dir = match (&args.out_dir, &args.output) {
        (Some(d), _) => d.clone(),
        // `-o DIR/img` alone: its directory is the output directory (build.log,
        // modules-staging), so nothing appears in ./output that was not asked for.
        (None, Some(o)) => o
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        (None, None) => PathBuf::from(DEFAULT_OUT_DIR),
    };
    let log_path = out_dir.join("build.log");
    // Not mirrored on stderr: the direct form's one-line summary says what it did;
    // the log holds the steps for when it did not.
    let mut log =
        BuildLog::create(&log_path, false).map_err(|e| anyhow::anyhow!("build log {}: {e}", log_path.display()))?;
    log.line(&format!("zos-builder build --rootfs {}", rootfs.display()));
    let result = build(rootfs, &args, &out_dir, &mut log);
    if let Err(e) = &result {
        log.line(&format!("ERROR: {e:#}"));
    }
    result.map_err(|e| with_log(e, &log_path))
}

/// Flags of the pipeline form that the direct form has nothing to apply to.
fn refuse_pipeline_flags(args: &BuildArgs) -> Result<()> {
    let k = &args.knobs;
    let pipeline_only = [
        (args.config.is_some(), "--config"),
        (args.force, "--force"),
        (k.targetarch.is_some(), "--targetarch"),
        (k.kernel_version.is_some(), "--kernel-version"),
        (k.alpine_version.is_some(), "--alpine-version"),
        (k.cache_downloads.is_some(), "--cache-downloads"),
        (k.verify_checksums.is_some(), "--verify-checksums"),
    ];
    if let Some(flag) = first_set(&pipeline_only) {
        anyhow::bail!(
            "{flag} is for the pipeline form (no --rootfs): the direct form packs DIR as it is, \
             for x86_64, with no config, kernel download or stage cache"
        );
    }
    Ok(())
}

fn build(rootfs: PathBuf, args: &BuildArgs, out_dir: &Path, log: &mut BuildLog) -> Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let knobs = crate::knobs::resolve(&args.knobs, env, &Default::default())?;
    let compression = direct_compression(args.compression.as_deref(), args.output.as_deref())?;
    let extras = args
        .files
        .iter()
        .map(|s| ExtraEntry::parse_file_spec(s))
        .collect::<Result<Vec<_>, _>>()?;
    let source_date_epoch = source_date_epoch()?;
    let modules = match &args.modules_from {
        Some(tree) => Some(ModulesSource {
            tree: ModuleTreeSource::Path(tree.clone()),
            tiers: match &args.tiers {
                Some(f) => Tiers::from_file(f)?,
                None => Tiers::preset(&knobs.include_modules)?,
            },
            staging: out_dir.join("modules-staging"),
        }),
        None if args.tiers.is_some() => anyhow::bail!("--tiers needs --modules-from (the tree the tiers pick from)"),
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
    for l in knobs.describe() {
        log.line(&format!("  {l}"));
    }
    let prepared = recipe.prepare()?;
    let init = compose::init_binary(args.init.as_deref(), knobs.mode)?;
    log.line(&format!("/init: {}", init.display()));
    let pack = Pack {
        compression,
        level: args.level,
        root_owned: args.root_owned,
        source_date_epoch,
        output: args
            .output
            .clone()
            .unwrap_or_else(|| out_dir.join(format!("initramfs.cpio{}", compression.extension()))),
    };
    let s = prepared.pack(&init, &[], &pack)?;
    let summary = format!(
        "{}: {} entries, {} bytes cpio, {} bytes {}",
        s.path.display(),
        s.entries,
        s.uncompressed_bytes,
        s.compressed_bytes,
        compression
    );
    log.line(&summary);
    match crate::bootable::verdict(&s.path, args.allow_unbootable)? {
        None => log.line("bootable: handover target, its libraries and the shell are in the image"),
        Some(warning) => {
            eprintln!("{warning}");
            log.line(&warning);
        }
    }
    println!("{summary}");
    Ok(())
}
