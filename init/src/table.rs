//! The mounts and directories of the boot, as rows of data (u-root's declarative
//! table). Changing a mount means editing one row here. Mount points are created when
//! missing (`mkdir -p`) right before their row runs.

use crate::sys::MountFlags;

/// One `mount -t fstype -o data source target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRow {
    pub source: String,
    pub target: String,
    pub fstype: &'static str,
    pub flags: MountFlags,
    pub data: String,
}

impl MountRow {
    fn new(fstype: &'static str, target: String, data: String) -> Self {
        // The shell /init mounts each with its own type as source name and no flags.
        MountRow {
            source: fstype.to_string(),
            target,
            fstype,
            flags: MountFlags::empty(),
            data,
        }
    }
}

/// The debug disk: FAT, read-only (`mount -t vfat -o ro DEV /mnt/zos-debug`).
pub fn debug_row(device: &str) -> MountRow {
    MountRow {
        source: device.to_string(),
        target: DEBUG_MOUNT.into(),
        fstype: "vfat",
        flags: MountFlags::RDONLY,
        data: String::new(),
    }
}

/// Where the debug disk is mounted, in the initramfs root (never copied: /mnt).
pub const DEBUG_MOUNT: &str = "/mnt/zos-debug";

/// proc must come first: the cmdline and the config are read through it.
pub fn proc_row() -> MountRow {
    MountRow::new("proc", "/proc".into(), String::new())
}

/// The initramfs mounts after proc: sysfs, devtmpfs (the kernel does not mount
/// devtmpfs for an initramfs). The new root's tmpfs is [`tmpfs_row`], in copy mode.
pub fn initramfs_rows() -> Vec<MountRow> {
    vec![
        MountRow::new("sysfs", "/sys".into(), String::new()),
        MountRow::new("devtmpfs", "/dev".into(), String::new()),
    ]
}

/// Copy mode's new root: `mount -t tmpfs -o size=SIZE tmpfs NEW_ROOT`.
pub fn tmpfs_row(new_root: &str, tmpfs_size: &str) -> MountRow {
    MountRow::new("tmpfs", new_root.into(), format!("size={tmpfs_size}"))
}

/// Directories made in the new root before its mounts (`mkdir -p dev sys proc mnt`).
pub const NEW_ROOT_DIRS: [&str; 4] = ["dev", "sys", "proc", "mnt"];

/// The new root's own mounts; devpts goes on dev/pts, made once devtmpfs is up.
pub fn new_root_rows(new_root: &str) -> Vec<MountRow> {
    vec![
        MountRow::new("proc", format!("{new_root}/proc"), String::new()),
        MountRow::new("sysfs", format!("{new_root}/sys"), String::new()),
        MountRow::new("devtmpfs", format!("{new_root}/dev"), String::new()),
        MountRow::new("devpts", format!("{new_root}/dev/pts"), String::new()),
    ]
}

/// The initramfs copies unmounted before switch_root (its /dev is detached by
/// switch_root itself, after stdio moved to the new /dev/console).
pub const INITRAMFS_UNMOUNTS: [&str; 2] = ["/proc", "/sys"];
