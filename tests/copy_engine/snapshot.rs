//! Snapshots of a tree for the copy-engine tests: every entry's type, mode, owner,
//! size, content, link target, device number, ns times and xattrs, plus the hard-link
//! groups, compared entry by entry with a readable report.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{lgetxattr, llistxattr, llistxattr_query};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Regular files and symlinks only (a directory's size counts its entries).
    pub size: Option<u64>,
    pub content: Option<Vec<u8>>,
    pub target: Option<PathBuf>,
    pub rdev: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

/// Every entry under `root`, by in-root path, plus the hard-link groups (by inode).
#[derive(Debug, Default)]
pub struct Snapshot {
    pub entries: BTreeMap<PathBuf, Entry>,
    pub inodes: BTreeMap<PathBuf, u64>,
}

impl Snapshot {
    pub fn take(root: &Path) -> Snapshot {
        let mut snap = Snapshot::default();
        snap.walk(root, Path::new("/"));
        snap.entries.remove(Path::new("/"));
        snap.inodes.remove(Path::new("/"));
        snap
    }

    fn walk(&mut self, path: &Path, rel: &Path) {
        let md = fs::symlink_metadata(path).unwrap();
        let ft = md.file_type();
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_fifo() {
            "fifo"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else {
            "socket"
        };
        let entry = Entry {
            kind,
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            size: (ft.is_file() || ft.is_symlink()).then(|| md.size()),
            content: ft.is_file().then(|| fs::read(path).unwrap()),
            target: ft.is_symlink().then(|| fs::read_link(path).unwrap()),
            rdev: md.rdev(),
            atime: (md.atime(), md.atime_nsec()),
            mtime: (md.mtime(), md.mtime_nsec()),
            xattrs: xattrs(path),
        };
        self.entries.insert(rel.to_path_buf(), entry);
        self.inodes.insert(rel.to_path_buf(), md.ino());
        if ft.is_dir() {
            for e in fs::read_dir(path).unwrap() {
                let name = e.unwrap().file_name();
                self.walk(&path.join(&name), &rel.join(&name));
            }
        }
    }

    /// Sets of paths sharing an inode (only groups of two or more).
    pub fn link_groups(&self) -> BTreeSet<BTreeSet<PathBuf>> {
        let mut by_ino: BTreeMap<u64, BTreeSet<PathBuf>> = BTreeMap::new();
        for (path, ino) in &self.inodes {
            if self.entries[path].kind != "dir" {
                by_ino.entry(*ino).or_default().insert(path.clone());
            }
        }
        by_ino.into_values().filter(|g| g.len() > 1).collect()
    }

    /// What the copy should produce from this source snapshot.
    pub fn expected_copy(&self) -> Snapshot {
        let never = [
            "/init",
            "/init-debug",
            "/dev",
            "/proc",
            "/sys",
            "/mnt",
            "/usr/share/doc",
        ];
        let keep = |p: &Path| !never.iter().any(|n| p.starts_with(n));
        let entries: BTreeMap<PathBuf, Entry> = self
            .entries
            .iter()
            .filter(|(p, e)| keep(p) && e.kind != "socket")
            .map(|(p, e)| (p.clone(), e.clone()))
            .collect();
        let inodes = self
            .inodes
            .iter()
            .filter(|(p, _)| entries.contains_key(*p))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        Snapshot { entries, inodes }
    }
}

fn xattrs(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let size = llistxattr_query(path).unwrap();
    if size == 0 {
        return out;
    }
    let mut names = vec![0u8; size];
    let n = llistxattr(path, &mut names[..]).unwrap();
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).unwrap().to_string();
        let mut value = vec![0u8; 65536];
        let len = lgetxattr(path, name.as_str(), &mut value[..]).unwrap();
        value.truncate(len);
        out.insert(name, value);
    }
    out
}

/// Entry-by-entry comparison with a readable report of every difference.
pub fn assert_same(want: &Snapshot, got: &Snapshot) {
    let mut diffs = Vec::new();
    for (path, w) in &want.entries {
        match got.entries.get(path) {
            None => diffs.push(format!("missing {}", path.display())),
            Some(g) if g != w => {
                let (mut w, mut g) = (w.clone(), g.clone());
                // Keep big contents out of the report.
                if w.content == g.content {
                    (w.content, g.content) = (None, None);
                }
                diffs.push(format!("{}:\n  want {w:?}\n  got  {g:?}", path.display()));
            }
            Some(_) => {}
        }
    }
    for path in got.entries.keys().filter(|p| !want.entries.contains_key(*p)) {
        diffs.push(format!("unexpected {}", path.display()));
    }
    assert!(diffs.is_empty(), "copy differs from source:\n{}", diffs.join("\n"));
    assert_eq!(want.link_groups(), got.link_groups(), "hard-link groups differ");
}
