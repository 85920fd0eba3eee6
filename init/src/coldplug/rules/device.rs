//! Devices as `udevadm trigger --action=add` presents them: every directory under
//! `<sysfs>/devices` with a `uevent` file (symlinks not followed: each device once),
//! plus each `<sysfs>/module/*` (SUBSYSTEM=module, as `--type=subsystems` sends).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::eval::{Device, Probe};
use crate::sys::Sys;

/// Reads sysfs through the seam.
pub struct SysfsProbe<'a>(pub &'a dyn Sys);

impl Probe for SysfsProbe<'_> {
    fn attr(&self, path: &Path) -> Option<String> {
        attr(self.0, path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.0.look().exists(path).unwrap_or(false)
    }
}

/// A sysfs attribute's text, without its trailing newline.
fn attr(sys: &dyn Sys, path: &Path) -> Option<String> {
    let bytes = sys.read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).trim_end().to_string())
}

fn link_name(sys: &dyn Sys, p: &Path) -> String {
    sys.look()
        .read_link(p)
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// `KEY=value` lines of a `uevent` file.
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The device at `dir` (under `sysfs`).
pub fn read(sys: &dyn Sys, sysfs: &Path, dir: &Path) -> Option<Device> {
    let bytes = sys.read(&dir.join("uevent")).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let devpath = dir.strip_prefix(sysfs).ok()?.display().to_string();
    let env = parse_env(&text);
    let driver = env
        .get("DRIVER")
        .cloned()
        .unwrap_or_else(|| link_name(sys, &dir.join("driver")));
    Some(Device {
        syspath: dir.to_path_buf(),
        devpath: format!("/{devpath}"),
        kernel: dir.file_name()?.to_string_lossy().into_owned(),
        subsystem: link_name(sys, &dir.join("subsystem")),
        driver,
        env,
    })
}

/// Every device now present.
pub fn scan(sys: &dyn Sys, sysfs: &Path) -> Vec<Device> {
    let mut walked = crate::coldplug::sysfs::Walk::default();
    crate::coldplug::sysfs::walk(sys, &sysfs.join("devices"), &mut walked);
    read_all(sys, sysfs, &walked.devices)
}

/// The devices at `dirs` (a walk's), then each `<sysfs>/module/*`.
pub fn read_all(sys: &dyn Sys, sysfs: &Path, dirs: &[PathBuf]) -> Vec<Device> {
    let mut out: Vec<Device> = dirs.iter().filter_map(|d| read(sys, sysfs, d)).collect();
    let module = sysfs.join("module");
    for e in sys.look().list(&module).unwrap_or_default() {
        let kernel = e.name.to_string_lossy().into_owned();
        out.push(Device {
            syspath: module.join(&e.name),
            devpath: format!("/module/{kernel}"),
            kernel,
            subsystem: "module".into(),
            ..Default::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;

    #[test]
    fn a_scsi_device_from_a_sysfs_tree() {
        let t = tempfile::tempdir().unwrap();
        let sys = t.path();
        let d = sys.join("devices/pci0000:00/0000:00:04.0/virtio1/host0/target0:0:0/0:0:0:0");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::create_dir_all(sys.join("bus/scsi")).unwrap();
        std::fs::create_dir_all(sys.join("bus/scsi/drivers/sd")).unwrap();
        std::fs::write(
            d.join("uevent"),
            "DEVTYPE=scsi_device\nDRIVER=sd\nMODALIAS=scsi:t-0x00\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(sys.join("bus/scsi"), d.join("subsystem")).unwrap();
        std::fs::create_dir_all(sys.join("module/virtio_scsi")).unwrap();
        // A device whose uevent names no driver: the `driver` link does.
        let vio = sys.join("devices/pci0000:00/0000:00:04.0/virtio1");
        std::fs::write(vio.join("uevent"), "MODALIAS=virtio:d00000008v00001AF4\n").unwrap();
        std::os::unix::fs::symlink(sys.join("bus/virtio/drivers/virtio_scsi"), vio.join("driver")).unwrap();
        let rec = RecordSys {
            host_dirs: vec![sys.to_path_buf()],
            ..Default::default()
        };
        let devs = scan(&rec, sys);
        let scsi = devs.iter().find(|d| d.subsystem == "scsi").unwrap();
        assert_eq!(scsi.kernel, "0:0:0:0");
        assert_eq!(scsi.driver, "sd");
        assert_eq!(scsi.env["DEVTYPE"], "scsi_device");
        assert!(scsi.devpath.starts_with("/devices/pci0000:00/"));
        let virtio = devs.iter().find(|d| d.kernel == "virtio1").unwrap();
        assert_eq!(virtio.driver, "virtio_scsi");
        assert!(rec
            .calls()
            .contains(&format!("readlink {}", vio.join("driver").display())));
        // Only directories with a uevent file are devices (not pci0000:00, host0...).
        assert_eq!(devs.iter().filter(|d| d.subsystem != "module").count(), 2);
        let m = devs.iter().find(|d| d.subsystem == "module").unwrap();
        assert_eq!(
            (m.kernel.as_str(), m.devpath.as_str()),
            ("virtio_scsi", "/module/virtio_scsi")
        );
    }
}
