//! `zos-builder rootfs`: install configs/packages.txt into a rootfs directory. Lives in
//! the library so main.rs only gains one variant and one match arm.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::config::{parse_packages, Settings};
use super::dep::Dep;
use super::install::{install, Request};

#[derive(clap::Args, Debug)]
pub struct RootfsArgs {
    /// Package list (one or more atoms a line, `#` comments).
    #[arg(long, default_value = "configs/packages.txt", value_name = "PATH")]
    pub packages: PathBuf,
    /// Repositories, version, arch, keys, users and groups.
    #[arg(long, default_value = "configs/apk.toml", value_name = "PATH")]
    pub config: PathBuf,
    /// The rootfs directory; `<OUT>.owners` is written beside it.
    #[arg(long = "out-dir", alias = "out", default_value = "output/rootfs", value_name = "DIR")]
    pub out: PathBuf,
    /// Start from a rootfs tarball (e.g. an Alpine minirootfs): `tar:PATH`.
    #[arg(long, value_name = "tar:PATH")]
    pub source: Option<String>,
    /// Extra package atoms on top of the list.
    #[arg(long = "add", value_name = "ATOM")]
    pub add: Vec<String>,
    /// The build log.
    #[arg(long, default_value = "output/build.log", value_name = "PATH")]
    pub log: PathBuf,
    /// Remove OUT (and its manifest) first instead of installing on top.
    #[arg(long)]
    pub clean: bool,
    /// Apply the config's [[group]]/[[user]] entries (only names no package's
    /// script creates); same as `config_users = true`.
    #[arg(long)]
    pub config_users: bool,
}

pub fn run(args: RootfsArgs) -> Result<()> {
    let mut settings = Settings::load(&args.config, |k| std::env::var_os(k))?;
    settings.config_users |= args.config_users;
    let text =
        std::fs::read_to_string(&args.packages).with_context(|| format!("package list {}", args.packages.display()))?;
    let mut world = parse_packages(&text, &args.packages)?;
    for a in &args.add {
        world.push(Dep::parse(a).with_context(|| format!("--add {a:?} is not a package atom"))?);
    }
    let base_tar = match &args.source {
        None => None,
        Some(s) => match s.strip_prefix("tar:") {
            Some(p) => Some(PathBuf::from(p)),
            None => bail!("--source {s:?}: only tar:PATH is supported"),
        },
    };
    if args.clean {
        for p in [args.out.clone(), super::owners::sidecar_for(&args.out)] {
            if p.is_dir() {
                std::fs::remove_dir_all(&p).with_context(|| format!("remove {}", p.display()))?;
            } else if p.exists() {
                std::fs::remove_file(&p).with_context(|| format!("remove {}", p.display()))?;
            }
        }
    }
    let req = Request {
        root: args.out.clone(),
        world,
        settings,
        base_tar,
        log_path: Some(args.log.clone()),
        verbose: true,
    };
    let report = install(&req)?;
    println!(
        "{}: {} packages installed; owners in {}; log {}",
        args.out.display(),
        report.installed.len(),
        report.owners.display(),
        args.log.display()
    );
    println!("pack it: zos-builder build --rootfs {}", args.out.display());
    Ok(())
}
