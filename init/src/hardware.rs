//! The `hardware` and `modules` stages (the plan's `Coldplug` and `LoadModules`
//! rows): coldplug, then the essential tier and `modules_load=`. Nothing here fails
//! the boot: a module that cannot load is logged (name, path, errno) and reported,
//! and the boot goes on, as the shell's `modprobe` did.
//!
//! Modules come from the new root (`<new_root>/lib/modules/$(uname -r)`): the
//! initramfs copy has been freed by the copy, and zinit's services use the same tree.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::coldplug::rules::pass::RulesPass;
use crate::config::Config;
use crate::log::{self, Level};
use crate::modules::index::ModIndex;
use crate::modules::load::{self, Outcome, Policy, Request};
use crate::modules::options::ModprobeConf;
use crate::modules::{normalize, ModError};
use crate::report::{BootReport, ModuleRecord};
use crate::stage::Stage;
use crate::sys::Sys;

/// The file a later service reads to fetch remote-tier modules.
pub const UNMATCHED: &str = "run/zos-init/unmatched-modaliases";

/// State shared by the two stages; paths are fields so tests can point them at
/// fixtures.
pub struct Hardware {
    pub sysfs: PathBuf,
    /// `uname -r`; None: ask the kernel.
    pub release: Option<String>,
    /// The module tree; None: `<new_root>/lib/modules/<release>`.
    pub modules_dir: Option<PathBuf>,
    /// Loader threads (None: [`load::default_workers`]).
    pub workers: Option<usize>,
    /// The new root's copy of the module tree, while copy-and-free runs at the same
    /// time: a module file gone from the index's directory loads from here
    /// ([`Moved`]).
    pub moves_to: Option<PathBuf>,
    /// Keep the unmatched-modalias list for [`Hardware::write_unmatched`] instead of
    /// writing it into a new root the copy is still filling.
    pub defer_unmatched: bool,
    index: Option<Option<Arc<ModIndex>>>,
    conf: Option<Arc<ModprobeConf>>,
    rules: Option<RulesPass>,
    unmatched: Option<Vec<String>>,
    loaded: Option<HashSet<String>>,
}

impl Default for Hardware {
    fn default() -> Self {
        Hardware {
            sysfs: "/sys".into(),
            release: None,
            modules_dir: None,
            workers: None,
            moves_to: None,
            defer_unmatched: false,
            index: None,
            conf: None,
            rules: None,
            unmatched: None,
            loaded: None,
        }
    }
}

fn root_of(cfg: &Config) -> PathBuf {
    PathBuf::from(&cfg.new_root)
}

impl Hardware {
    fn dir(&self, sys: &dyn Sys, cfg: &Config) -> PathBuf {
        if let Some(d) = &self.modules_dir {
            return d.clone();
        }
        root_of(cfg).join("lib/modules").join(self.release(sys))
    }

    /// `uname -r`, or the release a test gave.
    pub fn release(&self, sys: &dyn Sys) -> String {
        self.release.clone().unwrap_or_else(|| sys.procs().uname_release())
    }

    /// The index, read once. None (logged once) when the image has no modules.
    fn index(&mut self, sys: &dyn Sys, cfg: &Config) -> Option<Arc<ModIndex>> {
        if self.index.is_none() {
            let dir = self.dir(sys, cfg);
            let mut read = |p: &Path| crate::modules::moved::read_io(sys, p);
            self.index = Some(crate::modules::tree::load_index(&dir, &mut read).map(Arc::new));
        }
        self.index.clone().flatten()
    }

    /// Use this index (read once for several threads) instead of reading one.
    pub fn set_index(&mut self, idx: Option<Arc<ModIndex>>) {
        self.index = Some(idx);
    }

    /// Use this modprobe.d configuration and these rules (read before the copy
    /// frees them) instead of reading the new root's.
    pub fn set_inputs(&mut self, conf: Arc<ModprobeConf>, rules: Option<RulesPass>) {
        self.conf = Some(conf);
        self.rules = rules;
    }

    fn conf(&mut self, cfg: &Config) -> Arc<ModprobeConf> {
        let root = root_of(cfg);
        self.conf
            .get_or_insert_with(|| Arc::new(crate::modules::tree::read_conf(&root)))
            .clone()
    }

    fn loaded(&mut self, sys: &dyn Sys) -> &mut HashSet<String> {
        self.loaded.get_or_insert_with(|| proc_modules(sys))
    }

    /// Plan and load `requests`; every outcome is logged and reported.
    pub fn load(&mut self, sys: &dyn Sys, cfg: &Config, requests: &[Request], report: &mut BootReport) -> Vec<Outcome> {
        let Some(idx) = self.index(sys, cfg) else {
            return Vec::new();
        };
        let conf = self.conf(cfg);
        let blacklist: HashSet<String> = cfg.module_blacklist.iter().map(|m| normalize(m)).collect();
        let loaded = self.loaded(sys).clone();
        let plan = load::plan(
            requests,
            &Policy {
                index: &idx,
                conf: &conf,
                cmdline_params: &cfg.module_params,
                blacklist: &blacklist,
                loaded: &loaded,
            },
        );
        for (name, why) in &plan.skipped {
            log::stage(Level::Debug, Stage::Modules, &format!("{name}: {why}"));
        }
        for (via, e) in plan.failed {
            let line = format!("modules: {e} (wanted by {via}); the boot goes on without it");
            log::warn(&line);
            report.modules.push(ModuleRecord {
                name: module_of(&e),
                via,
                start: log::since_boot(),
                took: Duration::ZERO,
                error: Some(e.to_string()),
            });
        }
        let codec = sys.read_to_string(&self.sysfs.join("module/compression")).ok();
        let workers = self.workers.unwrap_or_else(load::default_workers);
        let timeout = Some(Duration::from_millis(cfg.module_timeout_ms)).filter(|t| !t.is_zero());
        let outcomes = crate::modules::tree::run(
            sys.kmod(),
            &idx.dir,
            self.moves_to.as_deref(),
            &plan.nodes,
            codec.as_deref(),
            workers,
            timeout,
        );
        for o in &outcomes {
            let error = match &o.result {
                Ok(done) => {
                    let how = match done {
                        load::Done::Loaded => "loaded",
                        load::Done::AlreadyLoaded => "already loaded",
                    };
                    log::stage(
                        Level::Info,
                        Stage::Modules,
                        &format!("{how} {} ({}) in {}", o.name, o.via, log::ms(o.took)),
                    );
                    self.loaded(sys).insert(o.name.clone());
                    None
                }
                // A soft dependency is optional: the CPU may lack what it drives.
                Err(e) if o.via.contains("softdep of") => {
                    log::stage(Level::Info, Stage::Modules, &format!("optional {e} ({})", o.via));
                    Some(e.to_string())
                }
                Err(e) => {
                    let line = format!("modules: {e} (wanted by {}); the boot goes on without it", o.via);
                    log::warn(&line);
                    Some(e.to_string())
                }
            };
            report.modules.push(ModuleRecord {
                name: o.name.clone(),
                via: o.via.clone(),
                start: o.start,
                took: o.took,
                error,
            });
        }
        outcomes
    }
}

fn module_of(e: &ModError) -> String {
    match e {
        ModError::Load { module, .. }
        | ModError::Decompress { module, .. }
        | ModError::NotFound { module }
        | ModError::DepFailed { module, .. }
        | ModError::StillLoading { module, .. }
        | ModError::DepBlacklisted { module, .. }
        | ModError::Cycle { module } => module.clone(),
        ModError::Index(e) => e.path.display().to_string(),
    }
}

/// Names in /proc/modules (the initramfs's proc, still mounted).
fn proc_modules(sys: &dyn Sys) -> HashSet<String> {
    sys.read_to_string(Path::new("/proc/modules"))
        .map(|t| {
            t.lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The `hardware` stage (native or udev coldplug): its own file, same `Hardware`.
#[path = "hardware_coldplug.rs"]
mod coldplug_stage;

#[cfg(test)]
#[path = "hardware_tests.rs"]
mod tests;
