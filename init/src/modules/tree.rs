//! Where the image's module tree is read while the copy runs: the depmod index and
//! modprobe.d, read once, and the loads through [`Moved`] when the files are moving.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::log::{self, Level};
use crate::modules::index::ModIndex;
use crate::modules::load::{self, Node, Outcome};
use crate::modules::moved::Moved;
use crate::modules::options::ModprobeConf;
use crate::stage::Stage;
use crate::sys::Kmod;

/// Read the depmod index of `dir` through `read`; None, logged, when there is none
/// or it is unreadable.
pub fn load_index(dir: &Path, read: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>) -> Option<ModIndex> {
    match ModIndex::load_with(dir, read) {
        Ok(i) => {
            log::stage(
                Level::Debug,
                Stage::Modules,
                &format!(
                    "{}: {} modules, {} aliases, {} built in",
                    dir.display(),
                    i.modules.len(),
                    i.aliases.len(),
                    i.builtin.len()
                ),
            );
            Some(i)
        }
        Err(e) if e.cause.kind() == std::io::ErrorKind::NotFound => {
            log::stage(
                Level::Info,
                Stage::Modules,
                &format!("no {}/modules.dep: this image has no modules", dir.display()),
            );
            None
        }
        Err(e) => {
            log::stage(Level::Warn, Stage::Modules, &format!("{e}; no module will be loaded"));
            None
        }
    }
}

/// modprobe.d of the image at `root` (`etc/` first, as modprobe).
pub fn read_conf(root: &Path) -> ModprobeConf {
    let (etc, lib) = (root.join("etc/modprobe.d"), root.join("lib/modprobe.d"));
    ModprobeConf::load(&[&etc, &lib])
}

/// [`load::run_within`] (each load bounded by `timeout`) over `kmod`, or over [`Moved`] from `from` to `moves_to` when the
/// copy is freeing the tree meanwhile (logged: how many came from the new root).
pub fn run(
    kmod: &dyn Kmod,
    from: &Path,
    moves_to: Option<&Path>,
    nodes: &[Node],
    codec: Option<&str>,
    workers: usize,
    timeout: Option<Duration>,
) -> Vec<Outcome> {
    let Some(to) = moves_to else {
        return load::run_within(kmod, nodes, codec, workers, timeout);
    };
    let moved = Moved::new(kmod, from, to);
    let out = load::run_within(&moved, nodes, codec, workers, timeout);
    let n = moved.from_new_root.load(Ordering::Relaxed);
    if n > 0 {
        log::stage(
            Level::Debug,
            Stage::Modules,
            &format!(
                "{n} module files were freed by the copy already: loaded from {}",
                to.display()
            ),
        );
    }
    out
}
