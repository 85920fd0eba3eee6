//! Copy the debug tree over the new root without ever writing outside it.
//!
//! Every parent directory is opened with openat2(RESOLVE_IN_ROOT) from the new root's
//! fd, so a symlink in the new root (absolute or full of `..`) resolves as it will
//! after switch_root: inside. The last component is created or opened with O_NOFOLLOW
//! relative to that parent, so a symlink there is replaced, never written through.
//! Like the shell's `cp -r /debug/* /mnt/root`: top-level dot-files (the marker among
//! them) are skipped, an existing file keeps its mode and owner, a new one gets the
//! source's mode.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{
    mkdirat, openat, openat2, statat, symlinkat, unlinkat, AtFlags, FileType, Mode, OFlags, ResolveFlags, CWD,
};
use rustix::io::Errno;

use crate::copy::CopyError;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OverlayStats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
}

/// Copy the contents of `src` over `root`.
pub fn copy_over(src: &Path, root: &Path) -> Result<OverlayStats, CopyError> {
    let root_fd = openat(
        CWD,
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CopyError::new("open", root, e))?;
    let mut stats = OverlayStats::default();
    for name in sorted_names(src)? {
        if name.to_string_lossy().starts_with('.') {
            continue; // the shell's `/debug/*` glob skipped them, the marker included
        }
        copy_entry(&root_fd, root, &src.join(&name), Path::new(&name), &mut stats)?;
    }
    Ok(stats)
}

fn copy_entry(
    root_fd: &OwnedFd,
    root: &Path,
    src: &Path,
    rel: &Path,
    stats: &mut OverlayStats,
) -> Result<(), CopyError> {
    let md = std::fs::symlink_metadata(src).map_err(|e| io_err("lstat", src, e))?;
    let shown = root.join(rel);
    let parent = parent_fd(root_fd, rel, &shown)?;
    let name = rel.file_name().unwrap_or_default();
    let mode = Mode::from_raw_mode(md.permissions().mode() & 0o7777);
    if md.is_dir() {
        match mkdirat(&parent, name, mode) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                let st =
                    statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| CopyError::new("stat", &shown, e))?;
                let kind = FileType::from_raw_mode(st.st_mode);
                // A symlinked dir (bin -> usr/bin) is followed, inside the root; a link
                // that resolves to no directory in the root is replaced by a real one.
                let usable_link = kind == FileType::Symlink && dir_in_root(root_fd, rel);
                match kind {
                    FileType::Directory => {}
                    FileType::Symlink if usable_link => {}
                    _ => {
                        unlinkat(&parent, name, AtFlags::empty()).map_err(|e| CopyError::new("unlink", &shown, e))?;
                        mkdirat(&parent, name, mode).map_err(|e| CopyError::new("mkdir", &shown, e))?;
                    }
                }
            }
            Err(e) => return Err(CopyError::new("mkdir", &shown, e)),
        }
        stats.dirs += 1;
        for child in sorted_names(src)? {
            copy_entry(root_fd, root, &src.join(&child), &rel.join(&child), stats)?;
        }
    } else if md.file_type().is_symlink() {
        let target = std::fs::read_link(src).map_err(|e| io_err("readlink", src, e))?;
        remove_non_dir(&parent, name, &shown)?;
        symlinkat(&target, &parent, name).map_err(|e| CopyError::new("symlink", &shown, e))?;
        stats.symlinks += 1;
    } else if md.is_file() {
        let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let dst = match openat(&parent, name, flags | OFlags::TRUNC, Mode::empty()) {
            Ok(fd) => fd, // overwrite in place: keeps the target's mode and owner, as cp does
            Err(Errno::NOENT) => openat(&parent, name, flags | OFlags::CREATE | OFlags::EXCL, mode)
                .map_err(|e| CopyError::new("create", &shown, e))?,
            // A symlink (ELOOP) or something else that is not a file: replace it.
            Err(Errno::LOOP) | Err(Errno::ISDIR) | Err(Errno::NXIO) | Err(Errno::ACCESS) => {
                remove_non_dir(&parent, name, &shown)?;
                openat(&parent, name, flags | OFlags::CREATE | OFlags::EXCL, mode)
                    .map_err(|e| CopyError::new("create", &shown, e))?
            }
            Err(e) => return Err(CopyError::new("open", &shown, e)),
        };
        let mut from = File::open(src).map_err(|e| io_err("open", src, e))?;
        let mut to = File::from(dst);
        stats.bytes += io::copy(&mut from, &mut to).map_err(|e| io_err("write", &shown, e))?;
        stats.files += 1;
    }
    // FIFOs and device nodes on a debug disk are not something to inject: skipped.
    let _ = md.mode();
    Ok(())
}

/// Whether `rel` resolves, inside the root, to a directory.
fn dir_in_root(root_fd: &OwnedFd, rel: &Path) -> bool {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    openat2(
        root_fd,
        rel,
        flags,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .is_ok()
}

/// The directory that will hold `rel`, resolved inside the root.
fn parent_fd(root_fd: &OwnedFd, rel: &Path, shown: &Path) -> Result<OwnedFd, CopyError> {
    let parent = rel
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    openat2(
        root_fd,
        parent,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| CopyError::new("open", shown.parent().unwrap_or(shown), e))
}

fn remove_non_dir(parent: &OwnedFd, name: &std::ffi::OsStr, shown: &Path) -> Result<(), CopyError> {
    match unlinkat(parent, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(CopyError::new("unlink", shown, e)),
    }
}

fn sorted_names(dir: &Path) -> Result<Vec<std::ffi::OsString>, CopyError> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io_err("opendir", dir, e))? {
        names.push(e.map_err(|e| io_err("readdir", dir, e))?.file_name());
    }
    names.sort();
    Ok(names)
}

fn io_err(op: &'static str, path: &Path, e: io::Error) -> CopyError {
    CopyError::new(
        op,
        PathBuf::from(path),
        Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn overwrites_adds_and_never_escapes_the_root() {
        let t = tempfile::tempdir().unwrap();
        let (src, root, outside) = (t.path().join("debug"), t.path().join("root"), t.path().join("outside"));
        for d in [
            src.join("etc/zinit"),
            src.join("usr/bin"),
            src.join("evil"),
            src.join("up"),
            root.join("etc/zinit"),
            outside.clone(),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        fs::create_dir_all(root.join("usr")).unwrap();
        // The new root's existing unit (mode 0600 kept on overwrite) and traps:
        fs::write(root.join("etc/zinit/sshd.yaml"), "old").unwrap();
        fs::set_permissions(root.join("etc/zinit/sshd.yaml"), fs::Permissions::from_mode(0o600)).unwrap();
        symlink(&outside, root.join("evil")).unwrap(); // absolute, points out of the root
        symlink("../../../../..", root.join("up")).unwrap(); // relative, climbs out
        symlink(outside.join("victim"), root.join("usr/bin/tool")).ok();
        fs::create_dir_all(root.join("usr/bin")).unwrap();
        symlink(outside.join("victim"), root.join("usr/bin/tool")).unwrap(); // a file name that is a link out

        fs::write(src.join(".zero-os-debug"), "").unwrap();
        fs::write(src.join(".hidden"), "").unwrap();
        fs::write(src.join("etc/zinit/sshd.yaml"), "new unit").unwrap();
        fs::write(src.join("usr/bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
        fs::set_permissions(src.join("usr/bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(src.join("evil/payload"), "x").unwrap();
        fs::write(src.join("up/payload"), "y").unwrap();

        let stats = copy_over(&src, &root).unwrap();
        assert_eq!(stats.files, 4);
        assert_eq!(
            fs::read_to_string(root.join("etc/zinit/sshd.yaml")).unwrap(),
            "new unit"
        );
        assert_eq!(
            fs::metadata(root.join("etc/zinit/sshd.yaml"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let tool = root.join("usr/bin/tool");
        assert!(
            fs::symlink_metadata(&tool).unwrap().is_file(),
            "the link was replaced, not followed"
        );
        assert_eq!(fs::metadata(&tool).unwrap().permissions().mode() & 0o777, 0o755);
        assert!(!root.join(".zero-os-debug").exists() && !root.join(".hidden").exists());
        // Nothing landed outside the root: the links resolved inside it.
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "wrote outside the root");
        assert!(!t.path().join("payload").exists());
        // `evil` pointed nowhere inside the root: replaced by a real directory. `up`
        // climbs out, which inside the root means the root itself.
        assert!(fs::symlink_metadata(root.join("evil")).unwrap().is_dir());
        assert_eq!(fs::read_to_string(root.join("evil/payload")).unwrap(), "x");
        assert_eq!(fs::read_to_string(root.join("payload")).unwrap(), "y");
    }
}
