//! The udev rules that load modules, evaluated during native coldplug so that it loads
//! what udevd would: besides each device's MODALIAS (the modalias tier, which native
//! coldplug matches itself), rules such as Debian's
//! `SUBSYSTEM=="scsi", ENV{DEVTYPE}=="scsi_device", TEST!="[module/sg]", RUN{builtin}+="kmod load sg"`.
//!
//! [`RuleSet::load`] reads the image's rules directories in udevd's order; [`parse`]
//! keeps the lines of files that `kmod load`; [`eval`] runs them against a device;
//! [`device`] reads a device from sysfs. An image without rules gets [`BUILTIN`].

pub mod device;
pub mod eval;
pub mod parse;
pub mod pass;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use eval::{Device, Probe, RuleFile, Wanted};

use crate::sys::Sys;

/// Where udevd reads rules, highest priority first: a file name in an earlier
/// directory hides the same name in later ones (an empty file or a link to
/// /dev/null masks it).
pub const RULES_DIRS: [&str; 5] = [
    "etc/udev/rules.d",
    "run/udev/rules.d",
    "usr/local/lib/udev/rules.d",
    "usr/lib/udev/rules.d",
    "lib/udev/rules.d",
];

/// The rules an image without any rules file gets: the module-loading lines of
/// systemd's 80-drivers.rules (whose bare `kmod load` is the modalias tier) and the
/// `sg` line of Debian's 80-debian-compat.rules (eudev images carry it too), so a
/// SCSI device gets its /dev/sg* node as under the shell /init.
pub const BUILTIN: &str = r#"ACTION!="add", GOTO="drivers_end"
ENV{MODALIAS}=="?*", RUN{builtin}+="kmod load"
SUBSYSTEM=="tifm", ENV{TIFM_CARD_TYPE}=="SD", RUN{builtin}+="kmod load tifm_sd"
SUBSYSTEM=="tifm", ENV{TIFM_CARD_TYPE}=="MS", RUN{builtin}+="kmod load tifm_ms"
SUBSYSTEM=="memstick", RUN{builtin}+="kmod load ms_block mspro_block"
SUBSYSTEM=="i2o", RUN{builtin}+="kmod load i2o_block"
SUBSYSTEM=="module", KERNEL=="parport_pc", RUN{builtin}+="kmod load ppdev"
KERNEL=="mtd*ro", ENV{MTD_FTL}=="smartmedia", RUN{builtin}+="kmod load sm_ftl"
SUBSYSTEM=="scsi", ENV{DEVTYPE}=="scsi_device", TEST!="[module/sg]", RUN{builtin}+="kmod load sg"
LABEL="drivers_end"
"#;

/// The name [`BUILTIN`]'s lines carry in logs and the boot report.
pub const BUILTIN_NAME: &str = "zos-init-builtin.rules";

#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub files: Vec<RuleFile>,
    /// Where the rules came from (for the log): the files read, or the built-in set.
    pub source: String,
}

impl RuleSet {
    /// The module-loading rules of the image at `root`. `skipped` gets one line per
    /// rule that cannot be evaluated.
    pub fn load(sys: &dyn Sys, root: &Path, skipped: &mut dyn FnMut(&str)) -> RuleSet {
        let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
        for dir in RULES_DIRS {
            let dir = root.join(dir);
            let Ok(entries) = sys.look().list(&dir) else {
                continue;
            };
            for e in entries {
                // Any kind: a symlink to /dev/null masks a packaged file.
                let name = e.name.to_string_lossy().into_owned();
                if name.ends_with(".rules") {
                    by_name.entry(name).or_insert_with_key(|n| dir.join(n));
                }
            }
        }
        if by_name.is_empty() {
            return RuleSet::from_texts(&[(BUILTIN_NAME, BUILTIN)], "built-in (no rules in the image)", skipped);
        }
        let texts: Vec<(String, String)> = by_name
            .iter()
            .map(|(n, p)| {
                let text = sys.read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
                (n.clone(), text.unwrap_or_default())
            })
            .collect();
        let shown = format!("{} rules files", texts.len());
        let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        RuleSet::from_texts(&refs, &shown, skipped)
    }

    /// Parse `(file name, text)` pairs, already in udevd's order.
    pub fn from_texts(texts: &[(&str, &str)], source: &str, skipped: &mut dyn FnMut(&str)) -> RuleSet {
        let mut files = Vec::new();
        for (name, text) in texts {
            let rules = parse::parse_file(name, text);
            for r in &rules {
                if let Some(why) = &r.unsupported {
                    let what = if r.loads.is_empty() { "line" } else { "module load" };
                    skipped(&format!("{}: {why}: {what} not evaluated", r.at));
                }
            }
            if !rules.is_empty() {
                files.push(RuleFile {
                    name: name.to_string(),
                    rules,
                });
            }
        }
        RuleSet {
            files,
            source: source.to_string(),
        }
    }

    /// What the rules load for `dev`, minus the modalias tier (a `kmod load` of the
    /// device's own MODALIAS), which native coldplug matches for every device anyway.
    pub fn wanted(&self, dev: &Device, sysfs: &Path, probe: &dyn Probe) -> Vec<Wanted> {
        let alias = dev.env.get("MODALIAS");
        eval::eval(&self.files, dev, sysfs, probe)
            .into_iter()
            .filter(|w| Some(&w.name) != alias)
            .collect()
    }
}
