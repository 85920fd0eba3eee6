//! Debug-file injection, compatible with today's `/init-debug`: before switch_root, a
//! FAT disk (by default `/dev/sda1`) holding `.zero-os-debug` at its top has its files
//! copied over the new root, so developers can replace zinit units or binaries from
//! QEMU (`-drive file=fat:rw:DIR,format=raw` as the first drive).
//!
//! On when the image holds `/init-debug` (the old switch), when the image's config says
//! `debug_inject = yes` (`zos-builder --mode debug`, the default), or on the cmdline
//! (`zos.debug=1`); `zos.debug=0` turns it off. A release build (`--mode release`) is
//! compiled without the `debug-inject` feature: this module is not in it at all.
//! No disk, no marker, a mount error: logged, and the boot goes on.

// The parts that touch disks exist only in builds with injection.
#[cfg(feature = "debug-inject")]
mod inject;
#[cfg(feature = "debug-inject")]
pub mod label;
#[cfg(feature = "debug-inject")]
pub mod overlay;
#[cfg(feature = "debug-inject")]
pub use inject::inject;

use std::time::Duration;

/// Compiled into every init built with the `debug-inject` feature (and only there: the
/// injection code keeps it alive), so `zos-builder build --mode release --init PATH`
/// can refuse a binary that could inject debug files.
pub use zos_common::debug_flags::INJECT_FEATURE_MARKER;

/// The marker file at the top of the debug disk.
pub const MARKER: &str = ".zero-os-debug";
/// The old switch: its presence in the image turns injection on.
pub const INIT_DEBUG: &str = "/init-debug";
/// The shell /init's disk.
pub const DEFAULT_SOURCE: &str = "/dev/sda1";
/// How long to wait for the disk to appear when some block device exists (the SCSI
/// scan after coldplug is asynchronous).
pub const DEFAULT_WAIT: Duration = Duration::from_millis(1000);

pub use zos_common::debug_flags::{DebugFlags, Source};

/// Whether and from where to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugPlan {
    pub enabled: bool,
    /// Why it is on or off, for the log.
    pub why: &'static str,
    pub source: Source,
    pub wait: Duration,
}

/// Pure: the image (`/init-debug` present, config) and the cmdline decide.
pub fn decide(init_debug_present: bool, config_says: bool, flags: &DebugFlags) -> DebugPlan {
    let (enabled, why) = match flags.force {
        Some(true) => (true, "zos.debug=1 on the cmdline"),
        Some(false) => (false, "zos.debug=0 on the cmdline"),
        None if init_debug_present => (true, "the image holds /init-debug"),
        None if config_says => (true, "a debug build (debug_inject = yes)"),
        None => (false, "a release build and no zos.debug=1"),
    };
    DebugPlan {
        enabled,
        why,
        source: flags
            .source
            .clone()
            .unwrap_or_else(|| Source::Device(DEFAULT_SOURCE.into())),
        wait: flags.wait.unwrap_or(DEFAULT_WAIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_turns_it_on() {
        let none = DebugFlags::default();
        assert!(!decide(false, false, &none).enabled);
        assert!(decide(true, false, &none).enabled);
        assert!(decide(false, true, &none).enabled);
        let off = DebugFlags {
            force: Some(false),
            ..Default::default()
        };
        assert!(!decide(true, true, &off).enabled, "the cmdline wins");
        let on = DebugFlags {
            force: Some(true),
            ..Default::default()
        };
        let p = decide(false, false, &on);
        assert!(p.enabled);
        assert_eq!(p.source, Source::Device("/dev/sda1".into()));
        assert_eq!(p.wait, DEFAULT_WAIT);
    }

    #[test]
    fn sources() {
        assert_eq!(Source::parse("/dev/vdb1"), Some(Source::Device("/dev/vdb1".into())));
        assert_eq!(Source::parse("LABEL=ZOSDEBUG"), Some(Source::Label("ZOSDEBUG".into())));
        for bad in [
            "sda1",
            "/dev/../etc/shadow",
            "LABEL=",
            "LABEL=TWELVECHARSX",
            "/etc/passwd",
        ] {
            assert_eq!(Source::parse(bad), None, "{bad}");
        }
    }
}
