//! The boot stages, named once. Their names are used by the log, by `zos.break=`,
//! by the boot report (written by the init, read by the builder's
//! `timeline` and bench) and by the docs.

use std::fmt;

/// A stage of the boot, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// proc, sysfs, the new-root tmpfs and devtmpfs, in the shell /init's order.
    Mounts,
    /// Size check, then `cp -a` of the initramfs into the tmpfs (copy-and-free).
    Copy,
    /// dev sys proc mnt in the new root, with proc, sysfs, devtmpfs, devpts on them.
    NewRoot,
    /// Coldplug: the drivers of the devices present (native walk or udevd).
    Hardware,
    /// The essential modules and the cmdline's `modules_load=`.
    Modules,
    /// Debug-file injection from a FAT disk, when asked for.
    Debug,
    /// Unmount the initramfs proc/sys, switch_root, exec the handover target.
    Switch,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Mounts,
        Stage::Copy,
        Stage::NewRoot,
        Stage::Hardware,
        Stage::Modules,
        Stage::Debug,
        Stage::Switch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Mounts => "mounts",
            Stage::Copy => "copy",
            Stage::NewRoot => "newroot",
            Stage::Hardware => "hardware",
            Stage::Modules => "modules",
            Stage::Debug => "debug",
            Stage::Switch => "switch",
        }
    }

    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        let mut names: Vec<_> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), Stage::ALL.len());
        assert_eq!(Stage::parse("nope"), None);
    }

    #[test]
    fn order_is_boot_order() {
        let mut sorted = Stage::ALL;
        sorted.sort();
        assert_eq!(sorted, Stage::ALL);
    }
}
