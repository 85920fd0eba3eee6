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
    let Some(device) = find_device(&plan.source, plan.wait) else {
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
    if top.join(MARKER).exists() {
        match overlay::copy_over(top, Path::new(new_root)) {
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
fn find_device(source: &Source, wait: Duration) -> Option<PathBuf> {
    let look = || match source {
        Source::Device(d) => Some(PathBuf::from(d)).filter(|p| p.exists()),
        Source::Label(l) => label::find(l, Path::new("/sys/class/block"), Path::new("/dev")),
    };
    let has_disks = std::fs::read_dir("/sys/class/block")
        .map(|mut d| d.next().is_some())
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
