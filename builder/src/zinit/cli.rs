//! What `zos-builder lint` and `zos-builder build --zinit --units DIR` do, kept out of
//! main.rs so that it stays one function per subcommand.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use zos_common::config::{Config, CONFIG_PATH};

use super::image::ImageView;
use super::install::{handover_config, prepare, set_handover, unit_extras, ZinitError};
use super::lint::lint;
use super::unit::UnitSet;
use crate::cpio::FileData;
use crate::ExtraEntry;

/// Lint each unit directory; with `rootfs`, also check that every `exec` program is in
/// that rootfs (plus the set's own files). Returns the text to print and whether all
/// sets are clean.
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
                "{}: {} units for {}: clean; {exec_note}",
                dir.display(),
                set.units.len(),
                set.generation.as_str()
            );
        } else {
            clean = false;
            let _ = writeln!(out, "{report}");
            let _ = writeln!(
                out,
                "{}: {} error(s) in {} units for {}; {exec_note}",
                dir.display(),
                report.errors.len(),
                set.units.len(),
                set.generation.as_str()
            );
        }
    }
    (out, clean)
}

/// For `build`: with `zinit`, add zinit 0.1 (built once, cached) and point the image's
/// `/etc/zos-init.conf` at `zinit-pid1`: the generated config among `extras` is edited,
/// a user's own `--file` for it is left alone, and without either one is made from the
/// rootfs's config. With `units`, add that set after linting it against the image.
pub fn add_to_build(
    rootfs: &Path,
    extras: &mut Vec<ExtraEntry>,
    zinit: bool,
    units: Option<&Path>,
) -> Result<(), ZinitError> {
    let bins = if zinit {
        Some(super::fetch::zinit_binaries()?)
    } else {
        None
    };
    if zinit {
        let conf = extras.iter_mut().rev().find(
            |e| matches!(e, ExtraEntry::File { path, .. } if path.ends_with(CONFIG_PATH.trim_start_matches('/'))),
        );
        match conf {
            Some(ExtraEntry::File {
                source: FileData::Bytes(b),
                ..
            }) => {
                let (mut cfg, _) = Config::parse(&String::from_utf8_lossy(b), CONFIG_PATH);
                set_handover(&mut cfg);
                *b = cfg.render().into_bytes();
            }
            Some(_) => {}
            None => {
                let own = std::fs::read_to_string(rootfs.join(CONFIG_PATH.trim_start_matches('/')));
                let base = own.map_or_else(|_| Config::default(), |t| Config::parse(&t, CONFIG_PATH).0);
                extras.push(handover_config(base));
            }
        }
    }
    let add = prepare(Some(rootfs), extras, bins.as_ref(), units)?;
    extras.extend(add);
    Ok(())
}
