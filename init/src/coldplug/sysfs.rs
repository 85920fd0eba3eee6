//! The real [`Devices`]: modaliases from a walk of `<sysfs>/devices`, and `add`
//! uevents from the kernel's NETLINK_KOBJECT_UEVENT multicast group.
//!
//! A walk is dear: about 0.5 s for ~340 devices under TCG with one CPU
//! (docs/MODULES.md, native coldplug). So one walk serves both tiers: besides the
//! modaliases it keeps the device directories for the rules tier ([`Sysfs::walked`]),
//! and that list stays good until a device may have been added after the walk began:
//! an `add` uevent with a SEQNUM above the `/sys/kernel/uevent_seqnum` read before
//! it, events the kernel dropped (ENOBUFS), or a failed poll.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use super::Devices;
use crate::error::SysError;
use crate::sys::{Kind, Sys, UeventSocket};

pub struct Sysfs<'a> {
    sys: &'a dyn Sys,
    root: PathBuf,
    sock: Option<UeventSocket>,
    walked: Walked,
    /// `uevent_seqnum` before the last walk (None: unreadable, every add is newer).
    walk_seqnum: Option<u64>,
}

/// The device directories of the last walk while no device was added since; taken
/// by the rules tier ([`super::rules::pass::RulesPass::fresh_in`]).
pub type Walked = Rc<RefCell<Option<Vec<PathBuf>>>>;

/// One walk of `<sysfs>/devices`.
#[derive(Debug, Default)]
pub struct Walk {
    /// Read the `modalias` files (the rules tier alone does not need them).
    pub read_aliases: bool,
    /// Every distinct `modalias`, in walk order.
    pub aliases: Vec<String>,
    /// Every directory with a `uevent` file (a device), each before its children.
    pub devices: Vec<PathBuf>,
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
                walked: Walked::default(),
                walk_seqnum: None,
            },
            err,
        )
    }

    /// Where each scan leaves its device directories for the rules tier.
    pub fn walked(&self) -> Walked {
        self.walked.clone()
    }
}

/// Every device and `modalias` under `dir`, depth first; symlinks (the class/bus
/// views) are not followed, so each device is seen once. Entry types come with the
/// listing: no stat per entry.
pub fn walk(sys: &dyn Sys, dir: &Path, out: &mut Walk) {
    let Ok(entries) = sys.look().list(dir) else { return };
    if entries.iter().any(|e| e.kind == Kind::File && e.name == "uevent") {
        out.devices.push(dir.to_path_buf());
    }
    for e in entries {
        let path = dir.join(&e.name);
        if e.kind == Kind::Dir {
            walk(sys, &path, out);
        } else if out.read_aliases && e.kind == Kind::File && e.name == "modalias" {
            if let Ok(bytes) = sys.read(&path) {
                let s = String::from_utf8_lossy(&bytes);
                let s = s.trim();
                if !s.is_empty() && !out.aliases.iter().any(|x| x == s) {
                    out.aliases.push(s.to_string());
                }
            }
        }
    }
}

/// The SEQNUM of a uevent.
fn seqnum(msg: &[u8]) -> Option<u64> {
    msg.split(|&b| b == 0)
        .find_map(|f| f.strip_prefix(b"SEQNUM="))
        .and_then(|n| std::str::from_utf8(n).ok()?.parse().ok())
}

/// Whether `msg` adds a device (or a module) that a walk begun at `walked_at` may
/// not have seen.
pub fn adds_after(msg: &[u8], walked_at: Option<u64>) -> bool {
    msg.starts_with(b"add@") && !matches!((seqnum(msg), walked_at), (Some(n), Some(w)) if n <= w)
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
        self.walk_seqnum = self
            .sys
            .read(&self.root.join("kernel/uevent_seqnum"))
            .ok()
            .and_then(|t| String::from_utf8_lossy(&t).trim().parse().ok());
        let mut out = Walk {
            read_aliases: true,
            ..Walk::default()
        };
        walk(self.sys, &self.root.join("devices"), &mut out);
        *self.walked.borrow_mut() = Some(out.devices);
        out.aliases
    }

    fn wait(&mut self, timeout: Duration) -> Option<Vec<String>> {
        let Some(sock) = &self.sock else {
            std::thread::sleep(timeout);
            return None;
        };
        let got = match self.sys.uevent_recv(sock, timeout) {
            Ok(got) => got?,
            // poll failed: nothing is known of what was added since the walk.
            Err(_) => {
                self.walked.borrow_mut().take();
                return None;
            }
        };
        if got.lost || got.msgs.iter().any(|m| adds_after(m, self.walk_seqnum)) {
            self.walked.borrow_mut().take();
        }
        Some(got.msgs.iter().filter_map(|m| parse_uevent(m)).collect())
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
        let mut out = Walk {
            read_aliases: true,
            ..Walk::default()
        };
        walk(&sys, &t.path().join("devices"), &mut out);
        out.aliases.sort();
        assert_eq!(out.aliases, vec!["pci:v00001AF4d00001000", "virtio:d00000001v00001AF4"]);
        // The device directory (a uevent file) is kept, the one without is not.
        assert_eq!(out.devices, vec![d.join("virtio0")]);
        let reads = sys.calls().iter().filter(|c| c.starts_with("cat ")).count();
        assert_eq!(reads, 2, "only the modalias files are read: {:?}", sys.calls());
    }

    /// Only an add newer than the walk (or of unknown age) voids the walk's devices.
    #[test]
    fn an_add_voids_the_walk_only_when_newer_than_it() {
        let add = b"add@/devices/x\0ACTION=add\0SEQNUM=42\0";
        assert!(!adds_after(add, Some(42)));
        assert!(adds_after(add, Some(41)));
        assert!(adds_after(add, None));
        assert!(adds_after(b"add@/module/fuse\0ACTION=add\0", Some(99)));
        assert!(!adds_after(b"bind@/devices/x\0ACTION=bind\0SEQNUM=50\0", Some(42)));
    }

    /// A scan leaves its devices for the rules tier; an old event keeps them, a newer
    /// add drops them (the rules tier then walks again).
    #[test]
    fn the_walk_is_shared_until_a_device_is_added_after_it() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("devices/virtio0");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("uevent"), "MODALIAS=virtio:d1\n").unwrap();
        std::fs::create_dir_all(t.path().join("kernel")).unwrap();
        std::fs::write(t.path().join("kernel/uevent_seqnum"), "42\n").unwrap();
        let sys = RecordSys {
            host_dirs: vec![t.path().to_path_buf()],
            ..Default::default()
        };
        sys.dev.uevents.borrow_mut().extend([
            Some(vec![b"add@/devices/old\0ACTION=add\0SEQNUM=40\0".to_vec()]),
            Some(vec![b"add@/devices/new\0ACTION=add\0SEQNUM=43\0".to_vec()]),
        ]);
        let (mut devs, err) = Sysfs::open(&sys, t.path());
        assert!(err.is_none());
        let walked = devs.walked();
        devs.scan();
        assert_eq!(walked.borrow().as_deref(), Some(&[d.clone()][..]));
        devs.wait(Duration::from_millis(1));
        assert!(walked.borrow().is_some(), "an add older than the walk keeps it");
        devs.wait(Duration::from_millis(1));
        assert!(walked.borrow().is_none(), "an add after the walk drops it");
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
