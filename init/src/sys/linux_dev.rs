//! [`dev`](super::dev)'s calls on the real kernel, each a thin wrapper that names the
//! operation and the path in its error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{netlink, AddressFamily, RecvFlags, SocketFlags, SocketType};

use super::dev::{Entry, UeventSocket, Uevents};
use super::linux::io_errno;
use super::Kind;
use crate::error::SysError;

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SysError + 'a {
    move |e| SysError::new(op, path, io_errno(&e))
}

pub(super) fn list_kinds(path: &Path) -> Result<Vec<Entry>, SysError> {
    let rd = std::fs::read_dir(path).map_err(io_err("opendir", path))?;
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(io_err("readdir", path))?;
        // d_type: no stat unless the filesystem leaves it unknown.
        let ft = ent.file_type().map_err(io_err("stat", &ent.path()))?;
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else if ft.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        out.push(Entry {
            name: ent.file_name(),
            kind,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub(super) fn read_link(path: &Path) -> Result<PathBuf, SysError> {
    std::fs::read_link(path).map_err(io_err("readlink", path))
}

pub(super) fn read_at(path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, SysError> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).map_err(io_err("open", path))?;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset).map_err(io_err("read", path))?;
    Ok(buf)
}

pub(super) fn append_file(path: &Path, data: &[u8]) -> Result<(), SysError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err("open", path))?;
    // One write(2) of the whole line: O_APPEND keeps concurrent helpers' lines whole.
    file.write_all(data).map_err(io_err("write", path))
}

const UEVENT: &str = "netlink:kobject_uevent";

pub(super) fn uevent_open() -> Result<UeventSocket, SysError> {
    let err = |e| SysError::new("socket", UEVENT, e);
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        Some(netlink::KOBJECT_UEVENT),
    )
    .map_err(err)?;
    // Group 1: the kernel's own events (udevd re-broadcasts on group 2).
    rustix::net::bind(&fd, &netlink::SocketAddrNetlink::new(0, 1)).map_err(|e| SysError::new("bind", UEVENT, e))?;
    Ok(UeventSocket { fd: Some(fd) })
}

pub(super) fn uevent_recv(sock: &UeventSocket, timeout: Duration) -> Result<Option<Uevents>, SysError> {
    let Some(fd) = &sock.fd else {
        return Err(SysError::new("poll", UEVENT, Errno::BADF));
    };
    let ts = rustix::time::Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: timeout.subsec_nanos() as i64,
    };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    if poll(&mut fds, Some(&ts)).map_err(|e| SysError::new("poll", UEVENT, e))? == 0 {
        return Ok(None);
    }
    let mut out = Uevents::default();
    let mut buf = vec![0u8; 8192];
    // Drain what is queued; the socket is non-blocking.
    loop {
        match rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()) {
            Ok((0, _)) => break,
            Ok((n, _)) => out.msgs.push(buf[..n.min(buf.len())].to_vec()),
            // Reported once per overflow; what is still queued follows.
            Err(Errno::NOBUFS) => out.lost = true,
            Err(_) => break,
        }
    }
    Ok(Some(out))
}
