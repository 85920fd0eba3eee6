//! [`Sys::uevent_open`](super::Sys::uevent_open) and
//! [`Sys::uevent_recv`](super::Sys::uevent_recv) on the real kernel.

use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{netlink, AddressFamily, RecvFlags, SocketFlags, SocketType};

use super::uevent::{UeventSocket, Uevents};
use crate::error::SysError;

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
