//! The rules tier of native coldplug: each device is evaluated once, when first seen,
//! and what its rules `kmod load` becomes load requests that name the rule line and
//! the device (`rule 80-debian-compat.rules:4 on /devices/.../0:0:0:0`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::device::{self, SysfsProbe};
use super::{RuleSet, Wanted};
use crate::coldplug::sysfs::Walked;
use crate::log::{self, Level};
use crate::modules::index::{ModIndex, Resolved};
use crate::modules::load::Request;
use crate::modules::normalize;
use crate::stage::Stage;
use crate::sys::Sys;

pub struct RulesPass {
    pub set: RuleSet,
    sysfs: PathBuf,
    seen: HashSet<String>,
}

impl RulesPass {
    /// The image's rules at `root` (logged: where from, and each line not evaluated).
    pub fn new(sys: &dyn Sys, root: &Path, sysfs: &Path) -> RulesPass {
        let set = RuleSet::load(sys, root, &mut |s| {
            log::stage(Level::Warn, Stage::Hardware, &format!("rules: {s}"))
        });
        let lines: usize = set
            .files
            .iter()
            .map(|f| f.rules.iter().filter(|r| !r.loads.is_empty()).count())
            .sum();
        log::debug(&format!(
            "hardware: rules: {}: {lines} module-loading lines in {} files",
            set.source,
            set.files.len()
        ));
        RulesPass {
            set,
            sysfs: sysfs.to_path_buf(),
            seen: HashSet::new(),
        }
    }

    /// What the rules want for the devices not evaluated yet: (wanted, devpath).
    pub fn fresh(&mut self, sys: &dyn Sys) -> Vec<(Wanted, String)> {
        let devs = device::scan(sys, &self.sysfs);
        self.evaluate(sys, devs)
    }

    /// [`RulesPass::fresh`] over the device directories of a coldplug walk still
    /// good (`walked`, taken), else of a new walk.
    pub fn fresh_in(&mut self, sys: &dyn Sys, walked: &Walked) -> Vec<(Wanted, String)> {
        let dirs = walked.borrow_mut().take();
        match dirs {
            Some(d) => {
                let devs = device::read_all(sys, &self.sysfs, &d);
                self.evaluate(sys, devs)
            }
            None => self.fresh(sys),
        }
    }

    fn evaluate(&mut self, sys: &dyn Sys, devs: Vec<super::Device>) -> Vec<(Wanted, String)> {
        let mut out = Vec::new();
        for dev in devs {
            if !self.seen.insert(dev.devpath.clone()) {
                continue;
            }
            for w in self.set.wanted(&dev, &self.sysfs, &SysfsProbe(sys)) {
                out.push((w, dev.devpath.clone()));
            }
        }
        out
    }
}

/// Load requests for `wanted`, skipping modules already `requested`. A name is a
/// module or an alias, as `kmod load` takes it; modprobe.d `blacklist` applies to
/// aliases only, as in modprobe.
pub fn requests(
    idx: &ModIndex,
    blacklist: &HashSet<String>,
    wanted: Vec<(Wanted, String)>,
    requested: &mut HashSet<String>,
) -> Vec<Request> {
    let mut out = Vec::new();
    for (w, dev) in wanted {
        let mods = match idx.resolve(&w.name) {
            Resolved::Modules(m) if m == [normalize(&w.name)] => m,
            Resolved::Modules(m) => m.into_iter().filter(|m| !blacklist.contains(m)).collect(),
            Resolved::Builtin => continue,
            Resolved::NotFound => {
                log::info(&format!(
                    "hardware: rules: {}: kmod load {} for {dev}: no such module or alias in the image",
                    w.at, w.name
                ));
                continue;
            }
        };
        for m in mods {
            if requested.insert(m.clone()) {
                out.push(Request {
                    name: m,
                    via: format!("rule {} on {dev}", w.at),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::index::parse_dep;

    #[test]
    fn a_rule_load_becomes_a_request_naming_line_and_device() {
        let idx = ModIndex {
            modules: parse_dep("kernel/drivers/scsi/sg.ko: kernel/drivers/scsi/scsi_mod.ko\n"),
            ..Default::default()
        };
        let w = |name: &str| {
            (
                Wanted {
                    name: name.into(),
                    at: "80-debian-compat.rules:4".into(),
                },
                "/devices/x/0:0:0:0".to_string(),
            )
        };
        let mut requested = HashSet::new();
        let r = requests(
            &idx,
            &HashSet::new(),
            vec![w("sg"), w("sg"), w("nosuch")],
            &mut requested,
        );
        assert_eq!(
            r,
            vec![Request {
                name: "sg".into(),
                via: "rule 80-debian-compat.rules:4 on /devices/x/0:0:0:0".into()
            }]
        );
        assert!(requests(&idx, &HashSet::new(), vec![w("sg")], &mut requested).is_empty());
    }
}
