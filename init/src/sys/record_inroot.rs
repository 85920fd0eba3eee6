//! The recorder's in-root calls of [`FsOps`](super::FsOps) (the debug overlay's):
//! openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV) acted out on the
//! in-memory tree, and rename(2).
//!
//! The resolution is the kernel's, on the tree: an absolute symlink target starts again
//! at the root, `..` at the root stays there, every component is followed (the last one
//! too), at most 40 symlinks (ELOOP), and a directory on another `dev` than the root's
//! (a filesystem mounted in it) is EXDEV. Magic links do not exist in the tree.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::fs_ops::{Handle, HandleInner, Loc, NodeKind};
use super::record::RecordSys;
use super::record_fsops::{handle_path, loc_path, FsCall};
use super::record_memfs::MemFs;
use super::Errno;

/// Symlinks one resolution follows before ELOOP (the kernel's MAXSYMLINKS).
const MAX_SYMLINKS: u32 = 40;

/// One step of a resolution still to take.
enum Step {
    Root,
    Up,
    Name(OsString),
}

/// `path`'s steps, in the order they are taken, reversed (a stack: a symlink's target
/// is pushed on top of what follows it).
fn steps(path: &Path) -> Vec<Step> {
    let mut out: Vec<Step> = path
        .components()
        .filter_map(|c| match c {
            Component::RootDir | Component::Prefix(_) => Some(Step::Root),
            Component::ParentDir => Some(Step::Up),
            Component::CurDir => None,
            Component::Normal(n) => Some(Step::Name(n.to_owned())),
        })
        .collect();
    out.reverse();
    out
}

impl MemFs {
    /// The directory `path` names inside `root`, as openat2(RESOLVE_IN_ROOT|
    /// RESOLVE_NO_XDEV, O_DIRECTORY) finds it (see the module doc).
    pub fn resolve_in_root(&self, root: &Path, path: &Path) -> Result<PathBuf, Errno> {
        let top = self.get(root).ok_or(Errno::NOENT)?;
        if top.stat.kind != NodeKind::Dir {
            return Err(Errno::NOTDIR);
        }
        let dev = top.stat.dev;
        let mut cur = root.to_path_buf();
        let mut todo = steps(path);
        let mut links = 0;
        while let Some(step) = todo.pop() {
            let next = match step {
                Step::Root => root.to_path_buf(),
                Step::Up if cur == root => continue,
                Step::Up => cur.parent().unwrap_or(root).to_path_buf(),
                Step::Name(name) => cur.join(name),
            };
            let node = self.get(&next).ok_or(Errno::NOENT)?;
            match node.stat.kind {
                NodeKind::Symlink => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::LOOP);
                    }
                    todo.extend(steps(Path::new(OsStr::from_bytes(&node.target))));
                }
                NodeKind::Dir if node.stat.dev != dev => return Err(Errno::XDEV),
                NodeKind::Dir => cur = next,
                _ => return Err(Errno::NOTDIR),
            }
        }
        Ok(cur)
    }
}

impl RecordSys {
    pub(super) fn record_open_in_root(&self, root: &Handle, path: &Path) -> Result<Handle, Errno> {
        let root = handle_path(root);
        self.fs_call(FsCall::OpenInRoot {
            root: root.into(),
            path: path.into(),
        })?;
        let found = self.files.borrow().resolve_in_root(root, path)?;
        Ok(Handle(HandleInner::Recorded(found)))
    }

    pub(super) fn record_rename(&self, from: Loc<'_>, to: Loc<'_>) -> Result<(), Errno> {
        let (from, to) = (loc_path(from)?, loc_path(to)?);
        self.fs_call(FsCall::Rename {
            from: from.clone(),
            to: to.clone(),
        })?;
        self.files.borrow_mut().rename(&from, &to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> MemFs {
        let mut fs = MemFs::with(&["/", "/outside/", "/root/", "/root/usr/", "/root/usr/bin/", "/root/etc/"]);
        fs.symlink("/root/bin", "usr/bin");
        fs.symlink("/root/abs", "/usr/bin");
        fs.symlink("/root/out", "/outside");
        fs.symlink("/root/usr/up", "../../../../..");
        fs.symlink("/root/loop", "loop");
        fs.file("/root/etc/file", b"x");
        fs.dir("/root/proc").stat.dev = 9;
        fs.dir("/root/proc/sys");
        fs
    }

    fn at(path: &str) -> Result<PathBuf, Errno> {
        tree().resolve_in_root(Path::new("/root"), Path::new(path))
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        assert_eq!(at("."), Ok("/root".into()));
        assert_eq!(at("bin"), Ok("/root/usr/bin".into()), "relative");
        assert_eq!(at("abs"), Ok("/root/usr/bin".into()), "absolute: from the root");
        assert_eq!(at("usr/up/etc"), Ok("/root/etc".into()), "`..` stops at the root");
        assert_eq!(at("../../etc"), Ok("/root/etc".into()));
        assert_eq!(at("out"), Err(Errno::NOENT), "/outside is not in the root");
    }

    #[test]
    fn what_openat2_refuses() {
        assert_eq!(at("proc"), Err(Errno::XDEV));
        assert_eq!(at("proc/sys"), Err(Errno::XDEV));
        assert_eq!(at("loop"), Err(Errno::LOOP));
        assert_eq!(at("etc/file"), Err(Errno::NOTDIR));
        assert_eq!(at("etc/file/x"), Err(Errno::NOTDIR));
        assert_eq!(at("nope/x"), Err(Errno::NOENT));
    }
}
