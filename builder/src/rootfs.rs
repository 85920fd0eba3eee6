//! A minimal Zero-OS-shaped userland: Debian's static busybox with its applet links,
//! the directories and files the shell /init and zinit expect (`/run -> var/run`,
//! `/etc/mtab -> /proc/mounts`, `/etc/zinit`), and a stand-in for `/sbin/zinit init`
//! (the production handover target) for images without a real zinit. `zos-builder
//! run` adds zinit 0.2.11 on top (src/zinit) as `/sbin/zinit`, over the stand-in; the
//! handover stays `/sbin/zinit init`. Used by `run` and by the QEMU tests.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("rootfs {op} {}: {cause}", path.display())]
pub struct RootfsError {
    pub op: &'static str,
    pub path: PathBuf,
    pub cause: io::Error,
}

fn at<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> RootfsError + 'a {
    move |cause| RootfsError {
        op,
        path: path.to_path_buf(),
        cause,
    }
}

/// The stand-in for `/sbin/zinit init`: says what it was handed, then gives the
/// operator a shell on the console (`zinit.standin=poweroff` on the cmdline: power off
/// instead, for batch runs).
pub const ZINIT_STAND_IN: &str = r#"#!/bin/sh
# Stand-in for zinit 0.2's `zinit init` in images without a real zinit.
echo "zinit stand-in: pid $$, argv: $0 $*, PATH=$PATH"
echo "zinit stand-in: root is $(grep ' / ' /proc/mounts)"
if grep -qw 'zinit.standin=poweroff' /proc/cmdline; then
    echo "zinit stand-in: powering off"
    exec poweroff -f
fi
echo "zinit stand-in: console shell; 'poweroff -f' ends the run"
while true; do
    setsid cttyhack sh -l
done
"#;

/// Lay out a busybox rootfs in `dir` (which must be empty or missing).
/// `applets` are `busybox --list-full` paths such as `bin/sh`, `usr/bin/env`.
pub fn busybox_rootfs(dir: &Path, busybox: &Path, applets: &[String]) -> Result<(), RootfsError> {
    for d in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc/zinit",
        "root",
        "var/run",
        "var/log",
        "lib",
    ] {
        let p = dir.join(d);
        fs::create_dir_all(&p).map_err(at("mkdir", &p))?;
    }
    let tmp = dir.join("tmp");
    fs::create_dir_all(&tmp).map_err(at("mkdir", &tmp))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).map_err(at("chmod", &tmp))?;

    let bb = dir.join("bin/busybox");
    fs::copy(busybox, &bb).map_err(at("copy", busybox))?;
    fs::set_permissions(&bb, fs::Permissions::from_mode(0o755)).map_err(at("chmod", &bb))?;
    for applet in applets {
        let applet = applet.trim_start_matches('/');
        let link = dir.join(applet);
        if applet.is_empty() || applet.contains("..") || link.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent).map_err(at("mkdir", parent))?;
        }
        symlink("/bin/busybox", &link).map_err(at("symlink", &link))?;
    }

    for (path, target) in [("run", "var/run"), ("etc/mtab", "/proc/mounts")] {
        let p = dir.join(path);
        symlink(target, &p).map_err(at("symlink", &p))?;
    }
    let files: [(&str, &str, u32); 6] = [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
        ("etc/group", "root:x:0:\n", 0o644),
        ("etc/shadow", "root::19000:0:99999:7:::\n", 0o600),
        ("etc/hostname", "zos\n", 0o644),
        ("etc/hosts", "127.0.0.1 localhost zos\n", 0o644),
        ("sbin/zinit", ZINIT_STAND_IN, 0o755),
    ];
    for (path, text, mode) in files {
        let p = dir.join(path);
        if p.symlink_metadata().is_ok() {
            fs::remove_file(&p).map_err(at("remove", &p))?;
        }
        fs::write(&p, text).map_err(at("write", &p))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).map_err(at("chmod", &p))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_a_zero_os_shaped_root() {
        let t = tempfile::tempdir().unwrap();
        let bb = t.path().join("busybox");
        fs::write(&bb, b"\x7fELF fake").unwrap();
        let root = t.path().join("root");
        let applets = vec![
            "bin/sh".to_string(),
            "usr/sbin/chroot".into(),
            "sbin/poweroff".into(),
            "../evil".into(),
        ];
        busybox_rootfs(&root, &bb, &applets).unwrap();
        assert_eq!(fs::read_link(root.join("bin/sh")).unwrap(), Path::new("/bin/busybox"));
        assert_eq!(
            fs::read_link(root.join("usr/sbin/chroot")).unwrap(),
            Path::new("/bin/busybox")
        );
        assert_eq!(fs::read_link(root.join("run")).unwrap(), Path::new("var/run"));
        assert_eq!(fs::read_link(root.join("etc/mtab")).unwrap(), Path::new("/proc/mounts"));
        assert!(!t.path().join("evil").exists());
        let mode = |p: &str| fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("tmp"), 0o1777);
        assert_eq!(mode("sbin/zinit"), 0o755);
        assert_eq!(mode("etc/shadow"), 0o600);
        assert!(root.join("etc/zinit").is_dir());
    }
}
