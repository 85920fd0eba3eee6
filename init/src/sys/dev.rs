//! The device-facing calls of [`Sys`](super::Sys) (coldplug, the debug label search,
//! the kernel-request helper): typed directory listings of sysfs, symlink targets,
//! sector reads, appends, and the kernel's uevent socket. [`super::linux_dev`] makes
//! them; [`super::record_dev`] records them and answers from fixtures.

use std::ffi::OsString;

use super::Kind;

/// One name of [`Sys::list_kinds`](super::Sys::list_kinds): the entry and its type
/// as getdents(2) reports it (d_type; symlinks not followed), so a walk of sysfs needs
/// no stat per entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

/// What one [`Sys::uevent_recv`](super::Sys::uevent_recv) drained from the socket.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Uevents {
    pub msgs: Vec<Vec<u8>>,
    /// The kernel dropped events on the way (ENOBUFS: the receive buffer was full), so
    /// `msgs` may lack some: any device may have been added unseen.
    pub lost: bool,
}

/// An open NETLINK_KOBJECT_UEVENT socket ([`Sys::uevent_open`](super::Sys::uevent_open)),
/// closed when dropped. The recorder's holds no descriptor.
#[derive(Debug)]
pub struct UeventSocket {
    pub(super) fd: Option<std::os::fd::OwnedFd>,
}
