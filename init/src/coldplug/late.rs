//! Devices the kernel creates on a timer after their driver bound, which the quiet
//! window alone would miss. Measured on the server-like machine (docs/MODULES.md, late
//! devices): usb-storage's disk appeared 1.11 s and 1.24 s after usb-storage bound
//! (its `delay_use` of 1 s, then the SCSI scan), with no uevent in between.

use std::path::Path;
use std::time::Duration;

use crate::sys::Sys;

/// Margin over `delay_use` for the SCSI scan itself (measured: 0.11-0.24 s under TCG).
pub const SCAN_MARGIN: Duration = Duration::from_millis(500);

/// The quiet window to wait now: `base`, or `delay_use` seconds plus [`SCAN_MARGIN`]
/// once usb-storage is loaded (`delay_use` is the text of its parameter file).
pub fn quiet_window(base: Duration, delay_use: Option<&str>) -> Duration {
    // delay_use is whole seconds, or a decimal with a unit in newer kernels ("1.5s").
    let secs = delay_use.and_then(|t| t.trim().trim_end_matches('s').parse::<f64>().ok());
    match secs {
        Some(s) if s.is_finite() && s >= 0.0 => base.max(Duration::from_secs_f64(s.min(60.0)) + SCAN_MARGIN),
        _ => base,
    }
}

/// [`quiet_window`] from `<sysfs>/module/usb_storage/parameters/delay_use`.
pub fn quiet_now(sys: &dyn Sys, sysfs: &Path, base: Duration) -> Duration {
    let p = sysfs.join("module/usb_storage/parameters/delay_use");
    quiet_window(base, sys.read_to_string(&p).ok().as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_storage_stretches_the_window_to_its_scan_delay() {
        let base = Duration::from_millis(100);
        assert_eq!(quiet_window(base, None), base);
        assert_eq!(quiet_window(base, Some("1\n")), Duration::from_millis(1500));
        assert_eq!(quiet_window(base, Some("0\n")), Duration::from_millis(500));
        assert_eq!(
            quiet_window(Duration::from_secs(3), Some("1\n")),
            Duration::from_secs(3)
        );
        assert_eq!(quiet_window(base, Some("2.5s")), Duration::from_millis(3000));
        assert_eq!(quiet_window(base, Some("junk")), base);
    }
}
