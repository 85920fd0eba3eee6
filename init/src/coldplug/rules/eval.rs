//! Evaluate parsed rules against one device's `add` event, as udevd does: files in
//! order, lines in order, a line applies when all its match keys match, GOTO skips
//! to the next LABEL of that name in the same file. Pure: sysfs reads come through
//! [`Probe`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::parse::{Key, Match, Rule};
use crate::modules::glob::fnmatch;

/// One device as udev sees it during coldplug (`udevadm trigger --action=add`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// `/sys/devices/...` (with the sysfs mount as prefix).
    pub syspath: PathBuf,
    /// `/devices/...` (relative to the sysfs mount).
    pub devpath: String,
    pub kernel: String,
    pub subsystem: String,
    pub driver: String,
    /// The `uevent` file's properties (MODALIAS, DEVTYPE, ...).
    pub env: BTreeMap<String, String>,
}

/// Reads the evaluator needs from sysfs.
pub trait Probe {
    /// A sysfs attribute's value, trailing whitespace removed; None: unreadable.
    fn attr(&self, path: &Path) -> Option<String>;
    fn exists(&self, path: &Path) -> bool;
}

/// A `kmod load` argument a rule wants, and the line that wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// A module name or an alias (what `modprobe` accepts).
    pub name: String,
    /// `80-debian-compat.rules:4`.
    pub at: String,
}

/// The rules of one file, in order.
#[derive(Debug, Clone, Default)]
pub struct RuleFile {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// Everything the rules load for `dev`; `sysfs` is the mount point (`/sys`).
pub fn eval(files: &[RuleFile], dev: &Device, sysfs: &Path, probe: &dyn Probe) -> Vec<Wanted> {
    let mut out = Vec::new();
    let mut dev = dev.clone();
    for f in files {
        let mut i = 0;
        while i < f.rules.len() {
            let r = &f.rules[i];
            i += 1;
            if r.unsupported.is_some() || !r.matches.iter().all(|m| matches(m, &dev, sysfs, probe)) {
                continue;
            }
            for (k, v) in &r.set_env {
                let v = expand(v, &dev);
                dev.env.insert(k.clone(), v);
            }
            for args in &r.loads {
                let args = expand(args, &dev);
                let names: Vec<String> = if args.trim().is_empty() {
                    // systemd's bare `kmod load`: the device's MODALIAS.
                    dev.env.get("MODALIAS").into_iter().cloned().collect()
                } else {
                    args.split_whitespace().map(String::from).collect()
                };
                out.extend(
                    names
                        .into_iter()
                        .filter(|n| !n.is_empty())
                        .map(|name| Wanted { name, at: r.at.clone() }),
                );
            }
            if let Some(label) = &r.goto {
                // udevd ignores a GOTO without a later LABEL in the file.
                if let Some(j) = f.rules[i..].iter().position(|x| x.label.as_ref() == Some(label)) {
                    i += j;
                }
            }
        }
    }
    out
}

fn matches(m: &Match, dev: &Device, sysfs: &Path, probe: &dyn Probe) -> bool {
    let value = match &m.key {
        Key::Action => "add".to_string(),
        Key::Subsystem => dev.subsystem.clone(),
        Key::Kernel => dev.kernel.clone(),
        Key::Driver => dev.driver.clone(),
        Key::Devpath => dev.devpath.clone(),
        Key::Env(k) => dev.env.get(k).cloned().unwrap_or_default(),
        Key::Attr(a) => match probe.attr(&dev.syspath.join(expand(a, dev))) {
            Some(v) => v,
            // udevd: an attribute it cannot read fails the line, `==` and `!=` alike.
            None => return false,
        },
        Key::Test => return probe.exists(&test_path(&expand(&m.value, dev), dev, sysfs)) == m.equal,
    };
    let pattern = expand(&m.value, dev);
    let hit = pattern.split('|').any(|p| fnmatch(p, &value));
    hit == m.equal
}

/// TEST's path: `[subsystem/kernel]/rest` names another device, a relative path is
/// under the device's own sysfs directory.
fn test_path(v: &str, dev: &Device, sysfs: &Path) -> PathBuf {
    if let Some(inner) = v.strip_prefix('[') {
        if let Some((name, rest)) = inner.split_once(']') {
            let (subsys, kernel) = name.split_once('/').unwrap_or((name, ""));
            let base = match subsys {
                "module" => sysfs.join("module").join(kernel),
                _ => sysfs.join("class").join(subsys).join(kernel),
            };
            return base.join(rest.trim_start_matches('/'));
        }
    }
    if v.starts_with('/') {
        PathBuf::from(v)
    } else {
        dev.syspath.join(v)
    }
}

/// `$env{KEY}`/`%E{KEY}`, `$kernel`/`%k`, `$devpath`/`%p`, `$driver`/`%d`,
/// `$id`/`%b` (empty: no parent was matched), `$$`, `%%`.
pub fn expand(v: &str, dev: &Device) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find(['$', '%']) {
        out.push_str(&rest[..i]);
        let (sigil, tail) = (&rest[i..i + 1], &rest[i + 1..]);
        let long = |w: &str| sigil == "$" && tail.starts_with(w);
        let short = |c: &str| sigil == "%" && tail.starts_with(c);
        let env_key = if long("env{") {
            Some(&tail[4..])
        } else if short("E{") {
            Some(&tail[2..])
        } else {
            None
        };
        if let Some(k) = env_key {
            let end = k.find('}').unwrap_or(k.len());
            out.push_str(dev.env.get(&k[..end]).map(String::as_str).unwrap_or(""));
            rest = k.get(end + 1..).unwrap_or("");
            continue;
        }
        let subs: [(&str, &str, &str); 4] = [
            ("kernel", "k", &dev.kernel),
            ("devpath", "p", &dev.devpath),
            ("driver", "d", &dev.driver),
            ("id", "b", ""),
        ];
        if let Some((w, val)) = subs.iter().find_map(|(l, s, val)| {
            if long(l) {
                Some((*l, *val))
            } else if short(s) {
                Some((*s, *val))
            } else {
                None
            }
        }) {
            out.push_str(val);
            rest = &tail[w.len()..];
        } else if tail.starts_with(sigil) {
            out.push_str(sigil);
            rest = &tail[1..];
        } else {
            out.push_str(sigil);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
