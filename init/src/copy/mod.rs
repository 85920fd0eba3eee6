//! The copy engine: `cp -a` of the initramfs into the new tmpfs root, with copy-and-free.
//!
//! The shell /init ran `cp -ar /bin /etc /lib* ... /mnt/root`, which holds the unpacked
//! initramfs and its copy in RAM at once. Here each source entry is removed as soon as
//! its copy is complete (`CopySpec::free_source`), so the peak is about one copy plus
//! the largest file. Everything `cp -a` keeps is kept: content with holes, modes with
//! setuid/setgid/sticky, owners, ns times, xattrs (`security.capability` included),
//! symlinks, hard links, FIFOs and device nodes. Sockets are skipped with a warning.
//!
//! Flow: [`resolve_sources`] turns patterns into top-level paths, [`measure`] says how
//! much tmpfs the copy needs, [`copy_tree`] copies. All three sit above the syscall
//! seam: they take the file-level calls of [`crate::sys::FsOps`] (`sys.fs()`), so the
//! recorder's in-memory tree tests them (engine_tests.rs) as the kernel runs them.

#[cfg(test)]
mod engine_tests;
mod error;
mod file;
mod footprint;
mod meta;
// pub(crate): the debug overlay lists and lstats with the copy's error shape.
pub(crate) mod spec;
mod tree;

use std::path::{Path, PathBuf};

pub use error::CopyError;
pub use footprint::{measure, pages, symlink_pages, Footprint, PAGE, SHORT_SYMLINK_LEN};
pub use spec::{resolve_sources, CopySpec, DEFAULT_PATTERNS, NEVER};
pub use tree::{copy_tree, CopyStats};

/// `root` + in-root path: `("/mnt/root", "/usr/lib")` -> `/mnt/root/usr/lib`.
/// (`Path::join` with an absolute path would drop the root.)
fn join_root(root: &Path, rel: &Path) -> PathBuf {
    root.join(rel.strip_prefix("/").unwrap_or(rel))
}
