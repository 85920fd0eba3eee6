//! The kernel's uevent socket as [`Sys::uevent_open`](super::Sys::uevent_open) and
//! [`Sys::uevent_recv`](super::Sys::uevent_recv) hand it out (coldplug waits on it).

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
