//! Walks a rootfs directory into archive entries. Uses lstat throughout: a symlink
//! in the tree is packed as a symlink, never followed (an absolute link such as
//! `/bin/sh -> /bin/busybox` would otherwise point into the build host).

use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::cpio::{Entry, EntryKind, FileData};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("rootfs {}: {cause}", path.display())]
    Root { path: PathBuf, cause: io::Error },
    #[error("rootfs {} is not a directory", path.display())]
    RootNotDir { path: PathBuf },
    /// cpio can carry a socket, but nothing in the initramfs can use one: the
    /// listening process is gone. Almost always a build-host leftover.
    #[error("cannot pack socket {}", path.display())]
    Socket { path: PathBuf },
    #[error("{}: {cause}", path.display())]
    Io { path: PathBuf, cause: io::Error },
    #[error("ownership manifest {}: {reason}", path.display())]
    Owners { path: PathBuf, reason: String },
}

/// Splits a `dev_t` as glibc's `gnu_dev_major`/`gnu_dev_minor` do (12-bit major and
/// 20-bit minor, each spread over the low and high halves).
pub fn dev_major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)) as u32
}

pub fn dev_minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)) as u32
}

/// All entries under `root` (not `root` itself), sorted by archive path. Regular
/// files are opened once here so that an unreadable file fails the build before any
/// output is written; their contents are read later, by the writer.
pub fn scan(root: &Path) -> Result<Vec<Entry>, ManifestError> {
    let meta = fs::metadata(root).map_err(|source| ManifestError::Root {
        path: root.to_owned(),
        cause: source,
    })?;
    if !meta.is_dir() {
        return Err(ManifestError::RootNotDir { path: root.to_owned() });
    }
    let mut out = Vec::new();
    walk(root, Path::new(""), &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `scan`, then the owners and modes recorded in the ownership manifest beside the
/// rootfs (`<rootfs>.owners`, written by the Alpine installer), when there is one:
/// an ordinary user cannot chown files on the host, so that is where they live.
/// `root_owned`: entries without an owner record get uid/gid 0; recorded ones keep
/// the owner the installer recorded (/etc/shadow's `shadow` group, daemons' dirs).
pub fn scan_with_owners(root: &Path, root_owned: bool) -> Result<Vec<Entry>, ManifestError> {
    let mut entries = scan(root)?;
    if root_owned {
        for e in &mut entries {
            (e.uid, e.gid) = (0, 0);
        }
    }
    let sidecar = crate::apk::owners::sidecar_for(root);
    if sidecar.exists() {
        let owners = crate::apk::owners::Owners::load(&sidecar)
            .map_err(|reason| ManifestError::Owners { path: sidecar, reason })?;
        owners.apply(&mut entries);
    }
    Ok(entries)
}

fn walk(host_dir: &Path, rel_dir: &Path, out: &mut Vec<Entry>) -> Result<(), ManifestError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| ManifestError::Io { path, cause: source }
    };
    let mut children: Vec<_> = fs::read_dir(host_dir)
        .map_err(io_err(host_dir))?
        .map(|d| d.map(|d| d.file_name()))
        .collect::<Result<_, _>>()
        .map_err(io_err(host_dir))?;
    // Sorted so that the walk (and its first error) does not depend on readdir order.
    children.sort();
    for child in children {
        let host = host_dir.join(&child);
        let rel = rel_dir.join(&child);
        let meta = fs::symlink_metadata(&host).map_err(io_err(&host))?;
        let kind = entry_kind(&host, &meta)?;
        let is_dir = kind == EntryKind::Dir;
        let link_key = (matches!(kind, EntryKind::File(_)) && meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
        out.push(Entry {
            name: rel.clone(),
            kind,
            perm: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            mtime: meta.mtime(),
            link_key,
        });
        if is_dir {
            walk(&host, &rel, out)?;
        }
    }
    Ok(())
}

fn entry_kind(host: &Path, meta: &Metadata) -> Result<EntryKind, ManifestError> {
    let ft = meta.file_type();
    let dev = || (dev_major(meta.rdev()), dev_minor(meta.rdev()));
    Ok(if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        File::open(host).map_err(|source| ManifestError::Io {
            path: host.to_owned(),
            cause: source,
        })?;
        EntryKind::File(FileData::Path(host.to_owned()))
    } else if ft.is_symlink() {
        let target = fs::read_link(host).map_err(|source| ManifestError::Io {
            path: host.to_owned(),
            cause: source,
        })?;
        EntryKind::Symlink(target)
    } else if ft.is_char_device() {
        let (major, minor) = dev();
        EntryKind::CharDev { major, minor }
    } else if ft.is_block_device() {
        let (major, minor) = dev();
        EntryKind::BlockDev { major, minor }
    } else if ft.is_fifo() {
        EntryKind::Fifo
    } else {
        return Err(ManifestError::Socket { path: host.to_owned() });
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn dev_split_matches_rustix() {
        for (maj, min) in [(5, 1), (8, 17), (259, 0), (4095, 1_048_575), (4096, 256)] {
            let dev = rustix::fs::makedev(maj, min);
            assert_eq!((dev_major(dev), dev_minor(dev)), (maj, min));
        }
    }

    #[test]
    fn walk_is_sorted_and_lstat_based() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("usr/bin")).unwrap();
        fs::write(r.join("usr/bin/busybox"), b"bb").unwrap();
        symlink("/usr/bin/busybox", r.join("sh")).unwrap();
        symlink("/nonexistent", r.join("dangling")).unwrap();
        fs::hard_link(r.join("usr/bin/busybox"), r.join("usr/bin/ls")).unwrap();
        let entries = scan(r).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.to_str().unwrap()).collect();
        assert_eq!(
            names,
            ["dangling", "sh", "usr", "usr/bin", "usr/bin/busybox", "usr/bin/ls"]
        );
        assert_eq!(entries[1].kind, EntryKind::Symlink("/usr/bin/busybox".into()));
        assert!(entries[4].link_key.is_some());
        assert_eq!(entries[4].link_key, entries[5].link_key);
        assert_eq!(entries[2].link_key, None);
    }

    #[test]
    fn missing_root_names_path() {
        let e = scan(Path::new("/nonexistent/rootfs")).unwrap_err().to_string();
        assert!(e.starts_with("rootfs /nonexistent/rootfs: "), "{e}");
    }

    #[test]
    fn socket_names_path() {
        let t = tempfile::tempdir().unwrap();
        let sock = t.path().join("run/s.sock");
        fs::create_dir(t.path().join("run")).unwrap();
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = scan(t.path()).unwrap_err().to_string();
        assert_eq!(e, format!("cannot pack socket {}", sock.display()));
    }
}
