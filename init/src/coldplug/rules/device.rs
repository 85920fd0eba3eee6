//! Devices as `udevadm trigger --action=add` presents them: every directory under
//! `<sysfs>/devices` with a `uevent` file (symlinks not followed: each device once),
//! plus each `<sysfs>/module/*` (SUBSYSTEM=module, as `--type=subsystems` sends).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::eval::{Device, Probe};

/// Reads sysfs through the file system.
pub struct SysfsProbe;

impl Probe for SysfsProbe {
    fn attr(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok().map(|s| s.trim_end().to_string())
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

fn link_name(p: &Path) -> String {
    std::fs::read_link(p)
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
pub fn read(sysfs: &Path, dir: &Path) -> Option<Device> {
    let text = std::fs::read_to_string(dir.join("uevent")).ok()?;
    let devpath = dir.strip_prefix(sysfs).ok()?.display().to_string();
    let env = parse_env(&text);
    let driver = env
        .get("DRIVER")
        .cloned()
        .unwrap_or_else(|| link_name(&dir.join("driver")));
    Some(Device {
        syspath: dir.to_path_buf(),
        devpath: format!("/{devpath}"),
        kernel: dir.file_name()?.to_string_lossy().into_owned(),
        subsystem: link_name(&dir.join("subsystem")),
        driver,
        env,
    })
}

/// Every device now present.
pub fn scan(sysfs: &Path) -> Vec<Device> {
    let mut dirs = Vec::new();
    walk(&sysfs.join("devices"), &mut dirs);
    let mut out: Vec<Device> = dirs.iter().filter_map(|d| read(sysfs, d)).collect();
    if let Ok(rd) = std::fs::read_dir(sysfs.join("module")) {
        for e in rd.flatten() {
            let kernel = e.file_name().to_string_lossy().into_owned();
            out.push(Device {
                syspath: e.path(),
                devpath: format!("/module/{kernel}"),
                kernel,
                subsystem: "module".into(),
                ..Default::default()
            });
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            let p = e.path();
            if p.join("uevent").is_file() {
                out.push(p.clone());
            }
            walk(&p, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let devs = scan(sys);
        let scsi = devs.iter().find(|d| d.subsystem == "scsi").unwrap();
        assert_eq!(scsi.kernel, "0:0:0:0");
        assert_eq!(scsi.driver, "sd");
        assert_eq!(scsi.env["DEVTYPE"], "scsi_device");
        assert!(scsi.devpath.starts_with("/devices/pci0000:00/"));
        let m = devs.iter().find(|d| d.subsystem == "module").unwrap();
        assert_eq!(
            (m.kernel.as_str(), m.devpath.as_str()),
            ("virtio_scsi", "/module/virtio_scsi")
        );
    }
}
