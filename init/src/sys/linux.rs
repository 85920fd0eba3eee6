//! [`Sys`] on the real kernel: each method is a thin wrapper that turns the errno into
//! a [`SysError`] naming the operation and the path.

use std::ffi::{CString, OsString};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode};
use rustix::io::Errno;
use rustix::mount::{MountPropagationFlags, UnmountFlags};

use super::{linux_dev, Entry, UeventSocket, Uevents};
use super::{FsStat, Kind, Kmod, MountChange, Power, Spawn, Stat, Sys, Version};
use crate::error::SysError;
use crate::table::MountRow;

pub struct LinuxSys;

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> SysError + 'a {
    move |e| SysError::new(op, path, e)
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
        std::fs::create_dir_all(path).map_err(|e| SysError::new("mkdir", path, io_errno(&e)))
    }

    fn chdir(&self, path: &Path) -> Result<(), SysError> {
        rustix::process::chdir(path).map_err(err("chdir", path))
    }

    fn chroot(&self, path: &Path) -> Result<(), SysError> {
        rustix::process::chroot(path).map_err(err("chroot", path))
    }

    fn pid(&self) -> u32 {
        rustix::process::getpid().as_raw_nonzero().get() as u32
    }

    fn uname_release(&self) -> String {
        rustix::system::uname().release().to_string_lossy().into_owned()
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

    fn lstat(&self, path: &Path) -> Result<Stat, SysError> {
        let st = rustix::fs::lstat(path).map_err(err("stat", path))?;
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => Kind::Dir,
            FileType::RegularFile => Kind::File,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        };
        Ok(Stat {
            kind,
            mode: st.st_mode & 0o7777,
            dev: st.st_dev,
            bytes: st.st_blocks as u64 * 512,
        })
    }

    fn exists(&self, path: &Path) -> Result<bool, SysError> {
        match rustix::fs::stat(path) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(false),
            Err(e) => Err(SysError::new("stat", path, e)),
        }
    }

    fn version(&self, path: &Path) -> Result<Version, SysError> {
        let st = rustix::fs::stat(path).map_err(err("stat", path))?;
        Ok(Version {
            size: st.st_size as u64,
            mtime: st.st_mtime as i64,
            mtime_nsec: st.st_mtime_nsec as i64,
        })
    }

    fn replace_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, data).map_err(|e| SysError::new("write", &tmp, io_errno(&e)))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            SysError::new("rename", path, io_errno(&e))
        })
    }

    fn realpath(&self, path: &Path) -> Result<PathBuf, SysError> {
        std::fs::canonicalize(path).map_err(|e| SysError::new("realpath", path, io_errno(&e)))
    }

    fn executable_in(&self, root: &Path, path: &Path) -> Result<bool, SysError> {
        let Some(full) = resolve_in(root, path)? else {
            return Ok(false);
        };
        match rustix::fs::lstat(&full) {
            Ok(st) => Ok(FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && st.st_mode & 0o111 != 0),
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(false),
            Err(e) => Err(SysError::new("stat", &full, e)),
        }
    }

    fn unlink(&self, path: &Path, dir: bool) -> Result<(), SysError> {
        if dir {
            rustix::fs::rmdir(path).map_err(err("rmdir", path))
        } else {
            rustix::fs::unlink(path).map_err(err("unlink", path))
        }
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<OsString>, SysError> {
        let rd = std::fs::read_dir(path).map_err(|e| SysError::new("opendir", path, io_errno(&e)))?;
        let mut names = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| SysError::new("readdir", path, io_errno(&e)))?;
            names.push(ent.file_name());
        }
        names.sort();
        Ok(names)
    }

    fn read_to_string(&self, path: &Path) -> Result<String, SysError> {
        let bytes = std::fs::read(path).map_err(|e| SysError::new("read", path, io_errno(&e)))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, SysError> {
        std::fs::read(path).map_err(|e| SysError::new("read", path, io_errno(&e)))
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        if let Some(parent) = path.parent() {
            self.mkdir_p(parent)?;
        }
        std::fs::write(path, data).map_err(|e| SysError::new("write", path, io_errno(&e)))
    }

    fn mknod_console(&self, path: &Path) -> Result<(), SysError> {
        let dev = rustix::fs::makedev(5, 1);
        match rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o600),
            dev,
        ) {
            Ok(()) | Err(Errno::EXIST) => Ok(()),
            Err(e) => Err(SysError::new("mknod", path, e)),
        }
    }

    fn stdio_open(&self) -> bool {
        super::linux_proc::stdio_open()
    }
    fn reopen_stdio(&self, console: &Path) -> Result<(), SysError> {
        super::linux_proc::reopen_stdio(console)
    }
    fn reset_signals(&self) -> Result<(), SysError> {
        super::linux_proc::reset_signals()
    }
    fn exec(&self, path: &Path, argv: &[String], env: &[String]) -> Result<(), SysError> {
        super::linux_proc::exec(path, argv, env)
    }
    fn spawn_in(&self, cmd: &Spawn) -> Result<u32, SysError> {
        super::linux_proc::spawn_in(cmd)
    }
    fn wait_child(&self, pid: u32, timeout: std::time::Duration) -> Result<Option<i32>, SysError> {
        super::linux_proc::wait_child(pid, timeout)
    }
    fn reap(&self) -> u32 {
        super::linux_proc::reap()
    }
    fn kill_group(&self, pgid: u32, signal: i32) -> Result<(), SysError> {
        super::linux_proc::kill_group(pgid, signal)
    }
    fn kmod(&self) -> &dyn Kmod {
        self
    }
    fn power(&self, action: Power) -> Result<(), SysError> {
        super::linux_proc::power(action)
    }
    fn klog(&self) -> Result<Vec<u8>, SysError> {
        super::linux_proc::klog()
    }

    fn fs(&self) -> &dyn super::FsOps {
        self
    }

    // The device-facing calls (linux_dev.rs).
    fn list_kinds(&self, path: &Path) -> Result<Vec<Entry>, SysError> {
        linux_dev::list_kinds(path)
    }
    fn read_link(&self, path: &Path) -> Result<PathBuf, SysError> {
        linux_dev::read_link(path)
    }
    fn read_at(&self, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, SysError> {
        linux_dev::read_at(path, offset, len)
    }
    fn append_file(&self, path: &Path, data: &[u8]) -> Result<(), SysError> {
        linux_dev::append_file(path, data)
    }
    fn uevent_open(&self) -> Result<UeventSocket, SysError> {
        linux_dev::uevent_open()
    }
    fn uevent_recv(&self, sock: &UeventSocket, timeout: std::time::Duration) -> Result<Option<Uevents>, SysError> {
        linux_dev::uevent_recv(sock, timeout)
    }
}

/// `path` as it will resolve once `root` is `/`: follow symlinks (in every component)
/// with absolute targets re-rooted. `None` for a loop or a dangling link.
fn resolve_in(root: &Path, path: &Path) -> Result<Option<PathBuf>, SysError> {
    let mut todo: Vec<std::ffi::OsString> = path.components().rev().filter_map(comp_name).collect();
    let mut cur = PathBuf::from("/");
    let mut hops = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        let full = root.join(next.strip_prefix("/").unwrap_or(&next));
        match std::fs::read_link(&full) {
            Ok(target) => {
                hops += 1;
                if hops > 40 {
                    return Ok(None);
                }
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                todo.extend(target.components().rev().filter_map(comp_name));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => cur = next, // not a link
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(SysError::new("readlink", &full, io_errno(&e))),
        }
    }
    Ok(Some(root.join(cur.strip_prefix("/").unwrap_or(&cur))))
}

fn comp_name(c: std::path::Component<'_>) -> Option<std::ffi::OsString> {
    match c {
        std::path::Component::Normal(n) => Some(n.to_owned()),
        std::path::Component::ParentDir => Some("..".into()),
        _ => None,
    }
}

pub(super) fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO))
}
