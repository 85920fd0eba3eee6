//! `build`: the direct form (`--rootfs DIR`, a [`crate::compose::Recipe`]; build_direct.rs)
//! or the staged pipeline of `--config` (`crate::pipeline`). Every flag is honoured by
//! the form it is given to or refused with the reason: a flag that silently does nothing
//! is how an operator ships the wrong image.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::Compression;

/// Where both forms write when no `--out-dir` (or `-o`) is given.
pub const DEFAULT_OUT_DIR: &str = "output";
/// The pipeline's config when no `--config` is given.
pub const DEFAULT_CONFIG: &str = "configs/build.toml";

#[derive(clap::Args)]
pub struct BuildArgs {
    /// Directory whose contents become the image's root (the direct form). Without
    /// it, the pipeline runs the stages of --config (docs/BUILD.md).
    #[arg(long, value_name = "DIR")]
    pub(super) rootfs: Option<PathBuf>,
    /// Pipeline: the build config [default: configs/build.toml]. Not with --rootfs.
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Output directory: the image (unless -o), build.log, and the pipeline's stages/
    /// [default: output, or -o's directory in the direct form].
    #[arg(long, value_name = "DIR")]
    pub(super) out_dir: Option<PathBuf>,
    /// Pipeline: run every stage even when its inputs are unchanged.
    #[arg(long)]
    pub(super) force: bool,
    #[command(flatten)]
    pub(super) knobs: crate::knobs::KnobFlags,
    /// The /init binary; by default zos-init is built for x86_64 musl with cargo.
    #[arg(long, value_name = "FILE")]
    pub(super) init: Option<PathBuf>,
    /// Direct form: the image file [default: OUT_DIR/initramfs.cpio + .zst/.xz/.gz].
    /// Its extension (.zst, .xz, .gz, .cpio) gives the compression when --compression
    /// is not given, and must agree with it when it is.
    #[arg(long, short, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
    /// zstd, xz, gzip or none [default: -o's extension, else the pipeline config's
    /// [pack] compression, else zstd].
    #[arg(long, value_name = "NAME")]
    pub(super) compression: Option<String>,
    /// Compression level (zstd 1-19, xz/gzip 0-9) [default: the config's, else the
    /// compression's default].
    #[arg(long)]
    pub(super) level: Option<u32>,
    /// Pack every entry as uid 0, gid 0 (the pipeline's [pack] default already does).
    #[arg(long)]
    pub(super) root_owned: bool,
    /// Direct form: add zinit 0.2.11 as /sbin/zinit (the init's default handover
    /// `/sbin/zinit init`), built from the lock's `zinit-src` source once and cached.
    #[arg(long)]
    pub(super) zinit: bool,
    /// Direct form: add this zinit 0.2 unit set (a dir of *.yaml), after linting it
    /// against the image.
    #[arg(long, value_name = "DIR")]
    pub(super) units: Option<PathBuf>,
    /// Direct form: extra file SRC:DEST[:MODE] (MODE octal); replaces DEST from the rootfs.
    #[arg(long = "file", value_name = "SRC:DEST[:MODE]")]
    pub(super) files: Vec<String>,
    /// Direct form: kernel modules from this tree: a lib/modules/<version> dir, a root
    /// holding one, or a kernel .deb. Packed by tier with their dependencies
    /// (docs/MODULES.md).
    #[arg(long, value_name = "PATH")]
    pub(super) modules_from: Option<PathBuf>,
    /// Direct form: a tier file instead of a preset (may `include` a preset).
    #[arg(long, value_name = "FILE")]
    pub(super) tiers: Option<PathBuf>,
    /// Keep an image that cannot boot (no handover target, its loader or libraries
    /// missing, no shell where the config allows one) with a warning, not an error.
    #[arg(long)]
    pub(super) allow_unbootable: bool,
}

pub fn run(args: BuildArgs) -> Result<()> {
    match args.rootfs.clone() {
        Some(rootfs) => super::build_direct::run(rootfs, args),
        None => pipeline(args),
    }
}

/// The compression an image file name asks for (`.cpio.gz` -> gzip); `None` when its
/// extension names none (`image.img`).
pub fn compression_of(path: &Path) -> Option<Compression> {
    let name = path.file_name()?.to_str()?;
    [
        (".zst", Compression::Zstd),
        (".zstd", Compression::Zstd),
        (".xz", Compression::Xz),
        (".gz", Compression::Gzip),
        (".cpio", Compression::None),
    ]
    .into_iter()
    .find_map(|(ext, c)| name.ends_with(ext).then_some(c))
}

/// The direct form's compression: `--compression`, else `-o`'s extension, else zstd;
/// refused when both are given and disagree (zstd bytes in a `.gz` file fool every
/// tool that trusts the name, the kernel's decompressor does not).
pub(super) fn direct_compression(flag: Option<&str>, output: Option<&Path>) -> Result<Compression> {
    // Parsed here rather than by clap so that the message lists the valid names in
    // the same words as the library's error.
    let given: Option<Compression> = flag.map(str::parse).transpose()?;
    let named = output.and_then(compression_of);
    match (given, named) {
        (Some(g), Some(n)) if g != n => anyhow::bail!(
            "-o {} names {n} compression but --compression is {g}: drop one or make them agree",
            output.map(|p| p.display().to_string()).unwrap_or_default()
        ),
        (Some(c), _) | (None, Some(c)) => Ok(c),
        (None, None) => Ok(Compression::Zstd),
    }
}

/// The first of `flags` that is set, for a refusal.
pub(super) fn first_set<'a>(flags: &[(bool, &'a str)]) -> Option<&'a str> {
    flags.iter().find(|(set, _)| *set).map(|(_, f)| *f)
}

/// The pipeline form of `build` (no --rootfs): the logic is in `crate::pipeline`.
fn pipeline(args: BuildArgs) -> Result<()> {
    let config = args.config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    // Direct-form options have no meaning here; refusing them beats ignoring them.
    let direct = [
        (args.output.is_some(), "-o/--output"),
        (args.zinit, "--zinit"),
        (args.units.is_some(), "--units"),
        (!args.files.is_empty(), "--file"),
        (args.modules_from.is_some(), "--modules-from"),
        (args.tiers.is_some(), "--tiers"),
    ];
    if let Some(flag) = first_set(&direct) {
        anyhow::bail!(
            "{flag} needs --rootfs (the pipeline takes it from {}; its image is OUT_DIR/initramfs.cpio.EXT, see --out-dir)",
            config.display()
        );
    }
    if let Some(c) = &args.compression {
        c.parse::<Compression>()?;
    }
    let out = args.out_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR));
    let req = crate::pipeline::Request {
        config,
        out: out.clone(),
        flags: args.knobs,
        env: crate::pipeline::Request::env_from_process(),
        init: args.init,
        force: args.force,
        verbose: true,
        pack: crate::pipeline::PackOverride {
            compression: args.compression,
            level: args.level,
            root_owned: args.root_owned,
        },
        allow_unbootable: args.allow_unbootable,
    };
    let report = crate::pipeline::run(&req).map_err(|e| with_log(e.into(), &out.join("build.log")))?;
    println!("{}", report.image.display());
    if let Some(efi) = &report.efi {
        println!("{}", efi.display());
    }
    println!("log: {} ({:.1} s)", report.log.display(), report.seconds);
    Ok(())
}

/// A failed build: its cause, then where its log is.
#[derive(Debug, thiserror::Error)]
#[error("{cause:#}\nbuild log: {}", log.display())]
pub struct BuildFailed {
    cause: anyhow::Error,
    log: PathBuf,
}

/// A failed build says where its log is (when it got far enough to write one).
pub(super) fn with_log(cause: anyhow::Error, log: &Path) -> anyhow::Error {
    if log.is_file() {
        BuildFailed {
            cause,
            log: log.to_owned(),
        }
        .into()
    } else {
        cause
    }
}

/// `SOURCE_DATE_EPOCH` from the environment, for the direct form.
pub(super) fn source_date_epoch() -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => Ok(Some(s.trim().parse::<u64>().with_context(|| {
            format!("SOURCE_DATE_EPOCH={s:?} is not a number of seconds")
        })?)),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_gives_the_compression_and_must_agree_with_the_flag() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(compression_of(Path::new("a/x.cpio.gz")), Some(Compression::Gzip));
        assert_eq!(compression_of(Path::new("x.cpio")), Some(Compression::None));
        assert_eq!(compression_of(Path::new("x.img")), None);
        assert_eq!(
            direct_compression(None, p("x.cpio.xz").as_deref()).unwrap(),
            Compression::Xz
        );
        assert_eq!(
            direct_compression(None, p("x.img").as_deref()).unwrap(),
            Compression::Zstd
        );
        assert_eq!(
            direct_compression(Some("gzip"), p("x.img").as_deref()).unwrap(),
            Compression::Gzip
        );
        let e = direct_compression(Some("zstd"), p("x.cpio.gz").as_deref()).unwrap_err();
        assert!(
            e.to_string()
                .contains("names gzip compression but --compression is zstd"),
            "{e}"
        );
        assert!(direct_compression(Some("lz4"), None).is_err());
    }
}
