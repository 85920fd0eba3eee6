//! The `hardware` and `modules` stages (the plan's `Coldplug` and `LoadModules`
//! rows): coldplug, then the essential tier and `modules_load=`. Nothing here fails
//! the boot: a module that cannot load is logged (name, path, errno) and reported,
//! and the boot goes on, as the shell's `modprobe` did.
//!
//! Modules come from the new root (`<new_root>/lib/modules/$(uname -r)`): the
//! initramfs copy has been freed by the copy, and zinit's services use the same tree.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::coldplug::rules::pass::{self, RulesPass};
use crate::coldplug::{self, sysfs::Sysfs};
use crate::config::{ColdplugMode, Config, HANDOVER_PATH};
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
        self.release.clone().unwrap_or_else(|| sys.uname_release())
    }

    /// The index, read once. None (logged once) when the image has no modules.
    fn index(&mut self, sys: &dyn Sys, cfg: &Config) -> Option<Arc<ModIndex>> {
        if self.index.is_none() {
            let dir = self.dir(sys, cfg);
            // The errno as an io::Error: load_index tells "no modules" by NotFound.
            let mut read = |p: &Path| {
                sys.read(p)
                    .map_err(|e| std::io::Error::from_raw_os_error(e.errno.raw_os_error()))
            };
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

    /// The `hardware` stage.
    pub fn coldplug(
        &mut self,
        sys: &dyn Sys,
        cfg: &Config,
        mode: ColdplugMode,
        timeout: Duration,
        report: &mut BootReport,
    ) {
        let t0 = log::since_boot();
        match mode {
            ColdplugMode::Off => log::stage(Level::Info, Stage::Hardware, "coldplug off (zos.coldplug=off)"),
            ColdplugMode::Udev => self.udev(sys, cfg, timeout, report),
            ColdplugMode::Native => self.native(sys, cfg, timeout, report),
        }
        log::stage(
            Level::Info,
            Stage::Hardware,
            &format!(
                "{} coldplug took {}",
                mode,
                log::ms(log::since_boot().saturating_sub(t0))
            ),
        );
    }

    fn native(&mut self, sys: &dyn Sys, cfg: &Config, timeout: Duration, report: &mut BootReport) {
        let Some(idx) = self.index(sys, cfg) else {
            return;
        };
        let conf = self.conf(cfg);
        let (mut devs, err) = Sysfs::open(sys, &self.sysfs);
        if let Some(e) = err {
            log::stage(
                Level::Warn,
                Stage::Hardware,
                &format!(
                    "uevent socket: {}; scanning /sys only",
                    crate::error::errno_text(e.errno)
                ),
            );
        }
        let mut requested: HashSet<String> = HashSet::new();
        let (mut loaded, mut failed) = (0usize, 0usize);
        // The rules tier (coldplug/rules): evaluated for each new device in the same
        // round as its modalias, and once more after the loop for devices without one.
        let mut rules = self
            .rules
            .take()
            .unwrap_or_else(|| RulesPass::new(sys, &root_of(cfg), &self.sysfs));
        let sysfs = self.sysfs.clone();
        let base = Duration::from_millis(cfg.coldplug_quiet_ms);
        let quiet = || coldplug::late::quiet_now(sys, &sysfs, base);
        let mut handle = |aliases: &[String]| -> Vec<String> {
            let mut unmatched = Vec::new();
            let mut reqs = pass::requests(&idx, &conf.blacklist, rules.fresh(sys), &mut requested);
            for a in aliases {
                let mods: Vec<String> = idx
                    .aliases
                    .lookup(a)
                    .into_iter()
                    .filter(|m| !conf.blacklist.contains(m))
                    .collect();
                if mods.is_empty() && idx.builtin_aliases.lookup(a).is_empty() {
                    unmatched.push(a.clone());
                }
                for m in mods {
                    if requested.insert(m.clone()) {
                        reqs.push(Request {
                            name: m,
                            via: format!("coldplug {a}"),
                        });
                    }
                }
            }
            self.load_counted(sys, cfg, &reqs, report, (&mut loaded, &mut failed));
            unmatched
        };
        let sum = coldplug::native(&mut devs, timeout, &quiet, &mut handle);
        loop {
            let reqs = pass::requests(&idx, &conf.blacklist, rules.fresh(sys), &mut requested);
            if reqs.is_empty() {
                break;
            }
            self.load_counted(sys, cfg, &reqs, report, (&mut loaded, &mut failed));
        }
        log::stage(
            Level::Info,
            Stage::Hardware,
            &format!(
                "{} devices, {loaded} modules loaded, {failed} failed, {} without a module, {} rounds{}",
                sum.devices,
                sum.unmatched.len(),
                sum.rounds,
                if sum.timed_out {
                    " (stopped at coldplug_timeout_ms)"
                } else {
                    ""
                }
            ),
        );
        if self.defer_unmatched {
            self.unmatched = Some(sum.unmatched);
        } else {
            write_unmatched(sys, &root_of(cfg), &sum.unmatched);
        }
    }

    /// Write the list [`Hardware::defer_unmatched`] kept (the new root is complete).
    pub fn write_unmatched(&mut self, sys: &dyn Sys, cfg: &Config) {
        if let Some(list) = self.unmatched.take() {
            write_unmatched(sys, &root_of(cfg), &list);
        }
    }

    /// [`Hardware::load`], counting (loaded, failed).
    fn load_counted(
        &mut self,
        sys: &dyn Sys,
        cfg: &Config,
        reqs: &[Request],
        report: &mut BootReport,
        counts: (&mut usize, &mut usize),
    ) {
        if reqs.is_empty() {
            return;
        }
        for o in self.load(sys, cfg, reqs, report) {
            match o.result {
                Ok(_) => *counts.0 += 1,
                Err(_) => *counts.1 += 1,
            }
        }
    }

    fn udev(&mut self, sys: &dyn Sys, cfg: &Config, timeout: Duration, report: &mut BootReport) {
        let root = root_of(cfg);
        if coldplug::udev::find(sys, &root).is_none() {
            log::stage(
                Level::Warn,
                Stage::Hardware,
                &format!(
                    "udev mode but no udevd/udevadm in {}: native coldplug instead",
                    root.display()
                ),
            );
            return self.native(sys, cfg, timeout, report);
        }
        let before = proc_modules(sys);
        let env = crate::emergency::handover_env(HANDOVER_PATH);
        let start = log::since_boot();
        let mut warn = |w: &str| log::stage(Level::Warn, Stage::Hardware, &format!("udev: {w}"));
        if let Err(e) = coldplug::udev::run(sys, &root, &env, timeout, &mut warn) {
            let line = format!("hardware: udev: {e}");
            log::warn(&line);
        }
        let took = log::since_boot().saturating_sub(start);
        let after = proc_modules(sys);
        let new: BTreeSet<&String> = after.difference(&before).collect();
        for m in &new {
            report.modules.push(ModuleRecord {
                name: m.to_string(),
                via: "udev".into(),
                start,
                took,
                error: None,
            });
        }
        let names: Vec<&str> = new.iter().map(|s| s.as_str()).collect();
        log::stage(
            Level::Info,
            Stage::Hardware,
            &format!("udevd loaded {} modules: {}", new.len(), names.join(" ")),
        );
        self.loaded = Some(after);
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

/// One modalias a line, for a later service that fetches remote-tier modules.
fn write_unmatched(sys: &dyn Sys, root: &Path, unmatched: &[String]) {
    let path = root.join(UNMATCHED);
    let mut text = unmatched.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    // write_file creates the parent directories.
    if let Err(e) = sys.write_file(&path, text.as_bytes()) {
        log::stage(Level::Warn, Stage::Hardware, &e.to_string());
    }
}

#[cfg(test)]
#[path = "hardware_tests.rs"]
mod tests;
