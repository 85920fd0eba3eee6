//! [`Sys`] on the real kernel: each method is a thin wrapper that turns the errno into
//! a [`SysError`] naming the operation and the path.

use std::ffi::CString;
use std::path::Path;

use rustix::io::Errno;
use rustix::mount::{MountPropagationFlags, UnmountFlags};

use super::{linux_uevent, Lookup, Procs, UeventSocket, Uevents, Write};
use super::{FsOps, FsStat, Kmod, Make, MountChange, NodeKind, Power, Sys};
use crate::error::SysError;
use crate::table::MountRow;

pub struct LinuxSys;

/// The error of a failed call: `op` on `path`, with its errno (shared by linux_*.rs).
pub(super) fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> SysError + 'a {
    move |e| SysError::new(op, path, e)
}

/// [`err`] for a std::io call.
pub(super) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SysError + 'a {
    move |e| SysError::new(op, path, io_errno(&e))
}

/// errno of the last failed libc call of this thread.
pub(super) fn last_errno() -> Errno {
    io_errno(&std::io::Error::last_os_error())
}

pub(super) fn cstring(op: &'static str, s: &[u8]) -> Result<CString, SysError> {
    CString::new(s).map_err(|_| SysError::new(op, String::from_utf8_lossy(s).into_owned(), Errno::INVAL))
}

impl Sys for LinuxSys {
    fn mount(&self, row: &MountRow) -> Result<(), SysError> {
        let target = Path::new(&row.target);
        self.mkdir_p(target)?;
        let data = cstring("mount", row.data.as_bytes())?;
        let data = (!row.data.is_empty()).then_some(data.as_c_str());
        rustix::mount::mount(row.source.as_str(), target, row.fstype, row.flags, data).map_err(err("mount", target))
    }

    fn umount(&self, path: &Path, detach: bool) -> Result<(), SysError> {
        let flags = if detach {
            UnmountFlags::DETACH
        } else {
            UnmountFlags::empty()
        };
        rustix::mount::unmount(path, flags).map_err(err("umount", path))
    }

    fn mount_change(&self, change: &MountChange) -> Result<(), SysError> {
        match change {
            MountChange::Move { src, dst } => rustix::mount::mount_move(src, dst).map_err(err("mount --move", src)),
            MountChange::Bind { src, dst } => rustix::mount::mount_bind(src, dst).map_err(err("mount --bind", dst)),
            MountChange::Remount { path, data } => {
                let data = cstring("mount", data.as_bytes())?;
                rustix::mount::mount_remount(path, rustix::mount::MountFlags::empty(), data.as_c_str())
                    .map_err(err("mount -o remount", path))
            }
            MountChange::MakeRprivate(path) => {
                let flags = MountPropagationFlags::PRIVATE | MountPropagationFlags::REC;
                rustix::mount::mount_change(path, flags).map_err(err("mount --make-rprivate", path))
            }
        }
    }

    fn mkdir_p(&self, path: &Path) -> Result<(), SysError> {
        std::fs::create_dir_all(path).map_err(io_err("mkdir", path))
    }

    fn chdir(&self, path: &Path) -> Result<(), SysError> {
        rustix::process::chdir(path).map_err(err("chdir", path))
    }

    fn chroot(&self, path: &Path) -> Result<(), SysError> {
        rustix::process::chroot(path).map_err(err("chroot", path))
    }

    fn statfs(&self, path: &Path) -> Result<FsStat, SysError> {
        let st = rustix::fs::statfs(path).map_err(err("statfs", path))?;
        let vfs = rustix::fs::statvfs(path).map_err(err("statvfs", path))?;
        Ok(FsStat {
            // f_type is signed on some ABIs; the magics we compare fit in 32 bits.
            magic: st.f_type as u64 & 0xffff_ffff,
            available: vfs.f_bavail.saturating_mul(vfs.f_frsize),
            used: vfs.f_blocks.saturating_sub(vfs.f_bfree).saturating_mul(vfs.f_frsize),
        })
    }

    fn unlink(&self, path: &Path, dir: bool) -> Result<(), SysError> {
        let op = if dir { "rmdir" } else { "unlink" };
        FsOps::remove(self, path, dir).map_err(err(op, path))
    }

    fn read_to_string(&self, path: &Path) -> Result<String, SysError> {
        let bytes = self.read(path)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, SysError> {
        std::fs::read(path).map_err(io_err("read", path))
    }

    fn write(&self, path: &Path, data: &[u8], how: Write) -> Result<(), SysError> {
        match how {
            Write::Create => {
                if let Some(parent) = path.parent() {
                    self.mkdir_p(parent)?;
                }
                std::fs::write(path, data).map_err(io_err("write", path))
            }
            Write::Replace => {
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&tmp, data).map_err(io_err("write", &tmp))?;
                std::fs::rename(&tmp, path).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    io_err("rename", path)(e)
                })
            }
            Write::Append => {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(io_err("open", path))?;
                // One write(2) of the whole line: O_APPEND keeps concurrent helpers'
                // lines whole.
                std::io::Write::write_all(&mut file, data).map_err(io_err("write", path))
            }
        }
    }

    fn mknod_console(&self, path: &Path) -> Result<(), SysError> {
        let node = Make::Node {
            kind: NodeKind::CharDev,
            perm: 0o600,
            rdev: rustix::fs::makedev(5, 1) as u64,
        };
        match FsOps::make(self, path, &node) {
            Ok(()) | Err(Errno::EXIST) => Ok(()),
            Err(e) => Err(SysError::new("mknod", path, e)),
        }
    }

    fn power(&self, action: Power) -> Result<(), SysError> {
        super::linux_proc::power(action)
    }
    fn klog(&self) -> Result<Vec<u8>, SysError> {
        super::linux_proc::klog()
    }
    fn uevent_open(&self) -> Result<UeventSocket, SysError> {
        linux_uevent::uevent_open()
    }
    fn uevent_recv(&self, sock: &UeventSocket, timeout: std::time::Duration) -> Result<Option<Uevents>, SysError> {
        linux_uevent::uevent_recv(sock, timeout)
    }

    fn look(&self) -> &dyn Lookup {
        self
    }
    fn procs(&self) -> &dyn Procs {
        self
    }
    fn kmod(&self) -> &dyn Kmod {
        self
    }
    fn fs(&self) -> &dyn super::FsOps {
        self
    }
}

pub(super) fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_creates_replaces_and_appends() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("a/b/file");
        LinuxSys.write(&path, b"one\n", Write::Create).unwrap();
        LinuxSys.write(&path, b"two\n", Write::Append).unwrap();
        assert_eq!(LinuxSys.read_to_string(&path).unwrap(), "one\ntwo\n");
        LinuxSys.write(&path, b"new\n", Write::Replace).unwrap();
        assert_eq!(LinuxSys.read(&path).unwrap(), b"new\n");
        // The temporary is gone: only the file is left.
        assert_eq!(std::fs::read_dir(t.path().join("a/b")).unwrap().count(), 1);
        // Replace needs the parent; the error names the temporary's write.
        let e = LinuxSys
            .write(&t.path().join("none/file"), b"x", Write::Replace)
            .unwrap_err();
        assert_eq!((e.op, e.errno), ("write", Errno::NOENT));
    }

    #[test]
    fn the_boot_views_of_lstat_readlink_and_unlink_name_op_and_path() {
        let t = tempfile::tempdir().unwrap();
        let (file, link, dir) = (t.path().join("f"), t.path().join("l"), t.path().join("d"));
        LinuxSys.write(&file, b"abc", Write::Create).unwrap();
        std::os::unix::fs::symlink("f", &link).unwrap();
        LinuxSys.mkdir_p(&dir).unwrap();
        let look = LinuxSys.look();
        assert_eq!(look.lstat(&file).unwrap().kind, super::super::Kind::File);
        assert_eq!(look.lstat(&link).unwrap().kind, super::super::Kind::Symlink);
        assert_eq!(look.lstat(&dir).unwrap().kind, super::super::Kind::Dir);
        assert_eq!(look.read_link(&link).unwrap(), Path::new("f"));
        let listed: Vec<_> = look
            .list(t.path())
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        use super::super::Kind;
        let want = [("d", Kind::Dir), ("f", Kind::File), ("l", Kind::Symlink)];
        assert_eq!(listed, want.map(|(n, k)| (n.into(), k)));
        assert_eq!(FsOps::list_dir(&LinuxSys, t.path()).unwrap(), ["d", "f", "l"]);
        let e = look.list(&file).unwrap_err();
        assert_eq!((e.op, e.errno), ("opendir", Errno::NOTDIR));
        assert!(look.exists(&link).unwrap() && !look.exists(&t.path().join("f/x")).unwrap());
        let e = look.lstat(&t.path().join("none")).unwrap_err();
        assert_eq!((e.op, e.errno), ("stat", Errno::NOENT));
        let e = LinuxSys.unlink(&dir, false).unwrap_err();
        assert_eq!((e.op, e.errno), ("unlink", Errno::ISDIR));
        LinuxSys.unlink(&dir, true).unwrap();
        let e = LinuxSys.unlink(&dir, true).unwrap_err();
        assert_eq!(
            (e.op, e.path.as_path(), e.errno),
            ("rmdir", dir.as_path(), Errno::NOENT)
        );
    }

    #[test]
    fn executable_in_follows_links_inside_the_root() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let t = tempfile::tempdir().unwrap();
        let (root, outside) = (t.path().join("root"), t.path().join("outside"));
        LinuxSys
            .write(&root.join("usr/sbin/zinit"), b"#!", Write::Create)
            .unwrap();
        LinuxSys
            .write(&root.join("usr/sbin/plain"), b"x", Write::Create)
            .unwrap();
        LinuxSys.write(&outside.join("tool"), b"#!", Write::Create).unwrap();
        for f in [root.join("usr/sbin/zinit"), outside.join("tool")] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // Absolute targets are taken from the root, as after switch_root.
        symlink("/usr/sbin", root.join("sbin")).unwrap();
        symlink(&outside, root.join("out")).unwrap();
        let look = LinuxSys.look();
        assert!(look.executable_in(&root, Path::new("/sbin/zinit")).unwrap());
        assert!(
            !look.executable_in(&root, Path::new("/sbin/plain")).unwrap(),
            "no x bit"
        );
        assert!(!look.executable_in(&root, Path::new("/sbin/none")).unwrap());
        assert!(
            !look.executable_in(&root, Path::new("/out/tool")).unwrap(),
            "resolved in the root, not on the host"
        );
    }

    #[test]
    fn a_directory_larger_than_one_getdents_buffer_lists_whole_and_sorted() {
        let t = tempfile::tempdir().unwrap();
        // ~600 entries of 40-byte names: several 8 KiB getdents buffers.
        let names: Vec<String> = (0..600).rev().map(|i| format!("{i:0>32}-entry")).collect();
        for n in &names {
            LinuxSys.write(&t.path().join(n), b"", Write::Create).unwrap();
        }
        let listed = LinuxSys.look().list_names(t.path()).unwrap();
        let mut want = names.clone();
        want.sort();
        assert_eq!(listed, want.iter().map(std::ffi::OsString::from).collect::<Vec<_>>());
    }
}
