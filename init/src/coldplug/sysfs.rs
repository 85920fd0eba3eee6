//! The real [`Devices`]: modaliases from a walk of `<sysfs>/devices`, and `add`
//! uevents from the kernel's NETLINK_KOBJECT_UEVENT multicast group.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::net::{netlink, AddressFamily, RecvFlags, SocketFlags, SocketType};

use super::Devices;

pub struct Sysfs {
    root: PathBuf,
    sock: Option<OwnedFd>,
}

impl Sysfs {
    /// Open the uevent socket first, so that no device added between the first walk
    /// and the first wait is missed. Without it (no netlink), scans only; the error
    /// is returned for the log.
    pub fn open(sysfs: &Path) -> (Sysfs, Option<rustix::io::Errno>) {
        let sock = uevent_socket();
        let err = sock.as_ref().err().copied();
        (
            Sysfs {
                root: sysfs.to_path_buf(),
                sock: sock.ok(),
            },
            err,
        )
    }
}

fn uevent_socket() -> Result<OwnedFd, rustix::io::Errno> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        Some(netlink::KOBJECT_UEVENT),
    )?;
    // Group 1: the kernel's own events (udevd re-broadcasts on group 2).
    rustix::net::bind(&fd, &netlink::SocketAddrNetlink::new(0, 1))?;
    Ok(fd)
}

/// Every `modalias` under `dir`, depth first; symlinks (the class/bus views) are not
/// followed, so each device is seen once.
pub fn walk(dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&e.path(), out);
        } else if ft.is_file() && e.file_name() == "modalias" {
            if let Ok(s) = std::fs::read_to_string(e.path()) {
                let s = s.trim();
                if !s.is_empty() && !out.iter().any(|x| x == s) {
                    out.push(s.to_string());
                }
            }
        }
    }
}

/// `add@/devices/...\0ACTION=add\0...\0MODALIAS=virtio:d00000001v00001AF4\0...`:
/// the modalias of an add event.
pub fn parse_uevent(msg: &[u8]) -> Option<String> {
    let mut add = false;
    let mut alias = None;
    for field in msg.split(|&b| b == 0) {
        let f = String::from_utf8_lossy(field);
        if f == "ACTION=add" {
            add = true;
        } else if let Some(a) = f.strip_prefix("MODALIAS=") {
            alias = Some(a.to_string());
        }
    }
    alias.filter(|a| add && !a.is_empty())
}

impl Devices for Sysfs {
    fn scan(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root.join("devices"), &mut out);
        out
    }

    fn wait(&mut self, timeout: Duration) -> Option<Vec<String>> {
        let Some(sock) = &self.sock else {
            std::thread::sleep(timeout);
            return None;
        };
        let ts = rustix::time::Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: timeout.subsec_nanos() as i64,
        };
        let mut fds = [PollFd::new(sock, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(n) if n > 0 => {}
            _ => return None,
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        // Drain what is queued; the socket is non-blocking.
        while let Ok((n, _)) = rustix::net::recv(sock, &mut buf[..], RecvFlags::empty()) {
            if n == 0 {
                break;
            }
            if let Some(a) = parse_uevent(&buf[..n.min(buf.len())]) {
                out.push(a);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_a_fake_sysfs_without_following_links() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("devices/pci0000:00/0000:00:03.0");
        std::fs::create_dir_all(d.join("virtio0")).unwrap();
        std::fs::write(d.join("modalias"), "pci:v00001AF4d00001000\n").unwrap();
        std::fs::write(d.join("virtio0/modalias"), "virtio:d00000001v00001AF4\n").unwrap();
        std::fs::write(d.join("virtio0/uevent"), "MODALIAS=x\n").unwrap();
        std::os::unix::fs::symlink(&d, t.path().join("devices/loop")).unwrap();
        let mut out = Vec::new();
        walk(&t.path().join("devices"), &mut out);
        out.sort();
        assert_eq!(out, vec!["pci:v00001AF4d00001000", "virtio:d00000001v00001AF4"]);
    }

    #[test]
    fn parses_add_events_only() {
        let add = b"add@/devices/pci0000:00/0000:00:03.0/virtio0\0ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=virtio\0MODALIAS=virtio:d00000001v00001AF4\0SEQNUM=1\0";
        assert_eq!(parse_uevent(add).as_deref(), Some("virtio:d00000001v00001AF4"));
        let rm = b"remove@/x\0ACTION=remove\0MODALIAS=virtio:d1\0";
        assert_eq!(parse_uevent(rm), None);
        assert_eq!(parse_uevent(b"add@/module/fuse\0ACTION=add\0"), None);
    }
}
