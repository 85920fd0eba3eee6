//! The injection itself (only in builds with the `debug-inject` feature). Nothing here
//! can fail the boot: every problem is logged and the boot goes on, as before.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::sys::Errno;

use super::{label, overlay, DebugPlan, Source, MARKER};
use crate::log::{self, Level};
use crate::stage::Stage;
use crate::sys::Sys;
use crate::table::{debug_row, DEBUG_MOUNT};

/// FAT and the code pages a vfat mount asks for (Debian's defaults: cp437, ascii/utf8).
pub const FAT_MODULES: [&str; 5] = ["vfat", "nls_cp437", "nls_ascii", "nls_utf8", "nls_iso8859_1"];

/// Mount the debug disk read-only, copy its files over `new_root` if it holds the
/// marker, unmount. `load_modules` loads kernel modules by name (vfat is a module on
/// most kernels) and is called only when the mount says the filesystem is unknown.
pub fn inject(sys: &dyn Sys, plan: &DebugPlan, new_root: &str, load_modules: &mut dyn FnMut(&[&str])) {
    // Keeps the feature marker in the binary (the builder looks for it).
    std::hint::black_box(super::INJECT_FEATURE_MARKER);
    log::stage(
        Level::Info,
        Stage::Debug,
        &format!("injection on ({}), source {}", plan.why, plan.source),
    );
    let Some(device) = find_device(sys, &plan.source, plan.wait) else {
        log::stage(
            Level::Info,
            Stage::Debug,
            &format!(
                "no {} (waited up to {} ms): nothing to inject",
                plan.source,
                plan.wait.as_millis()
            ),
        );
        return;
    };
    let row = debug_row(&device.to_string_lossy());
    let mounted = match sys.mount(&row) {
        Err(e) if e.errno == Errno::NODEV => {
            log::stage(
                Level::Info,
                Stage::Debug,
                "no vfat in the kernel yet: loading the FAT modules",
            );
            load_modules(&FAT_MODULES);
            sys.mount(&row)
        }
        r => r,
    };
    if let Err(e) = mounted {
        log::stage(Level::Warn, Stage::Debug, &format!("{e}; nothing injected"));
        return;
    }
    let top = Path::new(DEBUG_MOUNT);
    // As `[ -e ]`: an error reads as absent.
    if sys.look().exists(&top.join(MARKER)).unwrap_or(false) {
        match overlay::copy_over(sys.fs(), top, Path::new(new_root)) {
            Ok(s) => {
                for r in &s.refused {
                    log::stage(Level::Warn, Stage::Debug, &format!("not copied: {r}"));
                }
                log::stage(
                    Level::Info,
                    Stage::Debug,
                    &format!(
                        "copied {} files, {} dirs, {} symlinks ({} bytes) from {} over {new_root}",
                        s.files,
                        s.dirs,
                        s.symlinks,
                        s.bytes,
                        device.display()
                    ),
                )
            }
            Err(e) => log::stage(
                Level::Warn,
                Stage::Debug,
                &format!(
                    "{e}; the copy stopped there: the files copied before it stay, that file is left as it was, \
                     nothing after it is copied; the boot goes on"
                ),
            ),
        }
    } else {
        log::stage(
            Level::Info,
            Stage::Debug,
            &format!("{} has no {MARKER}: nothing injected", device.display()),
        );
    }
    if let Err(e) = sys.umount(top, false) {
        log::stage(Level::Warn, Stage::Debug, &format!("{e}"));
    }
}

/// The device node, waiting up to `wait` for it when the machine has block devices at
/// all (disks are scanned asynchronously after their driver loads); none: no wait.
fn find_device(sys: &dyn Sys, source: &Source, wait: Duration) -> Option<PathBuf> {
    let look = || match source {
        Source::Device(d) => Some(PathBuf::from(d)).filter(|p| sys.look().exists(p).unwrap_or(false)),
        Source::Label(l) => label::find(sys, l, Path::new("/sys/class/block"), Path::new("/dev")),
    };
    let has_disks = sys
        .look()
        .list_names(Path::new("/sys/class/block"))
        .map(|d| !d.is_empty())
        .unwrap_or(false);
    let deadline = Instant::now() + if has_disks { wait } else { Duration::ZERO };
    loop {
        if let Some(p) = look() {
            return Some(p);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::record::RecordSys;

    fn plan(wait: Duration) -> DebugPlan {
        DebugPlan {
            enabled: true,
            why: "test",
            source: Source::Device("/dev/vdb".into()),
            wait,
        }
    }

    /// The disk is there, vfat is a module, the marker is missing: the FAT modules
    /// load, the mount is retried, nothing is copied, the disk is unmounted.
    #[test]
    fn a_disk_without_the_marker_is_mounted_and_left() {
        let sys = RecordSys {
            present: vec![PathBuf::from("/dev/vdb")],
            ..Default::default()
        };
        sys.fail_on("mount", DEBUG_MOUNT, Errno::NODEV);
        let mut loaded = Vec::new();
        inject(&sys, &plan(Duration::ZERO), "/mnt/root", &mut |m| {
            loaded.extend(m.iter().map(|s| s.to_string()))
        });
        assert_eq!(loaded, FAT_MODULES);
        let calls = sys.calls();
        assert_eq!(calls[0], "ls /sys/class/block");
        assert_eq!(calls[1], "test -e /dev/vdb");
        assert!(
            calls[2].starts_with("mount -t vfat") && calls[2].ends_with("/dev/vdb /mnt/zos-debug"),
            "{calls:?}"
        );
        assert_eq!(calls[3], calls[2], "the mount is retried once the modules are in");
        assert_eq!(
            calls[4..],
            ["test -e /mnt/zos-debug/.zero-os-debug", "umount /mnt/zos-debug"]
        );
    }

    /// The marker is there: the disk's files are copied over the new root through the
    /// seam (`FsOps`), the marker itself is not, and the disk is unmounted after.
    #[test]
    fn a_disk_with_the_marker_is_copied_over_the_new_root() {
        let sys = RecordSys {
            present: vec![
                PathBuf::from("/dev/vdb"),
                PathBuf::from("/mnt/zos-debug/.zero-os-debug"),
            ],
            ..Default::default()
        };
        {
            let mut files = sys.files.borrow_mut();
            files.dir("/mnt/zos-debug");
            files.file("/mnt/zos-debug/.zero-os-debug", b"");
            files.dir("/mnt/zos-debug/etc");
            files.file("/mnt/zos-debug/etc/unit.yaml", b"exec: sh\n");
        }
        inject(&sys, &plan(Duration::ZERO), "/mnt/root", &mut |_| panic!("no modules"));
        let files = sys.files.borrow();
        assert_eq!(files.get("/mnt/root/etc/unit.yaml").unwrap().data, b"exec: sh\n");
        assert!(files.get("/mnt/root/.zero-os-debug").is_none());
        drop(files);
        let calls = sys.calls();
        assert_eq!(calls[4], "open(/mnt/root, DirPath)", "{calls:?}");
        assert_eq!(calls.last().unwrap(), "umount /mnt/zos-debug");
    }

    /// No such disk, no block devices at all: no wait, no mount.
    #[test]
    fn no_disk_and_no_block_devices_is_nothing_to_do() {
        let sys = RecordSys {
            listing: Vec::new(),
            ..Default::default()
        };
        let start = Instant::now();
        inject(&sys, &plan(Duration::from_secs(5)), "/mnt/root", &mut |_| {
            panic!("no modules")
        });
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(sys.calls(), ["ls /sys/class/block", "test -e /dev/vdb"]);
    }
}
