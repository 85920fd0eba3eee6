//! The recorder's in-memory file tree for [`FsOps`](super::FsOps): paths name inodes,
//! so hard links, link counts, owners, modes, times, xattrs and contents behave as the
//! copy engine needs to be tested through it (`RecordSys::files`).

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsString};
use std::path::{Path, PathBuf};

use super::fs_ops::{FileStat, NodeKind, Time};
use super::Errno;

/// The device every node of the tree is on.
pub const MEM_DEV: u64 = 7;

/// One inode: its stat, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    pub stat: FileStat,
    /// A file's bytes (may be shorter than `stat.size`: the rest reads as zeros).
    pub data: Vec<u8>,
    /// A symlink's target.
    pub target: Vec<u8>,
    pub xattrs: BTreeMap<CString, Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct MemFs {
    paths: BTreeMap<PathBuf, u64>,
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
    /// Whether the first removal has happened (the recorder frees `copy_frees` then).
    pub(super) freed: bool,
}

fn stat(kind: NodeKind, perm: u32, ino: u64) -> FileStat {
    FileStat {
        kind,
        perm,
        uid: 0,
        gid: 0,
        nlink: 1,
        dev: MEM_DEV,
        ino,
        rdev: 0,
        size: 0,
        allocated: 0,
        atime: Time { sec: 1, nsec: 0 },
        mtime: Time { sec: 2, nsec: 0 },
    }
}

impl MemFs {
    /// A tree holding `paths`: those ending in `/` are directories (0755), the others
    /// files (0644) whose content is their own name.
    pub fn with(paths: &[&str]) -> Self {
        let mut fs = MemFs::default();
        for p in paths {
            match p.strip_suffix('/') {
                Some(dir) if !dir.is_empty() => fs.dir(dir),
                Some(_) => fs.dir("/"),
                None => fs.file(p, p.as_bytes()),
            };
        }
        fs
    }

    fn add(&mut self, path: &Path, kind: NodeKind, perm: u32) -> &mut Inode {
        self.next_ino += 1;
        let ino = self.next_ino;
        self.paths.insert(path.to_path_buf(), ino);
        let node = Inode {
            stat: stat(kind, perm, ino),
            data: Vec::new(),
            target: Vec::new(),
            xattrs: BTreeMap::new(),
        };
        self.inodes.entry(ino).or_insert(node)
    }

    pub fn dir(&mut self, path: &str) -> &mut Inode {
        self.add(Path::new(path), NodeKind::Dir, 0o755)
    }

    /// A regular file holding `data` (allocated: whole pages).
    pub fn file(&mut self, path: &str, data: &[u8]) -> &mut Inode {
        let node = self.add(Path::new(path), NodeKind::File, 0o644);
        node.data = data.to_vec();
        node.stat.size = data.len() as u64;
        node.stat.allocated = crate::copy::pages(node.stat.size);
        node
    }

    /// A file of `allocated` bytes, apparent and allocated, whose content reads as zeros.
    pub fn sized(&mut self, path: &str, allocated: u64) -> &mut Inode {
        let node = self.add(Path::new(path), NodeKind::File, 0o644);
        node.stat.size = allocated;
        node.stat.allocated = allocated;
        node
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Inode {
        let node = self.add(Path::new(path), NodeKind::Symlink, 0o777);
        node.target = target.as_bytes().to_vec();
        node.stat.size = target.len() as u64;
        node
    }

    /// Another name for the inode at `existing`.
    pub fn hardlink(&mut self, existing: &str, path: &str) -> Result<(), Errno> {
        self.link(Path::new(existing), Path::new(path))
    }

    pub fn get(&self, path: impl AsRef<Path>) -> Option<&Inode> {
        self.paths.get(path.as_ref()).and_then(|ino| self.inodes.get(ino))
    }

    pub(super) fn get_mut(&mut self, path: &Path) -> Result<&mut Inode, Errno> {
        let ino = self.paths.get(path).ok_or(Errno::NOENT)?;
        self.inodes.get_mut(ino).ok_or(Errno::NOENT)
    }

    /// Every path, sorted.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.paths.keys().cloned().collect()
    }

    pub(super) fn children(&self, dir: &Path) -> Result<Vec<OsString>, Errno> {
        match self.get(dir).map(|n| n.stat.kind) {
            None => return Err(Errno::NOENT),
            Some(NodeKind::Dir) => {}
            Some(_) => return Err(Errno::NOTDIR),
        }
        Ok(self
            .paths
            .keys()
            .filter(|p| p.parent() == Some(dir) && p.as_path() != dir)
            .filter_map(|p| p.file_name().map(|n| n.to_owned()))
            .collect())
    }

    /// Create a node; EEXIST when the path is taken, ENOENT without a parent directory.
    pub(super) fn create(&mut self, path: &Path, kind: NodeKind, perm: u32) -> Result<&mut Inode, Errno> {
        if self.paths.contains_key(path) {
            return Err(Errno::EXIST);
        }
        if let Some(parent) = path.parent() {
            match self.get(parent).map(|n| n.stat.kind) {
                Some(NodeKind::Dir) => {}
                Some(_) => return Err(Errno::NOTDIR),
                None => return Err(Errno::NOENT),
            }
        }
        Ok(self.add(path, kind, perm))
    }

    pub(super) fn link(&mut self, existing: &Path, path: &Path) -> Result<(), Errno> {
        let ino = *self.paths.get(existing).ok_or(Errno::NOENT)?;
        if self.paths.contains_key(path) {
            return Err(Errno::EXIST);
        }
        self.paths.insert(path.to_path_buf(), ino);
        if let Some(node) = self.inodes.get_mut(&ino) {
            node.stat.nlink += 1;
        }
        Ok(())
    }

    /// rename(2): `from` (and, a directory, everything under it) takes the name `to`,
    /// replacing a non-directory there, or an empty directory when `from` is one.
    pub(super) fn rename(&mut self, from: &Path, to: &Path) -> Result<(), Errno> {
        let kind = self.get(from).ok_or(Errno::NOENT)?.stat.kind;
        if from == to {
            return Ok(());
        }
        if to.starts_with(from) {
            return Err(Errno::INVAL);
        }
        match to.parent().and_then(|p| self.get(p)).map(|n| n.stat.kind) {
            Some(NodeKind::Dir) => {}
            Some(_) => return Err(Errno::NOTDIR),
            None => return Err(Errno::NOENT),
        }
        match (
            kind == NodeKind::Dir,
            self.get(to).map(|n| n.stat.kind == NodeKind::Dir),
        ) {
            (_, None) => {}
            (false, Some(true)) => return Err(Errno::ISDIR),
            (true, Some(false)) => return Err(Errno::NOTDIR),
            (is_dir, Some(_)) => self.remove(to, is_dir)?,
        }
        let moved: Vec<PathBuf> = self.paths.keys().filter(|p| p.starts_with(from)).cloned().collect();
        for old in moved {
            let ino = self.paths.remove(&old).ok_or(Errno::NOENT)?;
            let rest = old.strip_prefix(from).unwrap_or(Path::new(""));
            let new = if rest.as_os_str().is_empty() {
                to.to_path_buf()
            } else {
                to.join(rest)
            };
            self.paths.insert(new, ino);
        }
        Ok(())
    }

    pub(super) fn remove(&mut self, path: &Path, dir: bool) -> Result<(), Errno> {
        let kind = self.get(path).ok_or(Errno::NOENT)?.stat.kind;
        match (dir, kind == NodeKind::Dir) {
            (true, false) => return Err(Errno::NOTDIR),
            (false, true) => return Err(Errno::ISDIR),
            (true, true) if !self.children(path)?.is_empty() => return Err(Errno::NOTEMPTY),
            _ => {}
        }
        let ino = self.paths.remove(path).ok_or(Errno::NOENT)?;
        let node = self.inodes.get_mut(&ino).ok_or(Errno::NOENT)?;
        node.stat.nlink -= 1;
        if node.stat.nlink == 0 {
            self.inodes.remove(&ino);
        }
        Ok(())
    }
}
