//! The real [`Devices`]: modaliases from a walk of `<sysfs>/devices`, and `add`
//! uevents from the kernel's NETLINK_KOBJECT_UEVENT multicast group.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Devices;
use crate::error::SysError;
use crate::sys::{Kind, Sys, UeventSocket};

pub struct Sysfs<'a> {
    sys: &'a dyn Sys,
    root: PathBuf,
    sock: Option<UeventSocket>,
}

impl<'a> Sysfs<'a> {
    /// Open the uevent socket first, so that no device added between the first walk
    /// and the first wait is missed. Without it (no netlink), scans only; the error
    /// is returned for the log.
    pub fn open(sys: &'a dyn Sys, sysfs: &Path) -> (Sysfs<'a>, Option<SysError>) {
        let (sock, err) = match sys.uevent_open() {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        (
            Sysfs {
                sys,
                root: sysfs.to_path_buf(),
                sock,
            },
            err,
        )
    }
}

/// Every `modalias` under `dir`, depth first; symlinks (the class/bus views) are not
/// followed, so each device is seen once.
pub fn walk(sys: &dyn Sys, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = sys.list_kinds(dir) else { return };
    for e in entries {
        let path = dir.join(&e.name);
        if e.kind == Kind::Dir {
            walk(sys, &path, out);
        } else if e.kind == Kind::File && e.name == "modalias" {
            if let Ok(bytes) = sys.read(&path) {
                let s = String::from_utf8_lossy(&bytes);
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

impl Devices for Sysfs<'_> {
    fn scan(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.sys, &self.root.join("devices"), &mut out);
        out
    }

    fn wait(&mut self, timeout: Duration) -> Option<Vec<String>> {
        let Some(sock) = &self.sock else {
            std::thread::sleep(timeout);
            return None;
        };
        let msgs = self.sys.uevent_recv(sock, timeout).ok()??;
        Some(msgs.iter().filter_map(|m| parse_uevent(m)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;

    #[test]
    fn walks_a_fake_sysfs_without_following_links() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("devices/pci0000:00/0000:00:03.0");
        std::fs::create_dir_all(d.join("virtio0")).unwrap();
        std::fs::write(d.join("modalias"), "pci:v00001AF4d00001000\n").unwrap();
        std::fs::write(d.join("virtio0/modalias"), "virtio:d00000001v00001AF4\n").unwrap();
        std::fs::write(d.join("virtio0/uevent"), "MODALIAS=x\n").unwrap();
        std::os::unix::fs::symlink(&d, t.path().join("devices/loop")).unwrap();
        let sys = RecordSys {
            host_dirs: vec![t.path().to_path_buf()],
            ..Default::default()
        };
        let mut out = Vec::new();
        walk(&sys, &t.path().join("devices"), &mut out);
        out.sort();
        assert_eq!(out, vec!["pci:v00001AF4d00001000", "virtio:d00000001v00001AF4"]);
        let reads = sys.calls().iter().filter(|c| c.starts_with("cat ")).count();
        assert_eq!(reads, 2, "only the modalias files are read: {:?}", sys.calls());
    }

    #[test]
    fn waits_for_add_events_and_scans_only_without_a_socket() {
        let sys = RecordSys::default();
        sys.dev.uevents.borrow_mut().extend([
            Some(vec![
                b"add@/x\0ACTION=add\0MODALIAS=virtio:d1\0".to_vec(),
                b"remove@/y\0ACTION=remove\0MODALIAS=virtio:d2\0".to_vec(),
            ]),
            None,
        ]);
        let (mut devs, err) = Sysfs::open(&sys, Path::new("/sys"));
        assert!(err.is_none());
        assert_eq!(
            devs.wait(Duration::from_millis(20)),
            Some(vec!["virtio:d1".to_string()])
        );
        assert_eq!(devs.wait(Duration::from_millis(20)), None);
        assert_eq!(devs.scan(), Vec::<String>::new(), "no /sys/devices in the recorder");
        assert_eq!(
            sys.calls()[..3],
            [
                "uevent socket",
                "uevent wait (up to 20 ms)",
                "uevent wait (up to 20 ms)"
            ]
        );

        let nonet = RecordSys::default();
        nonet.fail_on("socket", "-", crate::sys::Errno::AFNOSUPPORT);
        let (mut devs, err) = Sysfs::open(&nonet, Path::new("/sys"));
        assert_eq!(err.map(|e| e.errno), Some(crate::sys::Errno::AFNOSUPPORT));
        assert_eq!(devs.wait(Duration::from_millis(1)), None);
        assert!(!nonet.calls().iter().any(|c| c.starts_with("uevent wait")));
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
