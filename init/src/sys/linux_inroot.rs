//! The calls of [`FsOps`](super::FsOps) only the debug overlay makes: resolving a
//! directory inside a root not yet switched to (openat2), and rename(2).

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{openat2, renameat, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::fs_ops::Loc;
use super::linux_fs::dir_and_path;

/// openat2(O_PATH|O_DIRECTORY) of `path` resolved inside `root`: symlinks (absolute
/// or climbing with `..`) resolve as they will after switch_root; no /proc magic
/// links; and never into another filesystem mounted in the root (its dev, proc and sys
/// are mounted by now): EXDEV.
pub(super) fn open_in_root(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd, Errno> {
    openat2(
        root,
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_XDEV,
    )
}

pub(super) fn rename(from: Loc<'_>, to: Loc<'_>) -> Result<(), Errno> {
    let (from_dir, from) = dir_and_path(from)?;
    let (to_dir, to) = dir_and_path(to)?;
    renameat(from_dir, from, to_dir, to)
}
