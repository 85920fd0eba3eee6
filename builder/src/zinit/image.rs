//! The image as lint sees it: the rootfs directory being packed with the extras laid
//! over it, resolved the way the guest's kernel will (symlinks inside the image,
//! absolute targets from the image's `/`), so `sh -> /bin/busybox` counts as present
//! only if the image really has `/bin/busybox`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::cpio::FileData;
use crate::ExtraEntry;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File { executable: bool },
    Dir,
    Symlink(PathBuf),
    Other,
}

/// Symlink hops before giving up (the kernel's limit is 40).
const MAX_HOPS: usize = 40;

pub struct ImageView {
    rootfs: Option<PathBuf>,
    overlay: BTreeMap<PathBuf, Node>,
    /// Parents of overlay paths: directories even when the rootfs lacks them.
    overlay_dirs: BTreeSet<PathBuf>,
}

impl ImageView {
    /// `rootfs` (may be None: only the extras), with `extras` replacing its entries.
    pub fn new(rootfs: Option<&Path>, extras: &[ExtraEntry]) -> ImageView {
        let mut overlay = BTreeMap::new();
        let mut overlay_dirs = BTreeSet::new();
        for e in extras {
            let (path, node) = match e {
                ExtraEntry::File { path, source, mode } => {
                    let mode = mode.unwrap_or_else(|| match source {
                        FileData::Path(p) => fs::metadata(p).map_or(0, |m| m.permissions().mode()),
                        FileData::Bytes(_) => 0o644,
                    });
                    (
                        path,
                        Node::File {
                            executable: mode & 0o111 != 0,
                        },
                    )
                }
                ExtraEntry::Dir { path, .. } => (path, Node::Dir),
                ExtraEntry::Symlink { path, target } => (path, Node::Symlink(target.clone())),
                ExtraEntry::CharDev { path, .. } | ExtraEntry::BlockDev { path, .. } => (path, Node::Other),
            };
            let rel = relative(path);
            let mut parent = rel.parent();
            while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
                overlay_dirs.insert(p.to_path_buf());
                parent = p.parent();
            }
            overlay.insert(rel, node);
        }
        ImageView {
            rootfs: rootfs.map(Path::to_path_buf),
            overlay,
            overlay_dirs,
        }
    }

    fn node(&self, rel: &Path) -> Option<Node> {
        if let Some(n) = self.overlay.get(rel) {
            return Some(n.clone());
        }
        if let Some(meta) = self.rootfs.as_ref().and_then(|r| r.join(rel).symlink_metadata().ok()) {
            let ft = meta.file_type();
            return Some(if ft.is_symlink() {
                let target = fs::read_link(self.rootfs.as_ref()?.join(rel)).ok()?;
                Node::Symlink(target)
            } else if ft.is_dir() {
                Node::Dir
            } else if ft.is_file() {
                Node::File {
                    executable: meta.permissions().mode() & 0o111 != 0,
                }
            } else {
                Node::Other
            });
        }
        self.overlay_dirs.contains(rel).then_some(Node::Dir)
    }

    /// `Ok` when the absolute image path names an executable regular file (after
    /// symlinks); else why not, in words for the lint message.
    pub fn executable(&self, path: &str) -> Result<(), String> {
        let mut todo: Vec<PathBuf> = components(Path::new(path));
        todo.reverse();
        let mut cur = PathBuf::new();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            if c.as_os_str() == ".." {
                cur.pop();
                continue;
            }
            let next = cur.join(&c);
            match self.node(&next) {
                None => return Err(format!("/{} does not exist in the image", next.display())),
                Some(Node::Symlink(target)) => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Err(format!("too many symlinks at /{}", next.display()));
                    }
                    if target.is_absolute() {
                        cur = PathBuf::new();
                    }
                    let mut t = components(&target);
                    t.reverse();
                    todo.extend(t);
                }
                Some(Node::Dir) => cur = next,
                Some(Node::File { executable }) if todo.is_empty() => {
                    return if executable {
                        Ok(())
                    } else {
                        Err(format!("/{} is not executable", next.display()))
                    };
                }
                Some(_) if !todo.is_empty() => return Err(format!("/{} is not a directory", next.display())),
                Some(_) => return Err(format!("/{} is not a regular file", next.display())),
            }
        }
        Err(format!("/{} is a directory", cur.display()))
    }

    /// Find `program` as exec(3p) would: a name with `/` is a path (relative ones from
    /// `cwd`), a bare name is looked up in each directory of `path_var`. Returns the
    /// path that was found.
    pub fn find_program(&self, program: &str, path_var: &str, cwd: &str) -> Result<String, String> {
        if program.contains('/') {
            let full = if program.starts_with('/') {
                program.to_string()
            } else {
                format!("{}/{program}", cwd.trim_end_matches('/'))
            };
            return self.executable(&full).map(|()| full);
        }
        for dir in path_var.split(':').filter(|d| d.starts_with('/')) {
            let full = format!("{}/{program}", dir.trim_end_matches('/'));
            if self.executable(&full).is_ok() {
                return Ok(full);
            }
        }
        Err(format!(
            "`{program}` is not in any PATH directory of the image ({path_var})"
        ))
    }
}

fn relative(p: &Path) -> PathBuf {
    components(p).into_iter().collect()
}

/// Normal and `..` components of `p` (root and `.` dropped).
fn components(p: &Path) -> Vec<PathBuf> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(PathBuf::from(s)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_like_the_guest() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("bin")).unwrap();
        fs::create_dir_all(r.join("usr/bin")).unwrap();
        fs::write(r.join("bin/busybox"), "x").unwrap();
        fs::set_permissions(r.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(r.join("bin/data"), "x").unwrap();
        symlink("/bin/busybox", r.join("bin/sh")).unwrap();
        symlink("../../bin/busybox", r.join("usr/bin/env")).unwrap();
        symlink("/bin/nothing", r.join("bin/broken")).unwrap();
        symlink("loop", r.join("bin/loop")).unwrap();
        // The host's /bin/busybox must not count: an absolute target is the image's.
        symlink("/etc/hostname", r.join("bin/host")).unwrap();
        let extras = vec![ExtraEntry::File {
            path: "/sbin/zinit".into(),
            source: FileData::Bytes(vec![]),
            mode: Some(0o755),
        }];
        let v = ImageView::new(Some(r), &extras);
        assert_eq!(v.executable("/bin/sh"), Ok(()));
        assert_eq!(v.executable("/usr/bin/env"), Ok(()));
        assert_eq!(v.executable("/sbin/zinit"), Ok(()));
        assert!(v.executable("/bin/data").unwrap_err().contains("not executable"));
        assert!(v
            .executable("/bin/broken")
            .unwrap_err()
            .contains("/bin/nothing does not exist"));
        assert!(v.executable("/bin/loop").unwrap_err().contains("too many symlinks"));
        assert!(v.executable("/bin/host").unwrap_err().contains("/etc does not exist"));
        assert!(v.executable("/bin").unwrap_err().contains("directory"));
        let path = "/usr/sbin:/usr/bin:/sbin:/bin";
        assert_eq!(v.find_program("env", path, "/"), Ok("/usr/bin/env".into()));
        assert_eq!(v.find_program("zinit", path, "/"), Ok("/sbin/zinit".into()));
        assert_eq!(v.find_program("../bin/sh", path, "/usr"), Ok("/usr/../bin/sh".into()));
        assert!(v
            .find_program("udevd", path, "/")
            .unwrap_err()
            .contains("not in any PATH"));
    }
}
