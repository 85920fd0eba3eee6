//! The stages before packing: rootfs, components, modules, configs, init. Each
//! computes its key first (what it reads), then runs through `Run::stage`, which skips
//! it when the key matches the last successful run.

use std::path::{Path, PathBuf};

use super::stamp::{Fingerprint, Stage};
use super::{tree, Outcome, PipelineError, Run};
use crate::components::{self, Endpoints, FetchOptions, Lock};
use crate::cpio::FileData;
use crate::mode::BuildMode;
use crate::ExtraEntry;

/// The rootfs the image starts from, if any.
pub(crate) fn rootfs_dir(r: &Run) -> Result<Option<PathBuf>, PipelineError> {
    let src = r.cfg.s.rootfs.source.as_str();
    match src {
        "apk" => Ok(Some(r.stage_dir(Stage::Rootfs))),
        "none" => Ok(None),
        _ => match src.strip_prefix("dir:") {
            Some(p) => Ok(Some(r.cfg.rel(Path::new(p)))),
            None => Err(PipelineError::Config {
                path: r.cfg.path.clone(),
                reason: format!("[rootfs] source = {src:?}: expected \"apk\", \"dir:PATH\" or \"none\""),
            }),
        },
    }
}

/// The knobs every stage may depend on, for the keys.
fn knob_text(r: &Run) -> String {
    r.knobs
        .describe()
        .iter()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn rootfs(r: &mut Run) -> Result<(), PipelineError> {
    let dir = rootfs_dir(r)?;
    let c = r.cfg.s.rootfs.clone();
    let mut f = Fingerprint::new(Stage::Rootfs);
    f.text("source", &c.source).text("knobs", &knob_text(r));
    let apk_cfg = r.cfg.rel(&c.apk_config);
    let packages = r.cfg.rel(&c.packages);
    if c.source == "apk" {
        f.path("apk config", &apk_cfg).path("packages", &packages);
        f.path("keys", &apk_cfg.parent().unwrap_or(Path::new(".")).join("keys"));
        f.text("add", &c.add.join(" "));
    } else if let Some(d) = &dir {
        f.path("tree", d).path("owners", &crate::apk::owners::sidecar_for(d));
    }
    let ok = dir.as_ref().is_none_or(|d| d.is_dir());
    r.stage(Stage::Rootfs, f.finish(), ok, move |r| {
        let Some(dir) = dir else {
            return Ok(Outcome::Done("no rootfs ([rootfs] source = \"none\")".into()));
        };
        if c.source != "apk" {
            if !dir.is_dir() {
                return Err(format!("rootfs {} is not a directory", dir.display()).into());
            }
            return Ok(Outcome::Done(format!("directory {}", dir.display())));
        }
        let settings = crate::apk::Settings::load(&apk_cfg, r.knobs.env_overlay())?;
        let text =
            std::fs::read_to_string(&packages).map_err(|e| format!("package list {}: {e}", packages.display()))?;
        let mut world = crate::apk::config::parse_packages(&text, &packages)?;
        for a in &c.add {
            world.push(
                crate::apk::dep::Dep::parse(a).ok_or_else(|| format!("[rootfs] add {a:?} is not a package atom"))?,
            );
        }
        tree::fresh_dir(&dir).map_err(|e| format!("clear {}: {e}", dir.display()))?;
        let _ = std::fs::remove_file(crate::apk::owners::sidecar_for(&dir));
        let log = r.out().join("stages/rootfs.log");
        let report = crate::apk::install(&crate::apk::Request {
            root: dir.clone(),
            world,
            settings,
            base_tar: None,
            log_path: Some(log.clone()),
            verbose: r.req.verbose,
        })?;
        Ok(Outcome::Done(format!(
            "{} packages into {} (installer log {})",
            report.installed.len(),
            dir.display(),
            log.display()
        )))
    })
}

pub(crate) fn components(r: &mut Run) -> Result<(), PipelineError> {
    let lock_path = r.cfg.rel(&r.cfg.s.components.lock);
    let include = r.cfg.s.components.include.clone();
    let endpoints = Endpoints::from_env();
    let mut f = Fingerprint::new(Stage::Components);
    f.path("lock", &lock_path)
        .text("include", &format!("{include:?}"))
        .text("knobs", &knob_text(r))
        .text("download", &endpoints.download);
    let dir = r.stage_dir(Stage::Components);
    let ok = dir.is_dir();
    r.stage(Stage::Components, f.finish(), ok, move |r| {
        let lock = Lock::load(&lock_path)?;
        let names: Vec<String> = include.unwrap_or_else(|| lock.components.iter().map(|c| c.name.clone()).collect());
        let cache = zos_host::Cache::from_env()?;
        let opts = FetchOptions {
            cache,
            cache_downloads: r.knobs.cache_downloads,
            verify: r.knobs.verify_checksums,
            release: r.knobs.mode == BuildMode::Release,
            arch: r.knobs.arch,
            endpoints,
            lock_dir: lock_path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            scratch: r.out().join("stages/components.downloads"),
        };
        let staged = r.out().join("stages/components.partial");
        tree::fresh_dir(&staged).map_err(|e| format!("{}: {e}", staged.display()))?;
        for n in &names {
            let c = lock.get(n).ok_or_else(|| components::ComponentError::Unknown {
                name: n.clone(),
                lock: lock_path.clone(),
            })?;
            let got = components::fetch(c, &opts)?;
            r.log.line(&format!("  {}", got.note));
            tree::put_file(&staged, Path::new(&c.install), &FileData::Path(got.path), 0o755)
                .map_err(|e| format!("stage {} for {}: {e}", c.install, c.name))?;
            if opts.release {
                let placed = staged.join(c.install.trim_start_matches('/'));
                match crate::strip::strip_elf(&placed) {
                    crate::strip::Stripped::Done { saved } => {
                        r.log.line(&format!("  stripped {} ({saved} bytes)", c.install))
                    }
                    crate::strip::Stripped::NotElf => {}
                    crate::strip::Stripped::Failed(why) => r.log.line(&format!("  not stripped {}: {why}", c.install)),
                }
            }
        }
        // Swapped in whole, so a failed fetch never leaves a mix of old and new files.
        tree::fresh_dir(&dir)
            .and_then(|_| std::fs::remove_dir(&dir))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::rename(&staged, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let _ = std::fs::remove_dir_all(&opts.scratch);
        Ok(Outcome::Done(format!(
            "{} components: {}",
            names.len(),
            names.join(", ")
        )))
    })
}

/// Where kernel packages are unpacked (reused while the package is unchanged).
pub(crate) fn kernel_unpack_dir(r: &Run) -> PathBuf {
    r.out().join("stages/kernel")
}

/// `<out>/stages/modules.essential`: the essential tier the modules stage packed.
pub(crate) fn essential_path(r: &Run) -> PathBuf {
    r.out().join("stages/modules.essential")
}

pub(crate) fn modules(r: &mut Run) -> Result<(), PipelineError> {
    let k = r.cfg.s.kernel.clone();
    let mut f = Fingerprint::new(Stage::Modules);
    f.text("knobs", &knob_text(r));
    if let Some(s) = &k.source {
        f.path("source", &r.cfg.rel(s));
    }
    if let Some(t) = &k.tiers {
        f.path("tiers", &r.cfg.rel(t));
    }
    let dir = r.stage_dir(Stage::Modules);
    let ok = dir.is_dir() || k.source.is_none();
    let essential = essential_path(r);
    r.stage(Stage::Modules, f.finish(), ok, move |r| {
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&essential);
        let Some(source) = k.source.map(|s| r.cfg.rel(&s)) else {
            return Ok(Outcome::NotRun(
                "no [kernel] source in the config: no modules packed".into(),
            ));
        };
        let tiers = match &k.tiers {
            Some(t) => crate::tiers::Tiers::from_file(&r.cfg.rel(t))?,
            None => crate::tiers::Tiers::preset(&r.knobs.include_modules)?,
        };
        // KERNEL_VERSION picks one of several kernels; packages are unpacked once.
        let kernel = crate::kernel::open(&source, r.knobs.kernel_version.as_deref(), &kernel_unpack_dir(r))?;
        let tree = crate::modules::ModuleTree::open(&kernel.modules_dir)?;
        let sel = crate::modules::select(&tree, &tiers)?;
        for n in &sel.notes {
            r.log.line(&format!("  modules: {n}"));
        }
        crate::modules::install(&tree, &sel, &dir, crate::modules::IndexWriter::Auto)?;
        std::fs::write(&essential, sel.essential.join("\n")).map_err(|e| format!("{}: {e}", essential.display()))?;
        Ok(Outcome::Done(format!(
            "{} modules of kernel {} ({} essential)",
            sel.packed.len(),
            tree.version,
            sel.essential.len()
        )))
    })
}

pub(crate) fn configs(r: &mut Run) -> Result<(), PipelineError> {
    let c = r.cfg.s.configs.clone();
    let rootfs = rootfs_dir(r)?;
    let mut f = Fingerprint::new(Stage::Configs);
    f.text("knobs", &knob_text(r));
    for s in [Stage::Rootfs, Stage::Components, Stage::Modules] {
        f.text(s.as_str(), r.key(s));
    }
    if let Some(u) = &c.units {
        f.path("units", &r.cfg.rel(u));
    }
    let mut files = Vec::new();
    for spec in &c.files {
        let e = ExtraEntry::parse_file_spec(spec).map_err(|e| PipelineError::Config {
            path: r.cfg.path.clone(),
            reason: format!("[configs] files: {e}"),
        })?;
        if let ExtraEntry::File {
            path,
            source: FileData::Path(src),
            mode,
        } = e
        {
            let src = r.cfg.rel(&src);
            f.text("file", spec).path("src", &src);
            files.push(ExtraEntry::File {
                path,
                source: FileData::Path(src),
                mode,
            });
        }
    }
    let dir = r.stage_dir(Stage::Configs);
    let ok = dir.is_dir();
    r.stage(Stage::Configs, f.finish(), ok, move |r| {
        let conf = r.knobs.mode.image_config(rootfs.as_deref())?;
        let mut extras = vec![ExtraEntry::File {
            path: zos_common::config::CONFIG_PATH.into(),
            source: FileData::Bytes(conf.into_bytes()),
            mode: Some(0o644),
        }];
        if let Ok(text) = std::fs::read_to_string(essential_path(r)) {
            let essential: Vec<String> = text.lines().map(str::to_string).collect();
            crate::modules::set_essential(&mut extras, &essential);
        }
        extras.extend(files);
        if let Some(units) = c.units.map(|u| r.cfg.rel(&u)) {
            // Linted against everything the image will hold: rootfs, components, modules.
            let mut image = tree::collect_leaves(&r.stage_dir(Stage::Components))?;
            image.extend(extras.iter().cloned());
            let add = crate::zinit::install::prepare(rootfs.as_deref(), &image, &units)?;
            extras.extend(add);
        }
        tree::fresh_dir(&dir)?;
        tree::materialize(&dir, &extras)?;
        Ok(Outcome::Done(format!(
            "{} entries ({} mode)",
            extras.len(),
            mode_name(r.knobs.mode)
        )))
    })
}

fn mode_name(m: BuildMode) -> &'static str {
    match m {
        BuildMode::Debug => "debug",
        BuildMode::Release => "release",
    }
}

pub(crate) fn init(r: &mut Run) -> Result<(), PipelineError> {
    let prebuilt = r
        .req
        .init
        .clone()
        .or_else(|| r.cfg.s.init.path.as_ref().map(|p| r.cfg.rel(p)));
    let mut f = Fingerprint::new(Stage::Init);
    f.text("mode", mode_name(r.knobs.mode))
        .text("arch", r.knobs.arch.as_str());
    match &prebuilt {
        Some(p) => f.path("prebuilt", p),
        None => {
            // cargo decides freshness itself, but even a no-op cargo run costs seconds;
            // the init's sources and the lock file decide whether to ask it at all.
            let ws = crate::workspace::root();
            f.path("init", &ws.join("init"))
                .path("Cargo.lock", &ws.join("Cargo.lock"))
        }
    };
    let out = r.stage_dir(Stage::Init).join("init");
    let ok = out.is_file();
    r.stage(Stage::Init, f.finish(), ok, move |r| {
        let src = match prebuilt {
            Some(p) => p,
            None => r.knobs.mode.build_init_for(r.knobs.arch.musl_target())?,
        };
        r.knobs.mode.check_init(&src)?;
        tree::fresh_dir(out.parent().unwrap_or(Path::new(".")))?;
        tree::put_file(
            out.parent().unwrap_or(Path::new(".")),
            Path::new("init"),
            &FileData::Path(src.clone()),
            0o755,
        )
        .map_err(|e| format!("copy {}: {e}", src.display()))?;
        Ok(Outcome::Done(format!(
            "{} ({} mode)",
            src.display(),
            mode_name(r.knobs.mode)
        )))
    })
}
