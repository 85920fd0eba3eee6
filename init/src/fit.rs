//! Will the rootfs fit? Decided before the first byte is copied, so a too-big rootfs
//! never becomes a partial root. Pure: the numbers come from the caller.

use crate::copy::Footprint;

/// RAM left to the kernel beyond what the copy needs (page cache, slab, the init).
pub const RAM_MARGIN: u64 = 8 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error("rootfs needs {} but the tmpfs {dst} has {} free: raise zos.tmpfs= (or tmpfs_size) or shrink the image", mib(*need), mib(*avail))]
    Tmpfs { need: u64, avail: u64, dst: String },
    #[error("the copy needs {} of RAM ({why}) but only {} is available (MemAvailable less an {} margin)", mib(*need), mib(*avail), mib(RAM_MARGIN))]
    Ram { need: u64, avail: u64, why: &'static str },
    #[error("cannot read MemAvailable from /proc/meminfo")]
    NoMeminfo,
}

/// What was checked, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    pub need_tmpfs: u64,
    pub tmpfs_free: u64,
    pub need_ram: u64,
    pub ram_free: u64,
}

impl std::fmt::Display for Fit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "needs {} of {} tmpfs free, {} of {} RAM available",
            mib(self.need_tmpfs),
            mib(self.tmpfs_free),
            mib(self.need_ram),
            mib(self.ram_free)
        )
    }
}

/// With copy-and-free the RAM peak is one copy plus the largest file in flight; without
/// it, the whole rootfs is held twice.
pub fn check(need: &Footprint, dst: &str, tmpfs_free: u64, meminfo: &str, free_source: bool) -> Result<Fit, FitError> {
    let mem_available = mem_available(meminfo).ok_or(FitError::NoMeminfo)?;
    let ram_free = mem_available.saturating_sub(RAM_MARGIN);
    if need.bytes > tmpfs_free {
        return Err(FitError::Tmpfs {
            need: need.bytes,
            avail: tmpfs_free,
            dst: dst.to_string(),
        });
    }
    let (need_ram, why) = if free_source {
        (need.largest_file, "copy-and-free: the largest file twice")
    } else {
        (need.bytes, "a second copy of the whole rootfs")
    };
    if need_ram > ram_free {
        return Err(FitError::Ram {
            need: need_ram,
            avail: ram_free,
            why,
        });
    }
    Ok(Fit {
        need_tmpfs: need.bytes,
        tmpfs_free,
        need_ram,
        ram_free,
    })
}

/// MemAvailable in bytes.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    meminfo_field(meminfo, "MemAvailable")
}

/// A `Key:   123 kB` field of /proc/meminfo, in bytes.
pub fn meminfo_field(meminfo: &str, key: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// `12.3 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEM: &str = "MemTotal:        1000000 kB\nMemFree:          900000 kB\nMemAvailable:     500000 kB\n";

    fn fp(bytes: u64, largest: u64) -> Footprint {
        Footprint {
            bytes,
            files: 1,
            dirs: 1,
            largest_file: largest,
        }
    }

    #[test]
    fn fits() {
        let fit = check(&fp(100 << 20, 10 << 20), "/mnt/root", 1536 << 20, MEM, true).unwrap();
        assert_eq!(fit.need_ram, 10 << 20);
        assert_eq!(fit.ram_free, 500_000 * 1024 - RAM_MARGIN);
    }

    #[test]
    fn too_big_for_tmpfs_names_the_numbers() {
        let e = check(&fp(40 << 20, 1 << 20), "/mnt/root", 16 << 20, MEM, true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "rootfs needs 40.0 MiB but the tmpfs /mnt/root has 16.0 MiB free: raise zos.tmpfs= (or tmpfs_size) or shrink the image"
        );
    }

    #[test]
    fn ram_check_depends_on_copy_and_free() {
        let need = fp(600 << 20, 20 << 20);
        assert!(check(&need, "/r", 2 << 30, MEM, true).is_ok());
        let e = check(&need, "/r", 2 << 30, MEM, false).unwrap_err();
        assert!(matches!(e, FitError::Ram { need, .. } if need == 600 << 20), "{e}");
        assert!(e.to_string().contains("a second copy"));
    }

    #[test]
    fn missing_meminfo_is_an_error() {
        assert_eq!(check(&fp(1, 1), "/r", 10, "garbage", true), Err(FitError::NoMeminfo));
        assert_eq!(meminfo_field(MEM, "MemFree"), Some(900_000 * 1024));
        assert_eq!(meminfo_field(MEM, "Mem"), None);
    }
}
