//! The one way an image is put together outside the staged pipeline: a [`Recipe`]
//! (rootfs, build mode, modules, zinit, extras) is prepared once and packed with an
//! `/init` by [`Prepared::pack`]. `build --rootfs`, `run` and `bench` are three
//! recipes; the pipeline's pack stage hands its stage trees to the same packer
//! ([`crate::build_image`]).
//!
//! One rule decides where the composer writes: a rootfs it made itself
//! ([`RootfsSource::Busybox`]) gets the modules and `/etc/zos-init.conf` written into
//! it; a rootfs the caller owns ([`RootfsSource::Dir`]) is never modified, so they go
//! on top as extras.

use std::path::{Path, PathBuf};

use zos_common::config::{Config, CONFIG_PATH};

use crate::cpio::FileData;
use crate::mode::BuildMode;
use crate::tiers::Tiers;
use crate::{build_image, modules, rootfs, Compression, ExtraEntry, ImageRequest, ImageSummary};

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("rootfs {}: {cause}", path.display())]
    NoRootfs { path: PathBuf, cause: std::io::Error },
    #[error("{op} {}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Host(#[from] zos_host::Error),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Modules(#[from] modules::ModulesError),
    #[error(transparent)]
    Tiers(#[from] crate::tiers::TierError),
    #[error(transparent)]
    Mode(#[from] crate::mode::ModeError),
    #[error(transparent)]
    Zinit(#[from] crate::zinit::ZinitError),
    #[error(transparent)]
    Cargo(#[from] crate::workspace::CargoError),
    #[error(transparent)]
    Build(#[from] crate::BuildError),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ComposeError + 'a {
    move |cause| ComposeError::Io {
        op,
        path: path.to_path_buf(),
        cause,
    }
}

/// Where the image's root comes from.
#[derive(Debug, Clone)]
pub enum RootfsSource {
    /// The caller's tree (`build --rootfs DIR`): read, never written.
    Dir(PathBuf),
    /// A scratch directory, cleared and laid out with Debian's busybox-static.
    Busybox(PathBuf),
}

/// Which module tree a tier selection is taken from.
#[derive(Debug, Clone)]
pub enum ModuleTreeSource {
    /// A lib/modules/<version> dir, a root holding one, or a kernel .deb.
    Path(PathBuf),
    /// The Debian cloud kernel the QEMU boots use.
    TestKernel,
}

/// The essential tier the init loads first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Essential {
    /// The config's own list (the mode's default or the rootfs's file).
    Keep,
    /// The essential tier of the module selection.
    FromSelection,
    /// Exactly these modules.
    Set(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct ModulesSource {
    pub tree: ModuleTreeSource,
    pub tiers: Tiers,
    /// Where the selection is staged when the rootfs is the caller's.
    pub staging: PathBuf,
}

/// zinit 0.2.11 (built from the lock's `zinit-src` once, cached) and its units. The
/// init's default handover, `/sbin/zinit init`, is the production one: nothing here
/// rewrites it.
#[derive(Debug, Clone)]
pub enum ZinitSource {
    /// `build --zinit` (zinit as /sbin/zinit) / `--units DIR` (a set that must pass lint).
    Add { zinit: bool, units: Option<PathBuf> },
    /// `run` and the tests: zinit, the configs/zinit units the image can run (lint
    /// names the ones left out) and configs/zinit-run's boot report (and, unless
    /// `batch`, its console unit).
    Runnable { batch: bool },
}

#[derive(Debug, Clone)]
pub struct Recipe {
    pub rootfs: RootfsSource,
    pub mode: BuildMode,
    pub essential: Essential,
    pub modules: Option<ModulesSource>,
    pub zinit: Option<ZinitSource>,
    /// The caller's extras (`--file`); an `/etc/zos-init.conf` among them is used as is.
    pub extras: Vec<ExtraEntry>,
}

/// How a prepared rootfs becomes an image file.
#[derive(Debug, Clone, Default)]
pub struct Pack {
    pub compression: Compression,
    pub level: Option<u32>,
    pub root_owned: bool,
    pub source_date_epoch: Option<u64>,
    pub output: PathBuf,
}

/// A rootfs ready to pack, with what goes on top of it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub root: PathBuf,
    pub extras: Vec<ExtraEntry>,
    /// Where zinit came from and the units lint left out, one line each (empty
    /// unless the recipe's zinit is [`ZinitSource::Runnable`]).
    pub notes: String,
}

/// Where `/init` comes from; a release image refuses an init that can inject debug files.
pub fn init_binary(prebuilt: Option<&Path>, mode: BuildMode) -> Result<PathBuf, ComposeError> {
    let init = match prebuilt {
        Some(p) => p.to_path_buf(),
        None => mode.build_init()?,
    };
    mode.check_init(&init)?;
    Ok(init)
}

impl Recipe {
    pub fn prepare(&self) -> Result<Prepared, ComposeError> {
        match &self.rootfs {
            RootfsSource::Dir(dir) => self.prepare_on_top(dir),
            RootfsSource::Busybox(dir) => self.prepare_owned(dir),
        }
    }

    /// The caller's rootfs: the config first (the modules' essential tier is then set
    /// in it), everything as extras.
    fn prepare_on_top(&self, dir: &Path) -> Result<Prepared, ComposeError> {
        // A missing rootfs is reported before spending minutes building /init.
        std::fs::metadata(dir).map_err(|cause| ComposeError::NoRootfs {
            path: dir.to_path_buf(),
            cause,
        })?;
        let mut extras = self.extras.clone();
        let own_conf = extras
            .iter()
            .any(|e| matches!(e, ExtraEntry::File { path, .. } if path.ends_with("etc/zos-init.conf")));
        if !own_conf {
            extras.push(ExtraEntry::File {
                path: CONFIG_PATH.into(),
                source: FileData::Bytes(self.config_text(dir)?.into_bytes()),
                mode: Some(0o644),
            });
        }
        if let Some(m) = &self.modules {
            if std::fs::symlink_metadata(&m.staging).is_ok() {
                std::fs::remove_dir_all(&m.staging).map_err(io_err("clear", &m.staging))?;
            }
            let sel = install_modules(m, &m.staging)?;
            extras.extend(modules::to_extras(&m.staging));
            if self.essential == Essential::FromSelection && !modules::set_essential(&mut extras, &sel.essential) {
                eprintln!("modules: /etc/zos-init.conf comes from --file: set essential_modules there yourself");
            }
        }
        let notes = add_zinit(self.zinit.as_ref(), dir, &mut extras)?;
        Ok(Prepared {
            root: dir.to_path_buf(),
            extras,
            notes,
        })
    }

    /// A rootfs the composer makes: modules go in first, the config is made from
    /// what the rootfs then holds, zinit's units are linted against it last.
    fn prepare_owned(&self, root: &Path) -> Result<Prepared, ComposeError> {
        if root.exists() {
            std::fs::remove_dir_all(root).map_err(io_err("clear", root))?;
        }
        let busybox = zos_host::busybox::busybox_static()?;
        let applets = zos_host::busybox::applets(&busybox)?;
        rootfs::busybox_rootfs(root, &busybox, &applets)?;
        let mut essential = match &self.essential {
            Essential::Set(list) => Some(list.clone()),
            _ => None,
        };
        if let Some(m) = &self.modules {
            let sel = install_modules(m, root)?;
            if self.essential == Essential::FromSelection {
                essential = Some(sel.essential);
            }
        }
        let mut text = self.mode.image_config(Some(root))?;
        if let Some(list) = essential {
            let (mut cfg, _) = Config::parse(&text, "composer");
            cfg.essential_modules = list;
            text = cfg.render();
        }
        let conf = root.join(CONFIG_PATH.trim_start_matches('/'));
        std::fs::write(&conf, text).map_err(io_err("write", &conf))?;
        let mut extras = self.extras.clone();
        let notes = add_zinit(self.zinit.as_ref(), root, &mut extras)?;
        Ok(Prepared {
            root: root.to_path_buf(),
            extras,
            notes,
        })
    }

    /// The caller's-rootfs config: its own file with the mode's keys, and an explicit
    /// essential list if the recipe has one.
    fn config_text(&self, dir: &Path) -> Result<String, ComposeError> {
        let text = self.mode.image_config(Some(dir))?;
        let Essential::Set(list) = &self.essential else {
            return Ok(text);
        };
        let (mut cfg, _) = Config::parse(&text, "composer");
        cfg.essential_modules = list.clone();
        Ok(cfg.render())
    }
}

/// zinit and its units as extras over `root` (read, never written); returns the notes
/// of [`Prepared::notes`].
fn add_zinit(zinit: Option<&ZinitSource>, root: &Path, extras: &mut Vec<ExtraEntry>) -> Result<String, ComposeError> {
    match zinit {
        None => Ok(String::new()),
        Some(ZinitSource::Add { zinit, units }) => {
            crate::zinit::cli::add_to_build(root, extras, *zinit, units.as_deref())?;
            Ok(String::new())
        }
        Some(ZinitSource::Runnable { batch }) => {
            let (add, notes) = crate::zinit::install::zinit_extras(root, *batch)?;
            extras.extend(add);
            Ok(notes)
        }
    }
}

/// Select `m.tiers` from the tree and install the selection under `root`.
fn install_modules(m: &ModulesSource, root: &Path) -> Result<modules::Selection, ComposeError> {
    let path = match &m.tree {
        ModuleTreeSource::Path(p) => p.clone(),
        ModuleTreeSource::TestKernel => zos_host::kernel::debian_cloud_kernel(zos_host::Arch::host())?.modules_dir,
    };
    let tree = modules::ModuleTree::open(&path)?;
    let sel = modules::select(&tree, &m.tiers)?;
    // The operator's own tree gets the selection explained; the test kernel's is known.
    let explain = matches!(m.tree, ModuleTreeSource::Path(_));
    if explain {
        for n in &sel.notes {
            eprintln!("modules: {n}");
        }
    }
    modules::install(&tree, &sel, root, modules::IndexWriter::Auto)?;
    if explain {
        eprintln!(
            "modules: {} packed from {} ({}), essential: {}",
            sel.packed.len(),
            tree.dir.display(),
            tree.version,
            sel.essential.join(" ")
        );
    }
    Ok(sel)
}

impl Prepared {
    /// Pack the rootfs, the extras (then `more`, which win) and `init` into `pack.output`.
    pub fn pack(&self, init: &Path, more: &[ExtraEntry], pack: &Pack) -> Result<ImageSummary, ComposeError> {
        let mut extras = self.extras.clone();
        extras.extend_from_slice(more);
        Ok(build_image(&ImageRequest {
            rootfs: Some(self.root.clone()),
            init: Some(init.to_path_buf()),
            extras,
            compression: pack.compression,
            level: pack.level,
            root_owned: pack.root_owned,
            source_date_epoch: pack.source_date_epoch,
            output: pack.output.clone(),
        })?)
    }
}
