//! One recorded [`Sys`](super::Sys) call: a typed entry per syscall, shown as the
//! shell-like line an operator would read, and named by the (op, path) a test fails it by.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::record_fsops::FsCall;
use super::{MountChange, Power, Spawn, FOREVER};
use crate::table::MountRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Mount(MountRow),
    MountChange(MountChange),
    Umount {
        path: PathBuf,
        detach: bool,
    },
    Mkdir(PathBuf),
    MknodConsole(PathBuf),
    Read(PathBuf),
    Write {
        path: PathBuf,
        len: usize,
    },
    /// unlink(2), or rmdir(2) when `dir`.
    Unlink {
        path: PathBuf,
        dir: bool,
    },
    Lstat(PathBuf),
    /// `exists`: stat(2) following symlinks.
    Exists(PathBuf),
    Realpath(PathBuf),
    /// `version`: stat(2) following symlinks, for size and mtime.
    Version(PathBuf),
    /// `write(.., Replace)`: a temporary renamed over `path`.
    Replace {
        path: PathBuf,
        len: usize,
    },
    /// `executable_in`, with root and path joined.
    TestX(PathBuf),
    ListDir(PathBuf),
    Statfs(PathBuf),
    Chdir(PathBuf),
    Chroot(PathBuf),
    ReopenStdio(PathBuf),
    ResetSignals,
    Exec {
        path: PathBuf,
        argv: Vec<String>,
        env: Vec<String>,
    },
    Spawn(Spawn),
    Wait {
        pid: u32,
        timeout: Duration,
    },
    Kill {
        pgid: u32,
        signal: i32,
    },
    Power(Power),
    Klog,
    /// A file-level call of the copy engine (see [`FsCall`]).
    Fs(FsCall),
    // The look-only calls, appends and uevents (record_lookup.rs).
    ReadLink(PathBuf),
    /// `read_at`: `len` bytes at `offset`.
    ReadAt {
        path: PathBuf,
        offset: u64,
        len: usize,
    },
    Append {
        path: PathBuf,
        len: usize,
    },
    UeventOpen,
    UeventRecv {
        timeout: Duration,
    },
}

impl Call {
    /// The operation name a failure is injected by (and a [`SysError`](crate::error::SysError) shows).
    pub fn op(&self) -> &'static str {
        match self {
            Call::Mount(_) => "mount",
            Call::MountChange(MountChange::Move { .. }) => "mount --move",
            Call::MountChange(MountChange::Bind { .. }) => "mount --bind",
            Call::MountChange(MountChange::Remount { .. }) => "mount -o remount",
            Call::MountChange(MountChange::MakeRprivate(_)) => "mount --make-rprivate",
            Call::Umount { .. } => "umount",
            Call::Mkdir(_) => "mkdir",
            Call::MknodConsole(_) => "mknod",
            Call::Read(_) => "read",
            Call::Write { .. } => "write",
            Call::Unlink { dir: true, .. } => "rmdir",
            Call::Unlink { dir: false, .. } => "unlink",
            Call::Lstat(_) | Call::Exists(_) | Call::TestX(_) => "stat",
            Call::Realpath(_) => "realpath",
            Call::Version(_) => "stat",
            Call::Replace { .. } => "rename",
            Call::ListDir(_) => "opendir",
            Call::Statfs(_) => "statfs",
            Call::Chdir(_) => "chdir",
            Call::Chroot(_) => "chroot",
            Call::ReopenStdio(_) => "open",
            Call::ResetSignals => "sigprocmask",
            Call::Exec { .. } => "execve",
            Call::Spawn(_) => "spawn",
            Call::Wait { .. } => "wait",
            Call::Kill { .. } => "kill",
            Call::Power(_) => "reboot",
            Call::Klog => "syslog",
            Call::Fs(c) => c.op(),
            Call::ReadLink(_) => "readlink",
            Call::ReadAt { .. } => "read",
            Call::Append { .. } => "write",
            Call::UeventOpen => "socket",
            Call::UeventRecv { .. } => "poll",
        }
    }

    /// The path a failure is injected by (`-` for calls without one).
    pub fn path(&self) -> PathBuf {
        match self {
            Call::Mount(row) => PathBuf::from(&row.target),
            Call::MountChange(MountChange::Move { src, .. }) => src.clone(),
            Call::MountChange(MountChange::Bind { dst, .. }) => dst.clone(),
            Call::MountChange(MountChange::Remount { path, .. } | MountChange::MakeRprivate(path)) => path.clone(),
            Call::Umount { path, .. }
            | Call::Write { path, .. }
            | Call::Replace { path, .. }
            | Call::Unlink { path, .. } => path.clone(),
            Call::Exec { path, .. } => path.clone(),
            Call::Mkdir(p)
            | Call::MknodConsole(p)
            | Call::Read(p)
            | Call::Lstat(p)
            | Call::Exists(p)
            | Call::Realpath(p)
            | Call::Version(p)
            | Call::TestX(p)
            | Call::ListDir(p)
            | Call::Statfs(p)
            | Call::Chdir(p)
            | Call::Chroot(p)
            | Call::ReopenStdio(p) => p.clone(),
            Call::Spawn(s) => PathBuf::from(s.argv.first().cloned().unwrap_or_default()),
            Call::Wait { pid, .. } => PathBuf::from(pid.to_string()),
            Call::Kill { pgid, .. } => PathBuf::from(format!("-{pgid}")),
            Call::Fs(c) => c.path(),
            Call::ResetSignals | Call::Power(_) | Call::Klog => PathBuf::from("-"),
            Call::ReadLink(p) | Call::ReadAt { path: p, .. } | Call::Append { path: p, .. } => p.clone(),
            Call::UeventOpen | Call::UeventRecv { .. } => PathBuf::from("-"),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Mount(row) => {
                let opts = if row.data.is_empty() {
                    String::new()
                } else {
                    format!(" -o {}", row.data)
                };
                write!(f, "mount -t {}{opts} {} {}", row.fstype, row.source, row.target)
            }
            Call::MountChange(MountChange::Move { src, dst }) => {
                write!(f, "mount --move {} {}", src.display(), dst.display())
            }
            Call::MountChange(MountChange::Bind { src, dst }) => {
                write!(f, "mount --bind {} {}", src.display(), dst.display())
            }
            Call::MountChange(MountChange::Remount { path, data }) => {
                write!(f, "mount -o remount,{data} {}", path.display())
            }
            Call::MountChange(MountChange::MakeRprivate(p)) => write!(f, "mount --make-rprivate {}", p.display()),
            Call::Umount { path, detach } => {
                write!(f, "umount{} {}", if *detach { " -l" } else { "" }, path.display())
            }
            Call::Mkdir(p) => write!(f, "mkdir -p {}", p.display()),
            Call::MknodConsole(p) => write!(f, "mknod {} c 5 1", p.display()),
            Call::Read(p) => write!(f, "cat {}", p.display()),
            Call::Write { path, len } => write!(f, "write {} ({len} bytes)", path.display()),
            Call::Unlink { path, dir } => write!(f, "{} {}", if *dir { "rmdir" } else { "rm" }, path.display()),
            Call::Lstat(p) => write!(f, "stat {}", p.display()),
            Call::Exists(p) => write!(f, "test -e {}", p.display()),
            Call::Realpath(p) => write!(f, "realpath {}", p.display()),
            Call::Version(p) => write!(f, "stat -L {}", p.display()),
            Call::Replace { path, len } => write!(f, "write {} ({len} bytes, renamed into place)", path.display()),
            Call::TestX(p) => write!(f, "test -x {}", p.display()),
            Call::ListDir(p) => write!(f, "ls {}", p.display()),
            Call::Statfs(p) => write!(f, "statfs {}", p.display()),
            Call::Chdir(p) => write!(f, "cd {}", p.display()),
            Call::Chroot(p) => write!(f, "chroot {}", p.display()),
            Call::ReopenStdio(p) => write!(f, "exec <>{} 1>&0 2>&0", p.display()),
            Call::ResetSignals => write!(f, "reset signals"),
            Call::Exec { path, argv, env } => write!(f, "exec {} argv={argv:?} env={env:?}", path.display()),
            Call::Spawn(s) => {
                let chroot = if s.root == std::path::Path::new("/") {
                    String::new()
                } else {
                    format!("chroot {} ", s.root.display())
                };
                match &s.tty {
                    Some(tty) => write!(f, "{chroot}{} <>{}", s.argv.join(" "), tty.display()),
                    None => {
                        let pgrp = if s.new_group { " (new group)" } else { "" };
                        write!(f, "{chroot}{} &{pgrp}", s.argv.join(" "))
                    }
                }
            }
            Call::Wait { pid, timeout } if *timeout == FOREVER => write!(f, "wait {pid}"),
            Call::Wait { pid, timeout } => write!(f, "wait {pid} (up to {} ms)", timeout.as_millis()),
            Call::Kill { pgid, signal } => write!(f, "kill -{signal} -{pgid}"),
            Call::Power(action) => write!(f, "{action:?}"),
            Call::Klog => write!(f, "dmesg"),
            Call::Fs(c) => c.fmt(f),
            Call::ReadLink(p) => write!(f, "readlink {}", p.display()),
            Call::ReadAt { path, offset, len } => {
                write!(f, "dd if={} bs=1 skip={offset} count={len}", path.display())
            }
            Call::Append { path, len } => write!(f, "echo >> {} ({len} bytes)", path.display()),
            Call::UeventOpen => write!(f, "uevent socket"),
            Call::UeventRecv { timeout } => write!(f, "uevent wait (up to {} ms)", timeout.as_millis()),
        }
    }
}
