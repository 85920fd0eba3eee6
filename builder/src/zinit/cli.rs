//! What `zos-builder lint` and `zos-builder build --zinit --units DIR` do, kept out of
//! main.rs so that it stays one function per subcommand.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::image::ImageView;
use super::install::{binary_extra, prepare, unit_extras, ZinitError};
use super::lint::lint;
use super::unit::UnitSet;
use crate::ExtraEntry;

/// Lint each unit directory; with `rootfs`, also check that every `exec` and `test`
/// program is in that rootfs (plus the set's own files). Returns the text to print and
/// whether all sets are clean.
pub fn lint_dirs(dirs: &[PathBuf], rootfs: Option<&Path>) -> (String, bool) {
    let mut out = String::new();
    let mut clean = true;
    for dir in dirs {
        let (set, load_errors) = UnitSet::load(dir);
        let view = rootfs.map(|r| ImageView::new(Some(r), &unit_extras(&set)));
        let report = lint(&set, load_errors, view.as_ref());
        let exec_note = match rootfs {
            Some(r) => format!("exec programs checked against {}", r.display()),
            None => "exec programs not checked (no --rootfs)".to_string(),
        };
        if report.is_clean() {
            let _ = writeln!(
                out,
                "{}: {} units for zinit 0.2.11: clean; {exec_note}",
                dir.display(),
                set.units.len()
            );
        } else {
            clean = false;
            let _ = writeln!(out, "{report}");
            let _ = writeln!(
                out,
                "{}: {} error(s) in {} units for zinit 0.2.11; {exec_note}",
                dir.display(),
                report.errors.len(),
                set.units.len()
            );
        }
    }
    (out, clean)
}

/// For `build`: with `zinit`, add zinit 0.2.11 (built once from the lock's source,
/// cached) as /sbin/zinit, the init's default handover. With `units`, add that set
/// after linting it against the image.
pub fn add_to_build(
    rootfs: &Path,
    extras: &mut Vec<ExtraEntry>,
    zinit: bool,
    units: Option<&Path>,
) -> Result<(), ZinitError> {
    if zinit {
        let got = super::binary::zinit_binary(crate::knobs::TargetArch::Amd64)?;
        eprintln!("{}", got.note);
        extras.push(binary_extra(&got.path));
    }
    if let Some(units) = units {
        let add = prepare(Some(rootfs), extras, units)?;
        extras.extend(add);
    }
    Ok(())
}
