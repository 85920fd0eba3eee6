//! The `hardware` stage: native coldplug (modaliases and the rules tier, loaded as
//! they appear, until quiet) or the image's own udevd, and the unmatched-modalias list
//! a later service fetches remote-tier modules for.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use super::{proc_modules, root_of, Hardware, UNMATCHED};
use crate::coldplug::rules::pass::{self, RulesPass};
use crate::coldplug::{self, sysfs::Sysfs};
use crate::config::{ColdplugMode, Config, HANDOVER_PATH};
use crate::log::{self, Level};
use crate::modules::load::Request;
use crate::report::{BootReport, ModuleRecord};
use crate::stage::Stage;
use crate::sys::Sys;

impl Hardware {
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
        // The devices of the walk that found `aliases`: one sysfs walk for both tiers.
        let walked = devs.walked();
        let mut handle = |aliases: &[String]| -> Vec<String> {
            let mut unmatched = Vec::new();
            let mut reqs = pass::requests(&idx, &conf.blacklist, rules.fresh_in(sys, &walked), &mut requested);
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
        // The last walk's devices if none was added since (else a new walk), then a
        // new walk after each round of rule loads.
        loop {
            let reqs = pass::requests(&idx, &conf.blacklist, rules.fresh_in(sys, &walked), &mut requested);
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

/// One modalias a line, for a later service that fetches remote-tier modules.
fn write_unmatched(sys: &dyn Sys, root: &Path, unmatched: &[String]) {
    let path = root.join(UNMATCHED);
    let mut text = unmatched.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    // Write::Create makes the parent directories.
    if let Err(e) = sys.write(&path, text.as_bytes(), crate::sys::Write::Create) {
        log::stage(Level::Warn, Stage::Hardware, &e.to_string());
    }
}
