//! The units `zos-builder run` and the QEMU tests add to the production set
//! (configs/zinit-run): `boot-report`, a oneshot that waits until every unit has
//! settled, prints `zinit list` behind [`REPORT_PREFIX`] and, with
//! `zinit.report=poweroff` on the cmdline, ends the boot with `zinit shutdown`; and
//! `console`, a shell on the terminal for an interactive run.

use std::path::{Path, PathBuf};

use super::image::ImageView;
use super::install::{unit_extras, ZinitError};
use super::lint::{lint, LintReport};
use super::unit::UnitSet;
use crate::cpio::FileData;
use crate::ExtraEntry;

/// The report's line prefix (configs/zinit-run/zos-boot-report).
pub const REPORT_PREFIX: &str = "zos-boot: ";
/// The cmdline flag that makes the report power off.
pub const POWEROFF_FLAG: &str = "zinit.report=poweroff";
/// Where the report script goes in the image (its unit's `exec`).
pub const SCRIPT_PATH: &str = "/usr/libexec/zos-boot-report";

pub fn units_dir() -> PathBuf {
    let root = crate::workspace::root();
    root.canonicalize().unwrap_or(root).join("configs/zinit-run")
}

/// The report unit and its script (and, unless `batch`, the console unit), linted
/// against `rootfs` plus `extras`; returns the extras to add.
pub fn extras(rootfs: Option<&Path>, extras: &[ExtraEntry], batch: bool) -> Result<Vec<ExtraEntry>, ZinitError> {
    let dir = units_dir();
    let (mut set, load_errors) = UnitSet::load(&dir);
    if batch {
        set.units.retain(|u| u.name != "console");
    }
    let mut add = unit_extras(&set);
    add.push(ExtraEntry::File {
        path: SCRIPT_PATH.into(),
        source: FileData::Path(dir.join("zos-boot-report")),
        mode: Some(0o755),
    });
    let mut all = extras.to_vec();
    all.extend(add.iter().cloned());
    let report: LintReport = lint(&set, load_errors, Some(&ImageView::new(rootfs, &all)));
    if !report.is_clean() {
        return Err(ZinitError::Lint { dir, report });
    }
    Ok(add)
}
