//! zinit and its units as image extras, checked before anything is packed.
//!
//! Two ways to take a unit set: [`prepare`] refuses a set with any lint error (what
//! `build --units` and the pipeline do: the operator chose the set for that image);
//! [`runnable`] leaves out the units whose programs the image lacks, and those ordered
//! `after` them, and says which and why (what `zos-builder run` and the tests do with
//! the production set on a smaller userland). Any other lint error is refused by both.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::image::ImageView;
use super::lint::{lint, missing_programs, LintError, LintReport};
use super::unit::UnitSet;
use crate::cpio::FileData;
use crate::ExtraEntry;

#[derive(Debug, thiserror::Error)]
pub enum ZinitError {
    #[error(transparent)]
    Component(#[from] crate::components::ComponentError),
    #[error("zinit units in {} do not pass lint:\n{report}", dir.display())]
    Lint { dir: PathBuf, report: LintReport },
}

/// zinit itself at `/sbin/zinit`, where the init's default handover (`/sbin/zinit
/// init`) and the operator (`zinit list`) find it.
pub fn binary_extra(zinit: &Path) -> ExtraEntry {
    ExtraEntry::File {
        path: "/sbin/zinit".into(),
        source: FileData::Path(zinit.to_path_buf()),
        mode: Some(0o755),
    }
}

/// The set's unit files at their image paths.
pub fn unit_extras(set: &UnitSet) -> Vec<ExtraEntry> {
    set.units
        .iter()
        .map(|u| ExtraEntry::File {
            path: Path::new("/").join(&u.image_path),
            source: FileData::Path(u.file.clone()),
            mode: Some(0o644),
        })
        .collect()
}

/// The unit set `units`, linted against `rootfs` plus `extras` plus its own files;
/// returns the extras to append, or every lint error.
pub fn prepare(rootfs: Option<&Path>, extras: &[ExtraEntry], units: &Path) -> Result<Vec<ExtraEntry>, ZinitError> {
    let (set, load_errors) = UnitSet::load(units);
    let add = unit_extras(&set);
    let mut all = extras.to_vec();
    all.extend(add.iter().cloned());
    let report = lint(&set, load_errors, Some(&ImageView::new(rootfs, &all)));
    if !report.is_clean() {
        return Err(ZinitError::Lint {
            dir: units.to_path_buf(),
            report,
        });
    }
    Ok(add)
}

/// A unit lint left out of an image, and why.
#[derive(Debug)]
pub struct LeftOut {
    pub unit: String,
    pub why: String,
}

/// What [`runnable`] keeps and leaves out.
#[derive(Debug)]
pub struct Selection {
    pub set: UnitSet,
    pub left_out: Vec<LeftOut>,
}

impl Selection {
    /// One line per left-out unit, for the console and the build log.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for l in &self.left_out {
            let _ = writeln!(out, "lint: left out unit {}: {}", l.unit, l.why);
        }
        out
    }
}

/// The units of `units` that can run on `rootfs` plus `extras`: a unit whose `exec` or
/// `test` needs a program the image lacks is left out, and so is every unit `after` a
/// left-out one (zinit would keep it Blocked for ever). Any other lint error fails.
pub fn runnable(rootfs: Option<&Path>, extras: &[ExtraEntry], units: &Path) -> Result<Selection, ZinitError> {
    let (mut set, load_errors) = UnitSet::load(units);
    let mut all = extras.to_vec();
    all.extend(unit_extras(&set));
    let view = ImageView::new(rootfs, &all);
    let report = lint(&set, load_errors, Some(&view));
    let fatal: Vec<LintError> = report.errors.into_iter().filter(|e| !e.is_missing_program()).collect();
    if !fatal.is_empty() {
        return Err(ZinitError::Lint {
            dir: units.to_path_buf(),
            report: LintReport { errors: fatal },
        });
    }
    let mut left_out: Vec<LeftOut> = Vec::new();
    for u in &set.units {
        if let Some(e) = missing_programs(u, &view).first() {
            let text = e.to_string();
            let why = text.split_once(": ").map_or(text.clone(), |(_, w)| w.to_string());
            left_out.push(LeftOut {
                unit: u.name.clone(),
                why,
            });
        }
    }
    // Follow `after` until nothing changes: sshd after sshd-setup after haveged.
    loop {
        let gone: Vec<String> = left_out.iter().map(|l| l.unit.clone()).collect();
        let next = set.units.iter().find_map(|u| {
            let dep = u.after.iter().find(|d| gone.contains(d))?;
            (!gone.contains(&u.name)).then(|| LeftOut {
                unit: u.name.clone(),
                why: format!("ordered `after: {dep}`, which is left out (zinit would keep it Blocked)"),
            })
        });
        match next {
            Some(l) => left_out.push(l),
            None => break,
        }
    }
    set.units.retain(|u| !left_out.iter().any(|l| l.unit == u.name));
    Ok(Selection { set, left_out })
}

/// What `zos-builder run` and the QEMU tests add to a rootfs directory: zinit 0.2.11
/// (built once, cached), the units of configs/zinit that can run there ([`runnable`])
/// and the boot-report (and, unless `batch`, console) units of configs/zinit-run.
/// Returns the extras and one note line each for zinit's origin and every unit left out.
pub fn zinit_extras(rootfs: &Path, batch: bool) -> Result<(Vec<ExtraEntry>, String), ZinitError> {
    let zinit = super::binary::zinit_binary(crate::knobs::TargetArch::Amd64)?;
    let mut extras = vec![binary_extra(&zinit.path)];
    let sel = runnable(Some(rootfs), &extras, &shipped_units())?;
    extras.extend(unit_extras(&sel.set));
    let report = super::report::extras(Some(rootfs), &extras, batch)?;
    extras.extend(report);
    Ok((extras, format!("{}\n{}", zinit.note, sel.describe())))
}

/// The production unit set shipped in this repository (configs/zinit).
pub fn shipped_units() -> PathBuf {
    let root = crate::workspace::root();
    // `builder/..` reads badly in messages; the canonical path names the same dir.
    root.canonicalize().unwrap_or(root).join("configs/zinit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn runnable_leaves_out_missing_programs_and_what_is_after_them() {
        let t = tempfile::tempdir().unwrap();
        let units = t.path().join("units");
        fs::create_dir_all(&units).unwrap();
        fs::write(units.join("a.yaml"), "exec: /bin/sh -c true\noneshot: true\n").unwrap();
        fs::write(units.join("keys.yaml"), "exec: ssh-keygen -A\noneshot: true\n").unwrap();
        fs::write(units.join("sshd.yaml"), "exec: /bin/sh -c 'exec true'\nafter: [keys]\n").unwrap();
        let sh = ExtraEntry::File {
            path: "/bin/sh".into(),
            source: FileData::Bytes(vec![]),
            mode: Some(0o755),
        };
        let sel = runnable(None, std::slice::from_ref(&sh), &units).unwrap();
        let kept: Vec<&str> = sel.set.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(kept, vec!["a"]);
        let text = sel.describe();
        assert!(
            text.contains("left out unit keys: exec `ssh-keygen -A`: `ssh-keygen` is not in any PATH"),
            "{text}"
        );
        assert!(text.contains("left out unit sshd: ordered `after: keys`"), "{text}");
        // The strict form refuses the set.
        let err = prepare(None, std::slice::from_ref(&sh), &units)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`ssh-keygen` is not in any PATH"), "{err}");
        // Anything but a missing program fails both forms.
        fs::write(units.join("bad.yaml"), "exec: x\nafer: [a]\n").unwrap();
        let err = runnable(None, &[sh], &units).unwrap_err().to_string();
        assert!(err.contains("unknown key `afer`"), "{err}");
    }
}
