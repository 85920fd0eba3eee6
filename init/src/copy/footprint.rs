//! How much tmpfs the copy will take, measured before copying.

use std::collections::HashSet;
use std::path::Path;

use crate::sys::{FsOps, NodeKind};

use super::error::CopyError;
use super::spec::{list_dir, lstat, CopySpec, Filter};

/// tmpfs allocates whole pages; this is the size every figure is rounded to.
pub const PAGE: u64 = 4096;

/// tmpfs keeps a symlink target shorter than this inside the inode (no page charged);
/// a longer one takes a page (`SHORT_SYMLINK_LEN` in mm/shmem.c, counting the NUL).
pub const SHORT_SYMLINK_LEN: usize = 128;

/// What the copy will need in a tmpfs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Pages charged against the tmpfs `size=`: each regular file's allocated blocks
    /// (`st_blocks * 512`, so holes cost nothing) rounded up to pages, each hard-linked
    /// inode once; plus one page per symlink whose target is 128 bytes or longer.
    /// Directories, short symlinks, device nodes and xattrs live in kernel memory, not pages.
    pub bytes: u64,
    /// Non-directory inodes to create (regular files, symlinks, nodes; a hard-link group
    /// counts once; sockets are not copied and not counted).
    pub files: u64,
    /// Directories to create.
    pub dirs: u64,
    /// The largest single regular file, in allocated bytes rounded to pages: with
    /// copy-and-free this is about the most RAM the copy holds twice at any moment.
    pub largest_file: u64,
}

/// `bytes` rounded up to whole pages.
pub fn pages(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE) * PAGE
}

/// Walk the sources as [`copy_tree`](super::copy_tree) will (same excludes, no symlink
/// followed) and add up what the copy will allocate.
pub fn measure(
    fs: &dyn FsOps,
    root: &Path,
    sources: &[std::path::PathBuf],
    spec: &CopySpec,
) -> Result<Footprint, CopyError> {
    let mut m = Measure {
        fs,
        filter: Filter::new(spec),
        seen: HashSet::new(),
        total: Footprint::default(),
    };
    for rel in sources {
        if m.filter.excluded(rel) {
            continue;
        }
        let rel = Path::new("/").join(rel);
        m.entry(&super::join_root(root, &rel), &rel)?;
    }
    Ok(m.total)
}

struct Measure<'f> {
    fs: &'f dyn FsOps,
    filter: Filter,
    /// (st_dev, st_ino) of multiply linked inodes already counted.
    seen: HashSet<(u64, u64)>,
    total: Footprint,
}

impl Measure<'_> {
    fn entry(&mut self, path: &Path, rel: &Path) -> Result<(), CopyError> {
        let st = lstat(self.fs, path)?;
        match st.kind {
            NodeKind::Dir => {
                self.total.dirs += 1;
                for name in list_dir(self.fs, path)? {
                    let child_rel = rel.join(&name);
                    if !self.filter.excluded(&child_rel) {
                        self.entry(&path.join(&name), &child_rel)?;
                    }
                }
            }
            NodeKind::Socket => {}
            kind => {
                if st.nlink > 1 && !self.seen.insert(st.inode()) {
                    return Ok(());
                }
                self.total.files += 1;
                let cost = match kind {
                    NodeKind::File => pages(st.allocated),
                    // lstat's size of a symlink is its target's length: no readlink,
                    // which would move the link's atime before the copy reads it.
                    NodeKind::Symlink => symlink_pages(st.size as usize),
                    _ => 0,
                };
                self.total.bytes += cost;
                if kind == NodeKind::File {
                    self.total.largest_file = self.total.largest_file.max(cost);
                }
            }
        }
        Ok(())
    }
}

/// Pages a tmpfs charges for a symlink whose target has `len` bytes (without the NUL).
pub fn symlink_pages(len: usize) -> u64 {
    if len + 1 > SHORT_SYMLINK_LEN {
        pages(len as u64 + 1)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::linux::LinuxSys;
    use std::fs;
    use std::os::unix::fs::{symlink, MetadataExt};
    use std::path::PathBuf;

    fn spec(exclude: &[&str]) -> CopySpec {
        CopySpec {
            patterns: vec![],
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            free_source: false,
        }
    }

    fn alloc(path: &Path) -> u64 {
        pages(fs::symlink_metadata(path).unwrap().blocks() * 512)
    }

    #[test]
    fn page_rounding() {
        assert_eq!(pages(0), 0);
        assert_eq!(pages(1), 4096);
        assert_eq!(pages(4096), 4096);
        assert_eq!(pages(4097), 8192);
        assert_eq!(symlink_pages(0), 0);
        assert_eq!(symlink_pages(127), 0, "127 bytes + NUL fit in the inode");
        assert_eq!(symlink_pages(128), 4096);
        assert_eq!(symlink_pages(4095), 4096, "PATH_MAX - 1 is the longest target");
    }

    #[test]
    fn measure_counts_pages_links_once_and_skips_excludes() {
        let r = tempfile::tempdir().unwrap();
        let root = r.path();
        fs::create_dir_all(root.join("usr/share/doc")).unwrap();
        fs::create_dir(root.join("bin")).unwrap();
        fs::write(root.join("bin/small"), b"x").unwrap();
        fs::write(root.join("bin/big"), vec![7u8; 10_000]).unwrap();
        fs::hard_link(root.join("bin/big"), root.join("usr/big-link")).unwrap();
        fs::write(root.join("usr/share/doc/huge"), vec![1u8; 100_000]).unwrap();
        symlink("small", root.join("bin/short")).unwrap();
        symlink("x".repeat(200), root.join("bin/long")).unwrap();
        // Sparse: 1 MiB apparent, nothing allocated.
        let f = fs::File::create(root.join("usr/sparse")).unwrap();
        f.set_len(1 << 20).unwrap();
        drop(f);

        let sources = vec![PathBuf::from("/bin"), PathBuf::from("/usr")];
        let fp = measure(&LinuxSys, root, &sources, &spec(&["/usr/share/doc"])).unwrap();
        let want =
            alloc(&root.join("bin/small")) + alloc(&root.join("bin/big")) + alloc(&root.join("usr/sparse")) + 4096; // the long symlink
        assert_eq!(fp.bytes, want);
        assert!(fp.bytes < 64 * 1024, "holes are free: {fp:?}");
        // small, big (+link once), short, long, sparse
        assert_eq!(fp.files, 5);
        // bin, usr, usr/share (doc excluded)
        assert_eq!(fp.dirs, 3);
        assert_eq!(fp.largest_file, alloc(&root.join("bin/big")));
        assert!(fp.largest_file >= 12288);
    }

    #[test]
    fn measure_reports_missing_source() {
        let r = tempfile::tempdir().unwrap();
        let err = measure(&LinuxSys, r.path(), &[PathBuf::from("/gone")], &spec(&[])).unwrap_err();
        assert_eq!(err.op, "lstat");
        assert_eq!(err.errno, crate::sys::Errno::NOENT);
        assert!(err.path.ends_with("gone"));
    }
}
