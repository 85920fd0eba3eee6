//! Freeing RAM by deleting trees: switch_root's removal of the old root, and bind
//! mode's pruning of what the copy would have left out. Built on the seam's lstat,
//! getdents, unlink and rmdir; "remove what it can, report the rest": one entry that
//! cannot go never stops the others (the RAM they hold is the point), and the caller
//! reports [`Cleared::failed`].

use std::path::Path;

use crate::error::SysError;
use crate::sys::{Errno, Kind, Sys};

/// What a removal removed, and what it could not.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cleared {
    pub entries: u64,
    pub bytes: u64,
    /// One line per entry left behind (`op path: errno`); the removal goes on past each.
    pub failed: Vec<String>,
}

/// Delete everything under `root` that lives on root's own device (switch_root's RAM
/// reclaim); never descends into other mounts. Fails only when `root` itself cannot
/// be stat'ed or listed.
pub fn clear_tree(sys: &dyn Sys, root: &Path) -> Result<Cleared, SysError> {
    let dev = sys.look().lstat(root)?.dev;
    let names = sys.look().list_names(root)?;
    let mut cleared = Cleared::default();
    clear_entries(sys, root, names, dev, &mut cleared);
    Ok(cleared)
}

/// `rm -rf --one-file-system path`: a file, or a directory and what it holds on its
/// own device (a mount point inside stays, as does the directory then).
pub fn remove_path(sys: &dyn Sys, path: &Path) -> Result<Cleared, SysError> {
    let st = sys.look().lstat(path)?;
    if st.kind != Kind::Dir {
        sys.unlink(path, false)?;
        return Ok(Cleared {
            entries: 1,
            bytes: st.bytes,
            failed: Vec::new(),
        });
    }
    let mut cleared = clear_tree(sys, path)?;
    match sys.unlink(path, true) {
        Ok(()) => cleared.entries += 1,
        // A mount point inside keeps it (as clear_tree leaves those).
        Err(e) if matches!(e.errno, Errno::NOTEMPTY | Errno::BUSY) => {}
        Err(e) => return Err(e),
    }
    Ok(cleared)
}

/// Remove everything below `dir` on device `dev`, depth first. Entries on another
/// device are mount points (the new root, a stray mount): left alone. A failing entry
/// is recorded in `cleared.failed` and skipped.
fn clear_dir(sys: &dyn Sys, dir: &Path, dev: u64, cleared: &mut Cleared) {
    match sys.look().list_names(dir) {
        Ok(names) => clear_entries(sys, dir, names, dev, cleared),
        Err(e) => cleared.failed.push(e.to_string()),
    }
}

fn clear_entries(sys: &dyn Sys, dir: &Path, names: Vec<std::ffi::OsString>, dev: u64, cleared: &mut Cleared) {
    for name in names {
        let child = dir.join(&name);
        let st = match sys.look().lstat(&child) {
            Ok(st) => st,
            Err(e) => {
                cleared.failed.push(e.to_string());
                continue;
            }
        };
        if st.dev != dev {
            continue;
        }
        let removed = if st.kind == Kind::Dir {
            clear_dir(sys, &child, dev, cleared);
            match sys.unlink(&child, true) {
                Ok(()) => true,
                // A mount point inside (same fs type, other dev), or a child that could
                // not go (already reported), keeps it non-empty.
                Err(e) if matches!(e.errno, Errno::NOTEMPTY | Errno::BUSY) => true,
                Err(e) => {
                    cleared.failed.push(e.to_string());
                    false
                }
            }
        } else {
            match sys.unlink(&child, false) {
                Ok(()) => {
                    cleared.bytes += st.bytes;
                    true
                }
                Err(e) => {
                    cleared.failed.push(e.to_string());
                    false
                }
            }
        };
        cleared.entries += u64::from(removed);
    }
}

#[cfg(test)]
#[path = "reclaim_tests.rs"]
mod tests;
