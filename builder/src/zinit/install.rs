//! zinit and its units as image extras, checked before anything is packed.

use std::fs;
use std::path::{Path, PathBuf};

use zos_common::config::{Config, CONFIG_PATH};

use super::fetch::ZinitBins;
use super::image::ImageView;
use super::lint::{lint, LintReport};
use super::unit::{Generation, UnitSet};
use crate::cpio::FileData;
use crate::ExtraEntry;

#[derive(Debug, thiserror::Error)]
pub enum ZinitError {
    #[error(transparent)]
    Fetch(#[from] super::FetchError),
    #[error("zinit units in {} do not pass lint:\n{report}", dir.display())]
    Lint { dir: PathBuf, report: LintReport },
    #[error("{}: {cause}", path.display())]
    Config { path: PathBuf, cause: std::io::Error },
}

/// Where zinit 0.1's PID 1 lives in the image; the init hands over to it.
pub const PID1_PATH: &str = "/sbin/zinit-pid1";

/// zinit 0.1's programs at the paths `zinit-pid1` looks for (`/sbin/zinit-server` is
/// the first it tries); the client as `/sbin/zinit` so services and the operator can
/// run `zinit list` and `zinit poweroff`.
pub fn binary_extras(bins: &ZinitBins) -> Vec<ExtraEntry> {
    [
        ("/sbin/zinit", &bins.zinit),
        (PID1_PATH, &bins.pid1),
        ("/sbin/zinit-server", &bins.server),
    ]
    .into_iter()
    .map(|(dest, src)| ExtraEntry::File {
        path: dest.into(),
        source: FileData::Path(src.clone()),
        mode: Some(0o755),
    })
    .collect()
}

/// Make `cfg` hand over to `zinit-pid1` (which takes no arguments) instead of the
/// production default `/sbin/zinit init`; every other key is kept.
pub fn set_handover(cfg: &mut Config) {
    cfg.handover = PID1_PATH.into();
    cfg.handover_args = Vec::new();
}

/// `/etc/zos-init.conf` as an extra: `base` with the handover to `zinit-pid1`.
pub fn handover_config(mut base: Config) -> ExtraEntry {
    set_handover(&mut base);
    ExtraEntry::File {
        path: CONFIG_PATH.into(),
        source: FileData::Bytes(base.render().into_bytes()),
        mode: Some(0o644),
    }
}

/// Set the handover in a rootfs directory's own `etc/zos-init.conf` (created when
/// missing), so whatever later layers keys over the rootfs's config keeps it.
pub fn write_handover(rootfs: &Path) -> Result<(), ZinitError> {
    let path = rootfs.join(CONFIG_PATH.trim_start_matches('/'));
    let io = |cause| ZinitError::Config {
        path: path.clone(),
        cause,
    };
    let mut cfg = match fs::read_to_string(&path) {
        Ok(text) => Config::parse(&text, &path.display().to_string()).0,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
        Err(e) => return Err(io(e)),
    };
    set_handover(&mut cfg);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    fs::write(&path, cfg.render()).map_err(io)
}

/// The set's unit files and scripts at their image paths.
pub fn unit_extras(set: &UnitSet) -> Vec<ExtraEntry> {
    let mut out: Vec<ExtraEntry> = set
        .units
        .iter()
        .map(|u| ExtraEntry::File {
            path: Path::new("/").join(&u.image_path),
            source: FileData::Path(u.file.clone()),
            mode: Some(0o644),
        })
        .collect();
    out.extend(set.scripts.iter().map(|(src, dest)| ExtraEntry::File {
        path: Path::new("/").join(dest),
        source: FileData::Path(src.clone()),
        mode: Some(0o755),
    }));
    if set.generation == Generation::V1Toml {
        // zinit-server creates a missing config dir, but an empty services/ or system/
        // in the image documents where an operator's units go.
        for d in ["/etc/zinit/system", "/etc/zinit/services"] {
            out.push(ExtraEntry::Dir {
                path: d.into(),
                mode: 0o755,
            });
        }
    }
    out
}

/// Everything to add for zinit: with `bins`, zinit 0.1 itself; with `units`, that unit
/// set, linted against `rootfs` plus `extras` plus what this adds. Returns the extras
/// to append. The handover (`/etc/zos-init.conf`) is the caller's: [`handover_config`]
/// or [`write_handover`].
pub fn prepare(
    rootfs: Option<&Path>,
    extras: &[ExtraEntry],
    bins: Option<&ZinitBins>,
    units: Option<&Path>,
) -> Result<Vec<ExtraEntry>, ZinitError> {
    let mut add = Vec::new();
    if let Some(bins) = bins {
        add.extend(binary_extras(bins));
    }
    if let Some(dir) = units {
        let (set, load_errors) = UnitSet::load(dir);
        add.extend(unit_extras(&set));
        let mut all = extras.to_vec();
        all.extend(add.iter().cloned());
        let view = ImageView::new(rootfs, &all);
        let report = lint(&set, load_errors, Some(&view));
        if !report.is_clean() {
            return Err(ZinitError::Lint {
                dir: dir.to_path_buf(),
                report,
            });
        }
    }
    Ok(add)
}

/// The demo/test image's zinit, for a rootfs directory the caller owns: zinit 0.1 (from
/// the cache, built on first use), the handover written into the rootfs's own
/// `etc/zos-init.conf`, and the shipped TOML unit set linted against that rootfs.
/// Returns the extras to pack.
pub fn demo_extras(rootfs: &Path) -> Result<Vec<ExtraEntry>, ZinitError> {
    let bins = super::fetch::zinit_binaries()?;
    write_handover(rootfs)?;
    prepare(Some(rootfs), &[], Some(&bins), Some(&shipped_units(Generation::V1Toml)))
}

/// The unit sets shipped in this repository.
pub fn shipped_units(generation: Generation) -> PathBuf {
    let root = crate::workspace::root();
    // `builder/..` reads badly in messages; the canonical path names the same dir.
    let base = root.canonicalize().unwrap_or(root).join("configs/zinit");
    match generation {
        Generation::V2Yaml => base,
        Generation::V1Toml => base.join("toml"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handover_goes_to_zinit_pid1_and_keeps_other_keys() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("etc")).unwrap();
        fs::write(t.path().join("etc/zos-init.conf"), "tmpfs_size = 2G\n").unwrap();
        write_handover(t.path()).unwrap();
        let text = fs::read_to_string(t.path().join("etc/zos-init.conf")).unwrap();
        let (cfg, errors) = Config::parse(&text, CONFIG_PATH);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(cfg.handover, "/sbin/zinit-pid1");
        assert!(cfg.handover_args.is_empty());
        assert_eq!(cfg.tmpfs_size, "2G");
        let ExtraEntry::File {
            source: FileData::Bytes(b),
            ..
        } = handover_config(Config::default())
        else {
            panic!("not bytes")
        };
        assert_eq!(
            Config::parse(std::str::from_utf8(&b).unwrap(), "x").0.handover,
            "/sbin/zinit-pid1"
        );
    }
}
