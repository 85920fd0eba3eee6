//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Root-only tests run for real as root. Elsewhere they fail loudly, unless
/// ZOS_SKIP_ROOT_TESTS=1 says skipping is intended, and then they print SKIP.
/// Returns false when the test must return early.
pub fn needs_root(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("ZOS_SKIP_ROOT_TESTS").is_some_and(|v| v == "1") {
        // Straight to fd 2: libtest captures eprintln! of passing tests, and a skip must
        // be seen.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIP (not root): {test}");
        return false;
    }
    panic!("needs root: {test} runs in a private mount namespace (set ZOS_SKIP_ROOT_TESTS=1 to skip it knowingly)");
}

/// The host's static busybox (Debian's busybox-static), for scripts in test roots.
pub fn host_busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let p = PathBuf::from(p);
        if p.exists() {
            return p;
        }
    }
    panic!("needs busybox-static on the host: apt-get install -y busybox-static");
}
#[cfg(feature = "qemu")]
pub mod alpine;
#[cfg(feature = "qemu")]
pub mod coldplug;
#[cfg(feature = "qemu")]
pub mod guest;
