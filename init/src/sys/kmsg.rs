//! The log's kernel side: /dev/kmsg, CLOCK_BOOTTIME and printk_devkmsg. These are the
//! only calls in sys/ outside the [`Sys`](super::Sys) trait: the log writes from the
//! first line of the boot, before any `Sys` exists and beneath every one (a recorder
//! must not record the log of the test that drives it), so they are plain functions.

use std::io::Write;
use std::time::Duration;

/// An open /dev/kmsg: each write is one kernel log record.
pub struct Kmsg(std::fs::File);

impl Kmsg {
    /// Open /dev/kmsg for writing (None before devtmpfs, or without the node).
    pub fn open() -> Option<Kmsg> {
        std::fs::OpenOptions::new().write(true).open("/dev/kmsg").ok().map(Kmsg)
    }

    /// Write one record (`<prio>text`); the kernel cuts it at about 1 KiB.
    pub fn record(&mut self, rec: &[u8]) -> std::io::Result<()> {
        self.0.write_all(rec)
    }
}

/// Time since boot (CLOCK_BOOTTIME, the clock of the kernel's own timestamps).
pub fn since_boot() -> Duration {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

const PRINTK_DEVKMSG: &str = "/proc/sys/kernel/printk_devkmsg";

/// The kmsg rate-limit setting (`ratelimit`, `on`, `off`), None without /proc.
pub fn devkmsg() -> Option<String> {
    std::fs::read_to_string(PRINTK_DEVKMSG)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Set the kmsg rate-limit setting; whether it took.
pub fn set_devkmsg(value: &str) -> bool {
    std::fs::write(PRINTK_DEVKMSG, value).is_ok()
}
